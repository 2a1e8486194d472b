"""Archiving days (SPEC F6 « archiving days »; DOMAIN.md §1 « Archiving: 315 € per day of
intervention »; CONTRACT.md convention mission ``archivage``).

The archivist's interventions at a collectivity are recorded by the secretariat (date, days —
half days allowed —, archivist, description), planned then done or cancelled. The ``archiving``
billing run (app/billing/runs.py, job ``billing-archiving``, yearly: the year before the run's
date, like ACFI) bills the days done in the year at the tariff row ``archiving_day`` in force,
only for a collectivity with a convention of mission ``archivage`` over the year (blocked in
French otherwise). Each collectivity is billed once per year (the run key): a second run bills
nothing, and an intervention of a billed year can no longer change its state.
"""

from __future__ import annotations

import datetime as dt
import decimal
from typing import Any

from sqlalchemy import Date, Index, Integer, String, Text, func, select
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core import clock
from app.core.model import Base
from app.core.types import Decimal, LabelledEnum, enum_column
from app.extensions import db
from app.referential.models import Collectivity, Convention, Mission
from app.referential.services import collectivities_under_convention
from app.rules.errors import DomainError, FieldError
from app.tenancy import TenantMixin, TenantViolation

MISSION_CODE = "archivage"
TARIFF_CODE = "archiving_day"
RUN_KIND = "archiving"
HALF = decimal.Decimal("0.5")
MAX_DAYS = decimal.Decimal(20)


class ArchivingStatus(LabelledEnum):
    planifie = "Planifiée"
    realise = "Réalisée"
    annule = "Annulée"


