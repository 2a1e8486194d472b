"""SEPA direct debit of invoices: mandates of the collectivities and pain.008 files (issue 18)."""
