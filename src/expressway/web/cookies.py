"""Cookies of browser sessions.

Both systems serve browsers on ``localhost``, where cookies ignore ports: every cookie name
carries its system's prefix, which the caller passes in with the name.
"""

from __future__ import annotations

from starlette.responses import Response


def set_session_cookie(
    response: Response, name: str, value: str, *, secure: bool, max_age: int
) -> None:
    """A cookie that scripts cannot read (HttpOnly), sent on top-level navigations from other
    sites (SameSite=Lax, so that a redirect from an application to ``/authorize`` still finds the
    session) but not on their cross-site POSTs."""
    response.set_cookie(
        name, value, max_age=max_age, path="/", secure=secure, httponly=True, samesite="lax"
    )


def clear_cookie(response: Response, name: str, *, secure: bool) -> None:
    response.delete_cookie(name, path="/", secure=secure, httponly=True, samesite="lax")
