"""HTTP to the tenant: the authorization code exchange and the Express Configuration API.

Every way the tenant can answer becomes one of three outcomes: the JSON it sent, a refusal
naming the SPEC §4.1 causes it gave (:class:`TenantRefused`), or :class:`TenantUnreachable`
when it did not answer or answered 5xx. The HTTP client comes from a factory, so tests serve a
fake tenant through ``httpx.MockTransport`` or the real one through ``httpx.ASGITransport``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from expressway.web.outbound import http_client

#: Seconds to wait for the tenant: the admin's browser is waiting on the callback meanwhile.
HTTP_TIMEOUT = 10.0
CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def default_http_client() -> httpx.Client:
    # Redirects are not followed: a tenant's API never redirects, and following one would send
    # the access token and the instance's secret wherever it pointed.
    return http_client(timeout=HTTP_TIMEOUT)


class TenantUnreachable(Exception):
    """The tenant did not answer, or answered with a server error."""


class TenantRefused(Exception):
    """The tenant answered with a client error; ``causes`` are the cause codes it named."""

    def __init__(self, status: int, causes: list[str], error: str, description: str) -> None:
        super().__init__(f"{status} {error}: {description}")
        self.status = status
        self.causes = causes
        self.error = error
        self.description = description


def _json_object(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _text(value: Any, limit: int = 500) -> str:
    return value[:limit] if isinstance(value, str) else ""


def _refusal(response: httpx.Response) -> TenantRefused:
    """The causes of a 4xx: the token endpoint's ``error_cause`` (space-separated) or the
    Express Configuration API's SPEC §4.1 ``errorCauses``."""
    body = _json_object(response)
    causes = _text(body.get("error_cause")).split()
    listed = body.get("errorCauses")
    if isinstance(listed, list):
        causes += [
            entry["reason"]
            for entry in listed
            if isinstance(entry, dict) and isinstance(entry.get("reason"), str)
        ]
    error = _text(body.get("error")) or _text(body.get("errorCode")) or str(response.status_code)
    description = (
        _text(body.get("error_description"))
        or _text(body.get("errorSummary"))
        or _text(body.get("message"))
    )
    return TenantRefused(response.status_code, causes, error, description)


class TenantClient:
    """One tenant, at ``base_url`` (without a trailing slash)."""

    def __init__(self, base_url: str, http: Callable[[], httpx.Client]) -> None:
        self.base_url = base_url
        self._http = http
        self._client: httpx.Client | None = None

    def __enter__(self) -> TenantClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def _connection(self) -> httpx.Client:
        # One client for the calls of a flow, so that the code exchange and the Express
        # Configuration API call share a kept-alive connection to the tenant.
        if self._client is None:
            self._client = self._http()
        return self._client

    @property
    def token_endpoint(self) -> str:
        return f"{self.base_url}/oauth/token"

    def _post(self, url: str, **kwargs: Any) -> dict[str, Any]:
        try:
            response = self._connection().post(url, **kwargs)
        except httpx.HTTPError as exc:
            raise TenantUnreachable(f"{url}: {type(exc).__name__}") from exc
        if response.status_code >= 500:
            raise TenantUnreachable(f"{url}: HTTP {response.status_code}")
        if response.status_code >= 300:
            raise _refusal(response)
        body = _json_object(response)
        if not body:
            raise TenantUnreachable(f"{url}: the answer is not a JSON object")
        return body

    def exchange_code(
        self, *, code: str, code_verifier: str, redirect_uri: str, client_id: str, assertion: str
    ) -> dict[str, Any]:
        """The token response of an ``authorization_code`` grant, the client authenticated
        with ``private_key_jwt`` (RFC 7523 §2.2)."""
        return self._post(
            self.token_endpoint,
            data={
                "grant_type": "authorization_code",
                "code": code,
                "code_verifier": code_verifier,
                "redirect_uri": redirect_uri,
                "client_id": client_id,
                "client_assertion_type": CLIENT_ASSERTION_TYPE,
                "client_assertion": assertion,
            },
        )

    def express_configure(
        self, kind: str, access_token: str, body: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """``POST /express-configure/v1/{kind}`` with the admin's access token."""
        return self._post(
            f"{self.base_url}/express-configure/v1/{kind}",
            json=body or {},
            headers={"Authorization": f"Bearer {access_token}"},
        )
