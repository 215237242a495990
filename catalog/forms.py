from decimal import Decimal

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from catalog import errors, services
from catalog.models import Variant


class CodeImportForm(forms.Form):
    """Codes for a variant's pool: a supplier's file, or codes pasted one a
    line (the same format, see ``catalog.code_files``)."""

    file = forms.FileField(
        label=_("code file"),
        required=False,
        help_text=_(
            "CSV or plain text, UTF-8, one code a line; optional PIN, serial and "
            "expiry (2027-12-31) columns."
        ),
    )
    codes = forms.CharField(
        label=_("or paste codes"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 12, "autocomplete": "off"}),
    )
    supplier = forms.CharField(label=_("supplier"), max_length=120, required=False)
    unit_cost = forms.DecimalField(
        label=_("unit cost"),
        required=False,
        min_value=Decimal("0"),
        max_digits=18,
        decimal_places=2,
    )

    def clean(self):
        data = super().clean()
        has_file = bool(data.get("file"))
        has_text = bool((data.get("codes") or "").strip())
        if has_file == has_text:
            raise ValidationError(
                _("Upload a file or paste codes, not both."), code="one_source"
            )
        return data

    def source(self) -> tuple[bytes | str, str]:
        """The codes to import and the name recorded on the batch."""
        upload = self.cleaned_data.get("file")
        if upload:
            return upload.read(), upload.name
        return self.cleaned_data["codes"], str(_("pasted in the admin"))


class VariantAdminForm(forms.ModelForm):
    """Checks the attributes the product's kind asks of a variant, and
    carries back the stock count the page showed (a hidden copy rendered
    beside the field), so a save can tell a count staff typed from one that
    orders changed while the page was open."""

    class Meta:
        model = Variant
        fields = ("product", *services.VARIANT_FIELDS)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "stock" in self.fields:
            self.fields["stock"].show_hidden_initial = True

    def clean(self):
        data = super().clean()
        product = data.get("product") or getattr(self.instance, "product", None)
        if product is not None and not self.errors:
            candidate = self.instance
            # The variant's own fields only: an inline form's cleaned data
            # also holds its row ("id", a variant) and its product.
            for name in services.VARIANT_FIELDS:
                if name in data:
                    setattr(candidate, name, data[name])
            try:
                services.variant_validate_kind(product, candidate)
            except ValidationError as exc:
                for field, messages in exc.message_dict.items():
                    self.add_error(field if field in self.fields else None, messages)
        if self._stock_edited() and self.loaded_stock() is None:
            # Without the count the page showed, a new count cannot be
            # checked against what orders did meanwhile.
            self.add_error("stock", errors.StockChanged.default_message)
        return data

    def _stock_edited(self) -> bool:
        return (
            self.instance.pk is not None
            and "stock" in self.fields
            and "stock" in self.changed_data
        )

    def loaded_stock(self) -> int | None:
        """The stock the page showed when it loaded, or ``None`` when the
        form did not carry it back as a count."""
        field = self.fields["stock"]
        raw = field.hidden_widget().value_from_datadict(
            self.data, self.files, self.add_initial_prefix("stock")
        )
        try:
            return field.to_python(raw)
        except ValidationError:
            return None

    def variant_changes(self) -> tuple[dict, int | None]:
        """What a save hands the variant services: the fields staff changed
        (every field of a new variant), and the stock the page showed when
        the stock is among them (``None`` otherwise)."""
        names = [
            name
            for name in ("product", *services.VARIANT_FIELDS)
            if name in self.cleaned_data
        ]
        if self.instance.pk is None:
            return {name: self.cleaned_data[name] for name in names}, None
        changed = set(self.changed_data)
        data = {name: self.cleaned_data[name] for name in names if name in changed}
        return data, self.loaded_stock() if "stock" in data else None


class CodeRevealForm(forms.Form):
    reason = forms.CharField(
        label=_("reason"),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_(
            "Why the full code must be seen (a disputed delivery, say). It is "
            "recorded with your name and the time."
        ),
    )
