from django.contrib import admin

from payments.models import Payment


@admin.register(Payment)
class PaymentAdmin(admin.ModelAdmin):
    """Payments are read-only here: they change only through the gateway's
    answer and the payments services (refund)."""

    list_display = (
        "id",
        "order",
        "gateway",
        "amount",
        "currency",
        "status",
        "needs_refund",
        "created_at",
    )
    list_filter = ("status", "gateway", "needs_refund")
    search_fields = ("order__number", "authority", "reference_id")
    list_select_related = ("order",)
    readonly_fields = [field.name for field in Payment._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
