"""The tenant's back-channel logout outbox is delivered once, however many tenant processes run
its worker: a worker claims due rows with a conditional update (the row's next attempt moved a
lease ahead), so a second worker reading the same rows finds them taken.

One browser session signs in to sixty applications, then logs out: sixty Logout Tokens are owed
at once, more than one worker claims in a round (fifty), so both tenant workers deliver some. The
receiver, slow on purpose so that the deliveries overlap, gets each application's token once,
and every outbox row is delivered on its first attempt."""

from __future__ import annotations

import asyncio
import base64
import json
import secrets
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from expressway.tenant.authn.backchannel_logout import BATCH
from expressway.tenant.rows import BackchannelLogoutRow
from tests.e2e.story import PASSWORD, Person, tenant_api
from tests.interop.conftest import free_port
from tests.scaleout.conftest import Cluster
from tests.scaleout.processes import owner_of_port
from tests.scaleout.proxy import served

pytestmark = pytest.mark.postgres

#: More Logout Tokens than one worker claims in a round, so that both workers get some.
APPLICATIONS = BATCH + 10
#: Seconds the receiver takes to answer: the first worker's batch is still being delivered
#: when the second worker looks at the outbox.
RECEIVER_DELAY = 0.05


@dataclass
class Receiver:
    """The applications' back-channel logout endpoint (one URL for all of them)."""

    tenant_pids: dict[str, int]
    #: (aud, sid, which tenant process sent it) of every Logout Token received.
    received: list[tuple[str, str, str | None]] = field(default_factory=list)

    def app(self) -> Starlette:
        async def callback(_request: Request) -> Response:
            return PlainTextResponse("signed in")

        async def logout(request: Request) -> Response:
            port = request.client.port if request.client else 0
            sender = owner_of_port(port, self.tenant_pids, remote_port=request.scope["server"][1])
            token = str((await request.form())["logout_token"])
            payload = token.split(".")[1]
            claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
            self.received.append((claims["aud"], claims["sid"], sender))
            await asyncio.sleep(RECEIVER_DELAY)
            return Response(status_code=200)

        return Starlette(
            routes=[
                Route("/callback", callback),
                Route("/backchannel-logout", logout, methods=["POST"]),
            ]
        )


def sign_in(browser: httpx.Client, cluster: Cluster, client: dict[str, Any], email: str) -> str:
    """Authorize, sign in when asked, and redeem the code; answers the ID token's ``sid``."""
    callback = client["callbacks"][0]
    person = Person(browser, email)
    arrived = person.walk(
        str(
            httpx.URL(
                f"{cluster.tenant.url}/authorize",
                params={
                    "client_id": client["client_id"],
                    "response_type": "code",
                    "redirect_uri": callback,
                    "scope": "openid",
                    "state": secrets.token_urlsafe(8),
                    "nonce": secrets.token_urlsafe(8),
                },
            )
        ),
        stop_at=callback,
    )
    code = arrived.url.params["code"]
    tokens = browser.post(
        f"{cluster.tenant.url}/oauth/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": callback,
            "client_id": client["client_id"],
            "client_secret": client["client_secret"],
        },
    )
    assert tokens.status_code == 200, tokens.text
    payload = tokens.json()["id_token"].split(".")[1]
    sid: str = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["sid"]
    return sid


def test_two_tenant_workers_deliver_each_logout_token_once(cluster: Cluster) -> None:
    tenant_pids = {r.name: r.process.pid for r in cluster.tenant_replicas}
    receiver = Receiver(tenant_pids)
    port = free_port()
    with served(receiver.app(), port) as receiver_url, httpx.Client(timeout=30) as http:
        api = tenant_api(cluster.tenant, http)
        suffix = secrets.token_hex(3)
        email = f"bcl-{suffix}@scaleout.example"
        api(
            "POST",
            "/users",
            {
                "connection": "Username-Password-Authentication",
                "email": email,
                "password": PASSWORD,
            },
        )
        clients = [
            api(
                "POST",
                "/clients",
                {
                    "name": f"Logout app {index} {suffix}",
                    "app_type": "regular_web",
                    "callbacks": [f"{receiver_url}/callback"],
                    "allowed_logout_urls": [f"{receiver_url}/"],
                    "grant_types": ["authorization_code"],
                    "oidc_logout": {
                        "backchannel_logout_urls": [f"{receiver_url}/backchannel-logout"],
                        "backchannel_logout_initiators": {"mode": "all"},
                    },
                },
            )
            for index in range(APPLICATIONS)
        ]
        database = next(
            c for c in api("GET", "/connections") if c["name"] == "Username-Password-Authentication"
        )
        for first in range(0, APPLICATIONS, 50):  # the endpoint takes 50 clients at a time
            api(
                "PATCH",
                f"/connections/{database['id']}/clients",
                [
                    {"client_id": c["client_id"], "status": True}
                    for c in clients[first : first + 50]
                ],
            )
        with httpx.Client(timeout=30, follow_redirects=False) as browser:
            sids = {sign_in(browser, cluster, client, email) for client in clients}
            assert len(sids) == 1, "one session signed in to every application"
            logout = browser.get(
                f"{cluster.tenant.url}/v2/logout",
                params={"client_id": clients[0]["client_id"], "returnTo": f"{receiver_url}/"},
            )
            assert logout.is_redirect, logout.text
        deadline = time.monotonic() + 60
        while len(receiver.received) < APPLICATIONS:
            assert time.monotonic() < deadline, f"{len(receiver.received)} of {APPLICATIONS}"
            time.sleep(0.1)
        # Longer than a worker's poll: a second delivery would have come by now.
        time.sleep(2.5)
    audiences = Counter(aud for aud, _, _ in receiver.received)
    assert audiences == Counter({c["client_id"]: 1 for c in clients})
    assert {sid for _, sid, _ in receiver.received} == sids
    senders = Counter(sender for _, _, sender in receiver.received)
    assert set(senders) == {"tenant-0", "tenant-1"}, senders
    engine = sa.create_engine(cluster.tenant_database)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                sa.select(BackchannelLogoutRow.state, BackchannelLogoutRow.attempts).where(
                    BackchannelLogoutRow.client_id.in_([c["client_id"] for c in clients])
                )
            ).all()
    finally:
        engine.dispose()
    assert sorted(rows) == [("delivered", 1)] * APPLICATIONS