class ArchivingIntervention(TenantMixin, Base):
    """An intervention of the archivist at a collectivity (one or more days, or half a day)."""

    __tablename__ = "archiving_intervention"
    __table_args__ = (
        Index("ix_archiving_intervention_day", "day_on", "collectivity_id"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    day_on: Mapped[dt.date] = mapped_column(Date)
    days: Mapped[decimal.Decimal] = mapped_column(Decimal(4, 1))
    archivist: Mapped[str | None] = mapped_column(String(120))
    description: Mapped[str | None] = mapped_column(Text)
    status: Mapped[ArchivingStatus] = enum_column(ArchivingStatus, default=ArchivingStatus.planifie)

    collectivity = relationship("Collectivity", lazy="joined")

    def __str__(self) -> str:
        return f"Archivage du {self.day_on:%d/%m/%Y} – {self.collectivity}"


# ----------------------------------------------------------------------------------------------
# Recording interventions
# ----------------------------------------------------------------------------------------------


def _valid_id(value: Any) -> int:
    if not str(value).isdigit() or not 0 < int(value) < 2**63:
        raise TenantViolation()
    return int(value)


def get_intervention(intervention_id: Any) -> ArchivingIntervention:
    found = db.session.get(ArchivingIntervention, _valid_id(intervention_id))
    if found is None:
        raise TenantViolation()
    return found


def _conventions_query(start: dt.date, end: dt.date) -> Any:
    return (
        select(Convention)
        .join(Mission, Mission.id == Convention.mission_id)
        .where(
            Mission.code == MISSION_CODE,
            Convention.start_date <= end,
            Convention.end_date >= start,
        )
    )


def conventions(start: dt.date, end: dt.date) -> dict[int, Convention]:
    """The first archiving convention of each collectivity overlapping [start, end] (1 query)."""
    rows = db.session.scalars(
        _conventions_query(start, end).order_by(Convention.collectivity_id, Convention.start_date)
    )
    found: dict[int, Convention] = {}
    for row in rows:
        found.setdefault(row.collectivity_id, row)
    return found


def parse_days(value: Any) -> decimal.Decimal:
    """Half a day (0,5) to 20 days, by half days; a comma is accepted."""
    try:
        days = decimal.Decimal(str(value or "").strip().replace(",", "."))
    except (decimal.InvalidOperation, ValueError):
        raise FieldError(
            "Durée invalide : indiquez un nombre de jours (0,5, 1, 2,5…).", "days"
        ) from None
    if not days.is_finite() or days <= 0 or days > MAX_DAYS or days % HALF != 0:
        raise FieldError(
            "La durée se compte en demi-journées : de 0,5 à 20 jours (0,5, 1, 1,5…).", "days"
        )
    return days


def billed_invoice_number(collectivity_id: int, year: int) -> str | None:
    """The number of the archiving invoice of a collectivity's year, None when not billed."""
    from app.billing.models import Invoice
    from app.billing.runs import run_key, year_period

    return db.session.scalar(
        select(Invoice.number).where(
            Invoice.run_key == run_key(RUN_KIND, year_period(year), collectivity_id)
        )
    )


def _refuse_if_billed(collectivity_id: int, year: int) -> None:
    number = billed_invoice_number(collectivity_id, year)
    if number is not None:
        raise DomainError(
            f"Les journées d'archivage {year} de cette collectivité sont déjà facturées "
            f"(facture n° {number}) : l'intervention ne peut plus être modifiée. Une correction "
            "se fait par un avoir sur la facture."
        )


def add_intervention(
    collectivity_id: Any,
    day_on: dt.date | None,
    days: Any,
    *,
    archivist: str | None = None,
    description: str | None = None,
) -> ArchivingIntervention:
    """Plan an intervention; the collectivity must have an archiving convention that day."""
    if not str(collectivity_id or "").isdigit():
        raise FieldError("Choisissez la collectivité.", "collectivity_id")
    collectivity = db.session.get(Collectivity, _valid_id(collectivity_id))
    if collectivity is None:
        raise FieldError("Choisissez la collectivité.", "collectivity_id")
    if day_on is None:
        raise FieldError("Indiquez la date de l'intervention.", "day_on")
    amount = parse_days(days)
    if collectivity.id not in conventions(day_on, day_on):
        raise DomainError(
            f"{collectivity.name} n'a pas de convention d'archivage en vigueur le "
            f"{day_on:%d/%m/%Y} : saisissez d'abord la convention (Adhérents › Conventions)."
        )
    _refuse_if_billed(collectivity.id, day_on.year)
    item = ArchivingIntervention(
        collectivity_id=collectivity.id,
        day_on=day_on,
        days=amount,
        archivist=(archivist or "").strip()[:120] or None,
        description=(description or "").strip() or None,
        status=ArchivingStatus.planifie,
    )
    item.collectivity = collectivity
    db.session.add(item)
    db.session.flush()
    return item


def set_status(intervention_id: Any, status: str) -> ArchivingIntervention:
    """Done (not before its date), cancelled or planned again; never once its year is billed."""
    item = get_intervention(intervention_id)
    if status not in ArchivingStatus.__members__:
        raise FieldError("État inconnu.", "status")
    wanted = ArchivingStatus[status]
    if wanted is item.status:
        return item
    if wanted is ArchivingStatus.realise and item.day_on > clock.today():
        raise FieldError(
            f"L'intervention du {item.day_on:%d/%m/%Y} n'a pas encore eu lieu.", "status"
        )
    _refuse_if_billed(item.collectivity_id, item.day_on.year)
    item.status = wanted
    db.session.flush()
    return item


# ----------------------------------------------------------------------------------------------
# Screens
# ----------------------------------------------------------------------------------------------


def interventions_query(year: int | None = None, limit: int = 500) -> Any:
    """Interventions by date (the year's for the staff; the caller's scope filters employers)."""
    query = select(ArchivingIntervention)
    if year is not None:
        query = query.where(
            ArchivingIntervention.day_on >= dt.date(year, 1, 1),
            ArchivingIntervention.day_on <= dt.date(year, 12, 31),
        )
    return query.order_by(
        ArchivingIntervention.day_on.desc(), ArchivingIntervention.id.desc()
    ).limit(limit)


def totals(items: list[ArchivingIntervention]) -> dict[ArchivingStatus, decimal.Decimal]:
    result = {status: decimal.Decimal(0) for status in ArchivingStatus}
    for item in items:
        result[item.status] += item.days
    return result


def archiving_collectivities(year: int) -> list[tuple[int, str]]:
    """Collectivities with an archiving convention during the year (the add form)."""
    return collectivities_under_convention(MISSION_CODE, year)


# ----------------------------------------------------------------------------------------------
# The billing run (registered in app/billing/runs.py as ``archiving``)
# ----------------------------------------------------------------------------------------------


def compute(period: Any) -> Any:
    """The days done in the period per collectivity, billed at the ``archiving_day`` tariff in
    force, blocked without an archiving convention over the period (constant queries)."""
    from app.billing import runs
    from app.core.formatting import format_money
    from app.rules import billing as rules

    rows = db.session.execute(
        select(
            ArchivingIntervention.collectivity_id,
            ArchivingIntervention.status,
            func.sum(ArchivingIntervention.days),
            func.count(),
        )
        .where(
            ArchivingIntervention.day_on >= period.start,
            ArchivingIntervention.day_on <= period.end,
            ArchivingIntervention.status != ArchivingStatus.annule,
        )
        .group_by(ArchivingIntervention.collectivity_id, ArchivingIntervention.status)
    ).all()
    if not rows:
        return runs.RunPlan(RUN_KIND, period, [])
    done: dict[int, tuple[decimal.Decimal, int]] = {}
    planned: dict[int, tuple[decimal.Decimal, int]] = {}
    for collectivity_id, status, total, count in rows:
        target = done if status is ArchivingStatus.realise else planned
        target[collectivity_id] = (decimal.Decimal(total or 0), int(count))
    wanted = set(done) | set(planned)
    names = dict(
        db.session.execute(
            select(Collectivity.id, Collectivity.name).where(Collectivity.id.in_(wanted))
        ).all()
    )
    in_force = conventions(period.start, period.end)
    tariffs = runs._Tariffs(period.start)
    result = []
    for collectivity_id in sorted(wanted, key=lambda i: (names.get(i, ""), i)):
        item = runs.CollectivityPlan(
            collectivity_id,
            names.get(collectivity_id, ""),
            runs.run_key(RUN_KIND, period, collectivity_id),
        )
        result.append(item)
        days, count = done.get(collectivity_id, (decimal.Decimal(0), 0))
        item.inputs.append(
            f"{runs._days(days)} d'intervention d'archivage réalisé{'s' if days > 1 else ''} en "
            f"{period.year} ({count} intervention{'s' if count > 1 else ''})"
        )
        if collectivity_id in planned:
            still, _ = planned[collectivity_id]
            item.notes.append(
                f"{runs._days(still)} encore planifié{'s' if still > 1 else ''} : facturé"
                f"{'s' if still > 1 else ''} une fois réalisé{'s' if still > 1 else ''}, "
                "pas avant."
            )
        if days <= 0:
            continue
        convention = in_force.get(collectivity_id)
        if convention is None:
            item.blocked.append(
                f"Aucune convention d'archivage en vigueur en {period.year} : les journées "
                "réalisées ne peuvent pas être facturées. Saisissez la convention (Adhérents › "
                "Conventions) avant de lancer la facturation."
            )
            continue
        item.inputs.append(
            f"Convention {convention.number} du {convention.start_date:%d/%m/%Y} au "
            f"{convention.end_date:%d/%m/%Y}"
        )
        try:
            price = tariffs.get(TARIFF_CODE, "")
        except DomainError as error:
            item.blocked.append(error.message)
            continue
        item.lines.append(
            runs.PlannedLine(
                f"Archivage {period.year} : journées d'intervention",
                days,
                rules.round_money(price.value),
                rules.round_money(days * price.value),
                f"{runs._days(days)} d'intervention d'archivage × {format_money(price.value)} — "
                f"{runs._tariff_text(price)} ; convention {convention.number}",
            )
        )
    return runs.RunPlan(RUN_KIND, period, result)


# ----------------------------------------------------------------------------------------------
# Demo data
# ----------------------------------------------------------------------------------------------


def demo_archiving(context: Any) -> None:
    """An archiving convention for a few collectivities, last year's days done (billable by the
    ``archiving`` run) and this year's: one done, one planned."""
    session, today = context.session, context.today
    mission = session.scalar(select(Mission).where(Mission.code == MISSION_CODE))
    if mission is None:
        return
    count = 0
    for index, collectivity in enumerate(context.collectivities[4:7]):
        session.add(
            Convention(
                collectivity_id=collectivity.id,
                mission_id=mission.id,
                number=f"{index + 1:03d} - CU - ARCH - {today.year - 1}",
                start_date=dt.date(today.year - 1, 1, 1),
                end_date=dt.date(today.year + 1, 12, 31),
            )
        )
        session.flush()
        plans = (
            (dt.date(today.year - 1, 10, 6 + index), "2.5", ArchivingStatus.realise),
            (dt.date(today.year - 1, 11, 17), "1", ArchivingStatus.annule),
            (today - dt.timedelta(days=12), "1", ArchivingStatus.realise),
            (today + dt.timedelta(days=21 + index), "0.5", ArchivingStatus.planifie),
        )
        for day_on, days, status in plans:
            session.add(
                ArchivingIntervention(
                    collectivity_id=collectivity.id,
                    day_on=day_on,
                    days=decimal.Decimal(days),
                    archivist="Mme GARNIER",
                    description="Tri et élimination réglementaire des archives, bordereau "
                    "d'élimination visé par les Archives départementales.",
                    status=status,
                )
            )
            count += 1
    session.flush()
    context.summary["interventions d'archivage"] = count
