"""Settings, all from the environment (12-factor). See the README's configuration table."""

from __future__ import annotations

from pathlib import Path

from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from offline_portal.database import database_settings
from offline_portal.environment import env, env_bool, env_list, env_number
from portal.operations.logging import logging_config

BASE_DIR = Path(__file__).resolve().parent.parent


DEBUG = env_bool("DJANGO_DEBUG", False)
# `make run` sets PORTAL_DEV_DEFAULTS so that a fresh clone runs with no configuration.
DEV_DEFAULTS = DEBUG or env_bool("PORTAL_DEV_DEFAULTS", False)

SECRET_KEY = env("DJANGO_SECRET_KEY")
if not SECRET_KEY:
    if not DEV_DEFAULTS:
        raise ImproperlyConfigured("Set DJANGO_SECRET_KEY (or DJANGO_DEBUG=true for development).")
    SECRET_KEY = "dev-only-insecure-secret-key-do-not-use-in-production"

# The hosts the default tenant answers to. Tenants' own hosts come from the database, so Django's
# ALLOWED_HOSTS admits every host and portal.tenancy.TenantMiddleware (first in MIDDLEWARE)
# refuses, with Django's own matching, any host that neither list names.
PORTAL_ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
ALLOWED_HOSTS = ["*"]
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_htmx",
    "template_partials",
    "portal.relay",
    "portal.tenants",
    "portal.operations",
    "portal.batches",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "portal.console",
    "sandbox",
]

MIDDLEWARE = [
    # HSTS, nosniff, Referrer-Policy, COOP, the https redirect; then CSP, Permissions-Policy
    # and CORP: first, so that every answer carries them, static files and refusals included.
    "django.middleware.security.SecurityMiddleware",
    "portal.operations.middleware.SitePolicyCSPMiddleware",
    "portal.operations.middleware.SecurityHeadersMiddleware",
    # Refusals under /api/ (an unknown host's among them) answered as JSON, not as pages.
    "portal.operations.middleware.ApiErrorsMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Host -> tenant, and refusal of unknown hosts, before anything else uses the host.
    "portal.tenants.middleware.TenantMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Before anything reads the body (CSRF reads POST): refuse oversized bodies unread.
    "portal.operations.middleware.BodySizeLimitMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # Django's LocaleMiddleware, choosing among the languages the tenant offers.
    "portal.tenants.middleware.TenantLocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # request.user.is_verified(): the console's second factor (django-otp).
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "offline_portal.urls"
WSGI_APPLICATION = "offline_portal.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "portal.tenants.context_processors.branding",
            ],
        },
    },
]

