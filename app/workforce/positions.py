"""Work positions (SPEC C1): risks with precisions, follow-up by the rule in force, lifecycle."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from flask import g, has_request_context
from sqlalchemy import exists, func, select

from app.core import clock
from app.extensions import db
from app.referential.models import Risk, RiskEffectRule
from app.rules.errors import DomainError, FieldError, InvalidIdentifier
from app.rules.follow_up import FollowUpResult, RiskEffect, follow_up
from app.rules.formatting import fold
from app.rules.identifiers import normalize_pcs
from app.tenancy import collectivity_scope
from app.workforce.models import Contract, PositionRisk, RadiationCategory, WorkPosition

PRECISION_MESSAGES = {
    "categorie_radiation": "Précisez la catégorie (A, B ou aptitude INB) pour les rayonnements ionisants.",
    "categories_caces": "Sélectionnez un ou plusieurs véhicules (catégories CACES).",
    "description": "Décrivez l'autre risque.",
}


@dataclass(frozen=True)
class RiskInput:
    """A ticked risk with its precision as typed in a form, an import or the API."""

    code: str
    radiation_category: str | None = None
    caces_categories: str | None = None
    description: str | None = None


def risk_effects() -> list[RiskEffect]:
    """The dated effects of the risks as plain values (cached for the request)."""
    if has_request_context() and "_risk_effects" in g:
        return g._risk_effects  # type: ignore[no-any-return]
    rows = db.session.execute(
        select(Risk.code, RiskEffectRule).join(RiskEffectRule, RiskEffectRule.risk_id == Risk.id)
    ).all()
    effects = [
        RiskEffect(
            risk_code=code,
            effect=rule.effect.rule,
            requires_certificate=rule.requires_certificate,
            valid_from=rule.valid_from,
            valid_to=rule.valid_to,
            legal_reference=rule.legal_reference,
        )
        for code, rule in rows
    ]
    if has_request_context():
        g._risk_effects = effects
    return effects


def position_follow_up(position: WorkPosition, on: dt.date | None = None) -> FollowUpResult:
    """SI / SIA / SIR of a position by the rule in force on that date (DOMAIN.md §4)."""
    return follow_up(position.risk_codes, risk_effects(), on or clock.today())


def _risks_by_code() -> dict[str, Risk]:
    return {risk.code: risk for risk in db.session.scalars(select(Risk))}


def similar_positions(pcs_code: str, collectivity_id: int | None) -> list[WorkPosition]:
    """Positions of the collectivity with the same PCS code, closed ones included (SSTRN)."""
    query = select(WorkPosition).where(WorkPosition.pcs_code == (pcs_code or "").strip().lower())
    if collectivity_id:
        query = query.where(WorkPosition.collectivity_id == collectivity_id)
    return list(db.session.scalars(query.order_by(WorkPosition.is_closed, WorkPosition.label_key)))


def held_by_present_agent(position_id: int, on: dt.date | None = None) -> bool:
    """Somebody holds the position today or will hold it (a running or future contract), in
    the whole collectivity: an agent a secondary account does not manage counts too."""
    on = on or clock.today()
    with collectivity_scope():
        return bool(
            db.session.scalar(
                select(
                    exists().where(Contract.work_position_id == position_id, Contract.open_on(on))
                )
            )
        )


def present_agent_counts(position_ids: list[int], on: dt.date | None = None) -> dict[int, int]:
    """How many agents hold each position on that date (one grouped query for a list page)."""
    if not position_ids:
        return {}
    rows = db.session.execute(
        select(Contract.work_position_id, func.count(func.distinct(Contract.agent_id)))
        .where(
            Contract.work_position_id.in_(position_ids), Contract.running_on(on or clock.today())
        )
        .group_by(Contract.work_position_id)
    ).all()
    return dict(rows)


def ever_held(position_id: int) -> bool:
    """The position appears in a career of the collectivity (whoever manages the agent)."""
    with collectivity_scope():
        return bool(
            db.session.scalar(select(exists().where(Contract.work_position_id == position_id)))
        )


def apply_risks(position: WorkPosition, risks: list[RiskInput]) -> None:
    """Replace the position's risks, checking the precision each risk requires."""
    known = _risks_by_code()
    wanted: dict[str, RiskInput] = {}
    for item in risks:
        if item.code not in known:
            raise FieldError(f"Risque inconnu : « {item.code} ».", "risks")
        wanted[item.code] = item
    current = {link.risk.code: link for link in position.risk_links}
    for code, link in list(current.items()):
        if code not in wanted:
            position.risk_links.remove(link)
    for code, item in wanted.items():
        risk = known[code]
        link = current.get(code) or PositionRisk(
            risk=risk, collectivity_id=position.collectivity_id
        )
        if code not in current:
            position.risk_links.append(link)
        link.radiation_category = None
        link.caces_categories = None
        link.description = None
        kind = risk.precision.name
        if kind == "categorie_radiation" and item.radiation_category:
            try:
                link.radiation_category = RadiationCategory[item.radiation_category]
            except KeyError as error:
                raise FieldError(
                    "Catégorie de rayonnements inconnue (A, B ou INB).", f"risk_{code}"
                ) from error
        elif kind == "categories_caces" and item.caces_categories:
            link.caces_categories = item.caces_categories.strip()[:200]
        elif kind == "description" and item.description:
            link.description = item.description.strip()[:250]


