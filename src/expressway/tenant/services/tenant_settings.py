"""The tenant's settings document (``/api/v2/tenants/settings``) and its feature flags."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy.orm import Session

from expressway.tenant.errors import InvalidInput
from expressway.tenant.rows import TenantSettingsRow
from expressway.tenant.services import resource_servers

#: The settings of a new tenant (``expressway tenant init``).
DEFAULT_TENANT_SETTINGS: dict[str, object] = {
    "friendly_name": "Expressway",
    "support_email": "",
    "default_audience": "",
    "session_lifetime": 168,
    "idle_session_lifetime": 72,
    "flags": {
        "enable_client_connections": False,
        "use_scope_descriptions_for_consent": False,
    },
}


#: The flags the tenant acts on. Auth0 has many more; accepting one Expressway ignores would
#: let a script believe it changed something, so any other is refused.
KNOWN_FLAGS = {
    # "Enable Application Connections": new connections are enabled for every client. Express
    # Configuration needs it off, so that a customer's connection reaches only the apps it names.
    "enable_client_connections",
    # The consent page lists the descriptions of the scopes asked for, not their names.
    "use_scope_descriptions_for_consent",
}
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


@dataclass
class TenantSettingsSpec:
    """The writable settings; ``None`` means "not given". ``flags`` merge key by key."""

    friendly_name: str | None = None
    picture_url: str | None = None
    support_email: str | None = None
    support_url: str | None = None
    session_lifetime: float | None = None
    idle_session_lifetime: float | None = None
    default_audience: str | None = None
    default_directory: str | None = None
    allowed_logout_urls: list[str] | None = None
    flags: dict[str, bool] | None = None


def _row(session: Session) -> TenantSettingsRow:
    row = session.get(TenantSettingsRow, "tenant")
    if row is None:
        # A tenant migrated but never initialised still answers with the defaults.
        row = TenantSettingsRow(id="tenant", settings={})
        session.add(row)
    return row


def read(session: Session) -> dict[str, Any]:
    """The settings document, with the defaults of ``tenant init`` for anything never set."""
    stored = _row(session).settings
    defaults = DEFAULT_TENANT_SETTINGS["flags"]
    default_flags = dict(defaults) if isinstance(defaults, dict) else {}
    return {
        **DEFAULT_TENANT_SETTINGS,
        **stored,
        "flags": {**default_flags, **stored.get("flags", {})},
    }


def _check_url(field: str, value: str) -> None:
    parts = urlsplit(value)
    if value and (parts.scheme not in ("https", "http") or not parts.hostname):
        raise InvalidInput(f"{field} must be an absolute https URL, not {value!r}")


def _check(session: Session, spec: TenantSettingsSpec) -> None:
    for name in spec.flags or {}:
        if name not in KNOWN_FLAGS:
            raise InvalidInput(
                f"flags.{name} is not a flag this tenant supports; known flags: "
                + ", ".join(sorted(KNOWN_FLAGS))
            )
    if spec.support_email and not _EMAIL.fullmatch(spec.support_email):
        raise InvalidInput(f"support_email: {spec.support_email!r} is not an e-mail address")
    for field in ("picture_url", "support_url"):
        value = getattr(spec, field)
        if value is not None:
            _check_url(field, value)
    for url in spec.allowed_logout_urls or ():
        _check_url("allowed_logout_urls", url)
    if spec.default_audience and (
        resource_servers.find_by_identifier(session, spec.default_audience) is None
    ):
        raise InvalidInput(
            f"default_audience: no API has the identifier {spec.default_audience!r}; "
            "create it first (POST /api/v2/resource-servers)"
        )


def update(session: Session, spec: TenantSettingsSpec) -> dict[str, Any]:
    _check(session, spec)
    row = _row(session)
    settings = dict(row.settings)
    for field in (
        "friendly_name",
        "picture_url",
        "support_email",
        "support_url",
        "session_lifetime",
        "idle_session_lifetime",
        "default_audience",
        "default_directory",
        "allowed_logout_urls",
    ):
        value = getattr(spec, field)
        if value is not None:
            settings[field] = value
    if spec.flags is not None:
        settings["flags"] = {**settings.get("flags", {}), **spec.flags}
    # A new dict, since the JSON column does not notice changes made inside the old one.
    row.settings = settings
    session.flush()
    return read(session)
