"""Creating accounts and linking employer users to their collectivity."""

from __future__ import annotations

from flask import current_app
from sqlalchemy import select

from app import roles
from app.accounts.models import PortalMembership
from app.accounts.passwords import POLICY, password_problems
from app.extensions import db
from app.referential.models import Collectivity
from app.rules.errors import DomainError
from app.rules.identifiers import normalize_siret
from app.tenancy import system_scope


class AccountError(DomainError):
    """An account cannot be created or changed as asked."""


def create_user(
    *,
    username: str,
    email: str,
    password: str,
    role_name: str,
    first_name: str,
    last_name: str,
    siret: str | None = None,
    primary_username: str | None = None,
) -> object:
    """Create a user with one role; an employer user gets his collectivity membership."""
    sm = current_app.appbuilder.sm
    if password_problems(password):
        raise AccountError(POLICY)
    if sm.find_user(username=username) is not None:
        raise AccountError(f"L'identifiant « {username} » est déjà utilisé.")
    if sm.find_user(email=email) is not None:
        raise AccountError(f"L'adresse « {email} » est déjà utilisée par un autre compte.")
    role = sm.find_role(role_name)
    if role is None:
        raise AccountError(f"Le rôle « {role_name} » n'existe pas : lancez « flask seed-roles ».")
    is_employer = role_name in roles.EMPLOYER_ROLES
    if is_employer and not siret:
        raise AccountError(
            "Un compte employeur doit être rattaché à une collectivité (--collectivity SIRET)."
        )
    if role_name == roles.EMPLOYER_SECONDARY and not primary_username:
        raise AccountError("Un compte secondaire doit désigner son compte principal (--primary).")
    if primary_username and role_name != roles.EMPLOYER_SECONDARY:
        raise AccountError("Seul un compte « Employeur secondaire » a un compte principal.")

    collectivity = None
    primary = None
    with system_scope():
        if siret:
            collectivity = db.session.scalar(
                select(Collectivity).where(Collectivity.siret == normalize_siret(siret))
            )
            if collectivity is None:
                raise AccountError(f"Aucune collectivité n'a le SIRET {siret}.")
        if primary_username:
            primary = sm.find_user(username=primary_username)
            membership = primary and db.session.scalar(
                select(PortalMembership).where(
                    PortalMembership.user_id == primary.id,
                    PortalMembership.collectivity_id == collectivity.id,
                    PortalMembership.primary_user_id.is_(None),
                )
            )
            if not membership:
                raise AccountError(
                    f"« {primary_username} » n'est pas le compte principal de cette collectivité."
                )
        user = sm.add_user(
            username=username,
            first_name=first_name,
            last_name=last_name,
            email=email,
            role=role,
            password=password,
            commit=False,
        )
        if not user:
            raise AccountError("Le compte n'a pas pu être créé.")
        db.session.flush()
        if collectivity is not None:
            db.session.add(
                PortalMembership(
                    user_id=user.id,
                    collectivity_id=collectivity.id,
                    primary_user_id=primary.id if primary else None,
                )
            )
            db.session.flush()
    return user
