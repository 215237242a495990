"""Every list page of the back office costs the same number of queries for
5 rows as for 50: nothing is looked up per row.

The shop's own lists (orders, payments, variants, codes, the fulfilment
queue) are checked beside their apps; these are the remaining ones.
"""

from datetime import timedelta
from http import HTTPStatus

import pytest
from django.contrib.auth.models import Group, Permission
from django.urls import reverse
from django.utils import timezone
from rest_framework_simplejwt.tokens import RefreshToken

from accounts import roles
from accounts.tests.factories import UserFactory
from blog.tests.factories import PostFactory, TagFactory
from catalog.tests.factories import ProductFactory
from orders.models import Subscription

pytestmark = pytest.mark.django_db


def add_users(count: int) -> None:
    customers = Group.objects.get_or_create(name=roles.CUSTOMER)[0]
    for user in UserFactory.create_batch(count):
        user.groups.add(customers)


def add_subscriptions(count: int) -> None:
    now = timezone.now()
    for _ in range(count):
        Subscription.objects.create(
            user=UserFactory(),
            product=ProductFactory(),
            service="Netflix",
            plan="Premium, 1 month",
            starts_at=now,
            ends_at=now + timedelta(days=30),
        )


def add_posts(count: int) -> None:
    tag = TagFactory()
    for _ in range(count):
        PostFactory(tags=[tag])


def add_tags(count: int) -> None:
    TagFactory.create_batch(count)


def add_groups(count: int) -> None:
    permissions = list(Permission.objects.all()[:3])
    start = Group.objects.count()
    for index in range(start, start + count):
        Group.objects.create(name=f"Team {index}").permissions.set(permissions)


def add_outstanding_tokens(count: int) -> None:
    for user in UserFactory.create_batch(count):
        RefreshToken.for_user(user)


def add_blacklisted_tokens(count: int) -> None:
    for user in UserFactory.create_batch(count):
        RefreshToken.for_user(user).blacklist()


LISTS = {
    "accounts_user": add_users,
    "orders_subscription": add_subscriptions,
    "blog_post": add_posts,
    "blog_tag": add_tags,
    "auth_group": add_groups,
    "token_blacklist_outstandingtoken": add_outstanding_tokens,
    "token_blacklist_blacklistedtoken": add_blacklisted_tokens,
}


def queries_for_list(client, name: str, check) -> int:
    with check(1000) as log:
        response = client.get(reverse(f"admin:{name}_changelist"))
    assert response.status_code == HTTPStatus.OK
    return len(log)


@pytest.mark.parametrize("name", LISTS)
def test_changelist_of_fifty_rows_runs_no_query_per_row(
    name, admin_client, max_queries_all_databases
):
    add_rows = LISTS[name]
    add_rows(5)
    with_five = queries_for_list(admin_client, name, max_queries_all_databases)
    add_rows(45)

    with_fifty = queries_for_list(admin_client, name, max_queries_all_databases)

    assert with_fifty == with_five
    assert with_fifty <= 12
