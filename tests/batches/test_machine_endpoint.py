"""The machine endpoint with several `file` parts: a ZIP, or JSON when asked."""

from __future__ import annotations

import base64
import csv
import io
import json
import zipfile

import httpx
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tests.factories import LICENSE_OBJECT, make_request_file

pytestmark = pytest.mark.django_db(transaction=True)

API = "/api/v1/requests"


def _file(number: int, *, kind: str = "activation") -> SimpleUploadedFile:
    text = make_request_file(
        kind=kind,
        hardware_id=f"hwid-{number:04d}",
        request_id=f"00000000-0000-4000-8000-{number:012d}",
        hostname=f"rig-{number}",
    )
    return SimpleUploadedFile(f"rig-{number}.req", text.encode())


def _license_for(request: httpx.Request) -> httpx.Response:
    fields = json.loads(base64.b64decode(request.content))["request"]
    return httpx.Response(200, content=_body(fields["hardware_id"]))


def _body(hardware_id: str) -> bytes:
    return json.dumps({**LICENSE_OBJECT, "id": hardware_id}, indent=3).encode()


def test_api_several_files_answer_a_zip_of_license_files_and_summary(client, upstream):
    upstream.answers["activate_offline"] = [_license_for]
    upstream.answers["deactivate_offline"] = [lambda request: httpx.Response(200, text="")]
    files = [_file(1), _file(2), _file(3, kind="deactivation")]
    files.append(SimpleUploadedFile("junk.req", b"hello"))

    response = client.post(API, {"file": files})

    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    assert sorted(archive.namelist()) == ["rig-1_TP.lic", "rig-2_TP.lic", "summary.csv"]
    assert archive.read("rig-2_TP.lic") == base64.b64encode(_body("hwid-0002"))
    rows = list(csv.DictReader(io.StringIO(archive.read("summary.csv").decode())))
    assert [(row["file"], row["kind"], row["outcome"]) for row in rows] == [
        ("rig-1.req", "activation", "License file ready"),
        ("rig-2.req", "activation", "License file ready"),
        ("rig-3.req", "deactivation", "Computer deactivated"),
        ("junk.req", "", "Not sent"),
    ]
    assert rows[3]["code"] == "not_base64"


def test_api_several_files_answer_json_when_asked(client, upstream):
    upstream.answers["activate_offline"] = [_license_for]

    response = client.post(API, {"file": [_file(1), _file(2)]}, HTTP_ACCEPT="application/json")

    assert response.status_code == 200
    results = response.json()["results"]
    assert [result["file"] for result in results] == ["rig-1.req", "rig-2.req"]
    assert results[0]["outcome"] == "activated"
    assert results[0]["computer"] == "rig-1"
    assert [result["product"] for result in results] == [
        "Test Product"
    ] * 2  # as the answer names it
    # The .lic text itself, as the single-file answer and the ZIP hold it.
    assert results[1]["license_file"] == base64.b64encode(_body("hwid-0002")).decode()


def test_api_several_files_each_count_as_one_upload(client, upstream, settings):
    settings.PORTAL_RATE_LIMIT = 2
    upstream.answers["activate_offline"] = [_license_for]

    response = client.post(
        API, {"file": [_file(n) for n in range(1, 4)]}, HTTP_ACCEPT="application/json"
    )

    results = response.json()["results"]
    sent = [result for result in results if result["outcome"] == "activated"]
    refused = [result for result in results if result["outcome"] == "failed"]
    # Two at the limit at once may both be refused (rate_limits.py says so): never a third sent.
    assert 1 <= len(sent) <= 2
    assert len(refused) == 3 - len(sent)
    assert {result["code"] for result in refused} == {"rate_limited"}
    assert min(result["retry_after"] for result in refused) >= 1
    assert len(upstream.requests) == len(sent)


def test_api_more_files_than_a_batch_holds_is_a_json_413(client, upstream, settings):
    settings.PORTAL_BATCH_MAX_FILES = 2

    response = client.post(API, {"file": [_file(n) for n in range(1, 4)]})

    assert response.status_code == 413
    assert response.json()["code"] == "too_many_files"
    assert "at most 2 files" in response.json()["message"]
    assert upstream.requests == []
