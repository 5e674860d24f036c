"""A path with a stray trailing slash is redirected to the path without it by a relative
reference, never to the host the request's ``Host`` header names (``expressway.web.slashes``)."""

from __future__ import annotations

import pytest

from tests.conftest import Tenant, auth0_error

ORIGIN = "http://localhost:8401"
HOSTILE = {"Host": "evil.example"}


@pytest.mark.parametrize(
    ("path", "location"),
    [
        ("/authorize/", "/authorize"),
        ("/authorize/?client_id=abc&state=x%20y", "/authorize?client_id=abc&state=x%20y"),
        ("/api/v2/clients//", "/api/v2/clients"),
        ("/u/login/password/", "/u/login/password"),
        ("/.well-known/jwks.json/", "/.well-known/jwks.json"),
    ],
)
def test_a_stray_trailing_slash_is_redirected_to_the_path_alone(
    tenant: Tenant, path: str, location: str
) -> None:
    answer = tenant.http.get(f"{ORIGIN}{path}", headers=HOSTILE, follow_redirects=False)
    assert answer.status_code == 307
    assert answer.headers["location"] == location


@pytest.mark.parametrize(
    "path", ["/nothing/", "//evil.example/", "/\\evil.example/", "/authorize/x/", "/nothing"]
)
def test_a_path_that_matches_no_route_without_its_slash_is_a_404_in_auth0s_shape(
    tenant: Tenant, path: str
) -> None:
    # A whole URL, so that a path beginning with "//" is not read as another host's.
    answer = tenant.http.get(f"{ORIGIN}{path}", headers=HOSTILE, follow_redirects=False)
    assert answer.status_code == 404
    assert "location" not in answer.headers
    assert auth0_error(answer)["statusCode"] == 404


def test_a_wrong_method_is_still_a_405(tenant: Tenant) -> None:
    answer = tenant.http.put("/authorize", follow_redirects=False)
    assert answer.status_code == 405
    assert auth0_error(answer)["statusCode"] == 405
