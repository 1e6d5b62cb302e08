"""Declared fraud signals over settlement data, one module per pattern."""
