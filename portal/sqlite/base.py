"""Django's SQLite backend, with its writers queued in line (ENGINE "portal.sqlite").

SQLite lets one writer in at a time. A connection that finds the database locked sleeps in
SQLite's busy handler and tries again, backing off up to 100 ms a try: under load, writers
that arrive together keep waking up to a locked file, and uploads wait tens of milliseconds
for writes that take tens of microseconds. Here every writer first takes a lock that wakes
the next waiter the moment it is released: a thread lock within the process, and an
exclusive `flock` on `<database>.writer-lock` across gunicorn's workers. A transaction
(BEGIN IMMEDIATE: settings.py runs SQLite's transactions in that mode) holds it from BEGIN
to COMMIT; a single INSERT, UPDATE or DELETE outside a transaction, for as long as it runs,
which is the cheaper way to write one row (portal.relay_store, portal.rate_limits). Keep
the lock short: the holder needs the GIL back after each SQLite call, so the hold time grows
with the number of busy threads. SQLite's own locking is unchanged underneath, so a writer
that bypasses the queue (a statement with RETURNING is finished only when its rows are read,
after the lock is given back) is still safe, merely slower.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import os
import re
import threading
from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager

from django.db.backends.sqlite3 import base


class WriterLock:
    """One writer at a time among this process's threads and, for a database file, among all
    processes that open it through this backend."""

    def __init__(self, path: str | None) -> None:
        self.path = path
        self._thread_lock = threading.Lock()
        self._fd: int | None = None

    def acquire(self) -> None:
        self._thread_lock.acquire()
        try:
            if self.path:
                fcntl.flock(self._file(), fcntl.LOCK_EX)
        except BaseException:
            self._thread_lock.release()
            raise

    def release(self) -> None:
        try:
            if self._fd is not None:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            self._thread_lock.release()

    def __enter__(self) -> WriterLock:
        self.acquire()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.release()

    def _file(self) -> int:
        if self._fd is None:
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        return self._fd


_locks: dict[str, WriterLock] = {}
_locks_lock = threading.Lock()


def writer_lock(database_name: str, *, in_memory: bool) -> WriterLock:
    lock = _locks.get(database_name)  # every cursor asks: no lock taken once it exists
    if lock is not None:
        return lock
    with _locks_lock:
        lock = _locks.get(database_name)
        if lock is None:
            path = None if in_memory else f"{database_name}.writer-lock"
            lock = _locks[database_name] = WriterLock(path)
        return lock


def _forget_locks() -> None:
    # A forked child (a gunicorn worker) starts with no lock held and opens its own file
    # description: flock locks belong to one, so the parent's would be shared with it.
    global _locks_lock
    _locks.clear()
    _locks_lock = threading.Lock()


os.register_at_fork(after_in_child=_forget_locks)


_WRITE = re.compile(r"\s*(INSERT|UPDATE|DELETE|REPLACE)\b", re.IGNORECASE)


class QueuedWriteCursor(base.SQLiteCursorWrapper):
    """A cursor whose writes outside a transaction wait in line (a transaction already holds
    the lock: DatabaseWrapper takes it at BEGIN)."""

    writer_lock: WriterLock | None = None

    def execute(self, query: str, params: Sequence[object] | None = None) -> QueuedWriteCursor:
        with self._in_line(query):
            return super().execute(query, params)

    def executemany(self, query: str, param_list: Iterable[Sequence[object]]) -> QueuedWriteCursor:
        with self._in_line(query):
            return super().executemany(query, param_list)

    def convert_query(self, query: str, *, param_names: list[str] | None = None) -> str:
        if param_names is None:  # "%s" placeholders, as the ORM and the portal's SQL write them
            return _qmark_style(query)
        return super().convert_query(query, param_names=param_names)

    def _in_line(self, query: str) -> AbstractContextManager[object]:
        if self.writer_lock is None or self.connection.in_transaction or not _WRITE.match(query):
            return contextlib.nullcontext()
        return self.writer_lock


@functools.lru_cache(maxsize=512)
def _qmark_style(query: str) -> str:
    """Django's "%s" to SQLite's "?", once per distinct query: an upload runs the same few
    statements, and the regular expression on each cost 2% of a worker's CPU under load."""
    return base.FORMAT_QMARK_REGEX.sub("?", query).replace("%%", "%")


class DatabaseWrapper(base.DatabaseWrapper):
    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self._held_writer_lock: WriterLock | None = None

    def create_cursor(self, name: str | None = None) -> QueuedWriteCursor:
        cursor = self.connection.cursor(factory=QueuedWriteCursor)
        cursor.writer_lock = self._writer_lock()
        return cursor

    def _writer_lock(self) -> WriterLock:
        return writer_lock(str(self.settings_dict["NAME"]), in_memory=self.is_in_memory_db())

    def _start_transaction_under_autocommit(self) -> None:
        lock = self._writer_lock()
        lock.acquire()
        try:
            super()._start_transaction_under_autocommit()
        except BaseException:
            lock.release()
            raise
        self._held_writer_lock = lock

    def _commit(self) -> None:
        try:
            super()._commit()
        finally:
            self._release_writer_lock()

    def _rollback(self) -> None:
        try:
            super()._rollback()
        finally:
            self._release_writer_lock()

    def _close(self) -> None:
        try:
            super()._close()
        finally:
            self._release_writer_lock()

    def _release_writer_lock(self) -> None:
        lock, self._held_writer_lock = self._held_writer_lock, None
        if lock is not None:
            lock.release()
