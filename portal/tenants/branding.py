"""A vendor's brand, made safe to show: colours that keep text readable, help text without
raw HTML, images that are really images."""

from __future__ import annotations

import re

import markdown
import nh3
from django.core.exceptions import ValidationError
from django.utils.translation import gettext

HEX_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")
# WCAG 2.x AA for normal text. Buttons put white text on the brand colours, and links use the
# primary colour on a white page: both pairs are this one ratio.
MIN_CONTRAST = 4.5
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


def _luminance(color: str) -> float:
    channels = [int(color[index : index + 2], 16) / 255 for index in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]
