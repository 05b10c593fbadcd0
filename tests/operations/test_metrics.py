"""Prometheus metrics: what each relay records, the /metrics endpoint, several worker processes."""

from __future__ import annotations

import os
import runpy
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from prometheus_client import REGISTRY

from portal.operations.metrics import render_metrics
from tests.factories import LICENSE_BODY, read_vector

pytestmark = pytest.mark.django_db

BASE_DIR = Path(__file__).resolve().parents[2]


def _sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def _relays(**labels: str) -> float:
    return _sample("portal_relays_total", **{"tenant": "default", "code": "", **labels})


def _upload(client, name: str = "py_activate_key.req"):
    file = SimpleUploadedFile("ls_activation.req", read_vector(name).encode())
    return client.post("/", {"file": file})


@pytest.fixture
def metrics_on(settings) -> None:
    settings.PORTAL_METRICS_ENABLED = True
    settings.PORTAL_METRICS_TOKEN = ""


def test_metrics_are_404_unless_enabled(client):
    assert client.get("/metrics").status_code == 404


def test_metrics_endpoint_serves_the_prometheus_text_format(client, metrics_on):
    response = client.get("/metrics")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=")
    assert "# TYPE portal_relays_total counter" in response.content.decode()


def test_metrics_with_a_token_refuse_a_missing_or_wrong_bearer(client, metrics_on, settings):
    settings.PORTAL_METRICS_TOKEN = "scrape-token-0123"

    missing = client.get("/metrics")
    wrong = client.get("/metrics", HTTP_AUTHORIZATION="Bearer scrape-token-9999")

    assert (missing.status_code, wrong.status_code) == (401, 401)
    assert missing["WWW-Authenticate"] == 'Bearer realm="metrics"'


def test_metrics_with_a_token_accept_the_right_bearer(client, metrics_on, settings):
    settings.PORTAL_METRICS_TOKEN = "scrape-token-0123"

    response = client.get("/metrics", HTTP_AUTHORIZATION="Bearer scrape-token-0123")

    assert response.status_code == 200


def test_successful_relay_is_counted_as_ok_by_kind(client, upstream, metrics_on):
    upstream.answer("activate_offline", body=LICENSE_BODY)
    before = _relays(kind="activation", outcome="ok")

    _upload(client)

    assert _relays(kind="activation", outcome="ok") == before + 1


def test_same_file_again_is_counted_as_reused(client, upstream, metrics_on):
    upstream.answer("activate_offline", body=LICENSE_BODY)
    _upload(client)
    before = _relays(kind="activation", outcome="reused")

    _upload(client)

    assert _relays(kind="activation", outcome="reused") == before + 1


def test_upstream_error_is_counted_with_its_code(client, upstream, metrics_on):
    upstream.error("activate_offline", 400, "license_not_found")
    labels = {"kind": "activation", "outcome": "error", "code": "license_not_found"}
    before = _relays(**labels)

    _upload(client)

    assert _relays(**labels) == before + 1


def test_unreadable_file_is_counted_as_refused(client, metrics_on):
    labels = {"kind": "unknown", "outcome": "refused", "code": "not_base64"}
    before = _relays(**labels)

    client.post("/", {"request_text": "this is not a request file"})

    assert _relays(**labels) == before + 1


def test_relay_latency_is_observed_upstream_and_in_total(client, upstream, metrics_on):
    upstream.answer("activate_offline", body=LICENSE_BODY)
    upstream_before = _sample("portal_relay_upstream_seconds_count", endpoint="activate_offline")
    total_labels = {"kind": "activation", "outcome": "ok"}
    total_before = _sample("portal_relay_seconds_count", **total_labels)

    _upload(client)

    assert _sample("portal_relay_upstream_seconds_count", endpoint="activate_offline") == (
        upstream_before + 1
    )
    assert _sample("portal_relay_seconds_count", **total_labels) == total_before + 1


def test_nothing_is_recorded_while_metrics_are_off(client, upstream, settings):
    upstream.answer("activate_offline", body=LICENSE_BODY)
    settings.PORTAL_RATE_LIMIT = 1
    before = (
        _relays(kind="activation", outcome="ok"),
        _sample("portal_rate_limited_total", tenant="default"),
    )

    _upload(client)
    client.post("/api/v1/requests", data="x", content_type="text/plain")

    after = (
        _relays(kind="activation", outcome="ok"),
        _sample("portal_rate_limited_total", tenant="default"),
    )
    assert after == before


def test_rate_limited_request_is_counted(client, settings, metrics_on):
    settings.PORTAL_RATE_LIMIT = 1
    before = _sample("portal_rate_limited_total", tenant="default")

    client.post("/api/v1/requests", data="x", content_type="text/plain")
    client.post("/api/v1/requests", data="x", content_type="text/plain")

    assert _sample("portal_rate_limited_total", tenant="default") == before + 1


def _record_one_relay_in_a_new_process(directory: Path) -> None:
    code = (
        "from portal.operations import metrics; "
        "metrics.record_relay(tenant='default', kind='activation', outcome='ok', code=None, "
        "endpoint='activate_offline', upstream_ms=12.0, total_ms=15.0)"
    )
    environment = {
        **os.environ,
        "PROMETHEUS_MULTIPROC_DIR": str(directory),
        "PORTAL_METRICS_ENABLED": "true",
    }
    subprocess.run([sys.executable, "-c", code], cwd=BASE_DIR, env=environment, check=True)


def test_metrics_add_up_every_worker_process(tmp_path, monkeypatch):
    _record_one_relay_in_a_new_process(tmp_path)
    _record_one_relay_in_a_new_process(tmp_path)
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))

    body, _ = render_metrics()

    assert (
        'portal_relays_total{code="",kind="activation",outcome="ok",tenant="default"} 2.0'
        in body.decode()
    )


def test_gunicorn_gives_the_workers_a_metrics_folder_when_metrics_are_on():
    code = (
        "import os, runpy; runpy.run_path('gunicorn.conf.py'); "
        "print(os.environ['PROMETHEUS_MULTIPROC_DIR'])"
    )
    environment = {**os.environ, "PORTAL_METRICS_ENABLED": "true"}
    environment.pop("PROMETHEUS_MULTIPROC_DIR", None)

    completed = subprocess.run(
        [sys.executable, "-c", code], cwd=BASE_DIR, env=environment, capture_output=True, text=True
    )

    folder = Path(completed.stdout.strip())
    assert folder.is_dir()
    shutil.rmtree(folder)


def test_gunicorn_drops_a_dead_workers_live_samples(tmp_path, monkeypatch):
    hooks = runpy.run_path(str(BASE_DIR / "gunicorn.conf.py"))
    (tmp_path / "gauge_livesum_4242.db").write_bytes(b"")
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))

    hooks["child_exit"](None, type("Worker", (), {"pid": 4242})())

    assert list(tmp_path.iterdir()) == []
