"""REST resource `job_run` (CONTRACT.md §2): the run history, read-only."""

from __future__ import annotations

from flask_appbuilder.models.sqla.interface import SQLAInterface

from app.core.views import AppModelRestApi
from app.scheduling.models import JobRun
from app.scheduling.views import JOB_RUN, LABELS


class JobRunApi(AppModelRestApi):
    resource_name = "job_run"
    datamodel = SQLAInterface(JobRun)
    class_permission_name = JOB_RUN
    base_permissions = ["can_read"]
    label_columns = LABELS
    list_columns = [
        "id",
        "job",
        "scheduled_for",
        "started_at",
        "ended_at",
        "status",
        "counts",
        "error",
        "trigger",
        "started_by_id",
        "attempts",
    ]
    show_columns = list_columns
    search_columns = ["job", "status", "scheduled_for", "started_at"]
    order_columns = ["scheduled_for", "started_at", "job", "status"]
    base_order = ("started_at", "desc")
