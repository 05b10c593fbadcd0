"""A vendor's brand, made safe to show: colours that keep text readable, help text without
raw HTML, images that are really images."""

from __future__ import annotations

import colorsys
import re
from collections.abc import Mapping
from dataclasses import dataclass

import markdown
import nh3
from django.core.exceptions import ValidationError
from django.utils.translation import gettext

HEX_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")
# WCAG 2.x AA for normal text. Buttons put white text on the brand colours, and links use the
# primary colour on a white page: both pairs are this one ratio.
MIN_CONTRAST = 4.5
# WCAG 2.x AA for icons, borders and focus rings (non-text contrast, 1.4.11).
MIN_ICON_CONTRAST = 3.0
# The page and card backgrounds of each colour scheme, as static/portal/portal.css sets --bg and
# --surface (tests/tenants/test_branding.py keeps the two in step). A brand colour used as text
# or as an icon sits on either.
SCHEME_BACKGROUNDS = {"light": ("#F5F7FA", "#FFFFFF"), "dark": ("#111418", "#1B2027")}
MAX_IMAGE_BYTES = 256 * 1024
IMAGE_TYPES = {
    b"\x89PNG\r\n\x1a\n": "image/png",
    b"\xff\xd8\xff": "image/jpeg",
    b"GIF87a": "image/gif",
    b"GIF89a": "image/gif",
    b"\x00\x00\x01\x00": "image/x-icon",
}
HELP_TAGS = {"p", "br", "strong", "em", "a", "ul", "ol", "li", "code"}


def contrast_ratio(foreground: str, background: str) -> float:
    lighter, darker = sorted((_luminance(foreground), _luminance(background)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


@dataclass(frozen=True)
class SchemeShades:
    """The brand colours a page in one colour scheme uses where they sit on its background."""

    text: str  # links and other text in the brand colour
    icon: str  # icons, borders, focus rings in the primary colour
    accent_icon: str  # borders in the accent colour


def contrast_on_scheme(color: str, scheme: str) -> float:
    """The lowest contrast of `color` against the scheme's page and card backgrounds."""
    return min(contrast_ratio(color, background) for background in SCHEME_BACKGROUNDS[scheme])


def readable_shade(color: str, scheme: str, minimum: float) -> str:
    """`color` itself if it reaches `minimum` on the scheme's backgrounds, else the shade of the
    same hue and saturation, darker on a light scheme and lighter on a dark one, that is
    nearest to it in HSL lightness and reaches `minimum`."""
    color = color.upper()
    if contrast_on_scheme(color, scheme) >= minimum:
        return color
    hue, lightness, saturation = colorsys.rgb_to_hls(*_channels(color))
    # Toward black or white: whichever stands further from the scheme's backgrounds.
    lighter = contrast_on_scheme("#FFFFFF", scheme) > contrast_on_scheme("#000000", scheme)
    extreme = 1.0 if lighter else 0.0
    failing, passing = lightness, extreme
    # Contrast grows steadily as lightness moves toward the extreme, so halving the interval
    # finds the boundary; 20 halvings are finer than one step of an 8-bit channel.
    for _step in range(20):
        middle = (failing + passing) / 2
        if contrast_on_scheme(_hex(hue, middle, saturation), scheme) >= minimum:
            passing = middle
        else:
            failing = middle
    return _hex(hue, passing, saturation)


def scheme_shades(primary: str, accent: str) -> dict[str, SchemeShades]:
    """Per colour scheme ("light", "dark"), the shades of the brand colours the portal uses:
    4.5:1 for text and 3:1 for icons and borders against that scheme's backgrounds."""
    return {
        scheme: SchemeShades(
            text=readable_shade(primary, scheme, MIN_CONTRAST),
            icon=readable_shade(primary, scheme, MIN_ICON_CONTRAST),
            accent_icon=readable_shade(accent or primary, scheme, MIN_ICON_CONTRAST),
        )
        for scheme in SCHEME_BACKGROUNDS
    }


def validate_brand_color(value: str) -> None:
    """A #RRGGBB colour that white text on it (and it on white) reads at WCAG AA."""
    if not HEX_COLOR.match(value or ""):
        raise ValidationError(
            gettext("Enter a colour as #RRGGBB, for example #1F5FBF."), code="format"
        )
    ratio = contrast_ratio(value, "#ffffff")
    if ratio < MIN_CONTRAST:
        raise ValidationError(
            gettext(
                "White text on %(colour)s has a contrast of %(ratio)s:1; WCAG AA needs at "
                "least %(minimum)s:1. Choose a darker colour."
            )
            % {"colour": value, "ratio": f"{ratio:.2f}", "minimum": MIN_CONTRAST},
            code="contrast",
        )


def image_content_type(data: bytes) -> str:
    """The MIME type of a PNG, JPEG, GIF, WebP or ICO image; ValidationError otherwise.

    SVG is refused: served from the portal's own origin it could carry script.
    """
    if len(data) > MAX_IMAGE_BYTES:
        raise ValidationError(gettext("The image is larger than 256 KB."), code="size")
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    for magic, content_type in IMAGE_TYPES.items():
        if data.startswith(magic):
            return content_type
    raise ValidationError(gettext("Upload a PNG, JPEG, GIF, WebP or ICO image."), code="type")


def help_text_for(
    language: str, *, texts: Mapping[str, str], default_language: str, fallback: str
) -> str:
    """The help text (Markdown) to show in `language`: its own, else the default language's,
    else the tenant's single help text."""
    return texts.get(language) or texts.get(default_language) or fallback


def render_help_text(text: str) -> str:
    """Markdown to HTML with raw HTML escaped, then only a few tags and http(s)/mailto links."""
    if not text.strip():
        return ""
    html = markdown.markdown(_escape_html(text), output_format="html")
    return nh3.clean(
        html,
        tags=HELP_TAGS,
        attributes={"a": {"href"}},
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
    )


def _escape_html(text: str) -> str:
    # Markdown passes raw HTML through; escaping < and & first makes it plain text instead.
    return text.replace("&", "&amp;").replace("<", "&lt;")


def _channels(color: str) -> list[float]:
    return [int(color[index : index + 2], 16) / 255 for index in (1, 3, 5)]


def _hex(hue: float, lightness: float, saturation: float) -> str:
    red, green, blue = colorsys.hls_to_rgb(hue, lightness, saturation)
    return "#" + "".join(f"{round(channel * 255):02X}" for channel in (red, green, blue))


def _luminance(color: str) -> float:
    channels = _channels(color)
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]
