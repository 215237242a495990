"""gunicorn settings for MithraPay; each can be overridden from the environment.

Graceful reload: ``kill -HUP <master pid>`` re-reads this file and the
application, starts new workers and retires the old ones once they finish
their current request (up to ``graceful_timeout``), so a deploy of new code
drops no request. ``kill -TERM`` stops gracefully the same way; ``kill -QUIT``
stops at once. ``preload_app`` stays off so a HUP really loads new code.

Logs: access and error lines go to stdout and stderr. In production (or with
``LOG_FORMAT=json``) both are one JSON object per line, in the same shape as
the app's own log (``mithrapay.logformat``), so one query covers both.
"""

import gc
import multiprocessing
import os
import sys
from pathlib import Path

# The project's own modules (the log formatter) load from beside deploy/.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")

# Sync workers: each request holds one database connection for its duration,
# which is what Django's connection handling expects. Cores + 1: on the
# 2-core benchmark machine 3 workers served 3,042 req/s of GET / and 139
# orders/s, 5 workers 2,419 and 109 (more workers only added switching, as
# MariaDB and Redis share the cores); a host with the database elsewhere may
# want 2 × cores + 1. The worker is gunicorn's sync worker with each
# connection corked (mithrapay/workers.py): a small answer leaves in one TCP
# segment instead of three, which served 8 % more GET / on that machine.
workers = int(os.environ.get("GUNICORN_WORKERS", multiprocessing.cpu_count() + 1))
worker_class = os.environ.get(
    "GUNICORN_WORKER_CLASS", "mithrapay.workers.CorkedSyncWorker"
)

# A worker silent for `timeout` seconds is killed and replaced; no request
# should take that long (gateway calls time out after ZARINPAL_TIMEOUT).
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "30"))
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", "5"))
preload_app = False

# Workers are recycled now and then, so a slow leak cannot grow without bound;
# the jitter keeps them from restarting all at once. Each restart re-imports
# Django, so the period is long: at 2,000 the benchmark lost 40% of GET /.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "50000"))
max_requests_jitter = max_requests // 10

# Request size limits, before Django sees anything.
limit_request_line = 8190
limit_request_fields = 100
limit_request_field_size = 8190

# Only these peers may set the scheme through X-Forwarded-Proto; the same
# proxies are the app's TRUSTED_PROXIES (which picks the client address).
forwarded_allow_ips = (
    os.environ.get("FORWARDED_ALLOW_IPS")
    or os.environ.get("TRUSTED_PROXIES")
    or "127.0.0.1"
)

accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
access_log_format = '%(h)s "%(m)s %(U)s" %(s)s %(B)s %(M)sms'

_production = os.environ.get("APP_ENV") == "production"
_json = os.environ.get("LOG_FORMAT", "json" if _production else "text") == "json"
if _json:
    from mithrapay.logformat import JSON_FORMAT, RENAMED_FIELDS

    _formatter = {
        "()": "pythonjsonlogger.json.JsonFormatter",
        "format": JSON_FORMAT,
        "rename_fields": RENAMED_FIELDS,
    }
    logconfig_dict = {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "json": _formatter,
            "access": {**_formatter, "()": "mithrapay.logformat.AccessFormatter"},
        },
        "handlers": {
            "error": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "stream": "ext://sys.stderr",
            },
            "access": {
                "class": "logging.StreamHandler",
                "formatter": "access",
                "stream": "ext://sys.stdout",
            },
        },
        "root": {"level": "INFO", "handlers": ["error"]},
        "loggers": {
            "gunicorn.error": {
                "level": loglevel.upper(),
                "handlers": ["error"],
                "propagate": False,
            },
            "gunicorn.access": {
                "level": "INFO",
                "handlers": ["access"],
                "propagate": False,
            },
        },
    }


def post_worker_init(worker):
    """Once a worker has loaded the application, load the URL configuration
    too (and with it every view, serializer and model module), then move
    everything allocated so far out of the garbage collector's reach.

    Those objects live as long as the worker; left in the collector's oldest
    generation, every full collection walked all of them (about 120,000),
    a pause of 40-60 ms every thousand or so requests, which a request
    waiting on that worker saw as latency.
    """
    from django.urls import get_resolver

    get_resolver().url_patterns  # noqa: B018 (imports every URL's views)
    gc.collect()
    gc.freeze()
