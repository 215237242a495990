"""Orders in the back office.

Orders are read here; every change goes through the orders services, the
same ones the API uses, and leaves an event in the order's history: cancel,
notes, resent notifications, and the fulfilment queue's activations and
shipments. The payments app adds each order's payments to these screens
(``payments/admin.py``), since orders never import payments.
"""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Exists, OuterRef
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.timesince import timesince
from django.utils.translation import gettext_lazy as _

from catalog.models import Product
from mithrapay.errors import ApplicationError
from orders import selectors, services
from orders.forms import (
    FulfilManualForm,
    MarkShippedForm,
    OrderNoteForm,
    ResendNotificationForm,
)
from orders.models import FulfilmentItem, Order, OrderEvent, OrderItem, Subscription


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
        "fulfilled_at",
    )
    readonly_fields = fields


class OrderEventInline(ReadOnlyInline):
    model = OrderEvent
    fields = ("created_at", "kind", "actor", "user", "message", "data")
    readonly_fields = fields
    ordering = ("created_at", "id")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("user")


class ItemKindFilter(admin.SimpleListFilter):
    title = _("kind of item")
    parameter_name = "item_kind"

    def lookups(self, request, model_admin):
        return Product.Kind.choices

    def queryset(self, request, queryset):
        if self.value() in Product.Kind.values:
            items = OrderItem.objects.filter(order=OuterRef("pk"), kind=self.value())
            return queryset.filter(Exists(items))
        return queryset


def age(moment) -> str:
    return timesince(moment, timezone.now()) if moment else "—"


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = ("number", "customer", "status", "total_shown", "age_shown")
    list_filter = ("status", ItemKindFilter, "created_at")
    search_fields = ("=number", "user__email", "user__phone")
    list_select_related = ("user",)
    date_hierarchy = "created_at"
    change_form_template = "admin/orders/order/change_form.html"
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "number",
                    "user",
                    "status",
                    "subtotal",
                    "total",
                    "currency",
                    "note",
                    "shipping_address",
                )
            },
        ),
        (
            _("Dates"),
            {
                "fields": (
                    "created_at",
                    "expires_at",
                    "paid_at",
                    "partially_fulfilled_at",
                    "fulfilled_at",
                    "cancelled_at",
                    "expired_at",
                    "refunded_at",
                )
            },
        ),
        (_("The customer's other orders"), {"fields": ("other_orders",)}),
    )
    readonly_fields = [
        *(field.name for field in Order._meta.fields if field.name != "id"),
        "other_orders",
    ]
    inlines = [OrderItemInline, OrderEventInline]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=_("customer"), ordering="user__email")
    def customer(self, obj):
        return str(obj.user)

    @admin.display(description=_("total"), ordering="total")
    def total_shown(self, obj):
        return f"{obj.total:,} {obj.currency}"

    @admin.display(description=_("age"), ordering="created_at")
    def age_shown(self, obj):
        return age(obj.created_at)

    @admin.display(description=_("other orders"))
    def other_orders(self, obj):
        orders = selectors.other_orders(order=obj)
        if not orders:
            return "—"
        return format_html_join(
            mark_safe("<br>"),
            '<a href="{}">{}</a> · {} · {} {} · {}',
            (
                (
                    reverse("admin:orders_order_change", args=[other.pk]),
                    other.number,
                    other.get_status_display(),
                    f"{other.total:,}",
                    other.currency,
                    other.created_at.date().isoformat(),
                )
                for other in orders
            ),
        )

    # --- Staff actions on one order -------------------------------------------

    def get_urls(self):
        views = (
            ("cancel", self.cancel_view),
            ("note", self.note_view),
            ("resend", self.resend_view),
        )
        urls = [
            path(
                f"<int:object_id>/{name}/",
                self.admin_site.admin_view(view),
                name=f"orders_order_{name}",
            )
            for name, view in views
        ]
        return urls + super().get_urls()

    def _order_for(self, request, object_id, permission: str) -> Order:
        if not request.user.has_perm(permission):
            raise PermissionDenied
        return get_object_or_404(Order.objects.select_related("user"), pk=object_id)

    def _back(self, order: Order) -> HttpResponseRedirect:
        return HttpResponseRedirect(
            reverse("admin:orders_order_change", args=[order.pk])
        )

    def _action_page(self, request, order, *, title, form, intro, submit):
        context = {
            **self.admin_site.each_context(request),
            "title": title,
            "opts": self.model._meta,
            "original": order,
            "form": form,
            "intro": intro,
            "submit": submit,
            "has_view_permission": True,
        }
        return TemplateResponse(request, "admin/orders/order/action.html", context)

    def _run(self, request, order, call, success) -> bool:
        try:
            call()
        except ApplicationError as exc:
            self.message_user(request, exc.message, messages.ERROR)
            return False
        self.message_user(request, success, messages.SUCCESS)
        return True

    def cancel_view(self, request, object_id):
        order = self._order_for(request, object_id, "orders.cancel_order")
        if request.method == "POST":
            self._run(
                request,
                order,
                lambda: services.order_cancel(
                    order=order, user=request.user, by_staff=True
                ),
                _("Order %(number)s cancelled; its codes and stock are released.")
                % {"number": order.number},
            )
            return self._back(order)
        return self._action_page(
            request,
            order,
            title=_("Cancel order %(number)s?") % {"number": order.number},
            form=None,
            intro=_(
                "The order's reserved codes and stock go back on sale. Only an "
                "unpaid order can be cancelled; a paid one is refunded instead."
            ),
            submit=_("Yes, cancel the order"),
        )

    def note_view(self, request, object_id):
        order = self._order_for(request, object_id, "orders.add_note")
        form = OrderNoteForm(request.POST if request.method == "POST" else None)
        if request.method == "POST" and form.is_valid():
            services.order_add_note(
                order=order,
                user=request.user,
                message=form.cleaned_data["message"].strip(),
            )
            self.message_user(request, _("Note added."), messages.SUCCESS)
            return self._back(order)
        return self._action_page(
            request,
            order,
            title=_("Add a note to order %(number)s") % {"number": order.number},
            form=form,
            intro="",
            submit=_("Add the note"),
        )

    def resend_view(self, request, object_id):
        order = self._order_for(request, object_id, "orders.resend_notification")
        form = ResendNotificationForm(
            request.POST if request.method == "POST" else None,
            choices=services.resendable_notifications(order=order),
            items=order.items.all(),
        )
        if request.method == "POST" and form.is_valid():
            name, item_id = form.chosen()
            self._run(
                request,
                order,
                lambda: services.order_resend_notification(
                    order=order, user=request.user, notification=name, item_id=item_id
                ),
                _("The notification is on its way again."),
            )
            return self._back(order)
        return self._action_page(
            request,
            order,
            title=_("Resend a notification of order %(number)s")
            % {"number": order.number},
            form=form,
            intro=_(
                "The customer gets the email and text again; codes are never sent."
            ),
            submit=_("Send again"),
        )


