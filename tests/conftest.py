from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from django.utils import translation
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from playwright.sync_api import Browser, Page, sync_playwright

from portal.licensespring import oauth
from portal.licensespring.client import LicenseApiClient
from portal.relay import upstream as upstream_client
from scripts import fake_license_api
from tests import browser_support
from tests.factories import FAULT_DEADLINE, seed_demo

PROXY_VARIABLES = ["ALL_PROXY", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY"]

# Generated inputs (Hypothesis): `ci` keeps the whole generated part of the suite near a minute;
# HYPOTHESIS_PROFILE=thorough tries ten times as many cases. Examples share a test's fixtures
# (one database transaction, one fake License API): each builds its own inputs.
hypothesis_settings.register_profile(
    "ci",
    max_examples=1000,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
hypothesis_settings.register_profile(
    "thorough",
    parent=hypothesis_settings.get_profile("ci"),
    max_examples=10_000,
    database=hypothesis_settings.default.database,
)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@dataclass
class MockLicenseApi:
    """A License API behind httpx.MockTransport: answers by endpoint, records every request.
    `client` is a License API client on it (also installed as the process's client)."""

    client: LicenseApiClient | None = None
    answers: dict[str, list[Callable[[httpx.Request], httpx.Response]]] = field(
        default_factory=dict
    )
    requests: list[httpx.Request] = field(default_factory=list)

    def answer(
        self,
        endpoint: str,
        status: int = 200,
        body: bytes | dict | str = b"",
        headers: dict[str, str] | None = None,
    ) -> None:
        if isinstance(body, dict):
            content = json.dumps(body).encode()
        else:
            content = body.encode() if isinstance(body, str) else body
        self.answers.setdefault(endpoint, []).append(
            lambda request: httpx.Response(status, content=content, headers=headers)
        )

    def fail(self, endpoint: str, exception: Exception) -> None:
        def _raise(request: httpx.Request) -> httpx.Response:
            raise exception

        self.answers.setdefault(endpoint, []).append(_raise)

    def error(
        self, endpoint: str, status: int, code: str, message: str = "upstream says no"
    ) -> None:
        self.answer(endpoint, status, {"status": status, "code": code, "message": message})

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        endpoint = request.url.path.rsplit("/", 1)[-1]
        queue = self.answers.get(endpoint) or []
        if not queue:
            return httpx.Response(500, text=f"no answer queued for {endpoint}")
        handler = queue.pop(0) if len(queue) > 1 else queue[0]
        return handler(request)

    @property
    def endpoints(self) -> list[str]:
        return [request.url.path.rsplit("/", 1)[-1] for request in self.requests]


@pytest.fixture
def upstream() -> Iterator[MockLicenseApi]:
    """The process's License API client, pointed at a fake License API."""
    api = MockLicenseApi()
    api.client = upstream_client.build_client(httpx.MockTransport(api.handle))
    upstream_client.set_client(api.client)
    yield api
    upstream_client.set_client(None)


@pytest.fixture
def no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    """Loopback tests talk to loopback, whatever proxy the environment names."""
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


@pytest.fixture
def faulty_upstream(settings, no_proxy: None) -> Iterator[fake_license_api.FakeLicenseApi]:
    """A fake License API on loopback (scripts/fake_license_api.py, the bench's) that takes
    faults to inject; the default tenant and the process's client point at it, with a relay
    deadline of FAULT_DEADLINE seconds."""
    server = fake_license_api.FakeLicenseApi().start()
    settings.LICENSE_API_URL = server.url
    settings.LICENSE_API_DEADLINE = FAULT_DEADLINE
    upstream_client.set_client(None)
    yield server
    upstream_client.set_client(None)
    server.stop()


@pytest.fixture(autouse=True)
def _no_oauth_tokens_kept() -> Iterator[None]:
    """Each test starts without the OAuth tokens and token URLs an earlier one fetched."""
    oauth.tokens.clear()
    yield
    oauth.tokens.clear()


@pytest.fixture(autouse=True)
def _static_files_without_manifest(settings) -> None:
    """Tests render pages without running collectstatic first."""
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture(autouse=True)
def _no_language_left_over() -> Iterator[None]:
    """A request leaves its language active on the thread; the next test starts in English."""
    yield
    translation.deactivate()


def pytest_sessionstart(session: pytest.Session) -> None:
    """The translation catalogues, compiled as `make run` and the image compile them (.mo files
    are built, never committed); compilemessages skips those whose .po has not changed."""
    from django.core.management import call_command

    call_command(
        "compilemessages", verbosity=0, ignore_patterns=[".*", "node_modules", "staticfiles"]
    )


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """The browser tests' axe and keyboard report, in the test output (issue 6)."""
    browser_support.write_report(terminalreporter)


@pytest.fixture(scope="module")
def key_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("sandbox") / "sandbox_key.pem"


@pytest.fixture
def demo(settings: object, key_path: Path, db: None) -> None:
    seed_demo(settings, key_path)


@pytest.fixture(scope="session")
def collected_static() -> None:
    """The static files a production server serves, collected as `make run` and the image do:
    a page rendered under gunicorn's production settings needs their manifest."""
    command = [sys.executable, "manage.py", "collectstatic", "--noinput", "--verbosity", "0"]
    subprocess.run(command, cwd=Path(__file__).resolve().parents[1], check=True)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """One Chromium for all the browser tests; each test gets its own fresh context."""
    # Playwright's sync API keeps an event loop on this thread, and Django refuses database
    # calls from a thread with a running loop: seeding and the per-test flush happen here.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = browser_support.launch_chromium(playwright)
            yield browser
            browser.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix: None) -> None:
    """SQLite tests run on a file, as the portal does, so that its busy timeout makes threads
    wait for each other's writes: in memory, SQLite shares one cache between a test's threads
    and refuses a write at once while another thread writes ("database table is locked"),
    which batches (several relays at once, in threads of their own) run into. The file is in
    shared memory where there is one, and never synced: a test database need not survive a
    power cut, and the suite stays as fast as in memory."""
    from django.conf import settings

    database = settings.DATABASES["default"]
    if database["ENGINE"] != "django.db.backends.sqlite3":
        return
    folder = Path("/dev/shm") if Path("/dev/shm").is_dir() else Path(tempfile.gettempdir())
    database["TEST"] = {
        **database.get("TEST", {}),
        "NAME": str(folder / f"offline-portal-test-{os.getpid()}.sqlite3"),
    }
    database["OPTIONS"] = {
        **database.get("OPTIONS", {}),
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=OFF;",
    }


OTHER_HOST = "offline.other.test"


@pytest.fixture
def other_tenant(db: None) -> Iterator[object]:
    """A second tenant, on OTHER_HOST, with its own API key (not the default tenant's)."""
    from portal.tenants import resolution
    from portal.tenants.models import TenantHost, TenantSettings

    resolution.forget_cached_tenants()
    tenant = TenantSettings(
        slug="other",
        name="Other Vendor",
        api_url="https://api.other.test/api/v4",
        api_key="other-api-key-0000-0000-000000000009",
    )
    tenant.set_shared_key("other-shared-key-very-secret-9999")
    tenant.save()
    TenantHost.objects.create(tenant=tenant, host=OTHER_HOST)
    yield tenant
    resolution.forget_cached_tenants()


@pytest.fixture
def open_page(browser: Browser, portal: str) -> Iterator[Callable[..., Page]]:
    """Opens a page of the portal (the `portal` fixture of the test's module) in a new browser
    context: `options` are Playwright's, and `timeout_ms` the page's default timeout."""
    contexts = []

    def _open_page(path: str = "/", timeout_ms: int = 15_000, **options: object) -> Page:
        options = {"viewport": {"width": 1024, "height": 900}, **options}
        context = browser.new_context(base_url=portal, accept_downloads=True, **options)
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(timeout_ms)
        page.goto(path)
        return page

    yield _open_page
    for context in contexts:
        context.close()
