"""HTTP clients for calls to other servers, all on one TLS context.

httpx builds a new ``ssl.SSLContext`` for every client it makes with ``verify=True``, and with
it loads the whole CA bundle (certifi's, or the one ``SSL_CERT_FILE``/``SSL_CERT_DIR`` name):
about 29 ms of CPU each on a 2 vCPU AMD EPYC, against 0.4 ms for a client given a context. Every
call that made its own client paid it on the request path, even to a plain ``http://`` URL: the
tenant's code exchange with an enterprise IdP at each SSO login, the sample app's at each
callback, each back-channel logout, each Readiness check. One context, built the first time a
client needs it, serves every client of the process: an ``SSLContext`` may be shared by any
number of connections and threads (it holds the trust store and the settings; each connection
has its own ``SSLSocket``), and it verifies as httpx's default does (the certificate against the
bundle, the host name against the certificate).

The environment is read when the context is built, as httpx reads it when it builds one:
``SSL_CERT_FILE`` or ``SSL_CERT_DIR`` set after the first call is not seen until the process
starts again.
"""

from __future__ import annotations

import ssl
from functools import cache
from typing import Any

import httpx


@cache
def tls_context() -> ssl.SSLContext:
    """The process's TLS context for outbound calls, httpx's default, built once."""
    return httpx.create_ssl_context()


def http_client(*, timeout: float, follow_redirects: bool = False, **options: Any) -> httpx.Client:
    """An ``httpx.Client`` on :func:`tls_context`. Redirects are not followed unless asked:
    most callers send a credential that must go to the URL they were configured with, and
    nowhere a response points."""
    return httpx.Client(
        timeout=timeout, follow_redirects=follow_redirects, verify=tls_context(), **options
    )
