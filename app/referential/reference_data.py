"""Reference data every installation needs (DOMAIN.md §1-§4), loaded by ``flask seed-reference``.

Loading is idempotent: a row whose natural key exists is left as it is (the CDG may have edited
it); only missing rows are inserted. Running it twice changes nothing.
"""

from __future__ import annotations

import csv
import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.referential.models import (
    ActKind,
    ContractType,
    DocumentNature,
    DocumentUsage,
    FollowUpLevel,
    Mission,
    PcsCode,
    Risk,
    RiskEffectRule,
    RiskPrecision,
    StatutoryAct,
    Tariff,
    VisitType,
)
from app.rules.follow_up import DEFAULT_RISK_EFFECTS, RISK_LABELS, RISK_PRECISION

DATA_DIR = Path(__file__).parent / "data"

# Short labels as the SSTRN extranet shows them in position lists ("Risques : CACES, Chute").
RISK_SHORT_LABELS = {
    "amiante": "Amiante",
    "bio_3_4": "Agents biologiques 3 et 4",
    "hyperbare": "Hyperbare",
    "nuit": "Travail de nuit",
    "electromagnetique": "Champs électromagnétiques",
    "cmr": "CMR",
    "electrique": "Électrique",
    "chute_echafaudage": "Chute",
    "caces": "CACES",
    "plomb": "Plomb",
    "rayonnements": "Rayonnements ionisants",
    "charges_55kg": "Charge manuelle",
    "bio_2": "Agents biologiques groupe 2",
    "autre": "Autre risque",
}

VISIT_TYPES = [
    ("embauche", "Embauche"),
    ("periodique", "Périodique"),
    ("mi_carriere", "Mi-carrière"),
    ("reprise", "Reprise"),
    ("pre_reprise", "Pré-reprise"),
    ("occasionnelle", "Occasionnelle"),
    ("fin_carriere", "Fin de carrière"),
    ("post_exposition", "Post-exposition"),
]

DOCUMENT_NATURES = {
    DocumentUsage.demande: [
        ("attestation_suivi", "Attestation de suivi"),
        ("autorisation_conduite", "Autorisation de conduite"),
        ("avis_medical", "Avis médical"),
        ("fiche_poste", "Fiche de poste"),
        ("planning", "Planning"),
        ("justificatif", "Justificatif"),
    ],
    DocumentUsage.employeur: [
        ("fiche_poste", "Fiche de poste"),
        ("planning", "Planning"),
        ("document_unique", "Document unique d'évaluation des risques"),
        ("organigramme", "Organigramme"),
        ("attestation_formation", "Attestation de formation"),
        ("autorisation_conduite", "Autorisation de conduite"),
        ("attestation_suivi", "Attestation de suivi"),
        ("justificatif", "Justificatif"),
        ("autre", "Autre document"),
    ],
    DocumentUsage.fiche_visite: [
        ("fiche_visite", "Fiche de visite"),
        ("attestation_suivi", "Attestation de suivi individuel"),
        ("avis_aptitude", "Avis d'aptitude"),
        ("attestation_non_ci", "Attestation de non contre-indication"),
    ],
}

# (code, label, permanent employment) — imports match labels ignoring case and accents.
CONTRACT_TYPES = [
    ("titulaire", "Titulaire", True),
    ("stagiaire", "Stagiaire", True),
    ("contractuel", "Contractuel", False),
    ("cdi", "CDI", True),
    ("cdd", "CDD", False),
    ("apprenti", "Apprenti", False),
    ("vacataire", "Vacataire", False),
]

MISSIONS = [
    ("medprev", "Médecine préventive", None, False),
    ("msc", "Médecine statutaire et de contrôle", 50, False),
    ("acfi", "Inspection en santé et sécurité au travail (ACFI)", None, False),
    ("social", "Assistance sociale du personnel", 50, False),
    ("juridique", "Conseil juridique", None, False),
    ("archivage", "Archivage", None, False),
    ("retraite", "Dossiers de retraite CNRACL", None, True),
    ("interim", "Missions temporaires (intérim, portage)", None, False),
]


@dataclass(frozen=True)
class Act:
    number: int
    label: str
    kind: ActKind
    mandatory: bool
    coefficient: str
    extra: str
    deadline: int
    price_2025: str
    price_2022: str


