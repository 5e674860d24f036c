"""Where an app instance is reached: the SCIM base URL and bearer token Express Configure SCIM
stored on it, the Universal Logout endpoint Express Configure SSO stored, and its *To App*
switches."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from expressway.sealing import Sealer
from expressway.workforce.rows import AppProvisioningRow, AppRow

APP_ACTIVE = "ACTIVE"


@dataclass(frozen=True)
class ScimTarget:
    """An app's SCIM service. ``repr`` leaves the token out, so a logged target leaks nothing."""

    base_url: str
    token: str

    def __repr__(self) -> str:
        return f"ScimTarget(base_url={self.base_url!r})"


def _scim_configuration(app: AppRow) -> dict[str, Any]:
    value = (app.express_configuration or {}).get("scim")
    return value if isinstance(value, dict) else {}


def has_scim(app: AppRow) -> bool:
    """Whether Express Configure SCIM left this instance a base URL and a token."""
    scim = _scim_configuration(app)
    return isinstance(scim.get("scim_base_url"), str) and isinstance(scim.get("token_sealed"), str)


def scim_target(app: AppRow, sealer: Sealer) -> ScimTarget | None:
    """The app's SCIM service with its token unsealed, or ``None`` when it has none."""
    if not has_scim(app):
        return None
    scim = _scim_configuration(app)
    token = sealer.open(str(scim["token_sealed"])).decode()
    return ScimTarget(str(scim["scim_base_url"]).rstrip("/"), token)


def logout_endpoint(app: AppRow) -> str | None:
    """The Universal Logout (global token revocation) endpoint Express Configure SSO stored."""
    sso = (app.express_configuration or {}).get("sso")
    if not isinstance(sso, dict):
        return None
    endpoint = sso.get("global_token_revocation_endpoint")
    return endpoint if isinstance(endpoint, str) and endpoint else None


def switches(session: Session, app: AppRow) -> AppProvisioningRow | None:
    """The app's *To App* switches, when provisioning can run: the app is active and has SCIM."""
    if app.status != APP_ACTIVE or not has_scim(app):
        return None
    return session.get(AppProvisioningRow, app.id)
