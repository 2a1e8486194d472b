"""The figures of the dashboards (SPEC H1) and of the annual report (H2): one SQL aggregate
(GROUP BY) per figure, whatever the volume; never a Python loop over rows.

Every query takes a :class:`Filters` (period, office, category of collectivity, and the
collectivity of an employer's restricted dashboard). An employer's figures are restricted twice:
by the explicit ``collectivity_id`` filter and by the tenant criteria that ``app.tenancy`` adds
to every ORM statement of the request (a secondary account: its agents only; never a
confidential visit or appointment, SPEC E7). Staff figures exclude confidential visits too
where the employer version of the same chart would show them (``employer=True``).
"""

from __future__ import annotations

import datetime as dt
import decimal
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Integer, and_, case, cast, extract, func, literal, select, type_coerce
from sqlalchemy.orm import aliased

from app.billing.models import Invoice, InvoiceKind, InvoiceStatus, Payment
from app.core.types import Money
from app.extensions import db
from app.planning.models import ACTIVE_STATUSES, Appointment, AppointmentStatus, Plage, PlageState
from app.referential.models import (
    Collectivity,
    Office,
    Professional,
    TariffCategory,
    VisitType,
    office_collectivity,
)
from app.statutory.models import COUNTED, AcfiDay, AcfiDayStatus, AcfiPlan, StatutoryRequest
from app.visits.consultation_models import Consultation, Outcome
from app.visits.models import VisitRequest, VisitRequestState
from app.workforce.models import Headcount

# DOMAIN.md §2: above 5 % of unjustified absences the absenteeism penalty applies.
ABSENTEEISM_THRESHOLD = 5.0
MONTHS = ("janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août", "sept.", "oct.",
          "nov.", "déc.")  # fmt: skip


@dataclass(frozen=True)
class Filters:
    start: dt.date
    end: dt.date
    office_id: int | None = None
    category: TariffCategory | None = None
    # The employer's restricted dashboard (or one collectivity's report).
    collectivity_id: int | None = None

    @property
    def employer(self) -> bool:
        return self.collectivity_id is not None


def month_label(year: int, month: int) -> str:
    return f"{MONTHS[month - 1]} {year}"


def months_between(start: dt.date, end: dt.date) -> list[tuple[int, int]]:
    """(year, month) of every month of the period, in order."""
    months = []
    year, month = start.year, start.month
    while (year, month) <= (end.year, end.month):
        months.append((year, month))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def _collectivity_filters(filters: Filters, column: Any) -> list[Any]:
    """Conditions on a collectivity id column: the employer's own, the category, the office
    serving it."""
    conditions: list[Any] = []
    if filters.collectivity_id is not None:
        conditions.append(column == filters.collectivity_id)
    if filters.category is not None:
        conditions.append(
            column.in_(select(Collectivity.id).where(Collectivity.category == filters.category))
        )
    return conditions


def _served_by(filters: Filters, column: Any) -> list[Any]:
    if filters.office_id is None:
        return []
    return [
        column.in_(
            select(office_collectivity.c.collectivity_id).where(
                office_collectivity.c.office_id == filters.office_id
            )
        )
    ]


def _int(value: Any) -> int:
    return int(value or 0)


# ----------------------------------------------------------------------------------------------
# Visits
# ----------------------------------------------------------------------------------------------


def visits_by_month(filters: Filters) -> list[tuple[int, int, str, int]]:
    """(year, month, visit type, consultations) of the period."""
    year = cast(extract("year", Consultation.visit_date), Integer)
    month = cast(extract("month", Consultation.visit_date), Integer)
    conditions = [
        Consultation.visit_date.between(filters.start, filters.end),
        *_collectivity_filters(filters, Consultation.collectivity_id),
    ]
    if filters.office_id is not None:
        conditions.append(Consultation.office_id == filters.office_id)
    if filters.employer:
        conditions.append(Consultation.is_confidential.is_(False))
    rows = db.session.execute(
        select(year, month, VisitType.label, func.count(Consultation.id))
        .join(VisitType, VisitType.id == Consultation.visit_type_id)
        .where(*conditions)
        .group_by(year, month, VisitType.label)
        .order_by(year, month, VisitType.label)
    )
    return [(_int(y), _int(m), label, _int(n)) for y, m, label, n in rows]


