"""Afterwin settings: one module, configured from the environment.

Without any environment the project runs embedded on a laptop: SQLite and Celery's
filesystem transport under ``var/``. ``DATABASE_URL`` and ``CELERY_BROKER_URL`` switch it
to PostgreSQL and Redis; ``AFTERWIN_PRODUCTION=1`` turns on the production hardening and
makes the secret key and allowed hosts mandatory.
"""

import datetime as dt
import re
from datetime import timedelta
from pathlib import Path

import environ
from celery.schedules import crontab
from csp import constants as csp
from django.core.exceptions import ImproperlyConfigured

from config import broker

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)


def _env_bool(name: str, default: bool) -> bool:
    raw = env.str(name, default="")
    if raw == "":
        return default
    lowered = raw.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name}={raw!r} is not a boolean; use 1/0, true/false or yes/no.")


def _env_int(name: str, default: int, minimum: int = 0) -> int:
    raw = env.str(name, default="")
    if raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not a whole number.") from None
    if value < minimum:
        raise ImproperlyConfigured(f"{name}={value} must be at least {minimum}.")
    return value


def _env_rate(name: str, default: str) -> str:
    """A request rate as DRF and django-ratelimit write it: ``60/min``, ``5/s``, ``1000/day``."""
    value = env.str(name, default="") or default
    if not re.fullmatch(r"[1-9]\d*/(s|sec|second|m|min|minute|h|hour|d|day)", value):
        raise ImproperlyConfigured(
            f"{name}={value!r} is not a rate; write it as a number of requests per "
            "second, minute, hour or day, e.g. 60/min."
        )
    return value


PRODUCTION = _env_bool("AFTERWIN_PRODUCTION", False)
DEBUG = _env_bool("DJANGO_DEBUG", not PRODUCTION)
if PRODUCTION and DEBUG:
    raise ImproperlyConfigured("DJANGO_DEBUG must be off when AFTERWIN_PRODUCTION=1.")

# Published in this file, so anyone can sign sessions and links with it.
DEVELOPMENT_SECRET_KEY = "insecure-development-key-not-for-production-use-000000"


def _production_secret_key_problem(key: str) -> str | None:
    """Why ``key`` must not sign production sessions and links, or None if it may."""
    if not key:
        return "is not set"
    if key == DEVELOPMENT_SECRET_KEY:
        return "is the development key published in config/settings.py"
    # Django's startproject keys are "django-insecure-…"; ours and copies say "insecure-".
    if key.startswith(("insecure-", "django-insecure-")):
        return "starts with 'insecure-', which marks a key not meant for production"
    if len(key) < 50:
        return f"is {len(key)} characters long; it needs at least 50"
    if len(set(key)) < 5:
        return "repeats too few characters to be random"
    return None


if PRODUCTION:
    SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="")
    if problem := _production_secret_key_problem(SECRET_KEY):
        raise ImproperlyConfigured(
            f"DJANGO_SECRET_KEY {problem}. With AFTERWIN_PRODUCTION=1 it must be a random "
            "string of at least 50 characters, e.g. from "
            "python -c 'import secrets; print(secrets.token_urlsafe(64))'."
        )
    ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=[])
    if not ALLOWED_HOSTS:
        raise ImproperlyConfigured(
            "DJANGO_ALLOWED_HOSTS must list the host names served when AFTERWIN_PRODUCTION=1."
        )
else:
    SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="") or DEVELOPMENT_SECRET_KEY
    ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])

CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])
# Reverse proxies in front of the web process that append the client's address to
# X-Forwarded-For; per-address limits count that address (apps/core/client_ip.py).
TRUSTED_PROXY_COUNT = _env_int("TRUSTED_PROXY_COUNT", 0)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.postgres",
    "rest_framework",
    "knox",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "csp",
    "django_ratelimit",
    "axes",
    "apps.core",
    "apps.apitokens",
    "apps.customers",
    "apps.deals",
    "apps.playbooks",
    "apps.engine",
    "apps.queues",
    "apps.notifications",
    "apps.surveys",
    "apps.growth",
    "apps.health",
    "apps.webhooks",
    "apps.workspace",
    "apps.insights",
    "apps.integrations",
    "apps.demo",
    "apps.benchmarks",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "apps.core.middleware.ApiRequestSizeMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "django_ratelimit.middleware.RatelimitMiddleware",
    # Last: it turns a login refused for too many failures into the lockout response.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

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
            ],
            "builtins": ["apps.core.templatetags.company"],
        },
    },
]

