"""The console's pages: Jinja2 (autoescaped) in one layout, with a policy that lets them load
the console's own style sheet and script and nothing from anywhere else."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from starlette.responses import HTMLResponse

from expressway.web.templates import Pages

STATIC = "/admin/static"

#: Only our own origin: the style sheet, the script, and the script's calls. Forms post to our
#: own origin too; the Express Configure script opens the tenant in a window of its own.
CONSOLE_CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)

#: What a page says after a change succeeded (``?notice=…``): fixed sentences, so a link
#: cannot make the console say anything else.
NOTICES = {
    "user-created": "The person was added.",
    "user-updated": "The person was updated.",
    "sessions-cleared": "The person's sessions were cleared and their apps told to sign them out.",
    "group-created": "The group was added.",
    "member-added": "The person was added to the group.",
    "member-removed": "The person was removed from the group.",
    "app-added": "The app instance was added.",
    "app-updated": "The app instance was updated.",
    "assigned": "The assignment was made.",
    "unassigned": "The assignment was removed.",
    "provisioning-updated": "The provisioning settings were saved.",
    "job-retried": "The job was queued again.",
    "import-started": "The import was started.",
    "group-push-created": "The group push was added.",
    "group-push-updated": "The group push was updated.",
    "group-push-deleted": "The group push was removed.",
    "submission-created": "The integration was created.",
    "submission-updated": "The integration was saved.",
    "express-configuration-saved": "The Express Configuration information was saved.",
    "key-generated": "A key pair was generated. Download the public key and upload it to the "
    "tenant's OIN client.",
    "finished": "The integration is finished.",
    "signed-out": "You have been signed out.",
}


class ConsolePages(Pages):
    def render(self, template: str, *, status_code: int = 200, **context: Any) -> HTMLResponse:
        response = super().render(template, status_code=status_code, **context)
        response.headers["Content-Security-Policy"] = CONSOLE_CONTENT_SECURITY_POLICY
        return response


pages = ConsolePages("expressway.workforce.console")


def when(at: datetime | None) -> str:
    """A time as the console shows it: UTC, to the second."""
    if at is None:
        return ""
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


pages.environment.filters["when"] = when


@dataclass(frozen=True)
class Layout:
    """What every page's frame shows: the org, the admin signed in (none on the sign-in and
    error pages before sign-in) and the session's anti-CSRF token for its forms."""

    org_name: str
    actor_name: str | None = None
    actor_login: str | None = None
    csrf_token: str | None = None

    @property
    def base(self) -> str:
        return f"/orgs/{self.org_name}/admin"

    def render(
        self, template: str, *, title: str, section: str, status: int = 200, **context: Any
    ) -> HTMLResponse:
        return pages.render(
            template,
            status_code=status,
            layout=self,
            title=title,
            section=section,
            static=STATIC,
            base=self.base,
            **context,
        )


def notice_of(key: str | None) -> str | None:
    return NOTICES.get(key or "")


def error_page(
    layout: Layout, *, status: int, title: str, message: str, causes: list[str]
) -> HTMLResponse:
    return layout.render(
        "error.html", title=title, section="", status=status, message=message, causes=causes
    )
