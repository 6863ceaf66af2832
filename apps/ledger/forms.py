"""The staff forms that book ledger rows: a top-up or adjustment, a reversal."""

from django import forms

from apps.core.money import MONEY_DECIMAL_PLACES, MONEY_MAX_DIGITS
from apps.ledger.models import LedgerEntry


class BookingForm(forms.Form):
    kind = forms.ChoiceField(
        choices=[
            (LedgerEntry.Kind.TOPUP, "Top-up: money received (positive)"),
            (LedgerEntry.Kind.ADJUSTMENT, "Adjustment: a correction either way (+ or -)"),
        ]
    )
    amount = forms.DecimalField(max_digits=MONEY_MAX_DIGITS, decimal_places=MONEY_DECIMAL_PLACES)
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=2000,
        help_text="Kept on the ledger row with your user name, e.g. the bank reference.",
    )


class ReversalForm(forms.Form):
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=2000,
        help_text="Kept on the reversing row with your user name.",
    )
