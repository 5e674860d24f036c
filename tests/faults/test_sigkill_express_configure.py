"""SIGKILL of the tenant in the middle of Express Configure SSO (issue 10, Faults).

The admin has signed in and consented; the workforce has exchanged the code and sent
``POST /express-configure/v1/sso``. A proxy in front of the tenant kills it with SIGKILL at
several moments after that request reached it (at once, then later and later, until a kill comes
after the tenant had answered). The Express Configuration API makes the connection, enables the
application on it and links it to the organization in one transaction, so whatever moment the
kill hits, the restarted tenant holds either no connection or one complete connection, never a
half-made one; the workforce names the failure ``tenant_unreachable``; and a retry succeeds with
exactly one connection."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from expressway.oauth.express_configuration import CAUSES, ERROR_CODE
from tests.e2e.story import Person, express_configure, prepare_tenant, prepare_workforce, tenant_api
from tests.faults.processes import Tenant, running
from tests.faults.proxy import Shot, TriggerProxy
from tests.interop.conftest import free_port
from tests.interop.workforce_server import LiveWorkforce

pytestmark = pytest.mark.faults

#: The Express Configuration API call, as the workforce sends it to the tenant.
MARKER = b"POST /express-configure/v1/sso "
#: Seconds after the call reaches the tenant at which it is killed, in turn: dense at first, since
#: a fast machine answers the whole call within 20 ms, then sparser until a kill comes too late.
DELAYS = (0.0, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.5)


@dataclass
class Scene:
    tenant: Tenant
    proxy: TriggerProxy
    workforce: LiveWorkforce
    vendor: dict[str, Any]
    app_id: str
    api: Any

    def click(self) -> httpx.Response:
        """The customer's admin clicks Express Configure SSO in a fresh browser."""
        with httpx.Client(timeout=30, follow_redirects=False) as browser:
            admin = Person(browser, self.vendor["email"], self.vendor["organization"]["name"])
            return express_configure(self.workforce, self.app_id, admin)

    def okta_connections(self) -> list[dict[str, Any]]:
        """The organization's Express Configured connections, each checked complete: a
        connection exists only with its organization link and its application enabled."""
        organization = self.vendor["organization"]["id"]
        made = [c for c in self.api("GET", "/connections?per_page=100") if c["strategy"] == "okta"]
        links = [
            link
            for link in self.api("GET", f"/organizations/{organization}/enabled_connections")
            if link["connection"]["strategy"] == "okta"
        ]
        assert sorted(link["connection_id"] for link in links) == sorted(c["id"] for c in made)
        app_client = self.vendor["app"]["client_id"]
        for connection in made:
            enabled = self.api("GET", f"/connections/{connection['id']}/clients")
            assert app_client in {c["client_id"] for c in enabled["clients"]}, connection
        return made


@pytest.fixture
def scene(
    tmp_path_factory: pytest.TempPathFactory, live_workforce: LiveWorkforce
) -> Iterator[Scene]:
    public_port = free_port()
    tenant = Tenant(
        tmp_path_factory.mktemp("sigkill-ec-tenant"), public_url=f"http://127.0.0.1:{public_port}"
    )
    proxy = TriggerProxy(public_port, tenant.port)
    try:
        with running(tenant), httpx.Client(timeout=30) as http:
            vendor = prepare_tenant(tenant.live, live_workforce, http, broken=False)
            app_id, _ = prepare_workforce(live_workforce, http, vendor)
            yield Scene(
                tenant, proxy, live_workforce, vendor, app_id, tenant_api(tenant.live, http)
            )
    finally:
        proxy.close()


def _assert_tenant_unreachable(outcome: httpx.Response) -> None:
    assert outcome.status_code == 403, outcome.text
    body = outcome.json()
    assert body["errorCode"] == ERROR_CODE
    assert [cause["reason"] for cause in body["errorCauses"]] == ["tenant_unreachable"]
    assert body["errorCauses"][0]["remediation"] == CAUSES["tenant_unreachable"].remediation


def test_a_tenant_killed_during_the_express_configuration_call_leaves_no_half_made_connection(
    scene: Scene,
) -> None:
    """Killed at each moment of the call: no connection or one complete one after the restart,
    ``tenant_unreachable`` at the workforce; then the retry succeeds with exactly one."""
    shots: list[tuple[Shot, int]] = []
    for delay in DELAYS:
        shot = scene.proxy.arm(MARKER, delay, scene.tenant.kill)
        outcome = scene.click()
        assert shot.done.wait(60), "the Express Configuration call never reached the tenant"
        scene.tenant.start()
        made = scene.okta_connections()
        assert len(made) <= 1
        shots.append((shot, len(made)))
        if shot.answered_first:
            break  # later kills would all come after the answer
        # The tenant never answered: the workforce cannot know what happened, and says so.
        _assert_tenant_unreachable(outcome)
    print("kills (seconds after the call, answered first, connections after):")
    print([(shot.delay, shot.answered_first, count) for shot, count in shots])
    assert sum(not shot.answered_first for shot, _ in shots) >= 2, "kills within the call"

    retry = scene.click()
    assert retry.status_code == 200, retry.text
    assert len(scene.okta_connections()) == 1
