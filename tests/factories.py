"""Factories: ``make_x(session, **overrides)`` builds a valid record and flushes it."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

from flask import current_app
from sqlalchemy.orm import Session

from app import roles
from app.accounts.models import PortalMembership
from app.demo import fake_siret
from app.referential.models import (
    Collectivity,
    CollectivityKind,
    Contact,
    ContactFunction,
    Office,
    OfficeKind,
    Professional,
    ProfessionalRole,
    TariffCategory,
)

PASSWORD = "Lavande-Verte-7"
_sequence = itertools.count(1)


def _next() -> int:
    return next(_sequence)


def make_collectivity(session: Session, **overrides: Any) -> Collectivity:
    import random

    n = _next()
    values: dict[str, Any] = {
        "name": f"Commune de Test {n}",
        "kind": CollectivityKind.commune,
        "siret": fake_siret(random.Random(n * 7919)),
        "category": TariffCategory.affiliee,
        "membership_number": f"T{n:05d}",
        "main_line1": "1 place de la Mairie",
        "main_postcode": "69000",
        "main_city": "Lyon",
    }
    values.update(overrides)
    collectivity = Collectivity(**values)
    collectivity.siren = collectivity.siret[:9]
    session.add(collectivity)
    session.flush()
    return collectivity


def make_contact(session: Session, collectivity: Collectivity, **overrides: Any) -> Contact:
    n = _next()
    values: dict[str, Any] = {
        "function": ContactFunction.rh,
        "last_name": f"DURAND{n}",
        "first_name": "Claire",
        "email": f"contact{n}@example.fr",
        "collectivity_id": collectivity.id,
    }
    values.update(overrides)
    contact = Contact(**values)
    session.add(contact)
    session.flush()
    return contact


def make_professional(session: Session, **overrides: Any) -> Professional:
    n = _next()
    values: dict[str, Any] = {
        "role": ProfessionalRole.medecin,
        "last_name": f"MEDECIN{n}",
        "first_name": "Paul",
        "email": f"medecin{n}@cdg.example.fr",
    }
    values.update(overrides)
    professional = Professional(**values)
    session.add(professional)
    session.flush()
    return professional


def make_office(
    session: Session, served: list[Collectivity] | None = None, **overrides: Any
) -> Office:
    n = _next()
    values: dict[str, Any] = {"name": f"Cabinet {n}", "kind": OfficeKind.cdg, "city": "Lyon"}
    values.update(overrides)
    office = Office(**values)
    office.served_collectivities = list(served or [])
    session.add(office)
    session.flush()
    return office


def make_user(
    session: Session,
    role: str,
    *,
    collectivity: Collectivity | None = None,
    primary: Any = None,
    username: str | None = None,
    email: str | None = None,
) -> Any:
    sm = current_app.appbuilder.sm
    n = _next()
    username = username or f"{role.split()[0].lower()}-{n}".replace("é", "e")
    user = sm.add_user(
        username=username,
        first_name="Prénom",
        last_name=f"NOM{n}",
        email=email or f"{username}@example.fr",
        role=sm.find_role(role),
        password=PASSWORD,
        commit=False,
    )
    session.flush()
    if collectivity is not None:
        session.add(
            PortalMembership(
                user_id=user.id,
                collectivity_id=collectivity.id,
                primary_user_id=primary.id if primary is not None else None,
            )
        )
        session.flush()
    return user


@dataclass
class Users:
    admin: Any
    secretariat: Any
    sante: Any
    comptabilite: Any
    direction: Any
    collectivity_a: Collectivity
    collectivity_b: Collectivity
    primary_a: Any
    secondary_a: Any
    primary_b: Any

    def by_role(self, role: str) -> Any:
        return {
            roles.ADMIN: self.admin,
            roles.SECRETARIAT: self.secretariat,
            roles.SANTE: self.sante,
            roles.COMPTABILITE: self.comptabilite,
            roles.DIRECTION: self.direction,
            roles.EMPLOYER_PRIMARY: self.primary_a,
            roles.EMPLOYER_SECONDARY: self.secondary_a,
        }[role]


def make_user_with_id(session: Session, user_id: int, role: str, username: str) -> Any:
    """A user forced onto a given id (what an id reused by the database would give)."""
    from app.accounts.services import hash_password
    from app.models import User

    user = User(
        id=user_id,
        username=username,
        email=f"{username}@cdg.fr",
        first_name="Prénom",
        last_name=username.upper(),
        active=True,
        password=hash_password(PASSWORD),
        roles=[current_app.appbuilder.sm.find_role(role)],
    )
    session.add(user)
    return user


def make_users(session: Session) -> Users:
    collectivity_a = make_collectivity(session, name="Commune A")
    collectivity_b = make_collectivity(session, name="Commune B")
    primary_a = make_user(session, roles.EMPLOYER_PRIMARY, collectivity=collectivity_a)
    return Users(
        admin=make_user(session, roles.ADMIN),
        secretariat=make_user(session, roles.SECRETARIAT),
        sante=make_user(session, roles.SANTE),
        comptabilite=make_user(session, roles.COMPTABILITE),
        direction=make_user(session, roles.DIRECTION),
        collectivity_a=collectivity_a,
        collectivity_b=collectivity_b,
        primary_a=primary_a,
        secondary_a=make_user(
            session, roles.EMPLOYER_SECONDARY, collectivity=collectivity_a, primary=primary_a
        ),
        primary_b=make_user(session, roles.EMPLOYER_PRIMARY, collectivity=collectivity_b),
    )
