"""portal.sqlite: SQLite writers wait in line, within a process and across processes.

Each test opens its own connections to a database file of its own, with a SQLite busy timeout
far shorter than the waits, so that a writer that was not queued would fail with "database is
locked" instead of passing.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from django.db import connection

from portal.sqlite.base import DatabaseWrapper

HOLD_SECONDS = 0.4


def _connect(path: Path) -> DatabaseWrapper:
    settings_dict = {
        **connection.settings_dict,
        "NAME": str(path),
        "OPTIONS": {"transaction_mode": "IMMEDIATE", "timeout": 0.02},
    }
    return DatabaseWrapper(settings_dict, alias=f"queue-test-{threading.get_ident()}")


def _begin(wrapper: DatabaseWrapper) -> None:
    wrapper.set_autocommit(False, force_begin_transaction_with_broken_autocommit=True)


def _end(wrapper: DatabaseWrapper, *, commit: bool = True) -> None:
    if commit:
        wrapper.commit()
    else:
        wrapper.rollback()
    wrapper.set_autocommit(True)


def _insert(wrapper: DatabaseWrapper, value: str) -> None:
    with wrapper.cursor() as cursor:
        cursor.execute("INSERT INTO t (v) VALUES (%s)", [value])


def _values(path: Path) -> list[str]:
    wrapper = _connect(path)
    with wrapper.cursor() as cursor:
        cursor.execute("SELECT v FROM t ORDER BY id")
        values = [row[0] for row in cursor.fetchall()]
    wrapper.close()
    return values


@pytest.fixture(autouse=True)
def _own_connections(django_db_blocker):
    with django_db_blocker.unblock():  # these tests open their own, to files of their own
        yield


@pytest.fixture
def database(tmp_path: Path) -> Path:
    path = tmp_path / "queue.sqlite3"
    wrapper = _connect(path)
    with wrapper.cursor() as cursor:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
    wrapper.close()
    return path


def _hold_a_transaction(path: Path, began: threading.Event, *, commit: bool = True) -> None:
    wrapper = _connect(path)
    _begin(wrapper)
    _insert(wrapper, "first")
    began.set()
    time.sleep(HOLD_SECONDS)
    _end(wrapper, commit=commit)
    wrapper.close()


def _write_after(path: Path, began: threading.Event) -> float:
    """Wait for the other writer to begin, then write; return how long the write waited."""
    began.wait(5)
    wrapper = _connect(path)
    started = time.monotonic()
    _begin(wrapper)
    waited = time.monotonic() - started
    _insert(wrapper, "second")
    _end(wrapper)
    wrapper.close()
    return waited


def test_a_second_writer_in_the_process_waits_for_the_first_instead_of_failing(database):
    began = threading.Event()
    holder = threading.Thread(target=_hold_a_transaction, args=(database, began))
    holder.start()

    waited = _write_after(database, began)
    holder.join()

    assert waited >= HOLD_SECONDS * 0.7
    assert _values(database) == ["first", "second"]


def test_a_rolled_back_transaction_lets_the_next_writer_in(database):
    began = threading.Event()
    holder = threading.Thread(
        target=_hold_a_transaction, args=(database, began), kwargs={"commit": False}
    )
    holder.start()

    _write_after(database, began)
    holder.join()

    assert _values(database) == ["second"]


def test_writers_in_other_processes_wait_in_line_too(database):
    lock_file = f"{database}.writer-lock"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import fcntl, os, sys, time\n"
            f"fd = os.open({lock_file!r}, os.O_RDWR | os.O_CREAT)\n"
            "fcntl.flock(fd, fcntl.LOCK_EX)\n"
            "print('held', flush=True)\n"
            f"time.sleep({HOLD_SECONDS})\n",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout.readline().strip() == "held"
    began = threading.Event()
    began.set()

    waited = _write_after(database, began)
    holder.wait(5)

    assert waited >= HOLD_SECONDS * 0.5
    assert _values(database) == ["second"]


def test_a_closed_connection_gives_the_lock_back(database):
    wrapper = _connect(database)
    _begin(wrapper)
    _insert(wrapper, "lost")
    wrapper.close()  # mid-transaction: SQLite rolls it back

    began = threading.Event()
    began.set()
    waited = _write_after(database, began)

    assert waited < HOLD_SECONDS
    assert _values(database) == ["second"]


def test_a_single_write_outside_a_transaction_waits_in_line_too(database):
    began = threading.Event()
    holder = threading.Thread(target=_hold_a_transaction, args=(database, began))
    holder.start()
    began.wait(5)

    wrapper = _connect(database)
    started = time.monotonic()
    _insert(wrapper, "second")  # autocommit: the statement is its own transaction
    waited = time.monotonic() - started
    wrapper.close()
    holder.join()

    assert waited >= HOLD_SECONDS * 0.7
    assert _values(database) == ["first", "second"]


def test_placeholders_and_literal_percent_signs_survive_repeated_queries(database):
    wrapper = _connect(database)
    with wrapper.cursor() as cursor:
        for value in ("50", "75"):  # the second run takes the cached conversion
            cursor.execute("INSERT INTO t (v) VALUES (%s || '%%')", [value])
        cursor.execute("SELECT v FROM t WHERE v LIKE '%%5%%' ORDER BY id")
        assert cursor.fetchall() == [("50%",), ("75%",)]
        cursor.execute("SELECT v FROM t WHERE v = %(wanted)s", {"wanted": "75%"})
        assert cursor.fetchall() == [("75%",)]
    wrapper.close()
