"""Console accounts: invitation, password, TOTP, lockout, and one tenant per session."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.core import mail
from django.core.mail.backends import locmem
from django.db import transaction
from django.test import Client

from tests.console.conftest import ACME, GLOBEX, PASSWORD, invite, sign_up

pytestmark = pytest.mark.django_db


def test_invitation_signs_a_new_owner_up_with_a_second_factor(tenants) -> None:
    owner = sign_up(ACME, "Owner@Acme.test")

    assert len(owner.recovery_codes) == 10
    page = owner.get("/console/activity/")
    assert page.status_code == 200
    assert "Acme Licensing" in page.content.decode()
    assert "owner@acme.test" in owner.get("/console/audit/").content.decode()


def test_invitation_is_mailed_and_works_once(tenants) -> None:
    link = invite(ACME, "support@acme.test", role="support")
    path = link.split(ACME, 1)[1]
    client = Client()
    form = {"new_password1": PASSWORD, "new_password2": PASSWORD}

    assert link.startswith(f"https://{ACME}/console/welcome/")
    assert link in mail.outbox[0].body
    assert client.post(path, form, HTTP_HOST=ACME).status_code == 302
    assert client.get(path, HTTP_HOST=ACME).status_code == 404


class _MailServerNotingTransactions(locmem.EmailBackend):
    """Sends as the test backend does, noting whether a database transaction was open."""

    in_transaction: list[bool] = []

    def send_messages(self, messages: list) -> int:
        self.in_transaction.append(transaction.get_connection().in_atomic_block)
        return super().send_messages(messages)


@pytest.mark.django_db(transaction=True)
def test_no_transaction_is_open_while_the_invitation_is_mailed(tenants, settings) -> None:
    # On SQLite a transaction holds the one write lock: uploads would wait on the mail server.
    settings.EMAIL_BACKEND = f"{__name__}._MailServerNotingTransactions"
    _MailServerNotingTransactions.in_transaction.clear()

    link = invite(ACME, "support@acme.test", role="support")

    assert _MailServerNotingTransactions.in_transaction == [False]
    assert link in mail.outbox[0].body


def _invitation_link_after(monkeypatch: pytest.MonkeyPatch, age: timedelta) -> tuple[int, str, int]:
    """Open an invitation link `age` after it was made (Django's token clock, meant for
    tests); returns the page's status and text, and the status of setting the password."""
    path = invite(ACME, "late@acme.test").split(ACME, 1)[1]
    later = datetime.now() + age
    monkeypatch.setattr(PasswordResetTokenGenerator, "_now", lambda self: later)
    client = Client()
    page = client.get(path, HTTP_HOST=ACME)
    form = {"new_password1": PASSWORD, "new_password2": PASSWORD}
    return (
        page.status_code,
        page.content.decode(),
        client.post(path, form, HTTP_HOST=ACME).status_code,
    )


def test_invitation_link_older_than_72_hours_is_refused(tenants, monkeypatch) -> None:
    status, text, set_password = _invitation_link_after(monkeypatch, timedelta(hours=72, minutes=1))

    assert (status, set_password) == (404, 404)
    assert "This link no longer works" in text
    assert "for 72 hours" in text


def test_invitation_link_just_under_72_hours_old_works(tenants, monkeypatch) -> None:
    status, text, set_password = _invitation_link_after(
        monkeypatch, timedelta(hours=71, minutes=59)
    )

    assert (status, set_password) == (200, 302)
    assert "This link no longer works" not in text


def test_invitation_link_is_a_404_on_another_tenants_host(tenants) -> None:
    path = invite(ACME, "owner@acme.test").split(ACME, 1)[1]

    assert Client().get(path, HTTP_HOST=GLOBEX).status_code == 404
    assert Client().get(path, HTTP_HOST=ACME).status_code == 200


