"""Placeholder until the vendor adapter lands in this change."""
