"""The database settings, from DATABASE_URL: SQLite for one machine, PostgreSQL for several."""

from __future__ import annotations

import dj_database_url


def database_settings(url: str, *, pool_size: int) -> dict[str, object]:
    """settings.DATABASES["default"] for `url`, tuned for gunicorn's workers and threads."""
    database = dj_database_url.parse(url, conn_max_age=60, conn_health_checks=True)
    if database["ENGINE"] == "django.db.backends.sqlite3":
        # Several gunicorn workers share the file. IMMEDIATE takes the write lock when a
        # transaction begins, so a transaction that writes never fails to upgrade its read
        # lock midway ("database is locked" with no wait); `timeout` is SQLite's busy timeout,
        # how long a writer waits for the lock; WAL lets readers run beside the one writer,
        # and synchronous=NORMAL is the durability WAL is meant to run with (a power cut may
        # lose the last commits, never corrupt the file).
        database["OPTIONS"] = {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    elif database["ENGINE"] == "django.db.backends.postgresql":
        # A pool per worker process instead of a connection kept per thread (up to 64 a
        # worker): the relay gives its connection back while it waits on the License API
        # (portal.relay.services), so a few connections serve all of a worker's threads.
        database["CONN_MAX_AGE"] = 0
        database["CONN_HEALTH_CHECKS"] = False
        database.setdefault("OPTIONS", {})["pool"] = {
            "min_size": 1,
            "max_size": pool_size,
            "timeout": 10,
        }
    return database
