"""The token endpoint's grants, one module each, every one of the same shape:

``GRANT_TYPE``
    the ``grant_type`` value it answers;
``SUCCESS_LOG`` / ``FAILURE_LOG``
    the Auth0 log event types of a granted and a refused exchange;
``handle(runtime, session, client, params) -> dict``
    the token response for an authenticated ``client``, or an :class:`OAuthError`. It records
    its success event in ``session``; the endpoint commits.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from sqlalchemy.orm import Session

from expressway.tenant.authn.grants import authorization_code, client_credentials, refresh_token
from expressway.tenant.rows import ClientRow
from expressway.tenant.runtime import TenantRuntime


class Grant(Protocol):
    GRANT_TYPE: str
    SUCCESS_LOG: str
    FAILURE_LOG: str

    def handle(
        self,
        runtime: TenantRuntime,
        session: Session,
        client: ClientRow,
        params: Mapping[str, str],
    ) -> dict[str, Any]: ...


GRANTS: dict[str, Grant] = {
    grant.GRANT_TYPE: grant for grant in (authorization_code, refresh_token, client_credentials)
}