def test_console_pages_ask_an_anonymous_visitor_to_sign_in(tenants) -> None:
    response = Client().get("/console/activity/", HTTP_HOST=ACME)

    assert response.status_code == 302
    assert response["Location"] == "/console/sign-in/"


def test_console_is_a_404_on_the_default_tenants_host(db) -> None:
    assert Client().get("/console/sign-in/", HTTP_HOST="testserver").status_code == 404


def test_password_alone_does_not_open_the_console(tenants) -> None:
    owner = sign_up(ACME, "owner@acme.test")
    client = Client()
    client.post(
        "/console/sign-in/", {"username": owner.email, "password": PASSWORD}, HTTP_HOST=ACME
    )

    response = client.get("/console/activity/", HTTP_HOST=ACME)

    assert response.status_code == 302
    assert response["Location"] == "/console/two-factor/"


def test_second_sign_in_takes_a_recovery_code_once(tenants) -> None:
    owner = sign_up(ACME, "owner@acme.test")
    code = owner.recovery_codes[0]

    def sign_in_with(token: str) -> int:
        client = Client()
        credentials = {"username": owner.email, "password": PASSWORD}
        client.post("/console/sign-in/", credentials, HTTP_HOST=ACME)
        client.post("/console/two-factor/", {"token": token}, HTTP_HOST=ACME)
        return client.get("/console/activity/", HTTP_HOST=ACME).status_code

    assert sign_in_with(code) == 200
    assert sign_in_with(code) == 302


def test_sign_in_locks_out_after_five_failures(tenants) -> None:
    owner = sign_up(ACME, "owner@acme.test")
    client = Client()
    for _attempt in range(5):
        wrong = {"username": owner.email, "password": "not it"}
        client.post("/console/sign-in/", wrong, HTTP_HOST=ACME)

    right = {"username": owner.email, "password": PASSWORD}
    page = client.post("/console/sign-in/", right, HTTP_HOST=ACME)

    assert page.status_code == 200
    assert "Too many failed sign-ins" in page.content.decode()


def test_sign_in_refuses_staff_of_another_tenant(tenants) -> None:
    sign_up(GLOBEX, "owner@globex.test")
    credentials = {"username": "owner@globex.test", "password": PASSWORD}

    page = Client().post("/console/sign-in/", credentials, HTTP_HOST=ACME)

    assert page.status_code == 200
    assert "correct username and password" in page.content.decode()


@pytest.mark.parametrize(
    "path",
    ["/console/activity/", "/console/activity.csv", "/console/activity/chart/",
     "/console/brand/", "/console/audit/", "/console/retention/", "/console/webhook/",
     "/console/two-factor/"],
)  # fmt: skip
def test_session_from_one_tenant_is_a_404_and_logged_out_on_another(tenants, path) -> None:
    owner = sign_up(ACME, "owner@acme.test")

    assert owner.client.get(path, HTTP_HOST=GLOBEX).status_code == 404
    assert owner.get("/console/activity/").status_code == 302


def test_support_staff_get_404_for_owner_pages(tenants) -> None:
    support = sign_up(ACME, "support@acme.test", role="support")

    assert support.get("/console/activity/").status_code == 200
    for path in ["/console/brand/", "/console/audit/", "/console/retention/", "/console/webhook/"]:
        assert support.get(path).status_code == 404


def test_enrolment_refuses_a_wrong_code(tenants) -> None:
    client = Client()
    path = invite(ACME, "owner@acme.test").split(ACME, 1)[1]
    client.post(path, {"new_password1": PASSWORD, "new_password2": PASSWORD}, HTTP_HOST=ACME)
    credentials = {"username": "owner@acme.test", "password": PASSWORD}
    client.post("/console/sign-in/", credentials, HTTP_HOST=ACME)

    page = client.post("/console/two-factor/", {"token": "000000"}, HTTP_HOST=ACME)

    assert "That code is not right" in page.content.decode()
    assert client.get("/console/activity/", HTTP_HOST=ACME).status_code == 302
