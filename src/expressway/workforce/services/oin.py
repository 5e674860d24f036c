"""The OIN Wizard of an integrator org and the global OIN catalog.

A submission describes an integration: its capabilities (OIDC always; SCIM and Universal Logout
optional), its integration variables, the Express Configuration information pasted from the
tenant's dashboard, and an RSA key pair whose public half the vendor uploads to its OIN client.
The private half is sealed at rest and leaves this module only through :func:`signing_key_for`,
for the Express Configure client's ``private_key_jwt`` assertions; no answer ever carries it.

*Finish* fills in the integration's properties; a finished submission can make a test instance
in its integrator org, and once an operator publishes it any org can add instances from the
catalog. Every rule here names the field it refuses.
"""

from __future__ import annotations

import json
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

from joserfc.jwk import RSAKey
from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from expressway import jose, json_text
from expressway.sealing import Sealer
from expressway.workforce import ids, system_log
from expressway.workforce.errors import InvalidInput, NotFound
from expressway.workforce.rows import AppRow, OinSubmissionRow
from expressway.workforce.services import apps

SUBMISSION_ID_PREFIX = "0is"

DRAFT = "DRAFT"
FINISHED = "FINISHED"
PUBLISHED = "PUBLISHED"

OIDC = "OIDC"
SCIM = "SCIM"
UNIVERSAL_LOGOUT = "UNIVERSAL_LOGOUT"
CAPABILITIES = (OIDC, SCIM, UNIVERSAL_LOGOUT)

KEY_BITS = 2048
INFORMATION_FIELDS = (
    "display_name",
    "initiate_login_uri_template",
    "oin_client_id",
    "application_client_id",
    "tenant_domain",
    "login_domain",
)
TEMPLATE_PLACEHOLDERS = ("organization_name", "organization_id", "connection_name")
MAX_INFORMATION_VALUE = 1024
SCIM_BASE_URL_VARIABLE = "scim_base_url"
LOCAL_HOSTS = ("localhost", "127.0.0.1")
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
_CATALOG_KEY_CHARS = re.compile(r"[^a-z0-9]+")


@dataclass
class SubmissionSpec:
    """The writable parts of a submission, as given; ``None`` keeps what is there."""

    name: str | None = None
    description: str | None = None
    capabilities: list[str] | None = None
    variables: list[dict[str, str]] | None = None


# --- the Express Configuration information -------------------------------------------------


def _origin(field: str, value: str) -> str:
    """The base URL a domain names: ``host[:port]`` means HTTPS; plain HTTP is only for a
    local development tenant, since the integration's secrets and tokens travel to it."""
    given = value.strip()
    url = given if "://" in given else f"https://{given}"
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise InvalidInput.field(field, f"{value!r} is not a host or a URL") from exc
    host = parts.hostname or ""
    if not host or parts.username is not None or parts.password is not None:
        raise InvalidInput.field(field, f"{value!r} is not a host[:port] or a URL")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise InvalidInput.field(field, f"{value!r} must name only a host, without a path")
    if not re.fullmatch(r"[a-z0-9.-]+|\[[0-9a-f:.]+\]", host):
        raise InvalidInput.field(field, f"{value!r} has an invalid host name")
    if parts.scheme == "http" and host not in LOCAL_HOSTS:
        raise InvalidInput.field(
            field, f"{value!r} must use https (http only for localhost or 127.0.0.1)"
        )
    if parts.scheme not in ("http", "https"):
        raise InvalidInput.field(field, f"{value!r} must be an https URL")
    netloc = host if port is None else f"{host}:{port}"
    return f"{parts.scheme}://{netloc}"


def _check_template(template: str) -> None:
    field = "initiate_login_uri_template"
    unknown = [p for p in _PLACEHOLDER.findall(template) if p not in TEMPLATE_PLACEHOLDERS]
    if unknown:
        raise InvalidInput.field(
            field,
            f"{{{unknown[0]}}} is not a placeholder; use only "
            + ", ".join(f"{{{p}}}" for p in TEMPLATE_PLACEHOLDERS),
        )
    filled = _PLACEHOLDER.sub("x", template)
    if "{" in filled or "}" in filled:
        raise InvalidInput.field(field, "The template has an unbalanced { or }")
    try:
        parts = urlsplit(filled)
    except ValueError as exc:
        raise InvalidInput.field(field, f"{template!r} is not a URL") from exc
    if not parts.netloc or parts.fragment:
        raise InvalidInput.field(field, f"{template!r} is not an absolute URL without a fragment")
    _origin(field, f"{parts.scheme}://{parts.netloc}")


