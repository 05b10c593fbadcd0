"""The operator's tenant form: write-only secrets, validated colours and images."""

from __future__ import annotations

from django import forms
from django.db import models
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from portal.tenants.branding import image_content_type
from portal.tenants.languages import parse_languages
from portal.tenants.models import LANGUAGE_CHOICES, TenantSettings


def https_url_fields(field: models.Field, **kwargs: object) -> forms.Field | None:
    """Model fields to form fields, URLs assuming https:// as Django 6 will."""
    if isinstance(field, models.URLField):
        kwargs["assume_scheme"] = "https"
    return field.formfield(**kwargs)


class ColorInput(forms.TextInput):
    input_type = "color"


def help_text_field(language: str) -> forms.CharField:
    """A language's own help text, stored in TenantSettings.help_texts."""
    return forms.CharField(
        label=format_lazy(_("Help text in {language}"), language=language),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Leave blank to show the default language's text, or else the help text."),
    )


HELP_TEXT_FIELDS = {code: f"help_text_{code}" for code, _name in LANGUAGE_CHOICES}


class TenantSettingsForm(forms.ModelForm):
    """Edits a tenant. The shared key and the client secret are write-only: blank keeps the
    stored one. A tenant has an API key or an OAuth client, not both."""

    new_shared_key = forms.CharField(
        label=_("Shared key"),
        required=False,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
    )
    clear_shared_key = forms.BooleanField(label=_("Remove the stored shared key"), required=False)
    new_client_secret = forms.CharField(
        label=_("OAuth client secret"),
        required=False,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
    )
    clear_client_secret = forms.BooleanField(
        label=_("Remove the stored client secret"), required=False
    )
    logo_file = forms.FileField(label=_("Logo"), required=False)
    clear_logo = forms.BooleanField(label=_("Remove the logo"), required=False)
    favicon_file = forms.FileField(label=_("Favicon"), required=False)
    clear_favicon = forms.BooleanField(label=_("Remove the favicon"), required=False)
    # Declared one by one (not made in __init__) so that the admin's fieldsets can name them.
    help_text_en = help_text_field("English")
    help_text_de = help_text_field("Deutsch")
    help_text_fr = help_text_field("Français")
    help_text_es = help_text_field("Español")
    help_text_ja = help_text_field("日本語")
    help_text_ar = help_text_field("العربية")
    # The model keeps the codes comma-separated; the operator ticks boxes.
    languages = forms.MultipleChoiceField(
        label=_("Languages offered"),
        choices=LANGUAGE_CHOICES,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("A browser is answered in the first of these it asks for."),
    )

    class Meta:
        model = TenantSettings
        fields = [
            "name",
            "slug",
            "active",
            "primary_color",
            "accent_color",
            "help_text",
            "support_email",
            "support_url",
            "privacy_url",
            "imprint_url",
            "api_url",
            "api_key",
            "client_id",
            "oauth_token_url",
            "bundle_products",
            "activation_enabled",
            "deactivation_enabled",
            "language",
            "languages",
        ]
        widgets = {"primary_color": ColorInput, "accent_color": ColorInput}
        formfield_callback = https_url_fields

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        stored = self.instance.pk and self.instance.has_shared_key
        self.fields["new_shared_key"].help_text = (
            _("Set. Leave blank to keep it; it is never shown again.")
            if stored
            else _("Not set. The License API shared key; stored encrypted, never shown again.")
        )
        if "new_client_secret" in self.fields:
            self.fields["new_client_secret"].help_text = (
                _("Set. Leave blank to keep it; it is never shown again.")
                if self.instance.pk and self.instance.has_client_secret
                else _("Not set. For vendors on OAuth; stored encrypted, never shown again.")
            )
        self.fields["help_text"].help_text = _(
            "Shown above the upload form in every language without a text of its own. "
            "Markdown; HTML is shown as text."
        )
        for code, name in HELP_TEXT_FIELDS.items():
            if name in self.fields:
                self.initial.setdefault(name, (self.instance.help_texts or {}).get(code, ""))
        for name in ("primary_color", "accent_color"):
            self.fields[name].help_text = _("White text on it must reach WCAG AA contrast (4.5:1).")
        if "language" in self.fields:  # the vendor's console leaves languages out
            self.fields["language"].help_text = _(
                "For a browser that asks for none of the languages offered."
            )
            self.initial["languages"] = list(
                parse_languages(self.instance.languages or "en,de,fr,es,ja,ar")
            )

    def clean_languages(self) -> str:
        return ",".join(parse_languages(",".join(self.cleaned_data["languages"])))

    def clean_primary_color(self) -> str:
        return self.cleaned_data["primary_color"].upper()

    def clean_accent_color(self) -> str:
        return self.cleaned_data["accent_color"].upper()

    def clean(self) -> dict[str, object]:
        cleaned = super().clean()
        if not self._kept_or_given("api_key") and not self._kept_or_given("client_id"):
            raise forms.ValidationError(
                "Enter the vendor's License API credentials: an API key with its shared key, "
                "or, for vendors on OAuth, a client ID with its client secret."
            )
        return cleaned

    def help_texts(self) -> dict[str, str]:
        """The per-language help texts as entered; those of languages the form leaves out as
        they were."""
        texts = dict(self.instance.help_texts or {})
        for code, name in HELP_TEXT_FIELDS.items():
            if name in self.fields:
                texts[code] = self.cleaned_data.get(name, "").strip()
        return {code: text for code, text in texts.items() if text}

    def _kept_or_given(self, name: str) -> object:
        """The value the form gives, or the tenant's own where a narrower form (the vendor's
        console) leaves the field out."""
        if name in self.fields:
            return self.cleaned_data.get(name)
        return getattr(self.instance, name)

    def clean_logo_file(self) -> tuple[bytes, str] | None:
        return _read_image(self.cleaned_data.get("logo_file"))

    def clean_favicon_file(self) -> tuple[bytes, str] | None:
        return _read_image(self.cleaned_data.get("favicon_file"))

    def save(self, commit: bool = True) -> TenantSettings:
        tenant = super().save(commit=False)
        if self.cleaned_data.get("new_shared_key"):
            tenant.set_shared_key(self.cleaned_data["new_shared_key"])
        elif self.cleaned_data.get("clear_shared_key"):
            tenant.set_shared_key("")
        if self.cleaned_data.get("new_client_secret"):
            tenant.set_client_secret(self.cleaned_data["new_client_secret"])
        elif self.cleaned_data.get("clear_client_secret"):
            tenant.set_client_secret("")
        tenant.help_texts = self.help_texts()
        for kind in ("logo", "favicon"):
            image = self.cleaned_data.get(f"{kind}_file")
            if image:
                setattr(tenant, kind, image[0])
                setattr(tenant, f"{kind}_type", image[1])
            elif self.cleaned_data.get(f"clear_{kind}"):
                setattr(tenant, kind, b"")
                setattr(tenant, f"{kind}_type", "")
        if commit:
            tenant.save()
            self.save_m2m()
        return tenant


def _read_image(upload: object) -> tuple[bytes, str] | None:
    if not upload:
        return None
    data = upload.read(256 * 1024 + 1)
    return data, image_content_type(data)
