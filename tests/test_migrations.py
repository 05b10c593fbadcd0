from __future__ import annotations

import pytest
from django.core.management import call_command


@pytest.mark.django_db
def test_migrations_match_the_models():
    call_command("makemigrations", "--check", "--dry-run", verbosity=0)


@pytest.mark.django_db(transaction=True)
def test_results_kept_before_the_product_column_keep_naming_their_product():
    """A database made before 0007: its kept results still give a check the product's name."""
    from datetime import timedelta

    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor
    from django.utils import timezone

    before, after = [("portal", "0006_pending_upload")], [("portal", "0007_result_product")]
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    old = executor.loader.project_state(before).apps.get_model("portal", "RelayResult")
    old.objects.create(
        tenant_slug="default",
        request_hash="a" * 64,
        kind="activation",
        state="done",
        summary={
            "product": "TP",
            "licenses": [{"product_code": "TP", "product_name": "Test Product"}],
        },
        expires_at=timezone.now() + timedelta(minutes=30),
    )
    executor = MigrationExecutor(connection)
    executor.migrate(after)
    call_command("migrate", verbosity=0)  # the rest, as the test database was

    from portal.relay import store

    assert store.known_product_name(tenant_slug="default", product="TP") == "Test Product"
