"""docker/prepare_database.py: the container's start waits for a database that is not answering
yet, then fails with the reason, and never shows the database password."""

from __future__ import annotations

import runpy
import socket
import threading
import time
from pathlib import Path

import dj_database_url
import pytest
from django.db import connections

PREPARE = runpy.run_path(str(Path(__file__).resolve().parents[2] / "docker/prepare_database.py"))
wait_for_database = PREPARE["wait_for_database"]

# Only the probe's own connection is opened, never the suite's.
pytestmark = pytest.mark.django_db


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_a_database_that_never_answers_stops_the_start_with_the_reason(capsys):
    url = f"postgres://portal:s3cret-pw@127.0.0.1:{_closed_port()}/portal"

    started = time.monotonic()
    with pytest.raises(SystemExit) as stopped:
        wait_for_database(dj_database_url.parse(url), wait_s=2.5)

    message = str(stopped.value.code)
    assert message.startswith("offline-portal: the database does not answer (")
    assert "refused" in message.lower()
    assert "Check DATABASE_URL" in message
    assert 2.5 <= time.monotonic() - started < 15
    waited = capsys.readouterr().err
    assert "waiting for the database" in waited
    assert "s3cret-pw" not in message + waited


def test_the_start_goes_on_once_the_database_answers(tmp_path, capsys):
    """A database that comes up a few seconds after the portal, as one beside it may."""
    folder = tmp_path / "not-yet"
    settings_dict = dj_database_url.parse(f"sqlite:///{folder / 'portal.sqlite3'}")
    threading.Timer(2.5, folder.mkdir).start()

    started = time.monotonic()
    wait_for_database(settings_dict, wait_s=30)

    assert 2.5 <= time.monotonic() - started < 15
    assert "waiting for the database (unable to open database file)" in capsys.readouterr().err


def test_the_suites_own_database_answers_at_once(capsys):
    started = time.monotonic()

    wait_for_database(connections["default"].settings_dict)

    assert time.monotonic() - started < 5
    assert capsys.readouterr().err == ""
