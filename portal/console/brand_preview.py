"""The brand page's preview: the colours, logo and help text as entered (saved or not), the
shades the portal would use in light and dark mode, and their contrast verdicts."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from urllib.parse import urlencode

from django import forms
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from portal.tenants.branding import (
    HEX_COLOR,
    MIN_CONTRAST,
    MIN_ICON_CONTRAST,
    SchemeShades,
    contrast_on_scheme,
    contrast_ratio,
    help_text_for,
    render_help_text,
    scheme_shades,
)
from portal.tenants.forms import HELP_TEXT_FIELDS
from portal.tenants.languages import parse_languages
from portal.tenants.models import LANGUAGE_CHOICES, TenantSettings

SCHEME_TITLES = {"light": _("Light mode"), "dark": _("Dark mode")}


@dataclass(frozen=True)
class Verdict:
    key: str  # names the swatch's class in console/brand_preview.css
    label: str
    color: str
    ratio: float

    @property
    def text_passes(self) -> bool:
        return self.ratio >= MIN_CONTRAST

    @property
    def icon_passes(self) -> bool:
        return self.ratio >= MIN_ICON_CONTRAST


@dataclass(frozen=True)
class SchemePreview:
    scheme: str  # "light" or "dark"
    title: str
    shades: SchemeShades
    verdicts: list[Verdict]


@dataclass(frozen=True)
class HelpPreview:
    code: str
    language: str
    html: str
    own: bool  # False: the default language's text, or the plain help text


@dataclass(frozen=True)
class BrandPreview:
    name: str
    primary: str
    accent: str
    white_on_primary: float
    schemes: list[SchemePreview]
    logo_src: str
    help_texts: list[HelpPreview]

    @property
    def white_passes(self) -> bool:
        return self.white_on_primary >= MIN_CONTRAST

    @property
    def stylesheet_query(self) -> str:
        return urlencode({"primary": self.primary, "accent": self.accent})


def preview_colors(primary: str, accent: str) -> tuple[float, list[SchemePreview]]:
    """White text's contrast on the primary colour, and each scheme's shades and verdicts."""
    shades = scheme_shades(primary, accent)
    schemes = []
    for scheme, shade in shades.items():
        rows = [
            ("primary", _("Primary colour as entered"), primary),
            ("text", _("Shade for text and links"), shade.text),
            ("icon", _("Shade for icons, borders and focus rings"), shade.icon),
            ("accent", _("Accent colour as entered"), accent),
            ("accent-icon", _("Accent shade for borders"), shade.accent_icon),
        ]
        verdicts = [
            Verdict(key, str(label), color, contrast_on_scheme(color, scheme))
            for key, label, color in rows
        ]
        schemes.append(SchemePreview(scheme, str(SCHEME_TITLES[scheme]), shade, verdicts))
    return contrast_ratio(primary, "#FFFFFF"), schemes


def build_preview(form: forms.Form, tenant: TenantSettings, brand_version: str) -> BrandPreview:
    """The preview of what the form holds: entered values where they are usable, else the
    stored ones. Nothing is saved."""
    data = form.data if form.is_bound else {}
    primary = _entered_color(data.get("primary_color"), tenant.primary_color)
    accent = _entered_color(data.get("accent_color"), tenant.accent_color)
    white_on_primary, schemes = preview_colors(primary, accent)
    return BrandPreview(
        name=str(data.get("name", "")).strip() or tenant.name,
        primary=primary,
        accent=accent,
        white_on_primary=white_on_primary,
        schemes=schemes,
        logo_src=_logo_src(form, tenant, brand_version),
        help_texts=_help_previews(form, tenant),
    )


def _entered_color(value: object, stored: str) -> str:
    return str(value).upper() if HEX_COLOR.match(str(value or "")) else stored.upper()


def _logo_src(form: forms.Form, tenant: TenantSettings, brand_version: str) -> str:
    """A new logo as a data: URL (the CSP admits them for images), else the stored one's."""
    cleaned = getattr(form, "cleaned_data", {})
    upload = cleaned.get("logo_file") if "logo_file" not in form.errors else None
    if upload:
        data, content_type = upload
        return f"data:{content_type};base64,{base64.b64encode(data).decode()}"
    if cleaned.get("clear_logo") or not tenant.logo_type:
        return ""
    return f"{reverse('portal:brand-logo')}?v={brand_version}"


def _help_previews(form: forms.Form, tenant: TenantSettings) -> list[HelpPreview]:
    texts = dict(tenant.help_texts or {})
    fallback = tenant.help_text
    if form.is_bound:
        fallback = str(form.data.get("help_text", fallback))
        for code, name in HELP_TEXT_FIELDS.items():
            if name in form.fields:
                texts[code] = str(form.data.get(name, "")).strip()
    names = dict(LANGUAGE_CHOICES)
    previews = []
    for code in parse_languages(tenant.languages):
        text = help_text_for(code, texts=texts, default_language=tenant.language, fallback=fallback)
        own = bool(texts.get(code))
        previews.append(HelpPreview(code, names[code], render_help_text(text), own))
    return previews
