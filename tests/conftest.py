from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from portal.licensespring import client as license_api
from portal.licensespring import oauth
from tests import browser_support
from tests.factories import seed_demo


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


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """The browser tests' axe and keyboard report, in the test output (issue 6)."""
    browser_support.write_report(terminalreporter)


@pytest.fixture(scope="module")
def key_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("sandbox") / "sandbox_key.pem"


@pytest.fixture
def demo(settings: object, key_path: Path, db: None) -> None:
    seed_demo(settings, key_path)
