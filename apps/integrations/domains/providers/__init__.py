"""Registrar adapters of the domains service, one module per registrar."""