def visits_by_outcome(filters: Filters) -> list[tuple[str, Outcome, int]]:
    """(visit type, outcome, consultations) of the period (the annual report)."""
    conditions = [
        Consultation.visit_date.between(filters.start, filters.end),
        *_collectivity_filters(filters, Consultation.collectivity_id),
    ]
    if filters.employer:
        conditions.append(Consultation.is_confidential.is_(False))
    rows = db.session.execute(
        select(VisitType.label, Consultation.outcome, func.count(Consultation.id))
        .join(VisitType, VisitType.id == Consultation.visit_type_id)
        .where(*conditions)
        .group_by(VisitType.label, Consultation.outcome)
        .order_by(VisitType.label, Consultation.outcome)
    )
    return [(label, outcome, _int(n)) for label, outcome, n in rows]


# ----------------------------------------------------------------------------------------------
# Plage fill rate
# ----------------------------------------------------------------------------------------------


def _plage_capacity() -> Any:
    """Whole appointments of a plage, in SQL (``rules.planning.capacity``)."""
    if db.session.get_bind().dialect.name == "postgresql":
        minutes = cast(extract("epoch", Plage.ends_at - Plage.starts_at), Integer) / 60
    else:
        minutes = cast(
            (func.julianday(Plage.ends_at) - func.julianday(Plage.starts_at)) * 1440 + 0.5, Integer
        )
    return minutes // Plage.appointment_minutes


@dataclass(frozen=True)
class FillRow:
    office: str
    professional: str
    plages: int
    capacity: int
    taken: int

    @property
    def rate(self) -> float:
        return round(100.0 * self.taken / self.capacity, 1) if self.capacity else 0.0


def fill_rates(filters: Filters) -> list[FillRow]:
    """Capacity and units taken of the plages of the period (cancelled plages left out), by
    office and professional. Confidential appointments hold a unit: they count as taken.

    Each plage's units are counted by a correlated ``count(*)`` over the active appointments of
    that plage: it reads the partial index ``uq_appointment_active_slot`` (plage, slot) only, so
    the cost follows the plages of the period, never the whole appointment history (PostgreSQL,
    29 000 plages and 500 000 appointments: 240 ms with a grouped join, 110 ms this way)."""
    start = dt.datetime.combine(filters.start, dt.time.min)
    end = dt.datetime.combine(filters.end, dt.time.max)
    in_period = [Plage.starts_at.between(start, end), Plage.state != PlageState.annulee]
    if filters.office_id is not None:
        in_period.append(Plage.office_id == filters.office_id)
    taken = (
        select(func.count())
        .select_from(Appointment)
        .where(Appointment.plage_id == Plage.id, Appointment.status.in_(ACTIVE_STATUSES))
        .correlate(Plage)
        .scalar_subquery()
    )
    plages = (
        select(
            Plage.office_id,
            Plage.professional_id,
            _plage_capacity().label("capacity"),
            taken.label("taken"),
        )
        .where(*in_period)
        .subquery()
    )
    rows = db.session.execute(
        select(
            Office.name,
            Professional.last_name,
            Professional.first_name,
            func.count(),
            func.sum(plages.c.capacity),
            func.sum(plages.c.taken),
        )
        .select_from(plages)
        .join(Office, Office.id == plages.c.office_id)
        .join(Professional, Professional.id == plages.c.professional_id)
        .group_by(Office.name, Professional.id, Professional.last_name, Professional.first_name)
        .order_by(Office.name, Professional.last_name, Professional.first_name)
    )
    return [
        FillRow(office, f"{last} {first}", _int(count), _int(capacity), _int(used))
        for office, last, first, count, capacity, used in rows
    ]


