"""What the plage lists export (``app.core.exports``): their columns, in French, never the
appointments' content (agents, comments): a plage row is its time, place, professional, state
and how many units are taken."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import defaultload

from app.core.exports import Export, ExportColumn, column
from app.planning import services
from app.planning.models import Plage, PlageState
from app.referential.models import Office


def _taken(plages: list[Plage]) -> dict[int, int]:
    return services.taken_counts([p.id for p in plages])


def _free(plage: Plage, taken: dict[int, int]) -> int | None:
    if plage.state is PlageState.annulee:
        return None
    return max(plage.capacity - taken.get(plage.id, 0), 0)


def plages_export(staff: bool) -> Export:
    columns = [
        column("Date", lambda p: p.starts_at.date()),
        column("Début", lambda p: p.starts_at.time()),
        column("Fin", lambda p: p.ends_at.time()),
        column("Cabinet", lambda p: p.office.name),
        column("Professionnel", lambda p: str(p.professional)),
        column("Nature", lambda p: p.nature),
        column("État", lambda p: p.state),
        column("Places", lambda p: p.capacity),
        ExportColumn("Places libres", _free),
    ]
    if staff:
        columns.insert(
            7,
            column("Réservée pour", lambda p: p.reserved_for.name if p.reserved_for else "commune"),
        )
    return Export("plages", columns, prepare=_taken)


def plages_statement(query: Any) -> Any:
    # The rows show the office's name, not whom it serves.
    return query.options(defaultload(Plage.office).lazyload(Office.served_collectivities))
