"""``/express-configure/v1/sso`` and ``/scim`` (SPEC §2.2, §4.1), and the OIN Wizard's
Express Configuration information (SPEC §3)."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import func, select

from expressway import jose
from expressway.oauth.client_auth import JWT_BEARER_ASSERTION
from expressway.tenant.authn.tokens import issue_access_token
from expressway.tenant.express_configuration import service as express_configuration
from expressway.tenant.rows import ConnectionRow, LogEventRow, OrganizationConnectionRow
from expressway.tenant.services import connections
from tests.conftest import BACKENDS, Tenant, auth0_error
from tests.tenant import token_flows
from tests.tenant.browser import (
    EXPRESS_CONFIGURE_API,
    make_api,
    make_client,
    make_organization,
    make_user,
    management,
)

pytestmark = pytest.mark.parametrize("tenant_database", BACKENDS, indirect=True)

SSO = "express_configure:sso"
SCIM = "express_configure:scim"
ISSUER = "http://localhost:8402/orgs/acme"
SSO_BODY = {
    "issuer": ISSUER,
    "client_id": "0oa-instance",
    "client_secret": "instance-secret-1",
    "universal_logout": True,
}


@dataclass
class World:
    """A tenant set up for Express Configuration as SPEC §2.1 describes."""

    tenant: Tenant
    admin: str
    organization: str
    role: str
    oin: str
    saas: str
    linked: str

    def token(
        self,
        *permissions: str,
        client_id: str | None = None,
        organization: str | None = "default",
    ) -> str:
        """An access token as the token endpoint issues it to the OIN for this admin."""
        claims: dict[str, Any] = {"permissions": list(permissions)}
        if organization is not None:
            claims["org_id"] = self.organization if organization == "default" else organization
        return issue_access_token(
            self.tenant.runtime,
            subject=self.admin,
            client_id=client_id or self.oin,
            audience=[EXPRESS_CONFIGURE_API, "http://localhost:8401/userinfo"],
            scopes=["openid", *permissions],
            lifetime=600,
            extra_claims=claims,
        )

    def call(
        self, action: str, body: Any = None, *, token: str | None = None, **kwargs: Any
    ) -> httpx.Response:
        bearer = token if token is not None else self.token(SSO, SCIM)
        return self.tenant.http.post(
            f"/express-configure/v1/{action}",
            json=body,
            headers={"Authorization": f"Bearer {bearer}"},
            **kwargs,
        )

    def sso(self, body: dict[str, Any] | None = None, **kwargs: Any) -> httpx.Response:
        return self.call("sso", body if body is not None else SSO_BODY, **kwargs)


def _world(tenant: Tenant) -> World:
    api = management(tenant)
    make_api(tenant, EXPRESS_CONFIGURE_API, SSO, SCIM, enforce_policies=True)
    role = api.post("/roles", json={"name": "Express Configure admin"}).json()["id"]
    api.post(
        f"/roles/{role}/permissions",
        json={
            "permissions": [
                {"resource_server_identifier": EXPRESS_CONFIGURE_API, "permission_name": p}
                for p in (SSO, SCIM)
            ]
        },
    ).raise_for_status()
    admin = make_user(tenant, "it-admin@acme.example")
    organization = make_organization(
        tenant,
        "acme",
        admin,
        display_name="Acme Corp",
        metadata={"domains": "acme.example,acme.test"},
    )
    api.post(
        f"/organizations/{organization}/members/{admin}/roles", json={"roles": [role]}
    ).raise_for_status()
    connection_profile = api.post(
        "/connection-profiles",
        json={
            "name": "Okta Express Configuration",
            "organization": {"show_as_button": "optional", "assign_membership_on_login": "none"},
            "connection_name_prefix_template": "okta-{org_id}-",
        },
    )
    assert connection_profile.status_code == 201, connection_profile.text
    attribute_profile = api.post(
        "/user-attribute-profiles",
        json={
            "name": "Okta workforce users",
            "user_id": {"oidc_mapping": "sub", "scim_mapping": "externalId"},
            "user_attributes": {
                "username": {
                    "description": "Login name",
                    "label": "Username",
                    "profile_required": False,
                    "auth0_mapping": "username",
                    "oidc_mapping": {"mapping": "preferred_username"},
                    "scim_mapping": "userName",
                }
            },
        },
    )
    assert attribute_profile.status_code == 201, attribute_profile.text
    oin = make_client(tenant, name="Okta OIN", app_type="express_configuration")
    linked = make_client(tenant, name="Acme Reports")
    saas = make_client(
        tenant,
        name="Acme Analytics",
        home_realm_discovery=True,
        express_configuration={
            "initiate_login_uri_template": (
                "https://app.example/login?organization={organization_id}"
                "&connection={connection_name}"
            ),
            "user_attribute_profile_id": attribute_profile.json()["id"],
            "connection_profile_id": connection_profile.json()["id"],
            "enable_client": True,
            "enable_organization": True,
            "linked_clients": [{"client_id": linked}],
            "okta_oin_client_id": oin,
            "admin_login_domain": "localhost:8401",
        },
    )
    return World(tenant, admin, organization, role, oin, saas, linked)


@pytest.fixture
def world(tenant: Tenant) -> World:
    return _world(tenant)


def _reasons(response: httpx.Response) -> list[str]:
    assert response.status_code == 403, response.text
    body = response.json()
    assert body["errorCode"] == "oauth_error"
    return [cause["reason"] for cause in body["errorCauses"]]


def _connection(world: World, connection_id: str) -> ConnectionRow:
    with world.tenant.runtime.sessions() as session:
        row = session.get(ConnectionRow, connection_id)
        assert row is not None
        session.expunge(row)
        return row


def _count_connections(world: World) -> int:
    with world.tenant.runtime.sessions() as session:
        return session.scalar(select(func.count()).select_from(ConnectionRow)) or 0


def _log_descriptions(world: World, type: str) -> list[str]:
    with world.tenant.runtime.sessions() as session:
        return [
            str(event.description)
            for event in session.scalars(
                select(LogEventRow).where(LogEventRow.type == type).order_by(LogEventRow.log_id)
            )
        ]


# --- SSO ---


def test_express_configure_sso_creates_the_connection_the_profiles_describe(
    world: World,
) -> None:
    """One okta connection, named by the profile, with the organization's domains, enabled for
    the SaaS app and its linked client, offered as a button in the organization."""
    response = world.sso()
    assert response.status_code == 200, response.text
    body = response.json()
    connection_id = body["connection"]["id"]
    name = body["connection"]["name"]
    assert name.startswith(f"okta-{world.organization.replace('_', '-')}-")
    assert body["organization"] == {"id": world.organization, "name": "acme"}
    assert body["redirect_uri"] == "http://localhost:8401/login/callback"
    assert body["initiate_login_uri"] == (
        f"https://app.example/login?organization={world.organization}&connection={name}"
    )
    assert body["global_token_revocation_endpoint"] == (
        f"http://localhost:8401/oauth/global-token-revocation/connection/{name}"
    )
    assert body["domain_aliases"] == ["acme.example", "acme.test"]
    row = _connection(world, connection_id)
    assert row.strategy == "okta"
    assert row.options["issuer"] == ISSUER
    assert row.options["client_id"] == "0oa-instance"
    assert row.options["scope"] == "openid profile email"
    assert "client_secret" not in row.options
    assert row.options["attribute_map"]["attributes"] == {
        "username": "${context.tokenset.preferred_username}"
    }
    assert connections.read_client_secret(world.tenant.runtime, row) == "instance-secret-1"
    with world.tenant.runtime.sessions() as session:
        enabled = connections.enabled_client_ids(session, row)
        link = session.get(OrganizationConnectionRow, (world.organization, connection_id))
        assert link is not None
        assert (link.show_as_button, link.assign_membership_on_login) == (True, False)
    assert sorted(enabled) == sorted([world.saas, world.linked])
    assert "Express Configuration: connection created" in _log_descriptions(world, "sapi")
    assert "Express Configuration: SSO configured" in _log_descriptions(world, "sapi")


def test_re_running_express_configure_sso_changes_and_duplicates_nothing(world: World) -> None:
    """The same input twice: the same answer, one connection, no step taken the second time."""
    first = world.sso()
    connections_after_first = _count_connections(world)
    steps_after_first = len(_log_descriptions(world, "sapi"))
    second = world.sso()
    assert second.status_code == 200, second.text
    assert second.json() == first.json()
    assert _count_connections(world) == connections_after_first
    # Only the run's own "SSO configured" event is new: no step was taken.
    assert len(_log_descriptions(world, "sapi")) == steps_after_first + 1


def test_re_running_express_configure_sso_with_a_new_secret_updates_it(world: World) -> None:
    """A rotated upstream secret replaces the stored one in the same connection."""
    first = world.sso().json()
    again = world.sso({**SSO_BODY, "client_secret": "instance-secret-2"})
    assert again.status_code == 200, again.text
    assert again.json()["connection"] == first["connection"]
    row = _connection(world, first["connection"]["id"])
    assert connections.read_client_secret(world.tenant.runtime, row) == "instance-secret-2"


def test_a_connection_whose_metadata_no_longer_names_the_organization_is_not_its_own(
    world: World,
) -> None:
    """The organization's connections are those whose metadata names it, as the Management API
    last wrote that metadata."""
    made = world.sso().json()["connection"]["id"]
    api = management(world.tenant)
    marked = dict(_connection(world, made).connection_metadata)

    def found() -> list[str]:
        with world.tenant.runtime.sessions() as session:
            return [
                row.id
                for row in express_configuration.organization_connections(
                    session, world.organization
                )
            ]

    assert found() == [made]
    unmarked = api.patch(f"/connections/{made}", json={"metadata": {"team": "identity"}})
    assert unmarked.status_code == 200, unmarked.text
    assert found() == []
    assert api.patch(f"/connections/{made}", json={"metadata": marked}).status_code == 200
    assert found() == [made]
    assert world.sso().json()["connection"]["id"] == made


def test_each_organization_finds_its_own_connection_among_others(world: World) -> None:
    """With other customers configured to the same issuer, a re-run finds the caller's."""
    mine = world.sso().json()["connection"]["id"]
    api = management(world.tenant)
    others = []
    for name in ("globex", "initech"):
        organization = make_organization(world.tenant, name, world.admin)
        api.post(
            f"/organizations/{organization}/members/{world.admin}/roles",
            json={"roles": [world.role]},
        ).raise_for_status()
        theirs = world.sso(token=world.token(SSO, SCIM, organization=organization))
        assert theirs.status_code == 200, theirs.text
        assert theirs.json()["organization"]["id"] == organization
        others.append(theirs.json()["connection"]["id"])
    assert len({mine, *others}) == 3
    again = world.sso()
    assert again.json()["connection"]["id"] == mine
    assert again.json()["organization"]["id"] == world.organization


