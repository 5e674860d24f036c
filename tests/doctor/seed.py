"""Seeding a tenant for doctor's tests through the Management API, broken in chosen ways."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from expressway.doctor import Credentials, Inputs
from tests.interop.conftest import LiveTenant

EC_API = "urn:auth0:express-configure"
PERMISSIONS = ("express_configure:sso", "express_configure:scim")
DATABASE = "Username-Password-Authentication"
WORKFORCE = "http://127.0.0.1:8402"

Api = Callable[..., Any]


def management(tenant: LiveTenant, http: httpx.Client) -> Api:
    """``call(method, path, body)``: one Management API call, asserted to succeed."""
    token = tenant.token()

    def call(method: str, path: str, body: object = None) -> Any:
        response = http.request(
            method,
            f"{tenant.url}/api/v2{path}",
            json=body,
            headers={"Authorization": f"Bearer {token}"},
        )
        assert response.status_code < 300, f"{method} {path}: {response.text}"
        return response.json() if response.content else None

    return call


def fresh_public_pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def public_pem(path: Path) -> Path:
    """A fresh RSA key's public half, written as the OIN Wizard's ``Download Key (.pem)``."""
    path.write_text(fresh_public_pem())
    return path


def ensure_api(api: Api) -> None:
    """The Express Configuration API with both permissions and RBAC on."""
    existing = [s for s in api("GET", "/resource-servers") if s["identifier"] == EC_API]
    if existing:
        api("PATCH", f"/resource-servers/{existing[0]['id']}", {"enforce_policies": True})
        return
    api(
        "POST",
        "/resource-servers",
        {
            "identifier": EC_API,
            "name": "Express Configuration",
            "enforce_policies": True,
            "scopes": [{"value": p, "description": p} for p in PERMISSIONS],
        },
    )


@dataclass
class Setup:
    """One vendor app with its OIN client, a customer organization and its admin."""

    api: Api
    suffix: str
    app: dict[str, Any]
    oin: dict[str, Any]
    organization: dict[str, Any]
    admin: dict[str, Any]
    role: dict[str, Any] | None
    database: dict[str, Any]
    domain: str
    extra: dict[str, Any] = field(default_factory=dict)


def build(
    api: Api,
    *,
    role: bool = True,
    member: bool = True,
    hrd: bool = True,
    domains: bool = True,
    organization_connection: bool = True,
    oin_key: Path | None = None,
    key: bool = True,
    express_configuration: bool = True,
) -> Setup:
    """An app ready for Express Configuration except where told otherwise; the OIN client's
    active key is ``oin_key``, or a fresh one unless ``key`` is false."""
    suffix = secrets.token_hex(3)
    domain = f"acme{suffix}.example"
    admin = api(
        "POST",
        "/users",
        {"connection": DATABASE, "email": f"it-admin@{domain}", "password": "Correct-Horse-42"},
    )
    organization = api(
        "POST",
        "/organizations",
        {"name": f"acme-{suffix}", "metadata": {"domains": domain} if domains else {}},
    )
    database = next(c for c in api("GET", "/connections") if c["name"] == DATABASE)
    if organization_connection:
        api(
            "POST",
            f"/organizations/{organization['id']}/enabled_connections",
            {"connection_id": database["id"]},
        )
    made_role = None
    if role:
        made_role = api("POST", "/roles", {"name": f"EC admin {suffix}"})
        api(
            "POST",
            f"/roles/{made_role['id']}/permissions",
            {
                "permissions": [
                    {"resource_server_identifier": EC_API, "permission_name": p}
                    for p in PERMISSIONS
                ]
            },
        )
    if member:
        api("POST", f"/organizations/{organization['id']}/members", {"members": [admin["user_id"]]})
        if made_role is not None:
            api(
                "POST",
                f"/organizations/{organization['id']}/members/{admin['user_id']}/roles",
                {"roles": [made_role["id"]]},
            )
    oin = api(
        "POST",
        "/clients",
        {
            "name": f"Okta OIN {suffix}",
            "app_type": "express_configuration",
            "callbacks": [f"{WORKFORCE}/admin/app/generic/oauth20redirect"],
        },
    )
    pem = oin_key.read_text() if oin_key is not None else fresh_public_pem() if key else None
    if pem is not None:
        credential = api(
            "POST",
            f"/clients/{oin['client_id']}/credentials",
            {"credential_type": "public_key", "pem": pem, "alg": "RS256"},
        )
        api(
            "PATCH",
            f"/clients/{oin['client_id']}",
            {
                "client_authentication_methods": {
                    "private_key_jwt": {"credentials": [{"id": credential["id"]}]}
                }
            },
        )
    body: dict[str, Any] = {
        "name": f"Vendor SaaS {suffix}",
        "app_type": "regular_web",
        "callbacks": ["http://127.0.0.1:9/callback"],
        "home_realm_discovery": hrd,
    }
    if express_configuration:
        connection_profile = api("POST", "/connection-profiles", {"name": f"EC {suffix}"})
        attribute_profile = api(
            "POST",
            "/user-attribute-profiles",
            {
                "name": f"EC {suffix}",
                "user_id": {"oidc_mapping": "sub", "scim_mapping": "externalId"},
                "user_attributes": {
                    "email": {
                        "description": "Work e-mail",
                        "label": "Email",
                        "profile_required": True,
                        "auth0_mapping": "email",
                    }
                },
            },
        )
        body["express_configuration"] = {
            "initiate_login_uri_template": "http://127.0.0.1:9/login?organization={organization_id}",
            "user_attribute_profile_id": attribute_profile["id"],
            "connection_profile_id": connection_profile["id"],
            "enable_client": True,
            "enable_organization": True,
            "linked_clients": [],
            "okta_oin_client_id": oin["client_id"],
            "admin_login_domain": "127.0.0.1:8401",
        }
    app = api("POST", "/clients", body)
    return Setup(api, suffix, app, oin, organization, admin, made_role, database, domain)


def inputs(
    tenant: LiveTenant,
    setup: Setup,
    *,
    pem: Path | None = None,
    organization: bool = True,
    admin: bool = True,
    workforce_url: str | None = WORKFORCE,
) -> Inputs:
    """doctor's inputs for ``setup``: the app by name, the others named unless told not to."""
    return Inputs(
        tenant_url=tenant.url,
        credentials=Credentials(client_id=tenant.client_id, client_secret=tenant.client_secret),
        app=setup.app["name"],
        organization=setup.organization["name"] if organization else None,
        admin=setup.admin["email"] if admin else None,
        pem=pem.read_text() if pem is not None else None,
        pem_source=str(pem) if pem is not None else None,
        workforce_url=workforce_url,
    )
