"""Container start: migrate, then seed the sandbox when it is on, one replica at a time.

Several replicas may start at once on one database. Each takes a lock first: on PostgreSQL a
session advisory lock, on SQLite an flock on a file beside the database. The first replica
migrates and seeds; the others wait, then find nothing left to do (both steps are
idempotent), so no two migrations ever race. A database server that is not answering yet
(started beside the portal) is waited for, up to a minute, before the start fails with the
reason.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sys
import time
import zlib
from collections.abc import Iterator
from pathlib import Path

import django
from django.conf import settings
from django.core.management import call_command
from django.db import OperationalError, connections
from django.db.utils import load_backend

SANDBOX_SEED = Path(__file__).resolve().parent.parent / "sandbox" / "fixtures" / "demo.json"
_LOCK_ID = zlib.crc32(b"offline-portal:prepare-database")
DATABASE_WAIT_S = 60


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


def wait_for_database(settings_dict: dict, wait_s: float = DATABASE_WAIT_S) -> None:
    """Return once the database accepts a connection; exit with the reason after `wait_s`."""
    options = {k: v for k, v in settings_dict.get("OPTIONS", {}).items() if k != "pool"}
    if "postgresql" in settings_dict["ENGINE"]:  # a host that drops packets: not minutes
        options.setdefault("connect_timeout", 5)
    # A connection of its own, outside any pool: a pool's timeout would hide the reason.
    complete = connections.configure_settings({"default": {**settings_dict, "OPTIONS": options}})
    wrapper = load_backend(settings_dict["ENGINE"]).DatabaseWrapper
    probe = wrapper(complete["default"], alias="prepare_database_probe")
    deadline = time.monotonic() + wait_s
    waiting = False
    while True:
        try:
            probe.ensure_connection()
        except OperationalError as error:
            reason = (str(error).strip().splitlines() or [type(error).__name__])[0]
            if time.monotonic() >= deadline:
                sys.exit(
                    f"offline-portal: the database does not answer ({reason}). "
                    "Check DATABASE_URL, and that the database server is up and reachable."
                )
            if not waiting:
                print(f"offline-portal: waiting for the database ({reason})", file=sys.stderr)
                waiting = True
            time.sleep(2)
        else:
            probe.close()
            return


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "offline_portal.settings")
    django.setup()
    database = settings.DATABASES["default"]
    if "sqlite" not in database["ENGINE"]:  # a file, not a server that may still be starting
        wait_for_database(database)
    with _database_lock():
        call_command("migrate", interactive=False, verbosity=1)
        if settings.SANDBOX_ENABLED:
            call_command("sandbox_seed", str(SANDBOX_SEED))
    connections.close_all()


if __name__ == "__main__":
    main()