def test_another_issuer_gets_another_connection_for_the_organization(world: World) -> None:
    """One connection per (organization, issuer)."""
    first = world.sso().json()["connection"]
    other = world.sso({**SSO_BODY, "issuer": "https://acme.okta.example"}).json()["connection"]
    assert other["id"] != first["id"]
    assert other["name"] != first["name"]


# --- Causes, one at a time and all at once ---


def test_a_token_without_the_permission_of_an_unassigned_admin_names_role_not_assigned(
    world: World,
) -> None:
    """The admin holds no role with express_configure:sso: only role_not_assigned."""
    management(world.tenant).request(
        "DELETE",
        f"/organizations/{world.organization}/members/{world.admin}/roles",
        json={"roles": [world.role]},
    ).raise_for_status()
    assert _reasons(world.sso(token=world.token())) == ["role_not_assigned"]


def test_no_role_holding_both_permissions_names_role_permissions_missing(world: World) -> None:
    """The permissions split over two roles the admin holds: only role_permissions_missing."""
    api = management(world.tenant)
    api.request(
        "DELETE",
        f"/roles/{world.role}/permissions",
        json={
            "permissions": [
                {"resource_server_identifier": EXPRESS_CONFIGURE_API, "permission_name": SCIM}
            ]
        },
    ).raise_for_status()
    scim_role = api.post("/roles", json={"name": "SCIM only"}).json()["id"]
    api.post(
        f"/roles/{scim_role}/permissions",
        json={
            "permissions": [
                {"resource_server_identifier": EXPRESS_CONFIGURE_API, "permission_name": SCIM}
            ]
        },
    ).raise_for_status()
    api.post(f"/users/{world.admin}/roles", json={"roles": [scim_role]}).raise_for_status()
    assert _reasons(world.sso(token=world.token())) == ["role_permissions_missing"]


