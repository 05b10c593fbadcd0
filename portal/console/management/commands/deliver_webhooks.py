"""manage.py deliver_webhooks [--loop SECONDS]: post the tenants' relay events that are due.

gunicorn.conf.py runs it with --loop beside the workers (PORTAL_WEBHOOK_DELIVERY); operators
who turn that off run it themselves, as a service or from cron."""

from __future__ import annotations

import logging
import time

from django.core.management.base import BaseCommand, CommandParser
from django.db import connections

from portal.console.webhooks import deliver_due

logger = logging.getLogger("portal.console.webhooks")


class Command(BaseCommand):
    help = "Deliver due webhook events (once, or every --loop seconds until stopped)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--loop", type=float, default=0, metavar="SECONDS")

    def handle(self, *args: object, loop: float, **options: object) -> None:
        if not loop:
            self.stdout.write(f"Delivered {deliver_due()} webhook events.")
            return
        try:
            self._loop(loop)
        except KeyboardInterrupt:  # Ctrl-C on `make run` reaches this process too
            return

    def _loop(self, seconds: float) -> None:
        while True:
            # A database that is away for a moment (a restart, a locked SQLite file) must not
            # end the loop: the next round tries again on a fresh connection.
            try:
                deliver_due()
            except Exception:
                logger.exception("webhook delivery round failed; trying again")
                connections.close_all()
            time.sleep(seconds)
