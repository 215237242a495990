"""Settings come from the environment; the earlier deployment's names work."""

import os
import subprocess
import sys
from pathlib import Path

import environ
import pytest

from mithrapay import environment
from mithrapay.environment import SettingsError

BASE_DIR = Path(__file__).resolve().parents[2]

PRODUCTION_ENV = {
    "APP_ENV": "production",
    "SECRET_KEY": "p7$Lq2!vR9zX4@mN8#kT1^wY6&bH3*cJ5(dF0)gS-eA_uQ+iO=",
    "JWT_SECRET": "jwt-6Hq9Vx2Lp8Zr4Tn1Wm7Ks3Yd5Fb0Gc-production-only",
    "ALLOWED_HOSTS": "shop.example.com",
    "DATABASE_URL": "mysql://shop:pw@db.internal:3306/mithrapay",
    "REDIS_URL": "redis://cache.internal:6379/0",
    "CODE_ENCRYPTION_KEYS": "rF0qXvT4CHH5CXj9r_zBSpduI8VLwlqiPqwKwLThVLI=",
    "CODE_DIGEST_KEY": "digest-key-for-tests-4f1c9a7e2b",
}


def reader() -> environment.Reader:
    return environment.Reader(environ.Env())


@pytest.fixture
def clean_env(monkeypatch):
    for name in (
        "DATABASE_URL",
        "DB_HOST",
        "DB_PORT",
        "DB_USER",
        "DB_PASS",
        "DB_NAME",
        "OTP_EXPIRE_SECONDS",
    ):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_legacy_db_variables_make_a_mariadb_url(clean_env):
    clean_env.setenv("DB_HOST", "db.internal")
    clean_env.setenv("DB_PORT", "3307")
    clean_env.setenv("DB_USER", "shop")
    clean_env.setenv("DB_PASS", "p@ss:word/1")
    clean_env.setenv("DB_NAME", "mithrapay")

    url = environment.database_url(reader())
    config = environment.database_config(url, sqlite_path=Path("x"), conn_max_age=0)

    assert config["ENGINE"] == "mithrapay.db.mysql"
    assert (config["HOST"], config["PORT"]) == ("db.internal", 3307)
    assert (config["USER"], config["PASSWORD"]) == ("shop", "p@ss:word/1")
    assert config["NAME"] == "mithrapay"
    assert config["OPTIONS"]["charset"] == "utf8mb4"
    assert config["OPTIONS"]["isolation_level"] == "read committed"
    assert "STRICT_TRANS_TABLES" in config["OPTIONS"]["init_command"]
    assert config["TEST"] == {"CHARSET": "utf8mb4", "COLLATION": "utf8mb4_unicode_ci"}


def test_database_url_wins_over_legacy_variables(clean_env):
    clean_env.setenv("DB_HOST", "legacy.internal")
    clean_env.setenv("DATABASE_URL", "mysql://u:p@new.internal:3306/shop")

    url = environment.database_url(reader())

    assert url == "mysql://u:p@new.internal:3306/shop"


def test_no_database_variables_means_the_sqlite_file(clean_env, tmp_path):
    url = environment.database_url(reader())
    config = environment.database_config(
        url, sqlite_path=tmp_path / "db.sqlite3", conn_max_age=0
    )

    assert url == ""
    assert config["ENGINE"] == "django.db.backends.sqlite3"


def test_unsupported_database_scheme_is_refused():
    with pytest.raises(SettingsError, match="DATABASE_URL"):
        environment.database_config(
            "postgres://u:p@h/db", sqlite_path=Path("x"), conn_max_age=0
        )


@pytest.mark.parametrize(
    ("value", "message"),
    [("abc", "whole number"), ("900", "at most 600"), ("5", "at least 30")],
)
def test_otp_expire_seconds_is_checked(clean_env, value, message):
    clean_env.setenv("OTP_EXPIRE_SECONDS", value)

    with pytest.raises(SettingsError, match=f"OTP_EXPIRE_SECONDS.*{message}"):
        reader().int("OTP_EXPIRE_SECONDS", 120, minimum=30, maximum=600)


def test_rates_are_parsed():
    assert environment.parse_rate("10/hour") == (10, 3600)
    assert environment.parse_rate("10/15m") == (10, 900)
    assert environment.parse_rate("5/day") == (5, 86400)
    with pytest.raises(ValueError, match="not a rate"):
        environment.parse_rate("ten per hour")


def test_redis_url_must_be_redis(clean_env):
    clean_env.setenv("REDIS_URL", "http://cache")

    with pytest.raises(SettingsError, match="REDIS_URL"):
        environment.redis_url(reader())


def run_manage(*args, env_overrides, cwd=BASE_DIR):
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DB_", "DJANGO_")) and key not in PRODUCTION_ENV
    }
    env["ENV_FILE"] = "/dev/null"
    env.update(env_overrides)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize(
    "missing",
    [
        "SECRET_KEY",
        "JWT_SECRET",
        "ALLOWED_HOSTS",
        "DATABASE_URL",
        "REDIS_URL",
        "CODE_ENCRYPTION_KEYS",
        "CODE_DIGEST_KEY",
    ],
)
def test_production_refuses_to_start_without_a_required_value(missing):
    overrides = {k: v for k, v in PRODUCTION_ENV.items() if k != missing}

    result = run_manage("check", env_overrides=overrides)

    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert missing in lines[0]


def test_production_refuses_a_known_default_secret():
    overrides = {**PRODUCTION_ENV, "SECRET_KEY": "change-me"}

    result = run_manage("check", env_overrides=overrides)

    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_a_broken_value_stops_the_start_with_one_line():
    overrides = {"APP_ENV": "development", "OTP_EXPIRE_SECONDS": "soon"}

    result = run_manage("check", env_overrides=overrides)

    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [
        "MithraPay cannot start: OTP_EXPIRE_SECONDS must be a whole number, not 'soon'"
    ]


def test_an_unknown_app_env_is_refused():
    result = run_manage("check", env_overrides={"APP_ENV": "staging"})

    assert result.returncode != 0
    assert "APP_ENV" in result.stderr


def test_check_deploy_is_clean_in_production(tmp_path):
    # A SQLite URL keeps the check independent of the MariaDB driver, which a
    # laptop may lack; the deploy checks do not depend on the database.
    overrides = {**PRODUCTION_ENV, "DATABASE_URL": f"sqlite:///{tmp_path}/db.sqlite3"}

    result = run_manage(
        "check", "--deploy", "--fail-level", "WARNING", env_overrides=overrides
    )

    assert result.returncode == 0, result.stderr
    assert "WARNING" not in result.stderr
    assert "System check identified no issues" in result.stdout


def test_debug_is_off_unless_set(settings):
    # The test run sets no DEBUG; the default must be off.
    assert settings.DEBUG is False


def test_every_variable_read_is_listed_in_env_example():
    import re

    sources = (BASE_DIR / "mithrapay" / "settings.py").read_text() + (
        BASE_DIR / "mithrapay" / "environment.py"
    ).read_text()
    read = set(re.findall(r'(?:env|reader)\.\w+\(\s*"([A-Z][A-Z0-9_]+)"', sources))
    listed = set(
        re.findall(
            r"^#?\s*([A-Z][A-Z0-9_]+)=", (BASE_DIR / ".env.example").read_text(), re.M
        )
    )

    assert read
    assert read - listed == set()
