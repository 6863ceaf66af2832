"""Settings, all from the environment (django-environ).

With nothing set, the gateway runs embedded: SQLite, local-memory cache, eager Celery,
in-memory channel layer. DATABASE_URL, REDIS_URL and CELERY_BROKER_URL switch each part to
its production counterpart. With DEBUG off the process refuses the insecure defaults.
"""

import ipaddress
import os
from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

from gateway_project.secret_keys import secret_key_problem

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# A .env beside manage.py (make run writes one) fills in what the environment leaves unset;
# GATEWAY_ENV_FILE names another file, or "" for none.
ENV_FILE = os.environ.get("GATEWAY_ENV_FILE", str(BASE_DIR / ".env"))
if ENV_FILE:
    environ.Env.read_env(ENV_FILE, overwrite=False)
# make run keeps the demo client's API key here (0600; the database has only its hash), so
# every start prints the same working key. "" keeps none: each start makes and shows a new one.
GATEWAY_DEMO_KEY_FILE = env.str("GATEWAY_DEMO_KEY_FILE", default=str(BASE_DIR / ".demo-key"))

INSECURE_SECRET_KEY = "insecure-embedded-default-secret-key-change-me"  # noqa: S105
# A valid Fernet key that is public: fine for a laptop demo, refused in production.
INSECURE_FIELD_ENCRYPTION_KEY = "pJq0HgZ0qDq6Yh2bRmR8t1a9Jm3O0t3rYd4b1m2Q6xE="

DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env.str("SECRET_KEY", default=INSECURE_SECRET_KEY)
SECRET_KEY_FALLBACKS = env.list("SECRET_KEY_FALLBACKS", default=[])
# Newest key first; older keys stay readable so stored secrets survive a rotation.
FIELD_ENCRYPTION_KEYS = env.list("FIELD_ENCRYPTION_KEY", default=[INSECURE_FIELD_ENCRYPTION_KEY])
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
INTERNAL_GATEWAY_KEY = env.str("INTERNAL_GATEWAY_KEY", default="")

# HTTPS. Production runs behind a TLS-terminating proxy (README, "Production"); every default
# below is the safe one with DEBUG off, and the embedded run (DEBUG on) keeps plain HTTP.
# SECURE_PROXY_SSL_HEADER names the header the proxy sets to "https" (X-Forwarded-Proto);
# unset, no header is trusted (a client could forge it when nothing strips it).
if _proxy_ssl_header := env.str("SECURE_PROXY_SSL_HEADER", default=""):
    SECURE_PROXY_SSL_HEADER = ("HTTP_" + _proxy_ssl_header.upper().replace("-", "_"), "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
# Load balancers and scrapers probe these over plain HTTP inside the network.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=not DEBUG)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=not DEBUG)
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)

if not DEBUG:
    if SECRET_KEY == INSECURE_SECRET_KEY:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    for _name, _key in [("SECRET_KEY", SECRET_KEY)] + [
        ("SECRET_KEY_FALLBACKS", fallback) for fallback in SECRET_KEY_FALLBACKS
    ]:
        if _problem := secret_key_problem(_name, _key):
            raise ImproperlyConfigured(_problem)
    if INSECURE_FIELD_ENCRYPTION_KEY in FIELD_ENCRYPTION_KEYS:
        raise ImproperlyConfigured("FIELD_ENCRYPTION_KEY must be set when DEBUG is off.")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "axes",  # admin login throttling
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework_api_key",
    "knox",  # staff tokens for the ledger API: stored as digests, with an expiry
    "simple_history",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "apps.core",
    "apps.catalog",
    "apps.accounts",
    "apps.billing",
    "apps.ledger",
    "apps.routing",
    "apps.gateway",
    "apps.realtime",
    "apps.integrations.currency",
    "apps.messaging",
    "apps.integrations.email",
    "apps.integrations.sms",
    "apps.integrations.domains",
    "apps.integrations.tax",
    "apps.integrations.docs",
    "apps.declarative",  # gateway_apply / gateway_dump / gateway_demo (the YAML configuration)
    "apps.monitoring",  # GET /metrics and the admin's control room
]

MIDDLEWARE = [
    "apps.core.middleware.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",  # who made each audited change
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",  # last: turns a locked-out login into its 429 page
]

ROOT_URLCONF = "gateway_project.urls"
ASGI_APPLICATION = "gateway_project.asgi.application"

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
        },
    },
]

