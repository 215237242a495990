"""The catalog in the back office.

Categories, products and variants are saved through the catalog services,
as the API saves them, so the same rules and row locks apply and cached
catalog responses follow the edit. A variant's stock is written only when
staff changed it, and then only if orders have not moved it since the page
loaded (see ``services.variant_update``).

Codes are shown by a short suffix only (``code_files.shown_suffix``) and
cannot be edited: staff import them (a form on the variant), void them, and
see one in full only through the reveal page (``catalog.reveal_code``, a
reason on record, rate-limited), superusers included.
"""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import validate_ipv46_address
from django.http import Http404, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from catalog import errors, selectors, services
from catalog.errors import RevealNotAllowed
from catalog.forms import CodeImportForm, CodeRevealForm, VariantAdminForm
from catalog.models import (
    Category,
    CodeBatch,
    CodeReveal,
    DigitalCode,
    Product,
    Variant,
)
from mithrapay.errors import ApplicationError, error_body
from mithrapay.throttling import RateLimited, client_ip


class CatalogEditMixin:
    """Saves go through the catalog services, which bump the catalog
    version; deletes bump it here. A save the services refuse at write time
    (the stock moved under the edit, a product kind its variants do not
    fit) leaves the whole page unsaved and says why."""

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except errors.StockChanged as exc:
            # The admin's transaction around the save has rolled back.
            self.message_user(request, exc.message, messages.ERROR)
        except ValidationError as exc:
            self.message_user(request, " ".join(exc.messages), messages.ERROR)
        return HttpResponseRedirect(request.get_full_path())

    def delete_model(self, request, obj):
        super().delete_model(request, obj)
        services.catalog_version_bump()

    def delete_queryset(self, request, queryset):
        super().delete_queryset(request, queryset)
        services.catalog_version_bump()


def _adopt(obj, saved) -> None:
    """Give the admin's ``obj`` the row a service saved (its id and the
    values written), for the redirect and the change log."""
    for field in saved._meta.concrete_fields:
        setattr(obj, field.attname, getattr(saved, field.attname))
    obj._state.adding = False
    obj._state.db = saved._state.db


def _form_values(obj, form, fields, *, changed_only: bool) -> dict:
    """The values of ``fields`` the admin set on ``obj``: all of them for a
    new row, only the ones the form changed for an edit."""
    return {
        name: getattr(obj, name)
        for name in fields
        if not changed_only or name in form.changed_data
    }


def _variant_save(form, *, product) -> None:
    data, expected_stock = form.variant_changes()
    if form.instance.pk is None:
        saved = services.variant_create(product=product, data=data)
    else:
        saved = services.variant_update(
            variant=form.instance, data=data, expected_stock=expected_stock
        )
    _adopt(form.instance, saved)


@admin.register(Category)
class CategoryAdmin(CatalogEditMixin, admin.ModelAdmin):
    list_display = ("name", "slug", "parent", "position", "is_active")
    list_filter = ("is_active", ("parent", admin.RelatedOnlyFieldListFilter))
    list_select_related = ("parent",)
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}
    list_editable = ("position", "is_active")

    def save_model(self, request, obj, form, change):
        values = _form_values(obj, form, services.CATEGORY_FIELDS, changed_only=change)
        if change:
            saved = services.category_update(category=obj, data=values)
        else:
            saved = services.category_create(**values)
        _adopt(obj, saved)


class VariantInline(admin.TabularInline):
    model = Variant
    form = VariantAdminForm
    extra = 0
    show_change_link = True
    fields = (
        "sku",
        "name",
        "price",
        "fulfilment",
        "face_value",
        "face_currency",
        "region",
        "duration_days",
        "stock",
        "customer_fields",
        "max_per_order",
        "low_stock_threshold",
        "position",
        "is_active",
    )


