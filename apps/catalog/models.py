"""What ops tune: services, methods, providers, offerings and routing policies.

Services, methods and adapters are defined in code (apps.catalog.registry); these rows are
synced from it and carry the configuration: enabled, priority, weight, cost, strategy.
"""

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models, transaction
from simple_history.models import HistoricalRecords

from apps.catalog.breaker_thresholds import BreakerThresholds
from apps.catalog.countries import country_list_problems
from apps.catalog.credential_scope import CREDENTIALS_DROPPED_REASON, credentials_after_move

# The version counters' table is defined beside their bump and read (apps.core.state).
from apps.catalog.shared_versions import SharedVersion as SharedVersion
from apps.core.fields import CountryField, EncryptedSecretsField, MoneyField, slug_validator


class TimeStamped(models.Model):
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class Service(TimeStamped):
    slug = models.SlugField(max_length=50, unique=True)
    name = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    enabled = models.BooleanField(default=True)

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.slug


class Method(TimeStamped):
    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="methods")
    slug = models.SlugField(max_length=50)
    name = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    enabled = models.BooleanField(default=True)
    idempotent = models.BooleanField(default=True, editable=False)
    cacheable = models.BooleanField(default=False, editable=False)

    class Meta:
        ordering = ["service__slug", "slug"]
        constraints = [
            models.UniqueConstraint(fields=["service", "slug"], name="method_unique_per_service")
        ]

    def __str__(self) -> str:
        return self.key

    @property
    def key(self) -> str:
        return f"{self.service.slug}.{self.slug}"


_NOT_LOADED = object()


class Provider(BreakerThresholds, TimeStamped):
    slug = models.SlugField(max_length=50, unique=True, validators=[slug_validator])
    name = models.CharField(max_length=120)
    adapter = models.CharField(
        max_length=100, help_text="The adapter class from the code registry, e.g. currency.fixer."
    )
    base_url = models.CharField(max_length=500, help_text="The vendor's API root.")
    timeout_ms = models.PositiveIntegerField(
        default=2000,
        validators=[MinValueValidator(50), MaxValueValidator(120_000)],
        help_text="Per-attempt timeout.",
    )
    enabled = models.BooleanField(default=False)
    # A dict of secrets; annotated because the field's base class is untyped.
    credentials: Any = EncryptedSecretsField(blank=True, default=dict)
    notes = models.TextField(blank=True)
    # Ops' narrowing of the adapter's countries (apps.catalog.countries); [] = the adapter's.
    countries = models.JSONField(
        "countries served",
        blank=True,
        default=list,
        help_text="ISO 3166-1 alpha-2 codes this provider is used for when a method routes by "
        "country; blank: every country its adapter serves. Can only narrow that list.",
    )
    # Audited without its secrets: history must never hold credentials, even encrypted.
    history = HistoricalRecords(excluded_fields=["credentials"])
    # Set for one save: simple-history keeps it as the history row's change reason.
    _change_reason: str
    _stored_credentials: object

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.slug

    def save(self, *args: Any, **kwargs: Any) -> None:
        """Save; stored secrets never follow the row to another host or adapter.

        See apps.catalog.credential_scope. The stored row is read under a lock, so that what
        is compared is what is overwritten.
        """
        with transaction.atomic():
            update_fields = kwargs.get("update_fields")
            kept = None
            if self.pk is not None:
                kept = self.credentials_kept_on_save(update_fields, lock=True)
            if kept is not None:
                self.credentials = kept
                if update_fields is not None:
                    kwargs["update_fields"] = {*update_fields, "credentials"}
                self._change_reason = CREDENTIALS_DROPPED_REASON
            try:
                super().save(*args, **kwargs)
            finally:
                if kept is not None:
                    del self._change_reason
        self._note_stored_credentials()

    @classmethod
    def from_db(cls, *args: Any, **kwargs: Any) -> "Provider":
        instance = super().from_db(*args, **kwargs)
        instance._note_stored_credentials()
        return instance

    def refresh_from_db(self, *args: Any, **kwargs: Any) -> None:
        super().refresh_from_db(*args, **kwargs)
        self._note_stored_credentials()

    def _note_stored_credentials(self) -> None:
        # The secrets object as read or last saved: writing this very object under another
        # scope is carrying them over; a newly assigned one is secrets supplied with the move.
        self._stored_credentials = self.__dict__.get("credentials", _NOT_LOADED)

    def credentials_kept_on_save(
        self, update_fields: Iterable[str] | None = None, *, lock: bool = False
    ) -> dict[str, str] | None:
        """What a save now would leave of the stored secrets, if it drops any; else None.

        It drops them when the save moves the row to another scope (adapter, scheme, host,
        port) and would carry stored values there.
        """
        rows = Provider.objects.filter(pk=self.pk)
        stored = (
            (rows.select_for_update() if lock else rows)
            .values("adapter", "base_url", "credentials")
            .first()
        )
        if stored is None:
            return None
        fields = None if update_fields is None else set(update_fields)

        def written(name: str) -> bool:
            return fields is None or name in fields

        as_read = getattr(self, "_stored_credentials", _NOT_LOADED)
        return credentials_after_move(
            stored=stored,
            # The row as this save leaves it: fields not written keep their stored values.
            adapter=self.adapter if written("adapter") else stored["adapter"],
            base_url=self.base_url if written("base_url") else stored["base_url"],
            proposed=self.credentials if written("credentials") else stored["credentials"],
            # Assigned since the row was read: supplied with the move. Not when unwritten,
            # read as they are, edited in place, or of a row not read through the ORM.
            supplied=written("credentials")
            and as_read is not _NOT_LOADED
            and self.credentials is not as_read,
        )

    def clean(self) -> None:
        from apps.catalog.registry import registry

        adapter = registry.adapters.get(self.adapter)
        errors: dict[str, list[str]] = {}
        if adapter is None:
            errors["adapter"] = [f"Unknown adapter {self.adapter!r}."]
        if self.countries in (None, ""):
            self.countries = []
        problems = country_list_problems(self.countries, adapter)
        if problems:
            errors["countries"] = problems
        else:
            self.countries = sorted(set(self.countries))
        if errors:
            raise ValidationError(errors)


