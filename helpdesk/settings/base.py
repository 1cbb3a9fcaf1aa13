"""All settings, read from the environment through one ``env`` object.

With nothing set, the helpdesk runs as a zero-setup demo: SQLite, the in-memory channel layer,
the local-memory cache and Celery tasks run in-process. Production differs by environment values
alone (see README, "Production").
"""

from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()

HELPDESK_ENV = env.str("HELPDESK_ENV", default="development")
if HELPDESK_ENV not in {"development", "production"}:
    raise ImproperlyConfigured(
        f"HELPDESK_ENV must be 'development' or 'production', not {HELPDESK_ENV!r}."
    )
IS_PRODUCTION = HELPDESK_ENV == "production"

DEV_SECRET_KEY = "dev-only-insecure-key-do-not-use-in-production"  # noqa: S105
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="")
if not SECRET_KEY:
    if IS_PRODUCTION:
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY is not set. In production (HELPDESK_ENV=production) the helpdesk "
            "refuses to start without a secret key: generate one with "
            "`python -c 'import secrets; print(secrets.token_urlsafe(50))'` and set it in the "
            "environment."
        )
    SECRET_KEY = DEV_SECRET_KEY

DEBUG = env.bool("DJANGO_DEBUG", default=not IS_PRODUCTION)
if IS_PRODUCTION and DEBUG:
    raise ImproperlyConfigured(
        "DJANGO_DEBUG is on while HELPDESK_ENV=production. Debug pages leak settings and data; "
        "unset DJANGO_DEBUG (it defaults to off in production)."
    )

ALLOWED_HOSTS = env.list(
    "DJANGO_ALLOWED_HOSTS",
    default=[] if IS_PRODUCTION else ["localhost", "127.0.0.1", "[::1]", "testserver"],
)
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

# --- Applications -------------------------------------------------------------------------

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "channels",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "helpdesk.accounts",
    "helpdesk.tenancy",
    "helpdesk.realtime",
    "helpdesk.ui",
    "tickets",
    "journeys",
    "empathy_metrics",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "helpdesk.errors.DatabaseUnavailableMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # Customers' pages in the language of Accept-Language (LANGUAGES below); staff pages in
    # LANGUAGE_CODE (helpdesk/i18n.py).
    "helpdesk.i18n.CustomerLocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "helpdesk.tenancy.middleware.TenantMiddleware",
    "helpdesk.accounts.middleware.TwoFactorRequiredMiddleware",
]

ROOT_URLCONF = "helpdesk.urls"
WSGI_APPLICATION = "helpdesk.wsgi.application"
ASGI_APPLICATION = "helpdesk.asgi.application"

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
                "helpdesk.tenancy.context_processors.tenancy",
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------------------

SQLITE_PATH = BASE_DIR / "db.sqlite3"
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{SQLITE_PATH}")}
_db = DATABASES["default"]
if _db["ENGINE"] == "django.db.backends.sqlite3":
    _db["OPTIONS"] = {
        "init_command": (
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=10000;"
        ),
        "transaction_mode": "IMMEDIATE",
    }
    _db["TEST"] = {"NAME": env.str("HELPDESK_SQLITE_TEST_NAME", default="") or None}
else:
    _db["ENGINE"] = "django.db.backends.postgresql"
    _db["CONN_MAX_AGE"] = env.int("HELPDESK_DB_CONN_MAX_AGE", default=60)
    _db["CONN_HEALTH_CHECKS"] = True
    _role = env.str("HELPDESK_DB_ASSUME_ROLE", default="")
    if _role:
        # Connect as the owner (for migrations) but run queries as the application role, which
        # owns no tables and does not bypass row-level security.
        _db.setdefault("OPTIONS", {})["assume_role"] = _role
IS_POSTGRES = _db["ENGINE"] == "django.db.backends.postgresql"


def _without_jit(config: dict) -> None:
    """PostgreSQL's JIT compiles the expressions of a statement whose estimated cost is high: 50 to
    200 ms per statement, more than the dashboards' and journeys' reads take without it (the
    journey breakdowns went from 184 to 32 ms, the voice panel from 2.4 to 1.8 s; see
    benchmarks/README.md, Journeys). Off for the application's connections unless
    HELPDESK_DB_JIT is set."""
    if env.bool("HELPDESK_DB_JIT", default=False):
        return
    options = config.setdefault("OPTIONS", {})
    options["options"] = f"{options.get('options', '')} -c jit=off".strip()


