"""The one settings module, driven by the environment.

With no environment set this is the embedded demo: SQLite and a file-system Celery broker under
``var/``, emails written to ``var/mail/``, a generated secret key kept in ``var/``. Production
(``DEBUG=false``) needs ``SECRET_KEY``, ``DATABASE_URL``, ``CELERY_BROKER_URL``, ``SITE_URL``,
``ALLOWED_HOSTS``, ``DSAR_ENCRYPTION_KEYS`` and SMTP settings; each missing one stops start-up
with its name and the fix. ``docs/configuration.md`` lists every variable.
"""

from __future__ import annotations

import ipaddress
import secrets
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from smarct_dsar.env import env_bool, env_int, env_list, env_str, require

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("VAR_DIR", str(BASE_DIR / "var")))

DEBUG = env_bool("DEBUG", True)
# Demo mode adds the outbox page and the demo seed; it is never on unless asked for in production.
DEMO_MODE = env_bool("DSAR_DEMO", DEBUG)


def _local_secret(name: str, make: Any) -> str:
    """A secret generated once and kept under var/, so the zero-config demo ships no secret."""
    path = VAR_DIR / "secrets" / name
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    value = str(make())
    path.write_text(value, encoding="utf-8")
    path.chmod(0o600)
    return value


def _fernet_key() -> str:
    from cryptography.fernet import Fernet

    return Fernet.generate_key().decode()


if DEBUG:
    SECRET_KEY = env_str("SECRET_KEY") or _local_secret(
        "secret_key", lambda: secrets.token_urlsafe(50)
    )
else:
    SECRET_KEY = require(
        "SECRET_KEY",
        env_str("SECRET_KEY"),
        "set SECRET_KEY (or SECRET_KEY_FILE) to 50+ random characters, e.g. "
        "python -c 'import secrets; print(secrets.token_urlsafe(50))'.",
    )

# Keys for encryption at rest (gathered data, exports, queued email bodies): Fernet keys, newest
# first; older keys still decrypt, so rotation is "prepend a new key, re-encrypt at leisure".
DSAR_ENCRYPTION_KEYS = env_list("DSAR_ENCRYPTION_KEYS", [])
if not DSAR_ENCRYPTION_KEYS and DEBUG:
    DSAR_ENCRYPTION_KEYS = [_local_secret("fernet_key", _fernet_key)]
if not DSAR_ENCRYPTION_KEYS:
    require(
        "DSAR_ENCRYPTION_KEYS",
        "",
        "set DSAR_ENCRYPTION_KEYS (or DSAR_ENCRYPTION_KEYS_FILE) to one or more comma-separated "
        "Fernet keys, newest first: python -c 'from cryptography.fernet import Fernet; "
        "print(Fernet.generate_key().decode())'.",
    )
# The audit chain's HMAC key. It defaults to SECRET_KEY; pin it before rotating SECRET_KEY, or
# old events will no longer verify.
DSAR_AUDIT_KEY = env_str("DSAR_AUDIT_KEY") or SECRET_KEY
# The key behind keyed hashes that must stay stable for years: the suppression list, anonymised
# emails, the person's identifier on deletion certificates. Pin it before rotating SECRET_KEY, or
# suppressed addresses would no longer be recognised.
DSAR_PSEUDONYM_KEY = env_str("DSAR_PSEUDONYM_KEY") or SECRET_KEY


def _ed25519_key() -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    return (
        Ed25519PrivateKey.generate()
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        .decode()
    )


# Deletion certificates are signed with this Ed25519 private key (PEM). Public keys of retired
# signing keys stay trusted through DSAR_TRUSTED_SIGNING_KEYS (PEM files, comma-separated paths,
# each PATH or PATH@YYYY-MM-DD: the day it was retired, which the verification page tells).
DSAR_SIGNING_KEY = env_str("DSAR_SIGNING_KEY")
if not DSAR_SIGNING_KEY and DEBUG:
    DSAR_SIGNING_KEY = _local_secret("signing_key.pem", _ed25519_key)
