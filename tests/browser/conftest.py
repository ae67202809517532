"""Real-browser tests: Playwright driving Debian's Chromium against a live server.

They skip with a message when Playwright or Chromium is missing (REQUIRE_SERVICES=1 makes
that a failure). Playwright's bundled driver is used; no browser is ever downloaded.
"""

import os
from pathlib import Path

import pytest
from django.conf import settings

from apps.core import outbox
from apps.demo.services import demo_data_seed
from tests.factories import role_group
from tests.services import skip_or_fail

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# BROWSER_ARTIFACTS (relative to the checkout) keeps two runs side by side apart (.ci/run).
ARTIFACTS = Path(settings.BASE_DIR) / os.environ.get("BROWSER_ARTIFACTS", "test-artifacts/browser")
TIMEOUT_MS = 10_000


@pytest.fixture(scope="package")
def chromium():
    """One Chromium for the browser tests; each test gets its own context (browser_page),
    so no cookie, storage or page is shared. Package-scoped, not session-scoped: while
    Playwright runs, its event loop is current in this thread, and the rest of the suite
    must not run under it (nor inherit the async-unsafe switch below). pytest-django runs
    the transactional tests (all of these) together, so the browser starts once and is
    closed before any other package's test runs."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        skip_or_fail("needs the playwright package: pip install -e '.[dev]'")
    if not os.access(CHROMIUM, os.X_OK):
        skip_or_fail(f"needs Chromium at {CHROMIUM}: apt-get install -y chromium")
    # Playwright's sync API keeps an event loop in this thread, which makes Django refuse
    # ORM calls from the test body; the test does not share connections with that loop.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            yield browser
            browser.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture(autouse=True)
def _contexts_closed(chromium):
    """Whatever contexts a test opened (pages polling the live server included) are
    closed when it ends, even if it failed half-way: the next test starts with none."""
    yield
    for context in chromium.contexts:
        context.close()


@pytest.fixture
def browser_page(chromium, live_server):
    """A fresh browser context (no cookies) pointed at the live server."""
    context = chromium.new_context(
        base_url=live_server.url, viewport={"width": 1280, "height": 900}, locale="en-US"
    )
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def screenshot():
    """Save a full-page PNG under test-artifacts/browser/ (git-ignored), or BROWSER_ARTIFACTS."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)

    def take(page, name: str) -> Path:
        path = ARTIFACTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


def run_engine_until_idle() -> None:
    """Do in-process what the workers would: process every event and run every due
    step, until nothing is left."""
    outbox.drain()


@pytest.fixture
def demo(transactional_db, settings):
    """The demo data (`manage.py seed_demo`) after the worker has run: closed-won deals
    enrolled, kickoff tasks in the CSMs' queues, hand-off reminders to the reps."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    role_group("CSM")  # a transactional test starts with the migrations' roles flushed
    demo_data_seed()
    run_engine_until_idle()