def parse_information(pasted: str | dict[str, Any]) -> dict[str, str]:
    """The Express Configuration information, checked: every field present, a string, and
    valid, and nothing else. Raises :class:`InvalidInput` naming every field at fault."""
    if isinstance(pasted, str):
        try:
            parsed: Any = json_text.parse(pasted)
        except json.JSONDecodeError as exc:
            raise InvalidInput.field(
                "information", f"The Express Configuration information is not JSON ({exc})"
            ) from exc
    else:
        parsed = pasted
    if not isinstance(parsed, dict):
        raise InvalidInput.field(
            "information", "The Express Configuration information must be a JSON object"
        )
    faults = [
        f"{name}: Property name '{name}' is not recognized"
        for name in parsed
        if name not in INFORMATION_FIELDS
    ]
    information: dict[str, str] = {}
    for name in INFORMATION_FIELDS:
        value = parsed.get(name)
        if value is None or value == "":
            faults.append(f"{name}: The field cannot be left blank")
        elif not isinstance(value, str):
            faults.append(f"{name}: The field must be a string")
        elif len(value) > MAX_INFORMATION_VALUE or "\x00" in value:
            faults.append(f"{name}: The field is at most {MAX_INFORMATION_VALUE} characters")
        else:
            information[name] = value.strip()
    for name, check in (
        ("initiate_login_uri_template", _check_template),
        ("tenant_domain", lambda v: _origin("tenant_domain", v)),
        ("login_domain", lambda v: _origin("login_domain", v)),
    ):
        if name in information:
            try:
                check(information[name])
            except InvalidInput as exc:
                faults.extend(exc.causes)
    if faults:
        first = faults[0].split(":", 1)[0]
        raise InvalidInput(f"Api validation failed: {first}", causes=faults)
    return information


def tenant_url(information: dict[str, Any]) -> str:
    """The tenant's base URL, from its ``tenant_domain``."""
    return _origin("tenant_domain", str(information["tenant_domain"]))


# --- submissions ---------------------------------------------------------------------------


def _check_spec(spec: SubmissionSpec) -> None:
    if spec.name is not None and not spec.name.strip():
        raise InvalidInput.field("name", "The field cannot be left blank")
    if spec.capabilities is not None:
        for capability in spec.capabilities:
            if capability not in CAPABILITIES:
                raise InvalidInput.field(
                    "capabilities", f"{capability!r} is not one of {', '.join(CAPABILITIES)}"
                )
        if OIDC not in spec.capabilities:
            raise InvalidInput.field("capabilities", "An integration must support OIDC")
        if len(set(spec.capabilities)) != len(spec.capabilities):
            raise InvalidInput.field("capabilities", "A capability is named twice")
    if spec.variables is not None:
        names = [v["name"] for v in spec.variables]
        if len(set(names)) != len(names):
            raise InvalidInput.field("variables", "Two variables have the same name")


def _ordered(capabilities: list[str]) -> list[str]:
    return [c for c in CAPABILITIES if c in capabilities]