DSAR_SIGNING_KEY = require(
    "DSAR_SIGNING_KEY",
    DSAR_SIGNING_KEY,
    "set DSAR_SIGNING_KEY_FILE to an Ed25519 private key in PEM: openssl genpkey -algorithm ed25519",
)
DSAR_TRUSTED_SIGNING_KEYS = env_list("DSAR_TRUSTED_SIGNING_KEYS", [])
# The public verification page (/certificates/verify/): the largest upload it reads (the
# certificate and its .sig; held in memory, see FILE_UPLOAD_HANDLERS) and checks per IP an hour.
DSAR_CERTIFICATE_CHECK_MAX_BYTES = env_int(
    "DSAR_CERTIFICATE_CHECK_MAX_BYTES", 5 * 1024 * 1024, minimum=64 * 1024
)

_default_hosts = ["127.0.0.1", "localhost", "[::1]"] if DEBUG else []
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", _default_hosts)
if not ALLOWED_HOSTS:
    require("ALLOWED_HOSTS", "", "set ALLOWED_HOSTS to the comma-separated host names you serve.")

SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000" if DEBUG else "").rstrip("/")
require("SITE_URL", SITE_URL, "set SITE_URL to the public https:// address used in email links.")
if urlsplit(SITE_URL).scheme not in {"http", "https"}:
    raise ImproperlyConfigured(
        f"SITE_URL={SITE_URL!r} is not an http(s) URL. Fix: e.g. SITE_URL=https://dsar.example.com"
    )
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [SITE_URL])

INSTALLED_APPS = [
    "smarct_dsar.admin_site.StaffAdminConfig",  # the admin behind the staff log-in and 2FA
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",  # thousands separators in figures staff read
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",  # single-use backup codes
    "requests_app",
    "exports_app",
]

MIDDLEWARE = [
    "smarct_dsar.proxies.ProxyCheckMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "smarct_dsar.languages.LanguageMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

if not DEBUG:  # in the demo, runserver serves static files itself
    MIDDLEWARE.insert(1, "whitenoise.middleware.WhiteNoiseMiddleware")

ROOT_URLCONF = "smarct_dsar.urls"
WSGI_APPLICATION = "smarct_dsar.wsgi.application"

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
                "requests_app.context_processors.site",
            ],
        },
    },
]


# --- Database -------------------------------------------------------------------------------
def _database(url: str) -> dict[str, Any]:
    try:
        config: dict[str, Any] = dict(dj_database_url.parse(url, conn_max_age=60))
    except ValueError as exc:
        raise ImproperlyConfigured(
            f"DATABASE_URL is not a database URL ({exc}). "
            "Fix: e.g. DATABASE_URL=postgres://user:password@host:5432/dsar"
        ) from exc
    # A persistent connection the database dropped (a restart, a failover) is noticed and
    # replaced before the next request or task uses it, instead of failing that one.
    config["CONN_HEALTH_CHECKS"] = True
    if config["ENGINE"] == "django.db.backends.sqlite3":
        # IMMEDIATE takes the write lock when a transaction starts, so the web process and the
        # worker queue for it instead of failing with "database is locked" mid-transaction.
        config["OPTIONS"] = {
            "transaction_mode": "IMMEDIATE",
            "timeout": 30,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
        config["CONN_MAX_AGE"] = 0
        # A file, not memory, so a real worker process can share the test database.
        config["TEST"] = {"NAME": str(VAR_DIR / "test-db.sqlite3")}
    return config


_database_url = env_str("DATABASE_URL")
if not _database_url and not DEBUG:
    require("DATABASE_URL", "", "set DATABASE_URL=postgres://user:password@host:5432/dsar.")
VAR_DIR.mkdir(parents=True, exist_ok=True)
DATABASES = {"default": _database(_database_url or f"sqlite:///{VAR_DIR / 'db.sqlite3'}")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache (rate-limit counters) --------------------------------------------------------------
CACHE_URL = env_str("CACHE_URL")
if CACHE_URL.startswith(("redis://", "rediss://")):
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": CACHE_URL}
    }
elif CACHE_URL:
    raise ImproperlyConfigured(
        f"CACHE_URL={CACHE_URL!r} is not supported. Fix: use redis://host:6379/1, or leave it "
        "unset for the in-process cache (one web process only)."
    )
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Celery -----------------------------------------------------------------------------------
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL")
if not CELERY_BROKER_URL and not DEBUG:
    require("CELERY_BROKER_URL", "", "set CELERY_BROKER_URL=redis://host:6379/0.")
CELERY_BROKER_URL = CELERY_BROKER_URL or "filesystem://"
CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, Any] = {}
if CELERY_BROKER_URL == "filesystem://":
    _broker_dir = VAR_DIR / "broker"
    for _sub in ("queue", "processed", "control"):
        (_broker_dir / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
        # The folder is polled; kombu's default of once a second added about a second to every
        # step of a request (10 s to gather the demo estate; bench/end_to_end.py).
        "polling_interval": float(env_str("CELERY_BROKER_POLLING_INTERVAL", "0.1")),
    }
