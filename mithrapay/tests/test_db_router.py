"""The read-replica router, with ``replica`` mirroring the test database
(two aliases, two connections, one server)."""

from contextlib import contextmanager
from http import HTTPStatus

import pytest
from django.db import connections, transaction
from django.test import RequestFactory
from rest_framework.test import APIClient

from accounts.models import User
from blog.models import Post
from blog.tests.factories import PostFactory
from catalog.models import Product, Variant
from catalog.tests.factories import VariantFactory
from mithrapay.db_router import ReadOnlyRequestMiddleware, ReplicaRouter
from orders.models import Order

both_databases = pytest.mark.django_db(
    transaction=True, databases=["default", "replica"]
)


@contextmanager
def aliases_used():
    """The alias of every query run in the block."""
    used: list[str] = []

    def record(execute, sql, params, many, context):
        used.append(context["connection"].alias)
        return execute(sql, params, many, context)

    with (
        connections["default"].execute_wrapper(record),
        connections["replica"].execute_wrapper(record),
    ):
        yield used


def in_request(method: str, work):
    """Run ``work()`` as the view of a ``method`` request would."""
    request = RequestFactory().generic(method, "/")
    return ReadOnlyRequestMiddleware(lambda _request: work())(request)


def test_tests_run_with_a_replica_that_mirrors_the_test_database(settings):
    assert settings.DATABASES["replica"]["TEST"]["MIRROR"] == "default"
    assert settings.DATABASE_ROUTERS == ["mithrapay.db_router.ReplicaRouter"]


@both_databases
@pytest.mark.parametrize("model", [Product, Variant, Post])
def test_catalog_and_blog_reads_of_a_get_request_go_to_the_replica(model):
    assert in_request("GET", lambda: ReplicaRouter().db_for_read(model)) == "replica"


@both_databases
@pytest.mark.parametrize("model", [Order, User])
def test_orders_and_accounts_always_read_the_primary(model):
    assert in_request("GET", lambda: ReplicaRouter().db_for_read(model)) == "default"


@both_databases
@pytest.mark.parametrize("method", ["POST", "PATCH", "DELETE"])
def test_reads_while_serving_a_write_request_go_to_the_primary(method):
    chosen = in_request(method, lambda: ReplicaRouter().db_for_read(Product))

    assert chosen == "default"


@both_databases
def test_reads_inside_a_transaction_go_to_the_primary():
    def read_in_transaction():
        with transaction.atomic():
            return ReplicaRouter().db_for_read(Variant)

    assert in_request("GET", read_in_transaction) == "default"


@both_databases
def test_reads_outside_any_request_go_to_the_primary():
    assert ReplicaRouter().db_for_read(Product) == "default"


def test_every_write_goes_to_the_primary():
    router = ReplicaRouter()

    assert {router.db_for_write(m) for m in (Product, Post, Order)} == {"default"}
    assert router.allow_migrate("replica", "catalog") is False
    assert router.allow_migrate("default", "catalog") is True


@both_databases
def test_a_catalog_page_is_read_from_the_replica(client, settings):
    settings.RESPONSE_CACHE_ENABLED = False
    variant = VariantFactory()
    PostFactory()

    with aliases_used() as used:
        product = client.get(f"/products/{variant.product_id}")
        listing = client.get("/products/")
        blog = client.get("/blog/")

    assert {r.status_code for r in (product, listing, blog)} == {HTTPStatus.OK}
    assert listing.json()["count"] == 1
    assert used
    assert set(used) == {"replica"}


@both_databases
def test_a_staff_edit_through_the_api_reads_and_writes_the_primary(admin_user):
    product = VariantFactory().product
    staff = APIClient()
    staff.force_authenticate(user=admin_user)

    with aliases_used() as used:
        response = staff.patch(f"/products/{product.pk}", {"name": "Renamed"})

    assert response.status_code == HTTPStatus.OK
    assert Product.objects.get(pk=product.pk).name == "Renamed"
    assert used
    assert set(used) == {"default"}


@both_databases
def test_select_for_update_inside_a_get_request_reads_the_primary():
    variant = VariantFactory()

    def lock():
        with transaction.atomic():
            return Variant.objects.select_for_update().get(pk=variant.pk)

    with aliases_used() as used:
        locked = in_request("GET", lock)

    assert locked._state.db == "default"
    assert set(used) == {"default"}
