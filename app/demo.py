"""Realistic French demo data (``flask demo-data``): deterministic for a given seed."""

from __future__ import annotations

import datetime as dt
import random
import secrets
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from app import roles
from app.accounts.models import PortalMembership
from app.core import clock
from app.core.types import utcnow
from app.referential.models import (
    Civility,
    Collectivity,
    CollectivityKind,
    Contact,
    ContactFunction,
    Convention,
    HealthTeamMember,
    HealthTeamRole,
    Mission,
    Office,
    OfficeKind,
    Professional,
    ProfessionalRole,
    Regime,
    SecretariatMode,
    TariffCategory,
)
from app.rules.identifiers import nir_key
from app.rules.periodicity import add_months
from app.tenancy import system_scope
from app.workforce.models import Agent, AgentAssignment, AgentStatus

DEMO_MARKER = "DEMO-"

FIRST_NAMES_F = [
    "Marie",
    "Nathalie",
    "Isabelle",
    "Sylvie",
    "Catherine",
    "Sophie",
    "Valérie",
    "Christine",
    "Sandrine",
    "Céline",
    "Aurélie",
    "Julie",
    "Émilie",
    "Camille",
    "Laura",
    "Manon",
    "Chloé",
    "Inès",
    "Léa",
    "Élodie",
    "Karine",
    "Patricia",
    "Martine",
    "Nadia",
    "Fatima",
    "Amandine",
]
FIRST_NAMES_M = [
    "Jean",
    "Philippe",
    "Michel",
    "Alain",
    "Patrick",
    "Nicolas",
    "Christophe",
    "Pierre",
    "Stéphane",
    "Laurent",
    "Frédéric",
    "Julien",
    "David",
    "Sébastien",
    "Thomas",
    "Antoine",
    "Maxime",
    "Kévin",
    "Mehdi",
    "Karim",
    "Olivier",
    "Thierry",
    "Bruno",
    "Franck",
    "Yannick",
]
LAST_NAMES = [
    "Martin",
    "Bernard",
    "Dubois",
    "Thomas",
    "Robert",
    "Richard",
    "Petit",
    "Durand",
    "Leroy",
    "Moreau",
    "Simon",
    "Laurent",
    "Lefebvre",
    "Michel",
    "Garcia",
    "David",
    "Bertrand",
    "Roux",
    "Vincent",
    "Fournier",
    "Morel",
    "Girard",
    "André",
    "Lefèvre",
    "Mercier",
    "Dupont",
    "Lambert",
    "Bonnet",
    "François",
    "Martinez",
    "Legrand",
    "Garnier",
    "Faure",
    "Rousseau",
    "Blanc",
    "Guérin",
    "Muller",
    "Henry",
    "Roussel",
    "Nicolas",
    "Perrin",
    "Morin",
    "Mathieu",
    "Clément",
    "Gauthier",
    "Dumont",
    "Lopez",
    "Fontaine",
    "Chevalier",
    "Robin",
    "Masson",
    "Sanchez",
    "Gérard",
    "Nguyen",
    "Boyer",
    "Denis",
    "Lemaire",
    "Duval",
    "Joly",
    "Gautier",
    "Roger",
    "Benali",
    "Haddad",
    "Rey",
    "Brun",
    "Colin",
    "Arnaud",
    "Picard",
    "Carpentier",
    "Giraud",
]
# (town, postcode) in the Rhône, for communes and CCAS.
TOWNS = [
    ("Tassin-la-Demi-Lune", "69160"),
    ("Oullins-Pierre-Bénite", "69600"),
    ("Villeurbanne", "69100"),
    ("Vénissieux", "69200"),
    ("Bron", "69500"),
    ("Caluire-et-Cuire", "69300"),
    ("Rillieux-la-Pape", "69140"),
    ("Meyzieu", "69330"),
    ("Décines-Charpieu", "69150"),
    ("Saint-Priest", "69800"),
    ("Givors", "69700"),
    ("Villefranche-sur-Saône", "69400"),
    ("Tarare", "69170"),
    ("Brignais", "69530"),
    ("Mornant", "69440"),
    ("Anse", "69480"),
    ("Limonest", "69760"),
    ("Écully", "69130"),
    ("Craponne", "69290"),
    ("Francheville", "69340"),
    ("Sainte-Foy-lès-Lyon", "69110"),
    ("Saint-Genis-Laval", "69230"),
    ("Mions", "69780"),
    ("Genas", "69740"),
    ("Chaponost", "69630"),
    ("L'Arbresle", "69210"),
    ("Belleville-en-Beaujolais", "69220"),
    ("Beaujeu", "69430"),
    ("Thizy-les-Bourgs", "69240"),
    ("Saint-Symphorien-sur-Coise", "69590"),
]
STREETS = [
    "place de la Mairie",
    "rue de la République",
    "avenue Jean Jaurès",
    "rue Victor Hugo",
    "place du Marché",
    "rue Pasteur",
    "boulevard de la Libération",
    "rue Gambetta",
    "avenue du Général de Gaulle",
    "rue des Écoles",
    "chemin du Stade",
    "rue de la Poste",
]