def test_home_realm_discovery_off_names_exactly_that_cause(world: World) -> None:
    """The SaaS app without Home Realm Discovery: only home_realm_discovery_disabled."""
    management(world.tenant).patch(
        f"/clients/{world.saas}", json={"home_realm_discovery": False}
    ).raise_for_status()
    assert _reasons(world.sso()) == ["home_realm_discovery_disabled"]


def test_application_connections_on_names_exactly_that_cause(world: World) -> None:
    """The tenant flag on: only application_connections_enabled."""
    management(world.tenant).patch(
        "/tenants/settings", json={"flags": {"enable_client_connections": True}}
    ).raise_for_status()
    assert _reasons(world.sso()) == ["application_connections_enabled"]


def test_a_client_no_saas_app_names_gets_app_not_configured(world: World) -> None:
    """A token issued to a client that is not the OIN client of any app: app_not_configured."""
    assert _reasons(world.sso(token=world.token(SSO, client_id=world.linked))) == [
        "app_not_configured"
    ]


def test_the_saas_app_is_the_one_whose_express_configuration_now_names_the_oin_client(
    world: World,
) -> None:
    """Edited through the Management API, the app's ``express_configuration`` decides at once:
    without it the OIN client configures nothing; given back, the app is found again."""
    api = management(world.tenant)
    config = api.get(f"/clients/{world.saas}").json()["express_configuration"]
    cleared = api.patch(f"/clients/{world.saas}", json={"express_configuration": None})
    assert cleared.status_code == 200, cleared.text
    assert _reasons(world.sso()) == ["app_not_configured"]
    restored = api.patch(f"/clients/{world.saas}", json={"express_configuration": config})
    assert restored.status_code == 200, restored.text
    assert world.sso().status_code == 200