C, E = ActKind.controle, ActKind.expertise
STATUTORY_ACTS = [
    Act(
        1,
        "Contrôle d'un arrêt maladie de plus de 6 mois consécutifs",
        C,
        True,
        "1",
        "0",
        5,
        "100",
        "90",
    ),
    Act(2, "Contrôle CITIS de plus de 6 mois consécutifs", C, True, "1", "0", 10, "100", "90"),
    Act(3, "Prolongation de CLM / CLD / CGM", C, True, "1", "0", 10, "100", "90"),
    Act(4, "Prolongation de temps partiel thérapeutique", C, True, "1", "0", 10, "100", "90"),
    Act(5, "Congé de maladie ordinaire pour cure thermale", C, True, "1", "0", 10, "100", "90"),
    Act(6, "Aptitude à exercer au-delà de la limite d'âge", C, True, "0.5", "0", 10, "50", "50"),
    Act(7, "Imputabilité au service d'une rechute", E, True, "2", "0", 15, "200", "150"),
    Act(8, "Guérison, consolidation, taux d'IPP", E, True, "2", "0", 15, "200", "150"),
    Act(9, "Allocation temporaire d'invalidité (ATI)", E, True, "2", "0.5", 15, "250", "150"),
    Act(10, "Retraite pour invalidité (RPI)", E, True, "2", "0.5", 15, "250", "150"),
    Act(11, "Aptitude aux fonctions du grade", E, True, "2", "0", 15, "200", "150"),
    Act(
        12,
        "Contrôle d'un arrêt maladie de moins de 6 mois consécutifs",
        C,
        False,
        "1",
        "0",
        5,
        "100",
        "90",
    ),
    Act(13, "Contrôle CITIS de moins de 6 mois consécutifs", C, False, "1", "0", 10, "100", "90"),
    Act(
        14,
        "Prolongation de CLM / CLD / CGM (visite facultative)",
        C,
        False,
        "1",
        "0",
        10,
        "100",
        "90",
    ),
    Act(15, "Octroi d'un temps partiel thérapeutique", C, False, "1", "0", 10, "100", "90"),
    Act(16, "Aptitude au port d'arme (police municipale)", C, False, "1", "0", 10, "100", "100"),
    Act(
        17,
        "Imputabilité au service d'un accident ou d'une maladie",
        E,
        False,
        "2",
        "0",
        15,
        "200",
        "150",
    ),
]

P2022 = (dt.date(2022, 1, 1), dt.date(2024, 12, 31))
P2025 = (dt.date(2025, 1, 1), dt.date(2027, 12, 31))
TASSIN = "Conventions CDG69 2025-2027 (délibération de Tassin-la-Demi-Lune, 2024)"
OULLINS = "Convention médecine statutaire 2022-2024 (Oullins)"
ASSUMPTION = "Hypothèse DOMAIN.md (paramètre à fixer par le conseil d'administration)"


@dataclass(frozen=True)
class TariffRow:
    code: str
    key: str
    label: str
    value: str
    unit: str
    period: tuple[dt.date, dt.date]
    source: str


