from __future__ import annotations

from django.http import HttpRequest

from portal.tenants.resolution import get_tenant


def branding(request: HttpRequest) -> dict[str, object]:
    """The tenant's name and contact for every template."""
    return {"tenant": get_tenant(request)}
