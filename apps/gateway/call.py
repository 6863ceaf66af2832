"""Kept only while other modules move their imports to apps.gateway.stages (issue #16)."""

from apps.gateway.stages import GatewayRequest, GatewayResponse

__all__ = ["GatewayRequest", "GatewayResponse"]
