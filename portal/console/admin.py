"""The operator's view of vendor staff: invite (again) from the admin."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from portal.console import staff
from portal.console.models import StaffMember


@admin.register(StaffMember)
class StaffMemberAdmin(admin.ModelAdmin):
    list_display = ["user", "tenant", "role", "invited_at"]
    list_filter = ["tenant", "role"]
    search_fields = ["user__email", "tenant__name"]
    raw_id_fields = ["user"]
    actions = ["send_invitation"]

    @admin.action(description=_("Send the set-password link (again)"))
    def send_invitation(self, request: HttpRequest, members: QuerySet[StaffMember]) -> None:
        for member in members.select_related("user", "tenant"):
            try:
                link = staff.invite_staff(
                    tenant=member.tenant, email=member.user.email, role=member.role
                )
            except staff.InvitationError as error:
                self.message_user(request, str(error), messages.ERROR)
                continue
            self.message_user(
                request,
                _("Invited %(email)s: %(link)s") % {"email": member.user.email, "link": link},
            )
