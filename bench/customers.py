"""Express Configuration and the employees' sign-in as a SaaS vendor's customers grow.

Every customer that runs Express Configuration adds to the vendor's tenant an organization and
an ``okta`` connection, enabled for the SaaS application and claiming the customer's e-mail
domains. Two things look among those connections at every use: the Express Configuration API
(which of them is the calling organization's) and Home Realm Discovery (which of them claims an
employee's e-mail domain, on the application's identifier page). Both must cost the same with
one customer and with thousands, as SCIM's lookups do with a hundred thousand users.

The scene is ``express_configure.py``'s (the demo's tenant and workforce IdP, served on SQLite,
one customer configured). At each size it times, over ``--runs`` runs each:

- **Express Configure SSO**, end to end, as ``express_configure.py`` does (the admin's sign-in at
  the tenant, the code exchange, the Express Configuration API call that finds the existing
  connection and changes nothing);
- **Home Realm Discovery**: an employee of the demo's customer opens the SaaS application's
  sign-in (``/authorize``, the identifier page), gives their e-mail address and is sent to their
  workforce IdP, whose sign-in page ends the run.

Between the sizes, the other customers are inserted in bulk straight into the database, each as
Express Configuration leaves it: an organization, its connection (with the metadata, the
organization's column and the domain aliases Express Configuration writes), enabled for the
SaaS application and on the organization.

``--database postgresql`` serves both systems on databases made for the run on the PostgreSQL
server of ``EXPRESSWAY_BENCH_POSTGRES_URL`` (dropped afterwards).

    .venv/bin/python bench/customers.py [--sizes 1 5000] [--runs 30] [--database postgresql]
"""

from __future__ import annotations

import argparse
import secrets
import statistics
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import sqlalchemy as sa
from _harness import percentile, system_databases, write_json
from express_configure import scene

from expressway.config import load_settings
from expressway.demo import story as demo_story
from expressway.demo.browser import Person
from expressway.storage.engine import make_engine
from expressway.tenant.express_configuration import service as express_configuration
from expressway.tenant.rows import (
    ConnectionClientRow,
    ConnectionDomainAliasRow,
    ConnectionRow,
    OrganizationConnectionRow,
    OrganizationRow,
)

#: The largest size's p50 over the smallest's, at most, for each path.
TARGET_RATIO = 1.5
#: Customers inserted in one statement.
CHUNK = 1000


def seed_customers(database_url: str, application_id: str, start: int, count: int) -> float:
    """Customers ``start`` to ``count - 1``, each as Express Configuration leaves it, inserted
    in bulk into the tenant's database; answers the seconds it took."""
    engine = make_engine(database_url)
    started = time.perf_counter()
    now = datetime.now(UTC)
    with engine.begin() as db:
        for chunk in range(start, count, CHUNK):
            # Core inserts: each value under its column's name ("metadata"), not the attribute's.
            rows: dict[type, list[dict[str, Any]]] = {
                OrganizationRow: [],
                ConnectionRow: [],
                ConnectionDomainAliasRow: [],
                ConnectionClientRow: [],
                OrganizationConnectionRow: [],
            }
            for index in range(chunk, min(chunk + CHUNK, count)):
                organization_id = f"org_customer{index:08d}"
                connection_id = f"con_customer{index:08d}"
                issuer = f"https://customer{index}.okta.example"
                domain = f"customer{index}.example"
                rows[OrganizationRow].append(
                    {
                        "id": organization_id,
                        "name": f"customer-{index}",
                        "display_name": f"Customer {index}",
                        "metadata": {"domains": domain},
                        "branding": None,
                        "created_at": now,
                    }
                )
                rows[ConnectionRow].append(
                    {
                        "id": connection_id,
                        "name": f"okta-customer-{index}",
                        "display_name": f"Customer {index}",
                        "strategy": "okta",
                        "options": {
                            "issuer": issuer,
                            "client_id": f"0oa{index:08d}",
                            "scope": "openid profile email",
                            "type": "back_channel",
                            "domain_aliases": [domain],
                        },
                        "client_secret_sealed": None,
                        "realms": [f"okta-customer-{index}"],
                        "is_domain_connection": False,
                        "show_as_button": None,
                        "metadata": {
                            express_configuration.ORGANIZATION_KEY: organization_id,
                            express_configuration.ISSUER_KEY: issuer,
                            express_configuration.UNIVERSAL_LOGOUT_KEY: "true",
                        },
                        "express_configuration_organization_id": organization_id,
                        "created_at": now,
                    }
                )
                rows[ConnectionDomainAliasRow].append(
                    {"domain": domain, "connection_id": connection_id}
                )
                rows[ConnectionClientRow].append(
                    {"connection_id": connection_id, "client_id": application_id}
                )
                rows[OrganizationConnectionRow].append(
                    {
                        "organization_id": organization_id,
                        "connection_id": connection_id,
                        "assign_membership_on_login": False,
                        "show_as_button": True,
                        "is_signup_enabled": False,
                    }
                )
            for row, values in rows.items():
                db.execute(sa.insert(row), values)
    if engine.dialect.name == "postgresql":
        # PostgreSQL's autovacuum analyzes tables that grew this much within a minute or so;
        # until then its planner guesses, and starts the sign-in's lookups from the client's
        # thousands of enabled connections (7.7 ms a statement at 5,000, 0.03 analyzed). Done
        # here at once, as a tenant that grew over days has it.
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as db:
            for row in rows:
                db.execute(sa.text(f"ANALYZE {row.__tablename__}"))  # type: ignore[attr-defined]
    engine.dispose()
    return time.perf_counter() - started