def test_an_admin_no_longer_member_of_the_organization_is_named_so(world: World) -> None:
    """Membership removed (the role held directly): only not_organization_member."""
    api = management(world.tenant)
    api.post(f"/users/{world.admin}/roles", json={"roles": [world.role]}).raise_for_status()
    api.request(
        "DELETE",
        f"/organizations/{world.organization}/members",
        json={"members": [world.admin]},
    ).raise_for_status()
    assert _reasons(world.sso()) == ["not_organization_member"]


def test_the_support_case_names_every_missing_prerequisite_at_once(world: World) -> None:
    """Role unassigned, HRD off, application connections on: all three causes, logged too."""
    api = management(world.tenant)
    api.request(
        "DELETE",
        f"/organizations/{world.organization}/members/{world.admin}/roles",
        json={"roles": [world.role]},
    ).raise_for_status()
    api.patch(f"/clients/{world.saas}", json={"home_realm_discovery": False}).raise_for_status()
    api.patch(
        "/tenants/settings", json={"flags": {"enable_client_connections": True}}
    ).raise_for_status()
    response = world.sso(token=world.token())
    assert _reasons(response) == [
        "role_not_assigned",
        "home_realm_discovery_disabled",
        "application_connections_enabled",
    ]
    assert response.json()["errorSummary"] == (
        "Failed to Express Configure the application. Please retry or contact Okta support."
    )
    assert all(cause["remediation"] for cause in response.json()["errorCauses"])
    assert _count_connections(world) == 1  # the database connection only
    assert any(
        "role_not_assigned, home_realm_discovery_disabled" in d
        for d in _log_descriptions(world, "fapi")
    )


def test_a_refused_scim_token_names_the_scim_permission_cause(world: World) -> None:
    """/scim needs express_configure:scim: an SSO-only token is refused."""
    world.sso()
    management(world.tenant).request(
        "DELETE",
        f"/organizations/{world.organization}/members/{world.admin}/roles",
        json={"roles": [world.role]},
    ).raise_for_status()
    assert _reasons(world.call("scim", token=world.token(SSO))) == ["role_not_assigned"]


# --- SCIM ---


def test_scim_before_sso_names_sso_not_configured(world: World) -> None:
    """No connection made by the SSO step yet: sso_not_configured."""
    assert _reasons(world.call("scim")) == ["sso_not_configured"]


