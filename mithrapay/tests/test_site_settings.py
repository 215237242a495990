"""Site settings: staff change them in the admin and every read sees the change."""

import json
import os
import subprocess
import sys
from datetime import timedelta
from http import HTTPStatus
from pathlib import Path

import pytest
from constance import config
from django.conf import settings
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.core import mail
from django.core.management import CommandError, call_command
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.roles import SUPPORT
from accounts.tests.factories import UserFactory
from catalog.tests.factories import ProductFactory
from mithrapay import site_settings
from orders.models import Order, Subscription
from orders.tests.factories import VariantFactory, add_codes

pytestmark = pytest.mark.django_db

BASE_DIR = Path(__file__).resolve().parents[2]
CONFIG_PAGE = "/admin/constance/config/"


@pytest.fixture(autouse=True)
def _fresh_content_types():
    """The admin logs each save against constance's content type, which is
    created on first use; a type cached by an earlier, rolled-back test
    would point at a row that no longer exists."""
    ContentType.objects.clear_cache()


def save_in_admin(client, **changes):
    """Submit the admin's site settings form with ``changes``, as staff do."""
    page = client.get(CONFIG_PAGE)
    assert page.status_code == HTTPStatus.OK
    form = page.context["form"]
    data = {"version": form.initial["version"]}
    for name in settings.CONSTANCE_CONFIG:
        value = changes.get(name, form.initial[name])
        if isinstance(value, bool):
            if value:
                data[name] = "on"
        else:
            data[name] = value
    return client.post(CONFIG_PAGE, data)


def _form_errors(response) -> dict:
    return response.context["form"].errors.as_data()


