"""Inspection (ACFI, SPEC I2): a collectivity's yearly volume of days from its headcount (the
table of the ACFI convention, every 2 or 3 years for the small bands), the days planned and done
by the inspector, the extra days (460 € each up to +20 %, beyond that an amendment) and the
non-affiliated collectivities' days (530 € each)."""

from __future__ import annotations

import datetime as dt
import decimal
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import lazyload

from app.core import clock
from app.extensions import db
from app.referential.models import Collectivity, Convention, Mission, TariffCategory
from app.referential.services import collectivities_under_convention
from app.rules import statutory as rules
from app.rules.billing import ACFI_VOLUMES
from app.rules.errors import DomainError, FieldError
from app.statutory.models import AcfiDay, AcfiDayStatus, AcfiNature, AcfiPlan
from app.statutory.services import tariffs_on
from app.tenancy import TenantViolation, collectivity_scope
from app.workforce.models import Headcount

MISSION_CODE = "acfi"
ZERO = decimal.Decimal(0)
HALF = decimal.Decimal("0.5")


def _valid_id(value: Any) -> int:
    if not str(value).isdigit() or not 0 < int(value) < 2**63:
        raise TenantViolation()
    return int(value)


def get_plan(plan_id: Any) -> AcfiPlan:
    plan = db.session.get(AcfiPlan, _valid_id(plan_id))
    if plan is None:
        raise TenantViolation()
    return plan


def get_day(day_id: Any) -> AcfiDay:
    day = db.session.get(AcfiDay, _valid_id(day_id))
    if day is None:
        raise TenantViolation()
    return day


def _convention_start(collectivity_id: int, year: int) -> dt.date | None:
    return db.session.scalar(
        select(func.min(Convention.start_date))
        .join(Mission, Mission.id == Convention.mission_id)
        .where(
            Mission.code == MISSION_CODE,
            Convention.collectivity_id == collectivity_id,
            Convention.start_date <= dt.date(year, 12, 31),
            Convention.end_date >= dt.date(year, 1, 1),
        )
    )


def ensure_plan(collectivity_id: Any, year: int) -> AcfiPlan:
    """The inspection year of a collectivity with an ACFI convention, created with its volume
    from the headcount of the year (the last declared) the first time."""
    collectivity = db.session.get(Collectivity, _valid_id(collectivity_id))
    if collectivity is None:
        raise FieldError("Choisissez la collectivité.", "collectivity_id")
    plan = db.session.scalar(
        select(AcfiPlan).where(AcfiPlan.collectivity_id == collectivity.id, AcfiPlan.year == year)
    )
    if plan is not None:
        return plan
    start = _convention_start(collectivity.id, year)
    if start is None:
        raise DomainError(
            f"{collectivity.name} n'a pas de convention d'inspection (ACFI) en {year} : "
            "aucun jour ne peut être planifié."
        )
    headcount = db.session.scalar(
        select(Headcount.headcount)
        .where(Headcount.collectivity_id == collectivity.id, Headcount.year <= year)
        .order_by(Headcount.year.desc())
        .limit(1)
    )
    affiliated = collectivity.category is TariffCategory.affiliee
    volume = ZERO
    if affiliated and headcount:
        found = rules.acfi_volume(headcount, year, start.year, ACFI_VOLUMES)
        volume = found.total if found is not None else ZERO
    plan = AcfiPlan(
        collectivity_id=collectivity.id,
        year=year,
        volume_days=volume,
        headcount=headcount,
        affiliated=affiliated,
    )
    plan.collectivity = collectivity
    db.session.add(plan)
    db.session.flush()
    return plan


def _counted_days(plan: AcfiPlan, without: int | None = None) -> decimal.Decimal:
    total = db.session.scalar(
        select(func.coalesce(func.sum(AcfiDay.days), 0)).where(
            AcfiDay.plan_id == plan.id,
            AcfiDay.status != AcfiDayStatus.annule,
            AcfiDay.id != (without or 0),
        )
    )
    return decimal.Decimal(total or 0)


def _cap(on: dt.date) -> decimal.Decimal:
    values = tariffs_on(on, ("acfi_extra_cap",))
    value = values.get(("acfi_extra_cap", ""))
    if value is None:
        raise DomainError("Plafond des jours supplémentaires ACFI non défini pour cette période.")
    return decimal.Decimal(value)


def _check_days(value: Any) -> decimal.Decimal:
    try:
        days = decimal.Decimal(str(value).replace(",", "."))
    except (decimal.InvalidOperation, ValueError):
        raise FieldError("Nombre de jours invalide (0,5 ou 1).", "days") from None
    if days <= 0 or days > 1 or days % HALF != 0:
        raise FieldError("Une intervention dure une demi-journée (0,5) ou une journée (1).", "days")
    return days


