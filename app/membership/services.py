"""Membership application services (SPEC I3-I4, issue 16): the wizard's steps, the state
machine (brouillon -> soumise -> validée / refusée) and the CDG's decision. Validation creates,
in one transaction, the collectivity, its positions with their risks, its agents with their
positions, its contacts, its conventions and the applicant's primary account: the same
workforce services as the screens (classification, duplicates, careers), so the same rules."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from email.utils import parseaddr
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

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
    Civility,
    Collectivity,
    CollectivityKind,
    Contact,
    ContactFunction,
    ContractType,
    Convention,
    Mission,
    Risk,
    TariffCategory,
)
from app.rules import conventions as convention_rules
from app.rules.errors import DomainError, InvalidIdentifier
from app.rules.formatting import fold, format_date
from app.rules.identifiers import normalize_naf, normalize_pcs, normalize_siret
from app.tenancy import collectivity_of, scope_as, system_scope

# Version of the general conditions the applicant accepts at step 5, with its date.
CONDITIONS_VERSION = "CG-MEDPREV-2025-01 du 01/01/2025"

STEPS = {1: "Identification", 2: "Entreprise", 3: "Postes", 4: "Salariés", 5: "Validation"}

KNOWN_SIRET = "Nous avons déjà un adhérent avec ce numéro de Siret"
MANAGEMENT_REQUEST_URL = "/demarches/nouvelle?type=gestion"

# Longest text kept from one field: what is longer is refused with a message, never cut.
TEXT_MAX = 200
# Mission every new member subscribes to (the others are chosen at step 5).
MAIN_MISSION = "medprev"

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
    """The SIRET's 14 digits, spaces and dots typed between them removed (``normalize_siret``
    tells a wrong one); what is not a number is returned as typed, to be refused."""
    try:
        return normalize_siret(value or "")
    except InvalidIdentifier:
        return "".join((value or "").split())[:14]


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
        function = application.applicant_function if application is not None else None
        application = MembershipApplication(
            applicant_user_id=user_id,
            status=DRAFT,
            current_step=1,
            payload={},
            applicant_function=function,
        )
        db.session.add(application)
        db.session.flush()
    return application


# ----------------------------------------------------------------------------------------------
# Steps 1, 2 and 5: plain fields
# ----------------------------------------------------------------------------------------------

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

CONTACT_KEYS = ["function", "last_name", "first_name", "email", "phone"]


def _postcode_error(value: str, label: str) -> str | None:
    if value and not (value.isdigit() and len(value) == 5):
        return f"« {label} » : le code postal doit compter 5 chiffres (ex. 69001)."
    return None


def _email_error(value: str, label: str) -> str | None:
    from app.rules.emails import normalize_email

    if not value:
        return None
    try:
        normalize_email(value, "email")
    except DomainError:
        return f"« {label} » : l'adresse e-mail « {value[:60]} » n'est pas valide."
    return None


def validate_step(number: int, data: dict[str, Any]) -> list[str]:
    """French error messages for one step's input (empty when the step is accepted)."""
    errors = [
        f"« {label} » est obligatoire."
        for key, label in REQUIRED.get(number, {}).items()
        if not str(data.get(key) or "").strip()
    ]
    if number == 1:
        if (data.get("siret") or "").strip():
            try:
                siret = normalize_siret(data["siret"])
            except InvalidIdentifier as error:
                errors.append(f"Siret « {data['siret'][:30]} » : {error.message}")
            else:
                if siret_known(siret):
                    errors.append(KNOWN_SIRET)
        if (data.get("naf_code") or "").strip():
            try:
                normalize_naf(data["naf_code"])
            except InvalidIdentifier as error:
                errors.append(f"Code NAF « {data['naf_code'][:30]} » : {error.message}")
    if number == 2:
        if data.get("kind") and data["kind"] not in CollectivityKind.__members__:
            errors.append("Type de collectivité inconnu : choisissez-le dans la liste.")
        for key, label in (("main_postcode", "Code postal"), ("billing_postcode", "Facturation")):
            message = _postcode_error(data.get(key) or "", label)
            if message:
                errors.append(message)
        message = _email_error(data.get("email") or "", "E-mail")
        if message:
            errors.append(message)
        for index, contact in enumerate(data.get("contacts") or [], start=1):
            if not contact.get("last_name"):
                errors.append(f"Contact n° {index} : le nom est obligatoire.")
            if contact.get("function") not in ContactFunction.__members__:
                errors.append(f"Contact n° {index} : choisissez sa fonction dans la liste.")
            message = _email_error(contact.get("email") or "", f"Contact n° {index} : e-mail")
            if message:
                errors.append(message)
            if contact.get("function") == ContactFunction.convocation.name and not contact.get(
                "email"
            ):
                errors.append(
                    f"Contact n° {index} : l'adresse e-mail du contact des convocations est "
                    "obligatoire."
                )
    if number == 3 and not (data.get("positions") or []):
        errors.append("Déclarez au moins un poste de travail (« Ajouter ce poste »).")
    if number == 4:
        agents = data.get("agents") or []
        if not agents:
            errors.append("Déclarez au moins un salarié (« Ajouter ce salarié » ou l'import).")
    if number == 5:
        unknown = set(data.get("missions") or []) - {m.code for m in missions()}
        if unknown:
            errors.append("Mission inconnue : choisissez-la dans la liste.")
    return errors


