"""doctor's inputs: where the tenant is, and how it may be reached."""

from __future__ import annotations

import pytest

from expressway.doctor import BadInput, Credentials, tenant_url


@pytest.mark.parametrize(
    ("domain", "expected"),
    [
        ("localhost:8401", "http://localhost:8401"),
        ("127.0.0.1:8401", "http://127.0.0.1:8401"),
        ("vendor.eu.auth0.com", "https://vendor.eu.auth0.com"),
        ("Vendor.Example", "https://vendor.example"),
    ],
)
def test_a_domain_is_https_except_expressways_local_tenant(domain: str, expected: str) -> None:
    assert tenant_url(domain=domain, url=None) == expected


@pytest.mark.parametrize(
    "url",
    ["http://vendor.example", "ftp://localhost", "http://localhost/api", "https://u:p@x.example"],
)
def test_a_url_off_localhost_must_be_https_and_bare(url: str) -> None:
    with pytest.raises(BadInput):
        tenant_url(domain=None, url=url)


def test_a_base_url_keeps_its_port_and_loses_a_trailing_slash() -> None:
    assert tenant_url(domain=None, url="http://127.0.0.1:8401/") == "http://127.0.0.1:8401"


def test_a_domain_given_as_url_is_refused() -> None:
    with pytest.raises(BadInput, match="not a URL"):
        tenant_url(domain="https://vendor.example", url=None)


def test_credentials_need_a_token_or_a_client_and_never_show_the_secret() -> None:
    with pytest.raises(BadInput):
        Credentials(client_id="c")
    credentials = Credentials(client_id="c", client_secret="s3cr3t-value")
    assert "s3cr3t-value" not in repr(credentials)
    assert Credentials(token="t").token == "t"
