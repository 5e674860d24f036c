"""Universal Login's state machine: from a checked authorization request to the redirect that
carries a code (or an error) back to the client.

A login is an :class:`AuthorizationRequestRow` (the transaction) moving through these steps, each
of which either answers a page of its own or hands over to the next:

1. organization prompt, when the client requires an organization and asks for it first;
2. authentication: a live session, the identifier page (with Home Realm Discovery), the password
   page, or an upstream IdP (``start_upstream_login``), which all end in
   :func:`complete_authentication`;
3. organization: picking one of the user's organizations (post-login prompt), then membership;
4. consent;
5. the code.

Functions here never commit; the route that called them does, before it answers (except
:func:`complete_authentication`, which the federation routes call, and which commits).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session
from starlette.responses import RedirectResponse, Response

from expressway.oauth.errors import AccessDenied, InvalidRequest, OAuthError
from expressway.oauth.redirect_uris import with_query_parameters
from expressway.tenant import logs
from expressway.tenant.authn.authorize_params import (
    ConsentRequired,
    InteractionRequired,
    LoginRequired,
)
from expressway.tenant.authn.login_rendering import transaction_gone_page
from expressway.tenant.rows import (
    AuthorizationRequestRow,
    ClientRow,
    ConnectionClientRow,
    ConnectionDomainAliasRow,
    ConnectionRow,
    LoginSessionRow,
    OrganizationConnectionRow,
    OrganizationMemberRow,
    OrganizationRow,
    UserRow,
)
from expressway.tenant.runtime import TenantRuntime
from expressway.tenant.services import (
    consents,
    login_sessions,
    organizations,
    resource_servers,
    users,
)
from expressway.tenant.services import express_configuration_causes as causes
from expressway.tenant.services.authorization_codes import issue_code
from expressway.web.cookies import set_session_cookie
from expressway.web.csrf import csrf_tokens_match

TRANSACTION_LIFETIME = timedelta(hours=1)
DATABASE_STRATEGY = "auth0"
ENTERPRISE_STRATEGIES = ("okta", "oidc")
DEFAULT_DATABASE_CONNECTION = "Username-Password-Authentication"


class TransactionGone(Exception):
    """The login a page belongs to is unknown, over, older than its lifetime, or was started
    in another browser."""


def transaction_cookie_name(txn: AuthorizationRequestRow) -> str:
    return f"expressway_tenant_tx_{txn.id[:16]}"


def bind_to_browser(
    response: Response, runtime: TenantRuntime, txn: AuthorizationRequestRow
) -> None:
    """Tie the transaction to the browser that started it at ``/authorize``.

    Without this, someone who starts a login in their own browser and sends the page (or their
    upstream IdP's callback) to a victim gets the victim's browser signed in to *their* account:
    login CSRF. The cookie holds the transaction's anti-CSRF token, which only pages of this
    transaction ever show.
    """
    set_session_cookie(
        response,
        transaction_cookie_name(txn),
        txn.csrf_token,
        secure=runtime.settings.tenant_issuer.startswith("https://"),
        max_age=int(TRANSACTION_LIFETIME.total_seconds()),
    )


def is_bound_to(request: Request, txn: AuthorizationRequestRow) -> bool:
    return csrf_tokens_match(txn.csrf_token, request.cookies.get(transaction_cookie_name(txn)))


def load_transaction(session: Session, now: datetime, state: str | None) -> AuthorizationRequestRow:
    if not state or len(state) > 64:
        raise TransactionGone
    txn = session.get(AuthorizationRequestRow, state)
    if txn is None or txn.completed_at is not None or txn.expires_at <= now:
        raise TransactionGone
    return txn


@dataclass
class Login:
    """One step of a login: the request being answered and the transaction it continues."""

    runtime: TenantRuntime
    session: Session
    request: Request
    txn: AuthorizationRequestRow
    client: ClientRow

    @classmethod
    def of(
        cls,
        runtime: TenantRuntime,
        session: Session,
        request: Request,
        txn: AuthorizationRequestRow,
    ) -> Login:
        client = session.get(ClientRow, txn.client_id)
        if client is None or not is_bound_to(request, txn):
            raise TransactionGone
        return cls(runtime, session, request, txn, client)

    @property
    def now(self) -> datetime:
        return self.runtime.clock.now()

    @property
    def params(self) -> dict[str, Any]:
        return self.txn.params

    @property
    def scopes(self) -> list[str]:
        return [scope for scope in self.params.get("scope", []) if isinstance(scope, str)]

    @property
    def audience(self) -> str | None:
        audience = self.params.get("audience")
        return audience if isinstance(audience, str) else None

    @property
    def interactive(self) -> bool:
        return "none" not in self.params.get("prompt", [])

    def remember(self, **values: Any) -> None:
        # A new dict, since the JSON column notices assignment only.
        self.txn.params = {**self.txn.params, **values}


# --- Answers ---


def page_redirect(path: str, txn: AuthorizationRequestRow) -> RedirectResponse:
    # 303: the browser follows with a GET, never re-posting a password (RFC 9700 §4.12).
    return RedirectResponse(f"{path}?{urlencode({'state': txn.id})}", status_code=303)


def error_redirect_url(
    issuer: str, redirect_uri: str, state: str | None, error: OAuthError, error_cause: str | None
) -> str:
    own = set(error.cause.split()) if error.cause else set()
    others = [cause for cause in (error_cause or "").split() if cause not in own]
    description = error.description
    if others:
        # The description reads on its own, without the table of cause codes.
        description = f"{description}. Also: {causes.describe(others)}"
    return with_query_parameters(
        redirect_uri,
        {
            "error": error.error,
            "error_description": description,
            "error_cause": error_cause,
            "state": state,
            # RFC 9207: names who answers, against mix-up attacks.
            "iss": issuer,
        },
    )


def record(
    login: Login,
    type: str,
    description: str,
    *,
    user: UserRow | None = None,
    user_name: str | None = None,
    connection: str | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """A login event, with the client, user, organization and connection of the transaction."""
    organization = (
        login.session.get(OrganizationRow, login.txn.organization_id)
        if login.txn.organization_id
        else None
    )
    connection = connection or login.txn.connection
    connection_row = find_connection(login.session, connection) if connection else None
    if user is None and login.txn.user_id:
        user = login.session.get(UserRow, login.txn.user_id)
    logs.record(
        login.session,
        at=login.now,
        type=type,
        description=description,
        client_id=login.client.client_id,
        client_name=login.client.name,
        user_id=user.user_id if user else None,
        user_name=(user.email or user.name) if user else user_name,
        connection=connection,
        connection_id=connection_row.id if connection_row else None,
        organization_id=organization.id if organization else None,
        organization_name=organization.name if organization else None,
        ip=login.request.client.host if login.request.client else None,
        user_agent=login.request.headers.get("user-agent"),
        details=details,
    )


#: Built once, as the session's own reads by key are (:class:`~expressway.storage.engine.
#: HoldingSession`): building a ``select`` costs more than SQLite running it.
_CONNECTION_BY_NAME = select(ConnectionRow).where(ConnectionRow.name == bindparam("name"))


def find_connection(session: Session, name: str) -> ConnectionRow | None:
    # A login step looks its connection up by name more than once (the password's check, then
    # the event it records); the session holds what it read, so the second look is a dictionary
    # walk, not a query.
    for row in session.identity_map.values():
        if isinstance(row, ConnectionRow) and row.name == name and row not in session.deleted:
            return row
    return session.scalars(_CONNECTION_BY_NAME, {"name": name}).first()


def express_configuration_error_cause(
    session: Session,
    error: OAuthError,
    *,
    client: ClientRow,
    audience: str | None,
    scopes: list[str],
    organization_given: bool,
    user_id: str | None = None,
    organization_id: str | None = None,
) -> str | None:
    """The ``error_cause`` of an error: its own cause and, when it has one in an Express
    Configuration login, every other cause the tenant can see at this point (SPEC §4.1), so that
    the admin fixes them all before the next try."""
    found = error.cause.split() if error.cause else []
    if found and causes.is_express_configuration_login(client, audience):
        found += causes.visible_causes(
            session,
            client=client,
            audience=audience,
            scopes=scopes,
            organization_given=organization_given,
            user_id=user_id,
            organization_id=organization_id,
        )
    return " ".join(causes.ordered(found)) or None


def fail(login: Login, error: OAuthError) -> RedirectResponse:
    """End the login and send the client ``error``."""
    error_cause = express_configuration_error_cause(
        login.session,
        error,
        client=login.client,
        audience=login.audience,
        scopes=login.scopes,
        organization_given=login.params.get("organization") is not None,
        user_id=login.txn.user_id,
        organization_id=login.txn.organization_id,
    )
    login.txn.completed_at = login.now
    record(
        login,
        "f",
        error.description,
        details={"error": error.error, "error_cause": error_cause},
    )
    url = error_redirect_url(
        login.runtime.settings.tenant_issuer,
        login.txn.redirect_uri,
        _text(login.params.get("state")),
        error,
        error_cause,
    )
    return RedirectResponse(url, status_code=303)


# --- Step 1 and 2: before the user is known ---


def needs_organization_prompt(login: Login) -> bool:
    return (
        login.txn.organization_id is None
        and login.client.organization_usage == "require"
        and login.client.organization_require_behavior == "pre_login_prompt"
    )


def advance(login: Login) -> Response:
    """The next step of a login from wherever it stands."""
    if needs_organization_prompt(login):
        if not login.interactive:
            return fail(login, InteractionRequired("the user must choose an organization"))
        return page_redirect("/u/organization", login.txn)
    if login.txn.user_id is None:
        if not login.interactive:
            return fail(login, LoginRequired("the user is not signed in"))
        return start_authentication(login)
    return continue_login(login)


def start_authentication(login: Login) -> Response:
    """The first page of authentication, or straight to the connection the request named."""
    name = login.params.get("connection")
    if isinstance(name, str):
        connection = find_connection(login.session, name)
        if connection is not None and connection.strategy in ENTERPRISE_STRATEGIES:
            return start_upstream(login, connection)
        return page_redirect("/u/login/password", login.txn)
    return page_redirect("/u/login/identifier", login.txn)


def is_enterprise_connection_usable(login: Login, connection: ConnectionRow) -> bool:
    """Enabled for the client, and in an organization login, enabled on the organization."""
    if connection.strategy not in ENTERPRISE_STRATEGIES:
        return False
    if login.session.get(ConnectionClientRow, (connection.id, login.client.client_id)) is None:
        return False
    organization_id = login.txn.organization_id
    return organization_id is None or (
        login.session.get(OrganizationConnectionRow, (organization_id, connection.id)) is not None
    )


def start_upstream(login: Login, connection: ConnectionRow) -> Response:
    if not is_enterprise_connection_usable(login, connection):
        where = "organization" if login.txn.organization_id else "application"
        return fail(
            login,
            InvalidRequest(f"the connection {connection.name} is not enabled for this {where}"),
        )
    # Imported here: federation imports this module for complete_authentication.
    from expressway.tenant.authn.federation import start_upstream_login

    login.txn.connection = connection.name
    try:
        url = start_upstream_login(login.runtime, login.session, login.txn, connection)
    except OAuthError as error:
        return fail(login, error)
    return RedirectResponse(url, status_code=303)


# The enterprise connections a login may use are those enabled for its client and, in an
# organization's login, on that organization. A SaaS vendor's tenant holds one for each customer
# that ran Express Configuration, most of them enabled for the same application: each lookup
# below starts from what picks out few rows (the e-mail's domain, the organization, the
# connections shown as buttons), through an index, and checks the client and the organization
# of those few. Written as joins, SQLite's planner, which has no statistics, started from the
# client's thousands of enabled connections instead.
_ENTERPRISE = ConnectionRow.strategy.in_(ENTERPRISE_STRATEGIES)
_ENABLED_FOR_CLIENT = (
    select(ConnectionClientRow.connection_id)
    .where(
        ConnectionClientRow.connection_id == ConnectionRow.id,
        ConnectionClientRow.client_id == bindparam("client_id"),
    )
    .exists()
)
_ON_ORGANIZATION = (
    select(OrganizationConnectionRow.connection_id)
    .where(
        OrganizationConnectionRow.connection_id == ConnectionRow.id,
        OrganizationConnectionRow.organization_id == bindparam("organization_id"),
    )
    .exists()
)
_BUTTONS = (
    select(ConnectionRow)
    .where(ConnectionRow.show_as_button.is_(True), _ENTERPRISE, _ENABLED_FOR_CLIENT)
    .order_by(ConnectionRow.name)
)
_BUTTONS_IN_ORGANIZATION = (
    select(ConnectionRow)
    .join(OrganizationConnectionRow, OrganizationConnectionRow.connection_id == ConnectionRow.id)
    .where(
        OrganizationConnectionRow.organization_id == bindparam("organization_id"),
        OrganizationConnectionRow.show_as_button.is_(True),
        _ENTERPRISE,
        _ENABLED_FOR_CLIENT,
    )
    .order_by(ConnectionRow.name)
)
_CLAIMING_DOMAIN = (
    select(ConnectionRow)
    .join(ConnectionDomainAliasRow, ConnectionDomainAliasRow.connection_id == ConnectionRow.id)
    .where(ConnectionDomainAliasRow.domain == bindparam("domain"), _ENTERPRISE, _ENABLED_FOR_CLIENT)
    .order_by(ConnectionRow.name)
    .limit(1)
)
_CLAIMING_DOMAIN_IN_ORGANIZATION = _CLAIMING_DOMAIN.where(_ON_ORGANIZATION)


def _usable_parameters(login: Login) -> dict[str, str]:
    parameters = {"client_id": login.client.client_id}
    if login.txn.organization_id is not None:
        parameters["organization_id"] = login.txn.organization_id
    return parameters


def connection_buttons(login: Login) -> list[ConnectionRow]:
    """The enterprise connections shown as buttons, by name: in an organization login, those
    the organization shows; otherwise those whose ``show_as_button`` is on."""
    statement = _BUTTONS if login.txn.organization_id is None else _BUTTONS_IN_ORGANIZATION
    return list(login.session.scalars(statement, _usable_parameters(login)))


def discover_connection(login: Login, email: str) -> ConnectionRow | None:
    """Home Realm Discovery: the enterprise connection that claims the e-mail's domain (the
    first by name, should several claim it)."""
    if not login.client.home_realm_discovery:
        return None
    domain = email.rpartition("@")[2].strip().lower()
    if not domain:
        return None
    statement = (
        _CLAIMING_DOMAIN if login.txn.organization_id is None else _CLAIMING_DOMAIN_IN_ORGANIZATION
    )
    return login.session.scalars(statement, {**_usable_parameters(login), "domain": domain}).first()


def database_connection(login: Login) -> ConnectionRow | None:
    """The database connection of the password page: the one the request named, or the
    default one."""
    name = login.params.get("connection")
    connection = find_connection(
        login.session, name if isinstance(name, str) else DEFAULT_DATABASE_CONNECTION
    )
    if connection is None or connection.strategy != DATABASE_STRATEGY:
        return None
    return connection


# --- The common tail ---


def complete_authentication(
    runtime: TenantRuntime,
    session: Session,
    request: Request,
    txn: AuthorizationRequestRow,
    user: UserRow,
    connection_name: str,
) -> Response:
    """Continue a login after the user proved who they are (password or upstream IdP): a new
    login session, then organization, membership, consent and the redirect to the client.

    Commits ``session`` before answering.
    """
    now = runtime.clock.now()
    try:
        if txn.completed_at is not None or txn.expires_at <= now:
            raise TransactionGone
        login = Login.of(runtime, session, request, txn)
    except TransactionGone:
        return transaction_gone_page()
    if user.blocked:
        response: Response = fail(login, AccessDenied("the user is blocked"))
        session.commit()
        return response
    # A new session secret at every sign-in, so that a session id planted in the browser before
    # sign-in is never the one after it (session fixation).
    previous = login_sessions.find_live_session(
        session, now, request.cookies.get(login_sessions.COOKIE_NAME)
    )
    if previous is not None:
        login_sessions.revoke_session(session, now, previous.id)
    new = login_sessions.create_session(
        session, now, user_id=user.user_id, connection=connection_name, auth_time=now
    )
    user.last_login = now
    user.logins_count = (user.logins_count or 0) + 1
    txn.user_id = user.user_id
    txn.session_id = new.row.id
    txn.connection = connection_name
    response = advance(login)
    lifetime = new.row.expires_at - now
    set_session_cookie(
        response,
        login_sessions.COOKIE_NAME,
        new.secret,
        secure=runtime.settings.tenant_issuer.startswith("https://"),
        max_age=int(lifetime.total_seconds()),
    )
    session.commit()
    return response


def continue_login(login: Login) -> Response:
    """Steps 3 to 5, for a transaction whose user is known."""
    txn = login.txn
    user = login.session.get(UserRow, txn.user_id) if txn.user_id else None
    if user is None or user.blocked:
        return fail(login, AccessDenied("the user is blocked or no longer exists"))
    if txn.organization_id is None and login.client.organization_usage == "require":
        memberships = list(login.session.scalars(users.organizations_of(user.user_id)))
        if not memberships:
            memberships = enrol_through_connection(login, user)
        if not memberships:
            return fail(
                login,
                AccessDenied(
                    "the application requires an organization, and the user is a member of none",
                    cause=causes.NOT_ORGANIZATION_MEMBER,
                ),
            )
        if len(memberships) > 1:
            if not login.interactive:
                return fail(login, InteractionRequired("the user must choose an organization"))
            return page_redirect("/u/organization/select", txn)
        txn.organization_id = memberships[0].id
    if txn.organization_id is not None:
        refused = check_membership(login, user)
        if refused is not None:
            return refused
    if needs_consent(login, user):
        if not login.interactive:
            return fail(login, ConsentRequired("the user has not consented to these scopes"))
        return page_redirect("/u/consent", txn)
    return redirect_with_code(login, user)


def enrol_through_connection(login: Login, user: UserRow) -> list[OrganizationRow]:
    """Auto-membership outside an organization login: a user who signed in through an enterprise
    connection (found by Home Realm Discovery, say) that exactly one organization enrols members
    from (``assign_membership_on_login``) becomes a member of it, and the login continues there.

    With several such organizations the choice is not the tenant's to make: nobody is enrolled
    and the login fails as it would have (the user may still pass ``organization``)."""
    connection = find_connection(login.session, login.txn.connection or user.connection)
    if connection is None or connection.strategy not in ENTERPRISE_STRATEGIES:
        return []
    enrolling = list(
        login.session.scalars(
            select(OrganizationRow)
            .join(
                OrganizationConnectionRow,
                OrganizationConnectionRow.organization_id == OrganizationRow.id,
            )
            .where(
                OrganizationConnectionRow.connection_id == connection.id,
                OrganizationConnectionRow.assign_membership_on_login.is_(True),
            )
            .limit(2)
        )
    )
    if len(enrolling) != 1:
        return []
    organizations.add_members(login.session, login.now, enrolling[0], [user.user_id])
    return enrolling


def check_membership(login: Login, user: UserRow) -> Response | None:
    """None when the user is (or, by the connection's ``assign_membership_on_login``, becomes) a
    member of the login's organization; else the error answer."""
    organization = login.session.get(OrganizationRow, login.txn.organization_id)
    if organization is None:
        return fail(login, AccessDenied("the organization no longer exists"))
    member = login.session.get(OrganizationMemberRow, (organization.id, user.user_id))
    if member is not None:
        return None
    connection = find_connection(login.session, login.txn.connection or user.connection)
    link = (
        login.session.get(OrganizationConnectionRow, (organization.id, connection.id))
        if connection is not None
        else None
    )
    if link is not None and link.assign_membership_on_login:
        organizations.add_members(login.session, login.now, organization, [user.user_id])
        return None
    return fail(
        login,
        AccessDenied(
            f"the user {user.email or user.user_id} is not a member of the organization "
            f"{organization.name}",
            cause=causes.NOT_ORGANIZATION_MEMBER,
        ),
    )


def consent_audience(login: Login) -> str:
    """Consents without an API are kept under the issuer's ``userinfo``, as Auth0 does."""
    return login.audience or f"{login.runtime.settings.tenant_issuer}userinfo"


def needs_consent(login: Login, user: UserRow) -> bool:
    if login.params.get("consent_given"):
        return False
    if "consent" in login.params.get("prompt", []):
        return True
    if login.client.is_first_party:
        if login.audience is None:
            return False
        api = resource_servers.find_by_identifier(login.session, login.audience)
        if api is not None and api.skip_consent_for_verifiable_first_party_clients:
            return False
    given = consents.consented_scopes(
        login.session,
        user_id=user.user_id,
        client_id=login.client.client_id,
        audience=consent_audience(login),
    )
    return not set(login.scopes) <= given


def redirect_with_code(login: Login, user: UserRow) -> RedirectResponse:
    """Step 5: mint the code and send the browser back to the client (RFC 6749 §4.1.2)."""
    txn = login.txn
    login_session = login.session.get(LoginSessionRow, txn.session_id) if txn.session_id else None
    code = issue_code(
        login.session,
        login.now,
        client_id=login.client.client_id,
        redirect_uri=txn.redirect_uri,
        user_id=user.user_id,
        session_id=txn.session_id,
        scope=login.scopes,
        audience=login.audience,
        nonce=_text(login.params.get("nonce")),
        code_challenge=_text(login.params.get("code_challenge")),
        code_challenge_method=_text(login.params.get("code_challenge_method")),
        organization_id=txn.organization_id,
        auth_time=login_session.auth_time if login_session else login.now,
    )
    txn.completed_at = login.now
    record(
        login,
        "s",
        "Success Login",
        user=user,
        details={"scope": " ".join(login.scopes), "audience": login.audience},
    )
    url = with_query_parameters(
        txn.redirect_uri,
        {
            "code": code,
            "state": _text(login.params.get("state")),
            "iss": login.runtime.settings.tenant_issuer,
        },
    )
    return RedirectResponse(url, status_code=303)


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None
