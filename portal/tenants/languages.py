"""Which of the portal's languages a request is answered in, among those its tenant offers."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.utils.translation import get_supported_language_variant, gettext
from django.utils.translation.trans_real import parse_accept_lang_header


def language_codes() -> tuple[str, ...]:
    return tuple(code for code, _name in settings.LANGUAGES)


def parse_languages(value: str) -> tuple[str, ...]:
    """ "de, fr,en" -> ("de", "fr", "en"), in the portal's order, unknown codes dropped."""
    wanted = {code.strip().lower() for code in value.split(",")}
    return tuple(code for code in language_codes() if code in wanted)


def validate_languages(value: str) -> None:
    unknown = {code.strip() for code in value.split(",") if code.strip()} - set(language_codes())
    if unknown or not parse_languages(value):
        raise ValidationError(
            gettext("Choose among: %(codes)s.") % {"codes": ", ".join(language_codes())}
        )


def choose_language(request: HttpRequest, *, offered: tuple[str, ...], default: str) -> str:
    """The language menu's cookie if the tenant offers it, else the best Accept-Language match
    among the offered languages, else the tenant's default (a browser asking for nothing)."""
    chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
    if chosen in offered:
        return chosen
    for code, _quality in parse_accept_lang_header(request.META.get("HTTP_ACCEPT_LANGUAGE", "")):
        if code == "*":
            break
        try:
            variant = get_supported_language_variant(code)  # de-AT -> de
        except LookupError:
            continue
        if variant in offered:
            return variant
    return default
