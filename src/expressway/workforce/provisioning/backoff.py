"""How long a failed job waits before its next attempt.

Exponential backoff with full jitter (a uniformly random wait between zero and an exponentially
growing ceiling), so that many jobs failing together against an app that is down do not come
back together. When the app said how long to wait (``Retry-After``, in seconds or as an HTTP
date, RFC 9110 §10.2.3), that is honoured instead, within a day.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime

BASE = timedelta(seconds=5)
CEILING = timedelta(hours=1)
#: A ``Retry-After`` further out than this is read as this: a misconfigured app should not park
#: a job for a year.
MAX_RETRY_AFTER = timedelta(days=1)

_random = secrets.SystemRandom()


def full_jitter(attempt: int) -> timedelta:
    """A random wait in ``[0, min(CEILING, BASE · 2^(attempt-1))]`` after failed ``attempt``."""
    ceiling = min(CEILING.total_seconds(), BASE.total_seconds() * 2 ** max(attempt - 1, 0))
    return timedelta(seconds=_random.uniform(0, ceiling))


def retry_after(value: str | None, now: datetime) -> timedelta | None:
    """The wait a ``Retry-After`` header asks for; ``None`` when absent or unreadable."""
    if value is None:
        return None
    text = value.strip()
    if text.isascii() and text.isdigit():
        # More digits than a day has seconds would overflow timedelta on the way to the cap.
        wait = timedelta(seconds=int(text)) if len(text) <= 9 else MAX_RETRY_AFTER
    else:
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            return None
        wait = max(when - now, timedelta(0))
    return min(wait, MAX_RETRY_AFTER)