def create(session: Session, org_id: str, now: datetime, spec: SubmissionSpec) -> OinSubmissionRow:
    if spec.name is None:
        raise InvalidInput.field("name", "The field cannot be left blank")
    _check_spec(spec)
    row = OinSubmissionRow(
        id=ids.okta_id(SUBMISSION_ID_PREFIX, now),
        org_id=org_id,
        name=spec.name.strip(),
        description=spec.description or "",
        capabilities=_ordered(spec.capabilities or [OIDC]),
        variables=list(spec.variables or []),
        express_configuration=None,
        key_id=None,
        key_private_pem_sealed=None,
        key_public_pem=None,
        key_created_at=None,
        status=DRAFT,
        properties=None,
        catalog_key=None,
        published_at=None,
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    session.flush()
    return row


def _check_editable(row: OinSubmissionRow) -> None:
    if row.status == PUBLISHED:
        raise InvalidInput.field(
            "status", "A published integration cannot be changed; submit a new one"
        )


def _changed(row: OinSubmissionRow, now: datetime) -> None:
    """What Finish filled in no longer holds once the submission changes: Finish again."""
    row.status = DRAFT
    row.properties = None
    row.updated_at = now


def update(session: Session, row: OinSubmissionRow, now: datetime, spec: SubmissionSpec) -> None:
    _check_editable(row)
    _check_spec(spec)
    if spec.name is not None:
        row.name = spec.name.strip()
    if spec.description is not None:
        row.description = spec.description
    if spec.capabilities is not None:
        row.capabilities = _ordered(spec.capabilities)
    if spec.variables is not None:
        row.variables = list(spec.variables)
    _changed(row, now)
    session.flush()


def set_express_configuration(
    session: Session, row: OinSubmissionRow, now: datetime, pasted: str | dict[str, Any]
) -> None:
    """*Enable Express Configuration*: the pasted information, checked, replaces any before."""
    _check_editable(row)
    information = parse_information(pasted)
    row.express_configuration = information
    _changed(row, now)
    session.flush()


def generate_key(session: Session, row: OinSubmissionRow, now: datetime, sealer: Sealer) -> bool:
    """A new RSA key pair for the submission, replacing any before (*Reconfigure*); answers
    whether one was replaced. The vendor must upload the new ``.pem`` to its OIN client."""
    replaced = row.key_id is not None
    kid = secrets.token_urlsafe(18)
    key = jose.generate_signing_key(kid, bits=KEY_BITS)
    row.key_id = kid
    row.key_private_pem_sealed = sealer.seal(jose.private_key_to_pem(key))
    row.key_public_pem = public_pem(key)
    row.key_created_at = now
    row.updated_at = now
    session.flush()
    return replaced


def public_pem(key: RSAKey) -> str:
    """The public half as SPKI PEM (``-----BEGIN PUBLIC KEY-----``)."""
    pem = key.as_pem(private=False)
    return pem.decode() if isinstance(pem, bytes) else pem


def key_pem(row: OinSubmissionRow) -> str:
    if row.key_public_pem is None:
        raise NotFound(f"{row.id}/key.pem", "OinSubmissionKey")
    return row.key_public_pem


def missing_for_finish(row: OinSubmissionRow) -> list[str]:
    """What Finish needs and the submission lacks, each as one sentence."""
    missing = []
    if row.express_configuration is None:
        missing.append(
            "express_configuration: Enable Express Configuration with the information "
            "from the tenant's dashboard first"
        )
    if row.key_id is None:
        missing.append("key: Generate the key pair first")
    return missing


def integration_properties(row: OinSubmissionRow) -> dict[str, Any]:
    """What Finish fills in, for the capabilities the submission has."""
    information = row.express_configuration or {}
    tenant = tenant_url(information)
    variables = [dict(v) for v in row.variables]
    properties: dict[str, Any] = {
        "oidc": {
            "redirectUris": [f"{tenant}/login/callback"],
            "initiateLoginUri": information["initiate_login_uri_template"],
        }
    }
    if UNIVERSAL_LOGOUT in row.capabilities:
        properties["universalLogout"] = {
            "globalTokenRevocationEndpoint": (
                f"{tenant}/oauth/global-token-revocation/connection/{{connection_name}}"
            ),
            "authMethod": "SIGNED_JWT",
        }
    if SCIM in row.capabilities:
        properties["scim"] = {
            "baseUrl": f"${{app.{SCIM_BASE_URL_VARIABLE}}}",
            "authMethod": "HEADER_AUTH",
            "authScheme": "Bearer",
        }
        if all(v["name"] != SCIM_BASE_URL_VARIABLE for v in variables):
            variables.append({"name": SCIM_BASE_URL_VARIABLE, "label": "SCIM base URL"})
    properties["variables"] = variables
    return properties


def finish(session: Session, row: OinSubmissionRow, now: datetime) -> None:
    """*Finish*: the integration's properties filled in; refused, naming what is missing,
    until the Express Configuration information and the key are there."""
    _check_editable(row)
    missing = missing_for_finish(row)
    if missing:
        raise InvalidInput("Api validation failed: the integration is incomplete", causes=missing)
    row.properties = integration_properties(row)
    row.status = FINISHED
    row.updated_at = now
    session.flush()


def find(session: Session, org_id: str, submission_id: str) -> OinSubmissionRow:
    """A submission of the integrator org ``org_id``; another org's is simply not found."""
    row = session.scalars(
        select(OinSubmissionRow).where(
            OinSubmissionRow.org_id == org_id, OinSubmissionRow.id == submission_id
        )
    ).first()
    if row is None:
        raise NotFound(submission_id, "OinSubmission")
    return row


def list_statement(org_id: str) -> Select[OinSubmissionRow]:
    return (
        select(OinSubmissionRow)
        .where(OinSubmissionRow.org_id == org_id)
        .order_by(OinSubmissionRow.id)
    )


def signing_key_for(session: Session, submission_id: str, sealer: Sealer) -> RSAKey:
    """The submission's private key, for the Express Configure client's ``private_key_jwt``.

    Never exposed over HTTP: the private key does not leave the workforce side.
    """
    row = session.get(OinSubmissionRow, submission_id)
    if row is None:
        raise NotFound(submission_id, "OinSubmission")
    if row.key_id is None or row.key_private_pem_sealed is None:
        raise InvalidInput.field("key", "The integration has no key pair; generate one")
    return _open_signing_key(row.key_private_pem_sealed, row.key_id, sealer)


@lru_cache(maxsize=64)
def _open_signing_key(sealed_pem: str, key_id: str, sealer: Sealer) -> RSAKey:
    # Reading an RSA private key checks its consistency, about 100 ms of CPU; a sealed key never
    # changes (a new key is a new sealed text), so each process opens each key once.
    return jose.private_key_from_pem(sealer.open(sealed_pem), key_id)


# --- the catalog and app instances ---------------------------------------------------------


def _catalog_key(session: Session, name: str) -> str:
    """A catalog key from the integration's name (``Vendor SaaS`` → ``vendorsaas``), made
    unique across the catalog."""
    base = _CATALOG_KEY_CHARS.sub("", name.lower())[:50] or "integration"
    key, suffix = base, 1
    while session.scalars(
        select(OinSubmissionRow.id).where(OinSubmissionRow.catalog_key == key)
    ).first():
        suffix += 1
        key = f"{base}_{suffix}"
    return key


def publish(session: Session, submission_id: str, now: datetime) -> tuple[OinSubmissionRow, bool]:
    """Publish a finished submission to the catalog (the operator's review); answers whether
    anything changed, since publishing twice is harmless."""
    row = session.get(OinSubmissionRow, submission_id)
    if row is None:
        raise NotFound(submission_id, "OinSubmission")
    if row.status == PUBLISHED:
        return row, False
    if row.status != FINISHED:
        raise InvalidInput.field("status", "Only a finished integration can be published")
    row.catalog_key = _catalog_key(session, row.name)
    row.status = PUBLISHED
    row.published_at = now
    row.updated_at = now
    session.flush()
    return row, True


def publish_by_operator(
    session: Session, submission_id: str, now: datetime
) -> tuple[OinSubmissionRow, bool]:
    """:func:`publish`, as the operator's review does it, recorded in the integrator org's
    System Log."""
    row, changed = publish(session, submission_id, now)
    if changed:
        system_log.record(
            session,
            row.org_id,
            now,
            system_log.Event(
                "oin.submission.publish",
                "Publish OIN submission to the catalog",
                system_log.SYSTEM,
                [system_log.Party(row.id, "OinSubmission", row.catalog_key, row.name)],
            ),
        )
    return row, changed


def catalog_statement() -> Select[OinSubmissionRow]:
    return (
        select(OinSubmissionRow)
        .where(OinSubmissionRow.status == PUBLISHED)
        .order_by(OinSubmissionRow.catalog_key)
    )


def find_in_catalog(session: Session, catalog_key: str) -> OinSubmissionRow:
    row = session.scalars(
        select(OinSubmissionRow).where(
            OinSubmissionRow.catalog_key == catalog_key, OinSubmissionRow.status == PUBLISHED
        )
    ).first()
    if row is None:
        raise NotFound(catalog_key, "CatalogApp")
    return row


def instance_name(row: OinSubmissionRow) -> str:
    """The ``name`` of the submission's instances: its catalog key, or for a test instance
    made before publication a name of its own."""
    return row.catalog_key or f"oin_test_{row.id}"


def add_instance(
    session: Session,
    org_id: str,
    now: datetime,
    row: OinSubmissionRow,
    label: str | None,
    secret_sealer: Sealer,
) -> tuple[AppRow, str | None]:
    """An app instance of the integration in ``org_id``: an OIDC client of the org with its
    own secret (shown once) and the tenant's callback as its redirect URI."""
    if row.status not in (FINISHED, PUBLISHED) or row.properties is None:
        raise InvalidInput.field("status", "Finish the integration before adding an instance")
    chosen = (label if label is not None else row.name).strip()
    if not chosen:
        raise InvalidInput.field("label", "The field cannot be left blank")
    spec = apps.AppSpec(
        name=instance_name(row),
        label=chosen,
        sign_on_mode=apps.OPENID_CONNECT,
        settings={
            "app": {},
            "oauthClient": {
                "redirect_uris": list(row.properties["oidc"]["redirectUris"]),
                "grant_types": ["authorization_code"],
                "response_types": ["code"],
                "application_type": "web",
            },
        },
        token_endpoint_auth_method="client_secret_basic",
    )
    return apps.create_oin_instance(session, org_id, now, spec, row.id, secret_sealer)


def express_configure_actions(row: OinSubmissionRow) -> dict[str, Any]:
    """The Express Configure actions an instance of the integration offers: *SSO & UL* in its
    Sign On section, *SCIM* in its Provisioning section when the integration supports SCIM."""
    return {
        "sso": {"available": True, "universalLogout": UNIVERSAL_LOGOUT in row.capabilities},
        "scim": {"available": SCIM in row.capabilities},
    }