# Database ------------------------------------------------------------------------------
# Embedded default: SQLite under var/. IMMEDIATE transactions make concurrent writers
# (web, worker, beat) wait on the busy timeout instead of failing with "database is locked".
VAR_DIR.mkdir(exist_ok=True)
DATABASE_URL = env.str("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'afterwin.sqlite3'}")
try:
    DATABASES = {"default": env.db_url_config(DATABASE_URL)}
except Exception as exc:  # django-environ raises several types for a bad URL
    raise ImproperlyConfigured(f"DATABASE_URL={DATABASE_URL!r} is not a valid URL: {exc}") from exc
_db = DATABASES["default"]
if _db["ENGINE"] == "django.db.backends.sqlite3":
    _db["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    # A file, not memory, so that worker processes started by integration tests share it.
    _db.setdefault("TEST", {})["NAME"] = env.str(
        "SQLITE_TEST_NAME", default=str(VAR_DIR / "test_afterwin.sqlite3")
    )
elif _db["ENGINE"] == "django.db.backends.postgresql":
    _db["CONN_MAX_AGE"] = _env_int("DATABASE_CONN_MAX_AGE", 60)
    _db["CONN_HEALTH_CHECKS"] = True
    # Foreign-key checks run a query the server plans once per connection and keeps. A
    # worker whose connection first checked a key while the work tables were nearly
    # empty (a new install, a first bulk enrollment) kept a sequential scan for it, and
    # each check then read the whole table: the engine slowed as its tables grew.
    # Planning each check anew (a few microseconds) follows the table's real size. Django
    # prepares no statements of its own, so only such server-side queries are affected.
    _db.setdefault("OPTIONS", {})["options"] = " ".join(
        [_db.get("OPTIONS", {}).get("options", ""), "-c plan_cache_mode=force_custom_plan"]
    ).strip()
else:
    raise ImproperlyConfigured(
        f"DATABASE_URL must point to PostgreSQL (postgres://) or SQLite (sqlite:///), "
        f"not {_db['ENGINE']}."
    )
DATABASE_IS_POSTGRES = _db["ENGINE"] == "django.db.backends.postgresql"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# django-axes' backend first: it refuses authenticate() for a locked-out username and
# address before any password is checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "apps.core.login_throttle.AddressFailureCap",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
# One date and time format everywhere: "Tue 1 Dec 2026, 14:05" (config/formats/en/formats.py).
FORMAT_MODULE_PATH = ["config.formats"]

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "var" / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}

# Email: console in development, SMTP from EMAIL_URL in production.
EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
EMAIL_BACKEND = EMAIL_CONFIG["EMAIL_BACKEND"]
EMAIL_HOST = EMAIL_CONFIG.get("EMAIL_HOST", "localhost")
EMAIL_PORT = EMAIL_CONFIG.get("EMAIL_PORT", 25)
EMAIL_HOST_USER = EMAIL_CONFIG.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = EMAIL_CONFIG.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = EMAIL_CONFIG.get("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = EMAIL_CONFIG.get("EMAIL_USE_SSL", False)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Afterwin <noreply@afterwin.local>")

# Security ------------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
if PRODUCTION:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = _env_bool("DJANGO_SECURE_SSL_REDIRECT", True)
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = _env_int("DJANGO_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True

# Content Security Policy (django-csp): scripts, styles, fonts and everything else from
# our own origin only; no inline script or style (none of our pages has one), no
# framing, no plugins, forms post only to us. Images may also be data: URLs (Swagger UI's
# and the admin's icons).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [csp.SELF],
        "script-src": [csp.SELF],
        "style-src": [csp.SELF],
        "img-src": [csp.SELF, "data:"],
        "frame-ancestors": [csp.NONE],
        "form-action": [csp.SELF],
        "base-uri": [csp.NONE],
        "object-src": [csp.NONE],
    }
}

