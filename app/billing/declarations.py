"""The annual declaration (SPEC F1): for year N the headcount at 1 January N, the permanent
headcount at 31 December N-1 and the payroll, stored on ``Headcount`` (one row per collectivity
and year). Shared by the employer screen, the staff's « Effectifs », the REST resource
``declaration`` and ``flask billing declare``; the rules are in app/rules/declarations.py.

Who: the collectivity's primary account declares (a secondary account manages a part of the
agents, by sector or service — CDG69-PORTAIL « Comptes secondaires » —, not the collectivity's
figures: it neither reads nor writes the declaration). Staff (secretariat) may reopen a locked
declaration with a reason; the change is in the audit log like every Headcount change.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from flask import render_template
from sqlalchemy import case, func, select

from app.core import clock
from app.core.mail import send_mail
from app.core.types import utcnow
from app.extensions import db
from app.referential.models import Collectivity, ContractType
from app.rules import declarations as rules
from app.rules.errors import DomainError, FieldError
from app.tenancy import TenantViolation, current_scope, system_scope
from app.workforce.models import Contract, DeclarationReminder, Headcount

SECONDARY_REFUSED = "Seul le compte principal de la collectivité fait la déclaration annuelle."


@dataclass(frozen=True)
class Counted:
    """What the agents list says for year N (the pre-filled figures)."""

    headcount: int
    permanent_headcount: int


@dataclass
class Declared:
    row: Headcount
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class DeclarationInput:
    year: int
    headcount: int
    permanent_headcount: int
    payroll: Decimal


def parse_input(
    year: Any, headcount: Any, permanent: Any, payroll: Any, *, year_required: bool = True
) -> DeclarationInput:
    """Read the four figures as typed (screen, API, command line); French errors."""
    if year in (None, "") and not year_required:
        year_value = 0
    else:
        year_value = rules.parse_count(year, "L'année", "year")
    return DeclarationInput(
        year=year_value,
        headcount=rules.parse_count(headcount, "L'effectif au 1er janvier", "headcount"),
        permanent_headcount=rules.parse_count(
            permanent, "L'effectif permanent au 31 décembre", "permanent_headcount"
        ),
        payroll=rules.parse_payroll(payroll),
    )


def counted(collectivity_id: int, year: int) -> Counted:
    """Agents with a contract running on 1 January N, and agents with a permanent contract
    (contract type ``is_permanent``: titulaire, stagiaire...) running on 31 December N-1. One
    query; counted in the collectivity as a whole (never a secondary account's part)."""
    first, last = dt.date(year, 1, 1), dt.date(year - 1, 12, 31)
    permanent_agent = case(
        (Contract.running_on(last) & ContractType.is_permanent, Contract.agent_id), else_=None
    )
    running_agent = case((Contract.running_on(first), Contract.agent_id), else_=None)
    with system_scope():
        row = db.session.execute(
            select(
                func.count(func.distinct(running_agent)),
                func.count(func.distinct(permanent_agent)),
            )
            .select_from(Contract)
            .join(ContractType, ContractType.id == Contract.contract_type_id)
            .where(
                Contract.collectivity_id == collectivity_id,
                Contract.start_date <= first,
                Contract.open_on(last),
            )
        ).one()
    return Counted(int(row[0] or 0), int(row[1] or 0))


def warnings_for(data: DeclarationInput, count: Counted) -> list[str]:
    found = [
        rules.difference_warning("L'effectif au 1er janvier", data.headcount, count.headcount),
        rules.difference_warning(
            "L'effectif permanent au 31 décembre",
            data.permanent_headcount,
            count.permanent_headcount,
        ),
    ]
    return [w for w in found if w]


def declared_years(collectivity_id: int) -> dict[int, Headcount]:
    rows = db.session.scalars(
        select(Headcount).where(Headcount.collectivity_id == collectivity_id)
    ).all()
    return {row.year: row for row in rows}


def _own_collectivity(collectivity_id: int | None) -> int:
    """The collectivity the caller declares for: an employer's own, or the one staff named."""
    scope = current_scope()
    if scope.is_secondary:
        raise DomainError(SECONDARY_REFUSED)
    if scope.is_employer:
        if collectivity_id not in (None, scope.collectivity_id):
            raise TenantViolation()
        return int(scope.collectivity_id)  # type: ignore[arg-type]
    if not collectivity_id:
        raise FieldError("Choisissez la collectivité.", "collectivity_id")
    if db.session.get(Collectivity, collectivity_id) is None:
        raise TenantViolation()
    return int(collectivity_id)


def _actor_id() -> int | None:
    return current_scope().user_id


def declare(
    data: DeclarationInput,
    collectivity_id: int | None = None,
    *,
    today: dt.date | None = None,
) -> Declared:
    """Record and validate the declaration of a year (refused: a year in the future, a second
    declaration of the same year, a past year before the current one)."""
    today = today or clock.today()
    target = _own_collectivity(collectivity_id)
    existing = declared_years(target)
    rules.check_new_declaration(data.year, today, set(existing))
    row = Headcount(
        collectivity_id=target,
        year=data.year,
        headcount=data.headcount,
        permanent_headcount=data.permanent_headcount,
        payroll=data.payroll,
        declared_on=today,
        validated_at=utcnow(),
        validated_by_id=_actor_id(),
    )
    db.session.add(row)
    db.session.flush()
    return Declared(row, warnings_for(data, counted(target, data.year)))


def get_declaration(pk: Any) -> Headcount:
    """A declaration the caller may see (404 otherwise, including for a secondary account)."""
    if current_scope().is_secondary:
        raise TenantViolation()
    row: Headcount | None = db.session.get(Headcount, pk) if str(pk).isdigit() else None
    if row is None:
        raise TenantViolation()
    return row


def is_editable(row: Headcount, today: dt.date | None = None) -> bool:
    return rules.is_editable(
        row.declared_on, today or clock.today(), reopened=row.reopened_at is not None
    )


def locked_since(row: Headcount) -> dt.date | None:
    if row.declared_on is None or row.reopened_at is not None:
        return None
    return rules.editable_until(row.declared_on) + dt.timedelta(days=1)


def update(pk: Any, data: DeclarationInput, *, today: dt.date | None = None) -> Declared:
    """Change a declaration within 7 days of its validation (or once staff reopened it): the
    change validates it again (a new 7-day window)."""
    today = today or clock.today()
    row = get_declaration(pk)
    rules.check_editable(row.declared_on, today, reopened=row.reopened_at is not None)
    row.headcount = data.headcount
    row.permanent_headcount = data.permanent_headcount
    row.payroll = data.payroll
    row.declared_on = today
    row.validated_at = utcnow()
    row.validated_by_id = _actor_id()
    row.reopened_at = None
    db.session.flush()
    return Declared(row, warnings_for(data, counted(row.collectivity_id, row.year)))


def reopen(pk: Any, reason: str) -> Headcount:
    """Staff reopen a declaration (after its 7 days) so the employer can change it; the reason
    is kept on the row and in the audit log."""
    if current_scope().is_employer:
        raise DomainError("Seul le centre de gestion peut rouvrir une déclaration.")
    reason = " ".join((reason or "").split())
    if not reason:
        raise FieldError("Indiquez le motif de la réouverture.", "reason")
    if len(reason) > 250:
        raise FieldError("Le motif est limité à 250 caractères.", "reason")
    row = get_declaration(pk)
    row.reopened_at = utcnow()
    row.reopened_reason = reason
    db.session.flush()
    return row


def pending_year(collectivity_id: int, today: dt.date | None = None) -> int | None:
    """The current year when its declaration is not done yet (the home-page banner)."""
    today = today or clock.today()
    done = db.session.scalar(
        select(Headcount.id).where(
            Headcount.collectivity_id == collectivity_id,
            Headcount.year == today.year,
            Headcount.declared_on.is_not(None),
        )
    )
    return None if done else today.year


# ----------------------------------------------------------------------------------------------
# Reminders (SPEC G4): from 1 March, once per collectivity and year
# ----------------------------------------------------------------------------------------------


def send_reminders(today: dt.date) -> int:
    """Remind every member collectivity that has not declared the current year, once per
    collectivity and year (recorded in ``declaration_reminder``). Returns the e-mails sent."""
    year = today.year
    if not rules.reminder_due(today, year, declared=False):
        return 0
    declared = select(Headcount.collectivity_id).where(
        Headcount.year == year, Headcount.declared_on.is_not(None)
    )
    reminded = select(DeclarationReminder.collectivity_id).where(DeclarationReminder.year == year)
    candidates = db.session.scalars(
        select(Collectivity)
        .where(
            Collectivity.id.not_in(declared),
            Collectivity.id.not_in(reminded),
            (Collectivity.membership_start.is_(None)) | (Collectivity.membership_start <= today),
            (Collectivity.membership_end.is_(None)) | (Collectivity.membership_end >= today),
        )
        .order_by(Collectivity.id)
    ).all()
    sent = 0
    for collectivity in candidates:
        recipient = collectivity.email or collectivity.convocation_email
        if not recipient:
            continue
        if not send_mail(
            recipient,
            f"Déclaration annuelle {year} à faire avant le {rules.due_on(year):%d/%m/%Y}",
            render_template(
                "billing/declaration_reminder.txt",
                collectivity=collectivity,
                year=year,
                due_on=rules.due_on(year),
            ),
        ):
            continue
        db.session.add(
            DeclarationReminder(collectivity_id=collectivity.id, year=year, sent_at=utcnow())
        )
        sent += 1
    db.session.flush()
    return sent


def pending_banner(collectivity_id: int, today: dt.date) -> dict[str, Any] | None:
    """The home page's banner (year, due date) until the year's declaration is done."""
    year = pending_year(collectivity_id, today)
    return None if year is None else {"year": year, "due_on": rules.due_on(year)}
