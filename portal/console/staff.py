"""Vendor staff: invitations, the one-time set-password link, sign-in lockout, the audit."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_decode, urlsafe_base64_encode
from django.utils.translation import gettext as _

from portal.console.models import AuditEvent, SignInFailure, StaffMember
from portal.tenants.models import TenantSettings, normalize_host

FAILURES_ALLOWED = 5
FAILURE_WINDOW = timedelta(minutes=15)


class InvitationTokens(PasswordResetTokenGenerator):
    """One-time: the token hashes the password and last sign-in, so setting a password (or
    signing in) spends it. Valid for PASSWORD_RESET_TIMEOUT, Django's default of 72 hours."""

    key_salt = "portal.console.invitation"


invitation_tokens = InvitationTokens()


class InvitationError(ValueError):
    pass


def tenant_for_host_name(host: str) -> TenantSettings:
    tenant = TenantSettings.objects.filter(hosts__host=normalize_host(host)).first()
    if tenant is None:
        raise InvitationError(_("No tenant answers on %(host)s.") % {"host": host})
    return tenant


def invite_staff(*, tenant: TenantSettings, email: str, role: str, host: str = "") -> str:
    """Make (or renew) a staff account and mail its set-password link; return the link.

    The mail goes out once the account is saved, not inside its transaction: on SQLite a
    transaction holds the one write lock, and every upload would wait for the mail server."""
    email = get_user_model().objects.normalize_email(email).lower()
    with transaction.atomic():
        user = _staff_account(tenant=tenant, email=email, role=role)
    link = invitation_link(user, host or _first_host(tenant))
    send_mail(
        _("Your %(name)s console account") % {"name": tenant.name},
        _("Set your password within 72 hours: %(link)s") % {"link": link},
        None,
        [email],
    )
    return link


def _staff_account(*, tenant: TenantSettings, email: str, role: str) -> AbstractBaseUser:
    user, _created = get_user_model().objects.get_or_create(
        username=email, defaults={"email": email}
    )
    if user.is_staff or user.is_superuser:
        raise InvitationError(_("%(email)s is an operator account.") % {"email": email})
    member = StaffMember.objects.filter(user=user).first()
    if member is not None and member.tenant_id != tenant.pk:
        raise InvitationError(_("%(email)s belongs to another vendor.") % {"email": email})
    if member is None:
        StaffMember.objects.create(user=user, tenant=tenant, role=role)
        user.set_unusable_password()
        user.save()
    return user


def invitation_link(user: AbstractBaseUser, host: str) -> str:
    path = reverse(
        "console:welcome",
        kwargs={
            "uidb64": urlsafe_base64_encode(force_bytes(user.pk)),
            "token": invitation_tokens.make_token(user),
        },
    )
    scheme = "https" if settings.PORTAL_HTTPS else "http"
    return f"{scheme}://{host}{path}"


def invited_member(uidb64: str, token: str, tenant_pk: int | None) -> StaffMember | None:
    """The staff member the link was made for, if it is valid and for this tenant's host."""
    try:
        pk = int(urlsafe_base64_decode(uidb64).decode())
    except (ValueError, UnicodeDecodeError):
        return None
    member = StaffMember.objects.select_related("user").filter(user__pk=pk).first()
    if member is None or member.tenant_id != tenant_pk:
        return None
    return member if invitation_tokens.check_token(member.user, token) else None


def is_locked_out(username: str, address: str) -> bool:
    since = timezone.now() - FAILURE_WINDOW
    failures = SignInFailure.objects.filter(at__gte=since).filter(
        Q(username=username.lower()) | Q(address=address)
    )
    return failures.count() >= FAILURES_ALLOWED


def record_sign_in_failure(username: str, address: str) -> None:
    SignInFailure.objects.create(username=username.lower()[:254], address=address)


def forget_old_failures() -> int:
    return SignInFailure.objects.filter(at__lt=timezone.now() - FAILURE_WINDOW).delete()[0]


def record_audit(*, member: StaffMember, action: str, detail: str = "") -> None:
    AuditEvent.objects.create(
        tenant_id=member.tenant_id,
        user=member.user,
        email=member.user.email,
        action=action,
        detail=detail[:500],
    )


def _first_host(tenant: TenantSettings) -> str:
    host = tenant.hosts.first()
    if host is None:
        raise InvitationError(_("The tenant %(slug)s has no host name.") % {"slug": tenant.slug})
    return host.host