# Failed logins (django-axes): every login form and API login view goes through
# authenticate(), which axes counts and refuses. After LOGIN_FAILURE_LIMIT failures for one
# username from one address, that pair is locked out for LOGIN_COOLOFF_MINUTES (a 429 with
# Retry-After). The pair, not the username alone: a username alone would let anyone lock a
# colleague out by typing their name, and an address alone would lock out a whole office
# behind one NAT address. Every attempt during a lockout starts the cool-off again.
# One address trying many usernames is capped too, much higher (LOGIN_ADDRESS_FAILURE_LIMIT
# failures across all usernames within the cool-off), so guessing across a user list
# stops while an office's typos do not.
AXES_FAILURE_LIMIT = _env_int("LOGIN_FAILURE_LIMIT", 10, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=_env_int("LOGIN_COOLOFF_MINUTES", 15, minimum=1))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
LOGIN_ADDRESS_FAILURE_LIMIT = _env_int("LOGIN_ADDRESS_FAILURE_LIMIT", 50, minimum=1)
# The log of logins axes keeps (who, from where, when) is kept this long, then pruned.
LOGIN_RECORDS_DAYS = _env_int("LOGIN_RECORDS_DAYS", 90, minimum=1)
AXES_RESET_ON_SUCCESS = True
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = True
AXES_LOCKOUT_CALLABLE = "apps.core.login_throttle.lockout_response"
AXES_VERBOSE = False
AXES_CLIENT_IP_CALLABLE = "apps.core.client_ip.client_ip"

# REST framework ------------------------------------------------------------------------
REST_FRAMEWORK = {
    # Token first: an anonymous request then gets 401 with a WWW-Authenticate header.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "apps.apitokens.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["apps.core.permissions.ModelPermissions"],
    "DEFAULT_FILTER_BACKENDS": [
        # django-filter and DRF's search, refusing values that mean nothing (a 400
        # naming the parameter): ?unread=maybe, a NUL in ?search=.
        "apps.core.filters.DjangoFilterBackend",
        "rest_framework.filters.OrderingFilter",
        "apps.core.filters.StrictSearchFilter",
    ],
    # Per address without a login, per user with one: 429 with Retry-After past the rate.
    "DEFAULT_THROTTLE_CLASSES": [
        "apps.core.throttles.AnonRateThrottle",
        "apps.core.throttles.UserRateThrottle",
    ],
    "DEFAULT_PAGINATION_CLASS": "apps.core.pagination.Pagination",
    "PAGE_SIZE": 25,
    "DEFAULT_SCHEMA_CLASS": "apps.core.api_schema.AutoSchema",
    "EXCEPTION_HANDLER": "apps.core.api_errors.exception_handler",
    # DRF's JSON parser, refusing bodies nested too deeply (a 400, not a RecursionError).
    "DEFAULT_PARSER_CLASSES": [
        "apps.core.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
}
# API tokens (django-rest-knox): only a digest of each key is stored; a token ends
# API_TOKEN_TTL_DAYS after it is made. The header keeps DRF's form, "Token <key>".
API_TOKEN_TTL_DAYS = _env_int("API_TOKEN_TTL_DAYS", 90, minimum=1)
KNOX_TOKEN_MODEL = "apitokens.ApiToken"
REST_KNOX = {
    "TOKEN_TTL": dt.timedelta(days=API_TOKEN_TTL_DAYS),
    "AUTH_HEADER_PREFIX": "Token",
    "AUTO_REFRESH": False,
}
API_THROTTLE_ANON_RATE = _env_rate("API_THROTTLE_ANON_RATE", "60/min")
API_THROTTLE_USER_RATE = _env_rate("API_THROTTLE_USER_RATE", "1200/min")
SPECTACULAR_SETTINGS = {
    "TITLE": "Afterwin API",
    "DESCRIPTION": "Deals, accounts, playbooks and the customer-success work they start.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "DealKindEnum": "apps.deals.models.Deal.Kind",
        "SurveyKindEnum": "apps.surveys.models.Kind",
        "DealSourceEnum": "apps.deals.models.Deal.Source",
        "ChangeSourceEnum": "apps.deals.models.StageChange.Source",
        "RewardStatusEnum": "apps.growth.models.Reward.Status",
        "TaskStatusEnum": "apps.queues.models.Task.Status",
        "MoveAddedStepsEnum": "apps.engine.models.EnrollmentMove.AddedSteps",
        "MoveRetimedStepsEnum": "apps.engine.models.EnrollmentMove.RetimedSteps",
        "StepChangeEnum": "apps.engine.moves.plan.CHANGE_LABELS.items",
    },
}

