"""``/api/v1/api-tokens``: the org's tokens, listed without their secret, and revoked."""

from __future__ import annotations

import pytest

from expressway import hashing
from expressway.workforce.rows import ApiTokenRow, UserRow
from expressway.workforce.services import api_tokens
from tests.conftest import BACKENDS
from tests.workforce.conftest import Workforce, okta_error

pytestmark = pytest.mark.parametrize("workforce_database", BACKENDS, indirect=True)


def _second_token(workforce: Workforce) -> str:
    with workforce.runtime.sessions() as session:
        admin = session.get(UserRow, workforce.api().get("/users/me").json()["id"])
        assert admin is not None
        _, token = api_tokens.issue(session, admin, "CI", workforce.runtime.clock.now())
        session.commit()
    return token


def test_tokens_are_listed_in_okta_shape_without_the_token(workforce: Workforce) -> None:
    """Okta's token metadata (tokenWindow, expiresAt…), never the token itself."""
    api = workforce.api()
    tokens = api.get("/api-tokens").json()
    assert len(tokens) == 1
    token = tokens[0]
    assert token["id"].startswith("00T")
    assert token["name"] == "expressway workforce init"
    assert token["userId"] == api.get("/users/me").json()["id"]
    assert token["tokenWindow"] == "P30D"
    assert {"created", "lastUpdated", "expiresAt", "clientName", "network"} <= set(token)
    assert workforce.admins["acme"].token not in str(tokens)
    assert api.get(f"/api-tokens/{token['id']}").json()["id"] == token["id"]


def test_only_the_digest_of_a_token_is_stored(workforce: Workforce) -> None:
    """A token is a bearer secret: the database keeps its SHA-256 only."""
    token = _second_token(workforce)
    with workforce.runtime.sessions() as session:
        digests = [row.token_digest for row in session.query(ApiTokenRow)]
    assert hashing.hash_token(token) in digests
    assert token not in digests


def test_a_token_revoked_by_id_stops_working_and_the_others_do_not(workforce: Workforce) -> None:
    """Revocation is immediate, touches only that token, and is logged."""
    second = _second_token(workforce)
    api = workforce.api()
    second_id = next(t["id"] for t in api.get("/api-tokens").json() if t["name"] == "CI")
    assert api.delete(f"/api-tokens/{second_id}").status_code == 204
    refused = workforce.api(token=second).get("/users")
    assert refused.status_code == 401
    okta_error(refused, "E0000011")
    assert api.get("/users").status_code == 200
    assert api.delete(f"/api-tokens/{second_id}").status_code == 404
    revocations = api.get("/logs", params={"filter": 'eventType eq "system.api_token.revoke"'})
    assert [t["id"] for t in revocations.json()[0]["target"]] == [second_id]
