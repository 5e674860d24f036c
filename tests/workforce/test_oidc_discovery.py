"""Each org's OpenID provider metadata and keys, at its own issuer."""

from __future__ import annotations

import pytest

from tests.conftest import BACKENDS
from tests.workforce.conftest import Workforce, okta_error

pytestmark = pytest.mark.parametrize("workforce_database", BACKENDS, indirect=True)


def test_each_org_publishes_its_issuer_and_jwks_uri(workforce: Workforce) -> None:
    """OpenID Connect Discovery 1.0 §4.3: ``issuer`` is the URL the document was fetched under."""
    response = workforce.http.get("/orgs/acme/.well-known/openid-configuration")
    assert response.status_code == 200
    metadata = response.json()
    assert metadata["issuer"] == "http://localhost:8402/orgs/acme"
    assert metadata["jwks_uri"] == "http://localhost:8402/orgs/acme/oauth2/v1/keys"
    assert "RS256" in metadata["id_token_signing_alg_values_supported"]


def test_each_org_signs_with_keys_of_its_own_current_and_next(workforce: Workforce) -> None:
    """Each org publishes its current and next public keys, shared with no other org."""
    acme = workforce.http.get("/orgs/acme/oauth2/v1/keys").json()["keys"]
    globex = workforce.http.get("/orgs/globex/oauth2/v1/keys").json()["keys"]
    assert len(acme) == len(globex) == 2
    assert all(key["kty"] == "RSA" and "d" not in key for key in acme + globex)
    assert not {k["kid"] for k in acme} & {k["kid"] for k in globex}


def test_an_unknown_org_has_no_provider(workforce: Workforce) -> None:
    """Discovery and keys of an unknown org are E0000007."""
    response = workforce.http.get("/orgs/initech/.well-known/openid-configuration")
    assert response.status_code == 404
    okta_error(response, "E0000007")
    assert workforce.http.get("/orgs/initech/oauth2/v1/keys").status_code == 404
