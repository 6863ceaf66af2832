"""The stack's ceiling: one async Django view that only proxies to the upstream."""