# Celery --------------------------------------------------------------------------------
# Embedded default: the filesystem transport under var/celery, in our safe form
# (config/broker.py). One folder serves as both "in" and "out", which is how a single
# machine shares a queue between processes; the channel creates the folders.
CELERY_FS_DIR = VAR_DIR / "celery"
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://localhost//")
# Set for filesystem:// only: kombu takes an explicit transport over the URL's scheme.
CELERY_BROKER_TRANSPORT = broker.transport_for(CELERY_BROKER_URL)
if CELERY_BROKER_URL.startswith("filesystem://"):
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        **broker.folders(CELERY_FS_DIR),
        "store_processed": False,
        # The folder is polled; the default (1 s) would cap a worker at one message a second.
        "polling_interval": 0.05,
    }
    # Remote control (broadcast) needs fanout, which the filesystem transport lacks.
    CELERY_WORKER_ENABLE_REMOTE_CONTROL = False
elif CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    # Visibility timeout must outlast the longest task; tasks are short (seconds).
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": 3600,
        "socket_connect_timeout": 2,
        "socket_timeout": 5,
    }
elif CELERY_BROKER_URL != "memory://":  # memory:// is in-process only: tests, profiling
    raise ImproperlyConfigured(
        f"CELERY_BROKER_URL must be redis://… or filesystem://, not {CELERY_BROKER_URL!r}."
    )
CELERY_BROKER_IS_REDIS = CELERY_BROKER_URL.startswith(("redis://", "rediss://"))
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = 60
CELERY_TASK_TIME_LIMIT = 90
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_ROUTES = {
    "core.*": {"queue": "engine"},
    "engine.*": {"queue": "engine"},
    "notifications.deliver_*": {"queue": "email"},
}
# A message that cannot be published (broker down) must not hang the web request that
# committed it: the outbox sweep delivers it later.
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 2,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.5,
}
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
ENGINE_DISPATCH_SECONDS = _env_int("ENGINE_DISPATCH_SECONDS", 5, minimum=1)
CELERY_BEAT_SCHEDULE = {
    "drain": {"task": "core.drain", "schedule": float(ENGINE_DISPATCH_SECONDS)},
    "queues-check-slas": {"task": "queues.check_slas", "schedule": 60.0},
    "email-deliver-due": {"task": "notifications.deliver_due_emails", "schedule": 30.0},
    "task-reminders": {"task": "notifications.send_task_reminders", "schedule": 300.0},
    "daily-digests": {"task": "notifications.send_digests", "schedule": 300.0},
    "survey-reminders": {"task": "surveys.send_reminders", "schedule": 600.0},
    "api-tokens-delete-expired": {"task": "apitokens.delete_expired", "schedule": 3600.0},
    "login-records-prune": {"task": "core.prune_login_records", "schedule": 3600.0},
    # Every account's health and today's snapshot, at 02:30 UTC (run twice: same rows).
    "health-nightly": {"task": "health.recompute_all", "schedule": crontab(hour=2, minute=30)},
    "insights-count-funnel": {"task": "insights.count_funnel", "schedule": 600.0},
    "integrations-sweep": {"task": "integrations.sweep", "schedule": 60.0},
    "webhooks-deliver-due": {"task": "webhooks.deliver_due", "schedule": 10.0},
}