def save_step(application: MembershipApplication, number: int, data: dict[str, Any]) -> list[str]:
    """Store the step's input (always, so nothing typed is lost) and move on if it is valid.
    Steps 3 and 4 keep their lists (filled by ``add_position`` / ``add_agents``)."""
    if application.status != DRAFT:
        return ["Cette demande a déjà été transmise : elle ne peut plus être modifiée."]
    payload = dict(application.payload or {})
    payload[str(number)] = {**(payload.get(str(number)) or {}), **data}
    application.payload = payload
    if number == 1 and data.get("siret"):
        application.siret = clean_siret(data["siret"])[:14]
    if number == 2 and data.get("name"):
        application.name = data["name"][:200]
    errors = validate_step(number, payload[str(number)])
    if number == 5 and not errors:
        errors = mission_errors(application)
    if not errors:
        application.current_step = max(application.current_step, min(number + 1, 5))
    return errors


def missions() -> list[Mission]:
    return list(db.session.scalars(select(Mission).order_by(Mission.sort_order, Mission.code)))


def chosen_missions(application: MembershipApplication) -> list[str]:
    chosen = [str(code) for code in application.step(5).get("missions") or []]
    return [MAIN_MISSION, *[code for code in chosen if code != MAIN_MISSION]]


def mission_errors(application: MembershipApplication) -> list[str]:
    """The missions chosen at step 5 against the rules of B4 (size, affiliation)."""
    count = len(application.step(4).get("agents") or [])
    kind = application.step(2).get("kind")
    affiliated = (
        kind in CollectivityKind.__members__
        and category_for_kind(CollectivityKind[kind]) is TariffCategory.affiliee
    )
    by_code = {m.code: m for m in missions()}
    errors: list[str] = []
    for code in chosen_missions(application):
        mission = by_code.get(code)
        if mission is not None:
            errors += convention_rules.mission_errors(
                mission.label, mission.min_agents, mission.affiliated_only, count, affiliated
            )
    return errors


# ----------------------------------------------------------------------------------------------
# Step 3: positions and their risks
# ----------------------------------------------------------------------------------------------

PRECISION_MESSAGES = {
    "categorie_radiation": "Précisez la catégorie (A, B ou aptitude INB) pour les rayonnements ionisants.",
    "categories_caces": "Sélectionnez un ou plusieurs véhicules (catégories CACES).",
    "description": "Décrivez l'autre risque.",
}