@admin.register(Product)
class ProductAdmin(CatalogEditMixin, admin.ModelAdmin):
    list_display = (
        "name",
        "kind",
        "brand",
        "category",
        "is_active",
        "listed",
        "updated_at",
    )
    list_filter = ("kind", "brand", "category", "is_active", "listed")
    list_select_related = ("category",)
    search_fields = ("name", "brand", "slug", "variants__sku")
    prepopulated_fields = {"slug": ("name",)}
    # Whether customers see it in the product list: worked out from the
    # product, its category and its variants whenever one of them is saved.
    readonly_fields = ("listed",)
    inlines = [VariantInline]
    date_hierarchy = "created_at"

    def save_model(self, request, obj, form, change):
        # Known limit: a new kind is checked against the variants as stored,
        # before the inline variants are saved, so a kind and the variant
        # values it needs (a subscription's length) take two saves: the
        # variants first.
        values = _form_values(obj, form, services.PRODUCT_FIELDS, changed_only=change)
        if change:
            saved = services.product_update(product=obj, data=values)
        else:
            saved = services.product_create(**values)
        _adopt(obj, saved)

    def save_formset(self, request, form, formset, change):
        if formset.model is not Variant:
            super().save_formset(request, form, formset, change)
            return
        # Fills the formset's new, changed and deleted objects (the change
        # message reads them) without writing; the writes follow.
        formset.save(commit=False)
        for variant in formset.deleted_objects:
            variant.delete()
        if formset.deleted_objects:
            services.catalog_version_bump()
        # Existing variants in id order, the order in which orders lock
        # variant rows, so a save and a checkout cannot deadlock.
        saved_forms = sorted(
            formset.saved_forms,
            key=lambda f: (f.instance.pk is None, f.instance.pk or 0),
        )
        for variant_form in saved_forms:
            _variant_save(variant_form, product=formset.instance)


class PoolCountsMixin:
    """Pool counts per status from annotations (one query for the page)."""

    @admin.display(description=_("available"), ordering="codes_available")
    def available(self, obj):
        return obj.codes_available

    @admin.display(description=_("reserved"), ordering="codes_reserved")
    def reserved(self, obj):
        return obj.codes_reserved

    @admin.display(description=_("sold"), ordering="codes_sold")
    def sold(self, obj):
        return obj.codes_sold

    @admin.display(description=_("void"), ordering="codes_void")
    def void(self, obj):
        return obj.codes_void


@admin.register(Variant)
class VariantAdmin(CatalogEditMixin, PoolCountsMixin, admin.ModelAdmin):
    form = VariantAdminForm
    change_form_template = "admin/catalog/variant/change_form.html"
    list_display = (
        "sku",
        "product",
        "name",
        "price",
        "fulfilment",
        "stock",
        "available",
        "reserved",
        "sold",
        "void",
        "is_active",
    )
    list_filter = ("fulfilment", "is_active", "product__kind", "product__brand")
    list_select_related = ("product",)
    search_fields = ("sku", "name", "product__name", "product__brand")
    readonly_fields = ("available", "reserved", "sold", "void")

    def get_queryset(self, request):
        return selectors.with_pool_counts(super().get_queryset(request))

    def save_model(self, request, obj, form, change):
        _variant_save(form, product=form.cleaned_data["product"])

    def get_urls(self):
        urls = [
            path(
                "<path:object_id>/import-codes/",
                self.admin_site.admin_view(self.import_codes_view),
                name="catalog_variant_import_codes",
            )
        ]
        return urls + super().get_urls()

    def import_codes_view(self, request, object_id):
        """The code import form: the same service as ``manage.py import_codes``."""
        if not request.user.has_perm("catalog.add_codebatch"):
            raise PermissionDenied
        # The pattern takes any path ("abc", "1/2"), as the admin's own do.
        if not (object_id.isascii() and object_id.isdigit()):
            raise Http404
        variant = get_object_or_404(
            Variant.objects.select_related("product"), pk=int(object_id)
        )
        if variant.fulfilment != Variant.Fulfilment.CODE:
            raise Http404
        posted = request.method == "POST"
        form = (
            CodeImportForm(request.POST, request.FILES) if posted else CodeImportForm()
        )
        if posted and form.is_valid():
            data, source_name = form.source()
            try:
                summary = services.code_import(
                    variant=variant,
                    data=data,
                    source_name=source_name,
                    supplier=form.cleaned_data["supplier"],
                    unit_cost=form.cleaned_data["unit_cost"],
                    imported_by=request.user,
                )
            except ApplicationError as exc:
                form.add_error(None, exc.message)
                for row, row_messages in exc.fields.get("rows", {}).items():
                    for message in row_messages:
                        form.add_error(
                            None,
                            _("Row %(row)s: %(message)s")
                            % {"row": row, "message": message},
                        )
            else:
                self.message_user(request, summary.describe(), messages.SUCCESS)
                return HttpResponseRedirect(
                    reverse("admin:catalog_variant_change", args=[variant.pk])
                )
        context = {
            **self.admin_site.each_context(request),
            "title": _("Import codes into %(sku)s") % {"sku": variant.sku},
            "opts": self.model._meta,
            "original": variant,
            "form": form,
            "has_view_permission": True,
        }
        return TemplateResponse(
            request, "admin/catalog/variant/import_codes.html", context
        )


