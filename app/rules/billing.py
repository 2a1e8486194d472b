"""Billing rules: contributions, absenteeism surcharge, statutory medicine, ACFI, invoices."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from .errors import DomainError

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
HUNDRED = Decimal(100)

AFFILIEE = "affiliee"
NON_AFFILIEE_800_PLUS = "non_affiliee_800_plus"
NON_AFFILIEE_MOINS_800 = "non_affiliee_moins_800"
REGION = "region"
TARIFF_CATEGORIES = (AFFILIEE, NON_AFFILIEE_800_PLUS, NON_AFFILIEE_MOINS_800, REGION)


def round_money(x: Decimal) -> Decimal:
    """Round an amount once, to the cent, half up.

    Source: STYLE.md habit 5 (money is Decimal, rounded once with ROUND_HALF_UP).
    """
    return x.quantize(CENT, rounding=ROUND_HALF_UP)


def _check_not_negative(value: int, what: str) -> None:
    if value < 0:
        raise DomainError(f"{what} ne peut pas être négatif.")


def contribution(headcount: int, unit_cost: Decimal) -> Decimal:
    """Preventive-medicine contribution = declared headcount x unit cost of the category.

    Source: TASSIN-2024 convention MEDPREV 2025-2027 (« 87 € par agent »), SPEC.md F3,
    DOMAIN.md §1.
    """
    _check_not_negative(headcount, "L'effectif déclaré")
    return round_money(Decimal(headcount) * unit_cost)


def tariff_category(
    *, affiliated: bool, headcount: int, is_region: bool, threshold: int = 800
) -> str:
    """Return the preventive-medicine tariff category of a collectivity.

    Source: TASSIN-2024 tariffs 2025-2027 (affiliées; non affiliées de 800 agents et plus;
    non affiliées de moins de 800 agents; Région), DOMAIN.md §1 (assumption: a headcount equal
    to the threshold counts in ``non_affiliee_800_plus``).
    """
    _check_not_negative(headcount, "L'effectif")
    if is_region:
        return REGION
    if affiliated:
        return AFFILIEE
    if headcount >= threshold:
        return NON_AFFILIEE_800_PLUS
    return NON_AFFILIEE_MOINS_800


def absenteeism_rate(honoured: int, unjustified: int) -> Decimal:
    """Unjustified-absence rate in percent, 2 decimals: unjustified / (honoured + unjustified) x 100.

    Source: TASSIN-2024 convention MEDPREV 2025-2027 (taux d'absentéisme non justifié),
    DOMAIN.md §2. No appointment at all gives 0.
    """
    _check_not_negative(honoured, "Le nombre de rendez-vous honorés")
    _check_not_negative(unjustified, "Le nombre d'absences injustifiées")
    total = honoured + unjustified
    if total == 0:
        return ZERO
    rate = Decimal(unjustified) * HUNDRED / Decimal(total)
    return rate.quantize(CENT, rounding=ROUND_HALF_UP)


def absenteeism_surcharge(
    honoured: int, unjustified: int, *, threshold_percent: Decimal, unit_price: Decimal
) -> Decimal:
    """Absenteeism surcharge: unjustified absences x unit price when the rate is above the threshold.

    Source: TASSIN-2024 convention MEDPREV 2025-2027 (surcotisation si le taux est supérieur
    à 5 %), DOMAIN.md §2 (assumption: amount = unjustified absences x unit price). The rate
    compared is the one printed, rounded to 2 decimals; equal to the threshold is not above.
    """
    rate = absenteeism_rate(honoured, unjustified)
    if rate > threshold_percent:
        return round_money(Decimal(unjustified) * unit_price)
    return ZERO


def msc_participation(payroll: Decimal, rate_percent: Decimal) -> Decimal:
    """Statutory-medicine yearly participation = declared payroll x rate of the category.

    Source: TASSIN-2024 convention MSC 2025-2027 (0,0327 % / 0,0545 % de la masse salariale),
    OULLINS-MSC for 2022-2024, DOMAIN.md §3.
    """
    if payroll < 0:
        raise DomainError("La masse salariale ne peut pas être négative.")
    return round_money(payroll * rate_percent / HUNDRED)


def msc_quota(permanent_headcount: int, quota_percent: Decimal) -> Decimal:
    """Statutory-medicine quota (droit de tirage) in points, not rounded.

    Source: TASSIN-2024 convention MSC 2025-2027 (8 % de l'effectif permanent au 31 décembre
    N-1; 1 point = 1 heure de visite), DOMAIN.md §3.
    """
    _check_not_negative(permanent_headcount, "L'effectif permanent")
    return Decimal(permanent_headcount) * quota_percent / HUNDRED


@dataclass(frozen=True)
class MscAct:
    """A statutory-medicine act (or unjustified absence) with its coefficient and per-act price."""

    on: date
    coefficient: Decimal
    price: Decimal
    label: str


@dataclass(frozen=True)
class MscLine:
    """An act after quota consumption: within quota (billed 0) or beyond (billed its price)."""

    act: MscAct
    within_quota: bool
    consumed_after: Decimal
    billed: Decimal


def msc_consumption(acts: Sequence[MscAct], quota: Decimal) -> list[MscLine]:
    """Consume the quota with the acts in date order (stable for acts of the same day).

    Source: TASSIN-2024 convention MSC 2025-2027 (droit de tirage, facturation à l'acte
    au-delà), DOMAIN.md §3: an act is within quota when points already consumed + its
    coefficient <= quota; otherwise it consumes nothing and is billed at its per-act price.
    """
    consumed = Decimal(0)
    lines: list[MscLine] = []
    for act in sorted(acts, key=lambda a: a.on):
        if consumed + act.coefficient <= quota:
            consumed += act.coefficient
            lines.append(MscLine(act, True, consumed, ZERO))
        else:
            lines.append(MscLine(act, False, consumed, round_money(act.price)))
    return lines


def msc_billed_total(lines: Sequence[MscLine]) -> Decimal:
    """Total billed per act beyond the quota.

    Source: TASSIN-2024 convention MSC 2025-2027 (facturation à l'acte), DOMAIN.md §3.
    """
    return round_money(sum((line.billed for line in lines), ZERO))


@dataclass(frozen=True)
class AcfiBand:
    """One row of the ACFI volume table: days per visit cycle for a range of agents."""

    min_agents: int
    max_agents: int
    visit_days: Decimal
    report_days: Decimal
    cst_days: Decimal
    every_years: int


ACFI_VOLUMES: tuple[AcfiBand, ...] = (
    AcfiBand(1, 9, Decimal("0.5"), Decimal("0.5"), Decimal(0), 3),
    AcfiBand(10, 49, Decimal("0.5"), Decimal("0.5"), Decimal(0), 2),
    AcfiBand(50, 100, Decimal("0.5"), Decimal("0.5"), Decimal("0.5"), 1),
    AcfiBand(101, 150, Decimal(1), Decimal(1), Decimal(1), 1),
    AcfiBand(151, 250, Decimal("1.5"), Decimal("1.5"), Decimal(1), 1),
    AcfiBand(251, 350, Decimal(2), Decimal(2), Decimal(1), 1),
)


def acfi_days(
    agents: int, *, table: Sequence[AcfiBand] = ACFI_VOLUMES
) -> tuple[Decimal, Decimal, Decimal, int] | None:
    """ACFI volume for an affiliated collectivity: (visit days, report days, CST days, every N years).

    Source: TASSIN-2024 convention ACFI 2025-2027 (volume annuel selon l'effectif),
    DOMAIN.md §1. None above the table (more than 350 agents): set in the convention.
    """
    if agents < 1:
        raise DomainError("Le nombre d'agents doit être d'au moins 1.")
    for band in table:
        if band.min_agents <= agents <= band.max_agents:
            return band.visit_days, band.report_days, band.cst_days, band.every_years
    return None


def due_date(issue: date, days: int = 30) -> date:
    """Invoice due date = issue date + 30 calendar days.

    Source: SPEC.md F7, SSTRN-EXTRANET invoice list (25/05/2022 -> 24/06/2022), DOMAIN.md §7.
    """
    return issue + timedelta(days=days)


def invoice_number(year: int, sequence: int) -> str:
    """Invoice number = 2-digit year + 6-digit gapless sequence of that year.

    Source: SSTRN-EXTRANET invoice list (« Facture : 22026990 »), SPEC.md F7, DOMAIN.md §7.
    """
    if not 1 <= sequence <= 999_999:
        raise DomainError("Le numéro d'ordre de la facture doit être compris entre 1 et 999999.")
    if year < 0:
        raise DomainError("L'année de la facture est invalide.")
    return f"{year % 100:02d}{sequence:06d}"
