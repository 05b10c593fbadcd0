"""Brand values made safe: readable colours, help text without raw HTML, real images."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from portal.tenants.branding import (
    contrast_ratio,
    image_content_type,
    render_help_text,
    validate_brand_color,
)

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