# ----------------------------------------------------------------------------------------------
# Absenteeism
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AbsenteeismRow:
    collectivity_id: int
    collectivity: str
    honoured: int
    unjustified: int
    justified: int

    @property
    def rate(self) -> float:
        """DOMAIN.md §2: unjustified / (honoured + unjustified), in %."""
        base = self.honoured + self.unjustified
        return round(100.0 * self.unjustified / base, 1) if base else 0.0

    @property
    def above_threshold(self) -> bool:
        return self.rate > ABSENTEEISM_THRESHOLD


def absenteeism(filters: Filters) -> list[AbsenteeismRow]:
    """Honoured, unjustified and justified absences of the period by collectivity."""
    start = dt.datetime.combine(filters.start, dt.time.min)
    end = dt.datetime.combine(filters.end, dt.time.max)
    status = Appointment.status
    conditions = [
        Appointment.starts_at.between(start, end),
        status.in_(
            [
                AppointmentStatus.honoree,
                AppointmentStatus.absence_injustifiee,
                AppointmentStatus.absence_justifiee,
            ]
        ),
        *_collectivity_filters(filters, Appointment.collectivity_id),
        *_served_by(filters, Appointment.collectivity_id),
    ]
    if filters.employer:
        conditions.append(Appointment.is_confidential.is_(False))
    # Counted by collectivity id first (an index-only scan on PostgreSQL, see
    # ``ix_appointment_starts``), then joined to the 1 000 names rather than the 230 000 rows.
    counts = (
        select(
            Appointment.collectivity_id.label("collectivity_id"),
            func.count().filter(status == AppointmentStatus.honoree).label("honoured"),
            func.count().filter(status == AppointmentStatus.absence_injustifiee).label("unjust"),
            func.count().filter(status == AppointmentStatus.absence_justifiee).label("just"),
        )
        .where(*conditions)
        .group_by(Appointment.collectivity_id)
        .subquery()
    )
    rows = db.session.execute(
        select(
            Collectivity.id, Collectivity.name, counts.c.honoured, counts.c.unjust, counts.c.just
        )
        .join(counts, counts.c.collectivity_id == Collectivity.id)
        .order_by(Collectivity.name)
    )
    return [AbsenteeismRow(i, name, _int(h), _int(u), _int(j)) for i, name, h, u, j in rows]


# ----------------------------------------------------------------------------------------------
# Statutory medicine
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StatutoryRow:
    year: int
    month: int
    requests: int
    points: decimal.Decimal
    beyond: int
    beyond_amount: decimal.Decimal

    @property
    def label(self) -> str:
        return month_label(self.year, self.month)


def statutory_by_month(filters: Filters) -> list[StatutoryRow]:
    """Requests counted in the quota, points consumed, requests beyond the quota and their
    amount, by month of consumption."""
    year = cast(extract("year", StatutoryRequest.consumed_on), Integer)
    month = cast(extract("month", StatutoryRequest.consumed_on), Integer)
    conditions = [
        StatutoryRequest.consumed_on.between(filters.start, filters.end),
        StatutoryRequest.status.in_(COUNTED),
        *_collectivity_filters(filters, StatutoryRequest.collectivity_id),
    ]
    if filters.office_id is not None:
        conditions.append(StatutoryRequest.office_id == filters.office_id)
    beyond = StatutoryRequest.within_quota.is_(False)
    rows = db.session.execute(
        select(
            year,
            month,
            func.count(StatutoryRequest.id),
            func.coalesce(func.sum(StatutoryRequest.points), 0),
            func.count(StatutoryRequest.id).filter(beyond),
            func.coalesce(func.sum(case((beyond, StatutoryRequest.price), else_=0)), 0),
        )
        .where(*conditions)
        .group_by(year, month)
        .order_by(year, month)
    )
    return [
        StatutoryRow(_int(y), _int(m), _int(n), decimal.Decimal(p), _int(b), decimal.Decimal(a))
        for y, m, n, p, b, a in rows
    ]


