"""Checks and normalisation of reference records, shared by screens, REST API and imports."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import func, select
from sqlalchemy import inspect as sa_inspect

from app.extensions import db
from app.referential.models import (
    Collectivity,
    Contact,
    ContactFunction,
    Convention,
    Mission,
    Tariff,
    TariffCategory,
)
from app.rules import conventions as convention_rules
from app.rules.errors import FieldError, InvalidIdentifier
from app.rules.formatting import fold
from app.rules.identifiers import normalize_naf, normalize_pcs, normalize_siret, siren_of
from app.rules.periods import periods_overlap
from app.tenancy import TenantViolation, system_scope

DUPLICATE_SIRET = "Nous avons déjà un adhérent avec ce numéro de Siret."
DUPLICATE_MEMBERSHIP = "Ce numéro d'adhérent est déjà attribué à une autre collectivité."


def _field(error: InvalidIdentifier, field: str) -> FieldError:
    return FieldError(error.message, field)


def prepare_collectivity(collectivity: Collectivity) -> None:
    """Normalise identifiers, derive the SIREN and refuse duplicates (SPEC B1)."""
    try:
        collectivity.siret = normalize_siret(collectivity.siret or "")
    except InvalidIdentifier as error:
        raise _field(error, "siret") from error
    collectivity.siren = siren_of(collectivity.siret)
    if collectivity.naf_code:
        try:
            collectivity.naf_code = normalize_naf(collectivity.naf_code)
        except InvalidIdentifier as error:
            raise _field(error, "naf_code") from error
    if collectivity.membership_number:
        collectivity.membership_number = collectivity.membership_number.strip()
    start, end = collectivity.membership_start, collectivity.membership_end
    if start and end and end < start:
        raise FieldError(
            "La date de fin d'adhésion ne peut pas précéder la date de début.", "membership_end"
        )
    with system_scope(), db.session.no_autoflush:
        # Duplicates are looked for among all collectivities, not only those the caller sees.
        same_siret = db.session.execute(
            select(Collectivity.id).where(
                Collectivity.siret == collectivity.siret, Collectivity.id != (collectivity.id or 0)
            )
        ).first()
        if same_siret:
            raise FieldError(DUPLICATE_SIRET, "siret")
        if collectivity.membership_number:
            same_number = db.session.execute(
                select(Collectivity.id).where(
                    Collectivity.membership_number == collectivity.membership_number,
                    Collectivity.id != (collectivity.id or 0),
                )
            ).first()
            if same_number:
                raise FieldError(DUPLICATE_MEMBERSHIP, "membership_number")


def prepare_contact(contact: Contact) -> None:
    """The convocation contact's e-mail is mandatory (CDG69-PORTAIL « Mes coordonnées »)."""
    if contact.function is ContactFunction.convocation and not (contact.email or "").strip():
        raise FieldError("L'adresse e-mail du contact des convocations est obligatoire.", "email")
    if contact.email:
        contact.email = contact.email.strip().lower()


def prepare_convention(
    convention: Convention, *, agent_count: int | None = None, affiliated: bool | None = None
) -> None:
    """Dates in order, and the mission open to the collectivity (SPEC B4, app/rules/
    conventions.py): statutory medicine and social assistance above 50 agents, retirement
    files for affiliated members. The eligibility is checked when the convention is created or
    its mission or collectivity changes, never on another edit (an existing convention stays
    editable when the headcount drops). ``agent_count`` / ``affiliated`` default to the
    collectivity's last declared headcount (else its agents) and its billing category."""
    if (
        convention.end_date
        and convention.start_date
        and convention.end_date < convention.start_date
    ):
        raise FieldError("La fin de la convention ne peut pas précéder son début.", "end_date")
    if not _eligibility_changed(convention):
        return
    with db.session.no_autoflush:
        mission = convention.mission or (
            db.session.get(Mission, convention.mission_id) if convention.mission_id else None
        )
        if mission is None or (mission.min_agents is None and not mission.affiliated_only):
            return
        collectivity_id = convention.collectivity_id or (
            convention.collectivity.id if convention.collectivity else None
        )
        if agent_count is None:
            agent_count = _agent_count(collectivity_id)
        if affiliated is None:
            collectivity = convention.collectivity or (
                db.session.get(Collectivity, collectivity_id) if collectivity_id else None
            )
            affiliated = (
                collectivity is not None and collectivity.category is TariffCategory.affiliee
            )
    errors = convention_rules.mission_errors(
        mission.label, mission.min_agents, mission.affiliated_only, agent_count, affiliated
    )
    if errors:
        raise FieldError(" ".join(errors), "mission")