class VariantFilter(admin.SimpleListFilter):
    title = _("variant")
    parameter_name = "variant"

    def lookups(self, request, model_admin):
        variants = Variant.objects.filter(fulfilment=Variant.Fulfilment.CODE)
        return [(str(v.pk), v.sku) for v in variants.order_by("sku")]

    def queryset(self, request, queryset):
        if self.value() and self.value().isascii() and self.value().isdigit():
            return queryset.filter(variant_id=int(self.value()))
        return queryset


class BatchFilter(admin.SimpleListFilter):
    title = _("batch")
    parameter_name = "batch"
    # The newest batches are offered; any batch id works in the address.
    LISTED = 50

    def lookups(self, request, model_admin):
        batches = CodeBatch.objects.select_related("variant")[: self.LISTED]
        return [(str(b.pk), f"#{b.pk} {b.variant.sku}") for b in batches]

    def queryset(self, request, queryset):
        if self.value() and self.value().isascii() and self.value().isdigit():
            return queryset.filter(batch_id=int(self.value()))
        return queryset


@admin.register(DigitalCode)
class DigitalCodeAdmin(admin.ModelAdmin):
    """Codes, masked. Nothing is editable: the one change staff make is
    voiding, through the action, which locks the codes it changes."""

    list_display = (
        "id",
        "masked",
        "sku",
        "status",
        "batch_number",
        "expires_at",
        "created_at",
        "sold_at",
    )
    list_filter = ("status", VariantFilter, BatchFilter, "expires_at")
    list_select_related = ("variant",)
    search_fields = ("=last4", "=variant__sku")
    fields = (
        "masked",
        "variant",
        "batch",
        "status",
        "expires_at",
        "created_at",
        "reserved_at",
        "sold_at",
    )
    readonly_fields = fields
    actions = ["void_codes"]

    @admin.display(description=_("code"))
    def masked(self, obj):
        return obj.masked

    @admin.display(description=_("SKU"), ordering="variant__sku")
    def sku(self, obj):
        return obj.variant.sku

    @admin.display(description=_("batch"), ordering="batch_id")
    def batch_number(self, obj):
        return f"#{obj.batch_id}" if obj.batch_id else "—"

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        # A code's page only shows it: saving it would write back the row
        # as it was read, over a reservation made meanwhile. The change
        # permission without a code is what the void action asks for.
        if obj is not None:
            return False
        return super().has_change_permission(request)

    def get_list_display(self, request):
        shown = super().get_list_display(request)
        if request.user.has_perm("catalog.reveal_code"):
            return (*shown, "reveal_link")
        return shown

    @admin.display(description=_("reveal"))
    def reveal_link(self, obj):
        url = reverse("admin:catalog_digitalcode_reveal", args=[obj.pk])
        return format_html('<a href="{}">{}</a>', url, _("Reveal…"))

    def get_urls(self):
        urls = [
            path(
                "<int:object_id>/reveal/",
                self.admin_site.admin_view(self.reveal_view),
                name="catalog_digitalcode_reveal",
            )
        ]
        return urls + super().get_urls()

    def reveal_view(self, request, object_id):
        """Show one full code after the member of staff gave a reason.

        Staff without ``catalog.reveal_code`` get 403 whatever the method;
        past ``THROTTLE_CODE_REVEAL`` a reveal answers 429 with Retry-After.
        """
        if not request.user.has_perm("catalog.reveal_code"):
            raise PermissionDenied
        code = get_object_or_404(
            DigitalCode.objects.select_related("variant"), pk=object_id
        )
        form = CodeRevealForm(request.POST if request.method == "POST" else None)
        secrets = None
        if request.method == "POST" and form.is_valid():
            try:
                secrets = services.code_reveal(
                    code=code,
                    staff=request.user,
                    reason=form.cleaned_data["reason"],
                    ip=_client_ip(request),
                )
            except RateLimited as exc:
                response = JsonResponse(
                    error_body(exc.code, exc.message), status=exc.status
                )
                response["Retry-After"] = str(exc.retry_after)
                return response
            except RevealNotAllowed:
                raise PermissionDenied from None
            except ApplicationError as exc:
                if not exc.fields:
                    form.add_error(None, exc.message)
                for field, field_messages in exc.fields.items():
                    for message in field_messages:
                        form.add_error(field if field in form.fields else None, message)
        context = {
            **self.admin_site.each_context(request),
            "title": _("Reveal code %(code)s") % {"code": code},
            "opts": self.model._meta,
            "original": code,
            "form": form,
            "secrets": secrets,
            "has_view_permission": True,
        }
        response = TemplateResponse(
            request, "admin/catalog/digitalcode/reveal.html", context
        )
        # The page may hold a full code: no cache, proxy or back button keeps it.
        response["Cache-Control"] = "no-store, private"
        return response

    @admin.action(
        description=_("Void the selected available codes"), permissions=["change"]
    )
    def void_codes(self, request, queryset):
        count = services.codes_void(
            code_ids=queryset.values_list("id", flat=True), voided_by=request.user
        )
        self.message_user(
            request,
            ngettext("%(count)d code voided.", "%(count)d codes voided.", count)
            % {"count": count},
            messages.SUCCESS,
        )


