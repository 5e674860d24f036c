"""The rule of a throttling limit and the client address, without a database."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from expressway.config import Settings
from expressway.web.throttling import Limit, client_ip, describe_wait, parse_networks

TRUSTED = parse_networks(["10.0.0.0/8", "2001:db8::/32"])


def _after(limit: Limit, failures: int, now: float = 1000.0) -> float | None:
    clears_at: float | None = None
    for _ in range(failures):
        clears_at = limit.next_clears_at(clears_at, now)
    return clears_at


def test_a_limit_allows_its_attempts_in_a_burst_then_blocks() -> None:
    """N failures at once are allowed; the Nth blocks the next attempt."""
    limit = Limit(10, timedelta(minutes=15))
    assert not limit.is_blocked(_after(limit, 9), 1000.0)
    assert limit.is_blocked(_after(limit, 10), 1000.0)
    assert limit.failures(_after(limit, 10), 1000.0) == 10


def test_a_blocked_key_gets_one_attempt_back_per_interval() -> None:
    """Window/attempts after the block, one more attempt is allowed: 90 s for 10 per 15 min."""
    limit = Limit(10, timedelta(minutes=15))
    clears_at = _after(limit, 10)
    assert clears_at is not None
    assert limit.retry_after(clears_at, 1000.0) == 90
    assert limit.is_blocked(clears_at, 1089.0)
    assert not limit.is_blocked(clears_at, 1090.0)
    assert limit.failures(clears_at, 1090.0) == 9


def test_a_counter_left_alone_drains_completely_over_the_window() -> None:
    """W after the last failure nothing is counted any more."""
    limit = Limit(100, timedelta(days=1))
    clears_at = _after(limit, 100)
    assert limit.failures(clears_at, 1000.0 + 86400) == 0
    assert limit.next_clears_at(clears_at, 1000.0 + 86400) == 1000.0 + 86400 + 864


@given(
    attempts=st.integers(min_value=1, max_value=200),
    seconds=st.integers(min_value=1, max_value=10**7),
    spacing=st.floats(min_value=0, max_value=10**5),
)
def test_never_more_than_the_attempts_are_allowed_at_once(
    attempts: int, seconds: int, spacing: float
) -> None:
    """However failures are spaced, a key is blocked as soon as its counter holds N."""
    limit = Limit(attempts, timedelta(seconds=seconds))
    clears_at: float | None = None
    now = 0.0
    for _ in range(attempts * 2):
        if limit.is_blocked(clears_at, now):
            assert limit.failures(clears_at, now) >= attempts
            assert limit.retry_after(clears_at, now) >= 1  # type: ignore[arg-type]
        else:
            assert limit.failures(clears_at, now) < attempts
            clears_at = limit.next_clears_at(clears_at, now)
        now += spacing


def test_a_limit_needs_an_attempt_and_a_window() -> None:
    with pytest.raises(ValueError, match="at least one attempt"):
        Limit(0, timedelta(seconds=1))
    with pytest.raises(ValueError, match="positive window"):
        Limit(1, timedelta(0))


@pytest.mark.parametrize(
    ("peer", "forwarded", "expected"),
    [
        # No trusted proxy in front: the header is whatever the client wrote.
        ("198.51.100.1", ["203.0.113.9"], "198.51.100.1"),
        # A trusted proxy: the address it appended.
        ("10.0.0.5", ["203.0.113.9"], "203.0.113.9"),
        # What the client wrote left of the proxies' entries is not believed.
        ("10.0.0.5", ["1.2.3.4, 203.0.113.9, 10.0.0.7"], "203.0.113.9"),
        ("10.0.0.5", ["1.2.3.4", "203.0.113.9"], "203.0.113.9"),
        # Only trusted hops: the farthest one.
        ("10.0.0.5", ["10.0.0.6"], "10.0.0.6"),
        # A hop that is no address ends what can be believed.
        ("10.0.0.5", ["203.0.113.9, junk"], "10.0.0.5"),
        ("10.0.0.5", [], "10.0.0.5"),
        ("2001:db8::1", ["2001:db9::7"], "2001:db9::7"),
        ("testclient", ["203.0.113.9"], "testclient"),
        (None, ["203.0.113.9"], None),
    ],
)
def test_x_forwarded_for_is_read_only_through_trusted_proxies(
    peer: str | None, forwarded: list[str], expected: str | None
) -> None:
    """The client address: the peer, or the first untrusted hop from the right behind trusted
    proxies."""
    assert client_ip(peer, forwarded, TRUSTED) == expected


def test_without_trusted_proxies_the_header_is_never_read() -> None:
    assert client_ip("10.0.0.5", ["203.0.113.9"], ()) == "10.0.0.5"


def test_a_trusted_proxy_setting_that_is_no_network_is_refused() -> None:
    """A typo in the setting fails at start, not at the first request."""
    with pytest.raises(ValueError, match="trusted_proxies"):
        Settings(trusted_proxies=["10.0.0.0/8", "not-an-address"])
    assert Settings(trusted_proxies=["10.0.0.0/8"]).trusted_proxy_networks() == TRUSTED[:1]


@pytest.mark.parametrize(
    ("seconds", "said"),
    [
        (1, "1 minute"),
        (60, "1 minute"),
        (61, "2 minutes"),
        (7140, "119 minutes"),
        (7200, "2 hours"),
        (21600, "6 hours"),
        (21601, "7 hours"),
    ],
)
def test_a_wait_is_said_in_whole_minutes_then_whole_hours(seconds: int, said: str) -> None:
    """Rounded up, never promising a shorter wait than the real one."""
    assert describe_wait(seconds) == said
