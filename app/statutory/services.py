"""Statutory-medicine requests (SPEC I1, F5): who may file them, filing, planning (a date or an
appointment with the approved doctor), done / unjustified absence, the opinion or report
follow-up, and the quota consumption of a collectivity's year, recomputed after every change
and stored on the requests (what the screens show and the billing run reads)."""

from __future__ import annotations

import datetime as dt
import decimal
from dataclasses import dataclass
from typing import Any

from flask import g
from sqlalchemy import func, select
from sqlalchemy.orm import defaultload, lazyload, selectinload

from app.core import clock
from app.extensions import db
from app.planning.models import Appointment
from app.referential.models import (
    ActKind,
    Convention,
    Mission,
    Office,
    StatutoryAct,
    Tariff,
    office_collectivity,
)
from app.rules import statutory as rules
from app.rules.errors import DomainError, FieldError
from app.statutory.models import (
    COUNTED,
    OPEN,
    StatutoryReport,
    StatutoryRequest,
    StatutoryStatus,
)
from app.tenancy import TenantViolation, collectivity_scope, current_scope
from app.workforce.models import Agent, Headcount

MISSION_CODE = "msc"
ZERO = decimal.Decimal(0)


class NotOpen(DomainError):
    """The request is done, absent or cancelled: it can no longer be planned or cancelled."""

    def __init__(self, status: StatutoryStatus) -> None:
        super().__init__(
            f"Cette demande est « {status.label.lower()} » : seule une demande en attente ou "
            "planifiée peut être planifiée, réalisée ou annulée."
        )


def _valid_id(value: Any) -> int:
    if not str(value).isdigit() or not 0 < int(value) < 2**63:
        raise TenantViolation()
    return int(value)


def get_request(request_id: Any) -> StatutoryRequest:
    item = db.session.get(StatutoryRequest, _valid_id(request_id))
    if item is None:
        raise TenantViolation()
    return item


def get_agent(agent_id: Any) -> Agent:
    if agent_id in (None, ""):
        raise FieldError("Choisissez l'agent.", "agent_id")
    agent = db.session.get(Agent, _valid_id(agent_id))
    if agent is None:
        raise TenantViolation()
    return agent


def get_act(number: Any) -> StatutoryAct:
    """One of the 17 acts by its number (« 7 » or 7)."""
    text = str(number).strip() if number is not None else ""
    act = None
    if text.isdigit() and len(text) < 4:
        act = db.session.scalar(select(StatutoryAct).where(StatutoryAct.number == int(text)))
    if act is None:
        count = db.session.scalar(select(func.count(StatutoryAct.id))) or 17
        shown = text[:20] or "vide"
        raise FieldError(
            f"Acte inconnu (n° {shown}) : choisissez un acte numéroté de 1 à {count}.",
            "act_number",
        )
    return act


# ----------------------------------------------------------------------------------------------
# Reference figures of a date
# ----------------------------------------------------------------------------------------------

TARIFF_CODES = (
    "msc_act",
    "msc_report",
    "msc_report_points",
    "msc_quota",
    "msc_absence_points",
    "msc_absence_price",
)


def tariffs_on(on: dt.date, codes: tuple[str, ...] = TARIFF_CODES) -> dict[tuple[str, str], Any]:
    """(code, key) -> value of the tariffs in force on a date (one query)."""
    rows = db.session.execute(
        select(Tariff.code, Tariff.key, Tariff.value).where(
            Tariff.code.in_(codes),
            Tariff.valid_from <= on,
            (Tariff.valid_to.is_(None)) | (Tariff.valid_to >= on),
        )
    ).all()
    return {(code, key or ""): value for code, key, value in rows}


def _tariff(values: dict[tuple[str, str], Any], code: str, key: str = "") -> decimal.Decimal:
    value = values.get((code, key))
    if value is None:
        raise DomainError(
            f"Tarif « {code} {key} » non défini pour cette période : voir Référentiels › Tarifs.".replace(
                "  ", " "
            )
        )
    return decimal.Decimal(value)


def office_for(collectivity_id: int) -> Office | None:
    """The office serving the collectivity whose calendar counts the working days (the first
    active one; None: the national calendar)."""
    return db.session.scalar(
        select(Office)
        .join(office_collectivity, office_collectivity.c.office_id == Office.id)
        .where(office_collectivity.c.collectivity_id == collectivity_id, Office.is_active.is_(True))
        .options(lazyload(Office.served_collectivities), lazyload(Office.host_collectivity))
        .order_by(Office.id)
        .limit(1)
    )