@admin.register(CodeBatch)
class CodeBatchAdmin(PoolCountsMixin, admin.ModelAdmin):
    list_display = (
        "id",
        "variant",
        "supplier",
        "unit_cost",
        "imported_count",
        "rejected_count",
        "available",
        "sold",
        "void",
        "imported_by",
        "source_name",
        "created_at",
    )
    list_filter = ("supplier", "created_at")
    list_select_related = ("variant", "variant__product", "imported_by")
    search_fields = ("=id", "supplier", "variant__sku", "source_name")
    readonly_fields = (
        "variant",
        "supplier",
        "unit_cost",
        "imported_by",
        "source_name",
        "imported_count",
        "rejected_count",
        "available",
        "reserved",
        "sold",
        "void",
        "created_at",
    )
    fields = readonly_fields
    actions = ["void_batches"]

    def get_queryset(self, request):
        return selectors.with_pool_counts(super().get_queryset(request))

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(
        description=_("Void the unsold codes of the selected batches"),
        permissions=["change"],
    )
    def void_batches(self, request, queryset):
        """A leaked supplier delivery: first a page naming the batches and how
        many unsold codes (available or reserved) each loses, then the void
        on confirmation."""
        batches = list(queryset.order_by("pk"))
        if request.POST.get("confirm") != "yes":
            context = {
                **self.admin_site.each_context(request),
                "title": _("Void these batches?"),
                "opts": self.model._meta,
                "batches": batches,
                "total": sum(
                    batch.codes_available + batch.codes_reserved for batch in batches
                ),
                "action": "void_batches",
                "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
            }
            return TemplateResponse(
                request, "admin/catalog/codebatch/void_confirmation.html", context
            )
        count = sum(
            services.code_void_batch(batch=batch, voided_by=request.user)
            for batch in batches
        )
        self.message_user(
            request,
            ngettext("%(count)d code voided.", "%(count)d codes voided.", count)
            % {"count": count},
            messages.SUCCESS,
        )
        return None


@admin.register(CodeReveal)
class CodeRevealAdmin(admin.ModelAdmin):
    """The audit of full codes shown to staff; nobody edits it."""

    list_display = ("at", "staff", "code_masked", "sku", "reason", "ip")
    list_filter = ("at",)
    list_select_related = ("staff", "code__variant")
    search_fields = ("=code__id", "staff__email", "=code__last4")
    date_hierarchy = "at"
    fields = ("at", "staff", "code", "reason", "ip")
    readonly_fields = fields

    @admin.display(description=_("code"))
    def code_masked(self, obj):
        return obj.code.masked

    @admin.display(description=_("SKU"), ordering="code__variant__sku")
    def sku(self, obj):
        return obj.code.variant.sku

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


def _client_ip(request) -> str | None:
    """The client's address as the throttles see it, when it is one."""
    ident = client_ip(request)
    try:
        validate_ipv46_address(ident)
    except ValidationError:
        return None
    return ident