def check_position(
    raw: dict[str, Any], positions: list[dict[str, Any]]
) -> tuple[dict[str, Any], list[str]]:
    """One position typed at step 3: label, PCS code, risks with their precisions. Returns the
    position to store (normalised) and the French errors."""
    errors: list[str] = []
    label = " ".join(str(raw.get("label") or "").split())
    if not label:
        errors.append("Le libellé du poste est obligatoire.")
    elif len(label) > TEXT_MAX:
        errors.append(f"Le libellé du poste ne peut pas dépasser {TEXT_MAX} caractères.")
    pcs = ""
    try:
        pcs = normalize_pcs(str(raw.get("pcs_code") or ""))
    except InvalidIdentifier as error:
        errors.append(f"Code PCS « {str(raw.get('pcs_code') or '')[:30]} » : {error.message}")
    known = {risk.code: risk for risk in db.session.scalars(select(Risk))}
    risks = []
    for item in raw.get("risks") or []:
        risk = known.get(item.get("code"))
        if risk is None:
            errors.append(f"Risque inconnu : « {str(item.get('code'))[:30]} ».")
            continue
        kind = risk.precision.name
        precision = {
            "categorie_radiation": item.get("radiation_category"),
            "categories_caces": item.get("caces_categories"),
            "description": item.get("description"),
        }.get(kind, "")
        if kind in PRECISION_MESSAGES and not precision:
            errors.append(PRECISION_MESSAGES[kind])
        if kind == "categorie_radiation" and precision and precision not in ("A", "B", "INB"):
            errors.append("Catégorie de rayonnements inconnue (A, B ou INB).")
        risks.append({key: value for key, value in item.items() if value})
    if label and pcs:
        for other in positions:
            if other.get("pcs_code") == pcs and fold(other.get("label") or "") == fold(label):
                errors.append(
                    f"Le poste « {label} » ({pcs}) est déjà dans la liste : "
                    "chaque poste n'y figure qu'une fois."
                )
    return {"label": label, "pcs_code": pcs, "risks": risks}, errors


def add_position(application: MembershipApplication, raw: dict[str, Any]) -> list[str]:
    if application.status != DRAFT:
        return ["Cette demande a déjà été transmise : elle ne peut plus être modifiée."]
    step = application.step(3)
    positions = list(step.get("positions") or [])
    position, errors = check_position(raw, positions)
    if not errors:
        positions.append(position)
        application.payload = {**(application.payload or {}), "3": {**step, "positions": positions}}
    return errors


def remove_row(application: MembershipApplication, number: int, index: int) -> str | None:
    """« Retirer » a position (step 3) or an agent (step 4); a position some agent holds stays."""
    if application.status != DRAFT:
        return "Cette demande a déjà été transmise : elle ne peut plus être modifiée."
    key = "positions" if number == 3 else "agents"
    step = application.step(number)
    rows = list(step.get(key) or [])
    if not 0 <= index < len(rows):
        return "Cette ligne n'existe plus : la page a été rechargée."
    if number == 3:
        position = rows[index]
        holders = [
            a
            for a in application.step(4).get("agents") or []
            if a.get("pcs_code") == position.get("pcs_code")
            and fold(a.get("position_label") or "") == fold(position.get("label") or "")
        ]
        if holders:
            return (
                f"Le poste « {position.get('label')} » est attribué à {len(holders)} salarié(s) "
                "à l'étape 4 : retirez-les d'abord ou attribuez-leur un autre poste."
            )
    del rows[index]
    application.payload = {**(application.payload or {}), str(number): {**step, key: rows}}
    return None


def position_badges(positions: list[dict[str, Any]], on: dt.date) -> list[Any]:
    """SI / SIA / SIR of each listed position by the rule in force (same rule as the screens)."""
    from app.rules.follow_up import follow_up
    from app.workforce.positions import risk_effects

    effects = risk_effects()
    known = {effect.risk_code for effect in effects}
    return [
        follow_up(
            [r.get("code") for r in p.get("risks") or [] if r.get("code") in known], effects, on
        )
        for p in positions
    ]


# ----------------------------------------------------------------------------------------------
# Step 4: agents, typed one by one or imported (the employer import's format and checks)
# ----------------------------------------------------------------------------------------------

AGENT_FIELDS = [
    ("civility", "Civilite(Madame/Monsieur)"),
    ("first_name", "Prenom"),
    ("birth_name", "Nom de naissance"),
    ("usage_name", "Nom marital"),
    ("birth_date", "Date de naissance"),
    ("ins", "INS"),
    ("entry_date", "Date entree"),
    ("exit_date", "Date sortie"),
    ("pcs_code", "Code CSP du type de poste"),
    ("position_label", "Libelle du type de poste"),
    ("contract_type", "Libelle du type de contrat"),
]


