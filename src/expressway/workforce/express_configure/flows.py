"""Express Configure SSO & UL and Express Configure SCIM (SPEC §4), as a flow record per attempt.

1. :func:`start` checks that the instance's integration is complete (Express Configuration
   information, key, Finish) and answers the tenant's ``/authorize`` URL with a fresh ``state``,
   PKCE S256 challenge and ``nonce``; an incomplete one fails at once, before any redirect.
2. :func:`claim` takes the tenant's redirect back by its ``state``, once.
3. :func:`run` exchanges the code (``private_key_jwt`` signed by the integration's key) and calls
   the tenant's Express Configuration API; it does no database work, so no transaction is held
   open while the tenant is called.
4. :func:`finish` records the outcome, and on success what the tenant set up, on the instance.

Every step leaves a System Log event carrying the flow's id, so one attempt can be followed.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode, urlsplit

from joserfc.jwk import RSAKey
from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from expressway import hashing, jose
from expressway.oauth import express_configuration as contract
from expressway.oauth.pkce import S256, s256_challenge
from expressway.workforce import ids, system_log
from expressway.workforce.errors import NotFound
from expressway.workforce.express_configure.tenant_client import (
    TenantClient,
    TenantRefused,
    TenantUnreachable,
)
from expressway.workforce.rows import (
    AppRow,
    ExpressConfigureFlowRow,
    OinSubmissionRow,
    OrgRow,
    UserRow,
)
from expressway.workforce.runtime import WorkforceRuntime
from expressway.workforce.services import oin

SSO = "sso"
SCIM = "scim"
KINDS = (SSO, SCIM)
PENDING = "PENDING"
SUCCEEDED = "SUCCEEDED"
FAILED = "FAILED"

FLOW_ID_PREFIX = "0ec"
CALLBACK_PATH = "/admin/app/generic/oauth20redirect"
#: How long the admin has to get through the tenant's login and consent pages.
FLOW_LIFETIME = timedelta(minutes=10)
#: RFC 7523 assertions are single-use; the tenant refuses any that lives over five minutes.
ASSERTION_LIFETIME_SECONDS = 120
LOCAL_HOSTS = ("localhost", "127.0.0.1")
SCOPES = {SSO: contract.SSO_PERMISSION, SCIM: contract.SCIM_PERMISSION}
#: The tenant's own words, when it named no cause of SPEC §4.1.
GENERIC_REMEDIATION = (
    "Retry; if it fails again, contact Okta support with this attempt's flow id, which every "
    "System Log event of the attempt carries."
)


class UnknownState(Exception):
    """The ``state`` of a redirect names no flow waiting for one: unknown, used or expired."""


def domain_url(value: str) -> str:
    """The base URL a domain of the Express Configuration information names: a full URL as
    given, or ``host[:port]`` over HTTPS (HTTP only for a local tenant)."""
    given = value.strip().rstrip("/")
    if "://" in given:
        return given
    host = urlsplit(f"//{given}").hostname or ""
    scheme = "http" if host in LOCAL_HOSTS else "https"
    return f"{scheme}://{given}"


def login_url(information: dict[str, Any]) -> str:
    return domain_url(str(information["login_domain"]))


def tenant_url(information: dict[str, Any]) -> str:
    """Where the token endpoint and the Express Configuration API are: the tenant's own domain
    (the login domain may be a custom domain in front of it)."""
    return domain_url(str(information.get("tenant_domain") or information["login_domain"]))


def callback_url(runtime: WorkforceRuntime) -> str:
    return f"{runtime.base_url}{CALLBACK_PATH}"


def _party(flow: ExpressConfigureFlowRow) -> system_log.Party:
    return system_log.Party(
        flow.id, "ExpressConfigureFlow", flow.kind, f"Express Configure {flow.kind.upper()}"
    )


@dataclass(frozen=True)
class Step:
    """One System Log event of a flow, made while no transaction is open."""

    event_type: str
    message: str
    at: datetime
    debug: dict[str, Any] = field(default_factory=dict)
    failure: str | None = None


def _record(
    session: Session,
    flow: ExpressConfigureFlowRow,
    step: Step,
    client: system_log.Client,
) -> None:
    actor = session.get(UserRow, flow.actor_id)
    app = session.get(AppRow, flow.app_id)
    targets = [_party(flow)] + ([system_log.Party.of_app(app)] if app is not None else [])
    system_log.record(
        session,
        flow.org_id,
        step.at,
        system_log.Event(
            event_type=step.event_type,
            display_message=step.message,
            actor=system_log.Party.of_user(actor) if actor is not None else system_log.SYSTEM,
            targets=targets,
            outcome=(
                system_log.Outcome("FAILURE", step.failure)
                if step.failure is not None
                else system_log.Outcome()
            ),
            severity="WARN" if step.failure is not None else "INFO",
            client=client,
            debug_data={"flowId": flow.id, "kind": flow.kind, **step.debug},
        ),
    )


# --- 1. start --------------------------------------------------------------------------------


def prerequisites(
    session: Session, app: AppRow, kind: str
) -> tuple[OinSubmissionRow | None, list[str]]:
    """The instance's integration, and what it lacks for ``kind``, one sentence each."""
    if app.oin_submission_id is None:
        return None, ["The app instance was not added from an OIN integration"]
    submission = session.get(OinSubmissionRow, app.oin_submission_id)
    if submission is None:
        return None, ["The app instance's OIN integration no longer exists"]
    missing = []
    if submission.status not in (oin.FINISHED, oin.PUBLISHED):
        missing.append("The integration is not finished")
    if submission.express_configuration is None:
        missing.append("The integration has no Express Configuration information")
    if submission.key_id is None or submission.key_private_pem_sealed is None:
        missing.append("The integration has no key pair")
    if kind == SCIM and oin.SCIM not in submission.capabilities:
        missing.append("The integration does not support SCIM")
    if kind == SSO and app.client_secret_sealed is None:
        missing.append("The app instance has no client secret to hand to the tenant")
    return submission, missing