def statutory_by_act(filters: Filters) -> list[tuple[int, str, int]]:
    """(act number, act label, requests) of the period (the annual report)."""
    from app.referential.models import StatutoryAct

    rows = db.session.execute(
        select(StatutoryAct.number, StatutoryAct.label, func.count(StatutoryRequest.id))
        .join(StatutoryAct, StatutoryAct.id == StatutoryRequest.act_id)
        .where(
            StatutoryRequest.consumed_on.between(filters.start, filters.end),
            StatutoryRequest.status.in_(COUNTED),
            *_collectivity_filters(filters, StatutoryRequest.collectivity_id),
        )
        .group_by(StatutoryAct.number, StatutoryAct.label)
        .order_by(StatutoryAct.number)
    )
    return [(_int(number), label, _int(n)) for number, label, n in rows]


# ----------------------------------------------------------------------------------------------
# Workforce
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class HeadcountRow:
    year: int
    collectivities: int
    headcount: int
    permanent: int


def headcounts(filters: Filters) -> list[HeadcountRow]:
    """Declared headcounts (SPEC C6) summed by year, over the years of the period."""
    conditions = [
        Headcount.year.between(filters.start.year, filters.end.year),
        *_collectivity_filters(filters, Headcount.collectivity_id),
        *_served_by(filters, Headcount.collectivity_id),
    ]
    rows = db.session.execute(
        select(
            Headcount.year,
            func.count(Headcount.id),
            func.coalesce(func.sum(Headcount.headcount), 0),
            func.coalesce(func.sum(Headcount.permanent_headcount), 0),
        )
        .where(*conditions)
        .group_by(Headcount.year)
        .order_by(Headcount.year)
    )
    return [HeadcountRow(_int(y), _int(c), _int(h), _int(p)) for y, c, h, p in rows]


# ----------------------------------------------------------------------------------------------
# Amounts invoiced, paid and overdue
# ----------------------------------------------------------------------------------------------

CENT = decimal.Decimal("0.01")


def _money(value: Any) -> decimal.Decimal:
    return decimal.Decimal(str(value or 0)).quantize(CENT)


@dataclass(frozen=True)
class BillingRow:
    """One month: invoices issued and credit notes (negative) by issue month, payments by
    payment date, and what is still due on the invoices falling due that month and past due on
    the reference date (``year == 0``: the invoices due before the period)."""

    year: int
    month: int
    invoices: decimal.Decimal = CENT * 0
    credit_notes: decimal.Decimal = CENT * 0
    paid: decimal.Decimal = CENT * 0
    overdue: decimal.Decimal = CENT * 0

    @property
    def invoiced(self) -> decimal.Decimal:
        """Net invoiced: invoices minus credit notes."""
        return self.invoices + self.credit_notes


def _year_month(column: Any) -> tuple[Any, Any]:
    return cast(extract("year", column), Integer), cast(extract("month", column), Integer)


def invoiced_by_month(filters: Filters) -> list[tuple[int, int, decimal.Decimal, decimal.Decimal]]:
    """(year, month, invoices, credit notes) issued in the period, by issue month: one
    aggregate. Credit notes are negative (``Invoice.total``)."""
    year, month = _year_month(Invoice.issue_date)
    avoir = Invoice.kind == InvoiceKind.avoir
    rows = db.session.execute(
        select(
            year,
            month,
            # Typed as the column (on SQLite an amount is stored in cents).
            type_coerce(func.sum(case((avoir, 0), else_=Invoice.total)), Money()),
            type_coerce(func.sum(case((avoir, Invoice.total), else_=0)), Money()),
        )
        .where(
            Invoice.issue_date.between(filters.start, filters.end),
            *_collectivity_filters(filters, Invoice.collectivity_id),
        )
        .group_by(year, month)
        .order_by(year, month)
    )
    return [(_int(y), _int(m), _money(i), _money(c)) for y, m, i, c in rows]


