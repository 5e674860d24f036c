"""Domain errors of the tenant, raised by services and rendered by each API in its own shape.

A service says *what* went wrong (this role does not exist, this name is taken); the Management API
turns it into Auth0's ``{"statusCode", "error", "message", "errorCode"}``, and other APIs into
theirs.
"""

from __future__ import annotations


class TenantError(Exception):
    """Base of the domain errors; ``code`` is Auth0's ``errorCode`` for it."""

    status = 400
    code = "invalid_body"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class InvalidInput(TenantError):
    """The request names something impossible (a weak key, an unknown scope…)."""

    status = 400
    code = "invalid_body"


class NotFound(TenantError):
    status = 404
    code = "inexistent_resource"


class Conflict(TenantError):
    status = 409
    code = "conflict"


class OperationNotSupported(TenantError):
    status = 400
    code = "operation_not_supported"
