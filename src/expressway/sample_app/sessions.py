"""The sample app's server-side sessions, and the Logout Token ids it has already acted on.

The browser's cookie holds only a random session id; what the session knows (who signed in, the
ID token's ``sid``, the refresh token) stays here, so that a back-channel logout from the tenant
can end it: a session kept whole in a cookie could not be ended from the server.

Both live in this process's memory, bounded: the sample app is one process, and a restart
signing everyone out is what a demo app may do. The store is keyed by the SHA-256 of the cookie,
as the tenant keeps its own sessions, so a dump of the process's memory opens no session.
"""

from __future__ import annotations

import secrets
import threading
from collections import OrderedDict
from dataclasses import dataclass, replace

from expressway import hashing
from expressway.sample_app.oidc import SignedIn

#: Most sessions kept at once; past it, the oldest one is dropped.
MAX_SESSIONS = 10_000
#: Most Logout Token ids remembered at once (each only until its token expires).
MAX_SEEN_TOKENS = 10_000


@dataclass(frozen=True)
class LocalSession:
    """A signed-in browser: who, until when, and what the tenant gave the app for them."""

    signed_in: SignedIn
    #: The ID token's ``sid``: the tenant's login session this one came from.
    sid: str | None
    #: Kept on the server only, never in a cookie or a page.
    refresh_token: str | None
    expires_at: int


class SessionStore:
    """Sessions by cookie; each can be ended by its cookie, its ``sid`` or its subject."""

    def __init__(self, max_sessions: int = MAX_SESSIONS) -> None:
        self._lock = threading.Lock()
        self._sessions: OrderedDict[str, LocalSession] = OrderedDict()
        self._max = max_sessions

    def open(self, session: LocalSession, now: int) -> str:
        """Keep ``session``; answer the cookie value that finds it again."""
        cookie = secrets.token_urlsafe(32)
        with self._lock:
            self._sweep(now)
            while len(self._sessions) >= self._max:
                self._sessions.popitem(last=False)
            self._sessions[hashing.hash_token(cookie)] = session
        return cookie

    def find(self, cookie: str | None, now: int) -> LocalSession | None:
        """The live session of a cookie, or None (no cookie, unknown, ended or expired)."""
        if not cookie or len(cookie) > 128:
            return None
        with self._lock:
            found = self._sessions.get(hashing.hash_token(cookie))
        return found if found is not None and now < found.expires_at else None

    def replace_refresh_token(self, cookie: str, refresh_token: str | None) -> None:
        key = hashing.hash_token(cookie)
        with self._lock:
            found = self._sessions.get(key)
            if found is not None:
                self._sessions[key] = replace(found, refresh_token=refresh_token)

    def end(self, cookie: str | None) -> None:
        if cookie and len(cookie) <= 128:
            with self._lock:
                self._sessions.pop(hashing.hash_token(cookie), None)

    def end_matching(self, *, sub: str | None, sid: str | None) -> int:
        """End the sessions a Logout Token names (Back-Channel Logout 1.0 §2.7): with a
        ``sid``, that login session's (of ``sub``, when it is given too); with only ``sub``,
        every session of that user. Answer how many ended."""
        if sub is None and sid is None:
            return 0
        with self._lock:
            doomed = [
                key
                for key, session in self._sessions.items()
                if (sid is None or session.sid == sid)
                and (sub is None or session.signed_in.subject == sub)
            ]
            for key in doomed:
                del self._sessions[key]
        return len(doomed)

    def _sweep(self, now: int) -> None:
        for key in [k for k, s in self._sessions.items() if s.expires_at <= now]:
            del self._sessions[key]


class SeenTokens:
    """``jti`` values of Logout Tokens already acted on, each until its token expires: a token
    replayed within its lifetime is refused (Back-Channel Logout 1.0 §2.6 step 8)."""

    def __init__(self, max_tokens: int = MAX_SEEN_TOKENS) -> None:
        self._lock = threading.Lock()
        self._seen: OrderedDict[str, int] = OrderedDict()
        self._max = max_tokens

    def first_use(self, jti: str, expires_at: int, now: int) -> bool:
        """Record ``jti``; answer whether it was new."""
        with self._lock:
            for old in [j for j, exp in self._seen.items() if exp < now]:
                del self._seen[old]
            if jti in self._seen:
                return False
            while len(self._seen) >= self._max:
                self._seen.popitem(last=False)
            self._seen[jti] = expires_at
        return True
