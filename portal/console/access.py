"""Who may see a console page: a staff member of this host's tenant, signed in on this host,
with the second factor (django-otp) passed; any other tenant's console is a 404."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.contrib.auth import logout
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect

from portal.console.models import StaffMember

SESSION_TENANT = "console_tenant"

View = Callable[..., HttpResponse]


def signed_in_member(request: HttpRequest) -> StaffMember | None:
    """The staff member signed in on this tenant's host, None if nobody is; a session made on
    another tenant's host (or an operator's) is logged out and answered 404."""
    tenant_pk = request.tenant.pk
    if tenant_pk is None:
        raise Http404  # the environment-configured tenant has no console
    if not request.user.is_authenticated:
        return None
    member = StaffMember.objects.select_related("user").filter(user=request.user).first()
    if member is None:
        raise Http404  # an operator's admin session: the console is not theirs
    if member.tenant_id != tenant_pk or request.session.get(SESSION_TENANT) != tenant_pk:
        logout(request)
        raise Http404
    return member


def console_page(*, owner_only: bool = False, verified: bool = True) -> Callable[[View], View]:
    def decorate(view: View) -> View:
        @wraps(view)
        def guarded(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
            member = signed_in_member(request)
            if member is None:
                return redirect("console:login")
            if verified and not request.user.is_verified():
                return redirect("console:two-factor")
            if owner_only and not member.is_owner:
                raise Http404
            request.staff_member = member
            return view(request, *args, **kwargs)

        return guarded

    return decorate
