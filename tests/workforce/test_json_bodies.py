"""Every admin API operation that takes a JSON body reads it as RFC 8259 JSON.

FastAPI reads a route's body before any dependency runs (the token check included), so a bare
``NaN`` sent without a token is refused as a body that is not well-formed by every operation
whose router reads bodies through :class:`~expressway.web.json_bodies.JsonBodyRoute`, and
answered 401 by one that does not: a router made without it is found here.
"""

from __future__ import annotations

from tests.tenant.test_json_bodies import answers_to_nan
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