# --- Database -------------------------------------------------------------------------------
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Django's own psycopg pool, not persistent per-thread connections: async views run
    # their ORM work in per-request threads, and CONN_MAX_AGE would pin one connection to
    # every thread until PostgreSQL runs out.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": env.int("DB_POOL_MIN_SIZE", default=2),
        "max_size": env.int("DB_POOL_MAX_SIZE", default=20),
        # How long a request waits for a connection: also how soon it answers 503 while the
        # database is down (docs/reliability.md), so well inside the shortest deadline (5 s).
        "timeout": env.float("DB_POOL_TIMEOUT_S", default=2.0),
    }
    # Django then has its pool check each connection (ConnectionPool.check_connection) before
    # handing it out: one the server closed (a restart) is replaced, not used and failed on.
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
ATOMIC_REQUESTS = False  # a request must never hold a transaction while a provider is awaited
# A call's credit hold and settle go over a psycopg async pool per process and event loop
# (apps.core.asyncdb), not through Django's connection on a thread. PostgreSQL only.
GATEWAY_DB_ASYNC = env.bool("DB_ASYNC", default=True)
GATEWAY_DB_ASYNC_POOL_SIZE = env.int("DB_ASYNC_POOL_SIZE", default=8)
GATEWAY_DB_ASYNC_POOL_TIMEOUT_S = env.float("DB_ASYNC_POOL_TIMEOUT_S", default=2.0)
# Over that pool, the holds and settles of calls arriving at the same moment share one
# statement and one commit (apps.core.group_commit); false sends each call's on its own.
GATEWAY_DB_GROUP_COMMIT = env.bool("DB_GROUP_COMMIT", default=True)
# Executions of a statement on a connection before it is prepared server-side; empty: never
# (a PgBouncer older than 1.21 in transaction mode cannot keep prepared statements).
_prepare_threshold = env.str("DB_PREPARE_THRESHOLD", default="5")
GATEWAY_DB_PREPARE_THRESHOLD = int(_prepare_threshold) if _prepare_threshold else None
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache and shared state -----------------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "gw",
            "OPTIONS": {"CLIENT_CLASS": "django_redis.client.DefaultClient"},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Celery and Channels --------------------------------------------------------------------
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="")
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_BROKER_URL = CELERY_BROKER_URL or "memory://"
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
# The hard limit also bounds a background call's run: a run whose worker died is taken over
# once this plus GATEWAY_ASYNC_LEASE_MARGIN_S has passed since it started.
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=120)
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=100)
# Workers log through LOGGING above, whose handler masks credentials (docs/security.md); by
# default Celery would replace the root logger's handlers with its own, unmasked.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# Active health checks: every enabled provider's cheap probe feeds its circuit breakers.
GATEWAY_HEALTH_CHECK_INTERVAL_S = env.float("GATEWAY_HEALTH_CHECK_INTERVAL_S", default=60.0)
# A background call still pending this long after its run was due is sent to the broker again.
GATEWAY_ASYNC_STALE_AFTER_S = env.float("GATEWAY_ASYNC_STALE_AFTER_S", default=120.0)
GATEWAY_ASYNC_REDISPATCH_INTERVAL_S = env.float("GATEWAY_ASYNC_REDISPATCH_INTERVAL_S", default=60.0)
# A credit hold older than this belongs to a process that died mid-call: Celery beat releases
# it every GATEWAY_DANGLING_HOLD_RELEASE_INTERVAL_S and records its call as interrupted and
# unbilled. Keep it above the longest routing deadline (300 s) plus time to settle.
GATEWAY_DANGLING_HOLD_AGE_S = env.int("GATEWAY_DANGLING_HOLD_AGE_S", default=900)
GATEWAY_DANGLING_HOLD_RELEASE_INTERVAL_S = env.float(
    "GATEWAY_DANGLING_HOLD_RELEASE_INTERVAL_S", default=300.0
)
CELERY_BEAT_SCHEDULE = {
    "gateway-redispatch-stale-calls": {
        "task": "gateway.redispatch_stale_calls",
        "schedule": GATEWAY_ASYNC_REDISPATCH_INTERVAL_S,
        "options": {"expires": GATEWAY_ASYNC_REDISPATCH_INTERVAL_S},
    },
    "routing-health-checks": {
        "task": "routing.health_check_providers",
        "schedule": GATEWAY_HEALTH_CHECK_INTERVAL_S,
        "options": {"expires": GATEWAY_HEALTH_CHECK_INTERVAL_S},
    },
    "ledger-release-dangling-holds": {
        "task": "ledger.release_dangling_holds",
        "schedule": GATEWAY_DANGLING_HOLD_RELEASE_INTERVAL_S,
        "options": {"expires": GATEWAY_DANGLING_HOLD_RELEASE_INTERVAL_S},
    },
    # The rollup's monthly level (apps.ledger.months): a month closes a day after its end;
    # until its run builds it, summaries read the month's days (slower, as exact).
    "ledger-close-months": {
        "task": "ledger.close_months",
        "schedule": 3600.0,
        "options": {"expires": 3600.0},
    },
    # The ledger's monthly partitions on PostgreSQL (apps.ledger.partitions): hourly, though
    # a month needs one run; a missed run only puts rows in the default partition.
    "ledger-partitions-maintain": {
        "task": "ledger.partitions_maintain",
        "schedule": 3600.0,
        "options": {"expires": 3600.0},
    },
}
# How many months ahead of the current one the ledger's partitions are kept.
LEDGER_PARTITIONS_AHEAD = env.int("LEDGER_PARTITIONS_AHEAD", default=3)

