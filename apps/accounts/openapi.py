"""Tells drf-spectacular how client-facing endpoints authenticate."""

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class ClientKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "apps.accounts.authentication.ClientKeyAuthentication"
    name = "ApiKeyAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Api-Key <key>` (or send the key alone in `X-API-Key`).",
        }
