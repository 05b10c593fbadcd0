from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from django.utils import translation
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings

from portal.licensespring import client as license_api
from tests import browser_support
from tests.factories import seed_demo

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
class FakeLicenseApi:
    """A License API behind httpx.MockTransport: answers by endpoint, records every request."""

    answers: dict[str, list[Callable[[httpx.Request], httpx.Response]]] = field(
        default_factory=dict
    )
    requests: list[httpx.Request] = field(default_factory=list)

    def answer(self, endpoint: str, status: int = 200, body: bytes | dict | str = b"") -> None:
        if isinstance(body, dict):
            content = json.dumps(body).encode()
        else:
            content = body.encode() if isinstance(body, str) else body
        self.answers.setdefault(endpoint, []).append(
            lambda request: httpx.Response(status, content=content)
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
def upstream() -> Iterator[FakeLicenseApi]:
    """The process's License API client, pointed at a fake License API."""
    api = FakeLicenseApi()
    license_api.set_client(license_api.build_client(httpx.MockTransport(api.handle)))
    yield api
    license_api.set_client(None)


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
