"""MithraPay settings, read once from the environment and ``.env``.

``APP_ENV`` (development, test, production) alone selects the differences
between the three; every variable is listed in ``.env.example``.
"""

import os
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit

from csp.constants import NONCE, NONE, SELF
from django.utils.translation import gettext_lazy as _

from mithrapay import environment
from mithrapay.environment import SettingsError

BASE_DIR = Path(__file__).resolve().parent.parent

# ENV_FILE names another file than .env (or /dev/null for none).
env = environment.Reader(
    environment.read_env_file(Path(os.environ.get("ENV_FILE") or BASE_DIR / ".env"))
)

APP_ENV = environment.app_env(env)
IS_PRODUCTION = APP_ENV == "production"
IS_TEST = APP_ENV == "test"

# --- Secrets -----------------------------------------------------------------

# Placeholders for development and tests only; production refuses them.
_DEV_SECRET_KEY = "insecure-development-secret-key-do-not-use-in-production"  # noqa: S105
_DEV_JWT_SECRET = "insecure-development-jwt-secret-do-not-use-in-production"  # noqa: S105

SECRET_KEY = env.str("SECRET_KEY") or ("" if IS_PRODUCTION else _DEV_SECRET_KEY)
# Tokens are signed with their own key, so rotating one secret does not
# invalidate the other's artefacts (sessions, password-reset links).
JWT_SECRET = env.str("JWT_SECRET") or ("" if IS_PRODUCTION else _DEV_JWT_SECRET)

DEBUG = env.bool("DEBUG", False)

ALLOWED_HOSTS = env.list(
    "ALLOWED_HOSTS",
    default=() if IS_PRODUCTION else ("localhost", "127.0.0.1", "[::1]", "testserver"),
)
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS")

# --- Applications ------------------------------------------------------------

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework_simplejwt.token_blacklist",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "phonenumber_field",
    "django_guid",
    "constance",
    "mithrapay",
    "accounts",
    "catalog",
    "orders",
    "payments",
    "blog",
]

MIDDLEWARE = [
    "django_guid.middleware.guid_middleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "mithrapay.middleware.BodySizeLimitMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "mithrapay.middleware.LazyMessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "mithrapay.middleware.ErrorShapeMiddleware",
    "mithrapay.middleware.ServiceOutageMiddleware",
]

ROOT_URLCONF = "mithrapay.urls"
WSGI_APPLICATION = "mithrapay.wsgi.application"
# Paths answer with and without their trailing slash through the URL
# patterns themselves, so no redirect ever drops a POST body.
APPEND_SLASH = False

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

# --- Database and cache ------------------------------------------------------

DATABASE_URL = environment.database_url(env)
DATABASES = {
    "default": environment.database_config(
        DATABASE_URL,
        sqlite_path=BASE_DIR / env.str("SQLITE_PATH", "db.sqlite3"),
        conn_max_age=env.int("CONN_MAX_AGE", 60, minimum=0),
    )
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = environment.redis_url(env)
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env.str("CACHE_KEY_PREFIX", f"mithrapay-{APP_ENV}"),
            "OPTIONS": {
                "SOCKET_CONNECT_TIMEOUT": 1,
                "SOCKET_TIMEOUT": 1,
            },
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "mithrapay",
        }
    }

# --- Accounts and passwords --------------------------------------------------

AUTH_USER_MODEL = "accounts.User"
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
if IS_TEST:
    # Hashing speed is not under test; argon2 would dominate the run time.
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
AUTH_PASSWORD_VALIDATORS = [
    {
        # Django's similarity check, reading the phone number as text too.
        "NAME": "accounts.passwords.UserAttributeSimilarityValidator",
        "OPTIONS": {"user_attributes": ("email", "phone", "first_name", "last_name")},
    },
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 8},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

PHONENUMBER_DEFAULT_REGION = env.str("PHONE_DEFAULT_REGION", "IR").upper()
PHONENUMBER_DB_FORMAT = "E164"