if IS_POSTGRES:
    _without_jit(_db)

# Optional read replica (a streaming replica of the primary) for dashboard reads: a "replica"
# alias that only replica_reads() uses (helpdesk/db_routing.py); writes and every other read
# stay on "default".
_replica_url = env.str("HELPDESK_REPLICA_DATABASE_URL", default="")
if _replica_url:
    _replica = env.db_url_config(_replica_url)
    _replica.update(
        ENGINE="django.db.backends.postgresql",
        CONN_MAX_AGE=_db.get("CONN_MAX_AGE", 0),
        CONN_HEALTH_CHECKS=True,
        TEST={"MIRROR": "default"},
    )
    if env.str("HELPDESK_DB_ASSUME_ROLE", default=""):
        _replica.setdefault("OPTIONS", {})["assume_role"] = env.str("HELPDESK_DB_ASSUME_ROLE")
    _without_jit(_replica)
    DATABASES["replica"] = _replica
DATABASE_ROUTERS = ["helpdesk.db_routing.ReplicaRouter"]

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: cache, channel layer, Celery -------------------------------------------------

REDIS_URL = env.str("REDIS_URL", default="")
HELPDESK_KEY_PREFIX = env.str("HELPDESK_KEY_PREFIX", default="helpdesk")

if REDIS_URL:
    CACHES = {
        "default": {
            # Serves as an empty cache while Redis is unreachable (helpdesk/cache.py).
            "BACKEND": "helpdesk.cache.ResilientRedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 5},
            "KEY_PREFIX": HELPDESK_KEY_PREFIX,
        }
    }
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            # redis-py's default 5 s socket timeout equals channels-redis's 5 s blocking pop: an
            # idle socket's consumer would die of "Timeout reading". Give the pop room.
            # redis-py 7+ caps a pool at 100 connections and raises past that; one ASGI process
            # holds hundreds of pages, and a hundred closing at once send at the same moment.
            "CONFIG": {
                "hosts": [
                    {
                        "address": REDIS_URL,
                        "socket_timeout": 30,
                        "max_connections": env.int("HELPDESK_CHANNEL_LAYER_CONNECTIONS", 2000),
                    }
                ],
                "prefix": f"{HELPDESK_KEY_PREFIX}:asgi",
            },
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = REDIS_URL or None
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_RESULT_EXPIRES = 3600
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600, "global_keyprefix": ""}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE = {
    "tickets-auto-close": {"task": "tickets.ticket_auto_close_fanout", "schedule": 3600.0},
    "tickets-sla-check": {
        "task": "tickets.ticket_sla_check_fanout",
        "schedule": 60.0,
        "options": {"expires": 55},
    },
    # Email intake: poll IMAP mailboxes; pick up inbound/outbound email whose task was lost.
    "tickets-mailbox-poll": {
        "task": "tickets.mailbox_poll_fanout",
        "schedule": 60.0,
        "options": {"expires": 55},
    },
    "tickets-email-sweep": {"task": "tickets.email_sweep_fanout", "schedule": 300.0},
    # Status page: customer update emails whose batch task was lost.
    "tickets-status-notify-sweep": {
        "task": "tickets.status_notify_sweep_fanout",
        "schedule": 300.0,
        "options": {"expires": 290},
    },
    # Message analysis: customer messages still pending after N minutes (task lost, broker down).
    "tickets-analysis-sweep": {
        "task": "tickets.message_analysis_sweep_fanout",
        "schedule": 60.0,
        "options": {"expires": 55},
    },
    # Journeys: re-enqueue position rebuilds whose task was lost (broker down, worker died).
    "journeys-rebuild-sweep": {
        "task": "journeys.journey_rebuild_sweep",
        "schedule": 600.0,
        "options": {"expires": 590},
    },
}
# Message analysis runs on its own queue (the worker in docker-compose consumes it).
HELPDESK_ANALYSIS_QUEUE = env.str("HELPDESK_ANALYSIS_QUEUE", default="analysis")
HELPDESK_ANALYSIS_SWEEP_AFTER_MINUTES = env.int("HELPDESK_ANALYSIS_SWEEP_AFTER_MINUTES", default=5)
CELERY_TASK_ROUTES = {
    "tickets.message_analyse": {"queue": HELPDESK_ANALYSIS_QUEUE},
    "tickets.messages_analyse_batch": {"queue": HELPDESK_ANALYSIS_QUEUE},
    "tickets.message_analysis_sweep": {"queue": HELPDESK_ANALYSIS_QUEUE},
}