elif CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    # Longer than the longest task or countdown, or Redis re-delivers work still in progress.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 7200)
    }
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Each worker also consumes its own queue, so `manage.py worker_probe` can prove *this* worker
# still takes tasks (workers have been seen to stop consuming silently after a Redis reconnect:
# celery #8030, #8091, #8384).
CELERY_WORKER_DIRECT = True
# Workers log through LOGGING below (with its personal-data filter), not Celery's own handler.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_WORKER_MAX_MEMORY_PER_CHILD = env_int("CELERY_WORKER_MAX_MEMORY_PER_CHILD", 1_000_000)  # KiB
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_TIMEZONE = "Europe/London"

# --- Email ------------------------------------------------------------------------------------
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Smarct Privacy <privacy@smarct.example>")
EMAIL_HOST = env_str("EMAIL_HOST")
if EMAIL_HOST:
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_PORT = env_int("EMAIL_PORT", 587)
    EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
    EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
    EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", EMAIL_PORT == 587)
    EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", EMAIL_PORT == 465)
    EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 30)
elif DEMO_MODE:
    EMAIL_BACKEND = "smarct_dsar.mail.OutboxBackend"
    DSAR_OUTBOX_DIR = VAR_DIR / "mail"
else:
    require(
        "EMAIL_HOST", "", "set EMAIL_HOST (and EMAIL_PORT, EMAIL_HOST_USER, EMAIL_HOST_PASSWORD)."
    )

# --- Auth, sessions, security -----------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "/staff/login/"
LOGIN_REDIRECT_URL = "/staff/"
LOGOUT_REDIRECT_URL = "/staff/login/"
# Staff may enable TOTP two-factor; production can require it of everyone.
DSAR_REQUIRE_2FA = env_bool("DSAR_REQUIRE_2FA", False)
# The Django admin (read-only views for operators) is mounted in the demo and development only,
# unless a deployment asks for it; when mounted it sits behind the staff log-in and 2FA.
DSAR_ADMIN_ENABLED = env_bool("DSAR_ADMIN_ENABLED", DEBUG)
OTP_TOTP_ISSUER = "Smarct DSAR"
DSAR_LOGIN_FAILURES_ALLOWED = env_int("DSAR_LOGIN_FAILURES_ALLOWED", 5, minimum=1)
DSAR_LOGIN_LOCKOUT_SECONDS = env_int("DSAR_LOGIN_LOCKOUT_SECONDS", 900, minimum=1)
DSAR_QUEUE_PAGE_SIZE = env_int("DSAR_QUEUE_PAGE_SIZE", 50, minimum=5)
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 8 * 3600)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if not DEBUG:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31_536_000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    # Preloading commits the whole domain to HTTPS for months; set false if that is not wanted.
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
    # Health checks come from inside the cluster over plain HTTP.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
    if env_bool("BEHIND_TLS_PROXY", True):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "frame-src": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
        "base-uri": ["'none'"],
        "object-src": ["'none'"],
    }
}

# --- I18N, static -----------------------------------------------------------------------------
# The public side (its pages, the emails to the person, the PDF letter) is in English or Welsh:
# the page as the person chooses (the switcher, else the browser), and what is sent later in
# the language the request was filed in (``DataSubjectRequest.language``). Staff pages, the API
# and the admin are always English (``smarct_dsar/languages.py``). README, "Languages".
LANGUAGE_CODE = "en-gb"
LANGUAGES = [("en-gb", "English"), ("cy", "Cymraeg")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Europe/London"
USE_I18N = True
USE_TZ = True
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
# Every file (gathered data, exports, certificates) goes through the default storage: local
# var/files/ on one machine; S3-compatible object storage when workers run on several.
DSAR_STORAGE = env_str("DSAR_STORAGE", "filesystem")
if DSAR_STORAGE not in {"filesystem", "s3"}:
    raise ImproperlyConfigured(
        f"DSAR_STORAGE={DSAR_STORAGE!r} is not known. Fix: set it to filesystem (default) or s3."
    )
_default_storage: dict[str, Any] = {
    "BACKEND": "django.core.files.storage.FileSystemStorage",
    "OPTIONS": {"location": str(VAR_DIR / "files")},
}
if DSAR_STORAGE == "s3":
    # Credentials come the usual AWS ways (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, a role).
    # Files are already encrypted by us; the bucket must be private (no ACLs, signed URLs only).
    _default_storage = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": require(
                "AWS_STORAGE_BUCKET_NAME",
                env_str("AWS_STORAGE_BUCKET_NAME"),
                "set AWS_STORAGE_BUCKET_NAME to a private bucket for DSAR files.",
            ),
            "endpoint_url": env_str("AWS_S3_ENDPOINT_URL") or None,
            "region_name": env_str("AWS_S3_REGION_NAME") or None,
            "default_acl": None,
            "file_overwrite": False,
            "querystring_auth": True,
            "location": env_str("AWS_LOCATION", "dsar"),
        },
    }
