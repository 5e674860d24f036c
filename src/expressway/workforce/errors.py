"""Domain errors of the workforce IdP, raised by services and rendered by each API in its shape.

Each carries Okta's ``errorCode``, its HTTP status, the ``errorSummary`` and the
``errorCauses`` (one sentence each, starting with the field at fault where there is one), so the
admin API renders them unchanged and other surfaces (the console, the OIDC provider) can word them
their own way.
"""

from __future__ import annotations


class WorkforceError(Exception):
    status = 400
    code = "E0000001"

    def __init__(self, summary: str, *, causes: list[str] | None = None) -> None:
        super().__init__(summary)
        self.summary = summary
        self.causes = causes or []


class InvalidInput(WorkforceError):
    """E0000001: the request breaks a rule of the endpoint (a taken login, a weak password…)."""

    @classmethod
    def field(cls, name: str, problem: str) -> InvalidInput:
        """Okta's shape for one field at fault: ``Api validation failed: {name}``."""
        return cls(f"Api validation failed: {name}", causes=[f"{name}: {problem}"])


class NotFound(WorkforceError):
    """E0000007; ``kind`` is Okta's name for the type (``User``, ``UserGroup``, ``AppInstance``)."""

    status = 404
    code = "E0000007"

    def __init__(self, identifier: str, kind: str) -> None:
        super().__init__(f"Not found: Resource not found: {identifier} ({kind})")


class Forbidden(WorkforceError):
    status = 403
    code = "E0000006"

    def __init__(
        self,
        summary: str = "You do not have permission to perform the requested action",
        *,
        causes: list[str] | None = None,
    ) -> None:
        super().__init__(summary, causes=causes)


class AlreadyActive(WorkforceError):
    status = 403
    code = "E0000016"

    def __init__(self) -> None:
        super().__init__("Activation failed because the user is already active")


class NotAllowedInStatus(WorkforceError):
    """E0000038: the user's status forbids the operation (editing a deactivated user)."""

    status = 403
    code = "E0000038"

    def __init__(self, causes: list[str] | None = None) -> None:
        super().__init__(
            "This operation is not allowed in the user's current status.", causes=causes
        )


class DeleteAppForbidden(WorkforceError):
    status = 403
    code = "E0000056"

    def __init__(self) -> None:
        super().__init__(
            "Delete application forbidden.",
            causes=["The application must be deactivated before it can be deleted."],
        )
