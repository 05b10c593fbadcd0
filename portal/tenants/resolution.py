"""Which tenant (vendor account and brand) a request is for, from its Host header.

The environment-configured tenant is the default: it serves every host that DJANGO_ALLOWED_HOSTS
admits and no tenant claims. White-label tenants (TenantSettings rows) answer on their own
hosts, which need no entry in DJANGO_ALLOWED_HOSTS. Each process keeps every tenant in memory
and reloads when the shared TenantGeneration counter moves (checked at most every
PORTAL_TENANT_CACHE_SECONDS), so an edit made through any instance reaches all of them.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import F
from django.http import HttpRequest
from django.utils.translation import get_language

from portal.licensespring.client import Credentials
from portal.tenants.branding import help_text_for, render_help_text
from portal.tenants.languages import parse_languages
from portal.tenants.secrets import SecretUnreadable

logger = logging.getLogger("portal.tenants")


@dataclass(frozen=True)
class Tenant:
    slug: str
    name: str
    credentials: Credentials = field(repr=False)
    bundle_products: frozenset[str] = frozenset()
    support_email: str = ""
    support_url: str = ""
    # {language offered: rendered help}, made once per cache load; help_html picks the page's.
    help_htmls: dict[str, str] = field(default_factory=dict, compare=False)
    privacy_url: str = ""
    imprint_url: str = ""
    primary_color: str = ""
    accent_color: str = ""
    has_logo: bool = False
    has_favicon: bool = False
    brand_version: str = "default"
    activation_enabled: bool = True
    deactivation_enabled: bool = True
    language: str = "en"
    languages: tuple[str, ...] = ("en", "de", "fr", "es", "ja", "ar")
    active: bool = True
    pk: int | None = None

    @property
    def is_default(self) -> bool:
        return self.pk is None

    @property
    def help_html(self) -> str:
        """The help text in the language the request is answered in."""
        return self.help_htmls.get(get_language(), self.help_htmls.get(self.language, ""))


def default_tenant() -> Tenant:
    primary, accent = settings.PORTAL_DEFAULT_PRIMARY_COLOR, settings.PORTAL_DEFAULT_ACCENT_COLOR
    return Tenant(
        slug="default",
        name=settings.PORTAL_NAME,
        credentials=_default_credentials(),
        bundle_products=frozenset(settings.LICENSE_API_BUNDLE_PRODUCTS),
        support_email=settings.PORTAL_SUPPORT_EMAIL,
        primary_color=primary,
        accent_color=accent,
        brand_version=_digest(primary, accent),
    )


def _default_credentials() -> Credentials:
    if settings.LICENSE_CLIENT_ID:  # a vendor on OAuth
        return Credentials(
            api_url=settings.LICENSE_API_URL,
            client_id=settings.LICENSE_CLIENT_ID,
            client_secret=settings.LICENSE_CLIENT_SECRET,
            token_url=settings.LICENSE_OAUTH_TOKEN_URL,
        )
    return Credentials(
        api_url=settings.LICENSE_API_URL,
        api_key=settings.LICENSE_API_KEY,
        shared_key=settings.LICENSE_SHARED_KEY,
    )


def get_tenant(request: HttpRequest) -> Tenant:
    """The tenant TenantMiddleware attached, or the default one (requests built in tests)."""
    tenant = getattr(request, "tenant", None)
    if tenant is None:
        tenant = default_tenant()
        request.tenant = tenant
    return tenant


def tenant_for_host(host: str) -> Tenant | None:
    """The tenant that claims `host` (a normalized host name), active or not, else None."""
    hosts, slugs = _cache.current()
    tenant = hosts.get(host)
    if tenant is None and settings.PORTAL_BASE_DOMAIN:
        suffix = "." + settings.PORTAL_BASE_DOMAIN
        if host.endswith(suffix):
            tenant = slugs.get(host[: -len(suffix)])
    return tenant


def bump_generation() -> None:
    """Tell every process (this one at once, others within seconds) that tenants changed."""
    from portal.tenants.models import TenantGeneration

    if not TenantGeneration.objects.filter(pk=1).update(value=F("value") + 1):
        TenantGeneration.objects.get_or_create(pk=1)
    _cache.clear()


def forget_cached_tenants() -> None:
    """Read the tenants again on this process's next request, without telling the others (the
    tests: a rolled-back test's tenants must not outlive it under an equal generation)."""
    _cache.clear()


