"""Importers that convert public or regional datasets into the settlement contract."""
