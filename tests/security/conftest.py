"""The security tests use both systems: the tenant fixtures of ``tests/conftest.py`` and the
workforce fixtures, brought in here."""

from __future__ import annotations

from tests.workforce.conftest import workforce, workforce_database, workforce_seed

__all__ = ["workforce", "workforce_database", "workforce_seed"]
