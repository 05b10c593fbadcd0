"""The console's forms: sign-in with lockout, second factor, activity filters, brand."""

from __future__ import annotations

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import gettext_lazy as _

from portal.console import staff
from portal.console.models import StaffMember
from portal.operations.rate_limits import client_address
from portal.tenants.forms import HELP_TEXT_FIELDS, TenantSettingsForm
from portal.tenants.languages import parse_languages

LOCKED_OUT = _("Too many failed sign-ins. Try again in 15 minutes.")


class StaffSignInForm(AuthenticationForm):
    """Django's sign-in form, for this host's staff only, refused after repeated failures."""

    def clean_username(self) -> str:
        return self.cleaned_data["username"].strip().lower()  # invitations store it so

    def clean(self) -> dict:
        username = self.cleaned_data.get("username", "")
        address = client_address(self.request)
        if staff.is_locked_out(username, address):
            raise forms.ValidationError(LOCKED_OUT, code="locked_out")
        try:
            return super().clean()
        except forms.ValidationError:
            staff.record_sign_in_failure(username, address)
            raise

    def confirm_login_allowed(self, user: object) -> None:
        super().confirm_login_allowed(user)
        tenant_pk = self.request.tenant.pk
        if not StaffMember.objects.filter(user=user, tenant_id=tenant_pk).exists():
            raise self.get_invalid_login_error()


class TokenForm(forms.Form):
    token = forms.CharField(
        label=_("Code from your authenticator app, or a recovery code"),
        max_length=16,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}
        ),
    )


class ActivityFilterForm(forms.Form):
    date_from = forms.DateField(
        label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    kind = forms.ChoiceField(
        label=_("Kind"),
        required=False,
        choices=[
            ("", _("Any")),
            ("activation", _("Activation")),
            ("deactivation", _("Deactivation")),
        ],
    )
    product = forms.CharField(label=_("Product"), required=False, max_length=100)
    outcome = forms.ChoiceField(
        label=_("Outcome"),
        required=False,
        choices=[
            ("", _("Any")),
            ("ok", _("Succeeded")),
            ("error", _("Failed upstream")),
            ("refused", _("Refused")),
            ("reused", _("Reused")),
        ],
    )
    reference = forms.CharField(label=_("Support reference"), required=False, max_length=16)
    last4 = forms.CharField(label=_("License's last four"), required=False, max_length=4)


class BrandForm(TenantSettingsForm):
    """The operator's tenant form, less what stays the operator's: hosts, slug, the License
    API URL and key, the flows. The shared key stays write-only (new_shared_key)."""

    languages = None  # the operator's, like the flows

    class Meta(TenantSettingsForm.Meta):
        fields = [
            "name",
            "primary_color",
            "accent_color",
            "help_text",
            "support_email",
            "support_url",
            "privacy_url",
            "imprint_url",
        ]

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        offered = parse_languages(self.instance.languages)
        for code, name in HELP_TEXT_FIELDS.items():
            if code not in offered:
                del self.fields[name]  # kept as they are by help_texts()
        help_fields = [HELP_TEXT_FIELDS[code] for code in offered]
        self.order_fields(["name", "primary_color", "accent_color", "help_text", *help_fields])


class RetentionForm(forms.Form):
    activity_retention_days = forms.IntegerField(
        label=_("Keep activity for (days)"), min_value=1, max_value=3650
    )
