"""Customer notifications around payments: sent after commit, never holding a
code, retried with backoff when sending fails, never undoing the payment."""

from itertools import pairwise
from smtplib import SMTPServerDisconnected

import pytest
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend

from accounts import sms
from catalog import inventory
from mithrapay.celery import app
from orders import tasks as order_tasks
from orders.models import ItemCode, Order
from payments import services
from payments.models import Payment
from payments.tests.helpers import finance_user, pay_at_sandbox, start

pytestmark = pytest.mark.django_db

BROKEN_MAIL = f"{__name__}.BrokenMailBackend"


class BrokenMailBackend(BaseEmailBackend):
    """A mail server that is down."""

    def send_messages(self, email_messages):
        raise SMTPServerDisconnected("mail server down")


@pytest.fixture
def retries_run_through():
    """Tests run tasks eagerly and propagate their errors, which stops a task
    at its first retry; a worker keeps retrying, and so does this."""
    propagates = app.conf.task_eager_propagates
    app.conf.task_eager_propagates = False
    yield
    app.conf.task_eager_propagates = propagates


def record_retries(monkeypatch, task) -> list[int]:
    """Let ``task`` retry as Celery does, noting each countdown it asks for."""
    countdowns: list[int] = []
    retry = task.retry

    def noting(*args, **kwargs):
        countdowns.append(kwargs["countdown"])
        return retry(*args, **kwargs)

    monkeypatch.setattr(task, "retry", noting)
    return countdowns


def assert_backoff_grows(countdowns, task):
    assert len(countdowns) == task.max_retries + 1
    assert all(later > earlier for earlier, later in pairwise(countdowns))
    assert countdowns[0] >= 30
    assert countdowns[-1] <= 1800


def paid_payment(order, user) -> Payment:
    payment, _ = start(order, user)
    services.payment_callback(gateway_name="sandbox", data=pay_at_sandbox(payment))
    return Payment.objects.get(pk=payment.pk)


def codes_shown_to_the_owner(order) -> list[str]:
    code_ids = ItemCode.objects.filter(item__order=order).values_list(
        "code_id", flat=True
    )
    return [c["code"] for c in inventory.codes_plaintext(code_ids=code_ids).values()]


def test_a_refund_emails_and_texts_the_customer_without_any_code(
    order, user, django_capture_on_commit_callbacks
):
    payment = paid_payment(order, user)
    codes = codes_shown_to_the_owner(order)
    mail.outbox.clear()
    sms.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        services.refund_payment(payment=payment, staff=finance_user(), reason="asked")

    refund_mail = [m for m in mail.outbox if m.to == [user.email]]
    assert len(refund_mail) == 1
    assert order.number in refund_mail[0].subject
    assert "refunded" in refund_mail[0].subject
    html = refund_mail[0].alternatives[0][0]
    assert order.number in html
    texts = [m.body for m in sms.outbox if m.to == str(user.phone)]
    assert len(texts) == 1
    assert order.number in texts[0]
    everything = refund_mail[0].subject + refund_mail[0].body + html + texts[0]
    assert codes
    assert not any(code in everything for code in codes)


def test_a_failed_paid_notification_is_retried_with_backoff_and_the_payment_stands(
    order,
    user,
    settings,
    monkeypatch,
    retries_run_through,
    django_capture_on_commit_callbacks,
):
    settings.EMAIL_BACKEND = BROKEN_MAIL
    countdowns = record_retries(monkeypatch, order_tasks.notify_order_paid)
    payment, _ = start(order, user)

    with django_capture_on_commit_callbacks(execute=True):
        outcome = services.payment_callback(
            gateway_name="sandbox", data=pay_at_sandbox(payment)
        )

    assert outcome.status == "paid"
    assert_backoff_grows(countdowns, order_tasks.notify_order_paid)
    payment.refresh_from_db()
    order.refresh_from_db()
    assert payment.status == Payment.Status.SUCCEEDED
    assert order.status == Order.Status.FULFILLED


def test_a_failed_refund_notification_is_retried_with_backoff_and_the_refund_stands(
    order,
    user,
    settings,
    monkeypatch,
    retries_run_through,
    django_capture_on_commit_callbacks,
):
    payment = paid_payment(order, user)
    settings.EMAIL_BACKEND = BROKEN_MAIL
    countdowns = record_retries(monkeypatch, order_tasks.notify_refund)

    with django_capture_on_commit_callbacks(execute=True):
        services.refund_payment(payment=payment, staff=finance_user(), reason="asked")

    assert_backoff_grows(countdowns, order_tasks.notify_refund)
    payment.refresh_from_db()
    order.refresh_from_db()
    assert payment.status == Payment.Status.REFUNDED
    assert order.status == Order.Status.REFUNDED


def test_the_refund_task_gives_up_after_its_retries_with_the_send_error(
    order, user, settings, monkeypatch, retries_run_through
):
    payment = paid_payment(order, user)
    services.refund_payment(payment=payment, staff=finance_user(), reason="asked")
    settings.EMAIL_BACKEND = BROKEN_MAIL
    countdowns = record_retries(monkeypatch, order_tasks.notify_refund)

    result = order_tasks.notify_refund.apply(args=[order.pk])

    assert result.failed()
    assert isinstance(result.result, SMTPServerDisconnected)
    assert_backoff_grows(countdowns, order_tasks.notify_refund)
