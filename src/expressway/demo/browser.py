"""A scripted person at a browser, for the demo: follows redirects, keeps cookies, and fills the
forms that the tenant's and the workforce's login pages show, as a person would.

Written with the standard library's HTMLParser: the pages are Expressway's own, server-rendered
and simple, and a full browser engine would be a heavy dependency for a command-line demo (the
web consoles are tested in a real browser instead).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from html.parser import HTMLParser

import httpx

from expressway.web.outbound import http_client


@dataclass
class Form:
    action: str
    fields: dict[str, str] = field(default_factory=dict)
    #: The values of the named submit buttons, by name.
    buttons: dict[str, list[str]] = field(default_factory=dict)


class _Forms(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.forms: list[Form] = []
        self._current: Form | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {name: value or "" for name, value in attrs}
        if tag == "form":
            self._current = Form(action=attributes.get("action", ""))
            self.forms.append(self._current)
            return
        if self._current is None or "name" not in attributes:
            return
        name = attributes["name"]
        kind = attributes.get("type", "text" if tag == "input" else "submit")
        if tag == "button" or kind == "submit":
            self._current.buttons.setdefault(name, []).append(attributes.get("value", ""))
        elif kind in ("radio", "checkbox"):
            if "checked" in attributes or name not in self._current.fields:
                self._current.fields[name] = attributes.get("value", "on")
        elif tag in ("input", "select", "textarea"):
            self._current.fields[name] = attributes.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._current = None


def forms_of(html: str) -> list[Form]:
    parser = _Forms()
    parser.feed(html)
    return parser.forms


class BrowserStuck(RuntimeError):
    """The pages went somewhere the script did not expect."""


class Person:
    """Someone at a browser of their own (a fresh cookie jar), with what they would type."""

    def __init__(
        self,
        email: str,
        password: str,
        organization: str | None = None,
        *,
        consent: str = "accept",
    ) -> None:
        self.email = email
        self.password = password
        self.organization = organization
        self.consent = consent
        self.http = http_client(timeout=30)
        self.pages: list[str] = []

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> Person:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def walk(
        self, url: str, stop_at: str, before_last: Callable[[], None] | None = None
    ) -> httpx.Response:
        """From ``url`` through every redirect and form until a redirect to ``stop_at``, which is
        followed; answers that last response."""
        response = self.http.get(url)
        for _ in range(30):
            if response.is_redirect:
                location = str(response.url.join(response.headers["location"]))
                if location.startswith(stop_at) and before_last is not None:
                    before_last()
                response = self.http.get(location)
                if location.startswith(stop_at):
                    return response
                continue
            forms = forms_of(response.text)
            if not forms:
                raise BrowserStuck(f"{response.url} answered {response.status_code} with no form")
            form = forms[0]
            page = str(response.url.copy_with(query=None))
            if self.pages[-2:] == [page, page]:
                raise BrowserStuck(f"{page} was shown three times in a row")
            self.pages.append(page)
            data = dict(form.fields)
            for name in data:
                if name == "organization_name" and self.organization is not None:
                    data[name] = self.organization
                elif name in ("email", "username"):
                    data[name] = self.email
                elif name == "password":
                    data[name] = self.password
            for name, values in form.buttons.items():
                data[name] = self.consent if self.consent in values else values[0]
            response = self.http.post(str(response.url.join(form.action)), data=data)
        raise BrowserStuck(f"never reached {stop_at}; pages seen: {self.pages}")
