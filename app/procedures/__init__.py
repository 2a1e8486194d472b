"""Procedures (démarches, SPEC I3): management requests, administrator change, buy-outs, mergers."""