# ----------------------------------------------------------------------------------------------
# Who may file requests, and the year's quota
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Facts:
    """What one statement tells of a collectivity for a year: the mission's minimum headcount,
    the MSC convention in force, the last declaration and the quota % of the tariff."""

    min_agents: int | None
    convention: Convention | None
    declared_year: int | None
    headcount: int | None
    permanent_headcount: int | None
    tariff_percent: decimal.Decimal | None


def facts(collectivity_id: int, on: dt.date) -> Facts:
    year_start = dt.date(on.year, 1, 1)
    last = (
        select(Headcount)
        .where(
            Headcount.collectivity_id == collectivity_id,
            Headcount.year <= on.year,
            Headcount.permanent_headcount.is_not(None),
        )
        .order_by(Headcount.year.desc())
        .limit(1)
        .subquery()
    )
    percent = (
        select(Tariff.value)
        .where(
            Tariff.code == "msc_quota",
            Tariff.valid_from <= year_start,
            (Tariff.valid_to.is_(None)) | (Tariff.valid_to >= year_start),
        )
        .limit(1)
        .scalar_subquery()
    )
    with collectivity_scope():
        row = db.session.execute(
            select(
                Mission.min_agents,
                Convention,
                select(last.c.year).scalar_subquery(),
                select(last.c.headcount).scalar_subquery(),
                select(last.c.permanent_headcount).scalar_subquery(),
                percent,
            )
            .select_from(Mission)
            .outerjoin(
                Convention,
                (Convention.mission_id == Mission.id)
                & (Convention.collectivity_id == collectivity_id)
                & (Convention.start_date <= on)
                & (Convention.end_date >= on),
            )
            .where(Mission.code == MISSION_CODE)
            .order_by(Convention.start_date.desc())
            .limit(1)
        ).first()
    if row is None:
        return Facts(None, None, None, None, None, None)
    return Facts(
        min_agents=row[0],
        convention=row[1],
        declared_year=row[2],
        headcount=row[3],
        permanent_headcount=row[4],
        tariff_percent=decimal.Decimal(row[5]) if row[5] is not None else None,
    )


@dataclass(frozen=True)
class Eligibility:
    facts: Facts
    problem: str | None

    @property
    def allowed(self) -> bool:
        return self.problem is None

    @property
    def headcount(self) -> int | None:
        return self.facts.headcount

    @property
    def convention(self) -> Convention | None:
        return self.facts.convention


def eligibility(collectivity_id: int, on: dt.date | None = None) -> Eligibility:
    """May the collectivity file requests (MSC convention in force, at least 50 agents)? The
    headcount is the last one declared."""
    known = facts(collectivity_id, on or clock.today())
    problem = rules.eligibility_problem(
        known.headcount, min_agents=known.min_agents, has_convention=known.convention is not None
    )
    return Eligibility(facts=known, problem=problem)


@dataclass(frozen=True)
class YearQuota:
    year: int
    permanent_headcount: int | None
    declared_year: int | None  # the declaration read (the year's, else the last one before)
    percent: decimal.Decimal
    points: decimal.Decimal
    consumed: decimal.Decimal = ZERO
    beyond_count: int = 0
    beyond_amount: decimal.Decimal = ZERO

    @property
    def remaining(self) -> decimal.Decimal:
        return max(self.points - self.consumed, ZERO).normalize()

    @property
    def note(self) -> str | None:
        if self.declared_year is None:
            return (
                f"Aucun effectif permanent au 31/12/{self.year - 1} n'est déclaré : le quota est "
                "nul tant que la déclaration annuelle n'est pas faite."
            )
        if self.declared_year != self.year:
            return (
                f"Effectif permanent de la déclaration {self.declared_year} (celle de "
                f"{self.year} n'est pas encore faite)."
            )
        return None


