"""Security headers, cookies, https handling and CSP-clean pages, under production settings.

The test environment is production-like (DJANGO_DEBUG=false, no PORTAL_DEV_DEFAULTS), so
PORTAL_HTTPS is on: Secure cookies, HSTS for a year. How the environment maps onto settings is
checked in subprocesses, where the settings module is read afresh.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.contrib import admin
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import HttpResponse
from django.template.loader import render_to_string
from django.test import Client
from django.urls import reverse

from tests.factories import LICENSE_BODY, read_vector

pytestmark = pytest.mark.django_db

BASE_DIR = Path(__file__).resolve().parents[2]
HTMX = {"HTTP_HX_REQUEST": "true"}
SIX_MONTHS = 15552000  # the Observatory's own threshold (it rounds six months down)


def _run_with_env(arguments: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    environment = {
        key: value for key, value in os.environ.items() if not key.startswith("PORTAL_DEV")
    }
    environment.update(env)
    return subprocess.run(
        [sys.executable, *arguments],
        cwd=BASE_DIR,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _settings_under(names: list[str], **env: str) -> dict[str, object]:
    code = (
        "import json, django; django.setup(); from django.conf import settings; "
        f"print(json.dumps({{n: getattr(settings, n, None) for n in {names!r}}}))"
    )
    completed = _run_with_env(["-c", code], DJANGO_SETTINGS_MODULE="offline_portal.settings", **env)
    assert completed.returncode == 0, completed.stderr
    return json.loads(completed.stdout)


PRODUCTION = {
    "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
    "DJANGO_DEBUG": "false",
    "DJANGO_ALLOWED_HOSTS": "offline.example.com",
    # Behind a TLS-terminating proxy that sets X-Forwarded-Proto, redirecting plain http.
    "PORTAL_TRUST_X_FORWARDED_PROTO": "true",
    "PORTAL_SSL_REDIRECT": "true",
}


def test_check_deploy_is_clean_under_production_settings():
    completed = _run_with_env(
        ["manage.py", "check", "--deploy", "--fail-level", "WARNING"], **PRODUCTION
    )

    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "no issues" in completed.stdout


def test_https_settings_are_on_by_default_in_production():
    values = _settings_under(
        ["SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE", "SECURE_HSTS_SECONDS"],
        DJANGO_SECRET_KEY="x",
    )

    assert values == {
        "SESSION_COOKIE_SECURE": True,
        "CSRF_COOKIE_SECURE": True,
        "SECURE_HSTS_SECONDS": 31536000,
    }


def test_https_settings_are_off_under_make_run():
    values = _settings_under(
        ["SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE", "SECURE_HSTS_SECONDS"],
        PORTAL_DEV_DEFAULTS="true",
    )

    assert values == {
        "SESSION_COOKIE_SECURE": False,
        "CSRF_COOKIE_SECURE": False,
        "SECURE_HSTS_SECONDS": 0,
    }


def test_x_forwarded_proto_is_trusted_only_when_configured():
    names = ["SECURE_PROXY_SSL_HEADER"]

    assert _settings_under(names, DJANGO_SECRET_KEY="x") == {"SECURE_PROXY_SSL_HEADER": None}
    assert _settings_under(names, DJANGO_SECRET_KEY="x", PORTAL_TRUST_X_FORWARDED_PROTO="true") == {
        "SECURE_PROXY_SSL_HEADER": ["HTTP_X_FORWARDED_PROTO", "https"]
    }


# --- The Mozilla HTTP Observatory's scoring rules ------------------------------------------
# From github.com/mozilla/http-observatory (httpobs/docs/scoring.md and
# httpobs/scanner/analyzer/headers.py): start at 100, subtract penalties; when the result is
# still 90 or more, add bonuses. 100 or more is A+.

_BROAD = {"ftp:", "http:", "https:", "*", "http://*", "http://*.*", "https://*", "https://*.*"}
_UNSAFE = {"'unsafe-inline'", "data:"}


def _parse_csp(header: str) -> dict[str, set[str]]:
    policy: dict[str, set[str]] = {}
    for directive in filter(None, (part.strip() for part in header.split(";"))):
        name, *sources = directive.split()
        assert name not in policy, f"repeated CSP directive {name}"
        policy[name] = {source.lower() for source in sources} or {"'none'"}
    return policy


def _score_csp(response) -> list[tuple[str, int]]:
    if "Content-Security-Policy" not in response:
        return [("csp-not-implemented", -25)]
    csp = _parse_csp(response["Content-Security-Policy"])
    fallback = csp.get("default-src", {"*"})
    script, style = csp.get("script-src", fallback), csp.get("style-src", fallback)
    objects = csp.get("object-src", fallback)
    if script & (_BROAD | _UNSAFE) or objects & _BROAD:
        return [("csp-implemented-with-unsafe-inline", -20)]
    if "'unsafe-eval'" in script | style:
        return [("csp-implemented-with-unsafe-eval", -10)]
    if any(re.match(r"(http|ftp):", source) for sources in csp.values() for source in sources):
        return [("csp-implemented-with-insecure-scheme", -20)]
    if style & (_BROAD | _UNSAFE):
        return [("csp-implemented-with-unsafe-inline-in-style-src-only", 0)]
    if csp.get("default-src") == {"'none'"}:
        return [("csp-implemented-with-no-unsafe-default-src-none", 10)]
    return [("csp-implemented-with-no-unsafe", 5)]


def _score_cookies(response) -> list[tuple[str, int]]:
    if not response.cookies:
        return [("cookies-not-found", 0)]
    found = []
    for name, cookie in response.cookies.items():
        session = "sess" in name.lower() or "login" in name.lower()
        if not cookie["secure"] and session:
            found.append(("cookies-session-without-secure-flag", -40))
        elif not cookie["secure"]:
            found.append(("cookies-without-secure-flag", -20))
        if session and not cookie["httponly"]:
            found.append(("cookies-session-without-httponly-flag", -30))
        if cookie["samesite"].lower() not in {"lax", "strict"}:
            found.append(("cookies-samesite-flag-invalid", -20))
    return found or [("cookies-secure-with-httponly-sessions-and-samesite", 5)]


def _score_headers(response) -> list[tuple[str, int]]:
    found = []
    hsts = re.search(r"max-age=(\d+)", response.get("Strict-Transport-Security", ""))
    if not hsts:
        found.append(("hsts-not-implemented", -20))
    elif int(hsts[1]) < SIX_MONTHS:
        found.append(("hsts-implemented-max-age-less-than-six-months", -10))
    referrer = response.get("Referrer-Policy", "").split(",")[-1].strip().lower()
    if referrer in {
        "no-referrer",
        "same-origin",
        "strict-origin",
        "strict-origin-when-cross-origin",
    }:
        found.append(("referrer-policy-private", 5))
    elif referrer in {"origin", "origin-when-cross-origin", "unsafe-url"}:
        found.append(("referrer-policy-unsafe", -5))
    if response.get("X-Content-Type-Options", "").lower() != "nosniff":
        found.append(("x-content-type-options-not-implemented", -5))
    ancestors = _parse_csp(response.get("Content-Security-Policy", "")).get("frame-ancestors")
    if ancestors and not ancestors & _BROAD:
        found.append(("x-frame-options-implemented-via-csp", 5))
    elif response.get("X-Frame-Options", "").upper() not in {"DENY", "SAMEORIGIN"}:
        found.append(("x-frame-options-not-implemented", -20))
    return found


def _score_scripts(html: str) -> list[tuple[str, int]]:
    sources = re.findall(r"<script[^>]*\ssrc=\"([^\"]+)\"", html)
    external = [source for source in sources if re.match(r"(https?:)?//", source)]
    if any(source.startswith("http:") for source in external):
        return [("sri-not-implemented-and-external-scripts-not-loaded-securely", -50)]
    if external:
        return [("sri-not-implemented-but-external-scripts-loaded-securely", -5)]
    return [("sri-not-implemented-but-all-scripts-loaded-from-secure-origin", 0)]


def _score_redirection(response) -> list[tuple[str, int]]:
    location = response.get("Location", "")
    if response.status_code in {301, 302, 307, 308} and location.startswith("https://testserver/"):
        return [("redirection-to-https", 0)]
    return [("redirection-missing", -20)]


def _observatory_score(https_page, http_answer) -> tuple[int, list[tuple[str, int]]]:
    modifiers = [
        *_score_csp(https_page),
        *_score_cookies(https_page),
        *_score_headers(https_page),
        *_score_scripts(https_page.content.decode()),
        *_score_redirection(http_answer),
    ]
    score = 100 + sum(points for _, points in modifiers if points < 0)
    if score >= 90:
        score += sum(points for _, points in modifiers if points > 0)
    return score, modifiers


def test_front_page_headers_score_a_plus_on_the_observatory_rules(client, settings):
    settings.SECURE_SSL_REDIRECT = True

    score, modifiers = _observatory_score(client.get("/", secure=True), client.get("/"))

    assert [name for name, points in modifiers if points < 0] == []
    assert score >= 100, modifiers


def test_csp_allows_nothing_inline_and_nothing_from_elsewhere(client):
    csp = _parse_csp(client.get("/")["Content-Security-Policy"])

    assert csp["default-src"] == {"'none'"}
    assert csp["script-src"] == {"'self'"}
    assert csp["style-src"] == {"'self'"}
    assert csp["img-src"] == {"'self'", "data:"}
    assert csp["connect-src"] == {"'self'"}


def test_csp_forbids_framing_plugins_base_and_foreign_forms(client):
    csp = _parse_csp(client.get("/")["Content-Security-Policy"])

    assert csp["frame-ancestors"] == {"'none'"}
    assert csp["object-src"] == {"'none'"}
    assert csp["base-uri"] == {"'none'"}
    assert csp["form-action"] == {"'self'"}


def test_csp_follows_a_changed_setting(client, settings):
    policy = settings.CONTENT_SECURITY_POLICY
    settings.CONTENT_SECURITY_POLICY = {
        "DIRECTIVES": {**policy["DIRECTIVES"], "img-src": ["'self'", "https://cdn.example"]}
    }

    csp = _parse_csp(client.get("/")["Content-Security-Policy"])

    assert csp["img-src"] == {"'self'", "https://cdn.example"}
    assert csp["default-src"] == {"'none'"}


def test_csp_keeps_a_views_own_changes(rf):
    from csp.decorators import csp_update

    from portal.operations.middleware import SitePolicyCSPMiddleware

    @csp_update({"img-src": "https://cdn.example"})
    def view(request):
        return HttpResponse("ok")

    response = SitePolicyCSPMiddleware(view)(rf.get("/"))

    csp = _parse_csp(response["Content-Security-Policy"])
    assert csp["img-src"] == {"'self'", "data:", "https://cdn.example"}
    assert csp["default-src"] == {"'none'"}


def test_hsts_lasts_a_year_with_subdomains_over_https(client):
    response = client.get("/", secure=True)

    assert response["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"


def test_hsts_is_not_sent_over_plain_http(client):
    assert "Strict-Transport-Security" not in client.get("/")


def test_hsts_preload_is_added_when_configured(client, settings):
    settings.SECURE_HSTS_PRELOAD = True

    assert client.get("/", secure=True)["Strict-Transport-Security"].endswith("; preload")


def test_responses_forbid_sniffing_framing_and_leaking_the_result_url(client):
    response = client.get("/")

    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    assert response["Cross-Origin-Resource-Policy"] == "same-origin"


def test_permissions_policy_refuses_camera_microphone_and_location(client):
    policy = client.get("/")["Permissions-Policy"]

    assert "camera=()" in policy
    assert "microphone=()" in policy
    assert "geolocation=()" in policy


def test_api_answers_carry_the_security_headers_too(client):
    response = client.post("/api/v1/requests", data="nonsense", content_type="text/plain")

    assert response["X-Content-Type-Options"] == "nosniff"
    assert "Content-Security-Policy" in response


def test_csrf_cookie_is_secure_httponly_lax_and_host_only(client):
    cookie = client.get("/").cookies["csrftoken"]

    assert cookie["secure"] is True
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"
    assert cookie["domain"] == ""


def test_session_cookie_is_secure_httponly_lax_and_host_only(client, django_user_model):
    django_user_model.objects.create_superuser("operator", password="correct horse battery")

    response = client.post(
        "/admin/login/", {"username": "operator", "password": "correct horse battery"}
    )

    cookie = response.cookies["sessionid"]
    assert (cookie["secure"], cookie["httponly"], cookie["samesite"]) == (True, True, "Lax")
    assert cookie["domain"] == ""


def test_plain_http_is_redirected_to_https_when_enabled(client, settings):
    settings.SECURE_SSL_REDIRECT = True

    response = client.get("/r/some-token/")

    assert response.status_code == 301
    assert response["Location"] == "https://testserver/r/some-token/"


def test_health_and_metrics_are_not_redirected_to_https(client, settings):
    settings.SECURE_SSL_REDIRECT = True

    assert client.get("/healthz").status_code == 200
    assert client.get("/readyz").status_code == 200
    assert client.get("/metrics").status_code == 404  # off, and not a redirect


def test_forwarded_proto_from_a_trusted_proxy_counts_as_https(client, settings):
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.SECURE_SSL_REDIRECT = True

    response = client.get("/", HTTP_X_FORWARDED_PROTO="https")

    assert response.status_code == 200
    assert "Strict-Transport-Security" in response


def test_form_with_too_many_fields_is_refused(client):
    fields = {f"field{index}": "x" for index in range(300)}

    assert client.post("/", fields).status_code == 400


# --- Pages free of anything a strict CSP would block ------------------------------------------


class _InlineFinder(HTMLParser):
    """Collects what `script-src 'self'; style-src 'self'` blocks: inline scripts, <style>
    elements, style attributes, event-handler attributes and javascript: URLs."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "script" and not values.get("src"):
            self.found.append("inline <script>")
        if tag == "style":
            self.found.append("<style> element")
        for name, value in values.items():
            if name == "style" or name.startswith("on"):
                self.found.append(f"{name}= on <{tag}>")
            if (value or "").strip().lower().startswith("javascript:"):
                self.found.append(f"javascript: URL in <{tag} {name}>")


