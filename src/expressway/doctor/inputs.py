"""What ``doctor`` is told: the tenant, how to reach its Management API, and the objects to check.

Everything here is validated before the first request, so a typo is a clear message (exit 2),
never a failing check.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from expressway import jose

#: Hosts on which plain http is accepted: Expressway's development tenant. Anywhere else a
#: Management API token would cross the network in clear.
LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})

GENERIC_CALLBACK_PATH = "/admin/app/generic/oauth20redirect"


class BadInput(ValueError):
    """An input doctor cannot work with; the message says which and why."""


@dataclass(frozen=True)
class Credentials:
    """A Management API client (client credentials grant) or a ready token; never printed."""

    client_id: str | None = None
    client_secret: str | None = None
    token: str | None = None

    def __post_init__(self) -> None:
        if self.token:
            return
        if not (self.client_id and self.client_secret):
            raise BadInput(
                "give --token, or --client-id with --client-secret "
                "(or EXPRESSWAY_DOCTOR_CLIENT_SECRET) of a Management API client"
            )

    def __repr__(self) -> str:
        return f"Credentials(client_id={self.client_id!r}, secret=…)"


@dataclass(frozen=True)
class Inputs:
    #: The tenant's base URL (scheme and authority, no path).
    tenant_url: str
    credentials: Credentials
    #: The SaaS application: client id or name.
    app: str
    oin_client: str | None = None
    organization: str | None = None
    #: User id or e-mail address.
    admin: str | None = None
    #: The public key the OIN Wizard generated (``Download Key (.pem)``), as read from disk.
    pem: str | None = None
    pem_source: str | None = None
    workforce_url: str | None = None

    @property
    def management_api(self) -> str:
        return f"{self.tenant_url}/api/v2"

    @property
    def management_audience(self) -> str:
        return f"{self.tenant_url}/api/v2/"

    @property
    def workforce_callback(self) -> str | None:
        if self.workforce_url is None:
            return None
        return f"{self.workforce_url}{GENERIC_CALLBACK_PATH}"


def _check_scheme(scheme: str, host: str, what: str) -> None:
    if scheme == "https":
        return
    if scheme == "http" and host in LOCAL_HOSTS:
        return
    if scheme == "http":
        raise BadInput(
            f"{what}: http is accepted only for localhost and 127.0.0.1; use https for {host}"
        )
    raise BadInput(f"{what}: use an http(s) URL")


def base_url(url: str, what: str) -> str:
    """``url`` reduced to scheme and authority, after checking the scheme is allowed there."""
    parts = urlsplit(url.strip())
    host = (parts.hostname or "").lower()
    if not host:
        raise BadInput(f"{what}: {url!r} is not a URL with a host")
    _check_scheme(parts.scheme.lower(), host, what)
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise BadInput(f"{what}: give the base URL only, without a path ({url!r})")
    if parts.username or parts.password:
        raise BadInput(f"{what}: credentials do not belong in the URL")
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}"


def tenant_url(*, domain: str | None, url: str | None) -> str:
    """The tenant's base URL from ``--domain`` (https, except for localhost) or ``--url``."""
    if (domain is None) == (url is None):
        raise BadInput("give the tenant with exactly one of --domain or --url")
    if url is not None:
        return base_url(url, "--url")
    assert domain is not None  # noqa: S101 - narrowed by the check above
    if "://" in domain or "/" in domain:
        raise BadInput(f"--domain: give a host name (and port), not a URL ({domain!r})")
    host = urlsplit(f"//{domain}").hostname or ""
    scheme = "http" if host.lower() in LOCAL_HOSTS else "https"
    return base_url(f"{scheme}://{domain}", "--domain")


def read_pem(path: Path) -> str:
    """The public key file, checked to be one (a private key is refused, not read further)."""
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise BadInput(f"--pem: cannot read {path}: {exc}") from exc
    try:
        jose.read_public_key(text)
    except jose.KeyFormatError as exc:
        raise BadInput(f"--pem: {path}: {exc}") from exc
    return text
