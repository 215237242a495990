"""Races on the real database: many buyers, few codes, one truth.

Each test runs threads with their own MariaDB connections against committed
data (``transaction=True``); SQLite cannot show these races.
"""

import contextlib
import threading
import time
from collections import Counter
from datetime import date, timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone

from accounts.tests.factories import UserFactory
from catalog import inventory
from catalog.inventory import OutOfStock
from catalog.models import DigitalCode, Variant
from mithrapay.errors import ApplicationError
from orders import idempotency, services
from orders.models import ItemCode, Order, OrderEvent
from orders.tests.factories import SHIPPING_ADDRESS, VariantFactory, add_codes
from orders.tests.test_cache import listed_in_stock

pytestmark = [pytest.mark.mariadb, pytest.mark.django_db(transaction=True)]


def run_together(worker, arguments):
    """Run ``worker(arg)`` in one thread per argument, started together;
    returns each thread's result or exception, in order."""
    barrier = threading.Barrier(len(arguments))
    results = [None] * len(arguments)

    def run(index, argument):
        try:
            barrier.wait()
            results[index] = worker(argument)
        except BaseException as exc:  # recorded and asserted by the test
            results[index] = exc
        finally:
            connection.close()

    threads = [
        threading.Thread(target=run, args=(index, argument))
        for index, argument in enumerate(arguments)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads)
    return results


def test_hundred_buyers_for_ten_codes_get_exactly_ten_orders():
    variant = VariantFactory()
    add_codes(variant, 10)
    buyers = [UserFactory() for _ in range(100)]

    results = run_together(
        lambda user: services.order_create(
            user=user, lines=[{"variant": variant.pk, "quantity": 1}]
        ),
        buyers,
    )

    kinds = Counter(type(result).__name__ for result in results)
    assert kinds == {"Order": 10, "OutOfStock": 90}, kinds
    held = list(ItemCode.objects.values_list("code_id", flat=True))
    assert len(held) == len(set(held)) == 10
    assert DigitalCode.objects.filter(status="reserved").count() == 10
    assert DigitalCode.objects.filter(status="available").count() == 0
    assert Order.objects.count() == 10


def test_buyers_of_several_codes_never_share_one():
    variant = VariantFactory()
    add_codes(variant, 30)
    buyers = [UserFactory() for _ in range(20)]

    results = run_together(
        lambda user: services.order_create(
            user=user, lines=[{"variant": variant.pk, "quantity": 3}]
        ),
        buyers,
    )

    orders = [r for r in results if isinstance(r, Order)]
    assert all(isinstance(r, Order | OutOfStock) for r in results), results
    assert len(orders) == 10
    held = list(ItemCode.objects.values_list("code_id", flat=True))
    assert len(held) == len(set(held)) == 30


def test_fifty_buyers_for_twenty_units_leave_stock_at_zero():
    variant = VariantFactory(fulfilment=Variant.Fulfilment.SHIPMENT, stock=20)
    buyers = [UserFactory() for _ in range(50)]

    results = run_together(
        lambda user: services.order_create(
            user=user,
            lines=[{"variant": variant.pk, "quantity": 1}],
            shipping_address=SHIPPING_ADDRESS,
        ),
        buyers,
    )

    kinds = Counter(type(result).__name__ for result in results)
    assert kinds == {"Order": 20, "OutOfStock": 30}, kinds
    variant.refresh_from_db()
    assert variant.stock == 0


def test_one_customer_racing_checkouts_cannot_pass_the_unpaid_cap(settings):
    settings.MAX_PENDING_ORDERS = 3
    variant = VariantFactory()
    add_codes(variant, 20)
    customer = UserFactory()

    results = run_together(
        lambda _: services.order_create(
            user=customer, lines=[{"variant": variant.pk, "quantity": 1}]
        ),
        list(range(8)),
    )

    kinds = Counter(type(result).__name__ for result in results)
    assert kinds == {"Order": 3, "TooManyPendingOrders": 5}, kinds


