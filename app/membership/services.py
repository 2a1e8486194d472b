"""Membership application services (SPEC I3, issue 16): the wizard's steps, the state
machine (brouillon -> soumise -> validée / refusée) and the CDG's decision. Validation creates
the collectivity, its medprev convention and the applicant's primary account in one
transaction."""

from __future__ import annotations

import datetime as dt
from email.utils import parseaddr
from typing import Any

from sqlalchemy import func, select
from stdnum.fr import siret as stdnum_siret

from app.accounts.models import PortalMembership
from app.core import audit
from app.core.mail import send_mail
from app.core.types import utcnow
from app.extensions import db
from app.membership.models import (
    DRAFT,
    REFUSED,
    SUBMITTED,
    VALIDATED,
    MembershipApplication,
)
from app.referential.models import (
    Collectivity,
    CollectivityKind,
    Convention,
    Mission,
    TariffCategory,
)
from app.tenancy import system_scope

# Version of the general conditions the applicant accepts at step 5, with its date.
CONDITIONS_VERSION = "CG-MEDPREV-2025-01 du 01/01/2025"

STEPS = {1: "Identification", 2: "Entreprise", 3: "Postes", 4: "Salariés", 5: "Validation"}

KNOWN_SIRET = "Nous avons déjà un adhérent avec ce numéro de Siret"
MANAGEMENT_REQUEST_URL = "/demarches/nouvelle?type=gestion"

# The explicit state machine: (from, action) -> to.
TRANSITIONS: dict[tuple[str, str], str] = {
    (DRAFT, "soumettre"): SUBMITTED,
    (SUBMITTED, "valider"): VALIDATED,
    (SUBMITTED, "refuser"): REFUSED,
}


class MembershipError(ValueError):
    """A refused step or decision, with its French message."""


def transition(application: MembershipApplication, action: str) -> str:
    target = TRANSITIONS.get((application.status, action))
    if target is None:
        raise MembershipError(
            f"Cette demande est « {application.status_label} » : action impossible."
        )
    before = application.status
    application.status = target
    audit.log_event(
        action=action,  # soumettre / valider / refuser (16 characters at most)
        table_name="membership_application",
        row_id=str(application.id),
        collectivity_id=application.collectivity_id,
        details={"de": before, "vers": target},
    )
    return target


def category_for_kind(kind: CollectivityKind) -> TariffCategory:
    """Billing category from the type of collectivity (a new member is not affiliated unless
    told otherwise; a region has its own tariff)."""
    if kind is CollectivityKind.region:
        return TariffCategory.region
    return TariffCategory.non_affiliee_moins_800


def clean_siret(value: str) -> str:
    return "".join(ch for ch in (value or "") if ch.isdigit())


def siret_known(siret: str) -> bool:
    """Is a member already registered with this SIRET? Read across every collectivity (the
    applicant has none yet); only the yes/no answer leaves this function."""
    with system_scope():
        count = db.session.scalar(
            select(func.count(Collectivity.id)).where(Collectivity.siret == siret)
        )
    return (count or 0) > 0


def application_for(user_id: int) -> MembershipApplication | None:
    """The applicant's current application (the latest one)."""
    return db.session.scalars(
        select(MembershipApplication)
        .where(MembershipApplication.applicant_user_id == user_id)
        .order_by(MembershipApplication.id.desc())
        .limit(1)
    ).first()


def start(user_id: int) -> MembershipApplication:
    application = application_for(user_id)
    if application is None or application.status == REFUSED:
        application = MembershipApplication(
            applicant_user_id=user_id, status=DRAFT, current_step=1, payload={}
        )
        db.session.add(application)
        db.session.flush()
    return application


REQUIRED: dict[int, dict[str, str]] = {
    1: {"siret": "Siret", "naf_code": "Code NAF", "city": "Commune"},
    2: {
        "name": "Raison sociale",
        "kind": "Type de collectivité",
        "main_line1": "Adresse principale",
        "main_postcode": "Code postal",
        "main_city": "Ville",
        "email": "E-mail",
    },
    3: {},
    4: {},
    5: {"accept": "Acceptation des conditions générales"},
}