# Background calls (Prefer: respond-async): a run that meets a provider fault is run again
# after GATEWAY_ASYNC_RETRY_BACKOFF_S * 2**n seconds (full jitter, capped), up to the method's
# max_attempts runs. A run holds its call for the task's time limit plus this margin.
GATEWAY_ASYNC_RETRY_BACKOFF_S = env.float("GATEWAY_ASYNC_RETRY_BACKOFF_S", default=2.0)
GATEWAY_ASYNC_RETRY_BACKOFF_MAX_S = env.float("GATEWAY_ASYNC_RETRY_BACKOFF_MAX_S", default=300.0)
GATEWAY_ASYNC_LEASE_MARGIN_S = env.float("GATEWAY_ASYNC_LEASE_MARGIN_S", default=30.0)
# A served call's settle that fails (the database went away) is tried again after each of
# these delays, then kept pending and written once the database is back (apps.gateway.settle).
GATEWAY_SETTLE_RETRY_DELAYS_S = env.list(
    "GATEWAY_SETTLE_RETRY_DELAYS_S", cast=float, default=[0.05, 0.2, 0.5]
)
GATEWAY_SETTLE_RETRY_BUDGET_S = env.float("GATEWAY_SETTLE_RETRY_BUDGET_S", default=2.0)
# How long the websocket token in a 202's websocket_url is valid.
GATEWAY_WS_TOKEN_MAX_AGE_S = env.int("GATEWAY_WS_TOKEN_MAX_AGE_S", default=900)
# Inbound webhooks whose vendor signs a timestamp (Mailgun, SendGrid) are refused when it is
# further than this from our clock, either way; Mailgun tokens are accepted once within it.
GATEWAY_WEBHOOK_TOLERANCE_S = env.int("GATEWAY_WEBHOOK_TOLERANCE_S", default=300)
# Callback webhooks: deliveries of one result, backoff between them, each one's timeout.
GATEWAY_CALLBACK_MAX_DELIVERIES = env.int("GATEWAY_CALLBACK_MAX_DELIVERIES", default=6)
GATEWAY_CALLBACK_BACKOFF_S = env.float("GATEWAY_CALLBACK_BACKOFF_S", default=5.0)
GATEWAY_CALLBACK_TIMEOUT_S = env.float("GATEWAY_CALLBACK_TIMEOUT_S", default=10.0)
# How much of a callback endpoint's answer is read (the rest is dropped with the connection).
GATEWAY_CALLBACK_MAX_RESPONSE_BYTES = env.int("GATEWAY_CALLBACK_MAX_RESPONSE_BYTES", default=16384)
# Egress (apps.core.egress): client- and ops-chosen destinations (callback URLs, provider base
# URLs, SMTP hosts) may not be loopback/private/link-local/reserved unless allowed here. Only
# the deployer's environment sets these; nothing in the admin can.
GATEWAY_EGRESS_ALLOW_PRIVATE = env.bool("GATEWAY_EGRESS_ALLOW_PRIVATE", default=False)
GATEWAY_EGRESS_ALLOWED_NETWORKS = env.list("GATEWAY_EGRESS_ALLOWED_NETWORKS", default=[])
try:
    for _network in GATEWAY_EGRESS_ALLOWED_NETWORKS:
        ipaddress.ip_network(_network, strict=False)
except ValueError as _error:
    raise ImproperlyConfigured(f"GATEWAY_EGRESS_ALLOWED_NETWORKS: {_error}") from None
