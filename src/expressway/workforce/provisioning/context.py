"""What a job's handler works with, and what it answers."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
from sqlalchemy.orm import Session

from expressway.workforce.provisioning.jobs import Claim, Done, Outcome
from expressway.workforce.provisioning.scim import ScimApp
from expressway.workforce.provisioning.targets import ScimTarget
from expressway.workforce.runtime import WorkforceRuntime

#: Writes what a successful job leaves behind, in the transaction that settles it.
Record = Callable[[Session, datetime], None]


@dataclass
class Result:
    outcome: Outcome
    #: What to write when the job is settled as done; not run if the job was taken over.
    record: Record | None = None


@dataclass
class Run:
    """One run of a claimed job, at ``now``, talking to apps through ``http`` (the worker lane's
    client: its connections are kept from one job to the next)."""

    runtime: WorkforceRuntime
    claim: Claim
    now: datetime
    http: httpx.Client

    def read(self) -> Session:
        """A read-only session: handlers read in one, and talk to the app outside any."""
        return self.runtime.read_only_sessions()

    def app(self, target: ScimTarget) -> ScimApp:
        return ScimApp(target, self.http, lambda: self.now)


def skip(reason: str, **result: Any) -> Result:
    """Nothing to do: the job completes, and its events say ``SKIPPED`` and why."""
    return Result(Done(dict(result), skipped=reason))