def validate_step(number: int, data: dict[str, str]) -> list[str]:
    """French error messages for one step's input (empty when the step is accepted)."""
    errors = [
        f"« {label} » est obligatoire."
        for key, label in REQUIRED.get(number, {}).items()
        if not (data.get(key) or "").strip()
    ]
    if number == 1 and (data.get("siret") or "").strip():
        siret = clean_siret(data["siret"])
        if not stdnum_siret.is_valid(siret):
            errors.append("Le numéro de Siret n'est pas valide (14 chiffres, clé de contrôle).")
        elif siret_known(siret):
            errors.append(KNOWN_SIRET)
    if number == 2 and data.get("kind") and data["kind"] not in CollectivityKind.__members__:
        errors.append("Type de collectivité inconnu.")
    postcode = data.get("main_postcode") if number == 2 else None
    if postcode and not (postcode.isdigit() and len(postcode) == 5):
        errors.append("Le code postal doit compter 5 chiffres.")
    if number == 3:
        for position in data.get("positions") or []:
            if not (position.get("label") or "").strip():
                errors.append("Chaque poste doit avoir un intitulé.")
                break
    if number == 4:
        for agent in data.get("agents") or []:
            if not (agent.get("last_name") or "").strip():
                errors.append("Chaque salarié doit avoir un nom.")
                break
    return errors


def save_step(application: MembershipApplication, number: int, data: dict[str, Any]) -> list[str]:
    """Store the step's input (always, so nothing typed is lost) and move on if it is valid."""
    if application.status != DRAFT:
        return ["Cette demande a déjà été transmise : elle ne peut plus être modifiée."]
    payload = dict(application.payload or {})
    payload[str(number)] = data
    application.payload = payload
    if number == 1 and data.get("siret"):
        application.siret = clean_siret(data["siret"])[:14]
    if number == 2 and data.get("name"):
        application.name = data["name"][:200]
    errors = validate_step(number, data)
    if not errors:
        application.current_step = max(application.current_step, min(number + 1, 5))
    return errors


def submit(application: MembershipApplication) -> None:
    for number in range(1, 5):
        errors = validate_step(number, application.step(number))
        if errors:
            raise MembershipError(f"Étape {number} ({STEPS[number]}) : " + " ".join(errors))
    application.conditions_version = CONDITIONS_VERSION
    application.submitted_at = utcnow()
    transition(application, "soumettre")


def submitted_applications() -> list[MembershipApplication]:
    return list(
        db.session.scalars(
            select(MembershipApplication)
            .where(MembershipApplication.status == SUBMITTED)
            .order_by(MembershipApplication.submitted_at, MembershipApplication.id)
        )
    )


def _locked(application_id: int) -> MembershipApplication | None:
    return db.session.scalars(
        select(MembershipApplication)
        .where(MembershipApplication.id == application_id)
        .with_for_update()
    ).first()


def _next_convention_number(year: int) -> str:
    count = db.session.scalar(select(func.count(Convention.id))) or 0
    number = count + 1
    while db.session.scalar(
        select(func.count(Convention.id)).where(
            Convention.number == f"{number:03d} - CU - MEDPREV - {year}"
        )
    ):
        number += 1
    return f"{number:03d} - CU - MEDPREV - {year}"


