"""Argon2id's parameters: OWASP's configuration by default, others from the settings, and
nothing weaker than OWASP's minimum accepted."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher
from pydantic import ValidationError

from expressway import hashing
from expressway.config import OWASP_ARGON2ID_MINIMUMS, Settings


def _parameters(stored_hash: str) -> str:
    return stored_hash.split("$")[3]


def test_new_passwords_get_owasps_configuration_by_default() -> None:
    """7 MiB and 5 passes (a row of the OWASP Password Storage Cheat Sheet, and Keycloak's
    default), in one lane."""
    stored = hashing.hash_password("correct horse")
    assert _parameters(stored) == "m=7168,t=5,p=1"
    assert hashing.rehash_if_needed(stored, "correct horse") is None


def test_a_hash_with_other_parameters_still_verifies_and_is_rehashed() -> None:
    old = PasswordHasher(memory_cost=65_536, time_cost=3, parallelism=4).hash("correct horse")
    assert hashing.verify_password(old, "correct horse")
    renewed = hashing.rehash_if_needed(old, "correct horse")
    assert renewed is not None
    assert _parameters(renewed) == "m=7168,t=5,p=1"
    assert hashing.verify_password(renewed, "correct horse")


def test_the_settings_choose_the_parameters(monkeypatch: pytest.MonkeyPatch) -> None:
    """One of OWASP's equivalent rows, through the environment, as a process reads it."""
    monkeypatch.setenv("EXPRESSWAY_PASSWORD_HASH_MEMORY_KIB", "12288")
    monkeypatch.setenv("EXPRESSWAY_PASSWORD_HASH_TIME_COST", "3")
    monkeypatch.setenv("EXPRESSWAY_PASSWORD_HASH_PARALLELISM", "2")
    hashing.reload_password_hash_parameters()
    try:
        stored = hashing.hash_password("correct horse")
        assert _parameters(stored) == "m=12288,t=3,p=2"
        default = PasswordHasher(memory_cost=7_168, time_cost=5, parallelism=1)
        assert hashing.rehash_if_needed(default.hash("correct horse"), "correct horse")
    finally:
        monkeypatch.undo()
        hashing.reload_password_hash_parameters()
    assert _parameters(hashing.hash_password("correct horse")) == "m=7168,t=5,p=1"


@pytest.mark.parametrize(("memory_kib", "time_cost"), OWASP_ARGON2ID_MINIMUMS)
def test_each_of_owasps_rows_is_accepted(memory_kib: int, time_cost: int) -> None:
    settings = Settings(password_hash_memory_kib=memory_kib, password_hash_time_cost=time_cost)
    assert settings.password_hash_memory_kib == memory_kib


@pytest.mark.parametrize(
    ("memory_kib", "time_cost"),
    [(19_455, 2), (19_456, 1), (46_000, 1), (7_168, 4), (12_288, 2)],
)
def test_a_configuration_weaker_than_owasps_is_refused(memory_kib: int, time_cost: int) -> None:
    with pytest.raises(ValidationError, match="weaker than OWASP's minimum"):
        Settings(password_hash_memory_kib=memory_kib, password_hash_time_cost=time_cost)


def test_less_memory_than_owasps_smallest_row_is_refused() -> None:
    with pytest.raises(ValidationError, match="greater than or equal to 7168"):
        Settings(password_hash_memory_kib=4_096, password_hash_time_cost=10)


@pytest.mark.parametrize(
    ("memory_kib", "time_cost", "lanes"),
    [(19_456, 2, 1), (19_456, 2, 2), (7_168, 5, 2)],
    ids=["19 MiB in one lane", "19 MiB in two lanes", "7 MiB in two lanes"],
)
def test_a_hash_of_an_earlier_default_moves_to_the_current_at_its_next_sign_in(
    memory_kib: int, time_cost: int, lanes: int
) -> None:
    """Hashes stored under the earlier defaults: OWASP's 19 MiB row in one lane and then in two,
    then the current row in two lanes."""
    earlier = PasswordHasher(memory_cost=memory_kib, time_cost=time_cost, parallelism=lanes).hash(
        "correct horse"
    )
    assert hashing.check_password(earlier, "wrong horse").rehashed is None
    checked = hashing.check_password(earlier, "correct horse")
    assert checked.matches
    assert checked.rehashed is not None
    assert _parameters(checked.rehashed) == "m=7168,t=5,p=1"