@dataclass
class AgentsRefused(Exception):
    """Agents refused as a whole: the summary and the report line by line (French)."""

    summary: str
    issues: list[Any]

    @property
    def lines(self) -> list[str]:
        return [str(issue) for issue in self.issues]

    @property
    def fields(self) -> list[str]:
        """The same report for one typed agent: by field, without the line number."""
        labels = dict((header, key) for key, header in AGENT_FIELDS)
        shown = {
            "Civilite(Madame/Monsieur)": "Civilité",
            "Prenom": "Prénom",
            "Date entree": "Date d'entrée",
            "Date sortie": "Date de sortie",
            "Code CSP du type de poste": "Poste",
            "Libelle du type de poste": "Poste",
            "Libelle du type de contrat": "Type de contrat",
        }
        return [
            f"« {shown.get(issue.column, issue.column)} » : {issue.message}"
            if issue.column in labels
            else issue.message
            for issue in self.issues
        ]


def _agent_dict(row: Any) -> dict[str, Any]:
    return {
        "civility": row.civility,
        "first_name": row.first_name,
        "birth_name": row.birth_name.upper(),
        "usage_name": (row.usage_name or "").upper() or None,
        "birth_date": row.birth_date.isoformat(),
        "ins": row.ins,
        "entry_date": row.entry_date.isoformat(),
        "exit_date": row.exit_date.isoformat() if row.exit_date else None,
        "pcs_code": row.pcs_code,
        "position_label": row.position_label,
        "contract_type": row.contract_type_label,
    }


def _check_agents(
    application: MembershipApplication, table: list[list[str]], today: dt.date
) -> list[dict[str, Any]]:
    """Every line read by the import's parser, then checked against steps 3 and 4 (its
    positions, the agents already listed) and the contract types; all or nothing."""
    from app.workforce import importing

    issues: list[importing.ImportIssue] = []
    keys: list[importing.AgentKeys] = []
    try:
        importing.check_header(table, importing.ImportKind.agents)
        rows = importing.parse_agents(table, today=today, found=issues, keys=keys)
    except importing.ImportRejected as error:
        raise AgentsRefused(error.message, list(error.issues)) from error
    positions = {
        (p.get("pcs_code"), fold(p.get("label") or ""))
        for p in application.step(3).get("positions") or []
    }
    contract_types = {}
    for contract_type in db.session.scalars(select(ContractType)):
        contract_types[fold(contract_type.label)] = contract_type
        contract_types[fold(contract_type.code)] = contract_type
    listed = list(application.step(4).get("agents") or [])
    listed_ins = {a.get("ins") for a in listed if a.get("ins")}
    listed_people = {
        (fold(a.get("birth_name") or ""), fold(a.get("first_name") or ""), a.get("birth_date"))
        for a in listed
    }
    for key in keys:
        if (
            key.pcs_code is not None
            and key.position_label is not None
            and (key.pcs_code, fold(key.position_label)) not in positions
        ):
            issues.append(
                importing.ImportIssue(
                    key.line,
                    "Libelle du type de poste",
                    f"Aucun poste « {key.position_label} » de code PCS {key.pcs_code} n'a "
                    "été déclaré à l'étape 3 (POSTES) : ajoutez-le avec exactement ce "
                    "libellé et ce code PCS.",
                )
            )
        label = key.contract_type_label
        if label is not None and fold(label) not in contract_types:
            accepted = ", ".join(sorted({t.label for t in contract_types.values()}))
            issues.append(
                importing.ImportIssue(
                    key.line,
                    "Libelle du type de contrat",
                    f"Type de contrat « {label} » inconnu (attendu : {accepted}).",
                )
            )
        if key.ins and key.ins in listed_ins:
            issues.append(
                importing.ImportIssue(
                    key.line, "INS", f"Un salarié avec l'INS {key.ins} est déjà dans la liste."
                )
            )
        elif key.person is not None and key.birth_date is not None:
            person = (key.person[0], key.person[1], key.birth_date.isoformat())
            if person in listed_people:
                issues.append(
                    importing.ImportIssue(
                        key.line,
                        "Nom de naissance",
                        f"{key.first_name} {key.birth_name}, né(e) le "
                        f"{format_date(key.birth_date)}, est déjà dans la liste.",
                    )
                )
    if issues:
        issues.sort(key=lambda issue: issue.line or 0)
        error = importing.ImportRejected(issues)
        raise AgentsRefused(error.message, issues)
    agents = []
    for row in rows:
        agent = _agent_dict(row)
        agent["contract_type"] = contract_types[fold(row.contract_type_label)].label
        agents.append(agent)
    return agents


