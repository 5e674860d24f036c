"""The OIN Wizard: submissions, the Express Configuration paste, the key pair and Finish."""

from __future__ import annotations

import json
from typing import Any

import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from expressway.workforce.rows import LogEventRow, OinSubmissionRow
from expressway.workforce.services import oin
from tests.conftest import BACKENDS
from tests.workforce.conftest import Workforce, causes, okta_error
from tests.workforce.oin_helpers import (
    INFORMATION,
    TENANT,
    finished_submission,
    new_submission,
    paste,
)

pytestmark = pytest.mark.parametrize("workforce_database", BACKENDS, indirect=True)


def _without(name: str) -> dict[str, Any]:
    return {k: v for k, v in INFORMATION.items() if k != name}


def _with(**changes: Any) -> dict[str, Any]:
    return {**INFORMATION, **changes}


def test_a_submission_starts_as_a_draft_with_oidc_and_the_capabilities_it_names(
    workforce: Workforce,
) -> None:
    """OIDC is always there; SCIM and Universal Logout only when named; nothing is set up yet."""
    api = workforce.api()
    plain = new_submission(api, "Plain")
    assert plain["id"].startswith("0is")
    assert plain["status"] == "DRAFT"
    assert plain["capabilities"] == ["OIDC"]
    assert plain["expressConfiguration"] is None
    assert plain["key"] is None
    assert plain["properties"] is None
    full = new_submission(api, "Full", ["UNIVERSAL_LOGOUT", "SCIM", "OIDC"])
    assert full["capabilities"] == ["OIDC", "SCIM", "UNIVERSAL_LOGOUT"]
    assert [s["id"] for s in api.get("/oin/submissions").json()] == [plain["id"], full["id"]]
    assert api.get(f"/oin/submissions/{full['id']}").json()["name"] == "Full"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "X", "capabilities": ["SCIM"]}, "capabilities"),
        ({"name": "X", "capabilities": ["OIDC", "OIDC"]}, "capabilities"),
        ({"name": "X", "capabilities": ["OIDC", "SAML"]}, "capabilities[1]"),
        ({"name": ""}, "name"),
        ({"name": "   "}, "name"),
        ({"name": "x" * 101}, "name"),
        ({"name": "X", "variables": [{"name": "1bad", "label": "Bad"}]}, "variables[0].name"),
        (
            {"name": "X", "variables": [{"name": "a", "label": "A"}, {"name": "a", "label": "B"}]},
            "variables",
        ),
        ({"name": "X", "secret": "no"}, "secret"),
        ({"description": "no name"}, "name"),
    ],
)
def test_an_impossible_submission_is_refused_naming_the_field(
    workforce: Workforce, body: dict[str, Any], field: str
) -> None:
    """Unknown, missing, over-long or inconsistent properties: 400 naming the property."""
    response = workforce.api().post("/oin/submissions", json=body)
    assert response.status_code == 400, response.text
    assert causes(response)[0].startswith(f"{field}:"), causes(response)
    assert workforce.api().get("/oin/submissions").json() == []


def test_a_submission_is_updated_in_part(workforce: Workforce) -> None:
    """Properties left out keep their value; variables and capabilities are replaced whole."""
    api = workforce.api()
    submission = new_submission(api)
    response = api.post(
        f"/oin/submissions/{submission['id']}",
        json={"capabilities": ["OIDC", "SCIM"], "variables": [{"name": "sub", "label": "Sub"}]},
    )
    assert response.status_code == 200, response.text
    updated = response.json()
    assert updated["name"] == "Vendor SaaS"
    assert updated["capabilities"] == ["OIDC", "SCIM"]
    assert updated["variables"] == [{"name": "sub", "label": "Sub"}]


def test_a_good_paste_enables_express_configuration(workforce: Workforce) -> None:
    """The information pasted as text, or sent as an object, is stored as checked."""
    api = workforce.api()
    submission = new_submission(api)
    response = paste(api, submission["id"], json.dumps(INFORMATION, indent=2))
    assert response.status_code == 200, response.text
    assert response.json()["expressConfiguration"] == INFORMATION
    as_object = api.put(
        f"/oin/submissions/{submission['id']}/express-configuration",
        json={"information": _with(display_name="Renamed")},
    )
    assert as_object.status_code == 200, as_object.text
    assert as_object.json()["expressConfiguration"]["display_name"] == "Renamed"