def validate(application_id: int, decided_by_id: int | None, today: dt.date) -> Collectivity:
    """« Valider »: one transaction creating the collectivity, its convention and the primary
    account. A second validation finds the application already decided and creates nothing."""
    application = _locked(application_id)
    if application is None:
        raise LookupError(application_id)
    if application.status != SUBMITTED:
        raise MembershipError("Cette demande a déjà été traitée.")
    one, two = application.step(1), application.step(2)
    siret = clean_siret(one.get("siret", ""))
    if siret_known(siret):
        raise MembershipError(KNOWN_SIRET)
    kind = CollectivityKind[two["kind"]]
    collectivity = Collectivity(
        name=two["name"],
        kind=kind,
        siret=siret,
        siren=siret[:9],
        naf_code=(one.get("naf_code") or "")[:6] or None,
        category=category_for_kind(kind),
        membership_start=today,
        email=two.get("email"),
        phone=two.get("phone") or None,
        main_line1=two.get("main_line1"),
        main_postcode=two.get("main_postcode"),
        main_city=two.get("main_city"),
        billing_name=two.get("billing_name") or two["name"],
        billing_line1=two.get("billing_line1") or two.get("main_line1"),
        billing_postcode=two.get("billing_postcode") or two.get("main_postcode"),
        billing_city=two.get("billing_city") or two.get("main_city"),
        convocation_name=two.get("convocation_name") or two["name"],
        convocation_line1=two.get("convocation_line1") or two.get("main_line1"),
    )
    db.session.add(collectivity)
    db.session.flush()
    mission = db.session.scalars(select(Mission).where(Mission.code == "medprev")).first()
    if mission is not None:
        db.session.add(
            Convention(
                collectivity_id=collectivity.id,
                number=_next_convention_number(today.year),
                mission_id=mission.id,
                start_date=today,
                end_date=dt.date(today.year + 2, 12, 31),
            )
        )
    db.session.add(
        PortalMembership(user_id=application.applicant_user_id, collectivity_id=collectivity.id)
    )
    application.collectivity_id = collectivity.id
    application.decided_at = utcnow()
    application.decided_by_id = decided_by_id
    transition(application, "valider")
    _notify(application, "validée", "Votre adhésion a été validée. Bienvenue !")
    return collectivity


def refuse(application_id: int, decided_by_id: int | None, reason: str) -> None:
    reason = (reason or "").strip()
    if not reason:
        raise MembershipError("Le motif du refus est obligatoire.")
    application = _locked(application_id)
    if application is None:
        raise LookupError(application_id)
    if application.status != SUBMITTED:
        raise MembershipError("Cette demande a déjà été traitée.")
    application.refusal_reason = reason
    application.decided_at = utcnow()
    application.decided_by_id = decided_by_id
    transition(application, "refuser")
    _notify(application, "refusée", f"Votre demande d'adhésion a été refusée.\n\nMotif : {reason}")


def _notify(application: MembershipApplication, outcome: str, body: str) -> None:
    from flask import current_app
    from flask_appbuilder.security.sqla.models import User

    user = db.session.get(User, application.applicant_user_id)
    subject = f"Demande d'adhésion {outcome} — {application.name or application.siret}"
    if user is not None and user.email:
        send_mail(user.email, subject, body)
    cdg = current_app.config.get("MAIL_CDG") or current_app.config.get("MAIL_DEFAULT_SENDER")
    cdg = parseaddr(str(cdg or ""))[1]
    if cdg:
        send_mail(cdg, subject, f"La demande d'adhésion n° {application.id} a été {outcome}.")


def register(*, last_name: str, first_name: str, email: str, function: str) -> Any:
    """Self-registration: an « Employeur principal » account with no collectivity, activated
    by the e-mail link where the password is chosen (app/accounts password policy)."""
    from app import roles
    from app.accounts import services as accounts
    from app.rules.emails import normalize_email
    from app.rules.errors import DomainError

    if not (last_name and first_name and email and function):
        raise MembershipError("Nom, prénom, e-mail et fonction sont obligatoires.")
    try:
        email = normalize_email(email, "email")
        accounts._check_identity(email, email)
    except DomainError as error:
        raise MembershipError(getattr(error, "message", str(error))) from error
    with system_scope():
        user = accounts._new_user(
            email, email, first_name, last_name.upper(), roles.EMPLOYER_PRIMARY, None
        )
    accounts.issue_password_link(user, "nouveau_compte")
    return user