def _store_agents(application: MembershipApplication, agents: list[dict[str, Any]]) -> None:
    step = application.step(4)
    listed = list(step.get("agents") or [])
    application.payload = {
        **(application.payload or {}),
        "4": {**step, "agents": listed + agents},
    }


def add_agent(application: MembershipApplication, raw: dict[str, str], today: dt.date) -> list[str]:
    """One agent typed at step 4: the import's checks on a one-line table, then stored."""
    from app.workforce.importing import HEADERS, ImportKind

    if application.status != DRAFT:
        return ["Cette demande a déjà été transmise : elle ne peut plus être modifiée."]
    position = (raw.get("position") or "").split("|", 1)
    pcs, label = (position + [""])[:2] if len(position) == 2 else ("", "")
    values = {**raw, "pcs_code": pcs, "position_label": label}
    line = [str(values.get(key) or "") for key, _ in AGENT_FIELDS]
    try:
        agents = _check_agents(application, [list(HEADERS[ImportKind.agents]), line], today)
    except AgentsRefused as refused:
        messages = refused.fields
        if not raw.get("position"):
            messages = [m for m in messages if not m.startswith("« Poste »")]
            messages.append("Choisissez le poste du salarié (postes déclarés à l'étape 3).")
        return list(dict.fromkeys(messages))
    _store_agents(application, agents)
    return []


def import_agents(
    application: MembershipApplication, data: bytes, filename: str, today: dt.date
) -> int:
    """« Importer des salariés »: the employer import's file (CONTRACT.md §3), all or nothing;
    the agents are kept in the application until the CDG validates it."""
    from app.workforce import importing

    if application.status != DRAFT:
        raise AgentsRefused(
            "Cette demande a déjà été transmise : elle ne peut plus être modifiée.", []
        )
    try:
        table = importing.read_table(data, filename)
    except importing.ImportRejected as error:
        raise AgentsRefused(error.message, list(error.issues)) from error
    agents = _check_agents(application, table, today)
    if not agents:
        raise AgentsRefused("Le fichier ne contient aucun salarié.", [])
    _store_agents(application, agents)
    return len(agents)


# ----------------------------------------------------------------------------------------------
# Submission and the CDG's decision
# ----------------------------------------------------------------------------------------------


def submit(application: MembershipApplication) -> None:
    for number in range(1, 5):
        errors = validate_step(number, application.step(number))
        if errors:
            raise MembershipError(f"Étape {number} ({STEPS[number]}) : " + " ".join(errors))
    errors = mission_errors(application)
    if errors:
        raise MembershipError("Étape 5 (Validation) : " + " ".join(errors))
    application.conditions_version = CONDITIONS_VERSION
    application.submitted_at = utcnow()
    transition(application, "soumettre")
    _notify(
        application,
        "transmise",
        "Votre demande d'adhésion a été transmise au CDG : vous recevrez un e-mail dès qu'elle "
        "sera traitée.",
    )


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


def _next_convention_number(mission_code: str, year: int) -> str:
    number = (db.session.scalar(select(func.count(Convention.id))) or 0) + 1
    while db.session.scalar(
        select(func.count(Convention.id)).where(
            Convention.number == convention_rules.convention_number(number, mission_code, year)
        )
    ):
        number += 1
    return convention_rules.convention_number(number, mission_code, year)