def paid_by_month(filters: Filters) -> list[tuple[int, int, decimal.Decimal]]:
    """(year, month, amount) of the payments received in the period, by payment date."""
    year, month = _year_month(Payment.paid_on)
    rows = db.session.execute(
        select(year, month, func.coalesce(func.sum(Payment.amount), 0))
        .where(
            Payment.paid_on.between(filters.start, filters.end),
            *_collectivity_filters(filters, Payment.collectivity_id),
        )
        .group_by(year, month)
        .order_by(year, month)
    )
    return [(_int(y), _int(m), _money(a)) for y, m, a in rows]


def overdue_as_of(filters: Filters, today: dt.date) -> dt.date:
    """The day the overdue amounts are read on: the end of the period, today at the latest."""
    return min(filters.end, today)


def _remaining_on(as_of: dt.date, today: dt.date) -> tuple[Any, Any, list[Any]]:
    """(remaining amount of an invoice on ``as_of``, a function building the statement with the
    FROM clause it needs, extra conditions), never below zero. Today it is what the invoice
    still shows (its payments and credit notes so far, kept on the row: the unpaid ones are
    found through ``ix_invoice_status_due``); on a past day, the payments received and the
    credit notes issued after that day are added back."""
    left = Invoice.total - Invoice.paid_amount - Invoice.credited_amount
    if as_of >= today:

        def current(*columns: Any) -> Any:
            return select(*columns).select_from(Invoice)

        unpaid = Invoice.status.in_((InvoiceStatus.emise, InvoiceStatus.partiellement_payee))
        return case((left > 0, left), else_=0), current, [unpaid]
    paid = (
        select(Payment.invoice_id, func.sum(Payment.amount).label("amount"))
        .where(Payment.paid_on > as_of)
        .group_by(Payment.invoice_id)
        .subquery()
    )
    credit = aliased(Invoice)
    credited = (
        select(credit.credit_for_id.label("invoice_id"), func.sum(-credit.total).label("amount"))
        .where(credit.kind == InvoiceKind.avoir, credit.issue_date > as_of)
        .group_by(credit.credit_for_id)
        .subquery()
    )
    left = left + func.coalesce(paid.c.amount, 0) + func.coalesce(credited.c.amount, 0)

    def source(*columns: Any) -> Any:
        return (
            select(*columns)
            .select_from(Invoice)
            .outerjoin(paid, paid.c.invoice_id == Invoice.id)
            .outerjoin(credited, credited.c.invoice_id == Invoice.id)
        )

    return case((left > 0, left), else_=0), source, []


def overdue_by_due_month(
    filters: Filters, as_of: dt.date, today: dt.date | None = None
) -> list[tuple[int, int, int, decimal.Decimal]]:
    """(year, month, invoices, amount) still due on ``as_of`` of the invoices past due on that
    day (due date before it), by month of due date; those due before the period come first as
    year 0, month 0. One aggregate."""
    from app.core import clock

    remaining, source, extra = _remaining_on(as_of, today or clock.today())
    before = Invoice.due_date < filters.start
    due_year, due_month = _year_month(Invoice.due_date)
    year = case((before, literal(0)), else_=due_year)
    month = case((before, literal(0)), else_=due_month)
    rows = db.session.execute(
        source(year, month, func.count(Invoice.id), func.sum(remaining))
        .where(
            Invoice.kind == InvoiceKind.facture,
            Invoice.issue_date <= as_of,
            Invoice.due_date < as_of,
            remaining > 0,
            *extra,
            *_collectivity_filters(filters, Invoice.collectivity_id),
        )
        .group_by(year, month)
        .order_by(year, month)
    )
    return [(_int(y), _int(m), _int(n), _money(a)) for y, m, n, a in rows]


def billing_by_month(filters: Filters, today: dt.date) -> list[BillingRow]:
    """The three figures merged by month (three aggregates), months with a figure only, the
    invoices due before the period (year 0) first."""
    merged: dict[tuple[int, int], dict[str, decimal.Decimal]] = {}
    for y, m, invoices, credits in invoiced_by_month(filters):
        merged.setdefault((y, m), {}).update(invoices=invoices, credit_notes=credits)
    for y, m, amount in paid_by_month(filters):
        merged.setdefault((y, m), {})["paid"] = amount
    for y, m, _, amount in overdue_by_due_month(filters, overdue_as_of(filters, today), today):
        merged.setdefault((y, m), {})["overdue"] = amount
    return [BillingRow(y, m, **values) for (y, m), values in sorted(merged.items())]