def test_a_checkout_waiting_on_the_customer_counts_the_order_it_waited_for(
    settings,
):
    """The second checkout blocks on the customer's row while the first holds
    it with its order placed; once the first commits, the second's count of
    unpaid orders includes that order and the cap refuses it."""
    settings.MAX_PENDING_ORDERS = 1
    variant = VariantFactory()
    add_codes(variant, 5)
    customer = UserFactory()
    placed = threading.Event()
    line = [{"variant": variant.pk, "quantity": 1}]

    def hold_then_commit(_order):
        placed.set()
        time.sleep(0.5)  # the second checkout is waiting on the row by now

    def first():
        try:
            return services.order_create(
                user=customer, lines=line, on_placed=hold_then_commit
            )
        finally:
            connection.close()

    holder = threading.Thread(target=first)
    holder.start()
    assert placed.wait(timeout=10)
    started = time.monotonic()
    try:
        [second] = run_together(
            lambda _: services.order_create(user=customer, lines=line), [None]
        )
    finally:
        holder.join(timeout=30)

    assert type(second).__name__ == "TooManyPendingOrders", second
    assert time.monotonic() - started > 0.2  # it did wait for the first
    assert Order.objects.filter(user=customer).count() == 1


def test_cancel_and_expiry_racing_on_one_order_release_it_once():
    variant = VariantFactory()
    add_codes(variant, 3)
    customer = UserFactory()
    order = services.order_create(
        user=customer, lines=[{"variant": variant.pk, "quantity": 2}]
    )
    Order.objects.filter(pk=order.pk).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )

    def act(which):
        if which == "cancel":
            return services.order_cancel(order=order, user=customer)
        return services.order_expire(order_id=order.pk)

    results = run_together(act, ["cancel", "expire", "expire", "cancel"])

    order.refresh_from_db()
    assert order.status in {Order.Status.CANCELLED, Order.Status.EXPIRED}
    terminal = OrderEvent.objects.filter(order=order, kind__in=["cancelled", "expired"])
    assert terminal.count() == 1
    assert DigitalCode.objects.filter(status="available").count() == 3
    assert ItemCode.objects.count() == 0
    losers = [r for r in results if isinstance(r, ApplicationError)]
    assert all(r.code == "invalid_transition" for r in losers)
    assert not [r for r in results if isinstance(r, Exception) and r not in losers]


def test_checkouts_and_an_expiry_run_together_stay_consistent():
    variant = VariantFactory()
    add_codes(variant, 10)
    customers = [UserFactory() for _ in range(5)]
    stale = [
        services.order_create(user=c, lines=[{"variant": variant.pk, "quantity": 1}])
        for c in customers
    ]
    Order.objects.filter(pk__in=[o.pk for o in stale]).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    buyers = [UserFactory() for _ in range(8)]

    def act(who):
        if who is None:
            return services.orders_expire_overdue()
        return services.order_create(
            user=who, lines=[{"variant": variant.pk, "quantity": 1}]
        )

    results = run_together(act, [None, *buyers, None])

    assert not [
        r for r in results if isinstance(r, Exception) and not isinstance(r, OutOfStock)
    ]
    assert sum(r for r in results if isinstance(r, int)) == 5
    reserved = DigitalCode.objects.filter(status="reserved").count()
    live = ItemCode.objects.count()
    assert reserved == live
    assert reserved + DigitalCode.objects.filter(status="available").count() == 10
    held = list(ItemCode.objects.values_list("code_id", flat=True))
    assert len(held) == len(set(held))


def test_concurrent_duplicates_of_one_idempotency_key_claim_it_once():
    customer = UserFactory()
    payload = {"items": [{"variant": 1, "quantity": 1}]}

    def claim(_):
        try:
            return idempotency.claim(user=customer, key="double-click", payload=payload)
        except ApplicationError as exc:
            return exc.code

    results = run_together(claim, list(range(10)))

    claims = [r for r in results if not isinstance(r, str)]
    assert len(claims) == 1
    assert set(results) - set(claims) == {"request_in_progress"}


