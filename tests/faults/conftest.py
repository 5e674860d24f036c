"""Fault tests: real servers killed, restarted, or left without their database."""

from tests.interop.workforce_server import live_workforce  # noqa: F401 - shared session fixture
