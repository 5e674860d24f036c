"""One doctor run: read the tenant, check, and with ``fix`` repair what failed, then check again.

The tenant is reached only through the Management SDK (:mod:`remote`); what it answers becomes a
:class:`Report`. A tenant that cannot be reached or refuses the credentials raises
:class:`TenantUnavailable`; a named object that does not exist raises :class:`BadInput`.
"""

from __future__ import annotations

import httpx
from auth0.management import Auth0
from auth0.management.core.api_error import ApiError

from expressway.clock import Clock, SystemClock
from expressway.doctor.checks import CHECKS, run_checks
from expressway.doctor.facts import Facts
from expressway.doctor.fixes import FIXES, NOT_FIXED, CannotFix
from expressway.doctor.inputs import Inputs
from expressway.doctor.remote import (
    TIMEOUT_SECONDS,
    Progress,
    TenantUnavailable,
    connect,
    describe_api_error,
    gather,
)
from expressway.doctor.report import FixResult, Report, Status
from expressway.web.outbound import http_client


def _quiet(_: str) -> None:
    return None


def _subjects(facts: Facts) -> dict[str, str | None]:
    return {
        "app": facts.app.client_id,
        "oin_client": facts.oin.value.client_id if facts.oin.value else None,
        "organization": facts.organization.value.id if facts.organization.value else None,
        "admin": facts.admin.value.user_id if facts.admin.value else None,
    }


def diagnose(sdk: Auth0, inputs: Inputs, clock: Clock, progress: Progress = _quiet) -> Report:
    facts = gather(sdk, inputs, clock, progress)
    progress("Checking")
    return Report(inputs.tenant_url, run_checks(facts), subjects=_subjects(facts))


def repair(sdk: Auth0, inputs: Inputs, clock: Clock, progress: Progress = _quiet) -> Report:
    """Fix every failed check that has a fix, in the checks' order, reading the tenant again
    after each change so that the next fix sees it; then the final report."""
    facts = gather(sdk, inputs, clock, progress)
    fixes: list[FixResult] = []
    for check in CHECKS:
        if check.run(facts).status is not Status.FAIL:
            continue
        fix = FIXES.get(check.id)
        if fix is None:
            reason = NOT_FIXED.get(check.id, "doctor has no fix for this check")
            fixes.append(FixResult(check.id, f"not fixed: {reason}", applied=False))
            continue
        progress(f"Fixing {check.id}")
        try:
            changes = fix(sdk, facts, inputs)
        except CannotFix as exc:
            fixes.append(FixResult(check.id, f"not fixed: {exc}", applied=False))
            continue
        except ApiError as exc:
            fixes.append(
                FixResult(
                    check.id,
                    f"the tenant refused the fix: {describe_api_error(exc)}",
                    applied=False,
                )
            )
            continue
        if changes:
            fixes += [FixResult(check.id, change) for change in changes]
            facts = gather(sdk, inputs, clock, progress)
    progress("Checking")
    return Report(inputs.tenant_url, run_checks(facts), fixes, subjects=_subjects(facts))


def examine(
    inputs: Inputs,
    *,
    fix: bool = False,
    clock: Clock | None = None,
    progress: Progress = _quiet,
    http: httpx.Client | None = None,
) -> Report:
    """Connect to the tenant and run doctor, with or without fixes."""
    owned = http is None
    client = http or http_client(timeout=TIMEOUT_SECONDS)
    try:
        progress(f"Connecting to {inputs.tenant_url}")
        sdk = connect(inputs, client)
        run = repair if fix else diagnose
        return run(sdk, inputs, clock or SystemClock(), progress)
    except ApiError as exc:
        raise TenantUnavailable(f"the Management API answered {describe_api_error(exc)}") from exc
    except httpx.TransportError as exc:
        raise TenantUnavailable(f"cannot reach {inputs.tenant_url}: {exc}") from exc
    finally:
        if owned:
            client.close()
