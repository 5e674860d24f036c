"""Every Management API operation that takes a JSON body reads it as RFC 8259 JSON.

FastAPI reads a route's body before any dependency runs (the token check included), so a bare
``NaN`` sent without a token is refused as malformed JSON by every operation whose router reads
bodies through :class:`~expressway.web.json_bodies.JsonBodyRoute`, and answered 401 by one that
does not: a router made without it is found here. The SCIM server and the token endpoint, which
read their bodies themselves, refuse a body that is not UTF-8 in their own shapes.
"""

from __future__ import annotations

import re

import httpx
import pytest
from fastapi.testclient import TestClient

from tests.conftest import Tenant, auth0_error
from tests.tenant.scim.helpers import scim_connection, scim_error

#: A JSON text in UTF-16, which json.loads detects and reads, and what the reader says of it.
UTF_16 = '{"name": "utf-16"}'.encode("utf-16-le")
NOT_UTF_8 = "the text is UTF-16-LE, not UTF-8 (RFC 8259 section 8.1)"


def answers_to_nan(http: TestClient, prefix: str) -> dict[str, httpx.Response]:
    """The answer of every operation under ``prefix`` that documents a JSON body to a bare
    ``NaN`` sent without credentials, by ``"METHOD path"`` (``x`` for each path parameter)."""
    answers = {}
    for path, item in http.app.openapi()["paths"].items():  # type: ignore[attr-defined]
        for method, operation in item.items():
            content = operation.get("requestBody", {}).get("content", {})
            if path.startswith(prefix) and "application/json" in content:
                url = re.sub(r"\{[^}]+\}", "x", path)
                answers[f"{method.upper()} {url}"] = http.request(
                    method, url, content=b"NaN", headers={"Content-Type": "application/json"}
                )
    return answers


def test_every_operation_with_a_json_body_refuses_nan_as_malformed_json(tenant: Tenant) -> None:
    answers = answers_to_nan(tenant.http, "/api/v2/")
    assert len(answers) > 30
    assert {operation for operation, r in answers.items() if r.status_code != 400} == set()
    for response in answers.values():
        assert auth0_error(response) == {
            "statusCode": 400,
            "error": "Bad Request",
            "message": "Invalid request payload JSON format: NaN is not JSON"
            " (RFC 8259 has no NaN, Infinity or -Infinity)",
            "errorCode": "invalid_body",
        }


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b'{"name": "\xff"}', "the text is not valid UTF-8"),
        (b"[" * 100_000, "the text is nested too deeply"),
        (b'{"name": ' + b"1" * 5_000 + b"}", "an integer has more than 4300 digits"),
        (UTF_16, NOT_UTF_8),
    ],
)
def test_what_json_refuses_with_another_error_is_malformed_json_too(
    tenant: Tenant, body: bytes, problem: str
) -> None:
    """Invalid UTF-8, nesting too deep, an integer too long to convert: ``invalid_body`` as
    malformed JSON is (they answered FastAPI's "There was an error parsing the body", with no
    ``errorCode``). A text in UTF-16 too, which json.loads read: RFC 8259 section 8.1 has JSON
    between systems in UTF-8."""
    response = tenant.api().post(
        "/roles", content=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert auth0_error(response) == {
        "statusCode": 400,
        "error": "Bad Request",
        "message": f"Invalid request payload JSON format: {problem}",
        "errorCode": "invalid_body",
    }


def test_a_body_in_utf_16_is_invalid_syntax_to_the_scim_server(tenant: Tenant) -> None:
    """RFC 8259 section 8.1, in the SCIM error schema (RFC 7644 section 3.12)."""
    scim = scim_connection(tenant)
    refused = scim.http.post(
        "/Users", content=UTF_16, headers={"Content-Type": "application/scim+json"}
    )
    error = scim_error(refused, 400, "invalidSyntax")
    assert error["detail"] == f"the request body is not valid JSON: {NOT_UTF_8}"


def test_a_body_in_utf_16_is_an_invalid_request_to_the_token_endpoint(tenant: Tenant) -> None:
    """RFC 8259 section 8.1, as an RFC 6749 section 5.2 error."""
    response = tenant.http.post(
        "/oauth/token", content=UTF_16, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json() == {
        "error": "invalid_request",
        "error_description": f"the request body is not valid JSON: {NOT_UTF_8}",
    }
