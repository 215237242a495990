from django import forms
from django.utils.translation import gettext_lazy as _

from orders.models import OrderItem


class OrderNoteForm(forms.Form):
    message = forms.CharField(
        label=_("note"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_(
            "Kept in the order's history with your name; customers never see it."
        ),
    )


NOTIFICATION_LABELS = {
    "order_paid": _("Order paid"),
    "item_activated": _("Item activated"),
    "item_shipped": _("Item shipped"),
    "refund": _("Refund"),
}


class ResendNotificationForm(forms.Form):
    """The notifications that fit the order, as ``name`` or ``name:item``."""

    notification = forms.ChoiceField(label=_("notification"))

    def __init__(self, *args, choices: list[tuple[str, int | None]], items, **kwargs):
        super().__init__(*args, **kwargs)
        skus = {item.pk: item.sku for item in items}
        self.fields["notification"].choices = [
            (
                f"{name}:{item_id}" if item_id else name,
                f"{NOTIFICATION_LABELS[name]} ({skus.get(item_id, '')})"
                if item_id
                else NOTIFICATION_LABELS[name],
            )
            for name, item_id in choices
        ]

    def chosen(self) -> tuple[str, int | None]:
        name, _sep, item_id = self.cleaned_data["notification"].partition(":")
        return name, int(item_id) if item_id else None


class FulfilManualForm(forms.Form):
    details = forms.CharField(
        label=_("activation details"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_(
            "What was activated and where (the account, the plan, until when); "
            "kept on the item for later questions."
        ),
    )
    reference = forms.CharField(
        label=_("provider reference"), max_length=100, required=False
    )

    def service_details(self) -> dict:
        details = {"details": self.cleaned_data["details"].strip()}
        if self.cleaned_data["reference"].strip():
            details["reference"] = self.cleaned_data["reference"].strip()
        return details


class MarkShippedForm(forms.Form):
    tracking_number = forms.CharField(
        label=OrderItem._meta.get_field("tracking_number").verbose_name,
        max_length=100,
    )
