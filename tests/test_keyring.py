"""Opened signing keys kept per owner (:class:`expressway.keyring.KeyCache`): opened again for a
``kid`` they do not know, which another replica's rotation makes, but not for every made-up one."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from expressway import keyring
from expressway.keyring import MISS_RELOAD_SECONDS, KeyCache, OpenedKeys
from expressway.sealing import Sealer

SEALER = Sealer("keyring-test-secret-key-of-enough-length", "signing-keys")


@dataclass
class Row:
    kid: str
    alg: str
    state: str
    private_pem_sealed: str
    public_jwk: dict[str, object]


def _new_row(state: str) -> Row:
    key = keyring.generate_sealed_key(SEALER)
    return Row(key.kid, "RS256", state, key.private_pem_sealed, dict(key.public_jwk))


class Store:
    """The rows of each owner, and how many times the cache opened them."""

    def __init__(self) -> None:
        self.rows = {"a": [_new_row("current")], "b": [_new_row("current")]}
        self.opened: list[str] = []

    def load(self, owner: str) -> OpenedKeys:
        self.opened.append(owner)
        return keyring.open_keys(self.rows[owner], SEALER, missing="no key")


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def store() -> Store:
    return Store()


def test_keys_are_opened_once_and_kept(store: Store) -> None:
    cache = KeyCache(store.load)
    first = cache.get("a")
    kid = store.rows["a"][0].kid
    assert cache.get("a", kid=kid) is first
    assert cache.get("a") is first
    assert store.opened == ["a"]


def test_a_key_rotated_elsewhere_is_seen_at_its_first_token(store: Store) -> None:
    clock = Clock()
    cache = KeyCache(store.load, clock=clock)
    cache.get("a")
    rotated = _new_row("current")
    store.rows["a"] = [_new_row("previous"), rotated]
    assert cache.get("a", kid=rotated.kid).knows(rotated.kid)
    assert store.opened == ["a", "a"]


def test_made_up_kids_open_the_keys_again_at_most_once_a_while(store: Store) -> None:
    clock = Clock()
    cache = KeyCache(store.load, clock=clock)
    cache.get("a")
    cache.get("b")
    for number in range(50):
        assert not cache.get("a", kid=f"made-up-{number}").knows(f"made-up-{number}")
        clock.now += MISS_RELOAD_SECONDS / 100
    # One opening for the first unknown kid, none for the 49 after it; the other owner's keys
    # are not held back by it.
    assert store.opened == ["a", "b", "a"]
    rotated = _new_row("current")
    store.rows["b"] = [rotated]
    assert cache.get("b", kid=rotated.kid).knows(rotated.kid)

    clock.now += MISS_RELOAD_SECONDS
    store.rows["a"] = [rotated]
    assert cache.get("a", kid=rotated.kid).knows(rotated.kid)
    assert store.opened == ["a", "b", "a", "b", "a"]
