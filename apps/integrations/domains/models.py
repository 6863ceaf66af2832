"""What the domains service remembers: intentions, registrar sub-accounts, purchases, and
which client holds which domain at which registrar (the pin of every later call)."""

from __future__ import annotations

import uuid

from django.db import models
from django.db.models import Q

from apps.core.fields import EncryptedSecretsField, MoneyField


class RegistrationIntention(models.Model):
    """A client's plan to register a domain at the registrar that offered it cheapest.

    Holds the registrant-form schema the client was shown; finished once the domain is bought.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    client = models.ForeignKey(
        "accounts.Client", on_delete=models.PROTECT, related_name="domain_intentions"
    )
    domain = models.CharField(max_length=253)
    provider = models.CharField(max_length=50, help_text="Slug of the registrar it is for.")
    price = MoneyField(help_text="The registrar's price for one year when the intention began.")
    currency = models.CharField(max_length=3)
    schema = models.JSONField(help_text="JSON Schema of the registrant form.")
    registration_data = models.JSONField(
        default=dict, blank=True, help_text="The form as submitted."
    )
    finished = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            # A domain is bought once through the gateway (the original's `already_purchased`).
            models.UniqueConstraint(
                fields=["domain"],
                condition=Q(finished=True),
                name="domains_intention_one_finished_per_domain",
            )
        ]
        indexes = [models.Index(fields=["client", "domain"], name="domains_intention_client")]

    def __str__(self) -> str:
        return f"{self.domain} at {self.provider}"


class RegistrantAccount(models.Model):
    """A client's sub-account at a registrar (GoDaddy shopper), created on its first purchase.

    `account` holds what the registrar needs to act for it (shopper id, its random password),
    encrypted with FIELD_ENCRYPTION_KEY.
    """

    client = models.ForeignKey(
        "accounts.Client", on_delete=models.PROTECT, related_name="registrant_accounts"
    )
    provider = models.CharField(max_length=50)
    account = EncryptedSecretsField(help_text="The registrar's account data, encrypted.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["client", "provider"], name="domains_account_one_per_client_provider"
            )
        ]

    def __str__(self) -> str:
        return f"{self.client_id} at {self.provider}"


class Purchase(models.Model):
    """A domain bought at a registrar, and whether its initial DNS records are set."""

    intention = models.OneToOneField(
        RegistrationIntention, on_delete=models.PROTECT, related_name="purchase"
    )
    account = models.ForeignKey(
        RegistrantAccount, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    request_id = models.CharField(max_length=64, help_text="The ledger row of the purchase.")
    order_id = models.CharField(max_length=64, help_text="The registrar's order id.")
    total = MoneyField()
    currency = models.CharField(max_length=3)
    period = models.PositiveSmallIntegerField(default=1, help_text="Years.")
    dns_records = models.JSONField(
        default=list, blank=True, help_text="Initial DNS records to set."
    )
    dns_configured = models.BooleanField(default=False)
    dns_error = models.TextField(blank=True, help_text="Why the initial DNS records are not set.")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"order {self.order_id}"


class Domain(models.Model):
    """Which client holds a domain, at which registrar: get/renew/set_dns are pinned there."""

    client = models.ForeignKey("accounts.Client", on_delete=models.PROTECT, related_name="domains")
    name = models.CharField(max_length=253, unique=True)
    provider = models.CharField(max_length=50)
    purchase = models.OneToOneField(
        Purchase, null=True, blank=True, on_delete=models.PROTECT, related_name="domain"
    )
    expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        indexes = [models.Index(fields=["client", "name"], name="domains_domain_client")]

    def __str__(self) -> str:
        return self.name