OTP_EXPIRE_SECONDS = env.int("OTP_EXPIRE_SECONDS", 120, minimum=30, maximum=600)

# --- Languages and time ------------------------------------------------------

LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("fa", _("Persian"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
USE_TZ = True
TIME_ZONE = env.str("TIME_ZONE", "UTC")

# --- Money -------------------------------------------------------------------

SHOP_CURRENCY = env.str("SHOP_CURRENCY", "IRR").upper()
MONEY_MAX_DIGITS = 18
MONEY_DECIMAL_PLACES = 2
MONEY_ZERO = Decimal("0.00")

# --- Static files ------------------------------------------------------------

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", str(BASE_DIR / "media")))
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
# Outside production whitenoise serves straight from the app folders, so the
# admin is styled without collectstatic, with DEBUG on or off.
WHITENOISE_USE_FINDERS = not IS_PRODUCTION
WHITENOISE_AUTOREFRESH = APP_ENV == "development"

# --- Request limits ----------------------------------------------------------

DATA_UPLOAD_MAX_MEMORY_SIZE = env.int(
    "DATA_UPLOAD_MAX_MEMORY_SIZE", 1024 * 1024, minimum=1024
)
MAX_UPLOAD_SIZE = env.int("MAX_UPLOAD_SIZE", 20 * 1024 * 1024, minimum=1024)
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024

# --- API ---------------------------------------------------------------------

API_PAGE_SIZE = env.int("API_PAGE_SIZE", 20, minimum=1, maximum=100)
API_MAX_PAGE_SIZE = env.int("API_MAX_PAGE_SIZE", 100, minimum=1, maximum=1000)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.AccessTokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "mithrapay.negotiation.ContentNegotiation",
    "DEFAULT_PAGINATION_CLASS": "mithrapay.pagination.PageNumberPagination",
    "PAGE_SIZE": API_PAGE_SIZE,
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.SearchFilter",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_THROTTLE_CLASSES": ["mithrapay.throttling.ScopedThrottle"],
    "DEFAULT_SCHEMA_CLASS": "mithrapay.schema.AutoSchema",
    "EXCEPTION_HANDLER": "mithrapay.errors.api_exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}

# Each named scope's rate, as "count/period" (10/hour, 10/15m). Only these
# scopes are limited; there is no global throttle.
THROTTLE_RATES: dict[str, str] = {}

SIMPLE_JWT = {
    "SIGNING_KEY": JWT_SECRET,
    "ALGORITHM": "HS256",
    "ACCESS_TOKEN_LIFETIME": timedelta(
        seconds=env.int("JWT_ACCESS_SECONDS", 600, minimum=60)
    ),
    "REFRESH_TOKEN_LIFETIME": timedelta(
        seconds=env.int("JWT_REFRESH_SECONDS", 7 * 86400, minimum=600)
    ),
    "AUDIENCE": env.str("JWT_AUDIENCE", "mithrapay-api"),
    "ISSUER": env.str("JWT_ISSUER", "mithrapay"),
    "USER_ID_FIELD": "id",
    "USER_ID_CLAIM": "user_id",
    "UPDATE_LAST_LOGIN": False,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "MithraPay API",
    "DESCRIPTION": (
        "Digital subscriptions, gift-card codes and accessories: accounts, "
        "catalog, orders and payments. Every error answers with the Error shape."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX_TRIM": False,
    # Swagger UI is served from this project, never from a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "mithrapay.schema.add_links",
    ],
}

# --- Background work ---------------------------------------------------------

CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", REDIS_URL)
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", REDIS_URL) or None
# Without a broker (the embedded default, and tests) tasks run in-process.
CELERY_TASK_ALWAYS_EAGER = IS_TEST or not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = IS_TEST
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 300
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE = {}

# --- Email -------------------------------------------------------------------

EMAIL_BACKEND = env.str(
    "EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend"
)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", "MithraPay <no-reply@localhost>")
EMAIL_HOST = env.str("EMAIL_HOST", "localhost")
EMAIL_PORT = env.int("EMAIL_PORT", 25, minimum=1, maximum=65535)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", False)
EMAIL_TIMEOUT = 10

# --- Logging -----------------------------------------------------------------

LOG_LEVEL = env.choice(
    "LOG_LEVEL",
    ("DEBUG", "INFO", "WARNING", "ERROR"),
    "INFO" if not IS_TEST else "WARNING",
)
LOG_FORMAT = env.choice(
    "LOG_FORMAT", ("text", "json"), "json" if IS_PRODUCTION else "text"
)

DJANGO_GUID = {
    "GUID_HEADER_NAME": "X-Request-ID",
    "VALIDATE_GUID": False,
    "RETURN_HEADER": True,
    "EXPOSE_HEADER": True,
    "UUID_LENGTH": 32,
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "django_guid.log_filters.CorrelationId"}},
    "formatters": {
        "text": {
            "format": "%(asctime)s %(levelname)s [%(correlation_id)s] %(name)s: "
            "%(message)s",
        },
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s %(message)s "
            "%(correlation_id)s",
            "rename_fields": {
                "asctime": "time",
                "levelname": "level",
                "name": "logger",
                "correlation_id": "request_id",
            },
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["request_id"],
        },
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django": {"handlers": ["console"], "level": LOG_LEVEL, "propagate": False},
        "django.server": {"level": "INFO"},
        "celery": {"level": LOG_LEVEL},
        # django-guid reports every generated request id at INFO.
        "django_guid": {"level": "WARNING"},
    },
}

