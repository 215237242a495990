"""Keeps ``Product.listed`` true to its rule (``selectors.listable_q``) after
every save and delete of a category, product or variant, whichever code
path makes it. A save that names its ``update_fields`` relists only when
one of them is part of the rule, so an edit of a name or a price costs
nothing more. ``QuerySet.update()`` and ``bulk_create()`` send no signals
(an order's stock update is one, and changes nothing here): code that
changes the rule's fields through them calls ``services.products_relist``
itself."""

from django.db.models.signals import post_delete, post_save, pre_save

from catalog.models import Category, Product, Variant
from catalog.services import category_products, products_relist

LISTING_FIELDS = {
    Category: {"is_active", "parent", "parent_id"},
    Product: {"is_active", "category", "category_id"},
    Variant: {"is_active", "product", "product_id"},
}


def _touches_listing(sender, update_fields) -> bool:
    return update_fields is None or not LISTING_FIELDS[sender].isdisjoint(update_fields)


def variant_product_before(sender, instance, raw, update_fields, **kwargs):
    # A variant moved to another product may leave the old one with none.
    instance._product_before = None
    if raw or instance._state.adding or not _touches_listing(sender, update_fields):
        return
    instance._product_before = (
        Variant.objects.filter(pk=instance.pk).values_list("product_id", flat=True)
    ).first()


def variant_saved(sender, instance, raw, update_fields, **kwargs):
    if raw or not _touches_listing(sender, update_fields):
        return
    ids = {instance.product_id, getattr(instance, "_product_before", None)} - {None}
    products_relist(products=Product.objects.filter(pk__in=ids))


def variant_deleted(sender, instance, **kwargs):
    products_relist(products=Product.objects.filter(pk=instance.product_id))


def product_saved(sender, instance, raw, created, update_fields, **kwargs):
    # A new product has no variants yet.
    if raw or created or not _touches_listing(sender, update_fields):
        return
    products_relist(products=Product.objects.filter(pk=instance.pk))


def category_saved(sender, instance, raw, created, update_fields, **kwargs):
    # A new category holds no products yet.
    if raw or created or not _touches_listing(sender, update_fields):
        return
    products_relist(products=category_products(category_id=instance.pk))


def connect() -> None:
    pre_save.connect(variant_product_before, sender=Variant)
    post_save.connect(variant_saved, sender=Variant)
    post_delete.connect(variant_deleted, sender=Variant)
    post_save.connect(product_saved, sender=Product)
    post_save.connect(category_saved, sender=Category)
