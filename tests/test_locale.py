"""The translation catalogues (locale/): whole, well-formed, and in step with the code."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

LOCALE = Path(settings.BASE_DIR) / "locale"
CATALOGUES = sorted(LOCALE.glob("*/LC_MESSAGES/*.po"))
LANGUAGES = [code for code, _name in settings.LANGUAGES if code != settings.LANGUAGE_CODE]


def _msgfmt() -> str:
    found = shutil.which("msgfmt")
    if not found:
        pytest.fail("msgfmt is missing: run scripts/install-gettext (make test does)")
    return found


def test_every_language_but_english_has_both_catalogues():
    found = {(path.parts[-3], path.stem) for path in CATALOGUES}

    assert found == {(code, domain) for code in LANGUAGES for domain in ("django", "djangojs")}


@pytest.mark.parametrize("catalogue", CATALOGUES, ids=lambda path: "/".join(path.parts[-3::2]))
def test_catalogue_is_complete_and_its_formats_match(catalogue: Path):
    """msgfmt --check-format --statistics: no untranslated or fuzzy entry, placeholders kept."""
    result = subprocess.run(
        [_msgfmt(), "--check", "--check-format", "--statistics", "-o", "/dev/null", catalogue],
        capture_output=True,
        text=True,
    )

    report = result.stderr.strip()
    assert result.returncode == 0, report
    assert re.fullmatch(r"\d+ translated messages?\.", report.splitlines()[-1]), report
    assert "warning" not in report, report


def test_catalogues_hold_every_string_the_code_marks(tmp_path: Path):
    """`make messages` on a copy of the code adds nothing: no string is left untranslated
    because nobody regenerated the catalogues after marking it."""
    _msgfmt()
    base = Path(settings.BASE_DIR)
    for folder in ("offline_portal", "portal", "sandbox", "templates", "static", "locale"):
        shutil.copytree(base / folder, tmp_path / folder, ignore=shutil.ignore_patterns("*.mo"))
    shutil.copy(base / "manage.py", tmp_path)
    for domain in ("django", "djangojs"):
        subprocess.run(
            [sys.executable, "manage.py", "makemessages", "-l", "de", "-d", domain,
             "--no-location", "--no-obsolete"],
            cwd=tmp_path, env={**os.environ, "PORTAL_DEV_DEFAULTS": "true"},
            capture_output=True, check=True,
        )  # fmt: skip
        catalogue = tmp_path / "locale" / "de" / "LC_MESSAGES" / f"{domain}.po"
        report = subprocess.run(
            [_msgfmt(), "--statistics", "-o", "/dev/null", catalogue],
            capture_output=True,
            text=True,
        ).stderr
        assert "untranslated" not in report and "fuzzy" not in report, (
            f"{domain}: {report.strip()}; run `make messages` and translate the new entries"
        )