VAR_DIR = Path(env("PORTAL_VAR_DIR", str(BASE_DIR / "var")))
DATABASES = {
    "default": database_settings(
        env("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'portal.sqlite3'}",
        pool_size=int(env_number("PORTAL_DB_POOL_SIZE", 8)),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    VAR_DIR.mkdir(parents=True, exist_ok=True)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

LANGUAGE_CODE = "en"
# Each language by its own name: the menu is read by someone who may not read the current one.
LANGUAGES = [
    ("en", "English"),
    ("de", "Deutsch"),
    ("fr", "Français"),
    ("es", "Español"),
    ("ja", "日本語"),
    ("ar", "العربية"),
]
LOCALE_PATHS = [BASE_DIR / "locale"]
FORMAT_MODULE_PATH = ["offline_portal.formats"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# Request bodies: a request file is at most 64 KiB; a form post of one (file or pasted text,
# multipart framing, CSRF token) fits well inside PORTAL_MAX_BODY_BYTES. Larger bodies are
# refused from their Content-Length, before a byte is read.
PORTAL_MAX_REQUEST_FILE_BYTES = 64 * 1024
PORTAL_MAX_BODY_BYTES = int(env_number("PORTAL_MAX_BODY_BYTES", 200 * 1024))
# The operators' admin takes a logo and a favicon of up to 256 KB each.
PORTAL_MAX_ADMIN_BODY_BYTES = max(PORTAL_MAX_BODY_BYTES, 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = PORTAL_MAX_BODY_BYTES
FILE_UPLOAD_MAX_MEMORY_SIZE = PORTAL_MAX_BODY_BYTES
# The upload form has three fields; the admin's forms a few dozen.
DATA_UPLOAD_MAX_NUMBER_FIELDS = 200
# Batches (portal/batches): at most PORTAL_BATCH_MAX_FILES request files in one post, relayed
# PORTAL_BATCH_CONCURRENCY at a time, so that one engineer's batch leaves the other workers free.
PORTAL_BATCH_MAX_FILES = max(1, int(env_number("PORTAL_BATCH_MAX_FILES", 100)))
PORTAL_BATCH_CONCURRENCY = max(1, int(env_number("PORTAL_BATCH_CONCURRENCY", 4)))
# A batch's post is held to PORTAL_MAX_BODY_BYTES too (nginx.conf and the middleware enforce
# it): request files are about a kilobyte, so the default takes a full batch of typical ones.
# A few over the cap, so that a batch one file too large gets the portal's own clear refusal.
DATA_UPLOAD_MAX_NUMBER_FILES = PORTAL_BATCH_MAX_FILES + 10

# HTTPS. In production the portal sits behind a TLS-terminating proxy or load balancer and
# speaks plain http to it; `make run` serves plain http on 127.0.0.1 to a browser.
PORTAL_HTTPS = env_bool("PORTAL_HTTPS", not DEV_DEFAULTS)
# Only behind a proxy that sets X-Forwarded-Proto itself, overwriting the client's: otherwise
# any client could claim https.
if env_bool("PORTAL_TRUST_X_FORWARDED_PROTO", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("PORTAL_SSL_REDIRECT", False)
# Probes and scrapers call these over plain http from inside the network.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
# HSTS goes out only on requests Django sees as https (directly, or through the header above).
SECURE_HSTS_SECONDS = int(env_number("PORTAL_HSTS_SECONDS", 365 * 24 * 3600 if PORTAL_HTTPS else 0))
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("PORTAL_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env_bool("PORTAL_HSTS_PRELOAD", False)
# Preloading binds a whole registrable domain and only its owner can ask for it, so it stays
# the operator's choice (PORTAL_HSTS_PRELOAD) and `check --deploy` does not nag about it.
SILENCED_SYSTEM_CHECKS = ["security.W021"]
SECURE_CONTENT_TYPE_NOSNIFF = True
# Result pages hold a secret token in their URL: never send it to another site.
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Cookies: Secure under HTTPS, HttpOnly (nothing reads them from script: the CSRF token travels
# in the form), SameSite=Lax, and host-only (no *_COOKIE_DOMAIN): one tenant's host never sees
# another's cookies.
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = PORTAL_HTTPS
SESSION_COOKIE_HTTPONLY = CSRF_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = CSRF_COOKIE_SAMESITE = "Lax"
# The language menu's choice, a year long (Django's default), same rules as the others.
LANGUAGE_COOKIE_SECURE = PORTAL_HTTPS
LANGUAGE_COOKIE_HTTPONLY = True
LANGUAGE_COOKIE_SAMESITE = "Lax"
# The admin's notes ("... was added successfully") ride in its session. Django's default (a
# signed cookie, then the session) builds a signer on every request, 8 us of CPU each, for the
# portal's pages too, which never show one.
MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"
# The console's invitations go out through send_mail; with no mail server configured they are
# written to the log (the command that invites prints the link too).
EMAIL_BACKEND = env("DJANGO_EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env("DJANGO_DEFAULT_FROM_EMAIL", "webmaster@localhost")
CSRF_FAILURE_VIEW = "portal.relay.views.csrf_failure"

# Content-Security-Policy (django-csp): nothing inline, nothing from elsewhere. htmx is set up
# for it in templates/base.html (no eval, no injected indicator styles); tenant colours come in
# a stylesheet (portal:brand-css), never a style attribute.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [NONE],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "manifest-src": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
        "base-uri": [NONE],
        "object-src": [NONE],
    }
}

# The default tenant: the portal's own License API account, from the environment.
PORTAL_NAME = env("PORTAL_NAME", "Offline Portal")
PORTAL_SUPPORT_EMAIL = env("PORTAL_SUPPORT_EMAIL")
LICENSE_API_URL = env("LICENSE_API_URL", "https://api.licensespring.com/api/v4").rstrip("/")
LICENSE_API_KEY = env("LICENSE_API_KEY")
LICENSE_SHARED_KEY = env("LICENSE_SHARED_KEY")
# OAuth client credentials instead (vendors on OAuth); when LICENSE_CLIENT_ID is set they win
# over the API key. The token URL is asked of the License API when not given.
LICENSE_CLIENT_ID = env("LICENSE_CLIENT_ID")
LICENSE_CLIENT_SECRET = env("LICENSE_CLIENT_SECRET")
LICENSE_OAUTH_TOKEN_URL = env("LICENSE_OAUTH_TOKEN_URL")
LICENSE_API_BUNDLE_PRODUCTS = env_list("LICENSE_API_BUNDLE_PRODUCTS")
LICENSE_API_CONNECT_TIMEOUT = env_number("LICENSE_API_CONNECT_TIMEOUT", 5.0)
LICENSE_API_READ_TIMEOUT = env_number("LICENSE_API_READ_TIMEOUT", 30.0)
# Seconds one relay may take in all: connecting, sending, and the whole answer however slowly
# it comes (the timeouts above bound each step, not the sum), the bundle fallback's second
# call included. Past it the user gets "took too long" and the connection is closed. A little
# above the read timeout, so an API that answers within it in one go is never cut short.
LICENSE_API_DEADLINE = env_number("LICENSE_API_DEADLINE", 35.0)

# Tenants' secrets at rest: comma-separated passphrases, newest first (rotation).
PORTAL_SECRETS_KEYS = env_list("PORTAL_SECRETS_KEY")
if not PORTAL_SECRETS_KEYS and DEV_DEFAULTS:
    PORTAL_SECRETS_KEYS = ["dev-only-insecure-secrets-key-" + SECRET_KEY]
# Tenants answer on their own hosts, and on <slug>.PORTAL_BASE_DOMAIN when it is set (wildcard DNS).
PORTAL_BASE_DOMAIN = env("PORTAL_BASE_DOMAIN").strip().lower().strip(".")
# How stale a worker's view of the tenants may be after another instance edits one.
PORTAL_TENANT_CACHE_SECONDS = env_number("PORTAL_TENANT_CACHE_SECONDS", 2.0)
PORTAL_DEFAULT_PRIMARY_COLOR = env("PORTAL_PRIMARY_COLOR", "")
PORTAL_DEFAULT_ACCENT_COLOR = env("PORTAL_ACCENT_COLOR", "")

# How long a result (and its license file) stays downloadable, in seconds.
PORTAL_RESULT_TTL = int(env_number("PORTAL_RESULT_TTL", 30 * 60))
# A pending upload's claim on its file lasts this long unless its process renews it (every
# third of it, while the call runs): a claim held by a killed worker is free again this soon.
PORTAL_CLAIM_LEASE_SECONDS = max(1.0, env_number("PORTAL_CLAIM_LEASE_SECONDS", 6.0))

# Uploads and API calls allowed per client address and tenant in each window (0: no limit).
PORTAL_RATE_LIMIT = int(env_number("PORTAL_RATE_LIMIT", 30))
PORTAL_RATE_LIMIT_WINDOW = max(1, int(env_number("PORTAL_RATE_LIMIT_WINDOW", 60)))
# Request files checked (kept encrypted until the user confirms) per client and tenant in each
# window: enough for a full batch, or four checks for every upload allowed (0: no limit).
_CHECKS_DEFAULT = max(PORTAL_BATCH_MAX_FILES, 4 * PORTAL_RATE_LIMIT) if PORTAL_RATE_LIMIT else 0
PORTAL_CHECK_RATE_LIMIT = int(env_number("PORTAL_CHECK_RATE_LIMIT", _CHECKS_DEFAULT))
# How many proxies in front of the portal append to X-Forwarded-For (0: trust none of it), and
# one more under gunicorn.conf.py: the nginx it starts in front appends the client's address.
PORTAL_TRUSTED_PROXY_COUNT = int(env_number("PORTAL_TRUSTED_PROXY_COUNT", 0)) + int(
    env_bool("PORTAL_BEHIND_NGINX", False)
)

# Prometheus metrics at /metrics: off (404) unless enabled; a bearer token when one is set.
PORTAL_METRICS_ENABLED = env_bool("PORTAL_METRICS_ENABLED", False)
PORTAL_METRICS_TOKEN = env("PORTAL_METRICS_TOKEN")

# Vendors' webhooks (the console): posted only to public addresses unless the operator allows
# their own network too (receivers on premises); delivered by a process gunicorn.conf.py starts
# beside the workers, unless the operator runs `manage.py deliver_webhooks` themselves.
PORTAL_WEBHOOK_ALLOW_PRIVATE = env_bool("PORTAL_WEBHOOK_ALLOW_PRIVATE", False)
PORTAL_WEBHOOK_DELIVERY = env_bool("PORTAL_WEBHOOK_DELIVERY", True)

SANDBOX_ENABLED = env_bool("SANDBOX_ENABLED", False)
SANDBOX_KEY_PATH = Path(env("SANDBOX_KEY_PATH", str(VAR_DIR / "sandbox_rsa_key.pem")))
# Lifetime of the sandbox's OAuth tokens: the real token service's, shorter in tests.
SANDBOX_OAUTH_TOKEN_SECONDS = int(env_number("SANDBOX_OAUTH_TOKEN_SECONDS", 480))

LOG_LEVEL = env("PORTAL_LOG_LEVEL", "INFO").upper()
# Error reports (DEBUG pages, mails to admins) show no local variable of the License API
# client's frames: they hold shared keys, signed headers and end users' passwords.
DEFAULT_EXCEPTION_REPORTER_FILTER = "portal.operations.error_reports.SecretFramesFilter"

LOGGING = logging_config(LOG_LEVEL)
