"""Identifiers and random secrets.

Object ids carry Auth0's prefixes (``org_``, ``rol_``, ``con_``, ``cred_``, ``cop_``, ``uap_``,
``cgr_``) followed by 16 random base62 characters, as Auth0's do.
"""

from __future__ import annotations

import secrets
import string

_ALPHABET = string.ascii_letters + string.digits


def random_id(length: int = 16) -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))


def prefixed_id(prefix: str, length: int = 16) -> str:
    """An id such as ``org_Ab3dE…``."""
    return f"{prefix}_{random_id(length)}"


def client_id() -> str:
    """A client id: 32 base62 characters, like Auth0's."""
    return random_id(32)


def client_secret() -> str:
    """A client secret with 384 bits of entropy."""
    return secrets.token_urlsafe(48)