# Afterwin ------------------------------------------------------------------------------
# CRM integrations: signed requests older than this are refused (HubSpot's five minutes);
# reading a record from a CRM's API times out after CRM_FETCH_TIMEOUT_SECONDS and is tried
# CRM_FETCH_ATTEMPTS times with a backoff starting at CRM_FETCH_BACKOFF_MS; an event that
# keeps failing is retried by the sweep up to CRM_EVENT_MAX_ATTEMPTS times.
CRM_SIGNATURE_MAX_AGE_SECONDS = _env_int("CRM_SIGNATURE_MAX_AGE_SECONDS", 300, minimum=1)
CRM_FETCH_TIMEOUT_SECONDS = _env_int("CRM_FETCH_TIMEOUT_SECONDS", 10, minimum=1)
CRM_FETCH_ATTEMPTS = _env_int("CRM_FETCH_ATTEMPTS", 4, minimum=1)
CRM_FETCH_BACKOFF_MS = _env_int("CRM_FETCH_BACKOFF_MS", 500, minimum=1)
CRM_EVENT_MAX_ATTEMPTS = _env_int("CRM_EVENT_MAX_ATTEMPTS", 8, minimum=1)
# Emails younger than this are left to their on-commit delivery message before the
# delivery sweep takes them.
OUTBOX_SWEEP_GRACE_SECONDS = _env_int("OUTBOX_SWEEP_GRACE_SECONDS", 10)
ENGINE_MAX_ATTEMPTS = _env_int("ENGINE_MAX_ATTEMPTS", 5, minimum=1)
# Batched execution: a batch starts at ENGINE_BATCH_SIZE step runs and adapts between 10
# and ENGINE_BATCH_MAX to keep a batch's lock time near ENGINE_BATCH_TARGET_MS. A drain
# stops after ENGINE_DRAIN_SECONDS (below the tasks' soft time limit); the next wake-up or
# beat tick goes on.
ENGINE_BATCH_SIZE = _env_int("ENGINE_BATCH_SIZE", 100, minimum=1)
ENGINE_BATCH_MAX = _env_int("ENGINE_BATCH_MAX", 500, minimum=1)
ENGINE_BATCH_TARGET_MS = _env_int("ENGINE_BATCH_TARGET_MS", 250, minimum=10)
ENGINE_DRAIN_SECONDS = _env_int("ENGINE_DRAIN_SECONDS", 40, minimum=1)
# Celery closes the database connection around every task unless told to reuse it; a
# worker then opens a PostgreSQL session per message. Reused connections still pass
# CONN_HEALTH_CHECKS.
CELERY_DB_REUSE_MAX = _env_int("CELERY_DB_REUSE_MAX", 1000, minimum=0)

# Absolute links in emails (task links, digests).
SITE_URL = env.str("AFTERWIN_SITE_URL", default="http://127.0.0.1:8000").rstrip("/")
if not SITE_URL.startswith(("http://", "https://")):
    raise ImproperlyConfigured(
        f"AFTERWIN_SITE_URL={SITE_URL!r} must start with http:// or https://."
    )
# The company that sells and looks after its customers with Afterwin: customers read its
# name (emails to contacts, their From name, the public survey, referral and unsubscribe
# pages), never "Afterwin".
COMPANY_NAME = env.str("AFTERWIN_COMPANY_NAME", default="Northwind Analytics").strip()
if not COMPANY_NAME or len(COMPANY_NAME) > 100:
    raise ImproperlyConfigured(
        f"AFTERWIN_COMPANY_NAME={COMPANY_NAME!r} must be a name of 1 to 100 characters."
    )
# Due-soon reminders: minutes before the due time; empty means at the start of the
# assignee's working day.
_lead = env.str("NOTIFICATIONS_DUE_SOON_LEAD_MINUTES", default="")
NOTIFICATIONS_DUE_SOON_LEAD_MINUTES = (
    _env_int("NOTIFICATIONS_DUE_SOON_LEAD_MINUTES", 0, minimum=1) if _lead else None
)

LOG_LEVEL = env.str("LOG_LEVEL", default="INFO").upper()
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
    "loggers": {
        "apps": {"level": LOG_LEVEL},
        "celery": {"level": "INFO"},
        "django.request": {"level": "ERROR"},
    },
}

