"""Test instances, publication to the OIN catalog, and app instances added from it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner, Result

from expressway import hashing
from expressway.cli.main import app as cli
from expressway.workforce.rows import AppRow, LogEventRow
from tests.conftest import BACKENDS
from tests.workforce.conftest import Workforce, causes, new_user, okta_error
from tests.workforce.oin_helpers import TENANT, finished_submission, new_submission

pytestmark = pytest.mark.parametrize("workforce_database", BACKENDS, indirect=True)


@pytest.fixture
def publish(workforce: Workforce, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """``expressway workforce oin publish ID`` against the test's database."""
    monkeypatch.setenv("EXPRESSWAY_DATA_DIR", str(tmp_path))
    monkeypatch.setenv(
        "EXPRESSWAY_WORKFORCE_DATABASE_URL",
        workforce.runtime.settings.resolved_workforce_database_url(),
    )

    def run(submission_id: str) -> Result:
        return CliRunner().invoke(cli, ["workforce", "oin", "publish", submission_id])

    return run


def _check_instance(
    instance: dict[str, Any], workforce: Workforce, org: str, name: str, submission_id: str
) -> None:
    """An OIN instance: an active OIDC client of ``org`` with its own secret, shown this once."""
    assert instance["name"] == name
    assert instance["status"] == "ACTIVE"
    assert instance["signOnMode"] == "OPENID_CONNECT"
    assert instance["oinSubmissionId"] == submission_id
    assert instance["settings"]["oauthClient"]["redirect_uris"] == [f"{TENANT}/login/callback"]
    client = instance["credentials"]["oauthClient"]
    assert client["client_id"] == instance["id"]
    secret = client["client_secret"]
    assert instance["expressConfigure"] == {
        "sso": {"available": True, "universalLogout": True},
        "scim": {"available": True},
    }
    again = workforce.api(org).get(f"/apps/{instance['id']}")
    assert again.status_code == 200
    assert "client_secret" not in again.json()["credentials"]["oauthClient"]
    org_id = workforce.org_id(org)
    with workforce.runtime.sessions() as session:
        row = session.get(AppRow, instance["id"])
        assert row is not None
        assert row.org_id == org_id
        assert row.oin_submission_id == submission_id
        assert row.client_secret_hash is not None
        assert hashing.verify_token(row.client_secret_hash, secret)


def test_a_finished_submission_makes_a_test_instance_in_the_integrator_org(
    workforce: Workforce,
) -> None:
    """The test instance is an OIDC client of the integrator org with the tenant's callback."""
    api = workforce.api()
    submission = finished_submission(api)
    response = api.post(
        f"/oin/submissions/{submission['id']}/test-instance", json={"label": "Vendor (test)"}
    )
    assert response.status_code == 200, response.text
    instance = response.json()
    assert instance["label"] == "Vendor (test)"
    _check_instance(instance, workforce, "acme", f"oin_test_{submission['id']}", submission["id"])


def test_a_test_instance_waits_for_finish(workforce: Workforce) -> None:
    """A draft submission makes no instance, and says why."""
    api = workforce.api()
    submission = new_submission(api)
    response = api.post(f"/oin/submissions/{submission['id']}/test-instance")
    assert response.status_code == 400
    assert causes(response)[0].startswith("status:")
    assert api.get("/apps").json() == []


def test_publishing_puts_a_finished_submission_in_every_orgs_catalog(
    workforce: Workforce, publish: Any
) -> None:
    """The operator's command publishes it once; a second run changes nothing."""
    acme, globex = workforce.api("acme"), workforce.api("globex")
    submission = finished_submission(acme)
    assert globex.get("/catalog/apps").json() == []
    first = publish(submission["id"])
    assert first.exit_code == 0, first.output
    assert "vendorsaas" in first.output
    again = publish(submission["id"])
    assert again.exit_code == 0, again.output
    assert "nothing changed" in again.output
    catalog = globex.get("/catalog/apps").json()
    assert [(entry["id"], entry["displayName"]) for entry in catalog] == [
        ("vendorsaas", "Vendor SaaS")
    ]
    assert catalog[0]["capabilities"] == ["OIDC", "SCIM", "UNIVERSAL_LOGOUT"]
    assert "expressConfiguration" not in catalog[0]
    published = acme.get(f"/oin/submissions/{submission['id']}").json()
    assert published["status"] == "PUBLISHED"
    assert published["catalogKey"] == "vendorsaas"
    with workforce.runtime.sessions() as session:
        events = list(
            session.scalars(
                sa.select(LogEventRow.event_type).where(
                    LogEventRow.event_type == "oin.submission.publish"
                )
            )
        )
    assert len(events) == 1