# --- Security ----------------------------------------------------------------

SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
CSRF_FAILURE_VIEW = "mithrapay.errors.csrf_failure"
SESSION_COOKIE_HTTPONLY = True

if IS_PRODUCTION:
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", 31536000, minimum=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    # The health probe of a load balancer speaks plain HTTP inside the network.
    SECURE_REDIRECT_EXEMPT = [r"^health/"]
if env.bool("BEHIND_TLS_PROXY", IS_PRODUCTION):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# --- Orders ------------------------------------------------------------------

# Unpaid orders a customer may hold at once, so nobody holds a pool hostage.
MAX_PENDING_ORDERS = env.int("MAX_PENDING_ORDERS", 3, minimum=1, maximum=100)
# How long an Idempotency-Key of POST /orders/ replays its first answer.
IDEMPOTENCY_KEY_HOURS = env.int("IDEMPOTENCY_KEY_HOURS", 24, minimum=1, maximum=168)
# Seconds after which an unfinished Idempotency-Key claim is taken to belong to
# a crashed request; longer than gunicorn's worker timeout.
IDEMPOTENCY_CLAIM_TIMEOUT_SECONDS = env.int(
    "IDEMPOTENCY_CLAIM_TIMEOUT_SECONDS", 120, minimum=31, maximum=3600
)
THROTTLE_RATES["order_create"] = env.rate("THROTTLE_ORDER_CREATE", "30/hour")
CELERY_BEAT_SCHEDULE["expire-orders"] = {
    "task": "orders.expire_orders",
    "schedule": 60.0,
}
CELERY_BEAT_SCHEDULE["send-renewal-reminders"] = {
    "task": "orders.send_renewal_reminders",
    "schedule": 86400.0,
}
# The customer's page of an order in the app, linked from emails and texts.
ORDER_URL_TEMPLATE = env.str(
    "ORDER_URL_TEMPLATE", "http://localhost:8000/orders/{number}"
)
CELERY_BEAT_SCHEDULE["purge-idempotency-keys"] = {
    "task": "orders.purge_idempotency_keys",
    "schedule": 3600.0,
}

# --- Payments ----------------------------------------------------------------