def test_scim_after_sso_mints_a_token_for_that_connection_only(world: World) -> None:
    """The token authenticates SCIM calls to the SSO connection and to no other."""
    connection_id = world.sso().json()["connection"]["id"]
    other_id = world.sso({**SSO_BODY, "issuer": "https://other.okta.example"}).json()["connection"][
        "id"
    ]
    response = world.call("scim", {"issuer": ISSUER})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["scim_base_url"] == f"http://localhost:8401/scim/v2/connections/{connection_id}"
    assert body["token_id"].startswith("tok_")
    assert body["valid_until"] is None
    now = world.tenant.runtime.clock.now()
    with world.tenant.runtime.sessions() as session:
        found = connections.authenticate_scim_token(session, now, connection_id, body["token"])
        assert found is not None
        assert found.token_id == body["token_id"]
        assert connections.authenticate_scim_token(session, now, other_id, body["token"]) is None


def test_re_running_express_configure_scim_replaces_the_oldest_token(world: World) -> None:
    """Three runs all succeed; the connection keeps two tokens, the first one no longer works."""
    connection_id = world.sso().json()["connection"]["id"]
    tokens = [world.call("scim").json()["token"] for _ in range(3)]
    now = world.tenant.runtime.clock.now()
    with world.tenant.runtime.sessions() as session:
        row = connections.find(session, connection_id)
        assert len(connections.scim_tokens(session, row)) == 2
        working = [
            connections.authenticate_scim_token(session, now, connection_id, token) is not None
            for token in tokens
        ]
    assert working == [False, True, True]


# --- Bad requests ---


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ({**SSO_BODY, "extra": 1}, "extra"),
        ({**SSO_BODY, "issuer": "http://acme.okta.example"}, "issuer"),
        ({**SSO_BODY, "issuer": "not a url"}, "issuer"),
        ({key: v for key, v in SSO_BODY.items() if key != "client_secret"}, "client_secret"),
        ({**SSO_BODY, "universal_logout": "yes"}, "universal_logout"),
        ({**SSO_BODY, "client_id": "x" * 256}, "client_id"),
        (["not", "an", "object"], "object"),
    ],
)
def test_a_bad_sso_body_is_refused_naming_the_field(world: World, body: Any, named: str) -> None:
    """Unknown fields, a plain-http issuer, missing or mistyped fields: 400 naming it."""
    response = world.call("sso", body)
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "invalid_request"
    assert named in response.json()["error_description"]
    assert _count_connections(world) == 1


@pytest.mark.parametrize("word", ["NaN", "Infinity", "-Infinity"])
def test_nan_or_an_infinity_is_refused_as_a_body_that_is_not_json(world: World, word: str) -> None:
    """RFC 8259 has no NaN or Infinity: 400 ``invalid_request`` naming the word, and no
    connection made or changed."""
    for action, body in (
        ("sso", {**SSO_BODY, "universal_logout": float(word)}),
        ("scim", {"issuer": float(word)}),
    ):
        response = world.tenant.http.post(
            f"/express-configure/v1/{action}",
            content=json.dumps(body),
            headers={
                "Authorization": f"Bearer {world.token(SSO, SCIM)}",
                "Content-Type": "application/json",
            },
        )
        assert response.status_code == 400, response.text
        assert response.json() == {
            "error": "invalid_request",
            "error_description": f"The body is not JSON: {word} is not JSON"
            " (RFC 8259 has no NaN, Infinity or -Infinity)",
        }
    assert _count_connections(world) == 1


def test_a_body_that_is_not_json_is_refused(world: World) -> None:
    """Malformed JSON: 400, not a 500."""
    response = world.tenant.http.post(
        "/express-configure/v1/sso",
        content=b"{not json",
        headers={"Authorization": f"Bearer {world.token(SSO)}"},
    )
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "invalid_request"


@pytest.mark.parametrize("token", ["", "not-a-jwt", "management"])
def test_a_bad_token_is_refused_with_401(world: World, token: str) -> None:
    """No token, a malformed one, or a token for another audience: 401 invalid_token."""
    if token == "management":
        token = world.tenant.token()
    response = world.tenant.http.post(
        "/express-configure/v1/sso",
        json=SSO_BODY,
        headers={"Authorization": f"Bearer {token}"} if token else {},
    )
    assert response.status_code == 401, response.text
    assert response.json()["error"] == "invalid_token"
    assert "Bearer" in response.headers["www-authenticate"]


