"""What the IT admin does in the window that *Express Configure* opens: the tenant's Universal
Login (organization prompt, e-mail, password, consent) until the tenant sends the window back to
the workforce's callback, which settles the console's attempt."""

from __future__ import annotations

from collections.abc import Callable

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page, Response, expect

#: Milliseconds Playwright waits for a page, a popup or an element.
TIMEOUT = 20_000

#: Told each tenant page worth a screenshot the first time it shows: "organization" (the prompt,
#: filled in) or "consent" (before accepting).
OnPage = Callable[[str, Page], None]


def walk_the_tenant(
    popup: Page,
    *,
    organization: str,
    email: str,
    password: str,
    callback: str,
    on_page: OnPage | None = None,
) -> None:
    """Answer each page of the tenant in ``popup`` until it reaches ``callback`` or closes."""
    seen: set[str] = set()

    def show(kind: str) -> None:
        if on_page is not None and kind not in seen:
            seen.add(kind)
            on_page(kind, popup)

    # The console opens the window blank, then sends it to the tenant.
    popup.wait_for_url(lambda url: not url.startswith("about:"), timeout=TIMEOUT)
    for _ in range(12):
        try:
            popup.wait_for_load_state("load", timeout=TIMEOUT)
            if popup.is_closed() or popup.url.startswith(callback):
                return
            if popup.locator("#organization_name").count():
                popup.fill("#organization_name", organization)
                show("organization")
                action = popup.locator("#organization_name")
            elif popup.locator("#password").count():
                if not popup.input_value("#email"):
                    popup.fill("#email", email)
                popup.fill("#password", password)
                action = popup.locator("#password")
            elif popup.locator("#email").count():
                popup.fill("#email", email)
                action = popup.locator("#email")
            elif popup.locator('button[value="accept"]').count():
                show("consent")
                with popup.expect_navigation(timeout=TIMEOUT):
                    popup.click('button[value="accept"]')
                continue
            else:
                raise AssertionError(f"unexpected tenant page {popup.url}: {popup.content()[:800]}")
            with popup.expect_navigation(timeout=TIMEOUT):
                action.press("Enter")
        except PlaywrightError:
            # The console closes the window once the attempt settles, possibly mid-wait.
            if popup.is_closed():
                return
            raise
    raise AssertionError(f"the tenant never sent the admin back; last page {popup.url}")


def express_configure(
    page: Page, button: str, outcome: str, walk: Callable[[Page], None]
) -> Response:
    """Click ``button``, let ``walk`` go through the tenant in the window it opens, and answer
    the console XHR's answer that settles the attempt (the one that is not a 202), once the
    page shows ``outcome``."""
    with page.expect_response(
        lambda r: "/express-configure/flows/" in r.url and r.status != 202, timeout=60_000
    ) as settled:
        with page.expect_popup(timeout=TIMEOUT) as opened:
            page.get_by_role("button", name=button).click()
        walk(opened.value)
    expect(page.locator(outcome)).to_be_visible(timeout=TIMEOUT)
    return settled.value
