"""The shop's real processes for the fuzzing and end-to-end runs.

A :class:`Stack` owns one throw-away MariaDB database and one Redis database
number, runs ``manage.py`` against them under production settings, and starts
gunicorn and Celery in their own process groups. Everything it started is
stopped when the run ends, however it ends (normal exit, an exception,
Ctrl-C or SIGTERM from CI).
"""

import atexit
import base64
import contextlib
import json
import logging
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import requests

BASE_DIR = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent

logger = logging.getLogger("e2e.stack")


class StackError(RuntimeError):
    """The stack could not be brought up; the message says which part."""


def _require_env(name: str, scheme: str) -> str:
    value = os.environ.get(name, "")
    if not value.startswith(scheme):
        raise StackError(
            f"{name} must name the real server ({scheme}…); "
            "these runs need MariaDB and Redis"
        )
    return value


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Stack:
    """Production-like settings on a dedicated database ``db_name``.

    ``DATABASE_URL`` and ``REDIS_URL`` give the servers and credentials; only
    the database name and the Redis database number are replaced, so the
    shop's own data is never touched. The database user needs every
    privilege on ``db_name`` (``.ci/run`` grants it).
    """

    def __init__(self, *, db_name: str, redis_db: int, extra_env: dict | None = None):
        database = urlsplit(_require_env("DATABASE_URL", "mysql://"))
        redis = urlsplit(_require_env("REDIS_URL", "redis://"))
        self.database_url = urlunsplit(database._replace(path=f"/{db_name}"))
        self.redis_url = urlunsplit(redis._replace(path=f"/{redis_db}"))
        self.db_name = db_name
        self._db = database
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.processes: dict[str, subprocess.Popen] = {}
        self.env = self._environment(extra_env or {})
        atexit.register(self.stop)
        for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(signum, self._on_signal)

    def _environment(self, extra: dict) -> dict:
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("DB_", "DJANGO_", "THROTTLE_"))
        }
        env.update(
            {
                "APP_ENV": "production",
                "ENV_FILE": "/dev/null",
                # Fresh secrets for every run: nothing signed survives it.
                "SECRET_KEY": secrets.token_urlsafe(48),
                "JWT_SECRET": secrets.token_urlsafe(48),
                "CODE_ENCRYPTION_KEYS": base64.urlsafe_b64encode(
                    secrets.token_bytes(32)
                ).decode(),
                "CODE_DIGEST_KEY": secrets.token_urlsafe(32),
                "ALLOWED_HOSTS": "127.0.0.1,localhost",
                "DATABASE_URL": self.database_url,
                "REDIS_URL": self.redis_url,
                "CACHE_KEY_PREFIX": f"mithrapay-{self.db_name}",
                # Plain HTTP on the loopback: no TLS proxy in front.
                "SECURE_SSL_REDIRECT": "false",
                "BEHIND_TLS_PROXY": "false",
                "PAYMENT_SANDBOX_ENABLED": "1",
                "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
                "LOG_LEVEL": "WARNING",
                "PYTHONUNBUFFERED": "1",
            }
        )
        env.update(extra)
        return env

    # --- Database ------------------------------------------------------------

    def reset_database(self) -> None:
        """Drop and create the dedicated database, and empty its Redis DB."""
        import MySQLdb

        connection = MySQLdb.connect(
            host=self._db.hostname or "127.0.0.1",
            port=self._db.port or 3306,
            user=self._db.username or "",
            password=self._db.password or "",
        )
        try:
            cursor = connection.cursor()
            cursor.execute(f"DROP DATABASE IF EXISTS `{self.db_name}`")
            cursor.execute(
                f"CREATE DATABASE `{self.db_name}` "
                "CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
            )
        finally:
            connection.close()
        self.manage("shell", "-c", "from django.core.cache import cache; cache.clear()")

    def manage(self, *args: str, capture: bool = False) -> str:
        result = subprocess.run(  # noqa: S603
            [str(BIN / "python"), "manage.py", *args],
            cwd=BASE_DIR,
            env=self.env,
            check=False,
            capture_output=capture,
            text=True,
            timeout=600,
        )
        if result.returncode != 0:
            detail = (result.stderr or "").strip()[-2000:] if capture else ""
            raise StackError(f"manage.py {' '.join(args[:1])} failed {detail}")
        return result.stdout if capture else ""

    def manage_json(self, code: str) -> dict:
        """Run ``code`` in ``manage.py shell`` and read the JSON it prints last."""
        out = self.manage("shell", "-c", code, capture=True)
        return json.loads(out.strip().splitlines()[-1])

    def prepare(self) -> None:
        self.reset_database()
        self.manage("migrate", "--no-input", "-v", "0")
        self.manage("setup_roles")
        self.manage("seed_demo")

    # --- Processes -----------------------------------------------------------

    def start(self, name: str, argv: list[str], *, log_path: Path) -> None:
        log = log_path.open("ab")
        # A session of its own: stopping the group stops every child too.
        self.processes[name] = subprocess.Popen(  # noqa: S603
            argv,
            cwd=BASE_DIR,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        logger.info(
            "started %s (pid %s), log in %s", name, self.processes[name].pid, log_path
        )

    def start_gunicorn(self, *, log_dir: Path, workers: int = 3) -> None:
        self.env["GUNICORN_BIND"] = f"127.0.0.1:{self.port}"
        self.env["GUNICORN_WORKERS"] = str(workers)
        self.start(
            "gunicorn",
            [
                str(BIN / "gunicorn"),
                "--config",
                "deploy/gunicorn.conf.py",
                "mithrapay.wsgi",
            ],
            log_path=log_dir / "gunicorn.log",
        )
        self.wait_ready()

    def start_worker(self, *, log_dir: Path) -> None:
        self.start(
            "celery",
            [
                str(BIN / "celery"),
                "-A",
                "mithrapay",
                "worker",
                "--concurrency=2",
                "--loglevel=WARNING",
                "--without-gossip",
                "--without-mingle",
            ],
            log_path=log_dir / "celery.log",
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            self._check_alive()
            probe = subprocess.run(  # noqa: S603
                [str(BIN / "celery"), "-A", "mithrapay", "inspect", "ping", "-t", "2"],
                cwd=BASE_DIR,
                env=self.env,
                capture_output=True,
                check=False,
            )
            if probe.returncode == 0:
                return
            time.sleep(1)
        raise StackError("the Celery worker did not answer a ping within 60 s")

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._check_alive()
            try:
                if requests.get(f"{self.base_url}/health/ready", timeout=2).ok:
                    return
            except requests.ConnectionError:
                pass
            time.sleep(0.5)
        raise StackError(f"{self.base_url}/health/ready was not 200 within {timeout} s")

    def _check_alive(self) -> None:
        for name, process in self.processes.items():
            if process.poll() is not None:
                raise StackError(f"{name} exited with {process.returncode}")

    def stop(self) -> None:
        """SIGTERM every process group, then SIGKILL what is left after 20 s."""
        for process in self.processes.values():
            # The group, even when its leader is gone: workers may linger.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 20
        for process in self.processes.values():
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        self.processes.clear()

    def _on_signal(self, signum, frame):
        self.stop()
        raise SystemExit(128 + signum)