def validate(application_id: int, decided_by_id: int | None, today: dt.date) -> Collectivity:
    """« Valider »: one transaction creating the collectivity, its positions and agents
    (validated), contacts, conventions and the primary account. Any refusal on the way raises
    MembershipError and the caller rolls back: nothing is written. A second validation finds
    the application already decided and creates nothing."""
    application = _locked(application_id)
    if application is None:
        raise LookupError(application_id)
    if application.status != SUBMITTED:
        raise MembershipError("Cette demande a déjà été traitée.")
    try:
        with db.session.begin_nested():
            collectivity = _create_member(application, today)
    except DomainError as error:
        raise MembershipError(
            f"Validation impossible, rien n'a été créé. {error.message}"
        ) from error
    except IntegrityError as error:
        raise MembershipError(
            "Validation impossible, rien n'a été créé : une donnée de la demande existe déjà "
            "(Siret, INS ou numéro de convention)."
        ) from error
    application.collectivity_id = collectivity.id
    application.decided_at = utcnow()
    application.decided_by_id = decided_by_id
    transition(application, "valider")
    _notify(
        application,
        "validée",
        f"Votre adhésion a été validée. Bienvenue !\n\nVous êtes le compte principal de "
        f"« {collectivity.name} » : connectez-vous pour retrouver vos postes et vos salariés.",
    )
    return collectivity


