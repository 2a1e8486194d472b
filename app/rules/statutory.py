"""Statutory medicine (médecine statutaire et de contrôle) and inspection (ACFI) rules: deadlines
in working days, coefficients and per-act prices, quota consumption, ACFI yearly volumes and
extra days. Plain values in, plain values out; the dated figures (coefficients, prices, rates,
caps) are passed in by the caller from the reference data (``statutory_act``, ``tariff``).
The quota arithmetic itself lives in ``app.rules.billing`` (``msc_quota``,
``msc_consumption``), shared with the billing run."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from .billing import ZERO, AcfiBand, MscAct, MscLine, msc_consumption, msc_quota, round_money
from .errors import DomainError, FieldError
from .working_days import add_working_days, working_days_between

HUNDRED = Decimal(100)


# ----------------------------------------------------------------------------------------------
# Coefficients and prices
# ----------------------------------------------------------------------------------------------


def request_coefficient(
    coefficient: Decimal,
    extra_coefficient: Decimal,
    *,
    is_expertise: bool,
    written_report: bool,
    report_coefficient: Decimal,
) -> Decimal:
    """Points a request consumes: the act's coefficient, its RPI/ATI extra, and the written report
    requested outside an expertise (an expertise includes its report).

    Source: TASSIN-2024 convention MSC 2025-2027 art. 3 (barème : expertise 2 (+0,5 en cas de
    RPI / ATI), contrôles 1, prolongation d'activité 0,5, rapport écrit hors expertise +1),
    DOMAIN.md §3.
    """
    total = coefficient + (extra_coefficient or ZERO)
    if written_report and not is_expertise:
        total += report_coefficient
    return total


def request_price(
    act_price: Decimal, *, is_expertise: bool, written_report: bool, report_price: Decimal
) -> Decimal:
    """Per-act price of a request beyond the quota: the act's price of the period (RPI / ATI
    included in acts 9 and 10) plus the written report outside an expertise.

    Source: TASSIN-2024 convention MSC 2025-2027 art. 3 (200 € par expertise, +50 € si RPI / ATI,
    100 € par contrôle, 50 € prolongation d'activité ; rapport écrit hors expertise 100 €),
    OULLINS-MSC for 2022-2024 (150 / 90 / 50 €, rapport 80 €), DOMAIN.md §3.
    """
    price = act_price
    if written_report and not is_expertise:
        price += report_price
    return round_money(price)


# ----------------------------------------------------------------------------------------------
# Dates
# ----------------------------------------------------------------------------------------------


def check_requested_on(requested_on: date | None, today: date) -> date:
    """A request is dated today or in the past, never in the future.

    Source: TASSIN-2024 convention MSC art. 2.3.3 (délais comptés à compter de la réception de
    la demande): a request not yet received has no date.
    """
    if requested_on is None:
        raise FieldError("Indiquez la date de la demande.", "requested_on")
    if requested_on > today:
        raise FieldError(
            f"La date de la demande ({requested_on:%d/%m/%Y}) ne peut pas être dans le futur.",
            "requested_on",
        )
    return requested_on


def check_done_on(done_on: date | None, requested_on: date, today: date) -> date:
    """A visit is done on or after its request, and not in the future.

    Source: DOMAIN.md §3 (deadline counted from the request); a visit not yet held is planned,
    not done.
    """
    if done_on is None:
        raise FieldError("Indiquez la date de réalisation.", "done_on")
    if done_on < requested_on:
        raise FieldError(
            f"La date de réalisation ({done_on:%d/%m/%Y}) ne peut pas précéder la demande "
            f"({requested_on:%d/%m/%Y}).",
            "done_on",
        )
    if done_on > today:
        raise FieldError(
            f"La date de réalisation ({done_on:%d/%m/%Y}) ne peut pas être dans le futur.",
            "done_on",
        )
    return done_on


def check_planned_on(planned_on: date | None, requested_on: date) -> date:
    """A planned date is on or after the request.

    Source: DOMAIN.md §3 (the visit follows the request).
    """
    if planned_on is None:
        raise FieldError("Indiquez la date prévue ou choisissez un rendez-vous.", "planned_on")
    if planned_on < requested_on:
        raise FieldError(
            f"La date prévue ({planned_on:%d/%m/%Y}) ne peut pas précéder la demande "
            f"({requested_on:%d/%m/%Y}).",
            "planned_on",
        )
    return planned_on


def deadline(requested_on: date, working_days: int, subdiv: str | None = None) -> date:
    """Date by which the visit is held: the request date + the act's deadline in working days
    on the office's territory calendar.

    Source: TASSIN-2024 convention MSC art. 2.3.3 (10 jours ouvrés pour les contrôles, 5 pour
    les visites n° 1 et 12, 15 pour les expertises), DOMAIN.md §3 and §7 (Alsace-Moselle,
    overseas).
    """
    if working_days < 0:
        raise DomainError("Le délai d'un acte ne peut pas être négatif.")
    return add_working_days(requested_on, working_days, subdiv)


def restitution_due(
    done_on: date,
    *,
    is_expertise: bool,
    subdiv: str | None = None,
    opinion_days: int = 2,
    report_days: int = 20,
) -> date:
    """Date by which the opinion (after a control) or the expertise report is sent.

    Source: TASSIN-2024 convention MSC art. 2.3.3 (avis sous 2 jours ouvrés suivant la visite ;
    rapport d'expertise sous 20 jours ouvrés), DOMAIN.md §3.
    """
    return add_working_days(done_on, report_days if is_expertise else opinion_days, subdiv)


@dataclass(frozen=True)
class DeadlineState:
    """How a deadline stands: on time or late, and the working days left (negative: late by)."""

    on_time: bool
    days_left: int

    @property
    def label(self) -> str:
        return "dans les délais" if self.on_time else "en retard"

    @property
    def detail(self) -> str:
        if self.days_left > 1:
            return f"{self.days_left} jours ouvrés restants"
        if self.days_left == 1:
            return "1 jour ouvré restant"
        if self.days_left == 0:
            return "échéance aujourd'hui"
        late = -self.days_left
        return f"{late} jour{'s' if late > 1 else ''} ouvré{'s' if late > 1 else ''} de retard"


def deadline_state(
    due_on: date, today: date, done_on: date | None = None, subdiv: str | None = None
) -> DeadlineState:
    """On time while not past the due date (a done visit: held by then); days left counted in
    working days from today (or from the due date to the done date for a done visit).

    Source: TASSIN-2024 convention MSC art. 2.3.3, DOMAIN.md §3 and §7.
    """
    end = done_on if done_on is not None else today
    if done_on is not None:
        late_by = working_days_between(due_on, done_on, subdiv) if done_on > due_on else 0
        return DeadlineState(on_time=done_on <= due_on, days_left=-late_by)
    left = working_days_between(end, due_on, subdiv)
    return DeadlineState(on_time=today <= due_on, days_left=left)


def queue_key(
    mandatory: bool, deadline_on: date, requested_on: date, request_id: int
) -> tuple[bool, date, date, int]:
    """The secretariat plans mandatory visits first, then by deadline, then oldest.

    Source: TASSIN-2024 convention MSC art. 1 (« Les visites médicales obligatoires seront
    planifiées en priorité »), DOMAIN.md §3.
    """
    return (not mandatory, deadline_on, requested_on, request_id)


# ----------------------------------------------------------------------------------------------
# Eligibility
# ----------------------------------------------------------------------------------------------


def eligibility_problem(
    headcount: int | None, *, min_agents: int | None, has_convention: bool
) -> str | None:
    """Why a collectivity may not file statutory-medicine requests (None: it may).

    Source: TASSIN-2024 Annexe 1 (mission de médecine statutaire et de contrôle « réservée aux
    employeurs > 50 agents »), convention MSC 2025-2027 (adhésion à la mission). Assumption:
    50 agents exactly are admitted (the table's 50-100 band), the headcount being the last one
    declared.
    """
    if not has_convention:
        return (
            "Votre collectivité n'a pas de convention de médecine statutaire et de contrôle en "
            "cours : contactez le CDG pour adhérer à la mission."
        )
    if min_agents is not None:
        if headcount is None:
            return (
                "Aucun effectif n'est déclaré pour votre collectivité : la médecine statutaire "
                f"est réservée aux employeurs d'au moins {min_agents} agents."
            )
        if headcount < min_agents:
            return (
                f"La médecine statutaire est réservée aux employeurs d'au moins {min_agents} "
                f"agents : votre effectif déclaré est de {headcount} agent"
                f"{'s' if headcount > 1 else ''}."
            )
    return None


# ----------------------------------------------------------------------------------------------
# Quota
# ----------------------------------------------------------------------------------------------


def quota(permanent_headcount: int, quota_percent: Decimal) -> Decimal:
    """Quota (droit de tirage) of year N in points = quota % x permanent headcount at 31/12 N-1,
    not rounded (150 agents -> 12 points).

    Source: TASSIN-2024 convention MSC 2025-2027 art. 3 (8 % de l'effectif permanent),
    DOMAIN.md §3. Delegates to ``billing.msc_quota`` (one rule for screens and invoices).
    """
    return msc_quota(permanent_headcount, quota_percent)


@dataclass(frozen=True)
class QuotaRow:
    """A request as the quota sees it: its date, points and per-act price."""

    key: int
    on: date
    coefficient: Decimal
    price: Decimal


@dataclass(frozen=True)
class QuotaResult:
    key: int
    within_quota: bool
    points: Decimal  # consumed (0 beyond the quota)
    billed: Decimal  # 0 within the quota


def consume(rows: Sequence[QuotaRow], quota_points: Decimal) -> list[QuotaResult]:
    """Consume the quota in date order (same day: the order given, i.e. by id): within quota when
    points already consumed + the coefficient <= quota, otherwise billed at its price and
    consuming nothing. An unjustified absence is a row with the absence coefficient and price.

    Source: TASSIN-2024 convention MSC 2025-2027 art. 3 (droit de tirage, visites
    supplémentaires facturées à l'acte ; absence non signalée 48 h avant : coef. 1),
    DOMAIN.md §3 and §8 example 4. Delegates to ``billing.msc_consumption``.
    """
    acts = [
        MscAct(on=row.on, coefficient=row.coefficient, price=row.price, label=str(row.key))
        for row in rows
    ]
    lines: list[MscLine] = msc_consumption(acts, quota_points)
    return [
        QuotaResult(
            key=int(line.act.label),
            within_quota=line.within_quota,
            points=line.act.coefficient if line.within_quota else ZERO,
            billed=line.billed,
        )
        for line in lines
    ]


def remaining_points(quota_points: Decimal, results: Sequence[QuotaResult]) -> Decimal:
    """Points left for the year (never negative).

    Source: DOMAIN.md §3 (the collectivity sees its remaining points).
    """
    used = sum((r.points for r in results), ZERO)
    return max(quota_points - used, ZERO)


# ----------------------------------------------------------------------------------------------
# Inspection (ACFI)
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AcfiVolume:
    """The ACFI days planned for one year: visit, report and preparation, CST."""

    visit_days: Decimal
    report_days: Decimal
    cst_days: Decimal
    every_years: int
    planned_this_year: bool

    @property
    def total(self) -> Decimal:
        if not self.planned_this_year:
            return ZERO
        return self.visit_days + self.report_days + self.cst_days


def acfi_volume(
    agents: int, year: int, first_year: int, table: Sequence[AcfiBand]
) -> AcfiVolume | None:
    """Yearly ACFI volume of an affiliated collectivity from its headcount; the small bands
    (every 2 or 3 years) are planned on the years ``first_year``, ``first_year`` + 2 (or 3)...
    None above the table (more than 350 agents): the convention sets the volume.

    Source: TASSIN-2024 convention ACFI 2025-2027 art. 2.2.1 (volume des interventions selon
    l'effectif), DOMAIN.md §1.
    """
    if agents < 1:
        raise DomainError("Le nombre d'agents doit être d'au moins 1.")
    for band in table:
        if band.min_agents <= agents <= band.max_agents:
            planned = (year - first_year) % band.every_years == 0 and year >= first_year
            return AcfiVolume(
                band.visit_days, band.report_days, band.cst_days, band.every_years, planned
            )
    return None


def acfi_extra_cap(volume_days: Decimal, cap_percent: Decimal) -> Decimal:
    """Extra days allowed without an amendment: cap % (20 %) of the planned days.

    Source: TASSIN-2024 convention ACFI art. 3 (« dans la limite de 20 % de jours en sus du
    nombre initial ; toute demande supérieure à ce plafond fera l'objet d'un avenant »).
    """
    return volume_days * cap_percent / HUNDRED


def check_acfi_days(
    volume_days: Decimal,
    days_after: Decimal,
    *,
    cap_percent: Decimal,
    has_amendment: bool,
    affiliated: bool,
) -> None:
    """Refuse days beyond the volume + cap % without an amendment (affiliated collectivities;
    a non-affiliated one pays every day and its volume is set in the convention).

    Source: TASSIN-2024 convention ACFI art. 3, DOMAIN.md §1.
    """
    if days_after < 0:
        raise FieldError("Le nombre de jours ne peut pas être négatif.", "days")
    if not affiliated or has_amendment:
        return
    ceiling = volume_days + acfi_extra_cap(volume_days, cap_percent)
    if days_after > ceiling:
        raise FieldError(
            f"Ce jour dépasse le volume prévu de plus de {cap_percent.normalize():f} % "
            f"(volume prévu : {_days(volume_days)} ; au plus {_days(ceiling)} sans avenant) : "
            "un avenant à la convention ACFI est nécessaire.",
            "days",
        )


def acfi_amount(
    volume_days: Decimal,
    days: Decimal,
    *,
    affiliated: bool,
    extra_day_price: Decimal,
    day_price: Decimal,
) -> tuple[Decimal, Decimal]:
    """(extra days, amount billed): an affiliated collectivity pays only the days beyond its
    volume (460 € each), a non-affiliated one every day (530 €).

    Source: TASSIN-2024 convention ACFI art. 3 (« Pour les collectivités non affiliées 530 € par
    jour » ; « coût de journée supplémentaire 460 € »), DOMAIN.md §1.
    """
    if not affiliated:
        return ZERO, round_money(days * day_price)
    extra = max(days - volume_days, ZERO)
    return extra, round_money(extra * extra_day_price)


def _days(value: Decimal) -> str:
    text = f"{value.normalize():f}".replace(".", ",")
    return f"{text} jour{'s' if value > 1 else ''}"
