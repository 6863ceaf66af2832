"""Background work of the domains service: a bought domain's initial DNS records."""

from __future__ import annotations

import logging

from celery import Task, shared_task
from django.conf import settings

from apps.catalog.failures import scrub
from apps.catalog.providers import InvalidInput, ProviderFault
from apps.integrations.domains.dns_setup import initial_dns_apply
from apps.integrations.domains.services import INITIAL_DNS_TASK, purchase_dns_settle

logger = logging.getLogger(__name__)


@shared_task(
    bind=True,
    name=INITIAL_DNS_TASK,
    acks_late=True,
    ignore_result=True,
    max_retries=None,  # counted against DOMAINS_DNS_RETRY_DELAYS_S below
    time_limit=120,
    soft_time_limit=100,
)
def domains_initial_dns(self: Task, purchase_id: int) -> None:
    """Set the purchase's DNS records; wait 2, 4, 8, 16, 32 s while the registrar is not
    ready (or down), then give up and leave the reason on the purchase for ops."""
    delays = settings.DOMAINS_DNS_RETRY_DELAYS_S
    tries = self.request.retries or 0
    try:
        initial_dns_apply(purchase_id=purchase_id)
    except ProviderFault as fault:  # DomainNotReady is one
        if tries < len(delays):
            logger.info(
                "DNS of purchase %s not set (%s); retry in %s s", purchase_id, fault, delays[tries]
            )
            raise self.retry(countdown=delays[tries], exc=fault) from fault
        purchase_dns_settle(
            purchase_id=purchase_id, error=scrub(f"gave up after {tries + 1} tries: {fault}")
        )
        return
    except InvalidInput as exc:
        purchase_dns_settle(
            purchase_id=purchase_id, error=scrub(f"the registrar refused: {exc.detail}")
        )
        return
    purchase_dns_settle(purchase_id=purchase_id)