@pytest.mark.parametrize(
    "domain",
    [
        "vendor.example",
        "vendor.example:8443",
        "https://vendor.example",
        "http://localhost:8401",
        "http://127.0.0.1:8401",
        "https://vendor.example/",
    ],
)
def test_a_domain_is_a_host_an_https_url_or_a_local_http_url(
    workforce: Workforce, domain: str
) -> None:
    """``host[:port]`` and ``https://host`` are accepted, plain HTTP only for a local tenant."""
    api = workforce.api()
    submission = new_submission(api)
    response = paste(api, submission["id"], _with(tenant_domain=domain, login_domain=domain))
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    ("information", "field"),
    [
        *[(_without(name), name) for name in oin.INFORMATION_FIELDS],
        (_with(oin_client_id=42), "oin_client_id"),
        (_with(display_name=None), "display_name"),
        (_with(login_domain=["https://login.vendor.example"]), "login_domain"),
        (_with(tenant_domain=""), "tenant_domain"),
        (_with(extra_field="surprise"), "extra_field"),
        (_with(tenant_domain="http://vendor.example"), "tenant_domain"),
        (_with(tenant_domain="ftp://vendor.example"), "tenant_domain"),
        (_with(tenant_domain="https://vendor.example/path"), "tenant_domain"),
        (_with(tenant_domain="https://user:pw@vendor.example"), "tenant_domain"),
        (_with(tenant_domain="https://vendor.example:99999"), "tenant_domain"),
        (_with(login_domain="https://vendor example"), "login_domain"),
        (_with(login_domain="https://vendor.example?x=1"), "login_domain"),
        (
            _with(initiate_login_uri_template="https://app.example/?org={organization}"),
            "initiate_login_uri_template",
        ),
        (
            _with(initiate_login_uri_template="https://app.example/?org={organization_id"),
            "initiate_login_uri_template",
        ),
        (_with(initiate_login_uri_template="/login"), "initiate_login_uri_template"),
        (
            _with(initiate_login_uri_template="http://app.example/login"),
            "initiate_login_uri_template",
        ),
    ],
)
def test_a_bad_paste_is_refused_naming_the_missing_or_wrong_field(
    workforce: Workforce, information: dict[str, Any], field: str
) -> None:
    """Each kind of fault is a 400 whose causes name the field, and nothing is stored."""
    api = workforce.api()
    submission = new_submission(api)
    response = paste(api, submission["id"], information)
    assert response.status_code == 400, response.text
    named = causes(response)
    assert any(cause.startswith(f"{field}:") for cause in named), named
    assert okta_error(response, "E0000001")["errorSummary"] == f"Api validation failed: {field}"
    assert api.get(f"/oin/submissions/{submission['id']}").json()["expressConfiguration"] is None


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("display_name: Vendor", "is not JSON"),
        ('{"display_name": "Vendor",', "is not JSON"),
        ('{"display_name": NaN}', "is not JSON (NaN is not JSON (RFC 8259"),
        ('{"display_name": Infinity}', "is not JSON (Infinity is not JSON (RFC 8259"),
        ('{"display_name": -Infinity}', "is not JSON (-Infinity is not JSON (RFC 8259"),
        ("[1, 2]", "must be a JSON object"),
        ('"just a string"', "must be a JSON object"),
    ],
)
def test_a_paste_that_is_not_a_json_object_is_refused_saying_so(
    workforce: Workforce, text: str, problem: str
) -> None:
    """Text that is not JSON (NaN and the infinities included: RFC 8259 has none), or JSON that
    is not an object, is refused as such."""
    api = workforce.api()
    submission = new_submission(api)
    response = paste(api, submission["id"], text)
    assert response.status_code == 400
    assert problem in causes(response)[0]
    assert causes(response)[0].startswith("information:")


def test_a_paste_with_every_fault_names_them_all(workforce: Workforce) -> None:
    """Several faults at once are all named, not only the first."""
    api = workforce.api()
    submission = new_submission(api)
    bad = {**_without("oin_client_id"), "tenant_domain": 7, "colour": "blue"}
    named = causes(paste(api, submission["id"], bad))
    assert {c.split(":", 1)[0] for c in named} == {"oin_client_id", "tenant_domain", "colour"}


def test_a_malformed_paste_request_is_refused_without_an_error_page(workforce: Workforce) -> None:
    """A body that is not JSON, misses ``information`` or has a wrong type: 400, never 500."""
    api = workforce.api()
    submission = new_submission(api)
    path = f"/oin/submissions/{submission['id']}/express-configuration"
    broken = api.put(path, content=b"{not json", headers={"content-type": "application/json"})
    assert broken.status_code == 400
    okta_error(broken, "E0000003")
    assert causes(api.put(path, json={}))[0].startswith("information:")
    assert api.put(path, json={"information": 12}).status_code == 400
    assert api.put(path, json={"information": "x" * 20_000}).status_code == 400