def _fail_incomplete(
    session: Session,
    flow: ExpressConfigureFlowRow,
    missing: list[str],
    now: datetime,
    client: system_log.Client,
    event_type: str,
) -> None:
    flow.status = FAILED
    flow.causes = [contract.EXPRESS_CONFIGURATION_INCOMPLETE]
    flow.finished_at = now
    flow.result = {"missing": missing}
    _record(
        session,
        flow,
        Step(
            event_type,
            "Express Configure failed: the integration is incomplete",
            now,
            {"missing": missing},
            failure=contract.EXPRESS_CONFIGURATION_INCOMPLETE,
        ),
        client,
    )
    session.flush()


def start(
    session: Session,
    runtime: WorkforceRuntime,
    org: OrgRow,
    app: AppRow,
    kind: str,
    actor: UserRow,
    client: system_log.Client,
) -> tuple[ExpressConfigureFlowRow, str | None]:
    """A new flow and the tenant's ``/authorize`` URL to send the admin to; a flow that cannot
    start is answered FAILED with ``express_configuration_incomplete`` and no URL."""
    now = runtime.clock.now()
    state = secrets.token_urlsafe(32)
    verifier = secrets.token_urlsafe(48)
    flow = ExpressConfigureFlowRow(
        id=ids.okta_id(FLOW_ID_PREFIX, now),
        org_id=org.id,
        app_id=app.id,
        actor_id=actor.id,
        kind=kind,
        state_hash=hashing.hash_token(state),
        code_verifier_sealed=runtime.secret_sealer.seal(verifier.encode()),
        nonce=secrets.token_urlsafe(24),
        status=PENDING,
        causes=[],
        result={},
        created_at=now,
        used_at=None,
        finished_at=None,
    )
    session.add(flow)
    session.flush()
    submission, missing = prerequisites(session, app, kind)
    if missing or submission is None or submission.express_configuration is None:
        _fail_incomplete(session, flow, missing, now, client, "app.express_configure.start")
        return flow, None
    information = submission.express_configuration
    query = urlencode(
        {
            "response_type": "code",
            "client_id": information["oin_client_id"],
            "redirect_uri": callback_url(runtime),
            "audience": contract.EXPRESS_CONFIGURE_AUDIENCE,
            "scope": f"openid {SCOPES[kind]}",
            "state": state,
            "code_challenge": s256_challenge(verifier),
            "code_challenge_method": S256,
            "nonce": flow.nonce,
        }
    )
    authorize_url = f"{login_url(information)}/authorize?{query}"
    _record(
        session,
        flow,
        Step(
            "app.express_configure.start",
            "Express Configure started: admin sent to the tenant",
            now,
            {"authorizeEndpoint": f"{login_url(information)}/authorize"},
        ),
        client,
    )
    session.flush()
    return flow, authorize_url


# --- 2. claim the redirect ---------------------------------------------------------------------