# The built-in sandbox gateway: on outside production unless switched off;
# in production only with PAYMENT_SANDBOX_ENABLED=1 (the end-to-end run).
PAYMENT_SANDBOX_ENABLED = env.bool("PAYMENT_SANDBOX_ENABLED", not IS_PRODUCTION)
PAYMENT_GATEWAYS = {
    "sandbox": {
        "BACKEND": "payments.gateways.sandbox.SandboxGateway",
        "ENABLED": PAYMENT_SANDBOX_ENABLED,
    },
    "zarinpal": {
        "BACKEND": "payments.gateways.zarinpal.ZarinpalGateway",
        "ENABLED": env.bool("ZARINPAL_ENABLED", False),
        "OPTIONS": {
            # Checked when the gateway is used, not at start.
            "MERCHANT_ID": env.str("ZARINPAL_MERCHANT_ID"),
            "SANDBOX": env.bool("ZARINPAL_SANDBOX", False),
            "TIMEOUT": env.int("ZARINPAL_TIMEOUT", 10, minimum=1, maximum=60),
        },
    },
}
# Where the customer's browser lands after paying (the shop's front end);
# it gets ?order=<number>&status=<outcome>.
PAYMENT_RESULT_URL = env.str("PAYMENT_RESULT_URL", "/payments/result")
PAYMENT_RECONCILE_AFTER_MINUTES = env.int(
    "PAYMENT_RECONCILE_AFTER_MINUTES", 10, minimum=1, maximum=1440
)
PAYMENT_ABANDON_AFTER_MINUTES = env.int(
    "PAYMENT_ABANDON_AFTER_MINUTES", 120, minimum=10, maximum=10080
)
# Staff who get alerts (a payment that needs a refund), "Name <email>" each.
MANAGERS = [
    (address.split("<")[0].strip() or address, address.split("<")[-1].strip(" >"))
    for address in env.list("STAFF_ALERT_EMAILS")
]
CELERY_BEAT_SCHEDULE["reconcile-payments"] = {
    "task": "payments.reconcile_payments",
    "schedule": 300.0,
}

# --- Site settings staff change in the admin (django-constance) -------------

# Each Django setting below is the initial value; once staff save a value in
# the admin, the stored one wins, without a restart.
SUPPORT_PHONE = env.str("SUPPORT_PHONE")
SUPPORT_EMAIL = env.str("SUPPORT_EMAIL")
NOTICE_BANNER = env.str("NOTICE_BANNER")
MAINTENANCE_MODE = env.bool("MAINTENANCE_MODE", False)
ORDER_RESERVATION_MINUTES = env.int(
    "ORDER_RESERVATION_MINUTES", 15, minimum=1, maximum=1440
)
RENEWAL_REMINDER_DAYS = env.int("RENEWAL_REMINDER_DAYS", 3, minimum=1, maximum=60)