def year_quota(
    collectivity_id: int,
    year: int,
    *,
    with_consumption: bool = False,
    known: Facts | None = None,
) -> YearQuota:
    """The quota of a year: quota % (the MSC convention's, else the tariff's) x the permanent
    headcount at 31/12 N-1 (declaration of year N; assumption: the last earlier one until it is
    made). ``known``: the facts already read for a date of that year."""
    if known is None:
        known = facts(collectivity_id, dt.date(year, 12, 31))
    percent = None
    if known.convention is not None:
        percent = known.convention.quota_percent
    if percent is None:
        percent = known.tariff_percent
    if percent is None:
        raise DomainError(
            "Droit de tirage non défini pour cette année : voir Référentiels › Tarifs."
        )
    consumed, beyond, amount = ZERO, 0, ZERO
    if with_consumption:
        with collectivity_scope():
            consumed, beyond, amount = db.session.execute(
                select(
                    func.coalesce(func.sum(StatutoryRequest.points), 0),
                    func.count(StatutoryRequest.id).filter(
                        StatutoryRequest.within_quota.is_(False)
                    ),
                    func.coalesce(
                        func.sum(StatutoryRequest.price).filter(
                            StatutoryRequest.within_quota.is_(False)
                        ),
                        0,
                    ),
                ).where(
                    StatutoryRequest.collectivity_id == collectivity_id,
                    StatutoryRequest.consumed_on.between(
                        dt.date(year, 1, 1), dt.date(year, 12, 31)
                    ),
                    StatutoryRequest.status.in_(COUNTED),
                )
            ).one()
    headcount = known.permanent_headcount
    points = rules.quota(headcount, decimal.Decimal(percent)) if headcount is not None else ZERO
    return YearQuota(
        year=year,
        permanent_headcount=headcount,
        declared_year=known.declared_year,
        percent=decimal.Decimal(percent).normalize(),
        points=points.normalize(),
        consumed=decimal.Decimal(consumed).normalize(),
        beyond_count=int(beyond or 0),
        beyond_amount=decimal.Decimal(amount),
    )


def recompute_quota(collectivity_id: int, years: set[int]) -> None:
    """Consume each year's quota again with every counted request of the collectivity, in date
    order, and store on each request whether it is within the quota, its points and its price
    (tariffs of that year)."""
    with collectivity_scope():
        for year in sorted(years):
            quota = year_quota(collectivity_id, year)
            values = tariffs_on(dt.date(year, 1, 1))
            items = list(
                db.session.scalars(
                    select(StatutoryRequest)
                    .where(
                        StatutoryRequest.collectivity_id == collectivity_id,
                        StatutoryRequest.consumed_on.between(
                            dt.date(year, 1, 1), dt.date(year, 12, 31)
                        ),
                        StatutoryRequest.status.in_(COUNTED),
                    )
                    .options(lazyload(StatutoryRequest.agent))
                    .order_by(StatutoryRequest.consumed_on, StatutoryRequest.id)
                )
            )
            rows = [_quota_row(item, values) for item in items]
            by_id = {item.id: item for item in items}
            for result in rules.consume(rows, quota.points):
                item = by_id[result.key]
                item.within_quota = result.within_quota
                item.points = result.points
                item.price = result.billed
        db.session.flush()


def _quota_row(item: StatutoryRequest, values: dict[tuple[str, str], Any]) -> rules.QuotaRow:
    if item.status is StatutoryStatus.absence_injustifiee:
        return rules.QuotaRow(
            key=item.id,
            on=item.consumed_on,
            coefficient=_tariff(values, "msc_absence_points"),
            price=_tariff(values, "msc_absence_price"),
        )
    price = rules.request_price(
        _tariff(values, "msc_act", str(item.act.number)),
        is_expertise=item.kind is ActKind.expertise,
        written_report=item.written_report,
        report_price=_tariff(values, "msc_report"),
    )
    return rules.QuotaRow(
        key=item.id, on=item.consumed_on, coefficient=item.coefficient, price=price
    )


# ----------------------------------------------------------------------------------------------
# Changes
# ----------------------------------------------------------------------------------------------


def create_request(
    agent_id: Any,
    act_number: Any,
    *,
    written_report: bool = False,
    requested_on: dt.date | None = None,
    information: str | None = None,
) -> StatutoryRequest:
    """A new request for an agent of the caller's scope, if the collectivity may file one."""
    agent = get_agent(agent_id)
    act = get_act(act_number)
    today = clock.today()
    requested_on = rules.check_requested_on(requested_on or today, today)
    information = (information or "").strip() or None
    if information is not None and len(information) > 4000:
        raise FieldError("4 000 caractères au plus.", "information")
    allowed = eligibility(agent.collectivity_id, today)
    if not allowed.allowed:
        raise DomainError(allowed.problem or "")
    values = tariffs_on(requested_on)
    is_expertise = act.kind is ActKind.expertise
    coefficient = rules.request_coefficient(
        act.coefficient,
        act.extra_coefficient,
        is_expertise=is_expertise,
        written_report=written_report,
        report_coefficient=_tariff(values, "msc_report_points"),
    )
    office = office_for(agent.collectivity_id)
    subdiv = office.holiday_subdivision if office is not None else None
    item = StatutoryRequest(
        agent_id=agent.id,
        collectivity_id=agent.collectivity_id,
        act_id=act.id,
        kind=act.kind,
        mandatory=act.mandatory,
        rpi_ati=bool(act.extra_coefficient),
        written_report=bool(written_report) and not is_expertise,
        coefficient=coefficient,
        information=information,
        requested_on=requested_on,
        office_id=office.id if office is not None else None,
        deadline_on=rules.deadline(requested_on, act.deadline_working_days, subdiv),
        status=StatutoryStatus.en_attente,
        consumed_on=requested_on,
        created_by_id=current_scope().user_id,
    )
    item.agent, item.act = agent, act
    db.session.add(item)
    db.session.flush()
    recompute_quota(agent.collectivity_id, {requested_on.year})
    return item


