"""Every admin API operation that takes a JSON body reads it as RFC 8259 JSON.

FastAPI reads a route's body before any dependency runs (the token check included), so a bare
``NaN`` sent without a token is refused as a body that is not well-formed by every operation
whose router reads bodies through :class:`~expressway.web.json_bodies.JsonBodyRoute`, and
answered 401 by one that does not: a router made without it is found here.
"""

from __future__ import annotations

from tests.tenant.test_json_bodies import NOT_UTF_8, UTF_16, answers_to_nan
from tests.workforce.conftest import Workforce, causes, okta_error


def test_every_operation_with_a_json_body_refuses_nan_as_not_well_formed(
    workforce: Workforce,
) -> None:
    answers = answers_to_nan(workforce.http, "/orgs/{org}/api/v1/")
    assert len(answers) > 10
    assert {operation for operation, r in answers.items() if r.status_code != 400} == set()
    for response in answers.values():
        okta_error(response, "E0000003")
        assert causes(response) == ["NaN is not JSON (RFC 8259 has no NaN, Infinity or -Infinity)"]


def test_a_body_in_utf_16_is_not_well_formed(workforce: Workforce) -> None:
    """RFC 8259 section 8.1: JSON between systems is UTF-8 (json.loads read UTF-16 and
    UTF-32)."""
    response = workforce.api().post(
        "/groups", content=UTF_16, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    okta_error(response, "E0000003")
    assert causes(response) == [NOT_UTF_8]
