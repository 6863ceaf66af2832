"""Plans and prices: what a client pays per method call, whichever provider serves it."""

from decimal import Decimal

from django.core.validators import MinValueValidator
from django.db import models

from apps.core.fields import MoneyField


class Plan(models.Model):
    slug = models.SlugField(max_length=50, unique=True)
    name = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    charge_failed_calls = models.BooleanField(
        default=False, help_text="Charge calls that every provider failed (rarely wanted)."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.slug


class Price(models.Model):
    """A method the plan may call, and what one call costs the client."""

    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="prices")
    method = models.ForeignKey("catalog.Method", on_delete=models.CASCADE, related_name="prices")
    price = MoneyField(validators=[MinValueValidator(Decimal("0"))])

    class Meta:
        ordering = ["plan__slug", "method__service__slug", "method__slug"]
        constraints = [models.UniqueConstraint(fields=["plan", "method"], name="price_unique")]

    def __str__(self) -> str:
        return f"{self.plan.slug}: {self.method} = {self.price}"
