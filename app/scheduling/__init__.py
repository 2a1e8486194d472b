"""Scheduled jobs (SPEC G1): run claims and history, the scheduler process, the admin screen."""
