"""A newcomer's first step: a plain `git clone` into an empty folder collects the whole suite,
with nothing from outside the repository (issue 21)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_fresh_clone_in_an_empty_folder_collects_every_test(tmp_path: Path) -> None:
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("needs git and a git checkout")
    clone = tmp_path / "offline-portal"
    subprocess.run(
        ["git", "clone", "--quiet", str(ROOT), str(clone)], check=True, capture_output=True
    )
    # Only the venv's own environment: nothing may lead back to this checkout.
    environment = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("PYTHON", "PYTEST", "DJANGO_", "PORTAL_", "LICENSE_", "SANDBOX_"))
    }

    collected = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider"],
        cwd=clone,
        env=environment,
        capture_output=True,
        text=True,
        timeout=600,
    )

    assert not (tmp_path / "shared").exists()
    assert collected.returncode == 0, collected.stdout[-3000:] + collected.stderr[-3000:]
    assert "error" not in collected.stdout.lower().splitlines()[-1]
    assert "tests/test_clone.py::test_fresh_clone_in_an_empty_folder" in collected.stdout
