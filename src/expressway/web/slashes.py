"""A path with a stray trailing slash, redirected to the path without it by a relative reference.

FastAPI's router redirects such a path (its ``redirect_slashes``) to an absolute URL it builds from
the request's ``Host`` header, which the client writes: ``GET /authorize/`` with ``Host:
evil.example`` was answered ``Location: http://evil.example/authorize``, a redirect that a cache
or a proxy passing the header on could serve to everyone. The applications turn that redirect off
and answer it here instead, from their handler of a 404: the same ``307``, to the path alone (a
relative reference, RFC 9110 §10.2.2), which the client resolves against the URL it asked for.
Only a path ending in a slash is tried again, so a plain 404 walks the routes once instead of
twice; none of Expressway's routes ends in a slash, so the other direction (adding one) is not
tried.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse
from starlette.routing import Match


def slash_redirect(request: Request) -> RedirectResponse | None:
    """The redirect of a path that would match a route of the application without its trailing
    slashes; None for any other."""
    path: str = request.scope.get("path", "")
    if request.scope.get("type") != "http" or not path.endswith("/"):
        return None
    stripped = path.rstrip("/")
    # "//host" would be a reference to another host (a network-path reference), "/\host" one to
    # browsers that read a backslash as a slash.
    if not stripped.startswith("/") or stripped.startswith(("//", "/\\")):
        return None
    scope = {**request.scope, "path": stripped, "raw_path": stripped.encode()}
    if not any(route.matches(scope)[0] != Match.NONE for route in request.app.router.routes):
        return None
    query = request.scope.get("query_string", b"")
    location = stripped + ("?" + query.decode("latin-1") if query else "")
    return RedirectResponse(location, status_code=307)