class _TenantCache:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._hosts: dict[str, Tenant] = {}
        self._slugs: dict[str, Tenant] = {}
        self._generation: int | None = None
        self._checked_at = 0.0

    def clear(self) -> None:
        with self._lock:
            self._generation, self._checked_at = None, 0.0

    def current(self) -> tuple[dict[str, Tenant], dict[str, Tenant]]:
        now = time.monotonic()
        if now - self._checked_at < settings.PORTAL_TENANT_CACHE_SECONDS:
            return self._hosts, self._slugs
        with self._lock:
            generation = _read_generation()
            if generation != self._generation:
                self._hosts, self._slugs = _load_tenants()
                self._generation = generation
            self._checked_at = now
            return self._hosts, self._slugs


def _read_generation() -> int:
    from portal.tenants.models import TenantGeneration

    row = TenantGeneration.objects.filter(pk=1).values_list("value", flat=True).first()
    return row or 0


def _load_tenants() -> tuple[dict[str, Tenant], dict[str, Tenant]]:
    from portal.tenants.models import TenantSettings

    hosts: dict[str, Tenant] = {}
    slugs: dict[str, Tenant] = {}
    for row in TenantSettings.objects.prefetch_related("hosts").defer("logo", "favicon"):
        tenant = _tenant_from_row(row)
        slugs[row.slug] = tenant
        for tenant_host in row.hosts.all():
            hosts[tenant_host.host] = tenant
    return hosts, slugs


def _tenant_from_row(row: object) -> Tenant:
    languages = parse_languages(row.languages) or (row.language,)
    return Tenant(
        slug=row.slug,
        name=row.name,
        credentials=_credentials_from_row(row),
        bundle_products=frozenset(
            code.strip() for code in row.bundle_products.split(",") if code.strip()
        ),
        support_email=row.support_email,
        support_url=row.support_url,
        help_htmls=_render_help_texts(row, languages),
        privacy_url=row.privacy_url,
        imprint_url=row.imprint_url,
        primary_color=row.primary_color,
        accent_color=row.accent_color,
        has_logo=bool(row.logo_type),
        has_favicon=bool(row.favicon_type),
        brand_version=_digest(row.updated_at.isoformat()),
        activation_enabled=row.activation_enabled,
        deactivation_enabled=row.deactivation_enabled,
        language=row.language,
        languages=languages,
        active=row.active,
        pk=row.pk,
    )


def _render_help_texts(row: object, languages: tuple[str, ...]) -> dict[str, str]:
    rendered: dict[str, str] = {}  # Markdown -> HTML: most languages share one text
    texts = {}
    for language in {*languages, row.language}:
        text = help_text_for(
            language, texts=row.help_texts, default_language=row.language, fallback=row.help_text
        )
        if text not in rendered:
            rendered[text] = render_help_text(text)
        texts[language] = rendered[text]
    return texts


def _credentials_from_row(row: object) -> Credentials:
    api_url = row.api_url.rstrip("/")
    if row.client_id:
        secret = _read_secret(row, "client secret", row.get_client_secret)
        return Credentials(
            api_url, client_id=row.client_id, client_secret=secret, token_url=row.oauth_token_url
        )
    return Credentials(api_url, row.api_key, _read_secret(row, "shared key", row.get_shared_key))


def _read_secret(row: object, what: str, read: Callable[[], str]) -> str:
    try:
        return read()
    except SecretUnreadable:
        logger.error("tenant %s: %s unreadable with PORTAL_SECRETS_KEY", row.slug, what)
        return ""


def _digest(*parts: str) -> str:
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:12]


_cache = _TenantCache()