def test_the_key_pair_is_rsa_2048_and_its_pem_download_is_the_public_half(
    workforce: Workforce,
) -> None:
    """The ``.pem`` is an SPKI public key, an attachment, and the public half of the stored key."""
    api = workforce.api()
    submission = new_submission(api)
    response = api.post(f"/oin/submissions/{submission['id']}/key")
    assert response.status_code == 200, response.text
    key = response.json()["key"]
    assert key["kid"]
    download = api.get(f"/oin/submissions/{submission['id']}/key.pem")
    assert download.status_code == 200
    assert download.headers["content-type"].startswith("application/x-pem-file")
    assert download.headers["content-disposition"].startswith("attachment")
    assert ".pem" in download.headers["content-disposition"]
    assert download.text.startswith("-----BEGIN PUBLIC KEY-----")
    assert download.text == key["publicKeyPem"]
    public = serialization.load_pem_public_key(download.content)
    assert isinstance(public, rsa.RSAPublicKey)
    assert public.key_size == 2048
    with workforce.runtime.sessions() as session:
        private = oin.signing_key_for(session, submission["id"], workforce.runtime.key_sealer)
    assert private.kid == key["kid"]
    assert private.is_private
    stored_public = private.get_op_key("verify")
    assert isinstance(stored_public, rsa.RSAPublicKey)
    assert stored_public.public_numbers() == public.public_numbers()


def test_reconfigure_replaces_the_key(workforce: Workforce) -> None:
    """A second key request makes a new pair; the old public key is no longer offered."""
    api = workforce.api()
    submission = new_submission(api)
    first = api.post(f"/oin/submissions/{submission['id']}/key").json()["key"]
    second = api.post(f"/oin/submissions/{submission['id']}/key").json()["key"]
    assert second["kid"] != first["kid"]
    assert second["publicKeyPem"] != first["publicKeyPem"]
    assert api.get(f"/oin/submissions/{submission['id']}/key.pem").text == second["publicKeyPem"]
    with workforce.runtime.sessions() as session:
        key = oin.signing_key_for(session, submission["id"], workforce.runtime.key_sealer)
        assert key.kid == second["kid"]
        events = list(session.scalars(sa.select(LogEventRow.event_type)))
    assert events.count("oin.submission.key.create") == 1
    assert events.count("oin.submission.key.rotate") == 1


def test_there_is_no_pem_to_download_before_a_key_is_generated(workforce: Workforce) -> None:
    """Before the key pair exists the download is not found."""
    api = workforce.api()
    submission = new_submission(api)
    response = api.get(f"/oin/submissions/{submission['id']}/key.pem")
    assert response.status_code == 404
    okta_error(response, "E0000007")


def test_the_private_key_is_in_no_answer_and_sealed_in_the_database(
    workforce: Workforce,
) -> None:
    """No answer of the wizard holds the private key, and the database holds it only sealed."""
    api = workforce.api()
    submission = finished_submission(api)
    answers = [
        api.get("/oin/submissions").text,
        api.get(f"/oin/submissions/{submission['id']}").text,
        api.post(f"/oin/submissions/{submission['id']}/key").text,
        api.get(f"/oin/submissions/{submission['id']}/key.pem").text,
        api.post(f"/oin/submissions/{submission['id']}/finish").text,
        api.post(f"/oin/submissions/{submission['id']}/test-instance").text,
        api.get("/logs").text,
    ]
    with workforce.runtime.sessions() as session:
        key = oin.signing_key_for(session, submission["id"], workforce.runtime.key_sealer)
    private_pem = key.as_pem(private=True)
    private_pem = private_pem.decode() if isinstance(private_pem, bytes) else private_pem
    secret_line = private_pem.splitlines()[5]
    private_exponent = str(key.as_dict(private=True)["d"])
    for answer in answers:
        assert "PRIVATE KEY" not in answer
        assert secret_line not in answer
        assert private_exponent not in answer
    with workforce.runtime.engine.connect() as connection:
        stored = [
            str(value)
            for row in connection.execute(sa.select(OinSubmissionRow.__table__))
            for value in row
        ]
    assert not any("PRIVATE KEY" in value or secret_line in value for value in stored)
    assert not any(private_exponent in value for value in stored)


def test_finish_is_refused_naming_what_is_missing(workforce: Workforce) -> None:
    """Without the information and the key both are named; with one, only the other."""
    api = workforce.api()
    submission = new_submission(api)
    finish = f"/oin/submissions/{submission['id']}/finish"
    both = api.post(finish)
    assert both.status_code == 400
    assert [c.split(":")[0] for c in causes(both)] == ["express_configuration", "key"]
    paste(api, submission["id"], INFORMATION)
    key_only = api.post(finish)
    assert [c.split(":")[0] for c in causes(key_only)] == ["key"]
    other = new_submission(api, "Other")
    api.post(f"/oin/submissions/{other['id']}/key")
    information_only = api.post(f"/oin/submissions/{other['id']}/finish")
    assert [c.split(":")[0] for c in causes(information_only)] == ["express_configuration"]
    assert api.get(f"/oin/submissions/{other['id']}").json()["status"] == "DRAFT"


