"""Which gateways are on, as settings decide it."""

import json

import pytest

from mithrapay.tests.test_settings import PRODUCTION_ENV, run_manage

SHOW_GATEWAYS = (
    "import json; from django.conf import settings; "
    "from payments import gateways; "
    "print(json.dumps([settings.PAYMENT_SANDBOX_ENABLED, gateways.available()]))"
)


@pytest.mark.parametrize(
    ("overrides", "sandbox_on"),
    [
        ({}, False),
        ({"PAYMENT_SANDBOX_ENABLED": "0"}, False),
        ({"PAYMENT_SANDBOX_ENABLED": "1"}, True),
    ],
    ids=["unset", "0", "1"],
)
def test_production_keeps_the_sandbox_off_unless_enabled(
    tmp_path, overrides, sandbox_on
):
    env = {
        **PRODUCTION_ENV,
        "DATABASE_URL": f"sqlite:///{tmp_path}/db.sqlite3",
        **overrides,
    }

    result = run_manage("shell", "-c", SHOW_GATEWAYS, env_overrides=env)

    assert result.returncode == 0, result.stderr
    enabled, available = json.loads(result.stdout.strip().splitlines()[-1])
    assert enabled is sandbox_on
    assert ("sandbox" in available) is sandbox_on


def test_outside_production_the_sandbox_is_on_by_default(tmp_path):
    env = {"APP_ENV": "development", "DATABASE_URL": f"sqlite:///{tmp_path}/db"}

    result = run_manage("shell", "-c", SHOW_GATEWAYS, env_overrides=env)

    assert result.returncode == 0, result.stderr
    enabled, available = json.loads(result.stdout.strip().splitlines()[-1])
    assert enabled is True
    assert "sandbox" in available