STORAGES = {
    "default": _default_storage,
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

# --- REST API ---------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["requests_app.core.permissions.IsPrivacyStaff"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "requests_app.api.errors.exception_handler",
    # JSON nested deeper than any request of ours is a 400, not a RecursionError's 500
    "DEFAULT_PARSER_CLASSES": [
        "requests_app.api.parsers.DepthLimitedJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Smarct DSAR API",
    "DESCRIPTION": "Data subject requests: public intake and verification, and the staff workflow.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "requests_app.api.schema.document_errors",
    ],
    "ENUM_NAME_OVERRIDES": {
        "RequestStatusEnum": "requests_app.models.Status",
        "StoreStatusEnum": "requests_app.models.StepStatus",
        "RequestTypeEnum": "requests_app.models.RequestType",
    },
}

# --- The DSAR workflow ------------------------------------------------------------------------
DSAR_VERIFICATION_TTL_DAYS = env_int("DSAR_VERIFICATION_TTL_DAYS", 7, minimum=1)
DSAR_DUPLICATE_WINDOW_DAYS = env_int("DSAR_DUPLICATE_WINDOW_DAYS", 30, minimum=0)
DSAR_RECORD_RETENTION_MONTHS = env_int("DSAR_RECORD_RETENTION_MONTHS", 24, minimum=1)
# England and Wales bank holidays by default (Smarct is in Crawley); "SCT" or "NIR" elsewhere.
DSAR_UK_HOLIDAY_SUBDIVISION = env_str("DSAR_UK_HOLIDAY_SUBDIVISION", "ENG")
DSAR_MAX_DETAILS_CHARS = env_int("DSAR_MAX_DETAILS_CHARS", 5000, minimum=100)
DSAR_MAX_CORRECTIONS = env_int("DSAR_MAX_CORRECTIONS", 20, minimum=1)
# Public endpoints: at most N submissions per window per client IP and per email address.
# Documents: the largest file taken (a letter, a photo of a passport), how many at once, and how
# long proof of identity or authority is kept after the decision it was for (the ICO: keep only
# what is needed).
DSAR_DOCUMENT_MAX_BYTES = env_int("DSAR_DOCUMENT_MAX_BYTES", 10 * 1024 * 1024, minimum=1024)
DSAR_DOCUMENTS_PER_UPLOAD = env_int("DSAR_DOCUMENTS_PER_UPLOAD", 5, minimum=1)
# ... and how many the person may send on one request, in all (a disk cannot be filled through
# one status link).
DSAR_DOCUMENTS_PER_REQUEST = env_int("DSAR_DOCUMENTS_PER_REQUEST", 10, minimum=1)
DSAR_PROOF_RETENTION_DAYS = env_int("DSAR_PROOF_RETENTION_DAYS", 30, minimum=0)
# Uploaded files stay in memory, never in a temporary file on disk (a passport must not be left
# behind in /tmp): a body larger than this is refused whole, before any of it is read.
FILE_UPLOAD_HANDLERS = ["django.core.files.uploadhandler.MemoryFileUploadHandler"]
FILE_UPLOAD_MAX_MEMORY_SIZE = (
    max(DSAR_DOCUMENT_MAX_BYTES * DSAR_DOCUMENTS_PER_UPLOAD, DSAR_CERTIFICATE_CHECK_MAX_BYTES)
    + 1024 * 1024
)
DSAR_RATE_LIMIT_WINDOW_SECONDS = env_int("DSAR_RATE_LIMIT_WINDOW_SECONDS", 3600, minimum=1)
# Requests filed (not mistakes) from one IP an hour: an office behind one address files 60.
DSAR_RATE_LIMIT_PER_IP = env_int("DSAR_RATE_LIMIT_PER_IP", 60, minimum=1)
DSAR_RATE_LIMIT_PER_EMAIL = env_int("DSAR_RATE_LIMIT_PER_EMAIL", 5, minimum=1)
DSAR_RATE_LIMIT_VERIFY_PER_IP = env_int("DSAR_RATE_LIMIT_VERIFY_PER_IP", 60, minimum=1)
DSAR_RATE_LIMIT_CERTIFICATE_CHECKS_PER_IP = env_int(
    "DSAR_RATE_LIMIT_CERTIFICATE_CHECKS_PER_IP", 30, minimum=1
)
# How many reverse proxies sit in front of the app; the client IP is taken that many hops from
# the right of X-Forwarded-For, so a client cannot forge it. With a count, the addresses (or
# networks) the nearest proxy connects from are required, and a request that did not come
# through it (from another address, or with fewer hops than proxies) is refused with a 400
# (``smarct_dsar.proxies``): a wrong count is a deployment error, never a silent bypass.
DSAR_TRUSTED_PROXY_COUNT = env_int("DSAR_TRUSTED_PROXY_COUNT", 0, minimum=0)
DSAR_TRUSTED_PROXIES = env_list("DSAR_TRUSTED_PROXIES", [])
for _proxy in DSAR_TRUSTED_PROXIES:
    try:
        ipaddress.ip_network(_proxy, strict=False)
    except ValueError as _exc:
        raise ImproperlyConfigured(
            f"DSAR_TRUSTED_PROXIES: {_proxy!r} is not an address or network ({_exc}). "
            "Fix: comma-separated addresses or CIDR networks, e.g. 172.28.0.10,10.0.0.0/8"
        ) from None