def luhn_complete(digits: str) -> str:
    """Append the Luhn check digit that makes ``digits`` + key valid."""
    for key in "0123456789":
        number = digits + key
        total = 0
        for index, char in enumerate(reversed(number)):
            value = int(char)
            if index % 2 == 1:
                value *= 2
                if value > 9:
                    value -= 9
            total += value
        if total % 10 == 0:
            return number
    raise AssertionError("unreachable")


def fake_siret(rng: random.Random) -> str:
    siren = luhn_complete("2" + "".join(rng.choice("0123456789") for _ in range(7)))
    return luhn_complete(siren + "".join(rng.choice("0123456789") for _ in range(4)))


@dataclass
class DemoAccount:
    username: str
    role: str
    description: str


@dataclass
class DemoContext:
    session: Session
    rng: random.Random
    scale: int
    today: dt.date
    password: str
    accounts: list[DemoAccount] = field(default_factory=list)
    collectivities: list[Collectivity] = field(default_factory=list)
    offices: list[Office] = field(default_factory=list)
    professionals: list[Professional] = field(default_factory=list)
    agents: list[Agent] = field(default_factory=list)
    summary: dict[str, int] = field(default_factory=dict)

    def person(self) -> tuple[Civility, str, str]:
        if self.rng.random() < 0.62:
            return Civility.madame, self.rng.choice(FIRST_NAMES_F), self.rng.choice(LAST_NAMES)
        return Civility.monsieur, self.rng.choice(FIRST_NAMES_M), self.rng.choice(LAST_NAMES)


class DemoAlreadyLoaded(Exception):
    pass


# Later domains append (name, function) pairs here; each function fills its part of the demo.
SECTIONS: list[tuple[str, Any]] = []


def load_demo(session: Session, *, scale: int = 300, seed: int = 1) -> dict[str, int]:
    with system_scope():
        if session.scalar(
            select(Collectivity.id).where(Collectivity.membership_number.like(f"{DEMO_MARKER}%"))
        ):
            raise DemoAlreadyLoaded("Les données de démonstration sont déjà chargées.")
        context = DemoContext(
            session=session,
            rng=random.Random(seed),
            scale=max(scale, 10),
            today=clock.today(),
            password=_demo_password(),
        )
        _referential(context)
        _staff_accounts(context)
        _agents(context)
        _employer_accounts(context)
        _planning(context)
        for _name, section in SECTIONS:
            section(context)
        session.flush()
    _write_accounts_file(context)
    return context.summary


def _demo_password() -> str:
    # One random password per demo load, printed and kept in instance/ (never a shared literal).
    return "Demo-" + secrets.token_urlsafe(6) + "7a!"