# GET /metrics (apps.monitoring) answers scrapers from these networks (CIDRs), and only with
# `Authorization: Bearer <METRICS_TOKEN>` when that is set. Default: loopback only. Private
# ranges are not trusted by default: a load balancer on one would pass the internet's
# scrapes with its own private address.
METRICS_ALLOWED_NETWORKS = env.list("METRICS_ALLOWED_NETWORKS", default=["127.0.0.0/8", "::1/128"])
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
try:
    for _network in METRICS_ALLOWED_NETWORKS:
        ipaddress.ip_network(_network, strict=False)
except ValueError as _error:
    raise ImproperlyConfigured(f"METRICS_ALLOWED_NETWORKS: {_error}") from None
# The message-queue consumer (manage.py consume_calls) on RabbitMQ.
GATEWAY_MQ_URL = env.str("GATEWAY_MQ_URL", default=CELERY_BROKER_URL)
GATEWAY_MQ_EXCHANGE = env.str("GATEWAY_MQ_EXCHANGE", default="gateway.calls")
GATEWAY_MQ_QUEUE = env.str("GATEWAY_MQ_QUEUE", default="gateway.calls")
GATEWAY_MQ_DEAD_LETTER_QUEUE = env.str("GATEWAY_MQ_DEAD_LETTER_QUEUE", default="gateway.calls.dead")
GATEWAY_MQ_MAX_DELIVERIES = env.int("GATEWAY_MQ_MAX_DELIVERIES", default=5)
GATEWAY_MQ_RETRY_BACKOFF_S = env.float("GATEWAY_MQ_RETRY_BACKOFF_S", default=2.0)
# Call events (a compact record of each call the consumer finishes) on a topic exchange.
GATEWAY_CALL_EVENTS_ENABLED = env.bool("GATEWAY_CALL_EVENTS_ENABLED", default=False)
GATEWAY_CALL_EVENTS_EXCHANGE = env.str("GATEWAY_CALL_EVENTS_EXCHANGE", default="gateway.events")

if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL]},
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# --- Auth, i18n, static ---------------------------------------------------------------------
# API-key and client lookups are cached per process this long at most: without Redis (or
# while it is down) it bounds how long other processes accept a revoked key or a suspended
# client.
GATEWAY_AUTH_CACHE_TTL_S = env.float("GATEWAY_AUTH_CACHE_TTL_S", default=5.0)
# Without Redis, each process reads the version counters (apps.core.state) from the database
# at most this often: a change made by another process (gateway_apply, another worker)
# reaches this one within that many seconds. Unused with REDIS_URL (versions are in Redis).
GATEWAY_SHARED_VERSIONS_TTL_S = env.float("GATEWAY_SHARED_VERSIONS_TTL_S", default=1.0)
# Admin logins (django-axes): a username is locked from one IP after AXES_FAILURE_LIMIT failed
# passwords, for AXES_COOLOFF_MINUTES (429). The IP is REMOTE_ADDR, which uvicorn sets from
# X-Forwarded-For only for proxies in FORWARDED_ALLOW_IPS, so a client cannot forge it.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # first: refuses a locked-out login before any check
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LANGUAGE_CODE = "en-us"
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = DEBUG

# --- API ------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "apps.accounts.authentication.ClientKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "apps.gateway.openapi_views.GatewayAutoSchema",
    "EXCEPTION_HANDLER": "apps.core.problems.drf_exception_handler",
    "COERCE_DECIMAL_TO_STRING": True,
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Service Gateway API",
    "DESCRIPTION": (
        "One stable API in front of many suppliers: each method is routed to a provider, "
        "fails over when one is down, and is charged at the method's price."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "apps.gateway.openapi_views.add_problem_responses",
        "apps.gateway.openapi_tags.order_for_clients",  # last: it orders what the others add
    ],
}

# Finance staff's ledger API tokens (django-rest-knox; `manage.py create_staff_token`): the
# default lifetime of a new one. Only a digest is stored; the header stays `Token <token>`.
GATEWAY_STAFF_TOKEN_TTL_DAYS = env.int("GATEWAY_STAFF_TOKEN_TTL_DAYS", default=30)
REST_KNOX = {
    "TOKEN_TTL": timedelta(days=GATEWAY_STAFF_TOKEN_TTL_DAYS),
    "AUTH_HEADER_PREFIX": "Token",
    "AUTO_REFRESH": False,  # a token lives as long as it was made for, used or not
}

