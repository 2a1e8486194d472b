"""Demo statutory-medicine requests (SPEC I1): a few requests in the first collectivities that may
file them (MSC convention, 50 agents or more), pending, planned, done (one late), an unjustified
absence and a cancellation, filed through the services so that deadlines and quota are computed
as on the screens; deterministic (no random draw)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from app.rules.errors import DomainError
from app.statutory import services

# (act number, written report, days ago requested, what happens: None, "plan", "done", "absent",
# "cancel")
_PLAN: list[tuple[int, bool, int, str | None]] = [
    (1, False, 2, None),
    (12, True, 4, "plan"),
    (7, False, 40, "done"),
    (9, False, 30, "done"),
    (6, False, 12, "absent"),
    (16, False, 8, None),
    (3, False, 25, None),
    (17, False, 6, "cancel"),
]


def demo_statutory(context: Any) -> None:
    today = context.today
    count = 0
    eligible = [c for c in context.collectivities if services.eligibility(c.id, today).allowed]
    for collectivity in eligible[:3]:
        agents = [
            a
            for a in context.agents
            if a.collectivity_id == collectivity.id
            and a.contracts
            and a.contracts[0].end_date is None
        ]
        for index, (act, report, ago, then) in enumerate(_PLAN):
            if index >= len(agents):
                break
            requested_on = today - dt.timedelta(days=ago)
            if requested_on.year != today.year:
                requested_on = dt.date(today.year, 1, 1)
            item = services.create_request(
                agents[index].id,
                act,
                written_report=report,
                requested_on=requested_on,
                information="Agent joignable le matin." if index == 0 else None,
            )
            done_on = min(today, requested_on + dt.timedelta(days=7 + index))
            if then == "plan":
                services.plan_request(item.id, planned_on=today + dt.timedelta(days=3))
            elif then == "done":
                services.mark_done(item.id, done_on)
            elif then == "absent":
                services.mark_absent(item.id, done_on)
            elif then == "cancel":
                services.cancel_request(item.id, "Agent reprenant son poste.")
            count += 1
    context.session.flush()
    context.summary["demandes de médecine statutaire"] = count
    context.summary["interventions ACFI"] = _demo_acfi(context)


def _demo_acfi(context: Any) -> int:
    """An ACFI convention for the first collectivities and two days of the inspector each, the
    past one done."""
    from sqlalchemy import select

    from app.referential.models import Convention, Mission
    from app.statutory import acfi

    session, today = context.session, context.today
    mission = session.scalar(select(Mission).where(Mission.code == "acfi"))
    count = 0
    for index, collectivity in enumerate(context.collectivities[:4]):
        session.add(
            Convention(
                collectivity_id=collectivity.id,
                mission_id=mission.id,
                number=f"{index + 1:03d} - CU - ACFI - {today.year}",
                start_date=dt.date(today.year, 1, 1),
                end_date=dt.date(today.year + 2, 12, 31),
            )
        )
        session.flush()
        for offset, status in ((-20, "realise"), (25, None)):
            day_on = today + dt.timedelta(days=offset)
            if day_on.year != today.year:
                continue
            try:
                day = acfi.add_day(collectivity.id, day_on, "0.5", inspector="M. LEROY")
            except DomainError:  # an off year of a small collectivity: no day without amendment
                break
            if status:
                acfi.set_day_status(day.id, status)
            count += 1
    return count
