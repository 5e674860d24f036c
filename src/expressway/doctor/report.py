"""What ``doctor`` answers: one result per check, the changes ``--fix`` made, and their JSON."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Status(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    #: Something to know that does not stop Express Configuration (an older name, a guess).
    WARN = "warn"
    #: Not checked, because what it needs (an OIN client, an admin) is unknown or broken.
    SKIP = "skip"


@dataclass(frozen=True)
class CheckResult:
    id: str
    title: str
    #: The SPEC §4.1 cause code the flow would fail with, or doctor's own code.
    cause: str
    status: Status
    #: Names the objects involved (ids, names), whatever the status.
    detail: str
    #: Where in the dashboard, and the Management API call; empty when the check passes.
    remediation: str

    def as_json(self) -> dict[str, str]:
        return {
            "id": self.id,
            "title": self.title,
            "status": self.status.value,
            "cause": self.cause,
            "detail": self.detail,
            "remediation": self.remediation,
        }


@dataclass(frozen=True)
class FixResult:
    check: str
    #: One sentence naming the object changed and how.
    change: str
    #: False when the tenant refused the change (the sentence then says why).
    applied: bool = True

    def as_json(self) -> dict[str, Any]:
        return {"check": self.check, "change": self.change, "applied": self.applied}


@dataclass
class Report:
    tenant: str
    checks: list[CheckResult]
    fixes: list[FixResult] = field(default_factory=list)
    #: The objects the checks were run for, as found (ids), for the reader to confirm.
    subjects: dict[str, str | None] = field(default_factory=dict)

    def count(self, status: Status) -> int:
        return sum(1 for check in self.checks if check.status is status)

    @property
    def failed(self) -> list[CheckResult]:
        return [check for check in self.checks if check.status is Status.FAIL]

    @property
    def ok(self) -> bool:
        return not self.failed

    def as_json(self) -> dict[str, Any]:
        return {
            "tenant": self.tenant,
            "subjects": self.subjects,
            "ok": self.ok,
            "summary": {status.value: self.count(status) for status in Status},
            "checks": [check.as_json() for check in self.checks],
            "fixes": [fix.as_json() for fix in self.fixes],
        }
