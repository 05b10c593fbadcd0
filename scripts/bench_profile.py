"""The portal's own CPU per upload, in one process, without gunicorn, nginx or the machine's
other load: `.venv/bin/python scripts/bench_profile.py [--uploads N] [--profile api|form]`.

Each door in turn (the API's POST; the form's two steps, the multipart post to /check with its
CSRF token and the post of its button to /check/send, as scripts/bench_locustfile.py sends
them) through Django's test client, on production settings
and a fresh SQLite database, the License API faked on loopback with no latency
(scripts/fake_license_api.py in a process of its own, so that its CPU is not counted). Prints
the CPU milliseconds per upload, best of three rounds: a figure that other processes on the
machine move far less than `make bench`'s. `--profile DOOR` prints cProfile's top functions of
that door instead, to find where the time goes. `--concurrent N --latency-ms 200` runs N
uploads at once in threads, as one gunicorn worker's threads do (its License API client then
holds N connections).
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import re
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bench import _portal_env, _start_fake_api
from bench_processes import REPO
from bench_request_files import make_request_file

TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
PENDING = re.compile(r'name="pending" value="([^"]+)"')


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--uploads", type=int, default=1000)
    parser.add_argument("--profile", choices=("api", "form"))
    parser.add_argument("--concurrent", type=int, default=1)
    parser.add_argument("--latency-ms", type=float, default=0)
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        workdir = Path(folder)
        fake, port = _start_fake_api(workdir, arguments.latency_ms)
        try:
            _set_up(workdir, f"http://127.0.0.1:{port}/api/v4")
            if arguments.profile:
                _profile(_make_doors()[arguments.profile], arguments.uploads)
                return 0
            for name in ("api", "form"):
                rounds = [_cpu_ms(name, arguments.uploads, arguments.concurrent) for _ in range(3)]
                print(
                    f"{name:5} {min(rounds):.3f} ms of CPU an upload ({arguments.uploads} uploads, "
                    f"{arguments.concurrent} at once)"
                )
        finally:
            fake.stop()
    return 0


def _set_up(workdir: Path, api_url: str) -> None:
    os.environ.update(_portal_env(workdir, 0, api_url=api_url, sandbox=False))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "offline_portal.settings")
    sys.path.insert(0, str(REPO))
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    call_command("collectstatic", "--noinput", verbosity=0)


def _make_doors() -> dict[str, Callable[[str], None]]:
    """Both doors, each with its own test client (one a thread)."""
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.test import Client

    api, form = Client(HTTP_HOST="127.0.0.1"), Client(HTTP_HOST="127.0.0.1")
    form.enforce_csrf_checks = True
    token = TOKEN.search(form.get("/").content.decode()).group(1)

    def post_api(text: str) -> None:
        answer = api.post("/api/v1/requests", text, content_type="text/plain")
        assert answer.status_code == 200, answer.content[:300]

    def post_form(text: str) -> None:
        upload = SimpleUploadedFile("ls_activation.req", text.encode())
        checked = form.post("/check", {"csrfmiddlewaretoken": token, "file": upload})
        pending = PENDING.search(checked.content.decode())
        assert checked.status_code == 200 and pending, checked.content[:300]
        fields = {"csrfmiddlewaretoken": token, "pending": pending.group(1)}
        answer = form.post("/check/send", fields)
        assert answer.status_code == 303, answer.content[:300]

    return {"api": post_api, "form": post_form}


def _cpu_ms(door: str, uploads: int, concurrent: int) -> float:
    """The process's CPU (all its threads) per upload, `concurrent` threads uploading."""
    uploaders = [_make_doors()[door] for _ in range(concurrent)]
    files = [make_request_file() for _ in range(uploads)]
    for upload in uploaders:
        upload(make_request_file())  # the first of each round warms caches and a connection
    with ThreadPoolExecutor(concurrent) as pool:
        started = time.process_time()
        shares = [files[index::concurrent] for index in range(concurrent)]
        list(pool.map(_upload_all, uploaders, shares))
        return (time.process_time() - started) * 1000 / uploads


def _upload_all(upload: Callable[[str], None], files: list[str]) -> None:
    for text in files:
        upload(text)


def _profile(upload: Callable[[str], None], uploads: int) -> None:
    files = [make_request_file() for _ in range(uploads)]
    upload(make_request_file())
    profiler = cProfile.Profile(time.process_time)  # CPU, not the waits on sockets
    profiler.enable()
    for text in files:
        upload(text)
    profiler.disable()
    stats = pstats.Stats(profiler).strip_dirs().sort_stats("tottime")
    stats.print_stats(40)
    stats.sort_stats("cumulative").print_stats(60)


if __name__ == "__main__":
    sys.exit(main())
