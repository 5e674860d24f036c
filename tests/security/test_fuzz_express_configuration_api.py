"""Generated requests against the Express Configuration API's OpenAPI document.

Rule: whatever the OIN sends with a good token, ``/express-configure/v1/sso`` and ``/scim``
answer no 5xx, answer in the documented content type and schema (the 200 answer, RFC 6749 errors,
or SPEC §4.1's refusal), and refuse what their schema does not allow with a 4xx.
"""

from __future__ import annotations

import pytest
from hypothesis import strategies as st

from tests.conftest import BACKENDS, Tenant
from tests.security.fuzzing import fuzz, matching
from tests.tenant.test_express_configuration_api import SCIM, SSO, _world

pytestmark = pytest.mark.parametrize("tenant_database", BACKENDS, indirect=True)

#: Two operations at 520 cases each.
EXAMPLES_PER_OPERATION = 520

_issuers = st.one_of(
    st.sampled_from(
        [
            "http://localhost:8402/orgs/acme",
            "https://acme.okta.example",
            "https://acme.okta.example/oauth2/default",
            "http://127.0.0.1:8402/orgs/globex",
        ]
    ),
    st.from_regex(r"\Ahttps://[a-z0-9]{1,20}\.example(/[a-z0-9._~%-]{0,30}){0,3}\Z"),
)
#: Bodies that pass the checks the JSON schema cannot express (an https issuer URL), so that
#: the cases reach the connection being made or updated.
SSO_BODIES = st.fixed_dictionaries(
    {
        "issuer": _issuers,
        "client_id": st.text(min_size=1, max_size=255),
        "client_secret": st.text(min_size=1, max_size=1024),
    },
    optional={"universal_logout": st.booleans()},
)
SCIM_BODIES = st.one_of(st.just({}), st.fixed_dictionaries({"issuer": _issuers}))


def test_generated_requests_to_the_express_configuration_api_get_no_5xx_and_documented_answers(
    tenant: Tenant,
) -> None:
    """Positive and negative cases for /sso and /scim with an admin token holding both
    permissions in a tenant set up for Express Configuration."""
    world = _world(tenant)
    run = fuzz(
        tenant.http,
        tenant.http.app.openapi(),  # type: ignore[attr-defined]
        paths=matching("/express-configure/v1/"),
        examples_per_operation=EXAMPLES_PER_OPERATION,
        headers={"Authorization": f"Bearer {world.token(SSO, SCIM)}"},
        bodies={
            "POST /express-configure/v1/sso": SSO_BODIES,
            "POST /express-configure/v1/scim": SCIM_BODIES,
        },
    )
    print(run.summary())
    assert run.total >= 1000, run.summary()
    assert len(run.cases) == run.operations == 2, sorted(run.cases)
    assert run.statuses.get(200, 0) > 0, run.summary()