class Offering(TimeStamped):
    """A provider serving a method: whether it is used, in which order, at what cost to us."""

    provider = models.ForeignKey(Provider, on_delete=models.CASCADE, related_name="offerings")
    method = models.ForeignKey(Method, on_delete=models.CASCADE, related_name="offerings")
    enabled = models.BooleanField(default=True)
    priority = models.PositiveSmallIntegerField(default=100, help_text="Lower is tried first.")
    weight = models.PositiveIntegerField(
        default=1, help_text="Share of calls under the weighted strategy."
    )
    cost = MoneyField(default=Decimal("0"), validators=[MinValueValidator(Decimal("0"))])

    class BreakerForced(models.TextChoices):
        AUTOMATIC = "", "automatic"
        OPEN = "open", "forced open (drained)"
        CLOSED = "closed", "forced closed"

    # Set by the admin's breaker actions. Kept here, not in Redis with the rest of the
    # breaker, so that a drain survives a Redis restart and holds while Redis is unreachable.
    breaker_forced = models.CharField(
        "breaker forced",
        max_length=6,
        choices=BreakerForced.choices,
        default=BreakerForced.AUTOMATIC,
        blank=True,
        editable=False,
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["method__service__slug", "method__slug", "priority", "provider__slug"]
        constraints = [
            models.UniqueConstraint(fields=["provider", "method"], name="offering_unique")
        ]

    def __str__(self) -> str:
        return f"{self.provider.slug} → {self.method.key}"

    def clean(self) -> None:
        from apps.catalog.registry import registry

        adapter = registry.adapters.get(self.provider.adapter) if self.provider_id else None
        if adapter is not None and self.method_id:
            method = self.method
            if (
                adapter.service != method.service.slug
                or method.slug not in adapter.provided_methods
            ):
                raise ValidationError(f"{adapter.key} does not implement {method.key}.")


class OfferingCountryCost(models.Model):
    """What an offering costs us when the requester is in one country."""

    offering = models.ForeignKey(Offering, on_delete=models.CASCADE, related_name="country_costs")
    country = CountryField()
    cost = MoneyField(validators=[MinValueValidator(Decimal("0"))])
    history = HistoricalRecords()

    class Meta:
        ordering = ["country"]
        constraints = [
            models.UniqueConstraint(fields=["offering", "country"], name="country_cost_unique")
        ]

    def __str__(self) -> str:
        return f"{self.country}: {self.cost}"


class RoutingPolicy(TimeStamped):
    method = models.OneToOneField(Method, on_delete=models.CASCADE, related_name="routing")
    strategy = models.CharField(max_length=50, default="priority")
    failover = models.BooleanField(default=True)
    max_attempts = models.PositiveSmallIntegerField(
        default=3, validators=[MinValueValidator(1), MaxValueValidator(20)]
    )
    deadline_ms = models.PositiveIntegerField(
        default=10_000,
        validators=[MinValueValidator(100), MaxValueValidator(300_000)],
        help_text="Total time for all attempts of one call.",
    )
    cache_ttl_s = models.PositiveIntegerField(
        null=True, blank=True, help_text="Cacheable methods only; empty means no caching."
    )
    history = HistoricalRecords()

    class Meta:
        verbose_name_plural = "routing policies"
        ordering = ["method__service__slug", "method__slug"]

    def __str__(self) -> str:
        return f"{self.method.key}: {self.strategy}"

    def clean(self) -> None:
        from apps.catalog.registry import registry

        if self.strategy not in registry.strategies:
            names = ", ".join(sorted(registry.strategies))
            raise ValidationError({"strategy": f"Unknown strategy; choose one of {names}."})
        if self.cache_ttl_s and self.method_id and not self.method.cacheable:
            raise ValidationError({"cache_ttl_s": f"{self.method.key} is not cacheable."})
