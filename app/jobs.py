"""Scheduled jobs (SPEC G): the job table and the scheduler wiring.

No job is scheduled yet: the sync, billing, reminder and retention jobs come with their issues.
"""

from __future__ import annotations

JOBS: dict[str, object] = {}
