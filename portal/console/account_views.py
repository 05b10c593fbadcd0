"""Console accounts: set a password from an invitation, sign in, second factor, sign out."""

from __future__ import annotations

from base64 import b32encode

import segno
from django.contrib.auth import logout
from django.contrib.auth.forms import SetPasswordForm
from django.contrib.auth.views import LoginView
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST
from django_otp import devices_for_user, match_token
from django_otp import login as otp_login
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from portal.console import staff
from portal.console.access import SESSION_TENANT, console_page
from portal.console.forms import LOCKED_OUT, StaffSignInForm, TokenForm
from portal.operations.rate_limits import client_address

RECOVERY_CODES = 10
WRONG_CODE = _("That code is not right. Enter the newest code your app shows.")


def welcome(request: HttpRequest, uidb64: str, token: str) -> HttpResponse:
    """The invitation's one-time link: choose a password (then sign in)."""
    member = staff.invited_member(uidb64, token, request.tenant.pk)
    if member is None:
        return render(request, "console/invitation_invalid.html", status=404)
    form = SetPasswordForm(member.user, request.POST or None)
    if request.method == "POST" and form.is_valid():
        form.save()
        return redirect("console:login")
    return render(request, "console/welcome.html", {"form": form, "member": member})


class SignInView(LoginView):
    template_name = "console/sign_in.html"
    authentication_form = StaffSignInForm
    next_page = reverse_lazy("console:home")

    def dispatch(self, request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        if request.tenant.pk is None:
            raise Http404
        return super().dispatch(request, *args, **kwargs)

    def form_valid(self, form: StaffSignInForm) -> HttpResponse:
        response = super().form_valid(form)
        # Bound to this tenant: console_page logs out a session shown on any other host.
        self.request.session[SESSION_TENANT] = self.request.tenant.pk
        return response


@console_page(verified=False)
def two_factor(request: HttpRequest) -> HttpResponse:
    """Enrol an authenticator app (first sign-in) or enter a code from it."""
    if request.user.is_verified():
        return redirect("console:home")
    if not any(True for _device in devices_for_user(request.user)):
        return _enrol(request)
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        device = _check_token(request, form)
        if device is not None:
            otp_login(request, device)
            staff.record_audit(member=request.staff_member, action="sign_in")
            return redirect("console:home")
    return render(request, "console/two_factor.html", {"form": form})


def _enrol(request: HttpRequest) -> HttpResponse:
    device = TOTPDevice.objects.filter(user=request.user, confirmed=False).first()
    if device is None:
        device = TOTPDevice.objects.create(user=request.user, confirmed=False, name="app")
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid() and _check_token(request, form, device):
        codes = _confirm(request, device)
        return render(request, "console/recovery_codes.html", {"codes": codes})
    qr_svg = segno.make(device.config_url, error="m").svg_inline(scale=4, light="#ffffff")
    context = {"form": form, "qr_svg": qr_svg, "secret": _secret_text(device)}
    return render(request, "console/enrol.html", context)


@transaction.atomic
def _confirm(request: HttpRequest, device: TOTPDevice) -> list[str]:
    device.confirmed = True
    device.save()
    recovery, _created = StaticDevice.objects.get_or_create(
        user=request.user, defaults={"name": "recovery codes"}
    )
    recovery.token_set.all().delete()
    codes = [StaticToken.random_token() for _ in range(RECOVERY_CODES)]
    recovery.token_set.bulk_create([StaticToken(device=recovery, token=code) for code in codes])
    otp_login(request, device)
    staff.record_audit(member=request.staff_member, action="sign_in", detail="enrolled")
    return codes


def _check_token(
    request: HttpRequest, form: TokenForm, device: TOTPDevice | None = None
) -> object | None:
    """The device that takes the code, or None (a failure, counted for the lockout)."""
    username, address = request.user.get_username(), client_address(request)
    if staff.is_locked_out(username, address):
        form.add_error("token", LOCKED_OUT)
        return None
    token = form.cleaned_data["token"].replace(" ", "")
    if device is not None:
        found = device if device.verify_token(token) else None
    else:
        found = match_token(request.user, token)
    if found is None:
        staff.record_sign_in_failure(username, address)
        form.add_error("token", WRONG_CODE)
    return found


def _secret_text(device: TOTPDevice) -> str:
    secret = b32encode(device.bin_key).decode()
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


@require_POST
def sign_out(request: HttpRequest) -> HttpResponse:
    logout(request)
    return redirect("console:login")