@dataclass(frozen=True)
class CollectivitySummary:
    """One line of the global annual report's table of collectivities."""

    collectivity_id: int
    name: str
    category: TariffCategory
    visits: int
    statutory: int
    headcount: int | None
    invoiced: decimal.Decimal
    paid: decimal.Decimal


def collectivity_summary(filters: Filters) -> list[CollectivitySummary]:
    """Every collectivity with its visits (every one: the staff's figure), statutory requests
    counted in the quota, declared headcount of the period's last year, net invoiced and paid
    amounts of the period: one statement (grouped subqueries joined to the collectivities),
    whatever the number of collectivities."""

    def grouped(column: Any, value: Any, *conditions: Any) -> Any:
        return (
            select(column.label("collectivity_id"), value.label("value"))
            .where(*conditions)
            .group_by(column)
            .subquery()
        )

    visits = grouped(
        Consultation.collectivity_id,
        func.count(Consultation.id),
        Consultation.visit_date.between(filters.start, filters.end),
    )
    statutory = grouped(
        StatutoryRequest.collectivity_id,
        func.count(StatutoryRequest.id),
        StatutoryRequest.consumed_on.between(filters.start, filters.end),
        StatutoryRequest.status.in_(COUNTED),
    )
    headcount = grouped(
        Headcount.collectivity_id,
        func.sum(Headcount.headcount),
        Headcount.year == filters.end.year,
    )
    invoiced = grouped(
        Invoice.collectivity_id,
        func.sum(Invoice.total),
        Invoice.issue_date.between(filters.start, filters.end),
    )
    paid = grouped(
        Payment.collectivity_id,
        func.sum(Payment.amount),
        Payment.paid_on.between(filters.start, filters.end),
    )
    statement = select(
        Collectivity.id,
        Collectivity.name,
        Collectivity.category,
        func.coalesce(visits.c.value, 0),
        func.coalesce(statutory.c.value, 0),
        headcount.c.value,
        func.coalesce(invoiced.c.value, 0),
        func.coalesce(paid.c.value, 0),
    ).select_from(Collectivity)
    for sub in (visits, statutory, headcount, invoiced, paid):
        statement = statement.outerjoin(sub, sub.c.collectivity_id == Collectivity.id)
    rows = db.session.execute(
        statement.where(*_collectivity_filters(filters, Collectivity.id)).order_by(
            Collectivity.name, Collectivity.id
        )
    )
    return [
        CollectivitySummary(
            i,
            name,
            category,
            _int(v),
            _int(st),
            None if h is None else _int(h),
            _money(f),
            _money(p),
        )  # fmt: skip
        for i, name, category, v, st, h, f, p in rows
    ]


# ----------------------------------------------------------------------------------------------
# Inspection (the annual report)
# ----------------------------------------------------------------------------------------------


def acfi_days(filters: Filters) -> tuple[decimal.Decimal, decimal.Decimal, decimal.Decimal]:
    """(days planned by the volume, days planned in the calendar, days done) of the years of
    the period."""
    conditions = _collectivity_filters(filters, AcfiPlan.collectivity_id)
    volume = db.session.scalar(
        select(func.coalesce(func.sum(AcfiPlan.volume_days), 0)).where(
            AcfiPlan.year.between(filters.start.year, filters.end.year), *conditions
        )
    )
    planned, done = db.session.execute(
        select(
            func.coalesce(
                func.sum(case((AcfiDay.status != AcfiDayStatus.annule, AcfiDay.days), else_=0)),
                0,
            ),
            func.coalesce(
                func.sum(case((AcfiDay.status == AcfiDayStatus.realise, AcfiDay.days), else_=0)),
                0,
            ),
        )
        .join(AcfiPlan, AcfiPlan.id == AcfiDay.plan_id)
        .where(AcfiDay.day_on.between(filters.start, filters.end), *conditions)
    ).one()
    return decimal.Decimal(volume), decimal.Decimal(planned), decimal.Decimal(done)


