"""The Sign On and Provisioning tabs: the console's Express Configure endpoints answer exactly
what the admin API's do (SPEC §4.1), and the To App switches, jobs, retry and Import work."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from expressway.oauth.express_configuration import ERROR_CODE, ERROR_SUMMARY
from expressway.workforce.rows import (
    AppProvisioningRow,
    AppRow,
    LogEventRow,
    ProvisioningJobRow,
)
from tests.conftest import BACKENDS
from tests.workforce.conftest import Workforce, okta_error
from tests.workforce.console.conftest import Console
from tests.workforce.oin_helpers import finished_submission

pytestmark = pytest.mark.parametrize("workforce_database", BACKENDS, indirect=True)

SCIM_BASE = "https://vendor.example/scim/v2/connections/con_1"


def _instance(workforce: Workforce) -> tuple[dict[str, Any], dict[str, Any]]:
    api = workforce.api()
    submission = finished_submission(api)
    app = api.post(f"/oin/submissions/{submission['id']}/test-instance").json()
    return submission, app


def _start(console: Console, app_id: str, kind: str = "sso") -> Any:
    return console.browser.post(
        console.path(f"/api/apps/{app_id}/express-configure/{kind}"),
        headers={"X-CSRF-Token": console.token},
    )


def _both_answers(workforce: Workforce, console: Console, app_id: str, flow_id: str) -> Any:
    ours = console.browser.get(
        console.path(f"/api/apps/{app_id}/express-configure/flows/{flow_id}")
    )
    theirs = workforce.api().get(f"/apps/{app_id}/express-configure/flows/{flow_id}")
    return ours, theirs


def test_an_incomplete_integration_answers_the_spec_403_body(
    workforce: Workforce, console: Console
) -> None:
    """SPEC §4.1: 403, oauth_error, the fixed summary, and each cause with its remediation."""
    submission, app = _instance(workforce)
    # Changing a finished integration sends it back to draft: Finish is missing again.
    workforce.api().post(f"/oin/submissions/{submission['id']}", json={"description": "v2"})

    response = _start(console, app["id"])

    assert response.status_code == 403
    body = response.json()
    assert list(body)[:2] == ["errorCode", "errorSummary"]
    assert body["errorCode"] == ERROR_CODE
    assert body["errorSummary"] == ERROR_SUMMARY
    [cause] = body["errorCauses"]
    assert cause["reason"] == "express_configuration_incomplete"
    assert cause["errorSummary"]
    assert cause["remediation"]


def test_the_console_reads_a_flow_exactly_as_the_admin_api_does(
    workforce: Workforce, console: Console
) -> None:
    """202 while the admin is at the tenant, and the same 403 body once it failed."""
    submission, app = _instance(workforce)

    started = _start(console, app["id"])

    assert started.status_code == 200
    flow = started.json()
    assert set(flow) == {"flowId", "authorizeUrl"}
    assert flow["authorizeUrl"].startswith("https://login.vendor.example/authorize?")
    ours, theirs = _both_answers(workforce, console, app["id"], flow["flowId"])
    assert ours.status_code == theirs.status_code == 202
    assert ours.json() == theirs.json()

    workforce.api().post(f"/oin/submissions/{submission['id']}", json={"description": "v2"})
    failed = _start(console, app["id"]).json()
    with workforce.runtime.sessions() as session:
        flow_id = session.scalars(
            sa.select(LogEventRow.debug_data).where(
                LogEventRow.event_type == "app.express_configure.start"
            )
        ).all()[-1]["flowId"]
    ours, theirs = _both_answers(workforce, console, app["id"], flow_id)
    assert ours.status_code == theirs.status_code == 403
    assert ours.json() == theirs.json() == failed


def test_a_flow_of_another_app_is_not_found(workforce: Workforce, console: Console) -> None:
    """A flow is read through its own app instance only, in Okta's error shape."""
    _, app = _instance(workforce)
    flow = _start(console, app["id"]).json()

    response = console.browser.get(
        console.path(f"/api/apps/0oaOther/express-configure/flows/{flow['flowId']}")
    )

    assert response.status_code == 404
    okta_error(response, "E0000007")


