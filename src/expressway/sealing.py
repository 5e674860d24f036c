"""Encryption of secrets at rest (private keys, upstream client secrets).

Values are sealed with Fernet (AES-128-CBC + HMAC-SHA256) under a key derived by HKDF from
``EXPRESSWAY_SECRET_KEY``, with a distinct ``purpose`` per kind of secret so that a value sealed
for one use cannot be unsealed as another.

The secret key can be rotated: the keys it replaced (``EXPRESSWAY_SECRET_KEY_FALLBACKS``) still
open what they sealed, and everything new is sealed under the current one (Fernet's own
``MultiFernet``); :meth:`Sealer.reseal` moves a stored value to the current key, which is what
``expressway tenant reseal`` and ``expressway workforce reseal`` do to every value of a database
(:mod:`expressway.storage.resealing`), after which the fallbacks can go.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


class SealError(Exception):
    """A sealed value could not be opened: wrong key, or tampered with."""


_UNOPENED = (
    "sealed value cannot be opened with this EXPRESSWAY_SECRET_KEY"
    " or any of EXPRESSWAY_SECRET_KEY_FALLBACKS"
)


def _fernet(secret_key: str, purpose: str) -> Fernet:
    derived = HKDF(
        algorithm=hashes.SHA256(),
        length=32,
        salt=b"expressway-at-rest-v1",
        info=purpose.encode(),
    ).derive(secret_key.encode())
    return Fernet(base64.urlsafe_b64encode(derived))


class Sealer:
    """Seals under ``secret_key``; opens what it or any of ``fallbacks`` sealed."""

    def __init__(self, secret_key: str, purpose: str, fallbacks: Sequence[str] = ()) -> None:
        self._current = _fernet(secret_key, purpose)
        self._any = MultiFernet(
            [self._current, *(_fernet(key, purpose) for key in fallbacks if key != secret_key)]
        )

    def seal(self, plaintext: bytes) -> str:
        return self._current.encrypt(plaintext).decode()

    def open(self, sealed: str) -> bytes:
        try:
            return self._any.decrypt(sealed.encode())
        except InvalidToken as exc:
            raise SealError(_UNOPENED) from exc

    def reseal(self, sealed: str) -> str | None:
        """``sealed`` sealed again under the current key; None when it already is.

        Raises :class:`SealError` when no key opens it."""
        try:
            self._current.decrypt(sealed.encode())
        except InvalidToken:
            pass
        else:
            return None
        try:
            # Keeps the value's original timestamp; Fernet's TTLs are not used here.
            return self._any.rotate(sealed.encode()).decode()
        except InvalidToken as exc:
            raise SealError(_UNOPENED) from exc
