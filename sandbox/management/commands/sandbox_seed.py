"""`python manage.py sandbox_seed FILE.json`: load a seed document into the sandbox."""

from __future__ import annotations

import json
from argparse import ArgumentParser
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from sandbox.seeding import SeedError, seed_sandbox


class Command(BaseCommand):
    help = "Load (idempotently) credentials, products and licenses into the sandbox License API."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("file", type=Path, help="a seed document (JSON), see contract.md")

    def handle(self, *args: object, **options: object) -> None:
        path = options["file"]
        try:
            document = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise CommandError(f"cannot read {path}: {error}") from None
        if not isinstance(document, dict):
            raise CommandError(f"{path} must hold a JSON object")
        try:
            counts = seed_sandbox(document)
        except SeedError as error:
            raise CommandError(f"{path}: {error}") from None
        summary = ", ".join(f"{count} {name}" for name, count in counts.items())
        self.stdout.write(f"Sandbox seeded from {path}: {summary}.")
