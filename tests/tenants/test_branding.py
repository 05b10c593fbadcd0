"""Brand values made safe: readable colours, help text without raw HTML, real images."""

from __future__ import annotations

import colorsys
import re
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from hypothesis import given
from hypothesis import strategies as st

from portal.tenants.branding import (
    MIN_CONTRAST,
    MIN_ICON_CONTRAST,
    SCHEME_BACKGROUNDS,
    contrast_on_scheme,
    contrast_ratio,
    image_content_type,
    readable_shade,
    render_help_text,
    scheme_shades,
    validate_brand_color,
)

PORTAL_CSS = Path(__file__).resolve().parents[2] / "static" / "portal" / "portal.css"
DEMO_PRIMARY = "#8A1538"  # the Makefile's demo tenant
hex_colors = st.integers(0, 0xFFFFFF).map(lambda value: f"#{value:06X}")

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def test_contrast_ratio_of_black_on_white_is_21():
    assert round(contrast_ratio("#000000", "#ffffff"), 2) == 21.0


def test_validate_brand_color_accepts_a_dark_colour():
    validate_brand_color("#1F5FBF")


@pytest.mark.parametrize("color", ["#FFFF00", "#7FDBFF", "#FFFFFF", "#999999"])
def test_validate_brand_color_refuses_colours_white_text_cannot_be_read_on(color):
    with pytest.raises(ValidationError) as caught:
        validate_brand_color(color)

    assert caught.value.code == "contrast"
    assert "WCAG AA" in caught.value.messages[0]


@pytest.mark.parametrize("value", ["red", "#12345", "1F5FBF", "#GGGGGG", ""])
def test_validate_brand_color_refuses_other_formats(value):
    with pytest.raises(ValidationError) as caught:
        validate_brand_color(value)

    assert caught.value.code == "format"


def test_render_help_text_renders_markdown():
    html = render_help_text("Hello **world**, see [docs](https://acme.test/docs).")

    assert "<strong>world</strong>" in html
    assert 'href="https://acme.test/docs"' in html


def test_render_help_text_shows_raw_html_as_text():
    html = render_help_text('<script>alert(1)</script><img src=x onerror="alert(2)">')

    assert "<script" not in html
    assert "<img" not in html
    assert "&lt;script&gt;" in html


def test_render_help_text_drops_javascript_links():
    html = render_help_text("[click](javascript:alert(1))")

    assert "javascript:" not in html


def test_image_content_type_recognises_png():
    assert image_content_type(PNG) == "image/png"


def test_image_content_type_refuses_svg():
    with pytest.raises(ValidationError):
        image_content_type(b'<svg xmlns="http://www.w3.org/2000/svg"><script/></svg>')


def test_image_content_type_refuses_large_images():
    with pytest.raises(ValidationError) as caught:
        image_content_type(PNG + b"\x00" * 300_000)

    assert caught.value.code == "size"


def test_scheme_backgrounds_are_the_ones_portal_css_paints():
    css = PORTAL_CSS.read_text(encoding="utf-8")
    light, dark = css.split("@media (prefers-color-scheme: dark)", 1)

    for scheme, block in (("light", light), ("dark", dark.split("}", 1)[0])):
        page = re.search(r"--bg: (#[0-9a-fA-F]{6})", block).group(1).upper()
        card = re.search(r"--surface: (#[0-9a-fA-F]{6})", block).group(1).upper()
        assert SCHEME_BACKGROUNDS[scheme] == (page, card)


def test_scheme_shades_give_the_demo_colour_3_to_1_icons_and_readable_text_in_dark():
    assert contrast_on_scheme(DEMO_PRIMARY, "dark") < 2  # as entered: the 1.77:1

    shades = scheme_shades(DEMO_PRIMARY, "#0B5394")

    assert contrast_on_scheme(shades["dark"].icon, "dark") >= MIN_ICON_CONTRAST
    assert contrast_on_scheme(shades["dark"].text, "dark") >= MIN_CONTRAST
    assert contrast_on_scheme(shades["dark"].accent_icon, "dark") >= MIN_ICON_CONTRAST
    assert shades["light"].text == shades["light"].icon == DEMO_PRIMARY


@pytest.mark.parametrize(
    "color",
    [DEMO_PRIMARY, "#1F5FBF", "#0B5394", "#1F5F3F", "#0B7A53", "#000000", "#FFFFFF", "#FF0000",
     "#FFFF00", "#777777", "#5A2D82", "#00A3E0", "#E87722", "#222222", "#D0D0D0"],
)  # fmt: skip
@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("minimum", [MIN_CONTRAST, MIN_ICON_CONTRAST])
def test_readable_shade_reaches_the_contrast_on_both_backgrounds(color, scheme, minimum):
    shade = readable_shade(color, scheme, minimum)

    assert all(contrast_ratio(shade, bg) >= minimum for bg in SCHEME_BACKGROUNDS[scheme])


@given(color=hex_colors, scheme=st.sampled_from(["light", "dark"]))
def test_readable_shade_keeps_a_colour_that_already_passes_and_its_hue_otherwise(color, scheme):
    text, icon = (readable_shade(color, scheme, m) for m in (MIN_CONTRAST, MIN_ICON_CONTRAST))

    assert contrast_on_scheme(text, scheme) >= MIN_CONTRAST
    assert contrast_on_scheme(icon, scheme) >= MIN_ICON_CONTRAST
    if contrast_on_scheme(color, scheme) >= MIN_ICON_CONTRAST:
        assert icon == color
    else:
        turn = abs(_hue_of(icon) - _hue_of(color))
        assert min(turn, 1 - turn) < 0.02 or _grey(icon)


@given(color=hex_colors)
def test_readable_shade_darkens_on_light_and_lightens_on_dark(color):
    lum = _lightness(color)

    assert _lightness(readable_shade(color, "light", MIN_CONTRAST)) <= lum
    assert _lightness(readable_shade(color, "dark", MIN_CONTRAST)) >= lum


def _rgb(color: str) -> tuple[float, ...]:
    return tuple(int(color[i : i + 2], 16) / 255 for i in (1, 3, 5))


def _hue_of(color: str) -> float:
    return colorsys.rgb_to_hls(*_rgb(color))[0]


def _lightness(color: str) -> float:
    return colorsys.rgb_to_hls(*_rgb(color))[1]


def _grey(color: str) -> bool:
    # Near black or white, 8-bit channels can no longer hold the hue.
    red, green, blue = _rgb(color)
    return (
        max(red, green, blue) - min(red, green, blue) <= 3 / 255
        or not 0.08 < _lightness(color) < 0.92
    )