def check_precisions(position: WorkPosition) -> None:
    """A screen requires the precision of each risk (imports may leave it « à compléter »)."""
    for link in position.risk_links:
        if link.precision_missing:
            raise FieldError(PRECISION_MESSAGES[link.risk.precision.name], f"risk_{link.risk.code}")


def prepare_position(position: WorkPosition, label: str, pcs_code: str) -> None:
    """Normalise label and PCS, refuse a duplicate (same PCS and label) and edits of a held position."""
    label = " ".join((label or "").split())
    if not label:
        raise FieldError("Le libellé du poste est obligatoire.", "label")
    if len(label) > 200:
        raise FieldError("Le libellé ne peut pas dépasser 200 caractères.", "label")
    try:
        pcs = normalize_pcs(pcs_code or "")
    except InvalidIdentifier as error:
        raise FieldError(error.message, "pcs_code") from error
    if position.id and held_by_present_agent(position.id):
        raise DomainError(
            "Ce poste est occupé par un agent : il ne peut plus être modifié. "
            "Créez un nouveau poste et affectez-le par un nouveau contrat."
        )
    duplicate = db.session.scalar(
        select(WorkPosition.id).where(
            WorkPosition.pcs_code == pcs,
            WorkPosition.label_key == fold(label),
            WorkPosition.id != (position.id or 0),
        )
    )
    if duplicate:
        raise FieldError(
            "Un poste avec ce libellé et ce code PCS existe déjà (voir aussi les postes clôturés).",
            "label",
        )
    position.set_label(label)
    position.pcs_code = pcs


def close_position(position: WorkPosition) -> None:
    if held_by_present_agent(position.id):
        raise DomainError("Ce poste est occupé par un agent présent : il ne peut pas être clôturé.")
    position.is_closed = True
    position.closed_on = clock.today()


def reopen_position(position: WorkPosition) -> None:
    position.is_closed = False
    position.closed_on = None


def delete_position(position: WorkPosition) -> str:
    """Delete a position nobody holds; one that appears in careers is closed instead."""
    if held_by_present_agent(position.id):
        raise DomainError(
            "Ce poste est attribué à un agent présent : il ne peut pas être supprimé. "
            "Attribuez d'abord un autre poste à cet agent."
        )
    if ever_held(position.id):
        close_position(position)
        return "Ce poste figure dans la carrière d'anciens agents : il est clôturé plutôt que supprimé."
    db.session.delete(position)
    return "Poste supprimé."