def _create_member(application: MembershipApplication, today: dt.date) -> Collectivity:
    from app.referential.services import prepare_collectivity, prepare_contact, prepare_convention

    one, two = application.step(1), application.step(2)
    siret = clean_siret(one.get("siret", ""))
    if siret_known(siret):
        raise DomainError(KNOWN_SIRET + ".")
    kind = CollectivityKind[two["kind"]]
    collectivity = Collectivity(
        name=two["name"],
        kind=kind,
        siret=siret,
        naf_code=one.get("naf_code") or None,
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
    prepare_collectivity(collectivity)
    db.session.add(collectivity)
    db.session.flush()
    agents = application.step(4).get("agents") or []
    with scope_as(collectivity_of(collectivity.id)):
        positions = _create_positions(collectivity, application.step(3).get("positions") or [])
        _create_agents(collectivity, agents, positions)
    for contact in two.get("contacts") or []:
        row = Contact(
            collectivity_id=collectivity.id,
            function=ContactFunction[contact["function"]],
            last_name=contact["last_name"].upper(),
            first_name=contact.get("first_name") or None,
            email=contact.get("email") or None,
            phone=contact.get("phone") or None,
        )
        prepare_contact(row)
        db.session.add(row)
    by_code = {m.code: m for m in missions()}
    for code in chosen_missions(application):
        mission = by_code.get(code)
        if mission is None:
            continue
        convention = Convention(
            collectivity=collectivity,
            collectivity_id=collectivity.id,
            mission=mission,
            mission_id=mission.id,
            number=_next_convention_number(mission.code, today.year),
            start_date=today,
            end_date=convention_rules.convention_end(today),
        )
        prepare_convention(
            convention,
            agent_count=len(agents),
            affiliated=collectivity.category is TariffCategory.affiliee,
        )
        db.session.add(convention)
        db.session.flush()
    db.session.add(
        PortalMembership(user_id=application.applicant_user_id, collectivity_id=collectivity.id)
    )
    db.session.flush()
    return collectivity


def _create_positions(
    collectivity: Collectivity, rows: list[dict[str, Any]]
) -> dict[tuple[str, str], int]:
    from app.workforce import positions as position_services
    from app.workforce.models import WorkPosition

    created: dict[tuple[str, str], int] = {}
    for number, row in enumerate(rows, start=1):
        position = WorkPosition(collectivity_id=collectivity.id)
        try:
            position_services.prepare_position(
                position, row.get("label", ""), row.get("pcs_code", "")
            )
            db.session.add(position)
            position_services.apply_risks(
                position,
                [
                    position_services.RiskInput(
                        code=risk.get("code", ""),
                        radiation_category=risk.get("radiation_category"),
                        caces_categories=risk.get("caces_categories"),
                        description=risk.get("description"),
                    )
                    for risk in row.get("risks") or []
                ],
            )
            position_services.check_precisions(position)
            db.session.flush()
        except DomainError as error:
            raise DomainError(
                f"Poste n° {number} (« {row.get('label')} ») : {error.message}"
            ) from error
        created[(position.pcs_code, fold(position.label))] = position.id
    return created


def _create_agents(
    collectivity: Collectivity,
    rows: list[dict[str, Any]],
    positions: dict[tuple[str, str], int],
) -> None:
    from app.workforce import agents as agent_services
    from app.workforce.models import Agent

    contract_types = {}
    for contract_type in db.session.scalars(select(ContractType)):
        contract_types[fold(contract_type.label)] = contract_type.id
        contract_types[fold(contract_type.code)] = contract_type.id
    created = []
    for number, row in enumerate(rows, start=1):
        name = f"{row.get('birth_name', '')} {row.get('first_name', '')}".strip()
        try:
            position_id = positions.get(
                (row.get("pcs_code", ""), fold(row.get("position_label") or ""))
            )
            if position_id is None:
                raise DomainError("son poste n'est pas dans la liste des postes (étape 3).")
            contract_type_id = contract_types.get(fold(row.get("contract_type") or ""))
            if contract_type_id is None:
                raise DomainError("type de contrat inconnu.")
            agent = Agent(
                collectivity_id=collectivity.id,
                civility=Civility[row.get("civility") or "madame"],
                first_name=row.get("first_name") or "",
                birth_name=row.get("birth_name") or "",
                usage_name=row.get("usage_name") or None,
                birth_date=_iso(row.get("birth_date")),
                ins=row.get("ins") or None,
            )
            entry = _iso(row.get("entry_date"))
            if entry is None:
                raise DomainError("la date d'entrée est obligatoire.")
            agent_services.create_agent(
                agent,
                agent_services.ContractInput(
                    work_position_id=position_id,
                    contract_type_id=contract_type_id,
                    start_date=entry,
                    end_date=_iso(row.get("exit_date")),
                ),
            )
        except DomainError as error:
            raise DomainError(f"Salarié n° {number} ({name}) : {error.message}") from error
        except KeyError as error:
            raise DomainError(f"Salarié n° {number} ({name}) : civilité inconnue.") from error
        created.append(agent)
    # Declared by the applicant, checked by the CDG at this validation: validated records.
    for agent in created:
        agent.created_by_employer = False
    agent_services.validate_agents(created)
    db.session.flush()


def _iso(value: Any) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError as error:
        raise DomainError(f"date « {str(value)[:20]} » illisible.") from error


def refuse(application_id: int, decided_by_id: int | None, reason: str) -> None:
    reason = (reason or "").strip()
    if not reason:
        raise MembershipError("Le motif du refus est obligatoire.")
    if len(reason) > 2000:
        raise MembershipError("Le motif du refus ne peut pas dépasser 2 000 caractères.")
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
    """The applicant and the CDG both get the news (the CDG: MAIL_CDG, else the secretariat's
    SECRETARIAT_EMAIL)."""
    from flask import current_app
    from flask_appbuilder.security.sqla.models import User

    user = db.session.get(User, application.applicant_user_id)
    subject = f"Demande d'adhésion {outcome} — {application.name or application.siret}"
    if user is not None and user.email:
        send_mail(user.email, subject, body)
    cdg = (
        current_app.config.get("MAIL_CDG")
        or current_app.config.get("SECRETARIAT_EMAIL")
        or current_app.config.get("MAIL_DEFAULT_SENDER")
    )
    cdg = parseaddr(str(cdg or ""))[1]
    if cdg:
        who = f"{user.first_name} {user.last_name}" if user is not None else "?"
        send_mail(
            cdg,
            subject,
            f"La demande d'adhésion n° {application.id} de {who} "
            f"({application.applicant_function or 'fonction non précisée'}) a été {outcome}.",
        )


def register(*, last_name: str, first_name: str, email: str, function: str) -> Any:
    """Self-registration: an « Employeur principal » account with no collectivity, activated
    by the e-mail link where the password is chosen (app/accounts password policy). The
    function is kept with the account's first (draft) application, shown to the CDG."""
    from app import roles
    from app.accounts import services as accounts
    from app.rules.emails import normalize_email

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
    db.session.add(
        MembershipApplication(
            applicant_user_id=user.id,
            status=DRAFT,
            current_step=1,
            payload={},
            applicant_function=function[:100],
        )
    )
    accounts.issue_password_link(user, "nouveau_compte")
    return user
