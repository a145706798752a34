"""Relance settings: one file, driven by the environment (a `.env` file is read too).

Production needs at least SECRET_KEY, DEBUG=false, ALLOWED_HOSTS, DATABASE_URL and
EMAIL_URL; see the README's "Configuration" section.
"""

import sys
from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import environ
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

from core.secret_key import DEV_KEY, GENERATE_HINT, secret_key_problem

BASE_DIR = Path(__file__).resolve().parent.parent
TESTING = "pytest" in sys.modules or sys.argv[1:2] == ["test"]

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env.str("SECRET_KEY", default="")
# mypy's django-stubs plugin imports these settings to read the models: no secret there.
if not (DEBUG or TESTING or "mypy" in sys.modules):
    if not SECRET_KEY:
        raise ImproperlyConfigured(f"SECRET_KEY must be set when DEBUG is off; {GENERATE_HINT}.")
    if problem := secret_key_problem(SECRET_KEY):
        raise ImproperlyConfigured(f"{problem}: refused when DEBUG is off; {GENERATE_HINT}.")
SECRET_KEY = SECRET_KEY or DEV_KEY
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "django_q",
    "axes",
    "pgtrigger",
    "pghistory",
    "core",
    "customers",
    "receivables",
    "reminders",
    "workplaces",
    "api",
    "ninja",  # its Swagger UI static files: the API's docs page needs no CDN
    "portal",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "customers.middleware.UserLanguageMiddleware",
    "core.audit.AuditMiddleware",  # tags changes with the user (the audit trail)
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "axes.middleware.AxesMiddleware",  # last: turns a lockout into the lockout page
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "customers.context_processors.roles",
            ],
        },
    },
]

DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL + a busy timeout let the web server and the django-q2 worker share the file.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 20, "init_command": "PRAGMA journal_mode=WAL;"}
    )
else:
    # PostgreSQL's JIT compiles the balance queries (many small correlated subqueries with
    # a high estimated cost) for seconds, to run them in milliseconds: turn it off.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("options", "-c jit=off")
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
if TESTING:
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast tests only
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# The audit trail (django-pghistory, core/audit.py): an event's time is the moment of the
# change, not the start of its transaction, so the changes of one request keep their order.
PGHISTORY_CREATED_AT_FUNCTION = "clock_timestamp()"

# Login throttling (django-axes, see core/auth.py): after LOGIN_FAILURE_LIMIT failures a
# username is locked out from that client address for LOGIN_COOLOFF_MINUTES, refused
# before any password hash. Behind reverse proxies, TRUSTED_PROXY_COUNT says how many
# (X-Forwarded-For is ignored while it is 0).
AUTHENTICATION_BACKENDS = [
    "core.auth.LoginThrottleBackend",
    "django.contrib.auth.backends.ModelBackend",
]
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("LOGIN_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_CLIENT_IP_CALLABLE = "core.auth.client_ip"
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "core.auth.lockout_response"

LANGUAGE_CODE = env.str("LANGUAGE_CODE", default="fr")
LANGUAGES = [("fr", "Français"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env.str("TIME_ZONE", default="Europe/Paris")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(BASE_DIR / "var" / "media")))
# Uploaded import files: never under a served URL, read back through a checked view.
PRIVATE_STORAGE_ROOT = Path(
    env.str("PRIVATE_STORAGE_ROOT", default=str(BASE_DIR / "var" / "private"))
)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG or TESTING
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}


