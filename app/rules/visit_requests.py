"""What a visit request must say, type by type (SPEC E1, seed SSTRN-EXTRANET « Demande de
rendez-vous »), and the order of the secretariat's work queue (SPEC E2)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

# Situation checkboxes of every type but the occasional visit (seed: « Si nécessaire veuillez
# cocher les cases ci-dessous »).
SITUATIONS: dict[str, str] = {
    "travailleur_handicape": "Travailleur handicapé",
    "invalidite": "Travailleur en invalidité",
    "femme_enceinte": "Femme enceinte",
    "apprenti": "Apprenti",
    "autre_exposition": "Autre exposition",
}

# Nature of the work stoppage before a resumption visit (Code du travail R. 4624-31: maternity,
# occupational disease, work accident of 30 days or more, other illness or accident of 60 days
# or more).
STOPPAGE_NATURES: dict[str, str] = {
    "maternite": "Congé de maternité",
    "maladie_professionnelle": "Maladie professionnelle",
    "accident_travail": "Accident du travail ou de service",
    "maladie": "Maladie ou accident non professionnel",
}

# Who asks for an occasional visit (seed: « A la demande de l'employeur / du Médecin du Travail
# / du salarié »).
REQUESTERS: dict[str, str] = {
    "employeur": "À la demande de l'employeur",
    "medecin": "À la demande du médecin du travail",
    "agent": "À la demande du salarié",
}

# The three reasons an employer may give for an occasional visit (seed: « l'une des 3 cases »).
EMPLOYER_REASONS: dict[str, str] = {
    "changement_poste": "Changement de poste ou des conditions de travail",
    "difficultes_sante": "Difficultés liées à l'état de santé au travail",
    "absences_repetees": "Absences répétées ou comportement préoccupant",
}

TEXT_MAX = 250
LONG_TEXT_MAX = 2000

# Attachments (SPEC E1): 5 PDFs at most, each of 1 MB at most; a dispense at hiring needs the
# last « Attestation de suivi » among them (document nature code).
MAX_ATTACHMENTS = 5
ATTACHMENT_MAX_BYTES = 1024 * 1024
ATTESTATION_NATURE = "attestation_suivi"
DISPENSE_NEEDS_ATTESTATION = (
    "Une demande de dispense nécessite la dernière attestation de suivi du salarié : "
    "joignez-la en pièce jointe (nature « Attestation de suivi »)."
)
TOO_MANY_ATTACHMENTS = (
    f"{MAX_ATTACHMENTS} pièces jointes au plus par demande : retirez-en pour n'en garder que "
    f"{MAX_ATTACHMENTS}."
)

# Work-queue urgency: a doctor's deadline first, then a resumption, then the others.
URGENCY_DEADLINE = 0
URGENCY_RESUMPTION = 1
URGENCY_NORMAL = 2
RESUMPTION_TYPES = frozenset({"reprise", "pre_reprise"})


@dataclass(frozen=True)
class RequestInput:
    """What the requester typed, as plain values."""

    visit_type: str
    situations: frozenset[str] = frozenset()
    other_exposure: str = ""
    dispense: bool = False
    attestation_on: dt.date | None = None
    stoppage_nature: str = ""
    therapeutic_part_time: bool = False
    retirement_on: dt.date | None = None
    exposed_risk: str = ""
    requester: str = ""
    employer_reason: str = ""
    comment: str = ""
    deadline_on: dt.date | None = None
    information: str = ""
    interpreter: bool = False
    language: str = ""
    # The natures (codes) of the attached files, one per file.
    attachment_natures: tuple[str, ...] = ()
    # Asked by the agent himself as confidential (SPEC E7): recorded by the staff only.
    confidential: bool = False


@dataclass(frozen=True)
class CheckedRequest:
    """A valid request: the situations and the details of its type (stored as JSON)."""

    situations: list[str]
    other_exposure: str | None
    details: dict[str, object]
    information: str | None
    interpreter: bool
    language: str | None
    urgency: int
    deadline_on: dt.date | None


@dataclass
class Problems:
    """The refusals of a request, field by field (French messages)."""

    items: list[tuple[str, str]] = field(default_factory=list)

    def add(self, name: str, message: str) -> None:
        self.items.append((name, message))

    def __bool__(self) -> bool:
        return bool(self.items)


def _iso(day: dt.date | None) -> str | None:
    return day.isoformat() if day else None


def _too_long(problems: Problems, name: str, value: str, limit: int) -> None:
    if len(value) > limit:
        problems.add(name, f"{limit} caractères au plus.")


def check_request(data: RequestInput, today: dt.date) -> CheckedRequest | Problems:
    """The fields each type requires (SPEC E1): an embauche's dispense needs the last
    attestation de suivi attached (its date is optional), at most 5 attachments, a reprise the nature of the stoppage, a fin de carrière the retirement
    date and the risk, an occasional visit who asks for it (the employer with one of three
    reasons and a comment, the doctor with the deadline of his previous opinion, which must not
    be past); « autre exposition » and the interpreter need their precision."""
    problems = Problems()
    kind = data.visit_type
    other_exposure = data.other_exposure.strip()
    language = data.language.strip()
    information = data.information.strip()
    comment = data.comment.strip()
    exposed_risk = data.exposed_risk.strip()
    for name, value, limit in (
        ("other_exposure", other_exposure, TEXT_MAX),
        ("language", language, TEXT_MAX),
        ("exposed_risk", exposed_risk, TEXT_MAX),
        ("information", information, LONG_TEXT_MAX),
        ("comment", comment, LONG_TEXT_MAX),
    ):
        _too_long(problems, name, value, limit)

    situations: list[str] = []
    if kind != "occasionnelle":
        unknown = data.situations - SITUATIONS.keys()
        if unknown:
            problems.add("situations", "Situation inconnue : " + ", ".join(sorted(unknown)) + ".")
        situations = [code for code in SITUATIONS if code in data.situations]
        if "autre_exposition" in situations and not other_exposure:
            problems.add("other_exposure", "Précisez l'autre exposition.")
    if data.interpreter and not language:
        problems.add("language", "Précisez la langue de l'interprète.")
    if len(data.attachment_natures) > MAX_ATTACHMENTS:
        problems.add("attachments", TOO_MANY_ATTACHMENTS)

    details: dict[str, object] = {}
    urgency = URGENCY_RESUMPTION if kind in RESUMPTION_TYPES else URGENCY_NORMAL
    deadline_on: dt.date | None = None
    if kind == "embauche":
        details = {"dispense": data.dispense, "attestation_on": None}
        if data.dispense:
            if ATTESTATION_NATURE not in data.attachment_natures:
                problems.add("attachments", DISPENSE_NEEDS_ATTESTATION)
            if data.attestation_on is not None and data.attestation_on > today:
                problems.add("attestation_on", "La date de l'attestation de suivi est à venir.")
            details["attestation_on"] = _iso(data.attestation_on)
    elif kind in RESUMPTION_TYPES:
        if data.stoppage_nature not in STOPPAGE_NATURES:
            problems.add("stoppage_nature", "Précisez la nature de l'arrêt de travail.")
        details = {"stoppage_nature": data.stoppage_nature or None}
        if kind == "reprise":
            details["therapeutic_part_time"] = data.therapeutic_part_time
    elif kind == "fin_carriere":
        if data.retirement_on is None:
            problems.add("retirement_on", "Indiquez la date de départ en retraite.")
        elif data.retirement_on < today:
            problems.add("retirement_on", "La date de départ en retraite est passée.")
        if not exposed_risk:
            problems.add("exposed_risk", "Précisez le risque auquel le salarié a été exposé.")
        details = {"retirement_on": _iso(data.retirement_on), "exposed_risk": exposed_risk}
    elif kind == "occasionnelle":
        details = {"requester": data.requester or None}
        if data.requester not in REQUESTERS:
            problems.add("requester", "Indiquez qui demande la visite occasionnelle.")
        elif data.requester == "employeur":
            if data.employer_reason not in EMPLOYER_REASONS:
                problems.add("employer_reason", "Motivez la demande : cochez l'une des 3 cases.")
            if not comment:
                problems.add("comment", "Commentez la situation qui motive la demande.")
            details.update(employer_reason=data.employer_reason or None, comment=comment)
        elif data.requester == "medecin":
            if data.deadline_on is None:
                problems.add(
                    "deadline_on", "Indiquez la date butoir du précédent avis ou attestation."
                )
            elif data.deadline_on < today:
                problems.add("deadline_on", "La date butoir est passée.")
            else:
                urgency, deadline_on = URGENCY_DEADLINE, data.deadline_on
            details["deadline_on"] = _iso(data.deadline_on)
    if problems:
        return problems
    return CheckedRequest(
        situations=situations,
        other_exposure=other_exposure if "autre_exposition" in situations else None,
        details=details,
        information=information or None,
        interpreter=data.interpreter,
        language=language if data.interpreter else None,
        urgency=urgency,
        deadline_on=deadline_on,
    )


def describe_details(visit_type: str, details: dict[str, object]) -> list[tuple[str, str]]:
    """The details of a request as (label, value) lines in French (screens and e-mails)."""
    lines: list[tuple[str, str]] = []

    def day(value: object) -> str:
        return dt.date.fromisoformat(str(value)).strftime("%d/%m/%Y") if value else ""

    if visit_type == "embauche" and details.get("dispense"):
        lines.append(("Demande de dispense d'embauche", "Oui"))
        if details.get("attestation_on"):
            lines.append(("Dernière attestation de suivi du", day(details.get("attestation_on"))))
    for label, value in dict(details.get("precisions") or {}).items():  # type: ignore[call-overload]
        lines.append((f"Précision du risque « {label} »", str(value)))
    if "stoppage_nature" in details:
        code = str(details.get("stoppage_nature") or "")
        lines.append(("Nature de l'arrêt de travail", STOPPAGE_NATURES.get(code, code)))
    if details.get("therapeutic_part_time"):
        lines.append(("Reprise à temps partiel thérapeutique", "Oui"))
    if "retirement_on" in details:
        lines.append(("Date de départ en retraite", day(details.get("retirement_on"))))
        lines.append(("Risque exposé", str(details.get("exposed_risk") or "")))
    if "requester" in details:
        code = str(details.get("requester") or "")
        lines.append(("Demandeur", REQUESTERS.get(code, code)))
        if details.get("employer_reason"):
            reason = str(details["employer_reason"])
            lines.append(("Motif", EMPLOYER_REASONS.get(reason, reason)))
        if details.get("comment"):
            lines.append(("Commentaire", str(details["comment"])))
        if details.get("deadline_on"):
            lines.append(("Date butoir", day(details.get("deadline_on"))))
    return lines
