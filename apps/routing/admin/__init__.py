"""Routing in the admin: the provider and offering pages with their circuit breakers.

Provider and Offering are the catalog's rows; their pages show and drive routing's breakers,
so they are registered here, above both apps (an admin may sit above its app; it never
imports another app's admin). Services, methods and routing policies are apps.catalog.admin.
"""

from apps.routing.admin import offerings, providers

__all__ = ["offerings", "providers"]
