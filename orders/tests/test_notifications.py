from datetime import timedelta

import pytest
from constance.test import override_config
from django.core import mail
from django.core.management import call_command
from django.utils import timezone

from accounts import sms
from orders.models import Subscription
from orders.tests.factories import ProductFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _locmem_sms(settings):
    settings.SMS_BACKEND = "locmem"
    sms.outbox.clear()


def subscription(user, *, ends_in):
    now = timezone.now()
    return Subscription.objects.create(
        user=user,
        product=ProductFactory(kind="subscription", brand="Netflix"),
        service="Netflix",
        plan="Premium 1 month",
        starts_at=now - timedelta(days=20),
        ends_at=now + ends_in,
    )


@override_config(RENEWAL_REMINDER_DAYS=3)
def test_renewal_reminder_is_sent_once_per_subscription_end(
    user, django_capture_on_commit_callbacks
):
    due = subscription(user, ends_in=timedelta(days=2))
    subscription(user, ends_in=timedelta(days=10))

    call_command("send_renewal_reminders", verbosity=0)
    call_command("send_renewal_reminders", verbosity=0)

    reminders = [m for m in mail.outbox if "Netflix" in m.subject]
    assert len(reminders) == 1
    assert reminders[0].to == [user.email]
    assert len([t for t in sms.outbox if "Netflix" in t.body]) == 1
    due.refresh_from_db()
    assert due.reminder_sent_for == due.ends_at


@override_config(RENEWAL_REMINDER_DAYS=3)
def test_an_extended_subscription_is_reminded_again_before_its_new_end(user):
    due = subscription(user, ends_in=timedelta(days=2))
    call_command("send_renewal_reminders", verbosity=0)
    Subscription.objects.filter(pk=due.pk).update(
        ends_at=due.ends_at + timedelta(days=30)
    )

    call_command("send_renewal_reminders", verbosity=0)
    Subscription.objects.filter(pk=due.pk).update(
        ends_at=timezone.now() + timedelta(days=1)
    )
    call_command("send_renewal_reminders", verbosity=0)

    assert len([m for m in mail.outbox if "Netflix" in m.subject]) == 2


@override_config(RENEWAL_REMINDER_DAYS=7)
def test_the_reminder_window_follows_the_site_setting(user):
    subscription(user, ends_in=timedelta(days=6))

    call_command("send_renewal_reminders", verbosity=0)

    assert len(mail.outbox) == 1
