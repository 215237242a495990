from decimal import Decimal

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from catalog import services
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
    """Checks the attributes the product's kind asks of a variant."""

    class Meta:
        model = Variant
        fields = ("product", *services.VARIANT_FIELDS)

    def clean(self):
        data = super().clean()
        product = data.get("product") or getattr(self.instance, "product", None)
        if product is not None and not self.errors:
            candidate = self.instance
            for name, value in data.items():
                if hasattr(candidate, name) and name != "product":
                    setattr(candidate, name, value)
            try:
                services.variant_validate_kind(product, candidate)
            except ValidationError as exc:
                for field, messages in exc.message_dict.items():
                    self.add_error(field if field in self.fields else None, messages)
        return data


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
