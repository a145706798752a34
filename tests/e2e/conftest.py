"""End-to-end tests: real Chromium (Debian's package) driven by Playwright against
pytest-django's live server. No browser is ever downloaded: the system binary is used,
and the tests are skipped with a clear reason only where it is missing."""

import os
import shutil
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]

pytestmark = pytest.mark.browser


@pytest.fixture(scope="session")
def migration_data(django_db_setup, django_db_blocker) -> str:
    """The rows the migrations create (default scenario, ECB rates, schedules), as Django
    serialised them when it created the test database. Read before Playwright starts:
    its event loop gives the ORM another connection object, without that copy."""
    from django.db import connection

    return getattr(connection, "_test_serialized_contents", "")


@pytest.fixture(autouse=True)
def _restore_migration_data(request, migration_data):
    """Browser tests are transactional: a transactional test empties the database when it
    ends, and Django restores the migrations' rows at the start of the next one only on
    the connection object it knows. Restore them here when they are missing."""
    if "live_server" not in request.fixturenames:
        return
    request.getfixturevalue("transactional_db")
    from django.core import serializers

    from reminders.models import Scenario

    if migration_data and not Scenario.objects.exists():
        # The apps whose data migrations the product relies on (content types and
        # permissions are recreated by the flush itself).
        for item in serializers.deserialize("json", migration_data):
            if item.object._meta.app_label in {"reminders", "receivables", "django_q"}:
                item.save()


@pytest.fixture(scope="session")
def browser(migration_data):
    if CHROMIUM is None:
        pytest.skip("Chromium is not installed (bin/test installs Debian's chromium package)")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the ORM calls the tests
    # make (setting up data) are plain synchronous code, which Django would otherwise
    # refuse. Only while the browser tests run.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()
    if previous is None:
        del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]
    else:
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 900}, locale="fr-FR")
    page = context.new_page()
    page.set_default_timeout(15_000)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    def on_console(msg) -> None:
        # A 404 the test asked for is reported by Chromium as a console error too.
        if msg.type == "error" and "status of 404" not in msg.text:
            errors.append(msg.text)

    page.on("console", on_console)
    yield page
    context.close()
    assert not errors, f"browser errors: {errors}"


def login(page, live_server, username: str, password: str = "demo1234") -> None:
    page.goto(f"{live_server.url}/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert "/login/" not in page.url, f"login failed for {username}"


def screenshot(page, name: str) -> None:
    page.wait_for_load_state("networkidle")  # fragments htmx loads after the page
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=False)