CONSTANCE_BACKEND = "constance.backends.database.DatabaseBackend"
# Stored values are cached in Redis when there is one. Constance refuses an
# in-process cache (each process would keep its own stale copy), so without
# Redis every read goes to the database.
CONSTANCE_DATABASE_CACHE_BACKEND = "default" if REDIS_URL else None
# Superusers, and staff given constance.view_config / change_config by hand
# (no role has them by default), see and change these in the admin.
CONSTANCE_SUPERUSER_ONLY = False
# Each value is checked in the admin form before it is stored.
CONSTANCE_ADDITIONAL_FIELDS = {
    "support_phone": ["mithrapay.site_settings.PhoneField", {"required": False}],
    "support_email": [
        "django.forms.EmailField",
        {"required": False, "max_length": 254},
    ],
    "notice_banner": [
        "django.forms.CharField",
        {
            "required": False,
            "max_length": 300,
            "widget": "django.forms.Textarea",
            "widget_kwargs": {"attrs": {"rows": 3}},
        },
    ],
    "reservation_minutes": [
        "django.forms.IntegerField",
        {"min_value": 1, "max_value": 1440},
    ],
    "reminder_days": ["django.forms.IntegerField", {"min_value": 1, "max_value": 60}],
}
CONSTANCE_CONFIG_FIELDSETS = (
    (_("Customer contact"), ("SUPPORT_PHONE", "SUPPORT_EMAIL", "NOTICE_BANNER")),
    (
        _("Shop operation"),
        ("MAINTENANCE_MODE", "ORDER_RESERVATION_MINUTES", "RENEWAL_REMINDER_DAYS"),
    ),
)
CONSTANCE_CONFIG = {
    "SUPPORT_PHONE": (
        SUPPORT_PHONE,
        _("Support phone shown to customers"),
        "support_phone",
    ),
    "SUPPORT_EMAIL": (
        SUPPORT_EMAIL,
        _("Support email shown to customers"),
        "support_email",
    ),
    "NOTICE_BANNER": (
        NOTICE_BANNER,
        _("Notice banner text; empty hides it"),
        "notice_banner",
    ),
    "MAINTENANCE_MODE": (
        MAINTENANCE_MODE,
        _("Maintenance: registration, orders, payments and profile writes pause"),
        bool,
    ),
    "ORDER_RESERVATION_MINUTES": (
        ORDER_RESERVATION_MINUTES,
        _("Minutes an unpaid order holds its codes and stock (1 to 1440)"),
        "reservation_minutes",
    ),
    "RENEWAL_REMINDER_DAYS": (
        RENEWAL_REMINDER_DAYS,
        _("Days before a subscription ends to remind the customer (1 to 60)"),
        "reminder_days",
    ),
}

# --- Blog --------------------------------------------------------------------

# Posts in the RSS and Atom feeds, newest first.
BLOG_FEED_ITEMS = env.int("BLOG_FEED_ITEMS", 20, minimum=1, maximum=100)
# Reading speed behind each post's reading time.
BLOG_WORDS_PER_MINUTE = env.int("BLOG_WORDS_PER_MINUTE", 200, minimum=50, maximum=1000)

# --- Accounts and sign-in ----------------------------------------------------

# One-time codes: the resend cooldown per phone and the wrong tries one code
# survives (the last one deletes it).
OTP_RESEND_SECONDS = env.int("OTP_RESEND_SECONDS", 60, minimum=1, maximum=3600)
OTP_MAX_ATTEMPTS = env.int("OTP_MAX_ATTEMPTS", 5, minimum=1, maximum=20)
OTP_LOCK_SECONDS = env.int("OTP_LOCK_SECONDS", 3600, minimum=60, maximum=86400)
THROTTLE_RATES.update(
    {
        "register": env.rate("THROTTLE_REGISTER", "10/hour"),
        "login_failures_account": env.rate(
            "THROTTLE_LOGIN_FAILURES_ACCOUNT", "10/hour"
        ),
        "login_failures_ip": env.rate("THROTTLE_LOGIN_FAILURES_IP", "10/15m"),
        "otp_phone": env.rate("THROTTLE_OTP_PHONE", "5/hour"),
        "otp_ip": env.rate("THROTTLE_OTP_IP", "20/hour"),
    }
)

# Where text messages go: console (prints them), locmem (an outbox in memory),
# file (one file per message under SMS_FILE_PATH) or kavenegar.
SMS_BACKEND = env.choice(
    "SMS_BACKEND",
    ("console", "locmem", "file", "kavenegar"),
    "locmem" if IS_TEST else "console",
)
SMS_FILE_PATH = Path(env.str("SMS_FILE_PATH", str(BASE_DIR / "sms-outbox")))
SMS_TIMEOUT_SECONDS = env.int("SMS_TIMEOUT_SECONDS", 5, minimum=1, maximum=60)
SMS_RETRIES = env.int("SMS_RETRIES", 2, minimum=0, maximum=5)
KAVENEGAR_API_KEY = env.str("KAVENEGAR_API_KEY")
KAVENEGAR_SENDER = env.str("KAVENEGAR_SENDER")
# A verification template defined in the Kavenegar panel; when set, codes go
# through its lookup service (the route operators deliver fastest).
KAVENEGAR_OTP_TEMPLATE = env.str("KAVENEGAR_OTP_TEMPLATE")