@dataclass(frozen=True)
class Attempt:
    """What the tenant calls need, read from the database before any of them is made."""

    flow_id: str
    kind: str
    nonce: str
    code_verifier: str
    oin_client_id: str
    tenant: str
    key: RSAKey
    issuer: str
    app_client_id: str
    app_client_secret: str | None
    universal_logout: bool


#: The flows' lookups, built once (building a ``select`` costs more than SQLite running it): by
#: the ``state`` of its sign-in, locked until the callback commits, and by id within an instance.
_FLOW_BY_STATE = (
    select(ExpressConfigureFlowRow)
    .where(ExpressConfigureFlowRow.state_hash == bindparam("state_hash"))
    .with_for_update()
)
_FLOW_OF_APP = select(ExpressConfigureFlowRow).where(
    ExpressConfigureFlowRow.id == bindparam("flow_id"),
    ExpressConfigureFlowRow.org_id == bindparam("org_id"),
    ExpressConfigureFlowRow.app_id == bindparam("app_id"),
)


def claim(
    session: Session,
    runtime: WorkforceRuntime,
    state: str,
    client: system_log.Client,
) -> tuple[ExpressConfigureFlowRow, Attempt | None]:
    """The flow ``state`` belongs to, marked used: it must be pending, unused and young. Commit
    before calling the tenant, so a replayed ``state`` finds the flow used. No attempt when the
    integration changed meanwhile and is no longer complete: the flow has then failed."""
    now = runtime.clock.now()
    flow = session.scalars(_FLOW_BY_STATE, {"state_hash": hashing.hash_token(state)}).first()
    if (
        flow is None
        or flow.used_at is not None
        or flow.status != PENDING
        or now - flow.created_at > FLOW_LIFETIME
    ):
        raise UnknownState()
    flow.used_at = now
    _record(
        session,
        flow,
        Step(
            "app.express_configure.callback", "Express Configure: the tenant redirected back", now
        ),
        client,
    )
    app = session.get(AppRow, flow.app_id)
    org = session.get(OrgRow, flow.org_id)
    if app is None or org is None:
        raise UnknownState()
    submission, missing = prerequisites(session, app, flow.kind)
    if missing or submission is None or submission.express_configuration is None:
        _fail_incomplete(session, flow, missing, now, client, "app.express_configure.fail")
        return flow, None
    information = submission.express_configuration
    secret = (
        runtime.secret_sealer.open(app.client_secret_sealed).decode()
        if app.client_secret_sealed is not None
        else None
    )
    attempt = Attempt(
        flow_id=flow.id,
        kind=flow.kind,
        nonce=flow.nonce,
        code_verifier=runtime.secret_sealer.open(flow.code_verifier_sealed).decode(),
        oin_client_id=str(information["oin_client_id"]),
        tenant=tenant_url(information),
        key=oin.signing_key_for(session, submission.id, runtime.key_sealer),
        issuer=runtime.org_url(org.name),
        app_client_id=app.client_id or app.id,
        app_client_secret=secret,
        universal_logout=oin.UNIVERSAL_LOGOUT in submission.capabilities,
    )
    session.flush()
    return flow, attempt


# --- 3. talk to the tenant ---------------------------------------------------------------------


@dataclass
class Outcome:
    status: str
    causes: list[str]
    #: What the flow answers: the tenant's answer without secrets, or its error.
    result: dict[str, Any]
    #: What the instance keeps (secrets sealed); only on success.
    configuration: dict[str, Any] | None
    steps: list[Step]


def client_assertion(attempt: Attempt, now: datetime) -> str:
    """A ``private_key_jwt`` assertion (RFC 7523 §3): ``iss`` = ``sub`` = the OIN client,
    ``aud`` the tenant's issuer, a short life, and a ``jti`` never used again."""
    issued = int(now.timestamp())
    claims = {
        "iss": attempt.oin_client_id,
        "sub": attempt.oin_client_id,
        "aud": f"{attempt.tenant}/",
        "iat": issued,
        "exp": issued + ASSERTION_LIFETIME_SECONDS,
        "jti": secrets.token_urlsafe(24),
    }
    return jose.sign_jwt(claims, attempt.key)


def _id_token_nonce(id_token: str) -> Any:
    """The ``nonce`` of an ID token received straight from the tenant's token endpoint over TLS,
    which OpenID Connect Core §3.1.3.7 lets stand in for checking its signature."""
    try:
        return jose.peek_claims(id_token).get("nonce")
    except jose.JoseFailure:
        return None


def _known(causes: list[str]) -> list[str]:
    return contract.ordered(causes)


