from __future__ import annotations

from django.apps import AppConfig


class RelayConfig(AppConfig):
    name = "portal.relay"
    # The label the relay's tables and migrations have always had (portal_relayresult, ...).
    label = "portal"
    verbose_name = "Relay"