def _timed(runs: int, run: Callable[[], None]) -> dict[str, float]:
    timings: list[float] = []
    for _ in range(runs):
        started = time.perf_counter()
        run()
        timings.append((time.perf_counter() - started) * 1000)
    return {
        "p50_ms": round(statistics.median(timings), 2),
        "p95_ms": round(percentile(timings, 0.95), 2),
        "max_ms": round(max(timings), 2),
    }


def run(sizes: list[int], runs: int, data_dir: Path, database: str = "sqlite") -> dict[str, Any]:
    with ExitStack() as stack:
        databases = system_databases(stack, database)
        story, _tenant, _workforce = stack.enter_context(scene(data_dir, databases=databases))
        tenant_database = databases.get("tenant") or (
            load_settings(data_dir=data_dir).resolved_tenant_database_url()
        )

        def express_configure() -> None:
            status, body = story.express_configure("sso")
            if status != 200:
                raise RuntimeError(f"Express Configure SSO failed: {status} {body}")

        express_configure()  # the demo's customer: the first size's one
        application = story.cast.app["client_id"]
        sign_in = f"{story.tenant_url}/authorize?" + urlencode(
            {
                "client_id": application,
                "redirect_uri": f"{story.sample_app_url}/callback",
                "response_type": "code",
                "scope": "openid profile email",
            }
        )
        employee = f"employee@{demo_story.DOMAIN}"

        def home_realm_discovery() -> None:
            with Person(employee, "") as person:
                page = person.walk(
                    f"{sign_in}&state={secrets.token_urlsafe(8)}", stop_at=story.workforce_url
                )
            if page.status_code != 200 or person.pages != [
                f"{story.tenant_url}/u/login/identifier"
            ]:
                raise RuntimeError(f"Home Realm Discovery went elsewhere: {person.pages}, {page}")

        results: list[dict[str, Any]] = []
        seeded = 1
        for size in sizes:
            seconds = (
                seed_customers(tenant_database, application, seeded, size) if size > seeded else 0
            )
            seeded = max(seeded, size)
            express_configure()  # warm
            home_realm_discovery()
            results.append(
                {
                    "customers": size,
                    "seed_seconds": round(seconds, 3),
                    "express_configure_sso": _timed(runs, express_configure),
                    "home_realm_discovery": _timed(runs, home_realm_discovery),
                }
            )
    first, last = results[0], results[-1]
    ratios = {
        path: round(last[path]["p50_ms"] / first[path]["p50_ms"], 2)
        for path in ("express_configure_sso", "home_realm_discovery")
    }
    return {
        "runs": runs,
        "database": database,
        "sizes": results,
        "p50_ratio_largest_over_smallest": ratios,
        "target_ratio": TARGET_RATIO,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 5000])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--json", type=Path, default=Path("bench/results/customers.json"))
    arguments = parser.parse_args()
    sizes = sorted(set(arguments.sizes))
    if sizes[0] < 1:
        parser.error("--sizes: the demo's customer is always there; the smallest size is 1")
    with tempfile.TemporaryDirectory(prefix="customers-bench-") as scratch:
        result = run(sizes, arguments.runs, Path(scratch), arguments.database)
    print(
        f"{'customers':>9} {'seed s':>7}  {'Express Configure SSO p50 / p95 ms':>36}  "
        f"{'Home Realm Discovery p50 / p95 ms':>34}"
    )
    for size in result["sizes"]:
        ec, hrd = size["express_configure_sso"], size["home_realm_discovery"]
        print(
            f"{size['customers']:>9} {size['seed_seconds']:>7}  "
            f"{ec['p50_ms']:>20} / {ec['p95_ms']:>13}  {hrd['p50_ms']:>19} / {hrd['p95_ms']:>12}"
        )
    for path, ratio in result["p50_ratio_largest_over_smallest"].items():
        verdict = "met" if ratio <= TARGET_RATIO else "MISSED"
        print(
            f"{path}: p50 at the largest size / at the smallest: {ratio} "
            f"(target <= {TARGET_RATIO}): {verdict}"
        )
    write_json(arguments.json, "customers", result)
    print(f"written to {arguments.json}")


if __name__ == "__main__":
    main()
