"""Reading the process environment into settings.

Every variable the project reads is listed in ``.env.example``. The variable
names of the earlier deployment (``DB_HOST``, ``DB_PASS``, ``JWT_SECRET``…)
keep working; ``DATABASE_URL`` wins over the ``DB_*`` parts when both are set.
A missing or malformed value stops the start with :class:`SettingsError`,
whose message is one line naming the variable.
"""

import ipaddress
import re
from pathlib import Path
from urllib.parse import quote

import environ
from django.core.exceptions import ImproperlyConfigured

APP_ENVS = ("development", "test", "production")

# Values that ship in .env.example or in the code as placeholders. Production
# refuses to start with any of them.
KNOWN_DEFAULT_SECRETS = frozenset(
    {
        "",
        "change-me",
        "changeme",
        "secret",
        "dev-secret-key",
        "dev-jwt-secret",
        "insecure-development-secret-key-do-not-use-in-production",
        "insecure-development-jwt-secret-do-not-use-in-production",
    }
)


class SettingsError(ImproperlyConfigured):
    """A setting is missing or malformed; the message names the variable."""


def read_env_file(path: Path) -> environ.Env:
    """Load ``path`` (when it exists) into ``os.environ`` and return a reader.

    Values already in the process environment win over the file, so a
    deployment can override any line of it.
    """
    if path.is_file():
        try:
            environ.Env.read_env(path, overwrite=False)
        except (OSError, UnicodeDecodeError) as exc:
            raise SettingsError(f"{path}: cannot be read ({exc})") from exc
    return environ.Env()


class Reader:
    """Typed access to the environment with one-line errors."""

    def __init__(self, env: environ.Env):
        self.env = env

    def has(self, name: str) -> bool:
        return self.env.str(name, default="").strip() != ""

    def str(self, name: str, default: str = "") -> str:
        return self.env.str(name, default=default).strip()

    def int(self, name: str, default: int, *, minimum=None, maximum=None) -> int:
        raw = self.str(name)
        if raw == "":
            return default
        try:
            value = int(raw)
        except ValueError:
            raise SettingsError(f"{name} must be a whole number, not {raw!r}") from None
        if minimum is not None and value < minimum:
            raise SettingsError(f"{name} must be at least {minimum}, not {value}")
        if maximum is not None and value > maximum:
            raise SettingsError(f"{name} must be at most {maximum}, not {value}")
        return value

    def bool(self, name: str, default: bool = False) -> bool:
        raw = self.str(name).lower()
        if raw == "":
            return default
        if raw in {"1", "true", "yes", "on"}:
            return True
        if raw in {"0", "false", "no", "off"}:
            return False
        raise SettingsError(f"{name} must be true or false, not {raw!r}")

    def list(self, name: str, default=()) -> list:
        raw = self.str(name)
        if raw == "":
            return list(default)
        return [item.strip() for item in raw.split(",") if item.strip()]

    def networks(self, name: str) -> tuple[str, ...]:
        """Comma-separated IP addresses or CIDR blocks, normalised
        (``10.0.0.0/8``, ``192.0.2.7`` becomes ``192.0.2.7/32``)."""
        found = []
        for item in self.list(name):
            try:
                found.append(str(ipaddress.ip_network(item, strict=False)))
            except ValueError:
                raise SettingsError(
                    f"{name} must list IP addresses or networks, not {item!r}"
                ) from None
        return tuple(found)

    def choice(self, name: str, choices, default: str) -> str:
        value = self.str(name, default) or default
        if value not in choices:
            allowed = ", ".join(choices)
            raise SettingsError(f"{name} must be one of {allowed}, not {value!r}")
        return value

    def rate(self, name: str, default: str) -> str:
        """A throttle rate such as ``10/hour`` or ``10/15m``."""
        value = self.str(name, default) or default
        try:
            parse_rate(value)
        except ValueError:
            raise SettingsError(
                f"{name} must be a rate such as 10/hour or 10/15m, not {value!r}"
            ) from None
        return value


def app_env(reader: Reader) -> str:
    return reader.choice("APP_ENV", APP_ENVS, "development")