def _subdiv(item: StatutoryRequest) -> str | None:
    return item.office.holiday_subdivision if item.office is not None else None


def _require_open(item: StatutoryRequest) -> None:
    if item.status not in OPEN:
        raise NotOpen(item.status)


def plan_request(
    request_id: Any, *, planned_on: dt.date | None = None, appointment_id: Any = None
) -> StatutoryRequest:
    """The secretariat plans a request: on an appointment of the agent (its date), or a date."""
    item = get_request(request_id)
    _require_open(item)
    appointment = None
    if appointment_id not in (None, ""):
        if not str(appointment_id).isdigit():
            raise FieldError("Rendez-vous introuvable.", "appointment_id")
        appointment = db.session.get(Appointment, int(appointment_id))
        if appointment is None or appointment.agent_id != item.agent_id:
            raise FieldError("Ce rendez-vous n'est pas celui de l'agent.", "appointment_id")
        planned_on = appointment.starts_at.date()
    planned_on = rules.check_planned_on(planned_on, item.requested_on)
    old_year = item.consumed_on.year
    item.status = StatutoryStatus.planifiee
    item.planned_on = planned_on
    item.appointment_id = appointment.id if appointment is not None else None
    item.consumed_on = planned_on
    db.session.flush()
    recompute_quota(item.collectivity_id, {old_year, planned_on.year})
    return item


def mark_done(request_id: Any, done_on: dt.date | None) -> StatutoryRequest:
    """The visit took place: its date, and when the opinion or report is due."""
    item = get_request(request_id)
    _require_open(item)
    done_on = rules.check_done_on(done_on, item.requested_on, clock.today())
    old_year = item.consumed_on.year
    item.status = StatutoryStatus.realisee
    item.done_on = done_on
    item.consumed_on = done_on
    item.restitution_due_on = rules.restitution_due(
        done_on, is_expertise=item.is_expertise, subdiv=_subdiv(item)
    )
    db.session.flush()
    recompute_quota(item.collectivity_id, {old_year, done_on.year})
    return item


def mark_absent(request_id: Any, absent_on: dt.date | None) -> StatutoryRequest:
    """The agent did not come and the absence was not signalled 48 hours before: the request
    consumes the absence's coefficient (1) on that date."""
    item = get_request(request_id)
    _require_open(item)
    try:
        absent_on = rules.check_done_on(absent_on, item.requested_on, clock.today())
    except FieldError as error:
        raise FieldError(error.message.replace("réalisation", "l'absence"), "done_on") from None
    old_year = item.consumed_on.year
    item.status = StatutoryStatus.absence_injustifiee
    item.done_on = absent_on
    item.consumed_on = absent_on
    item.restitution_due_on = None
    db.session.flush()
    recompute_quota(item.collectivity_id, {old_year, absent_on.year})
    return item


def cancel_request(request_id: Any, reason: str | None = None) -> StatutoryRequest:
    """An open request is cancelled (by the employer or the staff): it frees its points."""
    item = get_request(request_id)
    _require_open(item)
    item.status = StatutoryStatus.annulee
    item.cancel_reason = (reason or "").strip()[:250] or None
    item.within_quota, item.points, item.price = True, ZERO, ZERO
    db.session.flush()
    recompute_quota(item.collectivity_id, {item.consumed_on.year})
    return item


