"""``expressway demo --no-serve`` in a fresh directory, twice: each step of the story is checked
in the services' own logs (the tenant's log events and the workforce's System Log), not in the
narration."""

from __future__ import annotations

import json
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.cli.fresh import run_python
from tests.interop.conftest import free_port

pytestmark = pytest.mark.interop


def _run_demo(directory: Path, ports: list[int]) -> subprocess.CompletedProcess[str]:
    return run_python(
        [
            "-m",
            "expressway.cli",
            "demo",
            "--no-serve",
            "--tenant-port",
            str(ports[0]),
            "--workforce-port",
            str(ports[1]),
            "--sample-app-port",
            str(ports[2]),
        ],
        data_dir=directory / ".expressway",
        cwd=directory,
        timeout=180,
    )


def _rows(database: Path, query: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(database) as connection:
        return connection.execute(query).fetchall()


def _check_the_story_happened(data_dir: Path, run: int) -> None:
    tenant = data_dir / "tenant.db"
    workforce = data_dir / "workforce.db"
    refusals = [
        set(json.loads(details).get("error_cause", "").split())
        for (details,) in _rows(tenant, "SELECT details FROM log_events WHERE type = 'f'")
    ]
    assert len(refusals) == run, "each run's first click is refused at the tenant"
    assert all(
        {"role_not_assigned", "home_realm_discovery_disabled", "not_organization_member"} <= causes
        for causes in refusals
    )
    doctor_fixes = _rows(
        tenant,
        "SELECT description FROM log_events WHERE type = 'sapi' AND description IN "
        "('Create a role', 'Add permissions to a role', 'Add members to an organization', "
        "'Assign roles to an organization member')",
    )
    assert len(doctor_fixes) == 4 * run, doctor_fixes
    configured = _rows(
        tenant,
        "SELECT COUNT(*) FROM log_events "
        "WHERE description = 'Express Configuration: SSO configured'",
    )
    assert configured == [(run,)]
    created = _rows(
        tenant,
        "SELECT COUNT(*) FROM log_events WHERE description = "
        "'Express Configuration: connection created'",
    )
    assert created == [(1,)], "a re-run updates the connection, never makes another"
    employee_logins = _rows(
        tenant, "SELECT COUNT(*) FROM log_events WHERE type = 's' AND user_id LIKE 'okta|%'"
    )
    assert employee_logins == [(run,)]
    flows = _rows(
        workforce,
        "SELECT event_type, outcome_reason FROM log_events "
        "WHERE event_type IN ('app.express_configure.fail', 'app.express_configure.succeed') "
        "ORDER BY sort_key",
    )
    assert [event for event, _ in flows] == [
        "app.express_configure.fail",  # SSO, in the support case
        "app.express_configure.succeed",  # SSO, after doctor --fix
        "app.express_configure.succeed",  # SCIM
    ] * run
    assert "not_organization_member" in flows[0][1]
    sso = _rows(
        workforce, "SELECT COUNT(*) FROM log_events WHERE event_type = 'user.authentication.sso'"
    )
    assert sso == [(run,)]
    # SCIM: the two assigned employees were created at the tenant once, by the first run.
    pushed = _rows(
        workforce,
        "SELECT COUNT(*) FROM log_events WHERE event_type = 'application.provision.user.push' "
        "AND outcome_result = 'SUCCESS'",
    )
    assert pushed == [(2,)]
    scim_writes = _rows(tenant, "SELECT COUNT(*) FROM log_events WHERE type = 'sscim'")
    assert scim_writes[0][0] >= 2
    members = _rows(
        tenant,
        "SELECT COUNT(*) FROM organization_members m JOIN users u ON u.user_id = m.user_id "
        "WHERE u.user_id LIKE 'okta|%'",
    )
    assert members == [(2,)]
    # Universal Logout: the IdP cleared the sessions, the tenant received it, and the sample
    # app was told over the back channel.
    assert _rows(
        workforce, "SELECT COUNT(*) FROM log_events WHERE event_type = 'user.session.clear'"
    ) == [(run,)]
    assert _rows(tenant, "SELECT COUNT(*) FROM log_events WHERE type = 'slo'") == [(run,)]
    assert _rows(
        tenant,
        "SELECT COUNT(*) FROM log_events WHERE type = 'oidc_backchannel_logout_succeeded'",
    ) == [(run,)]


def test_the_demo_tells_the_story_and_a_second_run_tells_it_again(tmp_path: Path) -> None:
    """SPEC §6: the click refused with its causes, doctor and its fix, the retry's success, SCIM
    provisioning of the assigned employees, an employee's SSO, Universal Logout; a second run on
    the same data directory reseeds the support case and tells it again."""
    ports = [free_port() for _ in range(3)]
    for run in (1, 2):
        finished = _run_demo(tmp_path, ports)
        assert finished.returncode == 0, finished.stdout + finished.stderr
        assert "Story told in" in finished.stdout
        _check_the_story_happened(tmp_path / ".expressway", run)