def _tariffs() -> list[TariffRow]:
    rows = [
        TariffRow(
            "medprev_unit_cost",
            "affiliee",
            "Médecine préventive – collectivité affiliée",
            "87",
            "€ par agent et par an",
            P2025,
            TASSIN,
        ),
        TariffRow(
            "medprev_unit_cost",
            "non_affiliee_800_plus",
            "Médecine préventive – non affiliée, 800 agents ou plus",
            "93",
            "€ par agent et par an",
            P2025,
            TASSIN,
        ),
        TariffRow(
            "medprev_unit_cost",
            "non_affiliee_moins_800",
            "Médecine préventive – non affiliée, moins de 800 agents",
            "104",
            "€ par agent et par an",
            P2025,
            TASSIN,
        ),
        TariffRow(
            "medprev_unit_cost",
            "region",
            "Médecine préventive – Région",
            "109",
            "€ par agent et par an",
            P2025,
            TASSIN,
        ),
        TariffRow(
            "medprev_unit_cost",
            "affiliee",
            "Médecine préventive – collectivité affiliée",
            "80",
            "€ par agent et par an",
            P2022,
            TASSIN,
        ),
        TariffRow(
            "absence_penalty",
            "",
            "Pénalité par absence injustifiée",
            "40",
            "€ par absence",
            P2022,
            TASSIN,
        ),
        TariffRow(
            "absence_threshold",
            "",
            "Seuil d'absentéisme déclenchant la majoration",
            "5",
            "%",
            P2025,
            TASSIN,
        ),
        TariffRow(
            "absence_surcharge_unit",
            "",
            "Majoration par absence injustifiée au-delà du seuil",
            "40",
            "€ par absence",
            P2025,
            ASSUMPTION,
        ),
        TariffRow(
            "msc_rate",
            "affiliee_cst",
            "Médecine statutaire – affiliées disposant de leur CST",
            "0.0327",
            "% de la masse salariale",
            P2025,
            TASSIN,
        ),
        TariffRow(
            "msc_rate",
            "non_affiliee",
            "Médecine statutaire – non affiliées",
            "0.0545",
            "% de la masse salariale",
            P2025,
            TASSIN,
        ),
        TariffRow(
            "msc_rate",
            "affiliee_cst",
            "Médecine statutaire – affiliées disposant de leur CST",
            "0.030",
            "% de la masse salariale",
            P2022,
            OULLINS,
        ),
        TariffRow(
            "msc_rate",
            "non_affiliee",
            "Médecine statutaire – non affiliées",
            "0.050",
            "% de la masse salariale",
            P2022,
            OULLINS,
        ),
        TariffRow(
            "msc_quota",
            "",
            "Droit de tirage (effectif permanent au 31/12 N-1)",
            "8",
            "%",
            P2025,
            TASSIN,
        ),
        TariffRow(
            "msc_quota",
            "",
            "Droit de tirage (effectif permanent au 31/12 N-1)",
            "8",
            "%",
            P2022,
            OULLINS,
        ),
        TariffRow("msc_report", "", "Rapport écrit hors expertise", "100", "€", P2025, TASSIN),
        TariffRow("msc_report", "", "Rapport écrit hors expertise", "80", "€", P2022, OULLINS),
        # Statutory medicine (issue 13): the report's points, the unjustified absence's points
        # and price (DOMAIN.md §3: « coef. 1 », billed as a control visit — an assumption).
        TariffRow(
            "msc_report_points", "", "Rapport écrit hors expertise", "1", "point", P2025, TASSIN
        ),
        TariffRow(
            "msc_report_points", "", "Rapport écrit hors expertise", "1", "point", P2022, OULLINS
        ),
        TariffRow("msc_absence_points", "", "Absence injustifiée", "1", "point", P2025, TASSIN),
        TariffRow("msc_absence_points", "", "Absence injustifiée", "1", "point", P2022, OULLINS),
        TariffRow(
            "msc_absence_price",
            "",
            "Absence injustifiée au-delà du quota",
            "100",
            "€",
            P2025,
            ASSUMPTION,
        ),
        TariffRow(
            "msc_absence_price",
            "",
            "Absence injustifiée au-delà du quota",
            "90",
            "€",
            P2022,
            ASSUMPTION,
        ),
        TariffRow(
            "legal_advice_flat",
            "",
            "Conseil juridique – forfait annuel",
            "6300",
            "€ par an",
            P2025,
            TASSIN,
        ),
        TariffRow(
            "legal_advice_flat",
            "",
            "Conseil juridique – forfait annuel",
            "6000",
            "€ par an",
            P2022,
            TASSIN,
        ),
        TariffRow(
            "archiving_day",
            "",
            "Archivage – journée d'intervention",
            "315",
            "€ par jour",
            P2025,
            TASSIN,
        ),
        TariffRow(
            "interim_commission",
            "portage",
            "Intérim – commission (portage salarial)",
            "5.5",
            "%",
            P2025,
            TASSIN,
        ),
        TariffRow(
            "interim_commission",
            "contrat",
            "Intérim – commission (contrat d'intérim)",
            "6.5",
            "%",
            P2025,
            TASSIN,
        ),
        TariffRow(
            "acfi_extra_day",
            "affiliee",
            "ACFI – jour supplémentaire (affiliée)",
            "460",
            "€ par jour",
            P2025,
            TASSIN,
        ),
        TariffRow(
            "acfi_day",
            "non_affiliee",
            "ACFI – journée (non affiliée)",
            "530",
            "€ par jour",
            P2025,
            TASSIN,
        ),
        TariffRow(
            "acfi_extra_cap",
            "",
            "ACFI – plafond des jours supplémentaires",
            "20",
            "% des jours prévus",
            P2025,
            TASSIN,
        ),
    ]
    for act in STATUTORY_ACTS:
        for period, price, source in (
            (P2025, act.price_2025, TASSIN),
            (P2022, act.price_2022, OULLINS),
        ):
            rows.append(
                TariffRow(
                    "msc_act",
                    str(act.number),
                    f"Acte n° {act.number} – {act.label}",
                    price,
                    "€ par acte",
                    period,
                    source,
                )
            )
    return rows


TARIFFS = _tariffs()


def load_pcs_codes() -> list[tuple[str, str]]:
    path = DATA_DIR / "pcs.csv"
    with path.open(encoding="utf-8", newline="") as handle:
        return [(row["code"], row["libelle"]) for row in csv.DictReader(handle, delimiter=";")]


