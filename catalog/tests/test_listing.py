"""``Product.listed``: the public list's rule (active product, active category
chain, an active variant) stored per product and kept after every write."""

import importlib
import time

import pytest
from django.apps import apps
from django.db import connection, transaction

from catalog import services
from catalog.models import Product, Variant
from catalog.selectors import listable_q
from catalog.tests.factories import CategoryFactory, ProductFactory, VariantFactory
from mithrapay.tests.threads import run_together

pytestmark = pytest.mark.django_db


def _listed(product: Product) -> bool:
    return Product.objects.values_list("listed", flat=True).get(pk=product.pk)


def _assert_every_product_follows_the_rule():
    stored = dict(Product.objects.values_list("pk", "listed"))
    by_rule = set(Product.objects.filter(listable_q()).values_list("pk", flat=True))

    assert stored == {pk: pk in by_rule for pk in stored}


def test_a_product_with_an_active_variant_in_an_active_category_is_listed():
    variant = VariantFactory()

    assert _listed(variant.product)


def test_a_new_product_without_variants_is_not_listed():
    product = services.product_create(
        kind=Product.Kind.GIFT_CARD, brand="Apple", category=CategoryFactory(), name="X"
    )

    assert not _listed(product)


def test_deactivating_the_last_active_variant_unlists_and_reactivating_relists():
    variant = VariantFactory()
    VariantFactory(product=variant.product, is_active=False)

    services.variant_update(variant=variant, data={"is_active": False})
    unlisted = _listed(variant.product)
    services.variant_update(variant=variant, data={"is_active": True})

    assert not unlisted
    assert _listed(variant.product)


def test_a_product_keeps_its_listing_while_another_variant_is_active():
    variant = VariantFactory()
    VariantFactory(product=variant.product)

    services.variant_update(variant=variant, data={"is_active": False})

    assert _listed(variant.product)


def test_deleting_the_last_variant_unlists_its_product():
    variant = VariantFactory()

    variant.delete()

    assert not _listed(variant.product)


def test_moving_the_only_variant_moves_the_listing():
    variant = VariantFactory()
    old = variant.product
    new = ProductFactory()

    services.variant_update(variant=variant, data={"product": new})

    assert not _listed(old)
    assert _listed(new)


def test_deactivating_a_product_unlists_it_and_reactivating_relists_it():
    product = VariantFactory().product

    services.product_update(product=product, data={"is_active": False})
    unlisted = _listed(product)
    services.product_update(product=product, data={"is_active": True})

    assert not unlisted
    assert _listed(product)


def test_moving_a_product_into_an_inactive_category_unlists_it():
    product = VariantFactory().product

    services.product_update(
        product=product, data={"category": CategoryFactory(is_active=False)}
    )

    assert not _listed(product)


def test_deactivating_a_category_unlists_the_products_of_its_whole_subtree():
    root = CategoryFactory()
    child = CategoryFactory(parent=root)
    grandchild = CategoryFactory(parent=child)
    products = [
        VariantFactory(product__category=c).product for c in (root, child, grandchild)
    ]
    elsewhere = VariantFactory().product

    services.category_update(category=root, data={"is_active": False})
    unlisted = [_listed(p) for p in products]
    services.category_update(category=root, data={"is_active": True})

    assert unlisted == [False, False, False]
    assert [_listed(p) for p in products] == [True, True, True]
    assert _listed(elsewhere)


def test_moving_a_category_under_an_inactive_one_unlists_its_products():
    product = VariantFactory().product
    hidden = CategoryFactory(is_active=False)

    services.category_update(category=product.category, data={"parent": hidden})

    assert not _listed(product)


def test_a_save_that_names_no_rule_field_does_not_relist(django_assert_num_queries):
    variant = VariantFactory()
    variant.name = "Renamed"

    with django_assert_num_queries(1):
        variant.save(update_fields=["name"])


def test_a_save_with_a_stale_listed_value_in_memory_is_corrected():
    product = ProductFactory()
    VariantFactory(product=product)
    assert not product.listed  # the instance was loaded before its variant

    product.save()

    assert _listed(product)


def test_every_product_follows_the_rule_after_a_mix_of_writes():
    root = CategoryFactory()
    child = CategoryFactory(parent=root)
    variants = [VariantFactory(product__category=c) for c in (root, child, child)]
    VariantFactory(product=variants[1].product)

    services.variant_update(variant=variants[0], data={"is_active": False})
    services.category_update(category=child, data={"is_active": False})
    services.variant_update(variant=variants[1], data={"product": variants[0].product})
    services.category_update(category=child, data={"is_active": True})
    variants[2].delete()
    services.product_update(product=variants[0].product, data={"category": child})

    _assert_every_product_follows_the_rule()


def test_the_migration_lists_the_products_already_there():
    listed_product = VariantFactory().product
    hidden_product = VariantFactory(is_active=False).product
    Product.objects.update(listed=False)
    migration = importlib.import_module("catalog.migrations.0004_product_listed")

    migration.relist_every_product(apps, connection.schema_editor())

    assert _listed(listed_product)
    assert not _listed(hidden_product)


def test_bulk_writes_are_relisted_by_products_relist():
    category = CategoryFactory()
    product = Product.objects.bulk_create(
        [
            Product(
                kind=Product.Kind.GIFT_CARD,
                brand="A",
                category=category,
                name="B",
                slug="b",
            )
        ]
    )[0]
    Variant.objects.bulk_create(
        [
            Variant(
                product=product,
                sku="S",
                name="V",
                price=1,
                fulfilment=Variant.Fulfilment.MANUAL,
            )
        ]
    )

    services.products_relist(products=Product.objects.all())

    assert _listed(product)


@pytest.mark.mariadb
@pytest.mark.django_db(transaction=True)
def test_two_writes_taking_away_the_last_two_active_variants_unlist_the_product():
    first = VariantFactory()
    second = VariantFactory(product=first.product)

    def deactivate(index: int):
        with transaction.atomic():
            services.variant_update(
                variant=(first, second)[index], data={"is_active": False}
            )
            # Both transactions are open at once: each has written its
            # variant before the other commits.
            time.sleep(0.5)

    results = run_together(2, deactivate)

    assert results == [None, None]
    assert not Variant.objects.filter(product=first.product, is_active=True).exists()
    assert not _listed(first.product)


def test_relisting_many_products_costs_the_queries_of_one(django_assert_num_queries):
    category = CategoryFactory()
    for _ in range(20):
        VariantFactory(product__category=category)

    # The savepoint, the locks, the one UPDATE, the release.
    with django_assert_num_queries(4):
        services.products_relist(products=Product.objects.filter(category=category))

    _assert_every_product_follows_the_rule()