def _settings_in_a_fresh_process(**env_overrides) -> dict:
    """CONSTANCE_* settings as a new process computes them from its environment."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DB_", "DJANGO_")) and key != "REDIS_URL"
    }
    env.update({"APP_ENV": "test", "ENV_FILE": "/dev/null", **env_overrides})
    code = (
        "import json; from mithrapay import settings as s; print(json.dumps({"
        "'cache': s.CONSTANCE_DATABASE_CACHE_BACKEND, "
        "'defaults': {k: v[0] for k, v in s.CONSTANCE_CONFIG.items()}}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(result.stdout)


# --- GET /settings/public ----------------------------------------------------


@pytest.mark.parametrize("path", ["/settings/public", "/settings/public/"])
def test_public_settings_show_only_the_safe_keys(api_client, path):
    response = api_client.get(path)

    assert response.status_code == HTTPStatus.OK
    assert set(response.json()) == {
        "support_phone",
        "support_email",
        "notice_banner",
        "maintenance",
    }


def test_public_settings_never_show_the_private_ones(admin_client, api_client):
    save_in_admin(admin_client, ORDER_RESERVATION_MINUTES=987, RENEWAL_REMINDER_DAYS=59)

    body = api_client.get("/settings/public").json()

    assert config.ORDER_RESERVATION_MINUTES == 987
    assert "987" not in json.dumps(body)
    assert "59" not in json.dumps(body)
    assert not any("reservation" in key or "reminder" in key for key in body)


def test_public_settings_start_from_the_django_settings(api_client):
    body = api_client.get("/settings/public").json()

    assert body == {
        "support_phone": settings.SUPPORT_PHONE,
        "support_email": settings.SUPPORT_EMAIL,
        "notice_banner": settings.NOTICE_BANNER,
        "maintenance": settings.MAINTENANCE_MODE,
    }


def test_public_settings_are_read_only(api_client):
    response = api_client.post("/settings/public", {"notice_banner": "hacked"})

    assert response.status_code == HTTPStatus.METHOD_NOT_ALLOWED
    assert response.json()["code"] == "method_not_allowed"
    assert config.NOTICE_BANNER == settings.NOTICE_BANNER


def test_the_environment_gives_each_initial_value():
    computed = _settings_in_a_fresh_process(
        SUPPORT_PHONE="+982100000000",
        SUPPORT_EMAIL="help@shop.example",
        NOTICE_BANNER="Nowruz hours",
        MAINTENANCE_MODE="true",
        ORDER_RESERVATION_MINUTES="25",
        RENEWAL_REMINDER_DAYS="7",
    )

    assert computed["defaults"] == {
        "SUPPORT_PHONE": "+982100000000",
        "SUPPORT_EMAIL": "help@shop.example",
        "NOTICE_BANNER": "Nowruz hours",
        "MAINTENANCE_MODE": True,
        "ORDER_RESERVATION_MINUTES": 25,
        "RENEWAL_REMINDER_DAYS": 7,
    }


# --- A change takes effect without a restart ----------------------------------


def test_admin_change_is_seen_by_the_next_read_without_a_restart(
    admin_client, api_client
):
    before = api_client.get("/settings/public").json()

    saved = save_in_admin(
        admin_client,
        SUPPORT_PHONE="09121234567",
        SUPPORT_EMAIL="help@mithrapay.example",
        NOTICE_BANNER="Orders placed on Friday ship on Saturday.",
    )
    after = api_client.get("/settings/public").json()

    assert saved.status_code == HTTPStatus.FOUND
    assert before["notice_banner"] == settings.NOTICE_BANNER
    assert after == {
        "support_phone": "+989121234567",
        "support_email": "help@mithrapay.example",
        "notice_banner": "Orders placed on Friday ship on Saturday.",
        "maintenance": False,
    }


def test_stored_value_wins_over_the_django_setting(admin_client, settings):
    save_in_admin(admin_client, RENEWAL_REMINDER_DAYS=9)

    settings.RENEWAL_REMINDER_DAYS = 3

    assert site_settings.renewal_reminder_days() == 9


def test_reservation_minutes_follow_the_admin(admin_client):
    first = site_settings.order_reservation_minutes()

    save_in_admin(admin_client, ORDER_RESERVATION_MINUTES=first + 5)

    assert first == settings.ORDER_RESERVATION_MINUTES
    assert site_settings.order_reservation_minutes() == first + 5


def test_renewal_reminder_days_follow_the_admin(admin_client):
    first = site_settings.renewal_reminder_days()

    save_in_admin(admin_client, RENEWAL_REMINDER_DAYS=first + 1)

    assert first == settings.RENEWAL_REMINDER_DAYS
    assert site_settings.renewal_reminder_days() == first + 1


def test_an_order_placed_after_a_change_is_reserved_for_the_new_minutes(
    admin_client, monkeypatch
):
    minutes = settings.ORDER_RESERVATION_MINUTES + 32
    save_in_admin(admin_client, ORDER_RESERVATION_MINUTES=minutes)
    variant = VariantFactory()
    add_codes(variant, 1)
    customer = APIClient()
    customer.force_authenticate(user=UserFactory())
    frozen = timezone.now()
    monkeypatch.setattr(timezone, "now", lambda: frozen)

    response = customer.post(
        "/orders/", {"items": [{"variant": variant.pk, "quantity": 1}]}, format="json"
    )

    assert response.status_code == HTTPStatus.CREATED
    order = Order.objects.get(pk=response.json()["id"])
    assert order.expires_at == frozen + timedelta(minutes=minutes)


def _subscription(*, ends_at) -> Subscription:
    return Subscription.objects.create(
        user=UserFactory(),
        product=ProductFactory(kind="subscription", brand="Netflix"),
        service="Netflix",
        plan="Premium 1 month",
        starts_at=ends_at - timedelta(days=30),
        ends_at=ends_at,
    )


def test_renewal_reminders_follow_a_changed_window(admin_client, monkeypatch):
    days = settings.RENEWAL_REMINDER_DAYS + 6
    save_in_admin(admin_client, RENEWAL_REMINDER_DAYS=days)
    frozen = timezone.now()
    monkeypatch.setattr(timezone, "now", lambda: frozen)
    inside = _subscription(ends_at=frozen + timedelta(days=days) - timedelta(minutes=1))
    outside = _subscription(ends_at=frozen + timedelta(days=days, minutes=1))
    mail.outbox.clear()

    call_command("send_renewal_reminders", verbosity=0)

    assert [message.to for message in mail.outbox] == [[inside.user.email]]
    inside.refresh_from_db()
    outside.refresh_from_db()
    assert inside.reminder_sent_for == inside.ends_at
    assert outside.reminder_sent_for is None


def test_clearing_the_banner_hides_it(admin_client, api_client):
    save_in_admin(admin_client, NOTICE_BANNER="Sale!")

    save_in_admin(admin_client, NOTICE_BANNER="")

    assert api_client.get("/settings/public").json()["notice_banner"] == ""


@pytest.mark.redis
def test_settings_are_cached_in_redis_and_a_save_refreshes_the_cache(
    admin_client, api_client, django_assert_num_queries
):
    from django_redis.cache import RedisCache

    api_client.get("/settings/public")
    with django_assert_num_queries(0):
        cached = api_client.get("/settings/public").json()

    save_in_admin(admin_client, NOTICE_BANNER="Cached banner")
    with django_assert_num_queries(0):
        after = api_client.get("/settings/public").json()

    assert isinstance(config._backend._cache, RedisCache)
    assert cached["notice_banner"] == settings.NOTICE_BANNER
    assert after["notice_banner"] == "Cached banner"


def test_settings_are_cached_only_when_redis_is_configured():
    with_redis = _settings_in_a_fresh_process(REDIS_URL="redis://127.0.0.1:6379/9")
    without = _settings_in_a_fresh_process()

    assert with_redis["cache"] == "default"
    assert without["cache"] is None


# --- Validation in the admin --------------------------------------------------


@pytest.mark.parametrize(
    ("name", "value", "code"),
    [
        ("ORDER_RESERVATION_MINUTES", 0, "min_value"),
        ("ORDER_RESERVATION_MINUTES", -5, "min_value"),
        ("ORDER_RESERVATION_MINUTES", 1441, "max_value"),
        ("ORDER_RESERVATION_MINUTES", "soon", "invalid"),
        ("RENEWAL_REMINDER_DAYS", 0, "min_value"),
        ("RENEWAL_REMINDER_DAYS", 61, "max_value"),
        ("RENEWAL_REMINDER_DAYS", "", "required"),
        ("SUPPORT_EMAIL", "not-an-email", "invalid"),
        ("SUPPORT_PHONE", "12", "invalid"),
        ("SUPPORT_PHONE", "call us", "invalid"),
        ("NOTICE_BANNER", "x" * 301, "max_length"),
    ],
)
def test_admin_refuses_a_bad_value_and_keeps_the_old_one(
    admin_client, name, value, code
):
    before = getattr(config, name)

    response = save_in_admin(admin_client, **{name: value})

    assert response.status_code == HTTPStatus.OK
    assert [error.code for error in _form_errors(response)[name]] == [code]
    assert getattr(config, name) == before


def test_admin_accepts_the_edges_of_each_range(admin_client):
    response = save_in_admin(
        admin_client, ORDER_RESERVATION_MINUTES=1440, RENEWAL_REMINDER_DAYS=1
    )

    assert response.status_code == HTTPStatus.FOUND
    assert (config.ORDER_RESERVATION_MINUTES, config.RENEWAL_REMINDER_DAYS) == (
        1440,
        1,
    )


def test_admin_groups_the_settings_in_fieldsets(admin_client):
    response = admin_client.get(CONFIG_PAGE)

    fieldsets = {
        str(fieldset["title"]): [value["name"] for value in fieldset["config_values"]]
        for fieldset in response.context["fieldsets"]
    }
    assert fieldsets == {
        "Customer contact": ["SUPPORT_PHONE", "SUPPORT_EMAIL", "NOTICE_BANNER"],
        "Shop operation": [
            "MAINTENANCE_MODE",
            "ORDER_RESERVATION_MINUTES",
            "RENEWAL_REMINDER_DAYS",
        ],
    }


# --- Who may change site settings ---------------------------------------------


def test_no_role_may_change_site_settings_by_default():
    call_command("setup_roles", verbosity=0)

    holders = Permission.objects.get(
        content_type__app_label="constance", codename="change_config"
    ).group_set.all()

    assert not holders.exists()


def test_support_staff_cannot_open_site_settings(client):
    call_command("setup_roles", verbosity=0)
    agent = UserFactory(is_staff=True)
    agent.groups.add(Group.objects.get(name=SUPPORT))
    client.force_login(agent)

    response = client.get(CONFIG_PAGE)

    assert response.status_code == HTTPStatus.FORBIDDEN


def test_staff_granted_change_config_may_change_site_settings(client):
    manager = UserFactory(is_staff=True)
    manager.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label="constance",
            codename__in=["view_config", "change_config"],
        )
    )
    client.force_login(manager)

    response = save_in_admin(client, NOTICE_BANNER="Granted")

    assert response.status_code == HTTPStatus.FOUND
    assert config.NOTICE_BANNER == "Granted"


def test_staff_who_may_only_view_cannot_change(client):
    viewer = UserFactory(is_staff=True)
    viewer.user_permissions.add(
        Permission.objects.get(
            content_type__app_label="constance", codename="view_config"
        )
    )
    client.force_login(viewer)

    save_in_admin(client, NOTICE_BANNER="Sneaky")

    assert config.NOTICE_BANNER == settings.NOTICE_BANNER


# --- From the command line ----------------------------------------------------


def test_command_line_sets_a_value_through_the_same_checks():
    call_command("constance", "set", "SUPPORT_PHONE", "09121234567")

    assert site_settings.public_settings()["support_phone"] == "+989121234567"


def test_command_line_refuses_a_value_out_of_range():
    with pytest.raises(CommandError):
        call_command("constance", "set", "ORDER_RESERVATION_MINUTES", "0")

    assert site_settings.order_reservation_minutes() == (
        settings.ORDER_RESERVATION_MINUTES
    )


# --- Held in each process -----------------------------------------------------


class OtherProcessStore:
    """Stands in for constance: values another process changes, sending no
    signal to this one."""

    def __init__(self, **values):
        self.__dict__.update(values)
        self.reads = 0

    def __getattribute__(self, name):
        if name.isupper():
            object.__setattr__(
                self, "reads", object.__getattribute__(self, "reads") + 1
            )
        return object.__getattribute__(self, name)


def test_a_change_from_another_process_is_seen_once_the_held_copy_is_old(
    monkeypatch,
):
    store = OtherProcessStore(ORDER_RESERVATION_MINUTES=30, MAINTENANCE_MODE=False)
    clock = [1000.0]
    monkeypatch.setattr(site_settings, "config", store)
    monkeypatch.setattr(site_settings.time, "monotonic", lambda: clock[0])

    first = site_settings.order_reservation_minutes()
    store.ORDER_RESERVATION_MINUTES = 45
    clock[0] += site_settings.HELD_SECONDS / 2
    still_held = site_settings.order_reservation_minutes()
    clock[0] += site_settings.HELD_SECONDS / 2
    after = site_settings.order_reservation_minutes()

    assert (first, still_held, after) == (30, 30, 45)
    assert store.reads == 2


def test_maintenance_switched_on_elsewhere_stops_checkouts_within_the_held_time(
    monkeypatch, user
):
    from mithrapay.maintenance import maintenance_on

    variant = VariantFactory()
    add_codes(variant, 1)
    customer_client = APIClient()
    customer_client.force_authenticate(user=user)
    store = OtherProcessStore(MAINTENANCE_MODE=False)
    clock = [1000.0]
    monkeypatch.setattr(site_settings, "config", store)
    monkeypatch.setattr(site_settings.time, "monotonic", lambda: clock[0])
    assert not maintenance_on()

    store.MAINTENANCE_MODE = True
    clock[0] += site_settings.HELD_SECONDS
    response = customer_client.post(
        "/orders/",
        {"items": [{"variant": variant.pk, "quantity": 1}]},
        format="json",
    )

    assert response.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    assert response.json()["code"] == "maintenance"


def test_a_change_saved_in_this_process_is_seen_at_once(admin_client):
    assert (
        site_settings.order_reservation_minutes() == settings.ORDER_RESERVATION_MINUTES
    )

    call_command("constance", "set", "ORDER_RESERVATION_MINUTES", "47")

    assert site_settings.order_reservation_minutes() == 47
