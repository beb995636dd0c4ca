"""Browser tests: the app served on a free port, Debian's Chromium driven by Playwright, and every
test failed when the page logs a console error or throws (unless the test declares that error)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from playwright.sync_api import BrowserContext, ConsoleMessage, Page, expect

from harness.chromium import CHROMIUM, CHROMIUM_ARGS
from tests.helpers import PATIENCE_MS, LiveServer, patient

expect.set_options(timeout=PATIENCE_MS)  # see PATIENCE_MS: waits for conditions, never a speed limit


@pytest.fixture(scope="session")
def base_url(live_server: LiveServer) -> str:
    """The session's live server (tests/conftest.py); pytest-playwright gives every context this base URL,
    so ``page.goto("/")`` works."""
    return live_server.base


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict) -> dict:
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@dataclass
class BrowserErrors:
    """Console errors and uncaught page errors seen by the watched contexts."""

    seen: list[str] = field(default_factory=list)
    allowed: list[re.Pattern[str]] = field(default_factory=list)

    def allow(self, pattern: str) -> None:
        """Declare an error this test provokes on purpose (a regular expression)."""
        self.allowed.append(re.compile(pattern))

    def watch(self, target: BrowserContext | Page) -> None:
        target.on("console", self._console)
        if isinstance(target, BrowserContext):
            target.on("weberror", lambda e: self.seen.append(f"page error: {e.error}"))
        else:
            target.on("pageerror", lambda e: self.seen.append(f"page error: {e}"))

    def _console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.seen.append(f"console error: {message.text} ({message.location.get('url', '')})")

    def unexpected(self) -> list[str]:
        return [e for e in self.seen if not any(p.search(e) for p in self.allowed)]


@pytest.fixture
def browser_errors() -> BrowserErrors:
    return BrowserErrors()


@pytest.fixture
def context(context: BrowserContext, browser_errors: BrowserErrors) -> BrowserContext:
    browser_errors.watch(patient(context))
    return context


@pytest.fixture(autouse=True)
def _no_browser_errors(browser_errors: BrowserErrors) -> Iterator[None]:
    yield
    unexpected = browser_errors.unexpected()
    if unexpected:
        pytest.fail("the page logged errors:\n" + "\n".join(unexpected), pytrace=False)