if DSAR_TRUSTED_PROXY_COUNT and not DSAR_TRUSTED_PROXIES:
    raise ImproperlyConfigured(
        "DSAR_TRUSTED_PROXY_COUNT is set but DSAR_TRUSTED_PROXIES is not: the app cannot tell "
        "its proxy from a client forging X-Forwarded-For. Fix: DSAR_TRUSTED_PROXIES=<the "
        "proxy's address or network>, e.g. 172.28.0.10 (docker-compose.yml's proxy)."
    )
# The audit trail is anchored outside the database (a signed checkpoint in storage) just after a
# change, at most once per this many seconds, and every minute by beat (docs/security.md).
DSAR_AUDIT_ANCHOR_SECONDS = env_int("DSAR_AUDIT_ANCHOR_SECONDS", 30, minimum=1)
# Work claimed but not finished after this long is presumed lost and re-queued by the sweeper.
DSAR_SWEEP_AFTER_SECONDS = env_int("DSAR_SWEEP_AFTER_SECONDS", 600, minimum=1)
DSAR_EMAIL_MAX_ATTEMPTS = env_int("DSAR_EMAIL_MAX_ATTEMPTS", 8, minimum=1)
# The data map: which stores hold personal data and what may be done with it (docs/data-map.md).
DSAR_DATA_MAP = env_str(
    "DSAR_DATA_MAP", str(BASE_DIR / "demo" / "data-map.yaml") if DEMO_MODE else ""
)
require(
    "DSAR_DATA_MAP",
    DSAR_DATA_MAP,
    "set DSAR_DATA_MAP to the path of your data map (docs/data-map.md).",
)
# Exports: a PDF table longer than this shows a summary and its first rows (all are attached).
DSAR_PDF_MAX_ROWS = env_int("DSAR_PDF_MAX_ROWS", 200, minimum=1)
# The submit, approve and release pages scan each store's gathered data for suggested
# third-party data nobody has decided on yet (``review/undecided.py``), while the page loads:
# a store holding more records than this is not scanned, and the page says so.
DSAR_SUGGEST_SCAN_MAX = env_int("DSAR_SUGGEST_SCAN_MAX", 5_000, minimum=0)
DSAR_PDF_PREVIEW_ROWS = env_int("DSAR_PDF_PREVIEW_ROWS", 25, minimum=1)
DSAR_DOWNLOAD_TTL_DAYS = env_int("DSAR_DOWNLOAD_TTL_DAYS", 7, minimum=1)
DSAR_DOWNLOAD_MAX = env_int("DSAR_DOWNLOAD_MAX", 5, minimum=1)
# The two-person rule: a response is submitted for approval by one member of staff and approved
# (and its files released) by another who did not prepare it. Single-person mode switches it off
# for a team of one; every staff page then says so.
DSAR_SINGLE_PERSON_MODE = env_bool("DSAR_SINGLE_PERSON_MODE", False)
# Article 19 notices to recipients with no API: remind every N days; overdue after M days.
DSAR_NOTICE_REMINDER_DAYS = env_int("DSAR_NOTICE_REMINDER_DAYS", 7, minimum=1)
DSAR_NOTICE_OVERDUE_DAYS = env_int("DSAR_NOTICE_OVERDUE_DAYS", 21, minimum=1)
DSAR_NOTICE_CONFIRM_TTL_DAYS = env_int("DSAR_NOTICE_CONFIRM_TTL_DAYS", 90, minimum=1)
DSAR_CONTROLLER_NAME = env_str("DSAR_CONTROLLER_NAME", "Smarct")
DSAR_PRIVACY_CONTACT = env_str("DSAR_PRIVACY_CONTACT", "info@smarct.com")