def test_a_token_without_an_organization_is_refused_as_a_bad_request(world: World) -> None:
    """A token of a login outside any organization names no organization to configure."""
    response = world.sso(token=world.token(SSO, organization=None))
    assert response.status_code == 400, response.text
    assert "organization" in response.json()["error_description"]


# --- The Express Configuration information ---


def test_the_express_configuration_information_is_what_the_oin_wizard_takes(
    world: World,
) -> None:
    """SPEC §3's six fields; the tenant's own host keeps its scheme for a local tenant."""
    response = management(world.tenant).get(
        f"/clients/{world.saas}/express-configuration-information"
    )
    assert response.status_code == 200, response.text
    assert response.json() == {
        "display_name": "Acme Analytics",
        "initiate_login_uri_template": (
            "https://app.example/login?organization={organization_id}&connection={connection_name}"
        ),
        "oin_client_id": world.oin,
        "application_client_id": world.saas,
        "tenant_domain": "http://localhost:8401",
        "login_domain": "http://localhost:8401",
    }


def test_the_information_of_an_app_without_express_configuration_is_refused(
    world: World,
) -> None:
    """An app without express_configuration: 400 naming it; an unknown app: 404."""
    api = management(world.tenant)
    refused = api.get(f"/clients/{world.linked}/express-configuration-information")
    assert refused.status_code == 400
    assert "express_configuration" in auth0_error(refused)["message"]
    missing = api.get("/clients/no-such-client/express-configuration-information")
    assert missing.status_code == 404


def test_uploading_the_wizard_key_to_the_oin_client_links_the_submission(world: World) -> None:
    """A key named ``oin:{submission_id}`` on the OIN client sets the app's read-only
    oin_submission_id; a key with another name leaves it alone."""
    api = management(world.tenant)

    def upload(name: str) -> None:
        pem = (
            rsa.generate_private_key(public_exponent=65537, key_size=2048)
            .public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            .decode()
        )
        response = api.post(
            f"/clients/{world.oin}/credentials",
            json={"credential_type": "public_key", "pem": pem, "name": name},
        )
        assert response.status_code == 201, response.text

    def submission() -> Any:
        return api.get(f"/clients/{world.saas}").json()["express_configuration"][
            "oin_submission_id"
        ]

    upload("my key")
    assert submission() is None
    upload("oin:sub_abc123")
    assert submission() == "sub_abc123"


def test_the_access_token_of_a_real_code_exchange_configures_sso(world: World) -> None:
    """End of SPEC §4: a code for the admin in the organization, exchanged by the OIN client
    with private_key_jwt, gives a token the SSO call accepts."""
    api = management(world.tenant)
    key = jose.generate_signing_key("oin-key-0001")
    pem = key.as_pem(private=False).decode()
    credential = api.post(
        f"/clients/{world.oin}/credentials",
        json={"credential_type": "public_key", "pem": pem, "kid": "oin-key-0001"},
    )
    assert credential.status_code == 201, credential.text
    api.patch(
        f"/clients/{world.oin}",
        json={
            "client_authentication_methods": {
                "private_key_jwt": {"credentials": [{"id": credential.json()["id"]}]}
            }
        },
    ).raise_for_status()
    verifier, challenge = token_flows.pkce_pair()
    code = token_flows.mint_code(
        world.tenant,
        token_flows.App(world.oin, None),
        world.admin,
        scope=f"openid {SSO}",
        audience=EXPRESS_CONFIGURE_API,
        challenge=challenge,
        organization_id=world.organization,
    )
    now = world.tenant.runtime.clock.timestamp()
    assertion = jose.sign_jwt(
        {
            "iss": world.oin,
            "sub": world.oin,
            "aud": "http://localhost:8401/",
            "iat": now,
            "exp": now + 120,
            "jti": secrets.token_urlsafe(16),
        },
        key,
    )
    exchanged = token_flows.exchange(
        world.tenant,
        token_flows.App(world.oin, None),
        code,
        verifier,
        client_assertion_type=JWT_BEARER_ASSERTION,
        client_assertion=assertion,
    )
    assert exchanged.status_code == 200, exchanged.text
    response = world.sso(token=exchanged.json()["access_token"])
    assert response.status_code == 200, response.text
    assert response.json()["organization"]["id"] == world.organization
