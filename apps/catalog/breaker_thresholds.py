"""A provider's circuit breaker thresholds, applied to each of its offerings (provider x method).

Routing reads them (apps.routing.health.provider_breaker_policy); ops set them on the provider
page and in the configuration file's `breaker:` keys.
"""

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models


class BreakerThresholds(models.Model):
    """The threshold fields of Provider (an abstract base: the columns are the provider's)."""

    breaker_failures = models.PositiveSmallIntegerField(
        "open after consecutive faults",
        default=5,
        validators=[MinValueValidator(1), MaxValueValidator(1000)],
        help_text="The breaker opens after this many provider faults in a row.",
    )
    breaker_fault_rate = models.PositiveSmallIntegerField(
        "open at fault rate (%)",
        default=50,
        validators=[MinValueValidator(1), MaxValueValidator(100)],
        help_text="…or when this share of the calls in the window failed.",
    )
    breaker_window_s = models.PositiveIntegerField(
        "fault rate window (s)",
        default=60,
        validators=[MinValueValidator(6), MaxValueValidator(86_400)],
    )
    breaker_min_calls = models.PositiveIntegerField(
        "fault rate minimum calls",
        default=20,
        validators=[MinValueValidator(1), MaxValueValidator(1_000_000)],
        help_text="The fault rate counts only once the window holds this many calls.",
    )
    breaker_cooldown_s = models.PositiveIntegerField(
        "cooldown (s)",
        default=30,
        validators=[MinValueValidator(1), MaxValueValidator(86_400)],
        help_text="How long an open breaker skips the provider before one probe call.",
    )

    class Meta:
        abstract = True