SIMPLE_JWT.update(
    {
        "AUTH_TOKEN_CLASSES": ("rest_framework_simplejwt.tokens.AccessToken",),
        "ROTATE_REFRESH_TOKENS": True,
        "BLACKLIST_AFTER_ROTATION": True,
        "CHECK_USER_IS_ACTIVE": True,
        # Tokens carry a digest of the password hash: a new password (or a
        # removed one) ends every access token issued before it.
        "CHECK_REVOKE_TOKEN": True,
    }
)
CELERY_BEAT_SCHEDULE["accounts-flush-expired-tokens"] = {
    "task": "accounts.tasks.flush_expired_tokens",
    "schedule": timedelta(days=1),
}
# urllib3 logs request lines at DEBUG, and SMS providers put keys in paths.
LOGGING["loggers"]["urllib3"] = {"level": "WARNING"}

# --- The code vault ----------------------------------------------------------

# Fernet keys for gift-card codes at rest, newest first (comma-separated);
# never derived from SECRET_KEY. The digest key makes the unique fingerprint
# that keeps a code from entering the pool twice.
_DEV_CODE_KEY = "ZGV2ZWxvcG1lbnQtb25seS1jb2RlLWtleS0wMDAwMDA="
_DEV_DIGEST_KEY = "development-only-code-digest-key"
CODE_ENCRYPTION_KEYS = env.list(
    "CODE_ENCRYPTION_KEYS", default=() if IS_PRODUCTION else (_DEV_CODE_KEY,)
)
CODE_DIGEST_KEY = env.str("CODE_DIGEST_KEY") or (
    "" if IS_PRODUCTION else _DEV_DIGEST_KEY
)

# --- Catalog -----------------------------------------------------------------

# Seconds a cached catalog response lives at most. Staff edits and stock
# flips invalidate it at once; the limit bounds anything else (a code's
# expiry date passing).
CATALOG_CACHE_SECONDS = env.int("CATALOG_CACHE_SECONDS", 300, minimum=1, maximum=86400)

# --- Back office -------------------------------------------------------------

# Full codes a member of staff may reveal in the admin, per staff member.
THROTTLE_RATES["code_reveal"] = env.rate("THROTTLE_CODE_REVEAL", "10/hour")
# How often catalog managers' low-stock alerts are checked, in seconds.
LOW_STOCK_CHECK_SECONDS = env.int(
    "LOW_STOCK_CHECK_SECONDS", 300, minimum=30, maximum=86400
)
CELERY_BEAT_SCHEDULE["send-low-stock-alerts"] = {
    "task": "catalog.send_low_stock_alerts",
    "schedule": float(LOW_STOCK_CHECK_SECONDS),
}
# Days of daily sales in the dashboard's chart.
DASHBOARD_CHART_DAYS = 30

# --- Security and serving ----------------------------------------------------

# Proxies (IPs or CIDR blocks) whose X-Forwarded-For is believed. The client
# address every per-IP limit counts is the right-most address in that header
# that is not one of them (mithrapay.throttling.client_ip); with no trusted
# peer, the connection's own address.
TRUSTED_PROXIES = env.networks("TRUSTED_PROXIES")

# Cross-origin API calls: only from the shop's own front ends, listed as
# origins (https://shop.example.com). Tokens travel in the Authorization
# header, never in cookies, so credentials stay off. The admin never answers
# cross-origin requests.
INSTALLED_APPS += ["corsheaders", "csp"]
MIDDLEWARE.insert(0, "corsheaders.middleware.CorsMiddleware")
CORS_ALLOWED_ORIGINS = env.list("CORS_ALLOWED_ORIGINS")
CORS_URLS_REGEX = r"^/(?!admin/).*$"
CORS_ALLOW_HEADERS = (
    "accept",
    "accept-language",
    "authorization",
    "content-type",
    "idempotency-key",
    "x-request-id",
)
CORS_EXPOSE_HEADERS = ("Retry-After", "X-Request-ID")
CORS_PREFLIGHT_MAX_AGE = 3600