def test_the_sign_on_tab_shows_the_button_and_the_stored_configuration(
    workforce: Workforce, console: Console
) -> None:
    """The button's endpoints are the console's; what SSO set up is listed."""
    _, app = _instance(workforce)
    with workforce.runtime.sessions() as session:
        row = session.get(AppRow, app["id"])
        assert row is not None
        row.express_configuration = {
            "sso": {
                "connection": {"id": "con_1", "name": "con-org_1-okta"},
                "organization": {"id": "org_1", "name": "acme"},
                "initiate_login_uri": "https://app.vendor.example/login?organization=org_1",
                "global_token_revocation_endpoint": "https://vendor.example/oauth/gtr/con-org_1",
                "redirect_uri": "https://vendor.example/login/callback",
                "domain_aliases": ["acme.example"],
                "configured_at": "2025-01-01T00:00:00+00:00",
            }
        }
        session.commit()

    page = console.get(f"/apps/{app['id']}/sign-on")

    assert f'data-start-url="/orgs/acme/admin/api/apps/{app["id"]}/express-configure/sso"' in page
    assert "/admin/static/express-configure.js" in page
    assert "con-org_1-okta" in page
    assert "https://vendor.example/oauth/gtr/con-org_1" in page
    # Marked for the script, which says it is out of date once the button succeeds.
    assert '<div data-refreshed-by="sso">' in page


def _with_scim(workforce: Workforce, app_id: str) -> None:
    with workforce.runtime.sessions() as session:
        row = session.get(AppRow, app_id)
        assert row is not None
        row.express_configuration = {
            "scim": {
                "scim_base_url": SCIM_BASE,
                "token_id": "tok_1",
                "valid_until": None,
                "token_sealed": workforce.runtime.secret_sealer.seal(b"the-scim-token"),
                "configured_at": "2025-01-01T00:00:00+00:00",
            }
        }
        session.commit()


def test_the_provisioning_tab_asks_for_express_configure_scim_first(
    workforce: Workforce, console: Console
) -> None:
    """Without SCIM there is no To App form, only the button."""
    _, app = _instance(workforce)

    page = console.get(f"/apps/{app['id']}/provisioning")

    assert "Express Configure SCIM" in page
    assert 'name="createUsers"' not in page
    assert console.post(f"/apps/{app['id']}/provisioning/to-app", {}).status_code == 400


def test_to_app_switches_jobs_retry_and_import_work_from_the_provisioning_tab(
    workforce: Workforce, console: Console
) -> None:
    """Switches saved and logged; an import started; a failed job shown and queued again."""
    _, app = _instance(workforce)
    _with_scim(workforce, app["id"])

    page = console.get(f"/apps/{app['id']}/provisioning")
    assert SCIM_BASE in page
    assert "the-scim-token" not in page
    saved = console.post(
        f"/apps/{app['id']}/provisioning/to-app", {"createUsers": "on", "deactivateUsers": "on"}
    )
    assert saved.status_code == 303
    with workforce.runtime.sessions() as session:
        switches = session.get(AppProvisioningRow, app["id"])
        assert switches is not None
        assert (switches.create_users, switches.update_profile, switches.deactivate_users) == (
            True,
            False,
            True,
        )

    imported = console.post(f"/apps/{app['id']}/imports")
    assert imported.status_code == 303
    assert "/imports/" in imported.headers["location"]
    assert "QUEUED" in console.browser.get(imported.headers["location"]).text
    with workforce.runtime.sessions() as session:
        job = session.scalars(sa.select(ProvisioningJobRow)).one()
        job.state = "FAILED"
        job.last_error = "SCIM service answered 503"
        session.commit()
        job_id = job.id

    failed = console.get(f"/apps/{app['id']}/provisioning?state=FAILED")
    assert "SCIM service answered 503" in failed
    assert f"/provisioning/jobs/{job_id}/retry" in failed
    retried = console.post(f"/apps/{app['id']}/provisioning/jobs/{job_id}/retry")
    assert retried.status_code == 303
    with workforce.runtime.sessions() as session:
        assert session.scalars(sa.select(ProvisioningJobRow.state)).one() == "QUEUED"
        events = session.scalars(
            sa.select(LogEventRow.event_type).order_by(LogEventRow.sort_key)
        ).all()
    assert "system.import.start" in events
    assert "application.lifecycle.update" in events
    assert console.post(f"/apps/{app['id']}/provisioning/jobs/{job_id}/retry").status_code == 400
