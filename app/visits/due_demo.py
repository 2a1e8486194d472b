"""Demo data of the due list's mid-career visit (DOMAIN.md §5, private regime).

One demo collectivity (the second: the first carries the demo accounts' usual examples) follows
the private regime (code du travail); two of its agents turn 45 this year, so « Demandes à
planifier » (horizon 12 mois) shows « Visite de mi-carrière » with its explanation.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from app.referential.models import Regime


def demo_mid_career(context: Any) -> None:
    from app.visits import due

    if len(context.collectivities) < 2:
        return
    collectivity = context.collectivities[1]
    collectivity.regime = Regime.prive
    agents = [a for a in context.agents if a.collectivity_id == collectivity.id][:2]
    for number, agent in enumerate(agents):
        agent.birth_date = dt.date(context.today.year - 45, 3 + number * 4, 12)
    session = context.session
    session.flush()
    session.info.pop("due_dates_pending", None)  # recomputed here, its agents only
    ids = [a.id for a in context.agents if a.collectivity_id == collectivity.id]
    result = due.recompute(ids, on=context.today, session=session)
    context.summary["collectivités au régime privé"] = 1
    context.summary["échéances du régime privé (dont mi-carrière)"] = result.written