def test_only_a_finished_submission_can_be_published(workforce: Workforce, publish: Any) -> None:
    """A draft, or an id nobody knows, is refused by the command and stays out of the catalog."""
    submission = new_submission(workforce.api())
    draft = publish(submission["id"])
    assert draft.exit_code != 0
    assert "finished" in draft.output
    unknown = publish("0isnothing")
    assert unknown.exit_code != 0
    assert workforce.api("globex").get("/catalog/apps").json() == []


def test_two_integrations_of_the_same_name_get_distinct_catalog_keys(
    workforce: Workforce, publish: Any
) -> None:
    """Catalog keys are unique across the catalog, whichever org published."""
    first = finished_submission(workforce.api("acme"))
    second = finished_submission(workforce.api("globex"))
    assert publish(first["id"]).exit_code == 0
    assert publish(second["id"]).exit_code == 0
    keys = [entry["id"] for entry in workforce.api().get("/catalog/apps").json()]
    assert keys == ["vendorsaas", "vendorsaas_2"]


def test_a_published_submission_cannot_be_changed(workforce: Workforce, publish: Any) -> None:
    """What the catalog offers is what the operator reviewed."""
    api = workforce.api()
    submission = finished_submission(api)
    publish(submission["id"])
    response = api.post(f"/oin/submissions/{submission['id']}", json={"name": "Other"})
    assert response.status_code == 400
    assert causes(response)[0].startswith("status:")


def test_an_admin_of_another_org_adds_an_instance_from_the_catalog(
    workforce: Workforce, publish: Any
) -> None:
    """The instance is the second org's own OIDC client, assignable to its users."""
    submission = finished_submission(workforce.api("acme"))
    publish(submission["id"])
    globex = workforce.api("globex")
    response = globex.post("/catalog/apps/vendorsaas/instances")
    assert response.status_code == 200, response.text
    instance = response.json()
    assert instance["label"] == "Vendor SaaS"
    _check_instance(instance, workforce, "globex", "vendorsaas", submission["id"])
    user = new_user(globex, "grace@globex.example")
    assigned = globex.post(f"/apps/{instance['id']}/users", json={"id": user["id"]})
    assert assigned.status_code == 200, assigned.text
    assert workforce.api("acme").get(f"/apps/{instance['id']}").status_code == 404
    second = globex.post("/catalog/apps/vendorsaas/instances", json={"label": "Second"}).json()
    assert second["credentials"]["oauthClient"]["client_id"] != instance["id"]


def test_an_unpublished_or_unknown_catalog_app_cannot_be_added(workforce: Workforce) -> None:
    """Only published integrations are in the catalog; anything else is not found."""
    submission = finished_submission(workforce.api("acme"))
    globex = workforce.api("globex")
    for catalog_id in ("vendorsaas", f"oin_test_{submission['id']}", submission["id"]):
        response = globex.post(f"/catalog/apps/{catalog_id}/instances")
        assert response.status_code == 404
        okta_error(response, "E0000007")
    assert globex.get("/apps").json() == []


def test_a_bad_instance_request_is_refused_naming_the_field(
    workforce: Workforce, publish: Any
) -> None:
    """An empty label, a wrong type or an unknown property: 400 and no instance."""
    publish(finished_submission(workforce.api())["id"])
    globex = workforce.api("globex")
    for body, field in (
        ({"label": ""}, "label"),
        ({"label": 5}, "label"),
        ({"label": "   "}, "label"),
        ({"client_secret": "mine"}, "client_secret"),
    ):
        response = globex.post("/catalog/apps/vendorsaas/instances", json=body)
        assert response.status_code == 400, body
        assert causes(response)[0].startswith(f"{field}:"), causes(response)
    assert globex.get("/apps").json() == []
