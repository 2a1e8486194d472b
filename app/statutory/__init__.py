"""Statutory medicine and inspection (SPEC I1, I2, F5)."""
