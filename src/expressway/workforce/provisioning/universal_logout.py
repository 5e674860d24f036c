"""Universal Logout deliveries: Okta's Universal Logout API call to an app (Global Token
Revocation, draft-parecki-oauth-global-token-revocation, with the request authenticated by a JWT
the org signs).

``POST {endpoint}`` with ``Authorization: Bearer <JWT>`` and
``{"sub_id": {"format": "iss_sub", "iss": <org issuer>, "sub": <workforce user id>}}``. The JWT's
header has ``typ: global-token-revocation+jwt``, ``alg: RS256`` and the ``kid`` of the org's
current signing key, which the app finds in the org's JWKS; its claims are ``iss`` (the org's
issuer), ``aud`` (the endpoint, so the token is good at no other receiver), ``iat``, a short
``exp`` and a ``jti`` the receiver never accepts twice. A fresh token is signed for each attempt,
so a retry an hour later is not refused as expired or replayed.

``204`` (any 2xx) is success; the network, a 5xx and a 429 are retried; any other answer fails
the delivery with the receiver's ``error_description``.
"""

from __future__ import annotations

import secrets
from typing import Any

import httpx

from expressway import jose
from expressway.workforce.provisioning import backoff
from expressway.workforce.provisioning.context import Result, Run
from expressway.workforce.provisioning.jobs import Done, Fail, Retry

TOKEN_TYPE = "global-token-revocation+jwt"
#: Seconds the token lives: long enough for the request, and no use to anyone afterwards.
TOKEN_LIFETIME = 60
TOO_MANY_REQUESTS = 429


def logout_token(run: Run, endpoint: str, issuer: str) -> str:
    issued = int(run.now.timestamp())
    claims = {
        "iss": issuer,
        "aud": endpoint,
        "iat": issued,
        "exp": issued + TOKEN_LIFETIME,
        "jti": secrets.token_urlsafe(24),
    }
    return jose.sign_jwt(claims, run.runtime.signing_keys.current(run.claim.org_id), typ=TOKEN_TYPE)


def request_body(issuer: str, user_id: str) -> dict[str, Any]:
    return {"sub_id": {"format": "iss_sub", "iss": issuer, "sub": user_id}}


def _refusal(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        body = None
    description = body.get("error_description") if isinstance(body, dict) else None
    error = body.get("error") if isinstance(body, dict) else None
    said = ": ".join(str(part)[:300] for part in (error, description) if part)
    return f"the app answered {response.status_code}" + (f" ({said})" if said else "")


def deliver(run: Run) -> Result:
    endpoint = str(run.claim.payload.get("endpoint"))
    issuer = str(run.claim.payload.get("issuer"))
    token = logout_token(run, endpoint, issuer)
    try:
        response = run.http.post(
            endpoint,
            json=request_body(issuer, run.claim.subject_id),
            headers={"Authorization": f"Bearer {token}"},
        )
    except httpx.HTTPError as exc:
        return Result(Retry(f"the app did not answer ({type(exc).__name__})"))
    if 200 <= response.status_code < 300:
        return Result(Done({"endpoint": endpoint, "status": response.status_code}))
    if response.status_code == TOO_MANY_REQUESTS or response.status_code >= 500:
        wait = backoff.retry_after(response.headers.get("retry-after"), run.now)
        return Result(Retry(_refusal(response), wait))
    return Result(Fail(_refusal(response)))