# Content-Security-Policy on every answer (django-csp, through
# mithrapay.csp, which builds the site's own policy once). Scripts come only
# from this server's own static files (the admin's and the dashboard's
# vendored chart library), never inline; the payment pages' small inline
# styles carry the request's nonce. The sandbox form may hand over to the
# payment result page, which may be the front end's.
_RESULT_ORIGIN = "{0.scheme}://{0.netloc}".format(urlsplit(PAYMENT_RESULT_URL))
MIDDLEWARE.insert(
    MIDDLEWARE.index("django.middleware.security.SecurityMiddleware") + 1,
    "mithrapay.csp.SitePolicyMiddleware",
)
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF, NONCE],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "frame-ancestors": [NONE],
        "form-action": [SELF]
        + ([_RESULT_ORIGIN] if urlsplit(PAYMENT_RESULT_URL).netloc else []),
    },
}

# --- Performance -------------------------------------------------------------

# The catalog's and the blog's cached public responses; off only to measure
# or debug what a miss costs (make bench runs a server with it off).
RESPONSE_CACHE_ENABLED = env.bool("RESPONSE_CACHE_ENABLED", True)
# Answers a plain anonymous GET of a cached page before DRF runs; last, so
# every other middleware handles that answer as it handles the view's.
MIDDLEWARE.append("mithrapay.response_cache.PublicReadMiddleware")
# Seconds a cached blog list lives at most. Blog writes invalidate it at
# once and it never outlives the next scheduled post's publication time.
BLOG_CACHE_SECONDS = env.int("BLOG_CACHE_SECONDS", 300, minimum=1, maximum=86400)

# A MariaDB replica of DATABASE_URL for the catalog's and the blog's public
# reads (mithrapay.db_router says which queries go there). Tests always have
# a "replica" alias, mirroring the test database, so the routing is tested.
DATABASE_REPLICA_URL = env.str("DATABASE_REPLICA_URL")
if DATABASE_REPLICA_URL or IS_TEST:
    DATABASES["replica"] = environment.database_config(
        DATABASE_REPLICA_URL or DATABASE_URL,
        sqlite_path=BASE_DIR / env.str("SQLITE_PATH", "db.sqlite3"),
        conn_max_age=env.int("CONN_MAX_AGE", 60, minimum=0),
    )
    if IS_TEST:
        DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
    DATABASE_ROUTERS = ["mithrapay.db_router.ReplicaRouter"]
    MIDDLEWARE.insert(0, "mithrapay.db_router.ReadOnlyRequestMiddleware")

# --- Production refuses to start on missing or placeholder secrets ------------

if IS_PRODUCTION:
    environment.check_production(
        {
            "SECRET_KEY": SECRET_KEY,
            "JWT_SECRET": JWT_SECRET,
            "ALLOWED_HOSTS": ",".join(ALLOWED_HOSTS),
            "DATABASE_URL": DATABASE_URL,
            "REDIS_URL": REDIS_URL,
            "CODE_ENCRYPTION_KEYS": ",".join(CODE_ENCRYPTION_KEYS),
            "CODE_DIGEST_KEY": CODE_DIGEST_KEY,
        }
    )
    if _DEV_CODE_KEY in CODE_ENCRYPTION_KEYS or CODE_DIGEST_KEY == _DEV_DIGEST_KEY:
        raise SettingsError(
            "CODE_ENCRYPTION_KEYS and CODE_DIGEST_KEY must be real keys in production"
        )
    if SECRET_KEY == JWT_SECRET:
        raise SettingsError("JWT_SECRET must differ from SECRET_KEY in production")