def causes_of_redirect(params: dict[str, str]) -> list[str]:
    """The causes the tenant's error redirect names: its ``error_cause`` when it sent one;
    otherwise a refused consent page is told by ``access_denied`` and its description."""
    named = _known(params.get("error_cause", "").split())
    if named:
        return named
    description = params.get("error_description", "").lower()
    if params.get("error") == "access_denied" and "consent" in description:
        return [contract.CONSENT_DENIED]
    return []


def _failed(
    steps: list[Step], causes: list[str], error: str, description: str, now: datetime
) -> Outcome:
    steps.append(
        Step(
            "app.express_configure.fail",
            "Express Configure failed",
            now,
            {"causes": causes, "error": error, "errorDescription": description},
            failure=" ".join(causes) or error,
        )
    )
    return Outcome(FAILED, causes, {"error": error, "error_description": description}, None, steps)


def _refused(steps: list[Step], exc: TenantRefused, now: datetime) -> Outcome:
    return _failed(steps, _known(exc.causes), exc.error, exc.description, now)


def _unreachable(steps: list[Step], exc: TenantUnreachable, now: datetime) -> Outcome:
    return _failed(steps, [contract.TENANT_UNREACHABLE], "tenant_unreachable", str(exc), now)


def run(runtime: WorkforceRuntime, attempt: Attempt, params: dict[str, str]) -> Outcome:
    """The rest of the flow after the tenant's redirect: no database work, only HTTP."""
    with TenantClient(attempt.tenant, runtime.tenant_http) as tenant:
        return _run(runtime, tenant, attempt, params)


def _run(
    runtime: WorkforceRuntime, tenant: TenantClient, attempt: Attempt, params: dict[str, str]
) -> Outcome:
    clock = runtime.clock
    steps: list[Step] = []
    if "error" in params or "code" not in params:
        error = params.get("error", "invalid_request")
        description = params.get(
            "error_description", "The tenant's redirect carried neither a code nor an error"
        )
        return _failed(steps, causes_of_redirect(params), error, description, clock.now())

    try:
        tokens = tenant.exchange_code(
            code=params["code"],
            code_verifier=attempt.code_verifier,
            redirect_uri=callback_url(runtime),
            client_id=attempt.oin_client_id,
            assertion=client_assertion(attempt, clock.now()),
        )
    except TenantRefused as exc:
        steps.append(
            Step(
                "app.express_configure.token",
                "Express Configure: code exchange refused",
                clock.now(),
                {"status": exc.status, "error": exc.error},
                failure=exc.error,
            )
        )
        return _refused(steps, exc, clock.now())
    except TenantUnreachable as exc:
        steps.append(
            Step(
                "app.express_configure.token",
                "Express Configure: the tenant did not answer",
                clock.now(),
                {"detail": str(exc)},
                failure=contract.TENANT_UNREACHABLE,
            )
        )
        return _unreachable(steps, exc, clock.now())
    access_token = tokens.get("access_token")
    id_token = tokens.get("id_token")
    if not isinstance(access_token, str) or (
        isinstance(id_token, str)
        and not hmac.compare_digest(str(_id_token_nonce(id_token)), attempt.nonce)
    ):
        steps.append(
            Step(
                "app.express_configure.token",
                "Express Configure: unusable token response",
                clock.now(),
                failure="invalid_token_response",
            )
        )
        return _failed(
            steps,
            [],
            "invalid_token_response",
            "The tenant's token response lacks an access token or its ID token's nonce differs",
            clock.now(),
        )
    steps.append(
        Step(
            "app.express_configure.token",
            "Express Configure: code exchanged for a token",
            clock.now(),
            {"scope": tokens.get("scope")},
        )
    )

    # SCIM names the issuer too, so that an organization with several IdPs gets it on ours.
    body: dict[str, Any] = {"issuer": attempt.issuer}
    if attempt.kind == SSO:
        body = {
            "issuer": attempt.issuer,
            "client_id": attempt.app_client_id,
            "client_secret": attempt.app_client_secret,
            "universal_logout": attempt.universal_logout,
        }
    endpoint = f"/express-configure/v1/{attempt.kind}"
    try:
        answer = tenant.express_configure(attempt.kind, access_token, body)
    except TenantRefused as exc:
        steps.append(
            Step(
                "app.express_configure.api",
                "Express Configure: the tenant's API refused",
                clock.now(),
                {"endpoint": endpoint, "status": exc.status, "causes": exc.causes},
                failure=exc.error,
            )
        )
        return _refused(steps, exc, clock.now())
    except TenantUnreachable as exc:
        steps.append(
            Step(
                "app.express_configure.api",
                "Express Configure: the tenant did not answer",
                clock.now(),
                {"endpoint": endpoint, "detail": str(exc)},
                failure=contract.TENANT_UNREACHABLE,
            )
        )
        return _unreachable(steps, exc, clock.now())
    result, configuration = _kept(runtime, attempt.kind, answer, clock.now())
    steps.append(
        Step(
            "app.express_configure.api",
            "Express Configure: the tenant's API answered",
            clock.now(),
            {"endpoint": endpoint, "result": result},
        )
    )
    steps.append(
        Step(
            "app.express_configure.succeed",
            "Express Configure succeeded",
            clock.now(),
            {"result": result},
        )
    )
    return Outcome(SUCCEEDED, [], result, configuration, steps)


