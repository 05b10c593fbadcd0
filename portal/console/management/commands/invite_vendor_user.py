"""manage.py invite_vendor_user HOST EMAIL [--role owner]: a console account and its link."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser

from portal.console import staff
from portal.console.models import StaffMember


class Command(BaseCommand):
    help = "Invite a vendor's staff member to the console on the tenant's host; print the link."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("host", help="a host name of the tenant (offline.acme.com[:port])")
        parser.add_argument("email")
        parser.add_argument("--role", choices=StaffMember.Role.values, default="support")

    def handle(self, *args: object, host: str, email: str, role: str, **options: object) -> None:
        try:
            tenant = staff.tenant_for_host_name(host)
            link = staff.invite_staff(tenant=tenant, email=email, role=role, host=host)
        except staff.InvitationError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(f"Invited {email} ({role}) to {tenant.name}'s console.")
        self.stdout.write(f"Set-password link, valid for 72 hours: {link}")
