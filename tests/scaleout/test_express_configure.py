"""Express Configure SSO & UL across replicas: the admin's browser and the workforce's calls go
through the round-robin proxies, so consecutive steps land on different processes; the flow
still succeeds, and makes exactly one connection. Then sessions made on one replica are honoured
by the other."""

from __future__ import annotations

import itertools

import httpx
import pytest

from tests.e2e.story import tenant_api
from tests.scaleout.conftest import Cluster, Configured
from tests.tenant.browser import forms_of

pytestmark = pytest.mark.postgres

#: The tenant's pages and endpoints a browser walks through during the flow.
BROWSER_PATHS = ("/authorize", "/u/")


def alternate(replicas: list[int]) -> bool:
    return all(a != b for a, b in itertools.pairwise(replicas))


def test_express_configure_sso_succeeds_with_its_steps_on_different_replicas(
    cluster: Cluster, configured: Configured
) -> None:
    """Authorize on one tenant replica, the organization, identifier, password and consent
    pages each on the other one than the step before, the code redeemed and the Express
    Configuration API called on alternate replicas; the workforce's start, callback and outcome
    alternate too. The flow succeeds and the organization has exactly one okta connection."""
    assert configured.outcome.status_code == 200, configured.outcome.text
    browser = [hop for hop in configured.tenant_hops if hop.path.startswith(BROWSER_PATHS)]
    assert [hop.path for hop in browser[:1]] == ["/authorize"]
    assert "/u/login/password" in [hop.path for hop in browser]
    assert "/u/consent" in [hop.path for hop in browser]
    assert alternate([hop.replica for hop in browser]), browser
    assert {hop.replica for hop in browser} == {0, 1}
    consent = next(h for h in browser if h.method == "POST" and h.path == "/u/consent")
    [token] = [h for h in configured.tenant_hops if h.path == "/oauth/token"]
    [api] = [h for h in configured.tenant_hops if h.path == "/express-configure/v1/sso"]
    # The code is made on one replica and redeemed on the other; the access token it bought
    # is used on the first again.
    assert token.replica != consent.replica
    assert api.replica != token.replica
    assert token.status == api.status == 200
    # Both come from a workforce replica, through the tenant's public URL.
    assert {token.caller, api.caller} <= {"workforce-0", "workforce-1"}
    workforce = configured.workforce_hops
    assert [hop.method for hop in workforce] == ["POST", "GET", "GET"]
    assert workforce[1].path == "/admin/app/generic/oauth20redirect"
    assert alternate([hop.replica for hop in workforce]), workforce
    with httpx.Client(timeout=30) as http:
        links = tenant_api(cluster.tenant, http)(
            "GET", f"/organizations/{configured.vendor['organization']['id']}/enabled_connections"
        )
    assert len([link for link in links if link["connection"]["strategy"] == "okta"]) == 1


def test_a_universal_login_session_made_on_one_replica_signs_in_on_the_other(
    cluster: Cluster, configured: Configured
) -> None:
    """The admin's session cookie from the flow, sent to the replica that did not make the
    session: a new authorization request for the vendor's app answers a code at once, with no
    page to fill."""
    [made] = [
        hop
        for hop in configured.tenant_hops
        if hop.method == "POST" and hop.path == "/u/login/password"
    ]
    app = configured.vendor["app"]
    callback = app["callbacks"][0]
    other = 1 - made.replica
    cluster.tenant_proxy.skip_to(other)
    seen = len(cluster.tenant_proxy.hops)
    with httpx.Client(
        timeout=30, follow_redirects=False, cookies=configured.browser_cookies
    ) as browser:
        answer = browser.get(
            f"{cluster.tenant.url}/authorize",
            params={
                "client_id": app["client_id"],
                "response_type": "code",
                "redirect_uri": callback,
                "scope": "openid profile",
                "state": "after-sso",
                "nonce": "n-after-sso",
                "organization": configured.vendor["organization"]["id"],
            },
        )
    [authorize] = cluster.tenant_proxy.hops[seen:]
    assert authorize.replica == other
    assert answer.is_redirect, answer.text[:500]
    location = httpx.URL(answer.headers["location"])
    assert str(location).startswith(callback), location
    assert location.params.get("code"), location
    assert location.params.get("state") == "after-sso"


def test_a_workforce_admin_session_made_on_one_replica_is_honoured_by_the_other(
    cluster: Cluster,
) -> None:
    """The acme super admin signs in to the Admin Console on one workforce replica; the
    console's home page, served by the other, shows the console rather than the sign-in page."""
    proxy = cluster.workforce_proxy
    console = f"{cluster.workforce.url}/orgs/acme/admin"
    with httpx.Client(timeout=30, follow_redirects=False) as browser:
        page = browser.get(f"{console}/login")
        assert page.status_code == 200
        [form] = forms_of(page.text)
        fields = dict(form.fields)
        fields.update(username="admin@acme.example", password=cluster.acme_admin_password)
        seen = len(proxy.hops)
        signed_in = browser.post(httpx.URL(console).join(form.action), data=fields)
        assert signed_in.is_redirect, signed_in.text[:500]
        [made] = proxy.hops[seen:]
        proxy.skip_to(1 - made.replica)
        home = browser.get(console)
        served = proxy.hops[-1]
    assert served.replica != made.replica
    assert home.status_code == 200, home.text[:500]
    assert 'name="password"' not in home.text
    assert "Sign in to the Admin Console" not in home.text