def _eligibility_changed(convention: Convention) -> bool:
    state = sa_inspect(convention)
    if state.transient or state.pending or not state.has_identity:
        return True
    return any(
        state.attrs[name].history.has_changes()
        for name in ("mission_id", "mission", "collectivity_id", "collectivity")
    )


def _agent_count(collectivity_id: int | None) -> int:
    """The collectivity's size for the missions' thresholds: its last declared headcount, or
    the agents it has (a new member has not declared yet)."""
    from app.workforce.models import Agent, Headcount

    if collectivity_id is None:
        return 0
    with system_scope():
        declared = db.session.scalar(
            select(Headcount.headcount)
            .where(Headcount.collectivity_id == collectivity_id)
            .order_by(Headcount.year.desc())
            .limit(1)
        )
        if declared is not None:
            return int(declared)
        return int(
            db.session.scalar(
                select(func.count(Agent.id)).where(
                    Agent.collectivity_id == collectivity_id, Agent.anonymised_on.is_(None)
                )
            )
            or 0
        )


def prepare_pcs(code: str) -> str:
    try:
        return normalize_pcs(code)
    except InvalidIdentifier as error:
        raise _field(error, "code") from error


def prepare_tariff(tariff: Tariff) -> None:
    """Periods of one tariff parameter never overlap."""
    if tariff.valid_to and tariff.valid_to < tariff.valid_from:
        raise FieldError("La fin de validité ne peut pas précéder son début.", "valid_to")
    tariff.key = (tariff.key or "").strip()
    with db.session.no_autoflush:
        others = db.session.scalars(
            select(Tariff).where(
                Tariff.code == tariff.code, Tariff.key == tariff.key, Tariff.id != (tariff.id or 0)
            )
        ).all()
    if any(periods_overlap(tariff, other) for other in others):
        raise FieldError(
            "Un tarif de même code existe déjà sur cette période : fermez-le d'abord.",
            "valid_from",
        )


def reference_code(model: Any, value: Any, field: str) -> str:
    """The code of a reference row (visit type, contract type, mission...) named by its code or
    its French label, ignoring case and accents (CONTRACT.md §2 « Values »)."""
    rows = db.session.execute(select(model.code, model.label).order_by(model.code)).all()
    if isinstance(value, str):
        wanted = fold(value)
        for code, _label in rows:
            if fold(code) == wanted:
                return str(code)
        for code, label in rows:
            if fold(label) == wanted:
                return str(code)
    accepted = ", ".join(code for code, _ in rows)
    raise FieldError(
        f"Valeur inconnue pour « {field} » : « {str(value)[:60]} ». Valeurs acceptées : {accepted}.",
        field,
    )


def served_collectivities(collectivity_ids: Any) -> list[Collectivity]:
    """The collectivities an office serves, from their ids (an unknown id is a 404)."""
    if not isinstance(collectivity_ids, list) or not all(
        isinstance(value, int) and not isinstance(value, bool) for value in collectivity_ids
    ):
        raise FieldError(
            "« served_collectivity_ids » doit être une liste d'identifiants de collectivités.",
            "served_collectivity_ids",
        )
    wanted = set(collectivity_ids)
    found = (
        list(db.session.scalars(select(Collectivity).where(Collectivity.id.in_(wanted))))
        if wanted
        else []
    )
    if {collectivity.id for collectivity in found} != wanted:
        raise TenantViolation()
    return found


def collectivities_under_convention(mission_code: str, year: int) -> list[tuple[int, str]]:
    """(id, name) of the collectivities with a convention of this mission in force during the
    year, by name (the add forms of ACFI and archiving days; at most 2 000)."""
    return [
        (row.id, row.name)
        for row in db.session.execute(
            select(Collectivity.id, Collectivity.name)
            .join(Convention, Convention.collectivity_id == Collectivity.id)
            .join(Mission, Mission.id == Convention.mission_id)
            .where(
                Mission.code == mission_code,
                Convention.start_date <= dt.date(year, 12, 31),
                Convention.end_date >= dt.date(year, 1, 1),
            )
            .distinct()
            .order_by(Collectivity.name)
            .limit(2000)
        )
    ]
