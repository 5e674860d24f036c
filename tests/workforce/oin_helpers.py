"""What the OIN tests share: a good Express Configuration information, and a walk through the
wizard up to a finished submission."""

from __future__ import annotations

import json
from typing import Any

from fastapi.testclient import TestClient

TENANT = "https://vendor.us.auth0.example"

INFORMATION: dict[str, str] = {
    "display_name": "Vendor SaaS",
    "initiate_login_uri_template": (
        "https://app.vendor.example/login?organization={organization_id}"
        "&connection={connection_name}"
    ),
    "oin_client_id": "oinClient123",
    "application_client_id": "appClient456",
    "tenant_domain": "vendor.us.auth0.example",
    "login_domain": "https://login.vendor.example",
}


def paste(api: TestClient, submission_id: str, information: Any) -> Any:
    """*Enable Express Configuration* with ``information`` pasted as text."""
    text = information if isinstance(information, str) else json.dumps(information)
    return api.put(
        f"/oin/submissions/{submission_id}/express-configuration", json={"information": text}
    )


def new_submission(
    api: TestClient, name: str = "Vendor SaaS", capabilities: list[str] | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {"name": name, "description": "The vendor's app"}
    if capabilities is not None:
        body["capabilities"] = capabilities
    response = api.post("/oin/submissions", json=body)
    assert response.status_code == 200, response.text
    submission: dict[str, Any] = response.json()
    return submission


def finished_submission(
    api: TestClient,
    name: str = "Vendor SaaS",
    capabilities: tuple[str, ...] = ("OIDC", "SCIM", "UNIVERSAL_LOGOUT"),
) -> dict[str, Any]:
    """A submission walked through paste, key generation and Finish."""
    submission = new_submission(api, name, list(capabilities))
    assert paste(api, submission["id"], INFORMATION).status_code == 200
    assert api.post(f"/oin/submissions/{submission['id']}/key").status_code == 200
    finished = api.post(f"/oin/submissions/{submission['id']}/finish")
    assert finished.status_code == 200, finished.text
    result: dict[str, Any] = finished.json()
    return result
