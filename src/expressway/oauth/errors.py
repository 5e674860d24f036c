"""RFC 6749 error responses: one class per error code."""

from __future__ import annotations

from typing import Any, ClassVar


class OAuthError(Exception):
    error: ClassVar[str] = "invalid_request"
    status: ClassVar[int] = 400

    def __init__(self, description: str, *, cause: str | None = None) -> None:
        super().__init__(description)
        self.description = description
        #: An Expressway cause code (SPEC 4.1), carried as ``error_cause``.
        self.cause = cause

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"error": self.error, "error_description": self.description}
        if self.cause:
            body["error_cause"] = self.cause
        return body

    def headers(self) -> dict[str, str]:
        return {"Cache-Control": "no-store", "Pragma": "no-cache"}


class InvalidRequest(OAuthError):
    error = "invalid_request"


class InvalidClient(OAuthError):
    """RFC 6749 §5.2: client authentication failed; 401 with a challenge."""

    error = "invalid_client"
    status = 401

    def headers(self) -> dict[str, str]:
        return {**super().headers(), "WWW-Authenticate": 'Basic realm="token"'}


class InvalidGrant(OAuthError):
    error = "invalid_grant"


class UnauthorizedClient(OAuthError):
    error = "unauthorized_client"
    status = 403


class UnsupportedGrantType(OAuthError):
    error = "unsupported_grant_type"


class InvalidScope(OAuthError):
    error = "invalid_scope"


class AccessDenied(OAuthError):
    error = "access_denied"
    status = 403


class ServerError(OAuthError):
    error = "server_error"
    status = 500


class TooManyAttempts(OAuthError):
    """Auth0's ``too_many_attempts``: too many failures came from this client or address, and
    the request is refused untried; 429 with ``Retry-After`` (RFC 6585 §4)."""

    error = "too_many_attempts"
    status = 429

    def __init__(self, description: str, *, retry_after: int) -> None:
        super().__init__(description)
        self.retry_after = retry_after

    def headers(self) -> dict[str, str]:
        return {**super().headers(), "Retry-After": str(self.retry_after)}
