"""The `reminders` job (SPEC G4): each reminder is sent once (recorded on what it reminds of).

Steps: unfilled reserved plages 15 days ahead (``planning.services.send_unfilled_reminders``,
once per plage through ``plage.reminder_sent_at``). The billing issue adds the declaration
reminders from 1 March (once per collectivity and year) to REMINDER_STEPS.
"""

from __future__ import annotations

from collections.abc import Callable

from app.jobs import JobContext

PLAGES = "rappels de plages non remplies"


def unfilled_plages_step(ctx: JobContext) -> None:
    from app.planning.services import send_unfilled_reminders

    # The plages of the next 15 days: a bounded set, one batch.
    ctx.counts[PLAGES] += send_unfilled_reminders(ctx.today)
    ctx.end_batch()


DECLARATIONS = "relances de déclaration annuelle"


def declarations_step(ctx: JobContext) -> None:
    from app.billing.declarations import send_reminders

    # From 1 March, the collectivities that have not declared the year: once each and year.
    ctx.counts[DECLARATIONS] += send_reminders(ctx.today)
    ctx.end_batch()


REMINDER_STEPS: list[Callable[[JobContext], None]] = [unfilled_plages_step, declarations_step]


def run_reminders(ctx: JobContext) -> None:
    for step in REMINDER_STEPS:
        step(ctx)