def mailer_from_url(url: str) -> dict:
    """Map an EMAIL_URL (smtp://, smtps://, submission://, consolemail://, memorymail://,
    dummymail://) onto a Django 6.1 MAILERS entry. The deprecated EMAIL_* settings are
    never set, since mixing both styles is refused by Django."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    backends = {
        "smtp": "django.core.mail.backends.smtp.EmailBackend",
        "smtps": "django.core.mail.backends.smtp.EmailBackend",
        "submission": "django.core.mail.backends.smtp.EmailBackend",
        "consolemail": "django.core.mail.backends.console.EmailBackend",
        "memorymail": "django.core.mail.backends.locmem.EmailBackend",
        "dummymail": "django.core.mail.backends.dummy.EmailBackend",
    }
    if scheme not in backends:
        raise ImproperlyConfigured(f"EMAIL_URL: unsupported scheme {scheme!r} in {url!r}.")
    config: dict = {"BACKEND": backends[scheme]}
    if backends[scheme].endswith("smtp.EmailBackend"):
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        options = {
            "host": parts.hostname or "localhost",
            "port": parts.port or {"smtps": 465, "submission": 587}.get(scheme, 25),
            "use_ssl": scheme == "smtps" or query.get("ssl") in ("1", "true", "True"),
            "use_tls": scheme == "submission" or query.get("tls") in ("1", "true", "True"),
            "timeout": int(query.get("timeout", 15)),
        }
        if parts.username:
            options["username"] = unquote(parts.username)
            options["password"] = unquote(parts.password or "")
        config["OPTIONS"] = options
    return config


MAILERS = {"default": mailer_from_url(env.str("EMAIL_URL", default="consolemail://"))}
# The customer's page (the portal): where its links point, how long a link lasts, how many
# requests one address may make in PORTAL_RATE_WINDOW_MINUTES, the largest upload.
PORTAL_BASE_URL = env.str("PORTAL_BASE_URL", default="http://localhost:8000")
PORTAL_LINK_DAYS = env.int("PORTAL_LINK_DAYS", default=60)
PORTAL_RATE_LIMIT = env.int("PORTAL_RATE_LIMIT", default=60)
PORTAL_RATE_WINDOW_MINUTES = env.int("PORTAL_RATE_WINDOW_MINUTES", default=10)
PORTAL_UPLOAD_MAX_BYTES = env.int("PORTAL_UPLOAD_MAX_BYTES", default=5 * 1024 * 1024)

DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Relance <relance@localhost>")
SERVER_EMAIL = env.str("SERVER_EMAIL", default=DEFAULT_FROM_EMAIL)

# Security: safe defaults in production, relaxed only when DEBUG is on.
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_X_FORWARDED_PROTO", "https") if env.bool("BEHIND_TLS_PROXY", default=False) else None
)
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG and not TESTING)
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG and not TESTING)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG and not TESTING)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
# Preloading is a commitment for a whole domain: each deployment decides (W021 is advice).
SILENCED_SYSTEM_CHECKS = ["security.W021"]
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"  # the letter preview view opts in with @xframe_options_sameorigin
SESSION_COOKIE_HTTPONLY = True
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF, CSP.NONCE],
    "img-src": [CSP.SELF, "data:"],
    "frame-src": [CSP.SELF],
    "frame-ancestors": [CSP.SELF],
    "form-action": [CSP.SELF],
    "base-uri": [CSP.SELF],
    "object-src": [CSP.NONE],
}

# django-q2 reads this at import time. The ORM broker works on SQLite and PostgreSQL
# alike, so the embedded default needs no Redis. catch_up=False: after an outage the
# daily run happens once, not once per missed day.
Q_CLUSTER = {
    "name": "relance",
    "orm": "default",
    "workers": env.int("Q_WORKERS", default=2),
    "timeout": env.int("Q_TIMEOUT", default=1800),
    "retry": env.int("Q_RETRY", default=2100),
    # A task killed mid-run is handed out again after ``retry`` seconds, which must
    # exceed ``timeout`` (with a margin) or a slow run would be started twice; a run is
    # safe to repeat, but never more than ``max_attempts`` times.
    "max_attempts": 3,
    # No burst replay after an outage: a missed daily run is not run once per missed
    # day; the next run (dated the day it runs) sends what fell due meanwhile.
    "catch_up": False,
    # Workers are recycled after this many tasks, or when they grow past max_rss (KiB).
    "recycle": env.int("Q_RECYCLE", default=100),
    "max_rss": env.int("Q_MAX_RSS", default=512_000),
    "save_limit": 500,
    "label": "Tâches",
    "sync": TESTING,
}

# The API (api/, README "API"): requests per token per window (429 with Retry-After
# beyond), and the webhooks' timeout for each delivery attempt (core/webhooks.py).
API_RATE_LIMIT = env.int("API_RATE_LIMIT", default=600)
API_RATE_WINDOW = env.int("API_RATE_WINDOW", default=60)
WEBHOOK_TIMEOUT = env.int("WEBHOOK_TIMEOUT", default=10)
NINJA_PAGINATION_MAX_LIMIT = 200

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}, "axes": {"level": "WARNING"}},
}
