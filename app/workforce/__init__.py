"""Workforce: agents, work positions, careers, exits, imports."""
