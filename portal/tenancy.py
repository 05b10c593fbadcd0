"""Which tenant (vendor account and brand) a request is for.

For now one tenant, configured by the environment: the default tenant. White-label tenants on
their own hosts (issue 4) plug in behind `get_tenant`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.conf import settings
from django.http import HttpRequest

from portal.license_api import Credentials


@dataclass(frozen=True)
class Tenant:
    slug: str
    name: str
    credentials: Credentials = field(repr=False)
    bundle_products: frozenset[str] = frozenset()
    support_email: str = ""
    activation_enabled: bool = True
    deactivation_enabled: bool = True


def default_tenant() -> Tenant:
    return Tenant(
        slug="default",
        name=settings.PORTAL_NAME,
        credentials=Credentials(
            api_url=settings.LICENSE_API_URL,
            api_key=settings.LICENSE_API_KEY,
            shared_key=settings.LICENSE_SHARED_KEY,
        ),
        bundle_products=frozenset(settings.LICENSE_API_BUNDLE_PRODUCTS),
        support_email=settings.PORTAL_SUPPORT_EMAIL,
    )


def get_tenant(request: HttpRequest) -> Tenant:
    tenant = getattr(request, "tenant", None)
    if tenant is None:
        tenant = default_tenant()
        request.tenant = tenant
    return tenant
