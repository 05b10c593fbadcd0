"""Settings, all from the environment (12-factor). See the README's configuration table."""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def _env(name: str, default: str = "") -> str:
    """Read NAME, or the file that NAME_FILE points at (for container secrets)."""
    file_path = os.environ.get(f"{name}_FILE")
    if file_path:
        return Path(file_path).read_text(encoding="utf-8").strip()
    return os.environ.get(name, default)


def _env_bool(name: str, default: bool) -> bool:
    value = _env(name, "").strip().lower()
    if not value:
        return default
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {value!r}")


def _env_number(name: str, default: float) -> float:
    value = _env(name, "").strip()
    if not value:
        return default
    try:
        number = float(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a number, not {value!r}") from None
    if number < 0:
        raise ImproperlyConfigured(f"{name} must not be negative")
    return number


def _env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in _env(name, default).split(",") if item.strip()]


DEBUG = _env_bool("DJANGO_DEBUG", False)
# `make run` sets PORTAL_DEV_DEFAULTS so that a fresh clone runs with no configuration.
DEV_DEFAULTS = DEBUG or _env_bool("PORTAL_DEV_DEFAULTS", False)

SECRET_KEY = _env("DJANGO_SECRET_KEY")
if not SECRET_KEY:
    if not DEV_DEFAULTS:
        raise ImproperlyConfigured("Set DJANGO_SECRET_KEY (or DJANGO_DEBUG=true for development).")
    SECRET_KEY = "dev-only-insecure-secret-key-do-not-use-in-production"

ALLOWED_HOSTS = _env_list("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
CSRF_TRUSTED_ORIGINS = _env_list("DJANGO_CSRF_TRUSTED_ORIGINS")

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
    "portal",
    "sandbox",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Before anything reads the body (CSRF reads POST): refuse oversized bodies unread.
    "portal.middleware.BodySizeLimitMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
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
                "portal.context_processors.branding",
            ],
        },
    },
]

VAR_DIR = Path(_env("PORTAL_VAR_DIR", str(BASE_DIR / "var")))
DATABASES = {
    "default": dj_database_url.parse(
        _env("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'portal.sqlite3'}",
        conn_max_age=60,
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Several gunicorn workers share the file: take the write lock when a transaction starts
    # (no "database is locked" mid-transaction), wait for it, and let readers run beside a writer.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    VAR_DIR.mkdir(parents=True, exist_ok=True)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

LANGUAGE_CODE = "en"
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
PORTAL_MAX_BODY_BYTES = int(_env_number("PORTAL_MAX_BODY_BYTES", 200 * 1024))
DATA_UPLOAD_MAX_MEMORY_SIZE = PORTAL_MAX_BODY_BYTES
FILE_UPLOAD_MAX_MEMORY_SIZE = PORTAL_MAX_BODY_BYTES

SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False  # htmx reads no cookie: the token travels in hx-headers.

# The default tenant: the portal's own License API account, from the environment.
PORTAL_NAME = _env("PORTAL_NAME", "Offline Portal")
PORTAL_SUPPORT_EMAIL = _env("PORTAL_SUPPORT_EMAIL")
LICENSE_API_URL = _env("LICENSE_API_URL", "https://api.licensespring.com/api/v4").rstrip("/")
LICENSE_API_KEY = _env("LICENSE_API_KEY")
LICENSE_SHARED_KEY = _env("LICENSE_SHARED_KEY")
LICENSE_API_BUNDLE_PRODUCTS = _env_list("LICENSE_API_BUNDLE_PRODUCTS")
LICENSE_API_CONNECT_TIMEOUT = _env_number("LICENSE_API_CONNECT_TIMEOUT", 5.0)
LICENSE_API_READ_TIMEOUT = _env_number("LICENSE_API_READ_TIMEOUT", 30.0)

# How long a result (and its license file) stays downloadable, in seconds.
PORTAL_RESULT_TTL = int(_env_number("PORTAL_RESULT_TTL", 30 * 60))

SANDBOX_ENABLED = _env_bool("SANDBOX_ENABLED", False)
SANDBOX_KEY_PATH = Path(_env("SANDBOX_KEY_PATH", str(VAR_DIR / "sandbox_rsa_key.pem")))

LOG_LEVEL = _env("PORTAL_LOG_LEVEL", "INFO").upper()
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {"httpx": {"level": "WARNING"}, "httpcore": {"level": "WARNING"}},
}
