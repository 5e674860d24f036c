"""Fixtures of the storage tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.databases import fresh_database


@pytest.fixture
def empty_database(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A database of its own, with no tables, on the backend named by the test's parameter."""
    with fresh_database(request.param, tmp_path_factory.mktemp("migrations")) as url:
        yield url
