"""How Auth0 updates the metadata of clients, organizations and users."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def merge_metadata(current: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    """``current`` with ``changes`` merged at the root, where a ``null`` value deletes its key.

    Always a new dict, never ``current`` changed in place: a JSON column notices only assignment.
    """
    merged = dict(current)
    for key, value in changes.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged
