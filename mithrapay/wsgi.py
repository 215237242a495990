"""The WSGI application that gunicorn serves."""

import os

from django.core.wsgi import get_wsgi_application

from mithrapay.environment import SettingsError

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mithrapay.settings")

try:
    application = get_wsgi_application()
except SettingsError as exc:
    raise SystemExit(f"MithraPay cannot start: {exc}") from None