def _collectivity_plan(scale: int) -> list[tuple[CollectivityKind, TariffCategory]]:
    """Every kind and billing category is present; more communes as the scale grows."""
    plan = [
        (CollectivityKind.commune, TariffCategory.affiliee),
        (CollectivityKind.commune, TariffCategory.affiliee),
        (CollectivityKind.commune, TariffCategory.non_affiliee_moins_800),
        (CollectivityKind.ccas, TariffCategory.affiliee),
        (CollectivityKind.epci, TariffCategory.non_affiliee_800_plus),
        (CollectivityKind.epci, TariffCategory.affiliee),
        (CollectivityKind.syndicat, TariffCategory.affiliee),
        (CollectivityKind.departement, TariffCategory.non_affiliee_800_plus),
        (CollectivityKind.region, TariffCategory.region),
        (CollectivityKind.sdis, TariffCategory.non_affiliee_800_plus),
        (CollectivityKind.etablissement_public, TariffCategory.non_affiliee_moins_800),
    ]
    extra = max(0, min(scale // 40, 150) - len(plan))
    plan += [(CollectivityKind.commune, TariffCategory.affiliee)] * extra
    return plan


def _collectivity_name(kind: CollectivityKind, town: str, index: int) -> str:
    names = {
        CollectivityKind.commune: f"Commune de {town}",
        CollectivityKind.ccas: f"CCAS de {town}",
        CollectivityKind.epci: (
            "Communauté de communes des Monts du Lyonnais"
            if index % 2
            else "Communauté d'agglomération Villefranche Beaujolais Saône"
        ),
        CollectivityKind.syndicat: "Syndicat intercommunal des eaux de l'Ouest lyonnais",
        CollectivityKind.departement: "Département du Rhône",
        CollectivityKind.region: "Région Auvergne-Rhône-Alpes",
        CollectivityKind.sdis: "Service départemental-métropolitain d'incendie et de secours",
        CollectivityKind.etablissement_public: "Office public de l'habitat du Rhône",
    }
    return names.get(kind, f"Établissement de {town}")


def _referential(context: DemoContext) -> None:
    rng, session = context.rng, context.session
    professionals = []
    for role, count in (
        (ProfessionalRole.medecin, 4),
        (ProfessionalRole.infirmier, 4),
        (ProfessionalRole.secretaire, 3),
        (ProfessionalRole.iprp, 2),
        (ProfessionalRole.asst, 1),
        (ProfessionalRole.psychologue, 1),
        (ProfessionalRole.assistant_social, 1),
    ):
        for _ in range(count):
            _, first, last = context.person()
            professionals.append(
                Professional(
                    role=role,
                    first_name=first,
                    last_name=last.upper(),
                    email=f"{first.lower()}.{last.lower()}@cdg-demo.fr".replace(" ", "")
                    .replace("é", "e")
                    .replace("è", "e")
                    .replace("ç", "c")
                    .replace("ï", "i"),
                    phone=f"04 72 38 {rng.randint(10, 99)} {rng.randint(10, 99)}",
                )
            )
    session.add_all(professionals)
    context.professionals = professionals

    towns = list(TOWNS)
    rng.shuffle(towns)
    membership_start = dt.date(2025, 1, 1)
    mission_by_code = {m.code: m for m in session.scalars(select(Mission))}
    plan = _collectivity_plan(context.scale)
    for index, (kind, category) in enumerate(plan, start=1):
        town, postcode = towns[index % len(towns)]
        name = _collectivity_name(kind, town, index)
        if kind in (
            CollectivityKind.departement,
            CollectivityKind.region,
            CollectivityKind.sdis,
            CollectivityKind.etablissement_public,
        ):
            town, postcode = "Lyon", "69003"
        if any(c.name == name for c in context.collectivities):
            name = f"{name} ({index})"
        collectivity = Collectivity(
            name=name,
            kind=kind,
            siret=fake_siret(rng),
            naf_code="84.11Z" if kind is not CollectivityKind.ccas else "88.99B",
            membership_number=f"{DEMO_MARKER}{index:04d}",
            category=category,
            regime=Regime.public,
            has_own_cst=category is not TariffCategory.affiliee or kind is CollectivityKind.epci,
            secretariat_mode=(
                SecretariatMode.interne
                if category in (TariffCategory.non_affiliee_800_plus, TariffCategory.region)
                else SecretariatMode.cdg
            ),
            membership_start=membership_start,
            phone=f"04 78 {rng.randint(10, 99)} {rng.randint(10, 99)} {rng.randint(10, 99)}",
            main_line1=f"{rng.randint(1, 40)} {rng.choice(STREETS)}",
            main_postcode=postcode,
            main_city=town,
        )
        collectivity.siren = collectivity.siret[:9]
        if index == len(plan):
            # Its membership ended: the retention job erases its agents 3 months later, in 10
            # days (`flask jobs run retention --dry-run --date ...` shows what it will erase).
            collectivity.membership_end = _membership_end_erased_on(
                context.today + dt.timedelta(days=10)
            )
        if index % 3 == 0:
            collectivity.billing_name = f"{name} – service financier"
            collectivity.billing_line1 = "BP 12"
            collectivity.billing_postcode = postcode
            collectivity.billing_city = town
        session.add(collectivity)
        context.collectivities.append(collectivity)
        for function in (
            ContactFunction.rh,
            ContactFunction.convocation,
            ContactFunction.facturation,
        ):
            civility, first, last = context.person()
            slug = _slug(name)
            collectivity.contacts.append(
                Contact(
                    function=function,
                    civility=civility,
                    first_name=first,
                    last_name=last.upper(),
                    email=f"{function.name}@{slug}.fr",
                    phone=f"04 78 {rng.randint(10, 99)} {rng.randint(10, 99)} {rng.randint(10, 99)}",
                )
            )
        doctors = [p for p in professionals if p.role is ProfessionalRole.medecin]
        nurses = [p for p in professionals if p.role is ProfessionalRole.infirmier]
        secretaries = [p for p in professionals if p.role is ProfessionalRole.secretaire]
        iprps = [p for p in professionals if p.role is ProfessionalRole.iprp]
        for role, pool in (
            (HealthTeamRole.medecin_referent, doctors),
            (HealthTeamRole.infirmier, nurses),
            (HealthTeamRole.secretaire_medicale, secretaries),
            (HealthTeamRole.iprp, iprps),
        ):
            collectivity.health_team.append(
                HealthTeamMember(role=role, professional=pool[index % len(pool)])
            )
        collectivity.conventions.append(
            Convention(
                number=f"{index:03d} - CU - MEDPREV - 2025",
                mission=mission_by_code["medprev"],
                start_date=membership_start,
                end_date=dt.date(2027, 12, 31),
            )
        )
        if kind is not CollectivityKind.ccas:
            collectivity.conventions.append(
                Convention(
                    number=f"{index:03d} - CU - MSC - 2025",
                    mission=mission_by_code["msc"],
                    start_date=membership_start,
                    end_date=dt.date(2027, 12, 31),
                    quota_percent=Decimal("8"),
                )
            )
    session.flush()

    communes = [
        c
        for c in context.collectivities
        if c.kind in (CollectivityKind.commune, CollectivityKind.ccas)
    ]
    offices = [
        Office(
            name="Cabinet médical du CDG – Sainte-Foy-lès-Lyon",
            kind=OfficeKind.cdg,
            line1="9 allée Alfred de Musset",
            postcode="69110",
            city="Sainte-Foy-lès-Lyon",
            teleconsultation=True,
        ),
        Office(
            name="Cabinet de regroupement de Villefranche-sur-Saône",
            kind=OfficeKind.regroupement,
            line1="12 rue de la Sous-Préfecture",
            postcode="69400",
            city="Villefranche-sur-Saône",
        ),
        Office(
            name="Cabinet de regroupement de Givors",
            kind=OfficeKind.regroupement,
            line1="3 place Camille Vallin",
            postcode="69700",
            city="Givors",
        ),
        Office(
            name=f"Cabinet mis à disposition – {context.collectivities[0].name}",
            kind=OfficeKind.collectivite,
            line1=context.collectivities[0].main_line1,
            postcode=context.collectivities[0].main_postcode,
            city=context.collectivities[0].main_city,
            host_collectivity=context.collectivities[0],
        ),
    ]
    offices[0].served_collectivities = list(context.collectivities)
    offices[1].served_collectivities = communes[::2]
    offices[2].served_collectivities = communes[1::2]
    offices[3].served_collectivities = [context.collectivities[0]]
    session.add_all(offices)
    context.offices = offices
    context.summary.update(
        {
            "collectivités": len(context.collectivities),
            "cabinets médicaux": len(offices),
            "professionnels de santé": len(professionals),
        }
    )


def _slug(name: str) -> str:
    table = str.maketrans("éèêëàâîïôöûüç'’ ", "eeeeaaiioouuc---")
    # Cut at 40 characters without leaving a hyphen at the end (not allowed in a domain name).
    return "-".join(filter(None, name.lower().translate(table).split("-")))[:40].rstrip("-")


def _add_user(
    context: DemoContext, username: str, role: str, first: str, last: str, description: str
) -> Any:
    sm = current_app.appbuilder.sm
    user = sm.add_user(
        username=username,
        first_name=first,
        last_name=last,
        email=f"{username}@demo.medecineprev.fr",
        role=sm.find_role(role),
        password=context.password,
        commit=False,
    )
    context.accounts.append(DemoAccount(username, role, description))
    return user


def _staff_accounts(context: DemoContext) -> None:
    _add_user(context, "admin", roles.ADMIN, "Alice", "ADMIN", "administratrice")
    secretary = next(p for p in context.professionals if p.role is ProfessionalRole.secretaire)
    user = _add_user(
        context,
        "secretariat",
        roles.SECRETARIAT,
        secretary.first_name,
        secretary.last_name,
        "secrétaire médicale",
    )
    secretary.user = user
    doctor = next(p for p in context.professionals if p.role is ProfessionalRole.medecin)
    doctor.user = _add_user(
        context,
        "medecin",
        roles.SANTE,
        doctor.first_name,
        doctor.last_name,
        "médecin de prévention",
    )
    _add_user(context, "comptabilite", roles.COMPTABILITE, "Bernard", "COMPTA", "comptable")
    _add_user(context, "direction", roles.DIRECTION, "Diane", "DIRECTION", "directrice")
    context.session.flush()
    context.summary["comptes du CDG"] = 5


# The secret question of the demo employer accounts (« Mot de passe oublié »).
DEMO_ANSWER = "Médor"


def _employer_accounts(context: DemoContext) -> None:
    from app.accounts.models import SecurityQuestion
    from app.accounts.services import set_security_question

    session = context.session
    count = 0
    for index, collectivity in enumerate(context.collectivities[:3], start=1):
        hr = next(c for c in collectivity.contacts if c.function is ContactFunction.rh)
        primary = _add_user(
            context,
            f"rh{index}",
            roles.EMPLOYER_PRIMARY,
            hr.first_name or "",
            hr.last_name,
            f"compte principal – {collectivity.name}",
        )
        session.flush()
        session.add(PortalMembership(user_id=primary.id, collectivity_id=collectivity.id))
        set_security_question(primary.id, SecurityQuestion.animal, DEMO_ANSWER)
        count += 1
        if index == 1:
            _, first, last = context.person()
            secondary = _add_user(
                context,
                "rh1-service-technique",
                roles.EMPLOYER_SECONDARY,
                first,
                last.upper(),
                f"compte secondaire – {collectivity.name}",
            )
            session.flush()
            session.add(
                PortalMembership(
                    user_id=secondary.id,
                    collectivity_id=collectivity.id,
                    primary_user_id=primary.id,
                )
            )
            set_security_question(secondary.id, SecurityQuestion.animal, DEMO_ANSWER)
            # The technical department's account manages the agents of the technical services.
            technical = ("Services techniques", "Espaces verts", "Voirie")
            for agent in context.agents:
                if agent.collectivity_id == collectivity.id and agent.service in technical:
                    session.add(
                        AgentAssignment(
                            agent_id=agent.id, user_id=secondary.id, collectivity_id=collectivity.id
                        )
                    )
            count += 1
            # A user in charge of two collectivities (SSTRN « gestion de multiples comptes »).
            session.add(
                PortalMembership(user_id=primary.id, collectivity_id=context.collectivities[3].id)
            )
    session.flush()
    context.summary["comptes employeurs"] = count


def fake_ins(rng: random.Random, civility: Civility, birth_date: dt.date) -> str:
    sex = "2" if civility is Civility.madame else "1"
    nir13 = f"{sex}{birth_date:%y%m}69{rng.randint(1, 388):03d}{rng.randint(1, 999):03d}"
    return f"N{nir13}{nir_key(nir13)}"


def _agents(context: DemoContext) -> None:
    """``scale`` agents spread over the collectivities (bigger ones get more)."""
    rng, session = context.rng, context.session
    # Big employers get more agents; the three communes with demo accounts get a fair share.
    big = (CollectivityKind.departement, CollectivityKind.region, CollectivityKind.sdis)
    weights = [
        8 if c.kind in big else 6 if index < 3 else 3 if c.kind is CollectivityKind.epci else 1
        for index, c in enumerate(context.collectivities)
    ]
    services = [
        "Services techniques",
        "Espaces verts",
        "Administration générale",
        "Petite enfance",
        "Restauration scolaire",
        "Police municipale",
        "Voirie",
        "Entretien des bâtiments",
    ]
    agents = []
    for _ in range(context.scale):
        collectivity = rng.choices(context.collectivities, weights=weights)[0]
        civility, first, last = context.person()
        birth_date = dt.date(rng.randint(1961, 2004), rng.randint(1, 12), rng.randint(1, 28))
        agent = Agent(
            collectivity_id=collectivity.id,
            civility=civility,
            first_name=first,
            birth_name=last.upper(),
            usage_name=rng.choice(LAST_NAMES).upper()
            if civility is Civility.madame and rng.random() < 0.3
            else None,
            birth_date=birth_date,
            ins=fake_ins(rng, civility, birth_date) if rng.random() < 0.9 else None,
            status=rng.choice(list(AgentStatus)),
            service=rng.choice(services),
            validated_at=utcnow() if rng.random() < 0.9 else None,
        )
        agents.append(agent)
    session.add_all(agents)
    session.flush()
    context.agents = agents
    context.summary["agents"] = len(agents)
    _careers(context)


# (label, PCS, risks, precision) — the usual positions of a local authority.
DEMO_POSITIONS = [
    ("Agent d'entretien des locaux", "684a", [], {}),
    ("Jardinier", "631a", ["charges_55kg"], {}),
    ("Agent de voirie", "684a", ["caces", "nuit"], {"caces": "R482"}),
    ("Électricien de maintenance", "633a", ["electrique"], {}),
    ("Cuisinier en restauration scolaire", "636d", [], {}),
    ("Agent territorial spécialisé des écoles maternelles", "526e", ["bio_2"], {}),
    ("Auxiliaire de puériculture", "526c", ["bio_2"], {}),
    ("Policier municipal", "533c", ["nuit"], {}),
    ("Secrétaire de mairie", "542a", [], {}),
    ("Gestionnaire ressources humaines", "451g", [], {}),
    ("Technicien radioprotection", "479a", ["rayonnements"], {"rayonnements": "B"}),
    ("Agent de désamiantage", "684a", ["amiante", "cmr"], {}),
]


def _careers(context: DemoContext) -> None:
    """Positions for each collectivity, a contract for most agents, a few leavers, staged
    changes waiting for the sync and the declared headcounts."""
    from app.referential.models import ContractType, Risk
    from app.workforce.models import (
        ChangeStatus,
        Contract,
        Headcount,
        PositionRisk,
        RadiationCategory,
        StagedAgentChange,
        WorkPosition,
    )

    rng, session = context.rng, context.session
    risks = {risk.code: risk for risk in session.scalars(select(Risk))}
    contract_types = {t.code: t for t in session.scalars(select(ContractType))}
    positions_by_collectivity: dict[int, list[WorkPosition]] = {}
    for collectivity in context.collectivities:
        chosen = (
            DEMO_POSITIONS if collectivity.kind is not CollectivityKind.ccas else DEMO_POSITIONS[:6]
        )
        positions = []
        for label, pcs, codes, precision in chosen:
            position = WorkPosition(collectivity_id=collectivity.id, pcs_code=pcs)
            position.set_label(label)
            position.risk_links = [
                PositionRisk(
                    risk=risks[code],
                    collectivity_id=collectivity.id,
                    caces_categories=precision.get("caces") if code == "caces" else None,
                    radiation_category=RadiationCategory[precision["rayonnements"]]
                    if code == "rayonnements"
                    else None,
                )
                for code in codes
            ]
            positions.append(position)
        session.add_all(positions)
        positions_by_collectivity[collectivity.id] = positions
    session.flush()
    contracts = 0
    for agent in context.agents:
        draw = rng.random()
        if draw < 0.05:
            continue  # no position yet: shown in yellow
        positions = positions_by_collectivity[agent.collectivity_id]
        start = dt.date(
            rng.randint(max(agent.birth_date.year + 18, 1990), 2025), rng.randint(1, 12), 1
        )
        kind = (
            "titulaire"
            if agent.status is AgentStatus.titulaire
            else rng.choice(["contractuel", "cdd", "stagiaire", "apprenti"])
        )
        end = None
        if draw > 0.93:
            end = context.today - dt.timedelta(days=rng.randint(1, 400))
            start = min(start, end - dt.timedelta(days=200))
        session.add(
            Contract(
                agent_id=agent.id,
                collectivity_id=agent.collectivity_id,
                work_position_id=rng.choice(positions).id,
                contract_type_id=contract_types[kind].id,
                start_date=start,
                end_date=end,
            )
        )
        contracts += 1
        if draw > 0.98 and agent.validated_at is not None:
            session.add(
                StagedAgentChange(
                    agent_id=agent.id,
                    collectivity_id=agent.collectivity_id,
                    field="usage_name",
                    old_value=agent.usage_name,
                    new_value=rng.choice(LAST_NAMES).upper(),
                    status=ChangeStatus.en_attente,
                )
            )
    for collectivity in context.collectivities:
        count = sum(1 for a in context.agents if a.collectivity_id == collectivity.id)
        for year in (context.today.year - 2, context.today.year - 1, context.today.year):
            # Annual declarations (SPEC F1): rh2's collectivity has not declared this year yet
            # (its home page shows the banner, the March reminder goes to it).
            headcount = max(1, count + rng.randint(-3, 3))
            declared_on = min(dt.date(year, 3, rng.randint(1, 28)), context.today)
            if year == context.today.year and collectivity is context.collectivities[1]:
                continue
            session.add(
                Headcount(
                    collectivity_id=collectivity.id,
                    year=year,
                    headcount=headcount,
                    permanent_headcount=max(1, int(count * 0.8)),
                    declared_on=declared_on,
                    payroll=Decimal(count * 34_000),
                    validated_at=dt.datetime.combine(declared_on, dt.time(10), tzinfo=dt.UTC),
                )
            )
    session.flush()
    context.summary["postes de travail"] = sum(len(p) for p in positions_by_collectivity.values())
    context.summary["contrats"] = contracts


def _planning(context: DemoContext) -> None:
    """Plages over the coming six weeks (reserved, common, some convocations) and past weeks
    with consultations honoured or missed."""
    from app.planning.models import Appointment, AppointmentStatus, Plage, PlageNature, PlageState
    from app.referential.models import VisitType
    from app.rules.planning import slot_start
    from app.rules.working_days import is_working_day

    rng, session = context.rng, context.session
    visit_types = {v.code: v for v in session.scalars(select(VisitType))}
    doctors = [p for p in context.professionals if p.role is ProfessionalRole.medecin]
    nurses = [p for p in context.professionals if p.role is ProfessionalRole.infirmier]
    active_agents: dict[int, list[Agent]] = {}
    for agent in context.agents:
        if agent.contracts and agent.contracts[0].end_date is None:
            active_agents.setdefault(agent.collectivity_id, []).append(agent)
    monday = context.today - dt.timedelta(days=context.today.weekday())
    plages = appointments = 0
    used_past: set[int] = set()
    used_future: set[int] = set()
    # Past weeks from the latest back (an agent has one past appointment at most: the recent
    # weeks get theirs first, so the latest visits and sheets are recent), then the weeks ahead.
    for week in [*range(-1, -9, -1), *range(0, 7)]:
        for weekday in range(5):
            day = monday + dt.timedelta(weeks=week, days=weekday)
            if not is_working_day(day):
                continue
            # The « medecin » demo account is doctors[0]: it holds today's doctor plage, so
            # that its home page (« Ma journée ») and « Consultations du jour » show a day.
            for professional, nature, office in (
                (
                    doctors[0] if day == context.today else doctors[weekday % len(doctors)],
                    PlageNature.medecin,
                    context.offices[weekday % 3],
                ),
                (
                    nurses[weekday % len(nurses)],
                    PlageNature.infirmier,
                    context.offices[(weekday + 1) % 3],
                ),
            ):
                served = office.served_collectivities
                reserved = rng.choice(served) if served and rng.random() < 0.6 else None
                past = day < context.today
                state = PlageState.reservee if reserved else PlageState.commune
                if past or (week <= 1 and rng.random() < 0.5):
                    state = PlageState.convocation
                start = dt.datetime.combine(
                    day, dt.time(8, 30) if rng.random() < 0.5 else dt.time(13, 30)
                )
                plage = Plage(
                    office_id=office.id,
                    professional_id=professional.id,
                    starts_at=start,
                    ends_at=start + dt.timedelta(hours=3),
                    appointment_minutes=20 if nature is PlageNature.medecin else 30,
                    nature=nature,
                    state=state,
                    reserved_for_id=reserved.id if reserved else None,
                )
                session.add(plage)
                session.flush()
                plages += 1
                pool = (
                    active_agents.get(reserved.id, [])
                    if reserved
                    else [a for c in served for a in active_agents.get(c.id, [])]
                )
                # An agent has at most one appointment in the past weeks and one to come.
                used = used_past if past else used_future
                candidates = [a for a in pool if a.id not in used]
                chosen = (
                    rng.sample(candidates, min(len(candidates), rng.randint(2, plage.capacity - 1)))
                    if candidates
                    else []
                )
                for index, agent in enumerate(chosen):
                    used.add(agent.id)
                    if past:
                        status = rng.choices(
                            [
                                AppointmentStatus.honoree,
                                AppointmentStatus.absence_justifiee,
                                AppointmentStatus.absence_injustifiee,
                            ],
                            weights=[88, 6, 6],
                        )[0]
                    else:
                        status = (
                            AppointmentStatus.convoquee
                            if state is PlageState.convocation
                            else AppointmentStatus.reservee
                        )
                    session.add(
                        Appointment(
                            plage_id=plage.id,
                            slot_index=index,
                            agent_id=agent.id,
                            collectivity_id=agent.collectivity_id,
                            starts_at=slot_start(plage.starts_at, plage.appointment_minutes, index),
                            visit_type_id=visit_types[
                                rng.choice(["periodique", "periodique", "embauche", "reprise"])
                            ].id,
                            status=status,
                        )
                    )
                    appointments += 1
    session.flush()
    context.summary["plages"] = plages
    context.summary["rendez-vous"] = appointments


def _consultations(context: DemoContext) -> None:
    """Visits recorded for some honoured past appointments: outcomes, sheets released after 8
    working days or earlier, a few confidential visits, medical notes (SPEC E4, E5, E7)."""
    from app.planning.models import Appointment, AppointmentStatus, Plage
    from app.rules.consultations import sheet_available_on
    from app.visits.consultation_models import Consultation, MedicalNote, Outcome

    rng, session = context.rng, context.session
    honoured = session.execute(
        select(Appointment, Plage)
        .join(Plage, Plage.id == Appointment.plage_id)
        .where(Appointment.status == AppointmentStatus.honoree)
        # The latest visits: their sheets become available over the last weeks and the coming
        # days, so the employer's home page has sheets « disponibles depuis 30 jours ».
        .order_by(Appointment.starts_at.desc(), Appointment.id)
        .limit(max(context.scale // 5, 20))
    ).all()
    outcomes = list(Outcome)
    for index, (appointment, plage) in enumerate(honoured):
        visit_date = appointment.starts_at.date()
        outcome = rng.choices(outcomes, weights=[40, 35, 12, 5, 3, 5])[0]
        released = visit_date + dt.timedelta(days=1) if index % 3 == 0 else None
        consultation = Consultation(
            agent_id=appointment.agent_id,
            collectivity_id=appointment.collectivity_id,
            appointment_id=appointment.id,
            visit_date=visit_date,
            visit_type_id=appointment.visit_type_id,
            professional_id=plage.professional_id,
            office_id=plage.office_id,
            outcome=outcome,
            restrictions="Pas de port de charges lourdes (plus de 15 kg) pendant 3 mois."
            if outcome is Outcome.apte_restrictions
            else None,
            next_visit_on=visit_date + dt.timedelta(days=365 * 2) if index % 4 == 0 else None,
            is_smp=index % 7 == 0,
            is_confidential=index % 10 == 9,
            sheet_released_on=released,
            sheet_available_on=sheet_available_on(
                visit_date, released, plage.office.holiday_subdivision
            ),
        )
        session.add(consultation)
        session.flush()
        session.add(
            MedicalNote(
                consultation_id=consultation.id,
                text="Examen clinique sans particularité. Vaccinations à jour.",
            )
        )
    session.flush()
    context.summary["consultations"] = len(honoured)


SECTIONS.append(("consultations", _consultations))


def _visit_history(context: DemoContext) -> None:
    """The visits of the years before (as imported from a former tool): most agents were seen
    in the last six years, so the due list shows real explanations (« Dernière visite le ... »)
    and some overdue agents, not everyone « jamais vu » since his entry (SPEC E3, E4)."""
    from app.referential.models import ProfessionalRole, VisitType
    from app.visits.consultation_models import Consultation, Outcome

    rng, session, today = context.rng, context.session, context.today
    periodic = session.scalar(select(VisitType).where(VisitType.code == "periodique"))
    doctors = [p for p in context.professionals if p.role is ProfessionalRole.medecin]
    if periodic is None or not doctors:
        return
    written = 0
    for agent in context.agents:
        if rng.random() < 0.15:
            continue  # never seen: due from his entry date
        visit_date = today - dt.timedelta(days=rng.randint(120, 6 * 365))
        starts = [contract.start_date for contract in agent.contracts]
        if not starts or visit_date < min(starts):
            continue  # not in service yet on that day
        outcome = Outcome.apte if rng.random() < 0.5 else Outcome.attestation_suivi
        session.add(
            Consultation(
                agent_id=agent.id,
                collectivity_id=agent.collectivity_id,
                visit_date=visit_date,
                visit_type_id=periodic.id,
                professional_id=rng.choice(doctors).id,
                outcome=outcome,
                sheet_available_on=visit_date,
            )
        )
        written += 1
    session.flush()
    context.summary["visites des années passées"] = written


SECTIONS.append(("historique des visites", _visit_history))


def _visit_requests(context: DemoContext) -> None:
    from app.visits.request_demo import demo_visit_requests

    demo_visit_requests(context)


SECTIONS.append(("demandes de visite", _visit_requests))


def _statutory(context: DemoContext) -> None:
    from app.statutory.demo import demo_statutory

    demo_statutory(context)


SECTIONS.append(("médecine statutaire", _statutory))


def _documents(context: DemoContext) -> None:
    from app.documents.demo import demo_documents

    demo_documents(context)


SECTIONS.append(("documents et prévention", _documents))


def _invoices(context: DemoContext) -> None:
    """A few invoices of the first collectivities (SPEC F7): one paid, one partly paid, one
    with a credit note; visit invoices (no run key: the billing runs issue the contributions)."""
    from decimal import Decimal

    from app.billing.invoices import LineInput, credit_note, issue_invoice, record_payment

    issued = 0
    for index, collectivity in enumerate(context.collectivities[:3]):
        visits = 2 + index
        amount = Decimal(visits) * Decimal("84.00")
        invoice = issue_invoice(
            collectivity_id=collectivity.id,
            label="Facture de visites",
            lines=[
                LineInput(
                    label="Visites médicales réalisées",
                    quantity=Decimal(visits),
                    unit_price=Decimal("84.00"),
                    amount=amount,
                    source=f"{visits} visites réalisées au cours du mois précédent x 84,00 € "
                    "— tarif à l'acte (démonstration)",
                )
            ],
            run_key=None,
            issue_date=context.today - dt.timedelta(days=45 - 10 * index),
        )
        issued += 1
        if index == 0:
            record_payment(invoice.id, amount, context.today - dt.timedelta(days=5), "VIR-DEMO-1")
        elif index == 1:
            record_payment(invoice.id, Decimal("84.00"), context.today, "VIR-DEMO-2")
        else:
            credit_note(
                invoice.id,
                amount=Decimal("84.00"),
                reason="Visite annulée par le service (démonstration)",
                issue_date=context.today,
            )
            issued += 1
    context.summary["factures et avoirs"] = issued


SECTIONS.append(("factures", _invoices))


def _due_dates(context: DemoContext) -> None:
    """The due list of every demo agent (SPEC E3), as the nightly sync would compute it."""
    from app.visits import due

    context.session.flush()
    context.session.info.pop("due_dates_pending", None)  # recomputed here, all at once
    result = due.recompute(on=context.today, session=context.session)
    context.summary["échéances à planifier"] = result.written


SECTIONS.append(("échéances", _due_dates))


def _write_accounts_file(context: DemoContext) -> None:
    path = (
        Path(current_app.config.get("INSTANCE_PATH_OVERRIDE") or current_app.instance_path)
        / "demo-accounts.txt"
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [
        f"Mot de passe de tous les comptes de démonstration : {context.password}",
        "Question de sécurité des comptes employeurs : « Nom de votre premier animal de "
        f"compagnie », réponse « {DEMO_ANSWER} ».",
        "",
    ]
    lines += [f"{a.username:<24} {a.role:<22} {a.description}" for a in context.accounts]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    path.chmod(0o600)


def _membership_end_erased_on(day: dt.date) -> dt.date:
    """The membership end whose personal data the retention job erases first on ``day``."""
    from app.rules.retention import erasure_date

    end = add_months(day, -4)
    while erasure_date(end) < day:
        end += dt.timedelta(days=1)
    return end


def demo_job_runs(today: dt.date) -> dict[str, int]:
    """Run the nightly jobs for yesterday, as the scheduler would have, so that *Administration ›
    Tâches planifiées* shows runs (the sync applies the demo's staged changes and sends the
    digests to the outbox), and last year's annual activity reports. Called by `flask demo-data` after its commit: a run claims its slot
    in a transaction of its own."""
    from app.scheduling.models import RunTrigger
    from app.scheduling.services import claim_and_run

    yesterday = today - dt.timedelta(days=1)
    runs = {}
    for name in ("sync", "reminders"):
        outcome = claim_and_run(name, today=yesterday, trigger=RunTrigger.planificateur)
        runs[f"Tâche {name} du {yesterday:%d/%m/%Y}"] = 1 if outcome.ran else 0
    # Accounting issued this year's contributions from *Pilotage › Facturation* (SPEC F8): the
    # demo shows contribution invoices, and a blocked collectivity (no declaration) in the run.
    outcome = claim_and_run("billing-contributions", today=today, trigger=RunTrigger.ecran)
    runs[f"Facturation des cotisations {today.year}"] = 1 if outcome.ran else 0
    # The annual activity report of last year ran on 15 January (SPEC H2): each collectivity
    # finds it in « Mes documents », Direction picks one from the dashboard, with the global one.
    report_day = dt.date(today.year, 1, 15)
    outcome = claim_and_run("activity-report", today=report_day, trigger=RunTrigger.planificateur)
    runs[f"Rapports annuels d'activité {today.year - 1}"] = 1 if outcome.ran else 0
    return runs


def _mid_career(context: DemoContext) -> None:
    from app.visits.due_demo import demo_mid_career

    demo_mid_career(context)


SECTIONS.append(("visite de mi-carrière", _mid_career))


def _membership(context: DemoContext) -> None:
    from app.membership.demo import demo_membership

    demo_membership(context)


SECTIONS.append(("demandes d'adhésion", _membership))


def _chorus(context: DemoContext) -> None:
    from app.einvoicing.demo import demo_chorus

    demo_chorus(context)


SECTIONS.append(("dépôts Chorus Pro", _chorus))


def _procedures(context: DemoContext) -> None:
    from app.procedures.demo import demo_procedures

    demo_procedures(context)


SECTIONS.append(("démarches", _procedures))


def _sepa(context: DemoContext) -> None:
    from app.payments.demo import demo_sepa

    demo_sepa(context)


SECTIONS.append(("mandats SEPA", _sepa))


def _archiving(context: DemoContext) -> None:
    from app.billing.archiving import demo_archiving

    demo_archiving(context)


SECTIONS.append(("interventions d'archivage", _archiving))
