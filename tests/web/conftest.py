"""Browser tests: the app served from a thread, Debian's chromium driven by Playwright."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from typing import Any

import pytest

CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def pytest_collection_modifyitems(config: Any, items: list[Any]) -> None:
    for item in items:
        if "tests/web/" in str(item.fspath):
            item.add_marker(pytest.mark.browser)
            item.add_marker(pytest.mark.committing)


@pytest.fixture
def browser() -> Iterator[Any]:
    if not os.path.exists(CHROMIUM):
        if os.environ.get("CI"):
            pytest.fail(f"chromium is required in CI and was not found at {CHROMIUM}")
        pytest.skip("chromium not installed (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield instance
        finally:
            instance.close()


@pytest.fixture
def page(browser: Any, live_server: str) -> Iterator[Any]:
    """A page that records every URL the browser asks for."""
    context = browser.new_context(locale="fr-FR", base_url=live_server)
    tab = context.new_page()
    tab.requested_urls = []
    tab.on("request", lambda request: tab.requested_urls.append(request.url))
    tab.set_default_timeout(15000)
    try:
        yield tab
    finally:
        context.close()


def assert_only_local_requests(page: Any, base_url: str) -> None:
    foreign = [
        url
        for url in page.requested_urls
        if not url.startswith(base_url) and not url.startswith(("data:", "blob:", "about:"))
    ]
    assert foreign == [], f"requests left 127.0.0.1: {foreign}"


def fill_select(page: Any, selector: str, value: str) -> None:
    """Set a select hidden behind select2 and tell select2 about it."""
    page.eval_on_selector(
        selector,
        "(el, value) => { el.value = value; el.dispatchEvent(new Event('change', {bubbles: true})); }",
        value,
    )
