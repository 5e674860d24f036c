"""The one TLS context every outbound HTTP client shares: it verifies as httpx's default does,
reads the trust store the environment names when it is built, and is built once."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
import trustme

from expressway.web.outbound import http_client, tls_context
from tests.http_servers import serving


class _Hello(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b"hello"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        return None


def _serve(cert: trustme.LeafCert) -> Iterator[str]:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    cert.configure_cert(context)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Hello)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    with serving(server) as port:
        yield f"https://localhost:{port}/"


@pytest.fixture
def authority() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def localhost(authority: trustme.CA) -> Iterator[str]:
    """A server whose certificate, for localhost, the test's own authority issued."""
    yield from _serve(authority.issue_cert("localhost"))


@pytest.fixture
def trusted(
    authority: trustme.CA, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    """SSL_CERT_FILE names the authority, and the process's context is built anew."""
    bundle = tmp_path / "ca.pem"
    authority.cert_pem.write_to_path(str(bundle))
    monkeypatch.setenv("SSL_CERT_FILE", str(bundle))
    tls_context.cache_clear()
    yield
    tls_context.cache_clear()


@pytest.fixture
def untrusted(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The default trust store (certifi's), which knows nothing of the test's authority."""
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    tls_context.cache_clear()
    yield
    tls_context.cache_clear()


@pytest.mark.usefixtures("trusted")
def test_a_client_trusts_the_authority_ssl_cert_file_names(localhost: str) -> None:
    with http_client(timeout=5) as client:
        assert client.get(localhost).text == "hello"


@pytest.mark.usefixtures("untrusted")
def test_a_certificate_the_trust_store_does_not_know_is_refused(localhost: str) -> None:
    with http_client(timeout=5) as client, pytest.raises(httpx.ConnectError, match="CERTIFICATE"):
        client.get(localhost)


@pytest.mark.usefixtures("trusted")
def test_the_host_name_must_be_the_certificates(authority: trustme.CA) -> None:
    for url in _serve(authority.issue_cert("elsewhere.example")):
        with http_client(timeout=5) as client, pytest.raises(httpx.ConnectError, match="match"):
            client.get(url)


def test_the_context_is_built_once_and_shared(
    trusted: None, localhost: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with http_client(timeout=5) as first:
        assert first.get(localhost).status_code == 200
    # The environment no longer names the authority, yet the next client still trusts it: it
    # was given the context built for the first, not one of its own.
    monkeypatch.delenv("SSL_CERT_FILE")
    with http_client(timeout=5) as second:
        assert second.get(localhost).status_code == 200
    assert tls_context() is tls_context()
    assert tls_context().verify_mode == ssl.CERT_REQUIRED
    assert tls_context().check_hostname


def test_redirects_are_not_followed_unless_asked() -> None:
    with http_client(timeout=5) as client:
        assert not client.follow_redirects
    with http_client(timeout=5, follow_redirects=True) as client:
        assert client.follow_redirects