def record_restitution(request_id: Any, sent_on: dt.date | None) -> StatutoryRequest:
    """The opinion or the expertise report was sent to the collectivity on that date."""
    item = get_request(request_id)
    if item.status is not StatutoryStatus.realisee or item.done_on is None:
        raise DomainError("L'avis ou le rapport se transmet une fois la visite réalisée.")
    if sent_on is None:
        raise FieldError("Indiquez la date d'envoi.", "sent_on")
    if sent_on < item.done_on or sent_on > clock.today():
        raise FieldError(
            f"La date d'envoi doit être comprise entre la visite ({item.done_on:%d/%m/%Y}) et "
            "aujourd'hui.",
            "sent_on",
        )
    item.restitution_sent_on = sent_on
    db.session.flush()
    return item


# ----------------------------------------------------------------------------------------------
# The medical report (health roles only, every read logged)
# ----------------------------------------------------------------------------------------------


def read_report(item: StatutoryRequest) -> StatutoryReport | None:
    report = db.session.scalar(
        select(StatutoryReport)
        .where(StatutoryReport.request_id == item.id)
        .options(lazyload(StatutoryReport.request))
    )
    if report is not None:
        _log_access(item, "Rapport médical (médecine statutaire)")
    return report


def save_report(request_id: Any, text: str | None) -> StatutoryReport:
    item = get_request(request_id)
    text = (text or "").strip()
    if not text:
        raise FieldError("Le rapport médical est vide.", "text")
    if len(text) > 20000:
        raise FieldError("20 000 caractères au plus.", "text")
    report = db.session.scalar(select(StatutoryReport).where(StatutoryReport.request_id == item.id))
    if report is None:
        report = StatutoryReport(request_id=item.id, text=text)
        db.session.add(report)
    report.text = text
    report.author_id = current_scope().user_id
    db.session.flush()
    _log_access(item, "Rapport médical enregistré (médecine statutaire)")
    return report


def _log_access(item: StatutoryRequest, what: str) -> None:
    from app.visits.consultation_models import MedicalAccess

    user = g.get("user")
    db.session.add(
        MedicalAccess(
            user_id=getattr(user, "id", None),
            username=str(getattr(user, "username", None) or "système")[:100],
            agent_id=item.agent_id,
            agent_label=f"{item.agent.full_name} (n° {item.agent_id})"[:250],
            what=f"{what}, acte n° {item.act.number} du {item.requested_on:%d/%m/%Y}"[:200],
        )
    )
    db.session.flush()


# ----------------------------------------------------------------------------------------------
# Lists
# ----------------------------------------------------------------------------------------------


def list_query(*, status: str = "", queue: bool = False) -> Any:
    """The requests of the caller's scope: the secretariat's queue (open ones by default),
    mandatory first then by deadline; the employer's list, newest first."""
    query = select(StatutoryRequest).options(
        selectinload(StatutoryRequest.office).options(
            lazyload(Office.served_collectivities), lazyload(Office.host_collectivity)
        ),
        lazyload(StatutoryRequest.appointment),
        defaultload(StatutoryRequest.agent).lazyload(Agent.assignments),
    )
    if status == "ouvertes":
        query = query.where(StatutoryRequest.status.in_(OPEN))
    elif status in StatutoryStatus.__members__:
        query = query.where(StatutoryRequest.status == StatutoryStatus[status])
    if queue:
        return query.order_by(
            StatutoryRequest.mandatory.desc(),
            StatutoryRequest.deadline_on,
            StatutoryRequest.requested_on,
            StatutoryRequest.id,
        )
    return query.order_by(StatutoryRequest.requested_on.desc(), StatutoryRequest.id.desc())


def deadline_of(item: StatutoryRequest, today: dt.date | None = None) -> rules.DeadlineState:
    today = today or clock.today()
    done_on = item.done_on if item.status is StatutoryStatus.realisee else None
    return rules.deadline_state(item.deadline_on, today, done_on, _subdiv(item))


def restitution_of(
    item: StatutoryRequest, today: dt.date | None = None
) -> rules.DeadlineState | None:
    if item.restitution_due_on is None:
        return None
    return rules.deadline_state(
        item.restitution_due_on, today or clock.today(), item.restitution_sent_on, _subdiv(item)
    )


def agent_appointments(item: StatutoryRequest) -> list[Appointment]:
    """The agent's coming appointments a request can be linked to (« médecin agréé » plages
    first)."""
    now = clock.now_local()
    return list(
        db.session.scalars(
            select(Appointment)
            .where(
                Appointment.agent_id == item.agent_id,
                Appointment.starts_at >= dt.datetime.combine(item.requested_on, dt.time.min),
                Appointment.starts_at >= now - dt.timedelta(days=60),
            )
            .order_by(Appointment.starts_at)
            .limit(50)
        )
    )