@admin.register(FulfilmentItem)
class FulfilmentQueueAdmin(admin.ModelAdmin):
    """Manual and shipment items waiting for staff, the longest-waiting
    first. Each row opens a form that records the activation or the tracking
    number through the orders services."""

    list_display = (
        "order_number",
        "sku",
        "product_name",
        "fulfilment",
        "customer",
        "customer_inputs",
        "paid_at",
        "waited",
        "fulfil_link",
    )
    list_display_links = None
    list_filter = ("fulfilment",)
    ordering = ("order__paid_at", "id")
    search_fields = ("=order__number", "sku", "order__user__email")
    list_per_page = 50

    def get_queryset(self, request):
        return selectors.fulfilment_queue()

    def has_module_permission(self, request):
        return request.user.has_perm("orders.fulfil_item")

    def has_view_permission(self, request, obj=None):
        return request.user.has_perm("orders.fulfil_item")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=_("order"), ordering="order__number")
    def order_number(self, obj):
        url = reverse("admin:orders_order_change", args=[obj.order_id])
        return format_html('<a href="{}">{}</a>', url, obj.order.number)

    @admin.display(description=_("customer"))
    def customer(self, obj):
        return str(obj.order.user)

    @admin.display(description=_("customer inputs"))
    def customer_inputs(self, obj):
        return ", ".join(f"{key}: {value}" for key, value in obj.inputs.items()) or "—"

    @admin.display(description=_("paid at"), ordering="order__paid_at")
    def paid_at(self, obj):
        return obj.order.paid_at

    @admin.display(description=_("waiting for"))
    def waited(self, obj):
        return age(obj.order.paid_at)

    @admin.display(description=_("fulfil"))
    def fulfil_link(self, obj):
        url = reverse("admin:orders_fulfilmentitem_fulfil", args=[obj.pk])
        label = _("Mark shipped…") if obj.fulfilment == "shipment" else _("Activate…")
        return format_html('<a class="button" href="{}">{}</a>', url, label)

    def get_urls(self):
        urls = [
            path(
                "<int:object_id>/fulfil/",
                self.admin_site.admin_view(self.fulfil_view),
                name="orders_fulfilmentitem_fulfil",
            )
        ]
        return urls + super().get_urls()

    def fulfil_view(self, request, object_id):
        if not request.user.has_perm("orders.fulfil_item"):
            raise PermissionDenied
        item = get_object_or_404(
            FulfilmentItem.objects.select_related("order", "order__user"),
            pk=object_id,
        )
        queue = reverse("admin:orders_fulfilmentitem_changelist")
        shipment = item.fulfilment == "shipment"
        form_class = MarkShippedForm if shipment else FulfilManualForm
        form = form_class(request.POST if request.method == "POST" else None)
        if request.method == "POST" and form.is_valid():
            try:
                if shipment:
                    services.item_mark_shipped(
                        item=item,
                        staff=request.user,
                        tracking_number=form.cleaned_data["tracking_number"],
                    )
                else:
                    services.fulfil_manual_item(
                        item=item, staff=request.user, details=form.service_details()
                    )
            except ApplicationError as exc:
                self.message_user(request, exc.message, messages.ERROR)
            else:
                self.message_user(
                    request,
                    _("%(sku)s of order %(number)s is done; the customer is told.")
                    % {"sku": item.sku, "number": item.order.number},
                    messages.SUCCESS,
                )
            return HttpResponseRedirect(queue)
        context = {
            **self.admin_site.each_context(request),
            "title": _("Fulfil %(sku)s of order %(number)s")
            % {"sku": item.sku, "number": item.order.number},
            "opts": self.model._meta,
            "original": item,
            "order": item.order,
            "waited": age(item.order.paid_at),
            "form": form,
            "shipment": shipment,
            "has_view_permission": True,
        }
        return TemplateResponse(
            request, "admin/orders/fulfilmentitem/fulfil.html", context
        )


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
