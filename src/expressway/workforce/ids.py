"""Okta-style object ids: a three-character type prefix and 17 base62 characters.

``00u`` users, ``00g`` groups, ``0oa`` apps, ``00T`` API tokens, ``00o`` orgs. The first eight
characters after the prefix count milliseconds (until 2059) in base 36: digits and lower-case
letters, which every database collation orders alike. Ids so sort in creation order: list pages
follow creation and an ``after`` cursor is simply the last id of a page. The rest is random.
"""

from __future__ import annotations

import secrets
import string
from datetime import datetime

_BASE36 = string.digits + string.ascii_lowercase
_BASE62 = string.digits + string.ascii_uppercase + string.ascii_lowercase
_TIME_CHARS = 8
_RANDOM_CHARS = 9

USER = "00u"
GROUP = "00g"
APP = "0oa"
API_TOKEN = "00T"
ORG = "00o"
ROLE_ASSIGNMENT = "ra1"


def _base36(value: int, width: int) -> str:
    digits = []
    for _ in range(width):
        value, digit = divmod(value, 36)
        digits.append(_BASE36[digit])
    return "".join(reversed(digits))


def okta_id(prefix: str, at: datetime) -> str:
    """A new id of the type ``prefix``, made at ``at``; ids made later sort after it."""
    millis = int(at.timestamp() * 1000)
    random_part = "".join(secrets.choice(_BASE62) for _ in range(_RANDOM_CHARS))
    return prefix + _base36(millis, _TIME_CHARS) + random_part


def api_token() -> str:
    """An ``SSWS`` token: ``00`` and 40 URL-safe characters (240 bits), like Okta's."""
    return "00" + secrets.token_urlsafe(30)


def client_secret() -> str:
    """An OIDC client secret with 384 bits of entropy."""
    return secrets.token_urlsafe(48)


def error_id() -> str:
    """The ``errorId`` of an error answer, by which a report can be found in the logs."""
    return "oae" + "".join(secrets.choice(_BASE62) for _ in range(22))
