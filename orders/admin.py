from django.contrib import admin

from orders.models import Order, OrderEvent, OrderItem, Subscription


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class OrderItemInline(ReadOnlyInline):
    model = OrderItem
    fields = (
        "sku",
        "product_name",
        "variant_name",
        "quantity",
        "unit_price",
        "line_total",
        "fulfilment",
        "status",
        "inputs",
        "tracking_number",
    )
    readonly_fields = fields


class OrderEventInline(ReadOnlyInline):
    model = OrderEvent
    fields = ("created_at", "kind", "actor", "user", "message", "data")
    readonly_fields = fields
    ordering = ("created_at", "id")


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    """Orders are read here; their state moves only through the orders
    services (the customer's API, expiry, payments, staff actions)."""

    list_display = ("number", "user", "status", "total", "currency", "created_at")
    list_filter = ("status", "created_at")
    search_fields = ("number", "user__email", "user__phone")
    list_select_related = ("user",)
    date_hierarchy = "created_at"
    readonly_fields = [field.name for field in Order._meta.fields]
    inlines = [OrderItemInline, OrderEventInline]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Subscription)
class SubscriptionAdmin(admin.ModelAdmin):
    list_display = (
        "user",
        "service",
        "plan",
        "account",
        "starts_at",
        "ends_at",
        "status",
    )
    list_filter = ("status", "service")
    search_fields = ("user__email", "user__phone", "account", "service")
    list_select_related = ("user",)
    readonly_fields = ("item", "created_at", "updated_at")
    raw_id_fields = ("user", "product")
