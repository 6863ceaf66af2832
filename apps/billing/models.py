"""Plans and prices: what a client pays per method call, whichever provider serves it.

Also what bounds a client's spending and calling: its credit holds (the price of each call in
flight, reserved against its credit), rate limits per plan and per client, and the stored
answers of calls made with an Idempotency-Key.
"""

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator, MinValueValidator
from django.db import models
from simple_history.models import HistoricalRecords

from apps.core.fields import CountryField, MoneyField


class Plan(models.Model):
    slug = models.SlugField(max_length=50, unique=True)
    name = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    charge_failed_calls = models.BooleanField(
        default=False, help_text="Charge calls that every provider failed (rarely wanted)."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.slug


class Price(models.Model):
    """A method the plan may call, and what one call costs the client."""

    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="prices")
    method = models.ForeignKey("catalog.Method", on_delete=models.CASCADE, related_name="prices")
    price = MoneyField(validators=[MinValueValidator(Decimal("0"))])
    free_calls = models.PositiveIntegerField(
        default=0, help_text="Calls each client of the plan makes free per calendar month."
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["plan__slug", "method__service__slug", "method__slug"]
        constraints = [models.UniqueConstraint(fields=["plan", "method"], name="price_unique")]

    def __str__(self) -> str:
        return f"{self.plan.slug}: {self.method} = {self.price}"


class CountryPrice(models.Model):
    """What a method of the plan costs when the requester is in one country."""

    base = models.ForeignKey(Price, on_delete=models.CASCADE, related_name="country_prices")
    country = CountryField()
    price = MoneyField(validators=[MinValueValidator(Decimal("0"))])
    history = HistoricalRecords()

    class Meta:
        ordering = ["country"]
        constraints = [
            models.UniqueConstraint(fields=["base", "country"], name="country_price_unique")
        ]

    def __str__(self) -> str:
        return f"{self.country}: {self.price}"


class ClientPrice(models.Model):
    """A negotiated price: this client pays this for the method, whatever its plan or country.

    It also lets the client call a method its plan does not price.
    """

    client = models.ForeignKey(
        "accounts.Client", on_delete=models.CASCADE, related_name="client_prices"
    )
    method = models.ForeignKey(
        "catalog.Method", on_delete=models.CASCADE, related_name="client_prices"
    )
    price = MoneyField(validators=[MinValueValidator(Decimal("0"))])
    history = HistoricalRecords()

    class Meta:
        verbose_name = "negotiated price"
        ordering = ["client__slug", "method__service__slug", "method__slug"]
        constraints = [
            models.UniqueConstraint(fields=["client", "method"], name="client_price_unique")
        ]

    def __str__(self) -> str:
        return f"{self.client.slug}: {self.method} = {self.price}"


class RateWindow(models.TextChoices):
    SECOND = "second", "per second"
    MINUTE = "minute", "per minute"
    HOUR = "hour", "per hour"
    DAY = "day", "per day"


WINDOW_SECONDS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}
TOTAL_SCOPE = "total"


def rate_limit_scope_error(scope: str) -> str | None:
    """Why `scope` is not `total`, a service or a method of the code registry (None if it is)."""
    from apps.catalog.registry import registry

    if scope == TOTAL_SCOPE:
        return None
    if "." in scope:
        if registry.method(scope) is None:
            return f"unknown method {scope!r}"
        return None
    if scope not in registry.services:
        known = ", ".join(sorted(registry.services)) or "none"
        return f"{scope!r} is not 'total', a service ({known}) or a method key"
    return None


class RateLimit(models.Model):
    """At most `limit` calls per window, counted over every call in `scope`."""

    scope = models.CharField(
        max_length=101,
        help_text="'total' (every call), a service (e.g. currency) or a method "
        "(e.g. currency.latest_rates).",
    )
    limit = models.PositiveIntegerField(validators=[MinValueValidator(1)])
    window = models.CharField(max_length=10, choices=RateWindow.choices)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{self.scope}: {self.limit}/{self.window}"

    def clean(self) -> None:
        error = rate_limit_scope_error(self.scope)
        if error:
            raise ValidationError({"scope": error})


class PlanRateLimit(RateLimit):
    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="rate_limits")

    class Meta:
        ordering = ["plan__slug", "scope"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "scope"], name="plan_rate_limit_unique")
        ]


class ClientRateLimit(RateLimit):
    """Replaces the plan's limit of the same scope for one client (or adds one)."""

    client = models.ForeignKey(
        "accounts.Client", on_delete=models.CASCADE, related_name="rate_limits"
    )

    class Meta:
        verbose_name = "rate limit override"
        ordering = ["client__slug", "scope"]
        constraints = [
            models.UniqueConstraint(fields=["client", "scope"], name="client_rate_limit_unique")
        ]


class CreditHold(models.Model):
    """The price of one call in flight, reserved against the client's credit.

    Taken before the call is routed, dropped in the transaction that writes the call's
    ledger row. A hold that outlives every possible deadline belongs to a process that died
    mid-call: `ledger_check --release-dangling` finds and releases it.
    """

    id = models.BigAutoField(primary_key=True)
    client = models.ForeignKey(
        "accounts.Client", on_delete=models.PROTECT, related_name="credit_holds"
    )
    request_id = models.CharField(max_length=128)
    method = models.CharField(max_length=101, help_text="service.method")
    amount = MoneyField()
    created_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["created_at"], name="credit_hold_created")]

    def __str__(self) -> str:
        return f"{self.request_id}: {self.amount}"


class IdempotencyKey(models.Model):
    """A call made with an Idempotency-Key, and (once finished) the answer it got.

    The unique constraint is the lock: of two calls with the same key, one INSERT wins.
    """

    class State(models.TextChoices):
        IN_FLIGHT = "in_flight", "In flight"
        COMPLETED = "completed", "Completed"

    id = models.BigAutoField(primary_key=True)
    client = models.ForeignKey(
        "accounts.Client", on_delete=models.CASCADE, related_name="idempotency_keys"
    )
    method = models.CharField(max_length=101, help_text="service.method")
    key = models.CharField(max_length=255, validators=[MaxLengthValidator(255)])
    payload_hash = models.CharField(max_length=64)
    request_id = models.CharField(max_length=128)
    state = models.CharField(max_length=10, choices=State.choices, default=State.IN_FLIGHT)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.JSONField(null=True, blank=True)
    response_headers = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField()
    # An in-flight record past this time belongs to a call whose process died.
    locked_until = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["client", "method", "key"], name="idempotency_key_unique"
            )
        ]
        indexes = [models.Index(fields=["created_at"], name="idempotency_key_created")]

    def __str__(self) -> str:
        return f"{self.method} {self.key}"
