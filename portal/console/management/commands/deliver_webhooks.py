"""manage.py deliver_webhooks [--loop SECONDS]: post the tenants' relay events that are due."""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandParser

from portal.console.webhooks import deliver_due


class Command(BaseCommand):
    help = "Deliver due webhook events (once, or every --loop seconds until stopped)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--loop", type=float, default=0, metavar="SECONDS")

    def handle(self, *args: object, loop: float, **options: object) -> None:
        while True:
            sent = deliver_due()
            if not loop:
                self.stdout.write(f"Delivered {sent} webhook events.")
                return
            time.sleep(loop)