# --- Auth ---------------------------------------------------------------------------------

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = ["django.contrib.auth.backends.ModelBackend"]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "landing"
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
# Optional TOTP two-factor sign-in for staff (django-otp; helpdesk/accounts/two_factor.py).
OTP_TOTP_ISSUER = env.str("HELPDESK_SITE_NAME", default="Helpdesk")
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- Internationalisation -----------------------------------------------------------------

LANGUAGE_CODE = "en"
# Languages a customer's page can be in (helpdesk.i18n reads Accept-Language there); catalogues
# in locale/ (docs/operations.md, "Translations").
LANGUAGES = [("en", "English"), ("de", "Deutsch")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env.str("DJANGO_TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

# --- Static and media ---------------------------------------------------------------------

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "media/"
MEDIA_ROOT = env.path("HELPDESK_MEDIA_ROOT", default=BASE_DIR / "media")
# In development WhiteNoise serves straight from the app and static/ folders (no collectstatic).
WHITENOISE_USE_FINDERS = not IS_PRODUCTION
WHITENOISE_AUTOREFRESH = not IS_PRODUCTION
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if IS_PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}

# --- Email --------------------------------------------------------------------------------

vars().update(env.email_url("DJANGO_EMAIL_URL", default="consolemail://"))
DEFAULT_FROM_EMAIL = env.str("DJANGO_DEFAULT_FROM_EMAIL", default="helpdesk@localhost")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- Security -----------------------------------------------------------------------------

# Sessions are read from the cache (Redis in production) and written through to the database:
# one query less on every signed-in request, and nobody is signed out when the cache is flushed.
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True  # pages send the token from the form or hx-headers, never the cookie
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = IS_PRODUCTION
CSRF_COOKIE_SECURE = IS_PRODUCTION
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=IS_PRODUCTION)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", default=False)
SECURE_HSTS_PRELOAD = env.bool("DJANGO_SECURE_HSTS_PRELOAD", default=False)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Content-Security-Policy (django-csp): scripts and styles from our own origin only, no inline
# scripts, event handlers or style attributes (templates carry data-* attributes that
# static/js/app.js applies), no framing. WebSockets are same-origin ('self' covers ws/wss).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

# --- REST API -----------------------------------------------------------------------------

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "helpdesk.tenancy.api.authentication.BearerTokenAuthentication",
        "helpdesk.tenancy.api.authentication.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "helpdesk.tenancy.api.pagination.CursorPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "helpdesk.tenancy.api.schema.AutoSchema",
    "EXCEPTION_HANDLER": "helpdesk.tenancy.api.errors.exception_handler",
    "DEFAULT_METADATA_CLASS": "helpdesk.tenancy.api.metadata.ApiMetadata",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}

# Rate limits of public machine endpoints, per tenant and API key (or caller): see
# helpdesk/tenancy/api/throttling.py. A batch of events is one request.
HELPDESK_API_RATES = {
    "events": env.str("HELPDESK_RATE_EVENTS", default="3000/minute"),
    "email_inbound": env.str("HELPDESK_RATE_EMAIL_INBOUND", default="600/minute"),
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Helpdesk API",
    "DESCRIPTION": (
        "Tenant-scoped REST API. Every tenant endpoint lives under /api/v1/t/{tenant}/. "
        "Authenticate with a session (browser), a personal token (`Authorization: Bearer ...`) "
        "or a tenant API key (`Authorization: Api-Key ...`)."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "TicketStatusEnum": "tickets.models.core.Status",
        "TicketPriorityEnum": "tickets.models.core.Priority",
        "TicketChannelEnum": "tickets.models.core.Channel",
    },
}