# ----------------------------------------------------------------------------------------------
# Home pages
# ----------------------------------------------------------------------------------------------


def pending_requests(collectivity_id: int | None = None) -> int:
    """Visit requests waiting for the secretariat (the employer's own when given)."""
    conditions = [VisitRequest.state == VisitRequestState.en_attente]
    if collectivity_id is not None:
        conditions += [
            VisitRequest.collectivity_id == collectivity_id,
            VisitRequest.is_confidential.is_(False),
        ]
    return _int(db.session.scalar(select(func.count(VisitRequest.id)).where(*conditions)))


def plages_of_day(day: dt.date, professional_user_id: int | None = None) -> list[Any]:
    """The day's plages (not cancelled) with their capacity and units taken: one statement."""
    start = dt.datetime.combine(day, dt.time.min)
    end = dt.datetime.combine(day, dt.time.max)
    taken = (
        select(Appointment.plage_id, func.count(Appointment.id).label("n"))
        .join(Plage, Plage.id == Appointment.plage_id)
        .where(Plage.starts_at.between(start, end), Appointment.status.in_(ACTIVE_STATUSES))
        .group_by(Appointment.plage_id)
        .subquery()
    )
    conditions = [Plage.starts_at.between(start, end), Plage.state != PlageState.annulee]
    if professional_user_id is not None:
        conditions.append(Professional.user_id == professional_user_id)
    return list(
        db.session.execute(
            select(
                Plage.id,
                Plage.starts_at,
                Plage.ends_at,
                Plage.state,
                Office.name.label("office"),
                Professional.last_name,
                Professional.first_name,
                _plage_capacity().label("capacity"),
                func.coalesce(taken.c.n, 0).label("taken"),
            )
            .select_from(Plage)
            .join(Office, Office.id == Plage.office_id)
            .join(Professional, Professional.id == Plage.professional_id)
            .outerjoin(taken, taken.c.plage_id == Plage.id)
            .where(*conditions)
            .order_by(Plage.starts_at, Office.name)
        )
    )


def unfilled_reserved(today: dt.date, days: int = 15, limit: int = 10) -> list[Any]:
    """Reserved plages of the next ``days`` days with units left: one statement."""
    start = dt.datetime.combine(today, dt.time.min)
    end = dt.datetime.combine(today + dt.timedelta(days=days), dt.time.max)
    in_period = [Plage.starts_at.between(start, end), Plage.state == PlageState.reservee]
    taken = (
        select(Appointment.plage_id, func.count(Appointment.id).label("n"))
        .join(Plage, Plage.id == Appointment.plage_id)
        .where(*in_period, Appointment.status.in_(ACTIVE_STATUSES))
        .group_by(Appointment.plage_id)
        .subquery()
    )
    capacity = _plage_capacity()
    used = func.coalesce(taken.c.n, 0)
    return list(
        db.session.execute(
            select(
                Plage.id,
                Plage.starts_at,
                Office.name.label("office"),
                Collectivity.name.label("collectivity"),
                capacity.label("capacity"),
                used.label("taken"),
            )
            .select_from(Plage)
            .join(Office, Office.id == Plage.office_id)
            .outerjoin(Collectivity, Collectivity.id == Plage.reserved_for_id)
            .outerjoin(taken, taken.c.plage_id == Plage.id)
            .where(*in_period, used < capacity)
            .order_by(Plage.starts_at)
            .limit(limit)
        )
    )


