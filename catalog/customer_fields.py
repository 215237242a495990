"""Inputs a variant may ask of the customer at order time.

A variant lists the names it needs in ``Variant.customer_fields`` (for a
subscription activated on the customer's own account, ``account_email``);
:func:`clean_inputs` validates an order line's inputs against them.
"""

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from accounts.phones import normalize_phone


class _PhoneField(forms.CharField):
    def clean(self, value):
        value = super().clean(value)
        return normalize_phone(value)


FIELDS: dict[str, forms.Field] = {
    "account_email": forms.EmailField(label=_("account email"), max_length=254),
    "account_username": forms.CharField(label=_("account username"), max_length=150),
    "account_phone": _PhoneField(label=_("account phone"), max_length=32),
    "account_region": forms.CharField(label=_("account region"), max_length=32),
}


def validate_names(names) -> None:
    """For ``Variant.customer_fields``: a list of known names, no repeats."""
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise ValidationError(_("Give a list of field names."), code="invalid")
    unknown = sorted(set(names) - set(FIELDS))
    if unknown:
        raise ValidationError(
            _("Unknown customer fields: %(names)s."),
            code="unknown_customer_field",
            params={"names": ", ".join(unknown)},
        )
    if len(set(names)) != len(names):
        raise ValidationError(_("A field is listed twice."), code="invalid")


def clean_inputs(names: list[str], inputs) -> dict[str, str]:
    """The cleaned inputs for the fields ``names``; raises ``ValidationError``
    with a message per field. Inputs the variant does not ask for are refused,
    so nothing unexpected is stored with an order."""
    if inputs in (None, ""):
        inputs = {}
    if not isinstance(inputs, dict):
        raise ValidationError(_("Inputs must be an object."), code="invalid")
    errors: dict[str, list] = {}
    cleaned: dict[str, str] = {}
    for name in sorted(set(inputs) - set(names)):
        errors[str(name)] = [_("This variant does not ask for this input.")]
    for name in names:
        value = inputs.get(name)
        if not isinstance(value, str | type(None)):
            errors[name] = [_("Enter text.")]
            continue
        try:
            cleaned[name] = FIELDS[name].clean(value)
        except ValidationError as exc:
            errors[name] = exc.messages
    if errors:
        raise ValidationError(errors)
    return cleaned
