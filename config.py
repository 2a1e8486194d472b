"""Application settings: defaults for the embedded SQLite set-up, overridable by environment."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from pathlib import Path

from flask_appbuilder.const import AUTH_DB

BASE_DIR = Path(__file__).resolve().parent
INSTANCE_DIR = Path(os.environ.get("INSTANCE_DIR", BASE_DIR / "instance"))


def database_url(raw: str | None, default: str) -> str:
    """Normalise a DATABASE_URL so PostgreSQL always goes through psycopg 3."""
    url = raw or default
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def instance_secret(path: Path) -> str:
    """A random secret generated once per instance and kept in instance/ (never shared)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "oui", "on"}


def public_url(environ: Mapping[str, str]) -> str:
    """The address written in e-mail links: PUBLIC_URL, else http://HOST:PORT (the address
    ``scripts/run.sh`` serves on, default http://127.0.0.1:5000). A wildcard HOST (0.0.0.0,
    ::) is no address to click on: the link then uses 127.0.0.1 — set PUBLIC_URL to reach the
    server from other machines."""
    explicit = environ.get("PUBLIC_URL", "").strip()
    if explicit:
        return explicit
    host = environ.get("HOST", "").strip() or "127.0.0.1"
    port = environ.get("PORT", "").strip() or "5000"
    if host in {"0.0.0.0", "::", "[::]"}:
        host = "127.0.0.1"
    elif ":" in host and not host.startswith("["):
        host = f"[{host}]"  # an IPv6 address
    return f"http://{host}:{port}"


def secure_cookies(public_url: str) -> bool:
    """Session and remember-me cookies are sent over HTTPS only when the public address is
    https; SESSION_COOKIE_SECURE=true forces it (a TLS proxy in front of an http PUBLIC_URL)."""
    return public_url.strip().lower().startswith("https://") or env_bool(
        "SESSION_COOKIE_SECURE", False
    )