def next_convocations(collectivity_id: int, now: dt.datetime, limit: int = 5) -> list[Any]:
    """The collectivity's next appointments (never a confidential one): one statement."""
    from app.workforce.models import Agent

    return list(
        db.session.execute(
            select(
                Appointment.id,
                Appointment.starts_at,
                Appointment.status,
                func.coalesce(Agent.usage_name, Agent.birth_name).label("last_name"),
                Agent.first_name,
                VisitType.label.label("visit_type"),
                Office.name.label("office"),
            )
            .join(Agent, Agent.id == Appointment.agent_id)
            .join(VisitType, VisitType.id == Appointment.visit_type_id)
            .join(Plage, Plage.id == Appointment.plage_id)
            .join(Office, Office.id == Plage.office_id)
            .where(
                Appointment.collectivity_id == collectivity_id,
                Appointment.is_confidential.is_(False),
                Appointment.starts_at >= now,
                Appointment.status.in_(ACTIVE_STATUSES),
            )
            .order_by(Appointment.starts_at)
            .limit(limit)
        )
    )


@dataclass(frozen=True)
class EmployerCounts:
    """What an employer's home page counts (never a confidential request or sheet)."""

    pending_requests: int
    new_sheets: int
    new_documents: int


def employer_counts(collectivity_id: int, today: dt.date, days: int = 30) -> EmployerCounts:
    """Pending visit requests, visit sheets made available and documents published in the last
    ``days`` days, of the collectivity: one statement. Run in the caller's scope, a secondary
    account counts the documents of its agents only (tenancy criteria)."""
    from app.documents.models import PublishedDocument

    since = today - dt.timedelta(days=days)
    pending = (
        select(func.count(VisitRequest.id))
        .where(
            VisitRequest.state == VisitRequestState.en_attente,
            VisitRequest.collectivity_id == collectivity_id,
            VisitRequest.is_confidential.is_(False),
        )
        .scalar_subquery()
    )
    sheets = (
        select(func.count(Consultation.id))
        .where(
            Consultation.collectivity_id == collectivity_id,
            Consultation.is_confidential.is_(False),
            and_(Consultation.sheet_available_on > since, Consultation.sheet_available_on <= today),
        )
        .scalar_subquery()
    )
    documents = (
        select(func.count(PublishedDocument.id))
        .where(
            PublishedDocument.collectivity_id == collectivity_id,
            PublishedDocument.published_on > since,
            PublishedDocument.published_on <= today,
        )
        .scalar_subquery()
    )
    row = db.session.execute(select(pending, sheets, documents)).one()
    return EmployerCounts(_int(row[0]), _int(row[1]), _int(row[2]))


@dataclass(frozen=True)
class InvoicesToPay:
    count: int
    amount: decimal.Decimal
    overdue: int


def invoices_to_pay(collectivity_id: int, today: dt.date) -> InvoicesToPay:
    """The collectivity's invoices still to pay (issued, not fully paid): how many, the amount
    left, how many are past due. One statement."""
    left = Invoice.total - Invoice.paid_amount - Invoice.credited_amount
    count, amount, overdue = db.session.execute(
        select(
            func.count(Invoice.id),
            func.coalesce(func.sum(left), 0),
            func.count(Invoice.id).filter(Invoice.due_date < today),
        ).where(
            Invoice.collectivity_id == collectivity_id,
            Invoice.kind == InvoiceKind.facture,
            Invoice.status.in_([InvoiceStatus.emise, InvoiceStatus.partiellement_payee]),
        )
    ).one()
    return InvoicesToPay(_int(count), decimal.Decimal(amount or 0), _int(overdue))


def collectivity_names() -> list[tuple[int, str]]:
    """(id, name) of every collectivity, by name: the staff's annual-report picker."""
    rows = db.session.execute(
        select(Collectivity.id, Collectivity.name).order_by(Collectivity.name, Collectivity.id)
    )
    return [(int(i), name) for i, name in rows]


def collectivity_name(collectivity_id: int) -> str | None:
    return db.session.scalar(select(Collectivity.name).where(Collectivity.id == collectivity_id))


def offices() -> list[tuple[int, str]]:
    return [
        (i, name)
        for i, name in db.session.execute(select(Office.id, Office.name).order_by(Office.name))
    ]
