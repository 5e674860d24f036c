"""The workforce IdP redirects a path with a stray trailing slash by a relative reference, never
to the host the request's ``Host`` header names (``expressway.web.slashes``)."""

from __future__ import annotations

from tests.workforce.conftest import PUBLIC_URL, Workforce


def test_a_stray_trailing_slash_is_redirected_to_the_path_alone(workforce: Workforce) -> None:
    for path, location in [
        ("/orgs/acme/api/v1/users/", "/orgs/acme/api/v1/users"),
        (
            "/orgs/acme/.well-known/openid-configuration/?x=1",
            "/orgs/acme/.well-known/openid-configuration?x=1",
        ),
    ]:
        answer = workforce.http.get(
            f"{PUBLIC_URL}{path}", headers={"Host": "evil.example"}, follow_redirects=False
        )
        assert answer.status_code == 307, path
        assert answer.headers["location"] == location


def test_a_path_that_matches_no_route_without_its_slash_is_a_404_in_oktas_shape(
    workforce: Workforce,
) -> None:
    answer = workforce.http.get(f"{PUBLIC_URL}//evil.example/", follow_redirects=False)
    assert answer.status_code == 404
    assert "location" not in answer.headers
    assert answer.json()["errorCode"] == "E0000007"
