"""Generated requests against every operation of the workforce admin API's OpenAPI document.

Rule: whatever an org's admin sends, the admin API answers no 5xx, answers in the documented
content type and schema, and refuses what its schema does not allow with a 4xx.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest

from tests.conftest import BACKENDS
from tests.security.fuzzing import fuzz
from tests.workforce.conftest import Workforce, new_app, new_group, new_user
from tests.workforce.oin_helpers import finished_submission

pytestmark = pytest.mark.parametrize("workforce_database", BACKENDS, indirect=True)

#: About 70 operations at up to 15 cases each: more than 1,000 in all.
EXAMPLES_PER_OPERATION = 15
#: Revoking the caller's own token would make every later case a 401.
REVOKES_THE_CALLERS_TOKEN = ("/orgs/{org}/api/v1/api-tokens/current",)


def _seed(workforce: Workforce) -> dict[str, str]:
    """One object of each kind, by the name of the path parameter that addresses it."""
    api = workforce.api("acme")
    user = new_user(api, "fuzz@acme.example")
    group = new_group(api, "Fuzzers")
    app = new_app(api, "Fuzzed app")
    api.put(f"/groups/{group['id']}/users/{user['id']}").raise_for_status()
    api.post(f"/apps/{app['id']}/users", json={"id": user["id"]}).raise_for_status()
    submission = finished_submission(api, "Fuzzed integration")
    return {
        "org": "acme",
        "user_id": user["id"],
        "group_id": group["id"],
        "app_id": app["id"],
        "submission_id": submission["id"],
        "feature_name": "USER_PROVISIONING",
        "kind": "sso",
    }


def _known_ids(seeded: dict[str, str]) -> Callable[[str], dict[str, str]]:
    def known(path: str) -> dict[str, str]:
        names = re.findall(r"\{(\w+)\}", path)
        return {name: seeded[name] for name in names if name in seeded}

    return known


def test_generated_requests_to_the_workforce_admin_api_get_no_5xx_and_documented_answers(
    workforce: Workforce,
) -> None:
    """Positive and negative cases for every /orgs/{org}/api/v1 operation of org acme, with
    its super admin's SSWS token."""
    seeded = _seed(workforce)
    run = fuzz(
        workforce.http,
        workforce.http.app.openapi(),  # type: ignore[attr-defined]
        paths=re.escape("/orgs/{org}/api/v1/"),
        examples_per_operation=EXAMPLES_PER_OPERATION,
        headers={"Authorization": f"SSWS {workforce.admins['acme'].token}"},
        path_parameters={"org": "acme"},
        known_ids=_known_ids(seeded),
        last=REVOKES_THE_CALLERS_TOKEN,
    )
    print(run.summary())
    assert run.total >= 1000, run.summary()
    assert len(run.cases) == run.operations >= 70, sorted(run.cases)
    assert any(200 <= status < 300 for status in run.statuses), run.summary()
