"""Server-rendered pages: Jinja2 with autoescaping, and the headers every page carries."""

from __future__ import annotations

from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from starlette.responses import HTMLResponse

#: Pages load nothing from anywhere: their only style is inline, and they run no script. Forms
#: post to our own origin; the redirects that follow are not restricted (``form-action`` would
#: block the redirect to the application's callback in some browsers).
PAGE_CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
    "base-uri 'none'; frame-ancestors 'none'"
)


class Pages:
    """The templates of one package, rendered into responses that no cache keeps."""

    def __init__(self, package: str, directory: str = "templates") -> None:
        self.environment = Environment(
            loader=PackageLoader(package, directory),
            autoescape=select_autoescape(default=True, default_for_string=True),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )

    def render(self, template: str, *, status_code: int = 200, **context: Any) -> HTMLResponse:
        html = self.environment.get_template(template).render(**context)
        return HTMLResponse(
            html,
            status_code=status_code,
            headers={
                # Pages hold one-time form tokens and personal data.
                "Cache-Control": "no-store",
                "Pragma": "no-cache",
                "Content-Security-Policy": PAGE_CONTENT_SECURITY_POLICY,
            },
        )
