"""manage.py purge: expired relay results and batches (with their encrypted files), old sign-in
failures, activity past retention.

Run it daily (cron, a Kubernetes CronJob, a compose service): see docs/console.md."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from portal.batches.store import purge_expired_batches
from portal.console import staff
from portal.console.activity import purge_old_activity
from portal.relay.services import purge_expired_results


class Command(BaseCommand):
    help = "Delete expired results, old sign-in failures and activity past each tenant's retention."

    def handle(self, *args: object, **options: object) -> None:
        results = purge_expired_results()
        batches = purge_expired_batches()
        failures = staff.forget_old_failures()
        rows = purge_old_activity()
        self.stdout.write(
            f"Purged {results} expired results, {batches} expired batches, "
            f"{failures} sign-in failures, {rows} activity rows past retention."
        )
