"""Billing runs (SPEC F3-F6, F8, G3; DOMAIN.md §1-§3): what each run would invoice, per
collectivity, and the job steps that issue it.

Three runs, each a job of app/jobs.py (`flask jobs run billing-... --date D [--dry-run]`):

- ``contributions`` (yearly, period = the year of D): the preventive-medicine contribution
  (declared headcount at 1 January x unit cost of the category) and, for collectivities with a
  statutory-medicine (MSC) convention that year, the participation (payroll x rate);
- ``absences`` (half-yearly, period = the last half-year ended on or before D: D in July-December
  bills S1 of its year, D in January-June bills S2 of the year before): the absenteeism
  surcharge from the attendance of the half-year (DOMAIN.md §2);
- ``msc`` (yearly, period = the year before D's: the run is made once the year is over): the
  statutory-medicine acts beyond the quota, billed from the price stored on each done request
  (DOMAIN.md §3; app/statutory computes within/beyond quota, points and price);
- ``acfi`` (yearly, period = the year before D's, like ``msc``): the inspection days done
  (app/statutory/acfi.py plans and days): an affiliated collectivity pays the days beyond its
  yearly volume (460 € each, up to +20 % of the volume, beyond only with an amendment), a
  non-affiliated one every day done (530 €), at the tariff in force that year (DOMAIN.md §1);
- ``legal`` (yearly, period = the year of D): the legal-advice flat fee of the collectivities
  with a « Conseil juridique » convention covering part of the year (6 300 € from 2025, 6 000 €
  before; billed whole: the convention gives no proration);
- ``archiving`` (yearly, period = the year before D's, like ``acfi``): the archivist's days done
  in the year (app/billing/archiving.py) x the ``archiving_day`` tariff (315 €), for the
  collectivities with an « archivage » convention over the year (blocked otherwise).

``compute(kind, period)`` is the dry run the accounting screen shows: per collectivity its
inputs, lines, total, and why it is blocked (no declaration for the year: listed as blocked,
never billed zero). Money comes out of app/rules/billing.py only.

Idempotence: each invoice carries ``run_key = "<kind>:<period>:<collectivity_id>"``, UNIQUE in
the invoice table; a collectivity whose key exists is skipped (« déjà facturée »). The real run
issues one batch (``invoices.insert_invoices``: one block of numbers, bulk inserts): it first
takes the year's number counter, then re-reads the run keys, so a key inserted meanwhile by a
concurrent run is skipped and no number is drawn for it (the sequence stays gapless).

Transactions: a real run is all-or-nothing. Every invoice of the run is issued in the job's
single transaction, committed by the framework at the end; a failure half-way rolls the whole
run back (no half-issued batch, no hole in the number sequence) and the slot is recorded
``echoue``, so running it again issues the whole batch. 5 000 invoices fit in one transaction
(benchmarks/billing_runs.py).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import lazyload

from app.core.formatting import format_decimal, format_money
from app.extensions import db
from app.jobs import JobContext
from app.referential.models import Collectivity, Convention, Mission, Tariff, TariffCategory
from app.rules import billing as rules
from app.rules.errors import DomainError

KINDS = ("contributions", "absences", "msc", "acfi", "legal", "archiving")
KIND_LABELS = {
    "contributions": "Cotisations annuelles (médecine préventive et participation MSC)",
    "absences": "Majoration d'absentéisme (semestrielle)",
    "msc": "Médecine statutaire : actes au-delà du droit de tirage",
    "acfi": "Inspection (ACFI) : jours supplémentaires et journées des non-affiliées",
    "legal": "Conseil juridique : forfait annuel des conventions",
    "archiving": "Archivage : journées d'intervention réalisées",
}
INVOICE_LABELS = {
    "contributions": "Cotisations",
    "absences": "Majoration d'absentéisme",
    "msc": "Facture de visites",
    "acfi": "Prestations adhérent – inspection ACFI",
    "legal": "Prestations adhérent – conseil juridique",
    "archiving": "Prestations adhérent – archivage",
}
JOB_NAMES = {kind: f"billing-{kind}" for kind in KINDS}
MSC_MISSION = "msc"


# ----------------------------------------------------------------------------------------------
# Periods
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """A billed period: its code in the run key (« 2025 », « 2025-S1 ») and its dates."""

    code: str
    start: dt.date
    end: dt.date

    @property
    def label(self) -> str:
        if "-S" in self.code:
            year, half = self.code.split("-S")
            return f"{'1er' if half == '1' else '2e'} semestre {year}"
        return f"année {self.code}"

    @property
    def year(self) -> int:
        return self.start.year


def year_period(year: int) -> Period:
    return Period(str(year), dt.date(year, 1, 1), dt.date(year, 12, 31))


def half_period(year: int, half: int) -> Period:
    if half == 1:
        return Period(f"{year}-S1", dt.date(year, 1, 1), dt.date(year, 6, 30))
    return Period(f"{year}-S2", dt.date(year, 7, 1), dt.date(year, 12, 31))


def _check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise DomainError(f"Facturation inconnue : « {kind} ». Possibles : {', '.join(KINDS)}.")


def period_for(kind: str, today: dt.date) -> Period:
    """The period a run made on ``today`` bills (see the module docstring)."""
    _check_kind(kind)
    if kind in ("contributions", "legal"):
        return year_period(today.year)
    if kind == "absences":
        return half_period(today.year, 1) if today.month >= 7 else half_period(today.year - 1, 2)
    return year_period(today.year - 1)


def run_day(kind: str, period: Period) -> dt.date:
    """The day a run of ``period`` is made as of (period_for(kind, run_day(...)) == period)."""
    _check_kind(kind)
    if kind == "contributions":
        return dt.date(period.year, 4, 1)  # after the declaration deadline (31 March)
    if kind == "legal":
        return dt.date(period.year, 1, 20)  # the flat fee is billed for the year, in advance
    return period.end + dt.timedelta(days=1)


_YEAR = re.compile(r"^\s*(\d{4})\s*$")
_HALF = re.compile(r"^\s*(\d{4})\s*-?\s*S\s*([12])\s*$", re.IGNORECASE)


def parse_period(kind: str, text: str | None) -> Period:
    """The period typed on the screen: « 2025 » for a yearly run, « 2025-S1 » for absences."""
    _check_kind(kind)
    raw = (text or "").strip()
    if kind == "absences":
        match = _HALF.match(raw)
        if not match or not 2000 <= int(match.group(1)) <= 2100:
            raise DomainError("Indiquez le semestre sous la forme AAAA-S1 ou AAAA-S2 (2025-S1).")
        return half_period(int(match.group(1)), int(match.group(2)))
    match = _YEAR.match(raw)
    if not match or not 2000 <= int(match.group(1)) <= 2100:
        raise DomainError("Indiquez l'année sur 4 chiffres (2025).")
    return year_period(int(match.group(1)))


def run_key(kind: str, period: Period, collectivity_id: int) -> str:
    return f"{kind}:{period.code}:{collectivity_id}"


@dataclass(frozen=True)
class RunToDo:
    """A run as the accounting home lists it: its current period and the invoices already
    issued under it (0: not run yet, or nothing to bill)."""

    kind: str
    label: str
    period: Period
    issued: int

    @property
    def due(self) -> bool:
        return self.issued == 0


def runs_to_do(today: dt.date) -> list[RunToDo]:
    """Each run's period as of ``today`` (the last one whose run day has come; the coming one
    when none has) with the invoices issued for it: one statement for every kind."""
    periods = {}
    for kind in KINDS:
        period = period_for(kind, today)
        if run_day(kind, period) > today:  # contributions before April, legal before 20 January
            period = period_for(kind, dt.date(today.year - 1, 12, 31))
        periods[kind] = period
    model = _invoice_model()
    counts = db.session.execute(
        select(
            *(
                func.count(model.id).filter(model.run_key.like(f"{kind}:{period.code}:%"))
                for kind, period in periods.items()
            )
        )
    ).one()
    return [
        RunToDo(kind, KIND_LABELS[kind], period, int(count or 0))
        for (kind, period), count in zip(periods.items(), counts, strict=True)
    ]


# ----------------------------------------------------------------------------------------------
# Tariffs
# ----------------------------------------------------------------------------------------------


def _private_tariff_on(code: str, key: str, on_date: dt.date) -> Tariff:
    """The tariff row of (code, key) in force on a date; DomainError when none.

    Used until app/billing/tariffs.py (same signature) exists."""
    row = db.session.scalar(
        select(Tariff)
        .where(
            Tariff.code == code,
            Tariff.key == key,
            Tariff.valid_from <= on_date,
            (Tariff.valid_to.is_(None)) | (Tariff.valid_to >= on_date),
        )
        .order_by(Tariff.valid_from.desc())
        .limit(1)
    )
    if row is None:
        what = f"{code} {key}".strip()
        raise DomainError(
            f"Aucun tarif « {what} » en vigueur au {on_date:%d/%m/%Y} : "
            "saisissez-le dans Référentiels › Tarifs avant de lancer la facturation."
        )
    found: Tariff = row
    return found


def _tariff_lookup() -> Callable[[str, str, dt.date], Tariff]:
    try:
        from app.billing.tariffs import tariff_on  # the declarations + tariffs helper's lookup
    except ImportError:
        return _private_tariff_on
    return tariff_on


class _Tariffs:
    """Memoised lookups of one run (a handful of (code, key) pairs: constant queries)."""

    def __init__(self, on: dt.date) -> None:
        self.on = on
        self._lookup = _tariff_lookup()
        self._cache: dict[tuple[str, str], Tariff | DomainError] = {}

    def require_any(self, code: str, what: str) -> None:
        """A run for a period with no row of ``code`` at all is refused (nothing written)."""
        found = db.session.scalar(
            select(func.count())
            .select_from(Tariff)
            .where(
                Tariff.code == code,
                Tariff.valid_from <= self.on,
                (Tariff.valid_to.is_(None)) | (Tariff.valid_to >= self.on),
            )
        )
        if not found:
            raise DomainError(
                f"Aucun tarif de {what} en vigueur au {self.on:%d/%m/%Y} : saisissez-le dans "
                "Référentiels › Tarifs avant de lancer la facturation."
            )

    def get(self, code: str, key: str = "") -> Tariff:
        hit = self._cache.get((code, key))
        if hit is None:
            try:
                hit = self._lookup(code, key, self.on)
            except DomainError as error:
                hit = error
            self._cache[(code, key)] = hit
        if isinstance(hit, DomainError):
            raise hit
        return hit


def _tariff_text(tariff: Tariff) -> str:
    end = f"{tariff.valid_to:%Y}" if tariff.valid_to else "…"
    source = f", source : {tariff.source}" if tariff.source else ""
    return f"tarif « {tariff.label} » {tariff.valid_from:%Y}-{end}{source}"


# ----------------------------------------------------------------------------------------------
# The dry run: plain dataclasses
# ----------------------------------------------------------------------------------------------


@dataclass
class PlannedLine:
    label: str
    quantity: Decimal
    unit_price: Decimal
    amount: Decimal
    source: str


@dataclass
class CollectivityPlan:
    collectivity_id: int
    name: str
    run_key: str
    inputs: list[str] = field(default_factory=list)
    lines: list[PlannedLine] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    already_issued: bool = False

    @property
    def total(self) -> Decimal:
        return rules.round_money(sum((line.amount for line in self.lines), rules.ZERO))

    @property
    def status(self) -> str:
        if self.already_issued:
            return "deja_facturee"
        if self.blocked:
            return "bloquee"
        if not self.lines or self.total <= 0:
            return "rien_a_facturer"
        return "a_facturer"

    @property
    def status_label(self) -> str:
        return STATUS_LABELS[self.status]


STATUS_LABELS = {
    "a_facturer": "À facturer",
    "bloquee": "Bloquée",
    "rien_a_facturer": "Rien à facturer",
    "deja_facturee": "Déjà facturée",
}


@dataclass
class RunPlan:
    kind: str
    period: Period
    plans: list[CollectivityPlan]

    @property
    def label(self) -> str:
        return KIND_LABELS[self.kind]

    def with_status(self, status: str) -> list[CollectivityPlan]:
        return [p for p in self.plans if p.status == status]

    @property
    def to_issue(self) -> list[CollectivityPlan]:
        return self.with_status("a_facturer")

    @property
    def total(self) -> Decimal:
        return rules.round_money(sum((p.total for p in self.to_issue), rules.ZERO))

    def counts(self) -> dict[str, int]:
        return {
            STATUS_LABELS[s].lower(): len(self.with_status(s))
            for s in STATUS_LABELS
            if self.with_status(s)
        }


def _members(period: Period) -> list[Collectivity]:
    """The collectivities whose membership covers part of the period, by name."""
    return list(
        db.session.scalars(
            select(Collectivity)
            .where(
                (Collectivity.membership_start.is_(None))
                | (Collectivity.membership_start <= period.end),
                (Collectivity.membership_end.is_(None))
                | (Collectivity.membership_end >= period.start),
            )
            .order_by(Collectivity.name, Collectivity.id)
        )
    )


def _headcounts(year: int) -> dict[int, Any]:
    from app.workforce.models import Headcount

    rows = db.session.scalars(
        select(Headcount).where(Headcount.year == year).options(lazyload("*"))
    )
    return {row.collectivity_id: row for row in rows}


def _declaration_missing(row: Any, year: int) -> str | None:
    """Why a declaration cannot be billed (None: it can): absent, not validated, or reopened by
    the CDG for a correction (app/billing/declarations.py)."""
    if row is None:
        return f"Aucune déclaration annuelle d'effectif pour {year}."
    if getattr(row, "validated_at", True) is None:
        return f"La déclaration {year} n'est pas validée."
    if getattr(row, "reopened_at", None) is not None:
        return (
            f"Déclaration rouverte : la déclaration {year} a été rouverte pour correction, "
            "elle sera facturée une fois validée à nouveau."
        )
    return None


def _msc_conventions(period: Period) -> dict[int, Convention]:
    rows = db.session.scalars(
        select(Convention)
        .join(Mission, Mission.id == Convention.mission_id)
        .where(
            Mission.code == MSC_MISSION,
            Convention.start_date <= period.end,
            Convention.end_date >= period.start,
        )
        .order_by(Convention.start_date)
        .options(lazyload("*"))
    )
    return {row.collectivity_id: row for row in rows}


def _already_issued(keys: Iterable[str]) -> set[str]:
    model = _invoice_model()
    if model is None:
        return set()
    wanted = list(keys)
    found: set[str] = set()
    for start in range(0, len(wanted), 900):  # SQLite's bound-parameter limit
        chunk = wanted[start : start + 900]
        found.update(db.session.scalars(select(model.run_key).where(model.run_key.in_(chunk))))
    return found


def _invoice_model() -> Any:
    try:
        from app.billing.models import Invoice
    except ImportError:
        return None
    return Invoice


def _d(value: int | Decimal) -> str:
    return format_decimal(Decimal(value))


def _msc_rate_key(collectivity: Collectivity) -> str | None:
    """The MSC rate row of a collectivity: affiliated with its own CST, or non-affiliated."""
    if collectivity.category is TariffCategory.affiliee:
        return "affiliee_cst" if collectivity.has_own_cst else None
    return "non_affiliee"


def compute_contributions(period: Period) -> RunPlan:
    """Yearly contributions (SPEC F3, F5; DOMAIN.md §1, §3; §8 examples 1, 2, 4)."""
    tariffs = _Tariffs(period.start)
    tariffs.require_any("medprev_unit_cost", "médecine préventive")
    headcounts = _headcounts(period.year)
    msc = _msc_conventions(period)
    plans: list[CollectivityPlan] = []
    for collectivity in _members(period):
        plan = CollectivityPlan(
            collectivity.id,
            collectivity.name,
            run_key("contributions", period, collectivity.id),
        )
        plans.append(plan)
        row = headcounts.get(collectivity.id)
        missing = _declaration_missing(row, period.year)
        if missing or row is None:
            plan.blocked.append(missing or "")
            continue
        category = rules.tariff_category(
            affiliated=collectivity.category is TariffCategory.affiliee,
            headcount=row.headcount,
            is_region=collectivity.category is TariffCategory.region,
        )
        try:
            unit = tariffs.get("medprev_unit_cost", category)
        except DomainError as error:  # no row for this category that year (2022-2024)
            plan.blocked.append(error.message)
            continue
        amount = rules.contribution(row.headcount, unit.value)
        declared = f"{_d(row.headcount)} agents déclarés au 01/01/{period.year}"
        plan.inputs.append(f"{declared} ; catégorie : {TariffCategory[category].label}")
        plan.lines.append(
            PlannedLine(
                f"Cotisation médecine préventive {period.year}",
                Decimal(row.headcount),
                rules.round_money(unit.value),
                amount,
                f"{declared} x {format_money(unit.value)} — {_tariff_text(unit)}",
            )
        )
        convention = msc.get(collectivity.id)
        if convention is None:
            continue
        payroll = getattr(row, "payroll", None)
        payroll_source = f"masse salariale déclarée pour {period.year}"
        if payroll is None:
            payroll = convention.declared_payroll
            payroll_source = f"masse salariale de la convention {convention.number}"
        if payroll is None:
            plan.blocked.append(
                f"Convention de médecine statutaire {convention.number} : masse salariale "
                f"{period.year} non déclarée."
            )
            continue
        key = _msc_rate_key(collectivity)
        if key is None:
            plan.notes.append(
                "Médecine statutaire : pas de taux pour une affiliée sans CST propre "
                "(aucune participation facturée)."
            )
            continue
        try:
            rate = tariffs.get("msc_rate", key)
        except DomainError as error:
            plan.blocked.append(error.message)
            continue
        participation = rules.msc_participation(Decimal(payroll), rate.value)
        plan.inputs.append(f"{payroll_source} : {format_money(Decimal(payroll))}")
        plan.lines.append(
            PlannedLine(
                f"Participation médecine statutaire {period.year}",
                Decimal(1),
                participation,
                participation,
                f"{payroll_source} {format_money(Decimal(payroll))} x "
                f"{format_decimal(rate.value.normalize())} % — {_tariff_text(rate)}",
            )
        )
    return RunPlan("contributions", period, plans)


def _attendance(period: Period) -> dict[int, tuple[int, int]]:
    """(honoured, unjustified) per collectivity over the period: one aggregate query."""
    from app.planning.models import Appointment, AppointmentStatus

    start = dt.datetime.combine(period.start, dt.time.min)
    end = dt.datetime.combine(period.end + dt.timedelta(days=1), dt.time.min)
    honoured = func.sum(case((Appointment.status == AppointmentStatus.honoree, 1), else_=0))
    unjustified = func.sum(
        case((Appointment.status == AppointmentStatus.absence_injustifiee, 1), else_=0)
    )
    rows = db.session.execute(
        select(Appointment.collectivity_id, honoured, unjustified)
        .where(
            Appointment.starts_at >= start,
            Appointment.starts_at < end,
            Appointment.status.in_(
                (AppointmentStatus.honoree, AppointmentStatus.absence_injustifiee)
            ),
        )
        .group_by(Appointment.collectivity_id)
    ).all()
    return {cid: (int(h or 0), int(u or 0)) for cid, h, u in rows}


def compute_absences(period: Period) -> RunPlan:
    """Half-yearly absenteeism surcharge (SPEC F4; DOMAIN.md §2, §8 example 3)."""
    tariffs = _Tariffs(period.start)
    threshold = tariffs.get("absence_threshold")
    unit = tariffs.get("absence_surcharge_unit")
    attendance = _attendance(period)
    plans: list[CollectivityPlan] = []
    for collectivity in _members(period):
        if collectivity.id not in attendance:
            continue  # no appointment: nothing to say
        honoured, unjustified = attendance[collectivity.id]
        plan = CollectivityPlan(
            collectivity.id, collectivity.name, run_key("absences", period, collectivity.id)
        )
        plans.append(plan)
        rate = rules.absenteeism_rate(honoured, unjustified)
        facts = (
            f"{honoured} rendez-vous honorés, {unjustified} absences injustifiées "
            f"({period.label}) : taux {format_decimal(rate)} %"
        )
        plan.inputs.append(f"{facts} (seuil {format_decimal(threshold.value.normalize())} %)")
        amount = rules.absenteeism_surcharge(
            honoured, unjustified, threshold_percent=threshold.value, unit_price=unit.value
        )
        if amount > 0:
            plan.lines.append(
                PlannedLine(
                    f"Majoration d'absentéisme, {period.label}",
                    Decimal(unjustified),
                    rules.round_money(unit.value),
                    amount,
                    f"{facts} > {format_decimal(threshold.value.normalize())} % : {unjustified} x "
                    f"{format_money(unit.value)} — {_tariff_text(unit)} ; {_tariff_text(threshold)}",
                )
            )
    return RunPlan("absences", period, plans)


def _beyond_quota(period: Period) -> dict[int, list[Any]]:
    """The done requests of the year billed beyond the quota, per collectivity (one query)."""
    from app.statutory.models import StatutoryRequest, StatutoryStatus

    rows = db.session.scalars(
        select(StatutoryRequest)
        .where(
            StatutoryRequest.consumed_on >= period.start,
            StatutoryRequest.consumed_on <= period.end,
            StatutoryRequest.status.in_(
                (StatutoryStatus.realisee, StatutoryStatus.absence_injustifiee)
            ),
            StatutoryRequest.within_quota.is_(False),
            StatutoryRequest.price > 0,
        )
        .order_by(StatutoryRequest.collectivity_id, StatutoryRequest.consumed_on)
        .order_by(StatutoryRequest.id)
    ).unique()
    result: dict[int, list[Any]] = {}
    for row in rows:
        result.setdefault(row.collectivity_id, []).append(row)
    return result


def compute_msc(period: Period) -> RunPlan:
    """Statutory-medicine acts beyond the quota (SPEC F5; DOMAIN.md §3, §8 example 4)."""
    from app.statutory.models import StatutoryStatus

    requests = _beyond_quota(period)
    plans: list[CollectivityPlan] = []
    if not requests:
        return RunPlan("msc", period, plans)
    by_id = {c.id: c for c in _members(period)}
    missing = set(requests) - set(by_id)
    if missing:  # a member whose membership ended: still billed for its acts
        extra = db.session.scalars(select(Collectivity).where(Collectivity.id.in_(missing)))
        by_id.update({c.id: c for c in extra})
    for collectivity_id in sorted(requests, key=lambda i: (by_id[i].name, i)):
        collectivity = by_id[collectivity_id]
        plan = CollectivityPlan(
            collectivity.id, collectivity.name, run_key("msc", period, collectivity.id)
        )
        plans.append(plan)
        done = requests[collectivity_id]
        plan.inputs.append(
            f"{len(done)} acte(s) réalisé(s) au-delà du droit de tirage {period.year}"
        )
        for item in done:
            what = (
                "absence injustifiée"
                if item.status is StatutoryStatus.absence_injustifiee
                else "réalisé"
            )
            plan.lines.append(
                PlannedLine(
                    f"Acte n° {item.act.number} – {item.act.label}",
                    Decimal(1),
                    rules.round_money(item.price),
                    rules.round_money(item.price),
                    f"Demande n° {item.id} ({what} le {item.consumed_on:%d/%m/%Y}), coefficient "
                    f"{format_decimal(item.coefficient.normalize())}, hors droit de tirage "
                    f"{period.year} : prix à l'acte {format_money(item.price)}",
                )
            )
    return RunPlan("msc", period, plans)


def _days(value: Decimal) -> str:
    text = format_decimal(value.normalize())
    return f"{text} jour{'s' if value > 1 else ''}"


def compute_acfi(period: Period) -> RunPlan:
    """Inspection days of the year (SPEC I2; DOMAIN.md §1 « Inspection (ACFI) »): the extra
    days of the affiliated collectivities, every day of the non-affiliated ones."""
    from app.statutory.models import AcfiDay, AcfiDayStatus, AcfiPlan

    tariffs = _Tariffs(period.start)
    plans = list(
        db.session.scalars(
            select(AcfiPlan)
            .where(AcfiPlan.year == period.year)
            .options(lazyload("*"))
            .order_by(AcfiPlan.collectivity_id)
        )
    )
    if not plans:
        return RunPlan("acfi", period, [])
    done_rows = db.session.execute(
        select(AcfiDay.plan_id, func.sum(AcfiDay.days))
        .where(
            AcfiDay.plan_id.in_([plan.id for plan in plans]),
            AcfiDay.status == AcfiDayStatus.realise,
        )
        .group_by(AcfiDay.plan_id)
    ).all()
    done_by_plan = {plan_id: Decimal(total or 0) for plan_id, total in done_rows}
    names = dict(
        db.session.execute(
            select(Collectivity.id, Collectivity.name).where(
                Collectivity.id.in_({plan.collectivity_id for plan in plans})
            )
        ).all()
    )
    result: list[CollectivityPlan] = []
    for plan in sorted(plans, key=lambda p: (names.get(p.collectivity_id, ""), p.id)):
        item = CollectivityPlan(
            plan.collectivity_id,
            names.get(plan.collectivity_id, ""),
            run_key("acfi", period, plan.collectivity_id),
        )
        result.append(item)
        done = done_by_plan.get(plan.id, Decimal(0))
        volume = Decimal(plan.volume_days)
        item.inputs.append(
            f"{_days(done)} d'inspection réalisé{'s' if done > 1 else ''} en {period.year}"
            + (f" pour un volume annuel de {_days(volume)}" if plan.affiliated else "")
            + ("" if plan.affiliated else " (collectivité non affiliée)")
        )
        if done <= 0:
            continue
        try:
            if plan.affiliated:
                price = tariffs.get("acfi_extra_day", "affiliee")
                cap = tariffs.get("acfi_extra_cap", "")
            else:
                price = tariffs.get("acfi_day", "non_affiliee")
        except DomainError as error:
            item.blocked.append(error.message)
            continue
        if not plan.affiliated:
            amount = rules.round_money(done * price.value)
            item.lines.append(
                PlannedLine(
                    f"Inspection ACFI {period.year} (collectivité non affiliée)",
                    done,
                    rules.round_money(price.value),
                    amount,
                    f"{_days(done)} réalisé{'s' if done > 1 else ''} en {period.year} x "
                    f"{format_money(price.value)} — {_tariff_text(price)}",
                )
            )
            continue
        extra = max(done - volume, Decimal(0))
        if extra <= 0:
            item.notes.append("Jours réalisés dans le volume annuel : compris dans la cotisation.")
            continue
        ceiling = volume * cap.value / 100
        if extra > ceiling and not plan.amendment_reference:
            item.blocked.append(
                f"{_days(extra)} au-delà du volume, plus que le plafond de "
                f"{format_decimal(cap.value.normalize())} % ({_days(ceiling)}) : un avenant à la "
                "convention est nécessaire avant de facturer."
            )
            continue
        amendment = (
            f" ; avenant {plan.amendment_reference}"
            if plan.amendment_reference and extra > ceiling
            else ""
        )
        item.lines.append(
            PlannedLine(
                f"Inspection ACFI {period.year} : jours supplémentaires",
                extra,
                rules.round_money(price.value),
                rules.round_money(extra * price.value),
                f"{_days(done)} réalisés pour un volume annuel de {_days(volume)} : "
                f"{_days(extra)} au-delà x {format_money(price.value)} — "
                f"{_tariff_text(price)}{amendment}",
            )
        )
    return RunPlan("acfi", period, result)


LEGAL_MISSION = "juridique"


def compute_legal(period: Period) -> RunPlan:
    """The legal-advice flat fee of the year (DOMAIN.md §1 « Legal advice (CDC) »)."""
    tariffs = _Tariffs(period.start)
    conventions = list(
        db.session.scalars(
            select(Convention)
            .join(Mission, Mission.id == Convention.mission_id)
            .where(
                Mission.code == LEGAL_MISSION,
                Convention.start_date <= period.end,
                Convention.end_date >= period.start,
            )
            .order_by(Convention.collectivity_id, Convention.start_date)
            .options(lazyload("*"))
        )
    )
    first: dict[int, Convention] = {}
    for convention in conventions:
        first.setdefault(convention.collectivity_id, convention)
    if not first:
        return RunPlan("legal", period, [])
    names = dict(
        db.session.execute(
            select(Collectivity.id, Collectivity.name).where(Collectivity.id.in_(set(first)))
        ).all()
    )
    result: list[CollectivityPlan] = []
    for collectivity_id in sorted(first, key=lambda i: (names.get(i, ""), i)):
        convention = first[collectivity_id]
        item = CollectivityPlan(
            collectivity_id,
            names.get(collectivity_id, ""),
            run_key("legal", period, collectivity_id),
        )
        result.append(item)
        item.inputs.append(
            f"Convention {convention.number} du {convention.start_date:%d/%m/%Y} au "
            f"{convention.end_date:%d/%m/%Y}"
        )
        try:
            fee = tariffs.get("legal_advice_flat", "")
        except DomainError as error:
            item.blocked.append(error.message)
            continue
        amount = rules.round_money(fee.value)
        item.lines.append(
            PlannedLine(
                f"Conseil juridique : forfait {period.year}",
                Decimal(1),
                amount,
                amount,
                f"Convention {convention.number} : forfait annuel {format_money(fee.value)} — "
                f"{_tariff_text(fee)}",
            )
        )
    return RunPlan("legal", period, result)


def compute_archiving(period: Period) -> RunPlan:
    """Archiving days done in the year (app/billing/archiving.py; DOMAIN.md §1 « Archiving »)."""
    from app.billing import archiving

    plan: RunPlan = archiving.compute(period)
    return plan


COMPUTE: dict[str, Callable[[Period], RunPlan]] = {
    "contributions": compute_contributions,
    "absences": compute_absences,
    "msc": compute_msc,
    "acfi": compute_acfi,
    "legal": compute_legal,
    "archiving": compute_archiving,
}


def compute(kind: str, period: Period) -> RunPlan:
    """The dry run of a run for a period; DomainError (French) when a tariff is missing."""
    _check_kind(kind)
    plan = COMPUTE[kind](period)
    issued = _already_issued(p.run_key for p in plan.plans)
    for item in plan.plans:
        item.already_issued = item.run_key in issued
    return plan


# ----------------------------------------------------------------------------------------------
# The real run (the job steps)
# ----------------------------------------------------------------------------------------------


def _issue_batch(
    kind: str, period: Period, items: list[CollectivityPlan], issue_date: dt.date
) -> tuple[int, int]:
    """Issue the run's invoices as one batch: (issued, already issued meanwhile).

    The year's number counter is taken first (``lock_numbering``): a concurrent run of the same
    year waits for it, then re-reads the run keys and skips those issued meanwhile, so nothing
    is invoiced twice and no number is drawn for nothing."""
    from app.billing import invoices

    if not items:
        return 0, 0
    invoices.lock_numbering(issue_date.year)
    existing = _already_issued(item.run_key for item in items)
    fresh = []
    for item in items:
        if item.run_key in existing:
            item.already_issued = True
        else:
            fresh.append(item)
    label = f"{INVOICE_LABELS[kind]} – {period.label}"
    invoices.insert_invoices(
        [
            invoices.InvoiceInput(
                collectivity_id=item.collectivity_id,
                label=label,
                lines=[
                    invoices.LineInput(
                        label=line.label,
                        quantity=line.quantity,
                        unit_price=line.unit_price,
                        amount=line.amount,
                        source=line.source,
                    )
                    for line in item.lines
                ],
                run_key=item.run_key,
            )
            for item in fresh
        ],
        issue_date=issue_date,
    )
    return len(fresh), len(items) - len(fresh)


def run(kind: str, ctx: JobContext) -> RunPlan:
    """Issue the run's invoices for the period of ctx.today (all-or-nothing, see above)."""
    period = period_for(kind, ctx.today)
    plan = compute(kind, period)
    ctx.counts["collectivités bloquées"] += len(plan.with_status("bloquee"))
    ctx.counts["déjà facturées"] += len(plan.with_status("deja_facturee"))
    ctx.counts["rien à facturer"] += len(plan.with_status("rien_a_facturer"))
    to_issue = plan.to_issue
    if ctx.dry_run:
        ctx.counts["factures à émettre"] += len(to_issue)
        return plan
    issued, meanwhile = _issue_batch(kind, period, to_issue, ctx.today)
    if issued:
        ctx.counts["factures émises"] += issued
    if meanwhile:
        ctx.counts["déjà facturées"] += meanwhile
    return plan


def run_contributions(ctx: JobContext) -> None:
    run("contributions", ctx)


def run_absences(ctx: JobContext) -> None:
    run("absences", ctx)


def run_msc(ctx: JobContext) -> None:
    run("msc", ctx)


def run_acfi(ctx: JobContext) -> None:
    run("acfi", ctx)


def run_legal(ctx: JobContext) -> None:
    run("legal", ctx)


def run_archiving(ctx: JobContext) -> None:
    run("archiving", ctx)
