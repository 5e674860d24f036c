"""The SCIM error (RFC 7644 §3.12): a status, an optional ``scimType`` keyword and a detail.

Every failure of a SCIM request ends as one :class:`ScimError`, whatever raised it: scim2-models'
exceptions and pydantic's validation errors are converted here, so a SCIM endpoint never answers
in any other shape.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from scim2_models import Error, SCIMException

#: The media type of every SCIM answer (RFC 7644 §3.1); requests may use ``application/json``.
SCIM_MEDIA_TYPE = "application/scim+json"


class ScimError(Exception):
    """A SCIM protocol error; :meth:`body` is its RFC 7644 §3.12 representation."""

    def __init__(self, status: int, detail: str, scim_type: str | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.scim_type = scim_type

    def body(self) -> dict[str, Any]:
        """The error resource; ``status`` is a JSON string, as in the RFC's examples."""
        return Error(status=self.status, scim_type=self.scim_type, detail=self.detail).model_dump()

    @classmethod
    def from_scim_exception(cls, exc: SCIMException) -> ScimError:
        return cls(exc.status, exc.detail, exc.scim_type or None)

    @classmethod
    def from_validation_error(cls, exc: ValidationError) -> ScimError:
        """The first error pydantic found, with the keyword scim2-models gives it."""
        errors = Error.from_validation_errors(exc)
        if not errors:
            return invalid_value("the request is not a valid SCIM payload")
        first = errors[0]
        return cls(first.status or 400, first.detail or "invalid value", first.scim_type)


def invalid_filter(detail: str) -> ScimError:
    return ScimError(400, detail, "invalidFilter")


def invalid_path(detail: str) -> ScimError:
    return ScimError(400, detail, "invalidPath")


def invalid_value(detail: str) -> ScimError:
    return ScimError(400, detail, "invalidValue")


def invalid_syntax(detail: str) -> ScimError:
    return ScimError(400, detail, "invalidSyntax")


def uniqueness(detail: str) -> ScimError:
    return ScimError(409, detail, "uniqueness")


def mutability(detail: str) -> ScimError:
    return ScimError(400, detail, "mutability")


def too_many(detail: str) -> ScimError:
    return ScimError(400, detail, "tooMany")


def not_found(detail: str) -> ScimError:
    return ScimError(404, detail)


def unauthorized(detail: str) -> ScimError:
    return ScimError(401, detail)


def forbidden(detail: str) -> ScimError:
    return ScimError(403, detail)


def precondition_failed(detail: str) -> ScimError:
    return ScimError(412, detail)


def not_implemented(detail: str) -> ScimError:
    return ScimError(501, detail)
