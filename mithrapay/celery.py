"""The Celery app: the Redis broker from REDIS_URL, or in-process without one."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mithrapay.settings")

app = Celery("mithrapay")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
