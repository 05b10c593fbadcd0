"""The load of `make bench`: locust users posting distinct request files through both doors.

Run by scripts/bench.py as `locust -f scripts/bench_locustfile.py --headless ...`, half the
users of each class. `ApiUser` posts to `POST /api/v1/requests` (a 200 counts); `FormUser`
uses the HTML form as a browser without JavaScript does: one `GET /` for the CSRF cookie and
token, then per upload the page's two steps, a multipart post to `/check` (what the file holds,
kept for the confirmation) and the post of its one button to `/check/send`; the 303 counts and
is not followed, except with BENCH_SANDBOX=true, where downloading the license it leads to is
part of "upload to license".

Each upload is timed here, not only by locust: locust's own statistics (its --csv files) round
a response time above 100 ms to 10 ms, too coarse for a target of 5 ms over 200. On quitting,
every upload goes to BENCH_SAMPLES as JSON lines (door, start in epoch seconds, seconds, error),
after a first line with the epoch second at which all users had started.
"""

from __future__ import annotations

import json
import os
import re
import time
from typing import Any

from bench_request_files import make_request_file
from locust import constant, events, task
from locust.contrib.fasthttp import FastHttpUser

SANDBOX = os.environ.get("BENCH_SANDBOX") == "true"
SAMPLES: list[dict[str, Any]] = []
SPAWNED: list[float] = []
TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
PENDING = re.compile(r'name="pending" value="([^"]+)"')


class _Uploader(FastHttpUser):
    abstract = True
    wait_time = constant(0)
    door = ""

    @task
    def upload_one(self) -> None:
        text = make_request_file()
        started, clock = time.time(), time.perf_counter()
        try:
            error = self.upload(text)
        except Exception as exc:  # a broken connection: counted, and the user goes on
            error = type(exc).__name__
        SAMPLES.append(
            {"door": self.door, "at": started, "s": time.perf_counter() - clock, "error": error}
        )

    def upload(self, text: str) -> str:
        raise NotImplementedError


class ApiUser(_Uploader):
    door = "api"

    def upload(self, text: str) -> str:
        headers = {"Content-Type": "text/plain"}
        answer = self.client.post("/api/v1/requests", data=text, headers=headers, name="api")
        return "" if answer.status_code == 200 else f"HTTP {answer.status_code}"


class FormUser(_Uploader):
    door = "form"
    token = ""
    cookie = ""

    def open_form(self) -> str:
        """GET / once: the CSRF token, and the cookies that go with it."""
        page = self.client.get("/", name="form page")
        match = TOKEN.search(page.text or "")
        if page.status_code != 200 or match is None:
            return f"GET / answered {page.status_code} without a CSRF token"
        self.token = match.group(1)
        # The portal's cookies are Secure (it expects HTTPS, as deployed): the cookie jar keeps
        # them but will not send them over loopback's plain HTTP, so the user sends them itself.
        self.cookie = "; ".join(f"{c.name}={c.value}" for c in self.client.cookiejar)
        return ""

    def upload(self, text: str) -> str:
        if not self.token and (error := self.open_form()):
            return error
        checked = self.client.post(
            "/check",
            data={"csrfmiddlewaretoken": self.token},
            files={"file": ("ls_activation.req", text.encode(), "application/octet-stream")},
            headers={"Cookie": self.cookie},
            name="form check",
        )
        pending = PENDING.search(checked.text or "")
        if checked.status_code != 200 or pending is None:
            return f"check HTTP {checked.status_code} without the file kept to send"
        answer = self.client.post(
            "/check/send",
            data={"csrfmiddlewaretoken": self.token, "pending": pending.group(1)},
            headers={"Cookie": self.cookie},
            allow_redirects=False,
            name="form",
        )
        if answer.status_code != 303:
            return f"HTTP {answer.status_code}"
        if SANDBOX:
            path = answer.headers["Location"] + "ls_activation.lic"
            license_file = self.client.get(path, headers={"Cookie": self.cookie}, name="license")
            if license_file.status_code != 200:
                return f"download HTTP {license_file.status_code}"
        return ""


@events.spawning_complete.add_listener
def _note_spawned(user_count: int, **_: Any) -> None:
    SPAWNED.append(time.time())


@events.quitting.add_listener
def _write_samples(**_: Any) -> None:
    with open(os.environ["BENCH_SAMPLES"], "w") as out:
        out.write(json.dumps({"spawned": SPAWNED[0] if SPAWNED else None}) + "\n")
        out.writelines(json.dumps(sample) + "\n" for sample in SAMPLES)