# Caching: rate-limit counters on public pages, shared by every web process: in Redis
# (CACHE_URL, or the broker's Redis), else in a database table (``createcachetable``).
# Failed logins are counted in the database by django-axes, not here.
_cache_url = env.str("CACHE_URL", default="") or (
    CELERY_BROKER_URL if CELERY_BROKER_IS_REDIS else ""
)
CACHES = {
    "default": (
        {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": _cache_url,
            "KEY_PREFIX": "afterwin",
        }
        if _cache_url
        else {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "afterwin_cache",
        }
    ),
    # The API's request counters (DRF throttles), touched on every API request: in Redis,
    # else in each web process's memory (the database cache would write a row per request,
    # and SQLite would serialise them). Without Redis every process counts on its own, so
    # a client may get up to WEB_CONCURRENCY times the rate: a limit for abuse, not a quota.
    "throttles": (
        {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": _cache_url,
            "KEY_PREFIX": "afterwin-throttle",
        }
        if _cache_url
        else {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "afterwin-throttles",
        }
    ),
}
# django-ratelimit lists Django's own Redis cache as "not officially supported" (W001),
# though its increment is atomic. It refuses the database cache (E003) for want of an
# atomic increment: that cache is shared by every process but counts read-then-write,
# so two hits at the same instant may count once, a limit a little soft, on the embedded
# default only.
SILENCED_SYSTEM_CHECKS = ["django_ratelimit.W001"] + (
    [] if _cache_url else ["django_ratelimit.E003"]
)
# Public pages (survey answers, referrals, unsubscribe): django-ratelimit counts per IP and token.
RATELIMIT_USE_CACHE = "default"
RATELIMIT_IP_META_KEY = "apps.core.client_ip.client_ip"
RATELIMIT_VIEW = "apps.core.views.rate_limited"
PUBLIC_POST_RATE_PER_IP = env.str("PUBLIC_POST_RATE_PER_IP", default="30/m")
PUBLIC_POST_RATE_PER_TOKEN = env.str("PUBLIC_POST_RATE_PER_TOKEN", default="5/m")
# CRM deliveries refused (bad signature, token or password; a malformed body) per address
# and CRM: past this, the address is refused at that CRM's URL with 429 until the window
# ends. Genuine deliveries never count.
INBOUND_REJECTION_RATE_PER_IP = env.str("INBOUND_REJECTION_RATE_PER_IP", default="20/m")
# Usage signals: a product's utilisation at or above this (unless the product has its own
# threshold in admin) is an expansion signal.
GROWTH_USAGE_THRESHOLD_PERCENT = _env_int("GROWTH_USAGE_THRESHOLD_PERCENT", 80, minimum=1)
# Outbound webhooks: each POST waits WEBHOOK_TIMEOUT_SECONDS at most for the connection
# and for each read; a failed delivery is retried after WEBHOOK_RETRY_FIRST_SECONDS,
# doubling up to WEBHOOK_RETRY_CAP_SECONDS, WEBHOOK_MAX_ATTEMPTS times in all; a
# subscription whose last WEBHOOK_DISABLE_AFTER_FAILURES attempts all failed is disabled
# and the admins are told. Private and loopback addresses are refused unless
# WEBHOOK_ALLOW_PRIVATE_DESTINATIONS is on (a receiver on the same network); link-local
# ones (a cloud's metadata service) always are.
WEBHOOK_TIMEOUT_SECONDS = _env_int("WEBHOOK_TIMEOUT_SECONDS", 10, minimum=1)
WEBHOOK_RETRY_FIRST_SECONDS = _env_int("WEBHOOK_RETRY_FIRST_SECONDS", 30, minimum=1)
WEBHOOK_RETRY_CAP_SECONDS = _env_int("WEBHOOK_RETRY_CAP_SECONDS", 6 * 3600, minimum=1)
WEBHOOK_MAX_ATTEMPTS = _env_int("WEBHOOK_MAX_ATTEMPTS", 10, minimum=1)
WEBHOOK_DISABLE_AFTER_FAILURES = _env_int("WEBHOOK_DISABLE_AFTER_FAILURES", 20, minimum=1)
WEBHOOK_ALLOW_PRIVATE_DESTINATIONS = _env_bool("WEBHOOK_ALLOW_PRIVATE_DESTINATIONS", False)
# Each process reads which event types enabled subscriptions want at most this often: a
# subscription made in another process hears events from at most this many seconds on.
WEBHOOK_LISTENERS_REFRESH_SECONDS = _env_int("WEBHOOK_LISTENERS_REFRESH_SECONDS", 5, minimum=1)
# Referrals: the queue that gets "thank the referrer" tasks when a referred deal is won.
GROWTH_REFERRAL_QUEUE = env.str("GROWTH_REFERRAL_QUEUE", default="referrals")