# Notifications to staff (``requests_app/core/alerts.py``). About a request nobody is assigned:
# "inbox" emails the team inbox (DSAR_TEAM_INBOX, by default the privacy contact); "staff"
# tells every active reviewer and approver, each as their own preference says.
DSAR_TEAM_INBOX = env_str("DSAR_TEAM_INBOX", DSAR_PRIVACY_CONTACT)
DSAR_NOTIFY_UNASSIGNED = env_str("DSAR_NOTIFY_UNASSIGNED", "inbox")
if DSAR_NOTIFY_UNASSIGNED not in {"inbox", "staff"}:
    raise ImproperlyConfigured(
        f"DSAR_NOTIFY_UNASSIGNED={DSAR_NOTIFY_UNASSIGNED!r} is not known. Fix: set it to inbox "
        "(the team inbox, DSAR_TEAM_INBOX) or staff (every reviewer and approver)."
    )
DSAR_NOTIFY_DUE_SOON_DAYS = env_int("DSAR_NOTIFY_DUE_SOON_DAYS", 7, minimum=1)
# An optional webhook (Slack, a ticket system) told of every notification, signed with HMAC-SHA256
# (docs/notifications.md). Off while DSAR_WEBHOOK_URL is empty.
DSAR_WEBHOOK_URL = env_str("DSAR_WEBHOOK_URL")
DSAR_WEBHOOK_SECRET = env_str("DSAR_WEBHOOK_SECRET")
if DSAR_WEBHOOK_URL and urlsplit(DSAR_WEBHOOK_URL).scheme not in {"http", "https"}:
    raise ImproperlyConfigured(
        f"DSAR_WEBHOOK_URL={DSAR_WEBHOOK_URL!r} is not an http(s) URL. "
        "Fix: e.g. DSAR_WEBHOOK_URL=https://hooks.example.com/dsar"
    )
if DSAR_WEBHOOK_URL and len(DSAR_WEBHOOK_SECRET) < 32:
    raise ImproperlyConfigured(
        "DSAR_WEBHOOK_URL is set but DSAR_WEBHOOK_SECRET is missing or shorter than 32 "
        "characters: the receiver could not tell our calls from forged ones. Fix: set "
        "DSAR_WEBHOOK_SECRET (or DSAR_WEBHOOK_SECRET_FILE), e.g. to: openssl rand -hex 32"
    )
DSAR_WEBHOOK_TIMEOUT_SECONDS = env_int("DSAR_WEBHOOK_TIMEOUT_SECONDS", 10, minimum=1)
DSAR_WEBHOOK_MAX_ATTEMPTS = env_int("DSAR_WEBHOOK_MAX_ATTEMPTS", 12, minimum=1)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "filters": {"redact": {"()": "smarct_dsar.logfilter.RedactPersonalData"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["redact"]}
    },
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # Django's loggers and runserver's request log through the redacting handler, not the
        # unfiltered ones Django's default logging gives them
        "django": {"handlers": ["console"], "level": "INFO", "propagate": False},
        "django.server": {"handlers": ["console"], "level": "INFO", "propagate": False},
        # WeasyPrint narrates every layout step at INFO; a worker's log is not the place.
        "weasyprint": {"level": "WARNING"},
        "fontTools": {"level": "WARNING"},
    },
}