def test_finish_fills_in_oidc_universal_logout_and_scim(workforce: Workforce) -> None:
    """Redirect URI, initiate login URI, the Universal Logout placeholder with SIGNED_JWT and the
    SCIM base URL variable with bearer auth (SPEC §3)."""
    submission = finished_submission(workforce.api())
    assert submission["status"] == "FINISHED"
    properties = submission["properties"]
    assert properties["oidc"] == {
        "redirectUris": [f"{TENANT}/login/callback"],
        "initiateLoginUri": INFORMATION["initiate_login_uri_template"],
    }
    assert properties["universalLogout"] == {
        "globalTokenRevocationEndpoint": (
            f"{TENANT}/oauth/global-token-revocation/connection/{{connection_name}}"
        ),
        "authMethod": "SIGNED_JWT",
    }
    assert properties["scim"] == {
        "baseUrl": "${app.scim_base_url}",
        "authMethod": "HEADER_AUTH",
        "authScheme": "Bearer",
    }
    assert {"name": "scim_base_url", "label": "SCIM base URL"} in properties["variables"]


def test_finish_fills_in_only_the_capabilities_the_submission_has(workforce: Workforce) -> None:
    """An OIDC-only integration gets no Universal Logout nor SCIM properties."""
    submission = finished_submission(workforce.api(), capabilities=("OIDC",))
    assert set(submission["properties"]) == {"oidc", "variables"}
    assert submission["properties"]["variables"] == []


def test_a_local_tenant_gets_its_callback_on_its_own_origin(workforce: Workforce) -> None:
    """A development tenant at ``http://localhost:PORT`` keeps its scheme and port."""
    api = workforce.api()
    submission = new_submission(api)
    paste(api, submission["id"], _with(tenant_domain="http://localhost:8401"))
    api.post(f"/oin/submissions/{submission['id']}/key")
    finished = api.post(f"/oin/submissions/{submission['id']}/finish").json()
    assert finished["properties"]["oidc"]["redirectUris"] == [
        "http://localhost:8401/login/callback"
    ]


def test_changing_a_finished_submission_asks_for_finish_again(workforce: Workforce) -> None:
    """A new paste or new capabilities make the filled-in properties stale: back to draft."""
    api = workforce.api()
    submission = finished_submission(api)
    changed = api.post(f"/oin/submissions/{submission['id']}", json={"capabilities": ["OIDC"]})
    assert changed.json()["status"] == "DRAFT"
    assert changed.json()["properties"] is None
    again = api.post(f"/oin/submissions/{submission['id']}/finish").json()
    assert set(again["properties"]) == {"oidc", "variables"}


def test_another_org_can_neither_see_nor_touch_a_submission(workforce: Workforce) -> None:
    """Only the integrator org's admins see its submissions: elsewhere they are not found."""
    acme, globex = workforce.api("acme"), workforce.api("globex")
    submission = finished_submission(acme)
    base = f"/oin/submissions/{submission['id']}"
    assert globex.get("/oin/submissions").json() == []
    for response in (
        globex.get(base),
        globex.post(base, json={"name": "Stolen"}),
        paste(globex, submission["id"], INFORMATION),
        globex.post(f"{base}/key"),
        globex.get(f"{base}/key.pem"),
        globex.post(f"{base}/finish"),
        globex.post(f"{base}/test-instance"),
    ):
        assert response.status_code == 404, response.text
        assert okta_error(response, "E0000007")["errorSummary"].endswith("(OinSubmission)")
    assert acme.get(base).json()["name"] == "Vendor SaaS"
    assert acme.get(base).json()["key"]["kid"] == submission["key"]["kid"]


def test_the_wizard_needs_an_admin_token(workforce: Workforce) -> None:
    """Without a valid ``SSWS`` token nothing of the wizard answers."""
    response = workforce.api(token="00not-a-token").get("/oin/submissions")
    assert response.status_code == 401
    okta_error(response, "E0000011")


def test_every_wizard_action_is_in_the_system_log(workforce: Workforce) -> None:
    """Create, update, paste, key, download, Finish and test instance each log an event."""
    api = workforce.api()
    submission = finished_submission(api)
    api.post(f"/oin/submissions/{submission['id']}", json={"description": "New"})
    api.get(f"/oin/submissions/{submission['id']}/key.pem")
    api.post(f"/oin/submissions/{submission['id']}/finish")
    api.post(f"/oin/submissions/{submission['id']}/test-instance")
    logged = {event["eventType"] for event in api.get("/logs?limit=100").json()}
    assert {
        "oin.submission.create",
        "oin.submission.update",
        "oin.submission.express_configuration.update",
        "oin.submission.key.create",
        "oin.submission.key.download",
        "oin.submission.finish",
        "application.lifecycle.create",
    } <= logged
