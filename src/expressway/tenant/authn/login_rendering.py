"""The pages of Universal Login, and its error page for requests that cannot go back to a client."""

from __future__ import annotations

from starlette.responses import HTMLResponse

from expressway.web.templates import Pages

pages = Pages("expressway.tenant.authn")


def error_page(
    message: str, *, title: str = "Sign-in failed", status_code: int = 400
) -> HTMLResponse:
    return pages.render("error.html", status_code=status_code, title=title, message=message)


def transaction_gone_page() -> HTMLResponse:
    return error_page(
        "This sign-in has expired or is already over. Go back to the application and sign in "
        "again.",
        title="Sign-in expired",
    )
