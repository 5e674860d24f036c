"""Running schemathesis in-process against an app's OpenAPI document, through the fixture's
``TestClient``, so that no network and no second application lifespan are involved.

Each operation gets its own Hypothesis run of positive cases (valid by the schema) and negative
cases (invalid by the schema). Every answer must be no 5xx, of the documented content type, valid
against the documented schema of its status, and a 4xx for a negative case.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import CHECKS, load_all_checks
from schemathesis.generation.case import Case

load_all_checks()
#: The checks every answer must pass. ``status_code_conformance`` is left out on purpose: the
#: documents list only the success status, while the APIs answer the error statuses of Auth0
#: and Okta (400, 401, 403, 404, 409), each in its documented error shape.
CHECKS_APPLIED = [
    CHECKS.get_one(name)
    for name in (
        "not_a_server_error",
        "content_type_conformance",
        "response_schema_conformance",
        "negative_data_rejection",
    )
]


@dataclass
class FuzzRun:
    """What a run did: cases sent per operation, the statuses seen, and the wall time."""

    cases: dict[str, int] = field(default_factory=dict)
    statuses: dict[int, int] = field(default_factory=dict)
    seconds: float = 0.0
    #: How many operations the document has under the fuzzed paths.
    operations: int = 0

    @property
    def total(self) -> int:
        return sum(self.cases.values())

    def summary(self) -> str:
        statuses = ", ".join(f"{code}: {n}" for code, n in sorted(self.statuses.items()))
        return (
            f"{self.total} cases over {len(self.cases)} operations in {self.seconds:.1f} s "
            f"(statuses {statuses})"
        )


def send(client: TestClient, case: Case, headers: Mapping[str, str]) -> httpx.Response:
    """Send ``case`` through ``client``: the requests-style arguments schemathesis prepares,
    made into httpx's (a JSON body is sent as generated, ``null`` included)."""
    kwargs = case.as_transport_kwargs(base_url=str(client.base_url), headers=dict(headers))
    extra: dict[str, Any] = {}
    if "json" in kwargs:
        extra["content"] = json.dumps(kwargs["json"]).encode()
    elif isinstance(kwargs.get("data"), dict):
        extra["data"] = kwargs["data"]
    elif kwargs.get("data") is not None:
        extra["content"] = kwargs["data"]
    if kwargs.get("files"):
        extra["files"] = kwargs["files"]
    client.cookies.clear()
    return client.request(
        kwargs["method"],
        kwargs["url"],
        params=kwargs.get("params") or None,
        headers=kwargs.get("headers"),
        cookies=kwargs.get("cookies") or None,
        **extra,
    )


def fuzz(
    client: TestClient,
    document: dict[str, Any],
    *,
    paths: str,
    examples_per_operation: int,
    headers: Mapping[str, str],
    path_parameters: Mapping[str, Any] | None = None,
    known_ids: Callable[[str], dict[str, str]] | None = None,
    last: tuple[str, ...] = (),
    bodies: Mapping[str, st.SearchStrategy[Any]] | None = None,
) -> FuzzRun:
    """Fuzz every operation of ``document`` whose path matches ``paths``; raise on the first
    check that fails (Hypothesis shrinks it to the smallest failing case first).

    ``known_ids(path)`` names existing objects for the path's parameters: a third of the
    positive cases then reach an object that exists instead of a 404. ``bodies`` gives, by
    operation (``"POST /path"``), realistic bodies that pass the checks a schema cannot say.
    """
    schema = schemathesis.openapi.from_dict(document).include(path_regex=paths)
    run = FuzzRun()
    started = time.perf_counter()
    operations = [result.ok() for result in schema.get_all_operations()]
    # Deletions last, so that the objects named by known_ids live through the other operations;
    # ``last`` (an operation that ends the caller's own credential) after everything.
    operations.sort(key=lambda op: (op.path in last, op.method.lower() == "delete"))
    run.operations = len(operations)
    for operation in operations:
        fixed = dict(path_parameters or {})
        strategies = [
            operation.as_strategy(mode, headers=dict(headers), path_parameters=fixed or None)
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
        ]
        existing = {**(known_ids(operation.path) if known_ids else {}), **fixed}
        if existing:
            strategies.append(
                operation.as_strategy(
                    GenerationMode.POSITIVE, headers=dict(headers), path_parameters=existing
                )
            )
        label = f"{operation.method.upper()} {operation.path}"
        realistic = (bodies or {}).get(label)
        if realistic is not None:
            strategies.append(
                realistic.flatmap(
                    lambda body, operation=operation: operation.as_strategy(
                        GenerationMode.POSITIVE, headers=dict(headers), body=body
                    )
                )
            )
        _fuzz_operation(
            client,
            st.one_of(strategies),
            label,
            examples_per_operation,
            headers,
            run,
        )
    run.seconds = time.perf_counter() - started
    return run


def _fuzz_operation(
    client: TestClient,
    cases: st.SearchStrategy[Case],
    label: str,
    examples: int,
    headers: Mapping[str, str],
    run: FuzzRun,
) -> None:
    # Derandomized: CI runs the same cases every time, and a failure is reproduced by rerunning.
    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate, Phase.shrink],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=cases)
    def check(case: Case) -> None:
        response = send(client, case, headers)
        run.cases[label] = run.cases.get(label, 0) + 1
        run.statuses[response.status_code] = run.statuses.get(response.status_code, 0) + 1
        case.validate_response(response, checks=CHECKS_APPLIED)

    check()


def matching(pattern: str) -> str:
    """A path regex for ``include``: ``pattern`` anchored at the start."""
    return "^" + re.escape(pattern)
