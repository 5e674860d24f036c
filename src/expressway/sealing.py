"""Encryption of secrets at rest (private keys, upstream client secrets).

Values are sealed with Fernet (AES-128-CBC + HMAC-SHA256) under a key derived by HKDF from
``EXPRESSWAY_SECRET_KEY``, with a distinct ``purpose`` per kind of secret so that a value sealed
for one use cannot be unsealed as another.
"""

from __future__ import annotations

import base64

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


class SealError(Exception):
    """A sealed value could not be opened: wrong key, or tampered with."""


class Sealer:
    def __init__(self, secret_key: str, purpose: str) -> None:
        derived = HKDF(
            algorithm=hashes.SHA256(),
            length=32,
            salt=b"expressway-at-rest-v1",
            info=purpose.encode(),
        ).derive(secret_key.encode())
        self._fernet = Fernet(base64.urlsafe_b64encode(derived))

    def seal(self, plaintext: bytes) -> str:
        return self._fernet.encrypt(plaintext).decode()

    def open(self, sealed: str) -> bytes:
        try:
            return self._fernet.decrypt(sealed.encode())
        except InvalidToken as exc:
            raise SealError(
                "sealed value cannot be opened with this EXPRESSWAY_SECRET_KEY"
            ) from exc
