"""Errors of the webhook endpoint, in the gateway's one hierarchy."""

from apps.core.errors import GatewayError, NotAuthenticated


class SignatureInvalid(NotAuthenticated):
    code, title = "invalid-signature", "The webhook's signature does not verify"


class WebhookNotConfigured(GatewayError):
    """We hold no secret to verify this provider's webhook: the vendor should retry later."""

    status, code, title = 503, "webhook-not-configured", "The webhook is not configured"
