"""Clients (the paying tenants) and their API keys."""

from decimal import Decimal

from django.core.validators import MinValueValidator
from django.db import models
from rest_framework_api_key.models import AbstractAPIKey

from apps.core.fields import CountryField, EncryptedStringField, MoneyField, slug_validator


class Client(models.Model):
    """A paying party. A call may start while balance - held - price >= -credit_limit.

    `balance` is the sum of the client's ledger entries and moves only in the transaction
    that writes one; `held` is the price of its calls in flight (their credit holds). A
    prepaid client has a credit limit of 0 and spends what it topped up.
    """

    slug = models.SlugField(max_length=60, unique=True, validators=[slug_validator])
    name = models.CharField(max_length=200)
    country = CountryField(help_text="Prices and routes calls for this country by default.")
    plan = models.ForeignKey("billing.Plan", on_delete=models.PROTECT, related_name="clients")
    credit_limit = MoneyField(
        default=Decimal("0"),
        validators=[MinValueValidator(Decimal("0"))],
        help_text="How far below zero the balance may go.",
    )
    balance = MoneyField(
        default=Decimal("0"), editable=False, help_text="The sum of the client's ledger entries."
    )
    held = MoneyField(
        default=Decimal("0"), editable=False, help_text="Reserved for the client's calls in flight."
    )
    is_active = models.BooleanField(default=True, help_text="Suspended clients get 403.")
    # Signs the results POSTed to its callback URLs (X-Signature); made on first use.
    webhook_secret = EncryptedStringField(blank=True, null=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.slug

    @property
    def available(self) -> Decimal:
        """What the client may still spend: balance - held + credit_limit."""
        return self.balance - self.held + self.credit_limit


class ClientApiKey(AbstractAPIKey):
    """Only the key's prefix and hash are stored; the key itself is shown once."""

    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="api_keys")

    class Meta(AbstractAPIKey.Meta):
        verbose_name = "API key"
        verbose_name_plural = "API keys"