# The product list reads the replica alias (a mirror of the test database).
@pytest.mark.django_db(transaction=True, databases=["default", "replica"])
def test_two_buyers_taking_the_last_two_codes_at_once_flip_in_stock(
    api_client, monkeypatch
):
    """Both reservations are held uncommitted at the same moment, so each
    transaction still sees the other's code as available: only a check
    after the commits can tell that the pool is empty."""
    variant = VariantFactory()
    add_codes(variant, 2)
    buyers = [UserFactory() for _ in range(2)]
    before = listed_in_stock(api_client, variant)
    both_reserved = threading.Barrier(2, timeout=10)
    take = inventory.codes_take
    taken = []

    # codes_take is where every checkout path reserves the codes its locking
    # read found (codes_reserve calls it too), so both checkouts hold their
    # code, uncommitted, when they meet here.
    def take_then_wait(**kwargs):
        ids = take(**kwargs)
        taken.append(ids)
        both_reserved.wait()
        return ids

    monkeypatch.setattr(inventory, "codes_take", take_then_wait)

    results = run_together(
        lambda user: services.order_create(
            user=user, lines=[{"variant": variant.pk, "quantity": 1}]
        ),
        buyers,
    )

    assert [type(result) for result in results] == [Order, Order], results
    assert len(taken) == 2, taken
    assert taken[0] != taken[1], taken
    assert DigitalCode.objects.filter(status="available").count() == 0
    assert (before, listed_in_stock(api_client, variant)) == (True, False)


@contextlib.contextmanager
def _first_code_held(variant):
    """A checkout in another thread reserves one code of ``variant`` and
    keeps its transaction open until the block ends; yields the ids it
    reserved."""
    holding = threading.Event()
    let_go = threading.Event()
    held: list[int] = []

    def hold_the_first_code():
        try:
            with transaction.atomic():
                held.extend(inventory.codes_reserve(variant=variant, quantity=1))
                holding.set()
                let_go.wait(timeout=30)
        finally:
            connection.close()

    holder = threading.Thread(target=hold_the_first_code)
    holder.start()
    assert holding.wait(timeout=10)
    try:
        yield held
    finally:
        let_go.set()
        holder.join(timeout=30)


def test_a_locked_code_is_skipped_not_waited_for():
    """One checkout holds the lock on the variant's first code; another
    takes the next code at once instead of queueing behind it (a plain
    FOR UPDATE would wait until the lock-wait timeout)."""
    variant = VariantFactory()
    first, second = add_codes(variant, 1, expires_at=date(2030, 1, 1)) + add_codes(
        variant, 1, expires_at=date(2031, 1, 1)
    )

    def reserve_another(_):
        with connection.cursor() as cursor:
            cursor.execute("SET SESSION innodb_lock_wait_timeout = 5")
        started = time.monotonic()
        with transaction.atomic():
            taken = inventory.codes_reserve(variant=variant, quantity=1)
        return taken, time.monotonic() - started

    with _first_code_held(variant) as held:
        [outcome] = run_together(reserve_another, [None])

    assert held == [first.pk]
    assert not isinstance(outcome, Exception), outcome
    taken, seconds = outcome
    assert taken == [second.pk]
    assert seconds < 2


def test_a_checkout_locks_only_the_codes_it_takes():
    """While one checkout holds its code, every other code of the variant,
    dated or not, can still be locked at once from another connection."""
    variant = VariantFactory()
    [first] = add_codes(variant, 1, expires_at=date(2030, 1, 1))
    others = add_codes(variant, 1, expires_at=date(2031, 1, 1)) + add_codes(variant, 2)

    def lock_each(codes):
        free = []
        with transaction.atomic():
            for code in codes:
                locked = DigitalCode.objects.select_for_update(nowait=True)
                free.append(locked.filter(pk=code.pk).values_list("pk", flat=True)[0])
        return free

    with _first_code_held(variant) as held:
        [outcome] = run_together(lock_each, [others])

    assert held == [first.pk]
    assert outcome == [code.pk for code in others], outcome