# --- The gateway ----------------------------------------------------------------------------
ACCOUNTING_CURRENCY = env.str("ACCOUNTING_CURRENCY", default="USD")
# Where finance's days begin and end (ledger summaries by day, the daily rollup). Changing it
# needs `manage.py ledger_rollup_rebuild`.
ACCOUNTING_TIME_ZONE = env.str("ACCOUNTING_TIME_ZONE", default=TIME_ZONE)
# Audit history is read-only in the admin: changes go through the forms and their services.
SIMPLE_HISTORY_REVERT_DISABLED = True
GATEWAY_MAX_BODY_BYTES = env.int("GATEWAY_MAX_BODY_BYTES", default=1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = GATEWAY_MAX_BODY_BYTES
# Deeper JSON (a call's body, a websocket or queue message, a webhook) is refused with 400
# before it is parsed: parsers and serializers recurse once per level.
GATEWAY_MAX_JSON_DEPTH = env.int("GATEWAY_MAX_JSON_DEPTH", default=64)
# Connection pool of the one shared httpx client per process and event loop.
GATEWAY_HTTP_MAX_CONNECTIONS = env.int("GATEWAY_HTTP_MAX_CONNECTIONS", default=200)
GATEWAY_HTTP_MAX_KEEPALIVE = env.int("GATEWAY_HTTP_MAX_KEEPALIVE", default=100)
# How adapters' httpx requests travel: "aiohttp" (apps.routing.transport, ~5x less CPU per
# request under load) or "httpcore" (httpx's own transport).
GATEWAY_HTTP_TRANSPORT = env.str("GATEWAY_HTTP_TRANSPORT", default="aiohttp")
if GATEWAY_HTTP_TRANSPORT not in ("aiohttp", "httpcore"):
    raise ImproperlyConfigured("GATEWAY_HTTP_TRANSPORT must be 'aiohttp' or 'httpcore'.")
# Redis connections per process and event loop; a burst past it waits for a free one.
GATEWAY_REDIS_MAX_CONNECTIONS = env.int("GATEWAY_REDIS_MAX_CONNECTIONS", default=100)
# docs.html_to_pdf (docs/documents.md): the largest HTML and CSS taken (UTF-8 bytes), the
# largest PDF handed out, and how many documents WeasyPrint renders at once per process.
GATEWAY_DOCS_MAX_HTML_BYTES = env.int("GATEWAY_DOCS_MAX_HTML_BYTES", default=512 * 1024)
GATEWAY_DOCS_MAX_CSS_BYTES = env.int("GATEWAY_DOCS_MAX_CSS_BYTES", default=128 * 1024)
GATEWAY_DOCS_MAX_PDF_BYTES = env.int("GATEWAY_DOCS_MAX_PDF_BYTES", default=20 * 1024 * 1024)
GATEWAY_DOCS_RENDER_THREADS = env.int("GATEWAY_DOCS_RENDER_THREADS", default=2)
# domains (docs/domains.md): the operator's own contact for registrars' tech/billing/admin
# contacts, as JSON {first_name, last_name, email, phone, organization?, address: {...}};
# DNS records set on every newly bought domain unless the purchase names its own (JSON list
# of {type, name, data, ttl?, priority?}; empty: none); the waits of the initial-DNS task
# while the registrar has not finished setting the domain up.
DOMAINS_OPERATOR_CONTACT = env.json("DOMAINS_OPERATOR_CONTACT", default={})
DOMAINS_DEFAULT_DNS_RECORDS = env.json("DOMAINS_DEFAULT_DNS_RECORDS", default=[])
DOMAINS_DNS_RETRY_DELAYS_S = (2, 4, 8, 16, 32)

# --- Logging --------------------------------------------------------------------------------
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO").upper()
# plain: one line of text per record (make run); json: one JSON object per line, with the
# request id and the access record's fields as keys (docs/operations.md, "Logs").
LOG_FORMAT = env.str("LOG_FORMAT", default="plain").lower()
if LOG_FORMAT not in ("plain", "json"):
    raise ImproperlyConfigured(f"LOG_FORMAT must be plain or json, not {LOG_FORMAT!r}.")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "request_id": {"()": "apps.core.logging.RequestIdFilter"},
        # Every handler: no provider credential in any log line (apps.core.redaction).
        "secrets": {"()": "apps.core.logging.SecretMaskFilter"},
    },
    "formatters": {
        "plain": {
            "format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s",
        },
        "json": {"()": "apps.core.logging.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["request_id", "secrets"],
        },
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        "httpx": {"level": "WARNING"},
        "httpcore": {"level": "WARNING"},
        # Both log each document's steps and each font subset at INFO.
        "weasyprint.progress": {"level": "WARNING"},
        "fontTools": {"level": "WARNING"},
    },
}
