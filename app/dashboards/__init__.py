"""Dashboards, home pages figures and the annual activity report (SPEC H1, H2)."""
