"""Container start: migrate, then seed the sandbox when it is on, one replica at a time.

Several replicas may start at once on one database. Each takes a lock first: on PostgreSQL a
session advisory lock, on SQLite an flock on a file beside the database. The first replica
migrates and seeds; the others wait, then find nothing left to do (both steps are
idempotent), so no two migrations ever race.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import zlib
from collections.abc import Iterator
from pathlib import Path

import django
from django.conf import settings
from django.core.management import call_command
from django.db import connections

SANDBOX_SEED = Path(__file__).resolve().parent.parent / "sandbox" / "fixtures" / "demo.json"
_LOCK_ID = zlib.crc32(b"offline-portal:prepare-database")


@contextlib.contextmanager
def _database_lock() -> Iterator[None]:
    database = settings.DATABASES["default"]
    if "postgresql" in database["ENGINE"]:
        # A connection of its own, so the lock holds whatever migrate does with "default".
        lock_connection = connections.create_connection("default")
        try:
            with lock_connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_lock(%s)", [_LOCK_ID])
            yield
        finally:
            lock_connection.close()  # ends the session, which releases the lock
    elif "sqlite" in database["ENGINE"]:
        lock_path = Path(f"{database['NAME']}.lock")
        lock_path.parent.mkdir(parents=True, exist_ok=True)
        with lock_path.open("a") as lock_file:
            fcntl.flock(lock_file, fcntl.LOCK_EX)
            yield
    else:
        yield


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "offline_portal.settings")
    django.setup()
    with _database_lock():
        call_command("migrate", interactive=False, verbosity=1)
        if settings.SANDBOX_ENABLED:
            call_command("sandbox_seed", str(SANDBOX_SEED))
    connections.close_all()


if __name__ == "__main__":
    main()
