"""A batch's download: one ZIP with a `.lic` per activation and a `summary.csv` of every file.

Each `.lic` holds exactly what a single download of that file holds: base64 of the License
API's answer (responses.license_file_response). Its name says which computer and product it
is for, made safe as a file name on every system, and unique within the archive.
"""

from __future__ import annotations

import base64
import csv
import io
import re
import zipfile
from collections.abc import Sequence

from portal.batches.relaying import Entry, outcome_label

SUMMARY_COLUMNS = (
    "file",
    "computer",
    "product",
    "kind",
    "outcome",
    "code",
    "message",
    "support_reference",
)
_UNSAFE = re.compile(r"[^\w.-]+")


def build_zip(entries: Sequence[Entry]) -> bytes:
    buffer = io.BytesIO()
    names: set[str] = set()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for entry in entries:
            if entry.outcome == "activated" and entry.license_file:
                name = _unique(license_file_name(entry), names)
                archive.writestr(name, base64.b64encode(entry.license_file))
        archive.writestr("summary.csv", build_summary(entries))
    return buffer.getvalue()


def build_summary(entries: Sequence[Entry]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(SUMMARY_COLUMNS)
    for entry in entries:
        writer.writerow(
            [
                entry.filename,
                entry.computer,
                entry.product,
                entry.kind,
                outcome_label(entry.outcome),
                entry.code,
                entry.message,
                entry.reference,
            ]
        )
    return buffer.getvalue()


def license_file_name(entry: Entry) -> str:
    """`<computer>_<product code>.lic`, in letters, digits, dots, dashes and underscores only
    (the code, not the name: the same in every archive, whatever the tenant knows)."""
    parts = [_safe(entry.computer), _safe(entry.product_code or entry.product)]
    stem = "_".join(part for part in parts if part) or "license"
    return f"{stem[:100]}.lic"


def _safe(text: str) -> str:
    # \w keeps letters of every script (a computer named in Japanese stays readable); a
    # leading dot would hide the file on Unix.
    return _UNSAFE.sub("-", text).strip("-.")


def _unique(name: str, taken: set[str]) -> str:
    stem, suffix = name[: -len(".lic")], ".lic"
    candidate, number = name, 2
    while candidate.lower() in taken:
        candidate, number = f"{stem}-{number}{suffix}", number + 1
    taken.add(candidate.lower())
    return candidate
