"""SQLite as the portal runs it: see base.py (the backend, ENGINE "portal.sqlite")."""

from __future__ import annotations

import contextlib
from contextlib import AbstractContextManager

from django.db import connection, transaction


def write_transaction() -> AbstractContextManager[object]:
    """Around a single write statement: on SQLite, a transaction of its own, so that the write
    waits in line for the writer lock (base.py); elsewhere nothing, the statement being a
    transaction of its own already. Inside another transaction, nothing either."""
    if connection.vendor == "sqlite":
        return transaction.atomic(savepoint=False)
    return contextlib.nullcontext()
