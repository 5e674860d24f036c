"""The Push Groups tab: groups pushed to an app instance over SCIM, activated, deactivated and
removed from the console, with the same rules and System Log events as the admin API's
``/apps/{appId}/group-push/mappings``."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from expressway.workforce.rows import AppRow, GroupPushMappingRow, LogEventRow, ProvisioningJobRow
from tests.conftest import BACKENDS
from tests.workforce.conftest import Workforce
from tests.workforce.console.conftest import Console
from tests.workforce.oin_helpers import finished_submission

pytestmark = pytest.mark.parametrize("workforce_database", BACKENDS, indirect=True)


def _instance(workforce: Workforce, *, scim: bool = True) -> dict[str, Any]:
    api = workforce.api()
    submission = finished_submission(api)
    app: dict[str, Any] = api.post(f"/oin/submissions/{submission['id']}/test-instance").json()
    if scim:
        with workforce.runtime.sessions() as session:
            row = session.get(AppRow, app["id"])
            assert row is not None
            row.express_configuration = {
                "scim": {
                    "scim_base_url": "https://vendor.example/scim/v2/connections/con_1",
                    "token_id": "tok_1",
                    "valid_until": None,
                    "token_sealed": workforce.runtime.secret_sealer.seal(b"the-scim-token"),
                    "configured_at": "2025-01-01T00:00:00+00:00",
                }
            }
            session.commit()
    return app


def _group(console: Console, name: str) -> str:
    added = console.post("/groups", {"name": name})
    assert added.status_code == 303, added.text
    group_id: str = added.headers["location"].split("/groups/", 1)[1].split("?")[0]
    return group_id


def _mapping(workforce: Workforce) -> GroupPushMappingRow:
    with workforce.runtime.sessions() as session:
        row: GroupPushMappingRow = session.scalars(sa.select(GroupPushMappingRow)).one()
        session.expunge(row)
        return row


def test_a_group_is_pushed_deactivated_and_removed_from_the_push_groups_tab(
    workforce: Workforce, console: Console
) -> None:
    """Okta's Group Push: an active mapping queues a push; only an inactive one is removed."""
    app = _instance(workforce)
    group_id = _group(console, "Engineering <R&D>")
    tab = f"/apps/{app['id']}/push-groups"

    page = console.get(tab)
    assert 'aria-current="page">Push Groups<' in page
    assert "No group is pushed." in page
    # The group's name is escaped wherever the page shows it.
    assert "Engineering &lt;R&amp;D&gt;</option>" in page

    pushed = console.post(tab, {"groupId": group_id, "pushNow": "on"})
    assert pushed.status_code == 303
    assert pushed.headers["location"].endswith(f"{tab}?notice=group-push-created")
    mapping = _mapping(workforce)
    assert (mapping.source_group_id, mapping.status) == (group_id, "ACTIVE")
    with workforce.runtime.sessions() as session:
        kinds = session.scalars(sa.select(ProvisioningJobRow.kind)).all()
    assert kinds == ["group.push"]
    page = console.get(f"{tab}?notice=group-push-created")
    assert "The group push was added." in page
    assert "Not pushed yet" in page
    assert f"/push-groups/{mapping.id}/deactivate" in page
    assert f"/push-groups/{mapping.id}/delete" not in page

    refused = console.post(f"{tab}/{mapping.id}/delete")
    assert refused.status_code == 400
    assert "Set the mapping&#39;s status to INACTIVE first" in refused.text
    assert _mapping(workforce).status == "ACTIVE"

    assert console.post(f"{tab}/{mapping.id}/deactivate").status_code == 303
    assert _mapping(workforce).status == "INACTIVE"
    assert f"/push-groups/{mapping.id}/activate" in console.get(tab)
    removed = console.post(f"{tab}/{mapping.id}/delete", {"deleteTargetGroup": "on"})
    assert removed.status_code == 303
    with workforce.runtime.sessions() as session:
        assert session.scalars(sa.select(GroupPushMappingRow)).all() == []
        # Never pushed, so there is no group in the app to delete.
        assert session.scalars(sa.select(ProvisioningJobRow.kind)).all() == ["group.push"]
        events = session.scalars(
            sa.select(LogEventRow.event_type)
            .where(LogEventRow.event_type.like("application.provision.group_push.%"))
            .order_by(LogEventRow.sort_key)
        ).all()
    assert events == [
        "application.provision.group_push.mapping.created",
        "application.provision.group_push.mapping.updated",
        "application.provision.group_push.mapping.deleted",
    ]


def test_a_group_added_inactive_is_not_pushed_until_activated(
    workforce: Workforce, console: Console
) -> None:
    """Without *Push group memberships immediately* the mapping waits, and activating it pushes."""
    app = _instance(workforce)
    group_id = _group(console, "Sales")
    tab = f"/apps/{app['id']}/push-groups"

    assert console.post(tab, {"groupId": group_id}).status_code == 303
    mapping = _mapping(workforce)
    assert mapping.status == "INACTIVE"
    with workforce.runtime.sessions() as session:
        assert session.scalars(sa.select(ProvisioningJobRow)).all() == []

    assert console.post(f"{tab}/{mapping.id}/activate").status_code == 303
    assert _mapping(workforce).status == "ACTIVE"
    with workforce.runtime.sessions() as session:
        assert session.scalars(sa.select(ProvisioningJobRow.kind)).all() == ["group.push"]
    assert console.post(f"{tab}/{mapping.id}/archive").status_code == 400
    assert console.post(tab, {"groupId": group_id}).status_code == 400


def test_push_groups_waits_for_express_configure_scim(
    workforce: Workforce, console: Console
) -> None:
    """Groups are pushed over SCIM: before it is configured the tab says so and refuses."""
    app = _instance(workforce, scim=False)
    group_id = _group(console, "Support")
    tab = f"/apps/{app['id']}/push-groups"

    assert "Run Express Configure SCIM on the Provisioning tab first" in console.get(tab)
    assert console.post(tab, {"groupId": group_id, "pushNow": "on"}).status_code == 400
    with workforce.runtime.sessions() as session:
        assert session.scalars(sa.select(GroupPushMappingRow)).all() == []


def test_a_push_needs_the_session_token(workforce: Workforce, console: Console) -> None:
    """Every form of the tab is a change: without the session's anti-CSRF token it is refused."""
    app = _instance(workforce)
    group_id = _group(console, "Finance")

    response = console.browser.post(
        console.path(f"/apps/{app['id']}/push-groups"),
        data={"groupId": group_id, "pushNow": "on"},
        follow_redirects=False,
    )

    assert response.status_code == 403
    with workforce.runtime.sessions() as session:
        assert session.scalars(sa.select(GroupPushMappingRow)).all() == []
