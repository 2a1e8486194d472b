"""Billing (SPEC F): declarations, tariffs, runs, invoices."""
