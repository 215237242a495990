from django import forms
from django.utils.translation import gettext_lazy as _


class RefundForm(forms.Form):
    reason = forms.CharField(
        label=_("reason"),
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Kept on the payment and in the order's history."),
    )
    restock_codes = forms.BooleanField(
        label=_("put codes the customer never saw back on sale"), required=False
    )
    confirm_revealed = forms.BooleanField(
        label=_("refund although the customer has seen a code"), required=False
    )
