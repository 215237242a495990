"""Payments in the back office, and the payments part of the order screens.

Payments are read-only: they change through the gateway's answer and, for
Finance, the refund page, which calls the same ``refund_payment`` service
as everything else. Orders cannot import payments, so this module extends
the orders admin with each order's payments, its payment state, a gateway
filter and a search by gateway reference.
"""

import json

from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Exists, OuterRef, Subquery
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from mithrapay.errors import ApplicationError
from orders import admin as orders_admin
from orders import services as order_services
from orders.models import Order
from payments import services
from payments.forms import RefundForm
from payments.models import Payment


def _exchanges_html(payment: Payment):
    return format_html(
        '<pre class="payment-exchanges">{}</pre>',
        json.dumps(payment.exchanges, indent=2, ensure_ascii=False, sort_keys=True),
    )


@admin.register(Payment)
class PaymentAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "order",
        "gateway",
        "amount",
        "currency",
        "status",
        "needs_refund",
        "reference_id",
        "created_at",
    )
    list_filter = ("status", "gateway", "needs_refund", "created_at")
    search_fields = ("=order__number", "=authority", "=reference_id")
    list_select_related = ("order",)
    date_hierarchy = "created_at"
    change_form_template = "admin/payments/payment/change_form.html"
    readonly_fields = [
        *(
            field.name
            for field in Payment._meta.fields
            if field.name not in ("id", "exchanges")
        ),
        "gateway_exchanges",
    ]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=_("gateway exchanges"))
    def gateway_exchanges(self, obj):
        return _exchanges_html(obj)

    def get_urls(self):
        urls = [
            path(
                "<int:object_id>/refund/",
                self.admin_site.admin_view(self.refund_view),
                name="payments_payment_refund",
            )
        ]
        return urls + super().get_urls()

    def refund_view(self, request, object_id):
        """Finance refunds a succeeded payment after confirming; anyone else
        gets 403, on GET too."""
        if not request.user.has_perm("payments.refund_payment"):
            raise PermissionDenied
        payment = get_object_or_404(
            Payment.objects.select_related("order", "order__user"), pk=object_id
        )
        revealed = payment.succeeded_for_order_id is not None and (
            order_services.order_codes_revealed(order=payment.order)
        )
        form = RefundForm(request.POST if request.method == "POST" else None)
        if request.method == "POST" and form.is_valid():
            try:
                services.refund_payment(
                    payment=payment,
                    staff=request.user,
                    reason=form.cleaned_data["reason"].strip(),
                    restock_codes=form.cleaned_data["restock_codes"],
                    confirm_revealed=form.cleaned_data["confirm_revealed"],
                )
            except services.RefundNotAllowed:
                raise PermissionDenied from None
            except services.RefundNeedsConfirmation as exc:
                form.add_error("confirm_revealed", exc.message)
            except ApplicationError as exc:
                form.add_error(None, exc.message)
            else:
                self.message_user(
                    request,
                    _("Payment %(id)s of order %(number)s refunded.")
                    % {"id": payment.pk, "number": payment.order.number},
                    messages.SUCCESS,
                )
                return HttpResponseRedirect(
                    reverse("admin:payments_payment_change", args=[payment.pk])
                )
        context = {
            **self.admin_site.each_context(request),
            "title": _("Refund payment %(id)s?") % {"id": payment.pk},
            "opts": self.model._meta,
            "original": payment,
            "form": form,
            "revealed": revealed,
            "refundable": payment.status == Payment.Status.SUCCEEDED,
            "has_view_permission": True,
        }
        return TemplateResponse(request, "admin/payments/payment/refund.html", context)


class PaymentInline(orders_admin.ReadOnlyInline):
    model = Payment
    fk_name = "order"
    fields = (
        "payment_link",
        "gateway",
        "amount",
        "status",
        "needs_refund",
        "reference_id",
        "card_mask",
        "created_at",
    )
    readonly_fields = fields
    ordering = ("created_at", "id")

    @admin.display(description=_("payment"))
    def payment_link(self, obj):
        url = reverse("admin:payments_payment_change", args=[obj.pk])
        return format_html('<a href="{}">#{}</a>', url, obj.pk)


class GatewayFilter(admin.SimpleListFilter):
    title = _("gateway")
    parameter_name = "gateway"

    def lookups(self, request, model_admin):
        return [(name, name) for name in settings.PAYMENT_GATEWAYS]

    def queryset(self, request, queryset):
        if self.value():
            payments = Payment.objects.filter(
                order=OuterRef("pk"), gateway=self.value()
            )
            return queryset.filter(Exists(payments))
        return queryset


class OrderWithPaymentsAdmin(orders_admin.OrderAdmin):
    list_display = (
        "number",
        "customer",
        "status",
        "total_shown",
        "payment_state",
        "age_shown",
    )
    list_filter = ("status", orders_admin.ItemKindFilter, GatewayFilter, "created_at")
    search_fields = (
        *orders_admin.OrderAdmin.search_fields,
        "=payments__authority",
        "=payments__reference_id",
    )
    change_form_template = "admin/orders/order/change_form_with_payments.html"
    inlines = [*orders_admin.OrderAdmin.inlines, PaymentInline]

    def get_queryset(self, request):
        latest = Payment.objects.filter(order=OuterRef("pk")).order_by(
            "-created_at", "-id"
        )
        return (
            super()
            .get_queryset(request)
            .annotate(
                last_payment_status=Subquery(latest.values("status")[:1]),
                last_payment_gateway=Subquery(latest.values("gateway")[:1]),
            )
        )

    @admin.display(description=_("payment"))
    def payment_state(self, obj):
        if not obj.last_payment_status:
            return "—"
        label = Payment.Status(obj.last_payment_status).label
        return f"{label} ({obj.last_payment_gateway})"

    def render_change_form(self, request, context, *args, obj=None, **kwargs):
        if obj is not None and request.user.has_perm("payments.refund_payment"):
            context["refundable_payments"] = list(
                obj.payments.filter(status=Payment.Status.SUCCEEDED).order_by("id")
            )
        return super().render_change_form(request, context, *args, obj=obj, **kwargs)


admin.site.unregister(Order)
admin.site.register(Order, OrderWithPaymentsAdmin)
