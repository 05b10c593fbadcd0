"""The sandbox page's form for a sample request file."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from sandbox.models import Feature, License

_MAX_COUNT = 2**31 - 1


class SampleFileForm(forms.Form):
    license = forms.ModelChoiceField(
        queryset=License.objects.none(),
        label=_("Demo license"),
        empty_label=None,
    )
    password = forms.CharField(
        label=_("Password (user-based licenses only)"),
        required=False,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "off"}),
        help_text=_("Leave it empty to use the demo user's password from the seed."),
    )
    computer_name = forms.CharField(
        label=_("Computer name"),
        max_length=63,
        initial="demo-pc-1",
        help_text=_("The same name later makes the matching deactivation file."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    signed_with = forms.ChoiceField(
        label="The software is set up with",
        choices=[
            ("api_key", "An API key and shared key"),
            ("oauth", "OAuth client credentials (the company client)"),
        ],
        initial="api_key",
        widget=forms.RadioSelect,
    )
    kind = forms.ChoiceField(
        label=_("Request type"),
        choices=[
            ("activation", pgettext_lazy("request type", "Activation")),
            ("deactivation", pgettext_lazy("request type", "Deactivation")),
        ],
        initial="activation",
        widget=forms.RadioSelect,
    )
    consumptions = forms.IntegerField(
        label=_("Uses of the license"), required=False, min_value=0, max_value=_MAX_COUNT
    )
    feature_code = forms.ChoiceField(label=_("Feature"), required=False)
    feature_consumption = forms.IntegerField(
        label=_("Uses of that feature"), required=False, min_value=0, max_value=_MAX_COUNT
    )
    variable_name = forms.CharField(label=_("Device variable name"), required=False, max_length=100)
    variable_value = forms.CharField(label=_("Its value"), required=False, max_length=200)

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, label_suffix="", **kwargs)
        self.fields["license"].queryset = (
            License.objects.filter(bundle_license__isnull=True)
            .select_related("product")
            .prefetch_related("product__bundle_products")
            .order_by("pk")
        )
        self.fields["license"].label_from_instance = describe_license
        codes = (
            Feature.objects.filter(feature_type="consumption")
            .order_by("code")
            .values_list("code", flat=True)
            .distinct()
        )
        self.fields["feature_code"].choices = [("", gettext("No feature"))] + [
            (c, c) for c in codes
        ]

    def clean(self) -> dict[str, object]:
        data = super().clean()
        if bool(data.get("feature_code")) != (data.get("feature_consumption") is not None):
            self.add_error(
                "feature_consumption", gettext("Choose a feature and give its uses, or neither.")
            )
        if bool(data.get("variable_name")) != bool(data.get("variable_value")):
            self.add_error(
                "variable_value", gettext("Give the variable a name and a value, or neither.")
            )
        return data


def describe_license(license: License) -> str:
    """The choice's words: who or what activates, for which product, and any catch."""
    product = license.product
    if product.is_bundle:
        members = ", ".join(member.short_code for member in product.bundle_products.all())
        what = gettext("bundle %(name)s (%(code)s: %(members)s)") % {
            "name": product.name,
            "code": product.short_code,
            "members": members,
        }
    else:
        what = f"{product.name} ({product.short_code})"
    if license.license_key:
        who = gettext("key %(key)s") % {"key": license.license_key}
    else:
        who = gettext("user %(email)s") % {"email": license.user_email}
    notes = [] if license.enabled else [gettext("disabled")]
    if license.validity_period is not None:
        notes.append(
            gettext("valid until %(date)s") % {"date": f"{license.validity_period:%Y-%m-%d}"}
        )
    return f"{who}, {what}" + (f" ({', '.join(notes)})" if notes else "")