class Config:
    APP_NAME = "MédecinePrev"
    APP_ICON = ""
    APP_THEME = ""

    SECRET_KEY = os.environ.get("SECRET_KEY") or instance_secret(INSTANCE_DIR / "secret_key")
    SQLALCHEMY_DATABASE_URI = database_url(
        os.environ.get("DATABASE_URL"), f"sqlite:///{INSTANCE_DIR / 'medecineprev.db'}"
    )
    SQLALCHEMY_TRACK_MODIFICATIONS = False
    SQLALCHEMY_ENGINE_OPTIONS: dict[str, object] = {"pool_pre_ping": True}

    # The schema comes from Flask-Migrate only; permissions are synced by `flask seed-roles`.
    FAB_CREATE_DB = False
    FAB_UPDATE_PERMS = False
    FAB_ADD_SECURITY_PERMISSION_VIEW = False
    FAB_ADD_SECURITY_VIEW_MENU_VIEW = False
    FAB_ADD_SECURITY_PERMISSION_VIEWS_VIEW = False
    FAB_API_SWAGGER_UI = True
    FAB_API_MAX_PAGE_SIZE = 100
    FAB_SECURITY_MANAGER_CLASS = "app.security.SecurityManager"
    FAB_INDEX_VIEW = "app.home.HomeView"
    FAB_BASE_TEMPLATE = "medprev/baselayout.html"
    AUTH_TYPE = AUTH_DB
    AUTH_USER_REGISTRATION = False
    AUTH_ROLE_ADMIN = "Admin"
    AUTH_ROLE_PUBLIC = "Public"
    AUTH_RATE_LIMITED = True
    AUTH_RATE_LIMIT = "10 per 20 second"
    RATELIMIT_ENABLED = True
    # Several web nodes share their rate-limit counters through Redis (REDIS_URL); one node
    # without Redis keeps them in memory (docs/deployment.md).
    REDIS_URL = os.environ.get("REDIS_URL", "")
    RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI") or REDIS_URL or "memory://"
    # Reverse proxies in front of the app (0: none). With N, the client address and scheme are
    # read from the last N X-Forwarded-For / X-Forwarded-Proto hops (werkzeug's ProxyFix): the
    # login throttling then counts per client, not per proxy.
    TRUSTED_PROXIES = int(os.environ.get("TRUSTED_PROXIES", "0") or 0)
    FAB_PASSWORD_COMPLEXITY_ENABLED = True
    FAB_PASSWORD_COMPLEXITY_VALIDATOR = "app.accounts.passwords.check_password_policy"
    # Failed logins before an account is locked, and for how long (minutes).
    LOGIN_MAX_FAILURES = 5
    LOGIN_LOCK_MINUTES = 15
    JWT_ACCESS_TOKEN_EXPIRES = 3600

    WTF_CSRF_ENABLED = True
    WTF_CSRF_TIME_LIMIT = None
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = secure_cookies(os.environ.get("PUBLIC_URL", ""))
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_SECURE = SESSION_COOKIE_SECURE

    BABEL_DEFAULT_LOCALE = "fr"
    BABEL_DEFAULT_TIMEZONE = "Europe/Paris"
    BABEL_TRANSLATION_DIRECTORIES = str(BASE_DIR / "app" / "translations")
    LANGUAGES = {"fr": {"flag": "fr", "name": "Français"}}

    # Mail: SMTP when MAIL_SERVER is set, otherwise the outbox folder (listed in an admin view).
    MAIL_SERVER = os.environ.get("MAIL_SERVER", "")
    MAIL_PORT = int(os.environ.get("MAIL_PORT", "587"))
    MAIL_USE_TLS = env_bool("MAIL_USE_TLS", True)
    MAIL_USERNAME = os.environ.get("MAIL_USERNAME", "")
    MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD", "")
    MAIL_DEFAULT_SENDER = os.environ.get(
        "MAIL_DEFAULT_SENDER", "MédecinePrev <no-reply@medecineprev.local>"
    )
    # The secretariat's mailbox: refusals of plages by employers are sent there.
    SECRETARIAT_EMAIL = os.environ.get("SECRETARIAT_EMAIL", "secretariat@medecineprev.local")
    OUTBOX_DIR = os.environ.get("OUTBOX_DIR", str(INSTANCE_DIR / "outbox"))
    UPLOAD_DIR = os.environ.get("UPLOAD_DIR", str(INSTANCE_DIR / "uploads"))
    MAX_CONTENT_LENGTH = 32 * 1024 * 1024
    # Import files above this size are refused with a French message.
    IMPORT_MAX_BYTES = 20 * 1024 * 1024

    SCHEDULER_ENABLED = env_bool("SCHEDULER_ENABLED", False)
    # Public URL used in e-mails (links to set a password, ...): follows HOST and PORT.
    PUBLIC_URL = public_url(os.environ)
    # Business wall-clock time zone: plages and appointments are stored in this local time.
    LOCAL_TIMEZONE = "Europe/Paris"
    # Logs: "text" (development) or "json" (production: one JSON line per record on stderr).
    LOG_FORMAT = os.environ.get("LOG_FORMAT", "text")
    LOG_LEVEL = os.environ.get("LOG_LEVEL", "INFO")
    # Prometheus metrics at /metrics for "Authorization: Bearer <METRICS_TOKEN>"; 404 unset.
    METRICS_TOKEN = os.environ.get("METRICS_TOKEN", "")
    # Invoices (SPEC F7): the CDG as creditor, payment instructions, legal mentions. No VAT line
    # is printed unless INVOICE_VAT_RATE is set (a percentage, e.g. "20"): a public body's
    # contributions are outside the scope of VAT (article 256 B du CGI).
    CDG_NAME = os.environ.get("CDG_NAME", "Centre de gestion de la fonction publique territoriale")
    CDG_ADDRESS = os.environ.get("CDG_ADDRESS", "")
    CDG_SIRET = os.environ.get("CDG_SIRET", "")
    CDG_IBAN = os.environ.get("CDG_IBAN", "")
    CDG_BIC = os.environ.get("CDG_BIC", "")
    CDG_PAYEE = os.environ.get("CDG_PAYEE", "Paierie départementale (comptable public)")
    INVOICE_VAT_RATE = os.environ.get("INVOICE_VAT_RATE", "")
    # Factur-X (issue 18): postcode and city of the CDG when CDG_ADDRESS does not end with them
    # (« 9 allée X, 69110 Ville »), and its VAT number (only printed when INVOICE_VAT_RATE is set).
    CDG_POSTCODE = os.environ.get("CDG_POSTCODE", "")
    CDG_CITY = os.environ.get("CDG_CITY", "")
    CDG_VAT_NUMBER = os.environ.get("CDG_VAT_NUMBER", "")
    # Chorus Pro API (issue 18): without URL and token, deposit batches are download only.
    CHORUS_API_URL = os.environ.get("CHORUS_API_URL", "")
    CHORUS_API_TOKEN = os.environ.get("CHORUS_API_TOKEN", "")
    CHORUS_LOGIN = os.environ.get("CHORUS_LOGIN", "")
    CHORUS_PASSWORD = os.environ.get("CHORUS_PASSWORD", "")
    CHORUS_TIMEOUT = float(os.environ.get("CHORUS_TIMEOUT", "20"))
    # SEPA direct debit (issue 18): the CDG's SEPA creditor identifier (ICS), written in pain.008
    # files with CDG_NAME, CDG_IBAN and CDG_BIC. The default is a demo value (valid key).
    SEPA_CREDITOR_ID = os.environ.get("SEPA_CREDITOR_ID", "FR78ZZZ123456")


class TestConfig(Config):
    TESTING = True
    SECRET_KEY = secrets.token_hex(32)
    SQLALCHEMY_DATABASE_URI = database_url(
        os.environ.get("TEST_DATABASE_URL"), "sqlite:///:memory:"
    )
    SQLALCHEMY_ENGINE_OPTIONS: dict[str, object] = {}
    RATELIMIT_ENABLED = False
    RATELIMIT_STORAGE_URI = "memory://"
    REDIS_URL = ""
    LOG_FORMAT = "text"
    METRICS_TOKEN = ""
    WTF_CSRF_ENABLED = True
    FAB_PASSWORD_HASH_METHOD = "pbkdf2:sha256:1000"
    MAIL_SERVER = ""
    SCHEDULER_ENABLED = False
