"""Brute-force throttling rules shared by both systems, with no I/O: how failures are counted,
when a key is blocked and for how long, and which address a request comes from.

A :class:`Limit` allows ``attempts`` failures at once, then gives one attempt back every
``window / attempts``: after a burst of ``attempts`` failures the key is blocked, and a key left
alone is wholly clear again ``window`` after its last failure. This is the generic cell rate
algorithm (GCRA): each counter is one number, the moment its counted failures have all drained
(``clears_at``), so that a database can move it forward in one atomic statement
(:func:`expressway.storage.counters.count_failure`) and every replica on that database shares it.
It is the shape of Auth0's Suspicious IP throttling (100 attempts, one more every 864 seconds).

Attempts refused because the key is blocked are not counted: a blocked key gets its next
attempt when one has drained, however often it knocks, and a client whose secret was fixed gets
through within one interval.
"""

from __future__ import annotations

import ipaddress
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta

from starlette.requests import Request

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

#: A millionth of an interval: below it, two counters are taken to be the same.
_SLACK = 1e-6


@dataclass(frozen=True)
class Limit:
    """At most ``attempts`` failures at once, refilled evenly over ``window``."""

    attempts: int
    window: timedelta

    def __post_init__(self) -> None:
        if self.attempts < 1 or self.window <= timedelta(0):
            raise ValueError("a limit needs at least one attempt and a positive window")

    @property
    def interval(self) -> float:
        """Seconds after which one more attempt is allowed again."""
        return self.window.total_seconds() / self.attempts

    @property
    def tolerance(self) -> float:
        """How far ahead of now ``clears_at`` may be while one more attempt is still allowed:
        ``attempts - 1`` intervals, and a millionth of one more, so that the float sums of
        many intervals never block one attempt early."""
        return (self.attempts - 1 + _SLACK) * self.interval

    def next_clears_at(self, clears_at: float | None, now: float) -> float:
        """The counter after one more failure at ``now`` (the storage computes the same in SQL)."""
        start = clears_at if clears_at is not None and clears_at > now else now
        return start + self.interval

    def blocked_beyond(self, now: float) -> float:
        """A counter whose ``clears_at`` is later than this is blocked at ``now``."""
        return now + self.tolerance

    def is_blocked(self, clears_at: float | None, now: float) -> bool:
        """Whether a further attempt must be refused without being tried."""
        return clears_at is not None and clears_at > self.blocked_beyond(now)

    def retry_after(self, clears_at: float, now: float) -> int:
        """Whole seconds until the next attempt is allowed (RFC 9110 ``Retry-After``), >= 1."""
        return max(1, math.ceil(clears_at - self.blocked_beyond(now)))

    def failures(self, clears_at: float | None, now: float) -> int:
        """How many failures the counter still holds at ``now``: ``attempts`` or more exactly
        when :meth:`is_blocked`."""
        if clears_at is None or clears_at <= now:
            return 0
        return max(0, math.ceil((clears_at - now) / self.interval - _SLACK))


def describe_wait(seconds: int) -> str:
    """A wait for a person to read: whole minutes up to two hours, then whole hours."""
    minutes = -(-seconds // 60)
    if minutes < 120:
        return f"{minutes} minute{'s' if minutes != 1 else ''}"
    return f"{-(-minutes // 60)} hours"


def parse_networks(values: Iterable[str]) -> tuple[IPNetwork, ...]:
    """Addresses or CIDR networks, as the trusted-proxy setting lists them; ValueError if one
    is neither."""
    return tuple(ipaddress.ip_network(value.strip(), strict=False) for value in values)


def _address(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(value.strip())
    except ValueError:
        return None


def is_trusted_proxy(value: str, trusted: Sequence[IPNetwork]) -> bool:
    """Whether ``value`` is an address within one of the ``trusted`` networks."""
    address = _address(value)
    return address is not None and any(address in network for network in trusted)


def client_ip(
    peer: str | None, forwarded_for: Sequence[str], trusted: Sequence[IPNetwork]
) -> str | None:
    """The address a request comes from.

    The connection's peer, unless that peer is a trusted proxy: then ``X-Forwarded-For`` is read
    from its right end, where the trusted proxies appended what they saw, skipping the trusted
    hops; the first untrusted address is the client. Everything left of it was written by the
    client and is not believed. Without trusted proxies the header is never read at all.
    """
    if peer is None or not trusted or not is_trusted_proxy(peer, trusted):
        return peer
    hops = [hop.strip() for header in forwarded_for for hop in header.split(",") if hop.strip()]
    nearest = peer
    for hop in reversed(hops):
        if _address(hop) is None:
            # A trusted proxy writes addresses only: what follows is not theirs to vouch for.
            return nearest
        if not is_trusted_proxy(hop, trusted):
            return hop
        nearest = hop
    return nearest


def request_ip(request: Request) -> str | None:
    """The client address of a request, as :class:`~expressway.web.proxies.TrustedProxyHeaders`
    (in front of every application) settled it with :func:`client_ip`."""
    return request.client.host if request.client else None