def database_url(reader: Reader) -> str:
    """The database to use, as a URL; empty for the embedded SQLite file.

    ``DATABASE_URL`` wins. Otherwise the earlier deployment's ``DB_HOST``,
    ``DB_PORT``, ``DB_USER``, ``DB_PASS`` and ``DB_NAME`` describe a MariaDB
    server.
    """
    if reader.has("DATABASE_URL"):
        return reader.str("DATABASE_URL")
    if not (reader.has("DB_HOST") or reader.has("DB_NAME")):
        return ""
    host = reader.str("DB_HOST", "127.0.0.1")
    port = reader.int("DB_PORT", 3306, minimum=1, maximum=65535)
    user = quote(reader.str("DB_USER", "mithrapay"), safe="")
    password = quote(reader.str("DB_PASS"), safe="")
    name = quote(reader.str("DB_NAME", "mithrapay"), safe="")
    credentials = f"{user}:{password}@" if password else f"{user}@"
    return f"mysql://{credentials}{host}:{port}/{name}"


def database_config(url: str, *, sqlite_path: Path, conn_max_age: int) -> dict:
    if not url:
        return {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(sqlite_path),
            "OPTIONS": {"timeout": 20},
        }
    try:
        config = environ.Env.db_url_config(url)
    except Exception as exc:  # django-environ raises several kinds here
        raise SettingsError(f"DATABASE_URL is not a database URL ({exc})") from None
    engine = config.get("ENGINE", "")
    if engine == "django.db.backends.mysql":
        # Django's MySQL backend with a health check at most once a second
        # per connection (mithrapay/db/mysql/base.py).
        config["ENGINE"] = "mithrapay.db.mysql"
        config["OPTIONS"] = {
            "charset": "utf8mb4",
            "init_command": (
                "SET sql_mode='STRICT_TRANS_TABLES,ERROR_FOR_DIVISION_BY_ZERO,"
                "NO_ENGINE_SUBSTITUTION', "
                "collation_connection='utf8mb4_unicode_ci'"
            ),
            "isolation_level": "read committed",
            "connect_timeout": 5,
            **config.get("OPTIONS", {}),
        }
        config["TEST"] = {"CHARSET": "utf8mb4", "COLLATION": "utf8mb4_unicode_ci"}
    elif engine != "django.db.backends.sqlite3":
        raise SettingsError("DATABASE_URL must point at MariaDB (mysql://) or SQLite")
    config["CONN_MAX_AGE"] = conn_max_age
    config["CONN_HEALTH_CHECKS"] = True
    return config


def redis_url(reader: Reader) -> str:
    url = reader.str("REDIS_URL")
    if url and not url.startswith(("redis://", "rediss://", "unix://")):
        raise SettingsError("REDIS_URL must start with redis://, rediss:// or unix://")
    return url


def check_production(values: dict) -> None:
    """Refuse to start production on a missing or placeholder secret.

    ``values`` maps each required variable name to the value the settings
    resolved for it. Provider credentials (gateway, SMS, email) are checked
    when that provider is used, not here.
    """
    for name, value in values.items():
        if str(value).strip() in KNOWN_DEFAULT_SECRETS:
            raise SettingsError(f"{name} must be set to a real value in production")


_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_WORDS = {
    "sec": "s",
    "second": "s",
    "seconds": "s",
    "min": "m",
    "minute": "m",
    "minutes": "m",
    "hour": "h",
    "hours": "h",
    "day": "d",
    "days": "d",
}
_RATE = re.compile(r"^\s*(\d+)\s*/\s*(\d*)\s*([a-z]+)\s*$")


def parse_rate(rate: str) -> tuple[int, int]:
    """``"10/hour"`` → ``(10, 3600)``; ``"10/15m"`` → ``(10, 900)``."""
    match = _RATE.match(rate.lower())
    if not match:
        raise ValueError(f"not a rate: {rate!r}")
    limit, multiplier, unit = match.groups()
    unit = _WORDS.get(unit, unit)
    if unit not in _UNITS or int(limit) < 1:
        raise ValueError(f"not a rate: {rate!r}")
    seconds = int(multiplier or 1) * _UNITS[unit]
    if seconds < 1:
        raise ValueError(f"not a rate: {rate!r}")
    return int(limit), seconds