# --- Logging ------------------------------------------------------------------------------

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("HELPDESK_LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# --- Helpdesk -----------------------------------------------------------------------------

HELPDESK_SITE_NAME = env.str("HELPDESK_SITE_NAME", default="Helpdesk")
# Behind a proxy that sets X-Forwarded-For (the compose nginx does), audit logs and rate limits
# use its first address; never turn this on without such a proxy in front.
HELPDESK_TRUST_X_FORWARDED_FOR = env.bool("HELPDESK_TRUST_X_FORWARDED_FOR", default=False)
# Where people reach this helpdesk: links in emails (invitations, status pages) start with it.
HELPDESK_BASE_URL = env.str("HELPDESK_BASE_URL", default="http://127.0.0.1:8000")
HELPDESK_SERVE_STATIC_ASGI = env.bool("HELPDESK_SERVE_STATIC_ASGI", default=not IS_PRODUCTION)
# Customer retention is a rate over the customers active at the start of the period: with fewer
# than this many, one customer more or less swings it by tens of points (5 at the start and 200
# at the end reads 4000%), so the dashboard, the API and the exports show no rate, only counts.
HELPDESK_RETENTION_MIN_START_ACTIVE = env.int("HELPDESK_RETENTION_MIN_START_ACTIVE", default=20)

# --- Help centre, contact form, live chat ---------------------------------------------------

# Reverse proxies in front of the app that append to X-Forwarded-For (nginx in docker-compose):
# the client address for rate limits is read that many entries from the right.
HELPDESK_TRUSTED_PROXY_HOPS = env.int(
    "HELPDESK_TRUSTED_PROXY_HOPS", default=1 if IS_PRODUCTION else 0
)
# Contact form: at most this many tickets per client address and tenant within the window.
HELPDESK_WEBFORM_MAX_PER_IP = env.int("HELPDESK_WEBFORM_MAX_PER_IP", default=5)
HELPDESK_WEBFORM_WINDOW_SECONDS = env.int("HELPDESK_WEBFORM_WINDOW_SECONDS", default=600)
# Live chat: new chats per client address and tenant per hour, and messages per connection.
HELPDESK_CHAT_NEW_PER_IP = env.int("HELPDESK_CHAT_NEW_PER_IP", default=10)
HELPDESK_CHAT_FRAMES_PER_10S = env.int("HELPDESK_CHAT_FRAMES_PER_10S", default=40)

# Email in and out (tickets/email/, tickets/services/email_in.py and email_out.py).
HELPDESK_EMAIL_MAX_BYTES = env.int("HELPDESK_EMAIL_MAX_BYTES", default=25 * 1024 * 1024)
HELPDESK_EMAIL_ATTACHMENT_MAX_BYTES = env.int(
    "HELPDESK_EMAIL_ATTACHMENT_MAX_BYTES", default=25 * 1024 * 1024
)
HELPDESK_EMAIL_MAX_ATTACHMENTS = env.int("HELPDESK_EMAIL_MAX_ATTACHMENTS", default=50)
# Per sender and tenant: at most this many messages per window become tickets or replies.
HELPDESK_EMAIL_RATE_LIMIT = env.int("HELPDESK_EMAIL_RATE_LIMIT", default=20)
HELPDESK_EMAIL_RATE_WINDOW = env.int("HELPDESK_EMAIL_RATE_WINDOW", default=600)
# The domain of the Message-IDs we generate.
HELPDESK_EMAIL_DOMAIN = env.str(
    "HELPDESK_EMAIL_DOMAIN", default=DEFAULT_FROM_EMAIL.rpartition("@")[2] or "localhost"
)
HELPDESK_EMAIL_REPLY_LANGUAGES = env.list(
    "HELPDESK_EMAIL_REPLY_LANGUAGES", default=["en", "de", "fr", "es", "nl", "it"]
)
HELPDESK_IMAP_TIMEOUT = env.int("HELPDESK_IMAP_TIMEOUT", default=30)
HELPDESK_IMAP_BATCH = env.int("HELPDESK_IMAP_BATCH", default=100)
HELPDESK_IMAP_CA_FILE = env.str("HELPDESK_IMAP_CA_FILE", default="")  # adds a private CA
