"""Two tenants on their own hosts, and a staff member who signs in through the console."""

from __future__ import annotations

import io
import ipaddress
import re
import socket
from base64 import b32decode
from dataclasses import dataclass

import pytest
from django.core.management import call_command
from django.test import Client
from django_otp.oath import TOTP

from portal.tenants import resolution as tenancy
from portal.tenants.models import TenantHost, TenantSettings
from tests.factories import API_KEY, SHARED_KEY

ACME = "offline.acme.test"
GLOBEX = "offline.globex.test"
PASSWORD = "correct horse battery staple 42"
PUBLIC_ADDRESS = "93.184.215.14"  # where the fake resolver puts the webhook receiver's name


def make_tenant(slug: str, host: str, name: str) -> TenantSettings:
    tenant = TenantSettings(
        slug=slug, name=name, api_url=f"https://api.{host}/api/v4", api_key=API_KEY
    )
    tenant.set_shared_key(SHARED_KEY)
    tenant.save()
    TenantHost.objects.create(tenant=tenant, host=host)
    return tenant


@pytest.fixture
def tenants(db: None, settings: object) -> tuple[TenantSettings, TenantSettings]:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    tenancy.forget_cached_tenants()
    yield make_tenant("acme", ACME, "Acme Licensing"), make_tenant("globex", GLOBEX, "Globex")
    tenancy.forget_cached_tenants()


def invite(host: str, email: str, role: str = "owner") -> str:
    out = io.StringIO()
    call_command("invite_vendor_user", host, email, "--role", role, stdout=out)
    return re.search(r"(https?://\S+)", out.getvalue()).group(1)


def current_code(secret: str) -> str:
    key = b32decode(secret.replace(" ", ""))
    return f"{TOTP(key).token():06d}"


@dataclass
class SignedIn:
    client: Client
    host: str
    email: str
    secret: str
    recovery_codes: list[str]

    def get(self, path: str, **extra: object) -> object:
        return self.client.get(path, HTTP_HOST=self.host, **extra)

    def post(self, path: str, data: dict, **extra: object) -> object:
        return self.client.post(path, data, HTTP_HOST=self.host, **extra)


def sign_up(host: str, email: str, role: str = "owner") -> SignedIn:
    """Invite, set the password from the link, sign in, enrol TOTP: as a new staff member does."""
    client = Client()
    path = invite(host, email, role).split(host, 1)[1]
    client.post(path, {"new_password1": PASSWORD, "new_password2": PASSWORD}, HTTP_HOST=host)
    client.post("/console/sign-in/", {"username": email, "password": PASSWORD}, HTTP_HOST=host)
    page = client.get("/console/two-factor/", HTTP_HOST=host).content.decode()
    secret = re.search(r'class="otp-secret">([A-Z2-7 ]+)<', page).group(1)
    codes_page = client.post(
        "/console/two-factor/", {"token": current_code(secret)}, HTTP_HOST=host
    ).content.decode()
    codes = re.findall(r"<li><code>([a-z0-9]+)</code></li>", codes_page)
    return SignedIn(client, host, email, secret, codes)


@pytest.fixture
def acme_owner(tenants: tuple) -> SignedIn:
    return sign_up(ACME, "owner@acme.test")


@pytest.fixture
def globex_owner(tenants: tuple) -> SignedIn:
    return sign_up(GLOBEX, "owner@globex.test")


def sign_up_in_browser(page: object, tenant_url: str, email: str = "owner@acme.test") -> None:
    """The invitation, password, sign-in and TOTP enrolment, as a new owner does them in a
    browser (Playwright page, at the tenant's host)."""
    from playwright.sync_api import expect

    host = tenant_url.split("//", 1)[1]
    page.goto(invite(host, email).replace("https://", "http://"))
    page.get_by_label("New password", exact=True).fill(PASSWORD)
    page.get_by_label("New password confirmation").fill(PASSWORD)
    page.get_by_role("button", name="Set the password").click()
    page.get_by_label("Username").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    secret = page.locator(".otp-secret").inner_text()
    page.get_by_label(re.compile("Code from your authenticator")).fill(current_code(secret))
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_role("heading", name="Your recovery codes")).to_be_visible()


class FakeResolver:
    """socket.getaddrinfo for the webhook's host names: `names` maps each to its addresses."""

    def __init__(self) -> None:
        self.names: dict[str, list[str]] = {"hooks.acme.test": [PUBLIC_ADDRESS]}

    def getaddrinfo(self, host: str, port: object, *args: object, **kwargs: object) -> list:
        if host not in self.names:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [
            (
                socket.AF_INET6 if ipaddress.ip_address(address).version == 6 else socket.AF_INET,
                socket.SOCK_STREAM,
                6,
                "",
                (address, port),
            )
            for address in self.names[host]
        ]


@pytest.fixture
def resolver(monkeypatch: pytest.MonkeyPatch) -> FakeResolver:
    fake = FakeResolver()
    monkeypatch.setattr(socket, "getaddrinfo", fake.getaddrinfo)
    return fake
