#!/usr/bin/env python
"""Django's command-line utility for MithraPay."""

import os
import sys


def main():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mithrapay.settings")
    from django.core.management import execute_from_command_line

    from mithrapay.environment import SettingsError

    try:
        from django.conf import settings

        settings.INSTALLED_APPS  # noqa: B018 - reading it loads the settings
    except SettingsError as exc:
        sys.exit(f"MithraPay cannot start: {exc}")
    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
