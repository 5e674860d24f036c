"""``expressway doctor`` as a command: exit status 0 / 1 / 2, the ``--json`` document, the
progress and the summary, and a secret that is never printed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner, Result

from expressway.cli.main import app
from tests.doctor.seed import build, ensure_api, management
from tests.interop.conftest import LiveTenant, free_port

pytestmark = pytest.mark.interop


def run(tenant: LiveTenant, *args: str, secret: str | None = None) -> Result:
    """The command with the tenant's admin client; the secret only in the environment."""
    return CliRunner().invoke(
        app,
        ["doctor", "--url", tenant.url, "--client-id", tenant.client_id, *args],
        env={"EXPRESSWAY_DOCTOR_CLIENT_SECRET": secret or tenant.client_secret},
    )


@pytest.fixture
def broken(live_tenant: LiveTenant) -> dict[str, Any]:
    """A SaaS app with Home Realm Discovery off and its admin outside the organization."""
    with httpx.Client(timeout=30) as http:
        api = management(live_tenant, http)
        ensure_api(api)
        setup = build(api, hrd=False, member=False)
    return {
        "args": [
            "--app",
            setup.app["client_id"],
            "--organization",
            setup.organization["id"],
            "--admin",
            setup.admin["user_id"],
        ],
        "setup": setup,
    }


def test_a_failing_check_exits_1_and_json_lists_every_check(
    live_tenant: LiveTenant, broken: dict[str, Any]
) -> None:
    """--json: one document with each check's id, status, cause, detail and remediation."""
    result = run(live_tenant, *broken["args"], "--json")

    assert result.exit_code == 1, result.output
    document = json.loads(result.stdout)
    assert set(document) == {"tenant", "subjects", "ok", "summary", "checks", "fixes"}
    assert document["ok"] is False
    assert document["tenant"] == live_tenant.url
    assert document["fixes"] == []
    assert document["subjects"]["app"] == broken["setup"].app["client_id"]
    for entry in document["checks"]:
        assert set(entry) == {"id", "title", "status", "cause", "detail", "remediation"}
        assert entry["status"] in {"pass", "fail", "warn", "skip"}
        assert bool(entry["remediation"]) == (entry["status"] in {"fail", "warn"})
    failing = {c["id"]: c["cause"] for c in document["checks"] if c["status"] == "fail"}
    assert failing == {
        "app.home_realm_discovery": "home_realm_discovery_disabled",
        "admin.member": "not_organization_member",
        "admin.role": "role_not_assigned",
    }
    assert document["summary"]["fail"] == 3
    assert live_tenant.client_secret not in result.output


def test_fix_prints_each_change_then_exits_0_and_a_second_fix_changes_nothing(
    live_tenant: LiveTenant, broken: dict[str, Any]
) -> None:
    """--fix: each change on a line of its own; the checks after it pass; idempotent."""
    before = run(live_tenant, *broken["args"])
    assert before.exit_code == 1
    assert "✗ Home Realm Discovery is on for the application home_realm_discovery_disabled" in (
        before.stdout
    )
    assert "→ In the tenant, turn on Home Realm Discovery" in before.stdout
    assert "Not ready" in before.stdout

    fixed = run(live_tenant, *broken["args"], "--fix")

    assert fixed.exit_code == 0, fixed.output
    assert "+ app.home_realm_discovery: turned on Home Realm Discovery" in fixed.stdout
    assert "+ admin.member: added" in fixed.stdout
    assert "+ admin.role: assigned the role" in fixed.stdout
    assert "Ready for Express Configuration" in fixed.stdout
    assert "✗" not in fixed.stdout

    again = run(live_tenant, *broken["args"], "--fix", "--json")

    assert again.exit_code == 0
    assert json.loads(again.stdout)["fixes"] == []
    assert "Nothing to fix" in run(live_tenant, *broken["args"], "--fix").stdout


def test_an_unknown_application_is_bad_input_exit_2(live_tenant: LiveTenant) -> None:
    result = run(live_tenant, "--app", "no such application")

    assert result.exit_code == 2
    assert "--app: no application has the id or name 'no such application'" in result.output
    assert "Traceback" not in result.output


def test_an_unreachable_tenant_exits_2_with_a_message_and_no_traceback() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    result = CliRunner().invoke(
        app,
        ["doctor", "--url", url, "--client-id", "c", "--app", "a"],
        env={"EXPRESSWAY_DOCTOR_CLIENT_SECRET": "a-secret-that-stays-hidden"},
    )

    assert result.exit_code == 2
    assert f"cannot reach {url}" in result.output
    assert "a-secret-that-stays-hidden" not in result.output
    assert "Traceback" not in result.output


def test_a_refused_client_secret_exits_2_and_is_never_printed(live_tenant: LiveTenant) -> None:
    result = run(live_tenant, "--app", "a", secret="wrong-secret-value-1234")

    assert result.exit_code == 2
    assert "refused the Management API client" in result.output
    assert "wrong-secret-value-1234" not in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--url", "http://tenant.example"], "http is accepted only for localhost"),
        (["--url", "https://tenant.example/api/v2"], "without a path"),
        (["--domain", "a.example", "--url", "https://a.example"], "exactly one of"),
        ([], "exactly one of"),
    ],
)
def test_plain_http_off_localhost_and_ambiguous_tenants_are_refused(
    args: list[str], message: str
) -> None:
    """A Management token never crosses the network in clear."""
    result = CliRunner().invoke(app, ["doctor", *args, "--token", "t", "--app", "a"])

    assert result.exit_code == 2
    assert message in result.output


def test_a_private_key_given_as_pem_is_refused(tmp_path: Path) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path = tmp_path / "private.pem"
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    result = CliRunner().invoke(
        app,
        ["doctor", "--domain", "localhost:1", "--token", "t", "--app", "a", "--pem", str(path)],
    )

    assert result.exit_code == 2
    assert "holds a private key" in result.output
