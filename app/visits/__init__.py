"""Visits: requests (SPEC E1, E2), consultations and visit sheets."""