def seed_reference_data(session: Session) -> dict[str, int]:
    """Insert the missing reference rows; returns how many rows were added per list."""
    added: dict[str, int] = {}

    risks = {r.code: r for r in session.scalars(select(Risk))}
    count = 0
    for order, (code, label) in enumerate(RISK_LABELS.items(), start=1):
        if code not in risks:
            precision = RISK_PRECISION.get(code)
            risks[code] = Risk(
                code=code,
                label=label,
                short_label=RISK_SHORT_LABELS[code],
                precision=RiskPrecision[precision] if precision else RiskPrecision.aucune,
                sort_order=order,
            )
            session.add(risks[code])
            count += 1
    session.flush()
    added["risques"] = count

    existing_effects = set(
        session.execute(select(RiskEffectRule.risk_id, RiskEffectRule.valid_from)).all()
    )
    count = 0
    for effect in DEFAULT_RISK_EFFECTS:
        risk = risks[effect.risk_code]
        if (risk.id, effect.valid_from) in existing_effects:
            continue
        session.add(
            RiskEffectRule(
                risk_id=risk.id,
                effect=FollowUpLevel[effect.effect.value],
                requires_certificate=effect.requires_certificate,
                valid_from=effect.valid_from,
                valid_to=effect.valid_to,
                legal_reference=effect.legal_reference,
            )
        )
        count += 1
    added["effets des risques"] = count

    have = set(session.scalars(select(VisitType.code)))
    new = [(c, lbl) for c, lbl in VISIT_TYPES if c not in have]
    session.add_all(
        VisitType(code=c, label=lbl, sort_order=VISIT_TYPES.index((c, lbl)) + 1) for c, lbl in new
    )
    added["types de visite"] = len(new)

    have_natures = set(session.execute(select(DocumentNature.usage, DocumentNature.code)).all())
    count = 0
    for usage, natures in DOCUMENT_NATURES.items():
        for order, (code, label) in enumerate(natures, start=1):
            if (usage, code) not in have_natures:
                session.add(DocumentNature(usage=usage, code=code, label=label, sort_order=order))
                count += 1
    added["natures de document"] = count

    have = set(session.scalars(select(ContractType.code)))
    count = 0
    for order, (code, label, permanent) in enumerate(CONTRACT_TYPES, start=1):
        if code not in have:
            session.add(
                ContractType(code=code, label=label, is_permanent=permanent, sort_order=order)
            )
            count += 1
    added["types de contrat"] = count

    have = set(session.scalars(select(Mission.code)))
    count = 0
    for order, (code, label, min_agents, affiliated_only) in enumerate(MISSIONS, start=1):
        if code not in have:
            session.add(
                Mission(
                    code=code,
                    label=label,
                    min_agents=min_agents,
                    affiliated_only=affiliated_only,
                    sort_order=order,
                )
            )
            count += 1
    added["missions"] = count

    have_numbers = set(session.scalars(select(StatutoryAct.number)))
    count = 0
    for act in STATUTORY_ACTS:
        if act.number not in have_numbers:
            session.add(
                StatutoryAct(
                    number=act.number,
                    label=act.label,
                    kind=act.kind,
                    mandatory=act.mandatory,
                    coefficient=Decimal(act.coefficient),
                    extra_coefficient=Decimal(act.extra),
                    deadline_working_days=act.deadline,
                )
            )
            count += 1
    added["actes statutaires"] = count

    have = set(session.scalars(select(PcsCode.code)))
    pcs = [(code, label) for code, label in load_pcs_codes() if code not in have]
    session.add_all(PcsCode(code=code, label=label) for code, label in pcs)
    added["codes PCS"] = len(pcs)

    have_tariffs = set(session.execute(select(Tariff.code, Tariff.key, Tariff.valid_from)).all())
    count = 0
    for row in TARIFFS:
        if (row.code, row.key, row.period[0]) in have_tariffs:
            continue
        session.add(
            Tariff(
                code=row.code,
                key=row.key,
                label=row.label,
                value=Decimal(row.value),
                unit=row.unit,
                valid_from=row.period[0],
                valid_to=row.period[1],
                source=row.source,
            )
        )
        count += 1
    added["tarifs"] = count
    added["règles de périodicité"] = _seed_periodicity_rules(session)
    session.flush()
    return added


def _seed_periodicity_rules(session: Session) -> int:
    """The dated periodicity rules of DOMAIN.md §5 (app.rules.periodicity), by natural key."""
    from app.referential.models import Regime
    from app.rules.periodicity import DEFAULT_PERIODICITY_RULES
    from app.visits.due_models import PeriodicityRuleRecord, Population

    rows = select(
        PeriodicityRuleRecord.regime,
        PeriodicityRuleRecord.population,
        PeriodicityRuleRecord.valid_from,
    )
    have = {(r.name, p.name, f) for r, p, f in session.execute(rows)}
    count = 0
    for rule in DEFAULT_PERIODICITY_RULES:
        if (rule.regime, rule.population, rule.valid_from) in have:
            continue
        session.add(
            PeriodicityRuleRecord(
                regime=Regime[rule.regime],
                population=Population[rule.population],
                months=rule.months,
                intermediate_months=rule.intermediate_months,
                valid_from=rule.valid_from,
                valid_to=rule.valid_to,
                legal_reference=rule.legal_reference,
            )
        )
        count += 1
    return count