def _string(answer: dict[str, Any], name: str) -> str | None:
    value = answer.get(name)
    return value if isinstance(value, str) else None


def _object(answer: dict[str, Any], name: str) -> dict[str, Any]:
    value = answer.get(name)
    return value if isinstance(value, dict) else {}


def _kept(
    runtime: WorkforceRuntime, kind: str, answer: dict[str, Any], now: datetime
) -> tuple[dict[str, Any], dict[str, Any]]:
    """What the flow shows, and what the instance keeps (the SCIM token sealed, and only there)."""
    if kind == SSO:
        connection = _object(answer, "connection")
        organization = _object(answer, "organization")
        aliases = answer.get("domain_aliases")
        result = {
            "connection": {"id": connection.get("id"), "name": connection.get("name")},
            "organization": {"id": organization.get("id"), "name": organization.get("name")},
            "redirect_uri": _string(answer, "redirect_uri"),
            "initiate_login_uri": _string(answer, "initiate_login_uri"),
            "global_token_revocation_endpoint": _string(answer, "global_token_revocation_endpoint"),
            "domain_aliases": [a for a in aliases if isinstance(a, str)]
            if isinstance(aliases, list)
            else [],
        }
        return result, {**result, "configured_at": now.isoformat()}
    token = _string(answer, "token")
    result = {
        "scim_base_url": _string(answer, "scim_base_url"),
        "token_id": _string(answer, "token_id"),
        "valid_until": answer.get("valid_until"),
    }
    sealed = runtime.secret_sealer.seal(token.encode()) if token is not None else None
    return result, {**result, "token_sealed": sealed, "configured_at": now.isoformat()}


# --- 4. record ---------------------------------------------------------------------------------


def finish(
    session: Session,
    flow_id: str,
    outcome: Outcome,
    now: datetime,
    client: system_log.Client,
) -> ExpressConfigureFlowRow:
    flow = session.get(ExpressConfigureFlowRow, flow_id)
    if flow is None:
        raise NotFound(flow_id, "ExpressConfigureFlow")
    flow.status = outcome.status
    flow.causes = outcome.causes
    flow.result = outcome.result
    flow.finished_at = now
    if outcome.configuration is not None:
        app = session.get(AppRow, flow.app_id)
        if app is not None:
            app.express_configuration = {
                **app.express_configuration,
                flow.kind: outcome.configuration,
            }
            app.updated_at = now
    for step in outcome.steps:
        _record(session, flow, step, client)
    session.flush()
    return flow


# --- reading a flow ----------------------------------------------------------------------------


def find(session: Session, org_id: str, app_id: str, flow_id: str) -> ExpressConfigureFlowRow:
    """A flow of the org's instance; another org's is simply not found."""
    flow = session.scalars(
        _FLOW_OF_APP, {"flow_id": flow_id, "org_id": org_id, "app_id": app_id}
    ).first()
    if flow is None:
        raise NotFound(flow_id, "ExpressConfigureFlow")
    return flow


def failure_body(flow: ExpressConfigureFlowRow) -> dict[str, Any]:
    """The SPEC §4.1 403 body of a failed flow. When the tenant refused without naming any cause
    of the contract, its own error is listed, so the admin still learns what it said."""
    body = contract.error_body(flow.causes)
    if not body["errorCauses"]:
        error = str(flow.result.get("error") or "unknown_error")
        description = str(flow.result.get("error_description") or "")
        body["errorCauses"] = [
            {
                "errorSummary": description or f"The tenant answered {error}.",
                "reason": error,
                "remediation": GENERIC_REMEDIATION,
            }
        ]
    return body
