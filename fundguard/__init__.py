"""fundguard: medical-insurance fraud scoring, verification and credit ledger."""

__version__ = "0.1.0"