def add_day(
    collectivity_id: Any,
    day_on: dt.date | None,
    days: Any,
    *,
    nature: str = AcfiNature.visite.name,
    inspector: str | None = None,
    note: str | None = None,
) -> AcfiDay:
    """Plan a day of the inspector: beyond the volume + 20 % an amendment is required."""
    if day_on is None:
        raise FieldError("Indiquez la date de l'intervention.", "day_on")
    amount = _check_days(days)
    if nature not in AcfiNature.__members__:
        raise FieldError("Choisissez la nature de l'intervention.", "nature")
    plan = ensure_plan(collectivity_id, day_on.year)
    rules.check_acfi_days(
        plan.volume_days,
        _counted_days(plan) + amount,
        cap_percent=_cap(day_on),
        has_amendment=bool(plan.amendment_reference),
        affiliated=plan.affiliated,
    )
    day = AcfiDay(
        plan_id=plan.id,
        collectivity_id=plan.collectivity_id,
        day_on=day_on,
        days=amount,
        nature=AcfiNature[nature],
        inspector=(inspector or "").strip()[:120] or None,
        note=(note or "").strip() or None,
    )
    day.plan = plan
    db.session.add(day)
    db.session.flush()
    return day


def set_day_status(day_id: Any, status: str) -> AcfiDay:
    """Done (not before its date) or cancelled; a cancelled day can be planned again only if
    the cap allows it."""
    day = get_day(day_id)
    if status not in AcfiDayStatus.__members__:
        raise FieldError("État inconnu.", "status")
    wanted = AcfiDayStatus[status]
    if wanted is AcfiDayStatus.realise and day.day_on > clock.today():
        raise FieldError(
            f"L'intervention du {day.day_on:%d/%m/%Y} n'a pas encore eu lieu.", "status"
        )
    if day.status is AcfiDayStatus.annule and wanted is not AcfiDayStatus.annule:
        plan = day.plan
        rules.check_acfi_days(
            plan.volume_days,
            _counted_days(plan, without=day.id) + day.days,
            cap_percent=_cap(day.day_on),
            has_amendment=bool(plan.amendment_reference),
            affiliated=plan.affiliated,
        )
    day.status = wanted
    db.session.flush()
    return day


def update_plan(plan_id: Any, *, volume_days: Any = None, amendment: str | None = None) -> AcfiPlan:
    """Staff set the volume (above 350 agents or non-affiliated: the convention's) and the
    amendment that allows days beyond +20 %."""
    plan = get_plan(plan_id)
    if volume_days not in (None, ""):
        try:
            volume = decimal.Decimal(str(volume_days).replace(",", "."))
        except decimal.InvalidOperation:
            raise FieldError("Volume invalide.", "volume_days") from None
        if volume < 0 or volume > 365 or volume % HALF != 0:
            raise FieldError("Le volume se compte en demi-journées (0 à 365).", "volume_days")
        plan.volume_days = volume
    plan.amendment_reference = (amendment or "").strip()[:120] or None
    db.session.flush()
    return plan


@dataclass(frozen=True)
class PlanSummary:
    plan: AcfiPlan
    planned: decimal.Decimal
    done: decimal.Decimal
    extra: decimal.Decimal
    amount: decimal.Decimal
    ceiling: decimal.Decimal

    @property
    def needs_amendment(self) -> bool:
        """Not even half a day more fits under the +20 % cap without an amendment."""
        return (
            self.plan.affiliated
            and not self.plan.amendment_reference
            and self.planned + self.done + HALF > self.ceiling
        )


def summaries(plans: list[AcfiPlan], on: dt.date | None = None) -> list[PlanSummary]:
    """Days planned and done per plan (one aggregate query), extra days and amounts."""
    if not plans:
        return []
    with collectivity_scope():
        rows = db.session.execute(
            select(AcfiDay.plan_id, AcfiDay.status, func.sum(AcfiDay.days))
            .where(
                AcfiDay.plan_id.in_([p.id for p in plans]), AcfiDay.status != AcfiDayStatus.annule
            )
            .group_by(AcfiDay.plan_id, AcfiDay.status)
        ).all()
    values = tariffs_on(
        on or dt.date(plans[0].year, 1, 1), ("acfi_extra_day", "acfi_day", "acfi_extra_cap")
    )
    extra_price = decimal.Decimal(values.get(("acfi_extra_day", "affiliee"), 0))
    day_price = decimal.Decimal(values.get(("acfi_day", "non_affiliee"), 0))
    cap = decimal.Decimal(values.get(("acfi_extra_cap", ""), 0))
    totals: dict[tuple[int, AcfiDayStatus], decimal.Decimal] = {
        (plan_id, status): decimal.Decimal(total) for plan_id, status, total in rows
    }
    result = []
    for plan in plans:
        planned = totals.get((plan.id, AcfiDayStatus.planifie), ZERO)
        done = totals.get((plan.id, AcfiDayStatus.realise), ZERO)
        extra, amount = rules.acfi_amount(
            plan.volume_days,
            done,
            affiliated=plan.affiliated,
            extra_day_price=extra_price,
            day_price=day_price,
        )
        ceiling = plan.volume_days + rules.acfi_extra_cap(plan.volume_days, cap)
        result.append(PlanSummary(plan, planned, done, extra, amount, ceiling))
    return result


def plans_query(year: int) -> Any:
    return (
        select(AcfiPlan)
        .where(AcfiPlan.year == year)
        .options(lazyload(AcfiPlan.days))
        .join(Collectivity, Collectivity.id == AcfiPlan.collectivity_id)
        .order_by(Collectivity.name, AcfiPlan.id)
    )


def acfi_collectivities(year: int) -> list[tuple[int, str]]:
    """Collectivities with an ACFI convention in force during the year (the add form)."""
    return collectivities_under_convention(MISSION_CODE, year)