def _blocked_by_csp(html: str) -> list[str]:
    finder = _InlineFinder()
    finder.feed(html)
    return finder.found


def _upload(client: Client, name: str, **extra: str):
    file = SimpleUploadedFile("ls_activation.req", read_vector(name).encode())
    return client.post("/", {"file": file}, **extra)


def _result_page(client: Client, name: str) -> str:
    return client.get(_upload(client, name)["Location"]).content.decode()


def _page(state: str, client: Client, upstream, settings) -> str:
    if state == "upload":
        return client.get("/").content.decode()
    if state == "upload error":
        return client.post("/", {"request_text": "not a request file"}).content.decode()
    if state == "upload error panel (htmx)":
        return client.post("/", {"request_text": "nonsense"}, **HTMX).content.decode()
    if state == "rate limited":
        settings.PORTAL_RATE_LIMIT = 1
        client.post("/", {"request_text": "nonsense"})
        return client.post("/", {"request_text": "nonsense"}).content.decode()
    if state == "activation result":
        upstream.answer("activate_offline", body=LICENSE_BODY)
        return _result_page(client, "py_activate_key.req")
    if state == "activation result panel (htmx)":
        upstream.answer("activate_offline", body=LICENSE_BODY)
        return _upload(client, "py_activate_key.req", **HTMX).content.decode()
    if state == "deactivation result":
        upstream.answer("deactivate_offline", body='"license_deactivated"')
        return _result_page(client, "py_deactivate_key_consumption.req")
    if state == "result gone":
        return client.get("/r/no-such-token/").content.decode()
    if state == "csrf failure":
        return Client(enforce_csrf_checks=True).post("/", {"request_text": "x"}).content.decode()
    if state == "too large":
        return client.generic("POST", "/", b"x", CONTENT_LENGTH="10485760").content.decode()
    if state == "unknown host":
        return client.get("/", HTTP_HOST="unknown.example.net").content.decode()
    if state == "sandbox":
        return client.get("/sandbox/").content.decode()
    if state == "admin login":
        return client.get("/admin/login/").content.decode()
    if state == "404":
        return client.get("/no-such-page/").content.decode()
    if state in {"400", "403", "500"}:
        return render_to_string(f"{state}.html")
    raise AssertionError(state)


@pytest.mark.parametrize(
    "state",
    [
        "upload",
        "upload error",
        "upload error panel (htmx)",
        "rate limited",
        "activation result",
        "activation result panel (htmx)",
        "deactivation result",
        "result gone",
        "csrf failure",
        "too large",
        "unknown host",
        "sandbox",
        "admin login",
        "404",
        "400",
        "403",
        "500",
    ],
)
def test_page_has_nothing_the_csp_would_block(state, client, upstream, settings):
    html = _page(state, client, upstream, settings)

    assert "<" in html
    assert _blocked_by_csp(html) == []


def test_admin_pages_have_nothing_the_csp_would_block(client, django_user_model):
    client.force_login(django_user_model.objects.create_superuser("operator"))
    urls = [reverse("admin:index")] + [
        reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{page}")
        for model in admin.site._registry
        for page in ("changelist", "add")
    ]

    pages = {url: client.get(url) for url in urls}

    assert {url: page.status_code for url, page in pages.items() if page.status_code != 200} == {}
    blocked = {url: _blocked_by_csp(page.content.decode()) for url, page in pages.items()}
    assert {url: found for url, found in blocked.items() if found} == {}
