"""Cases and verification, the credit ledger, the sampling planner, warnings and reports."""
