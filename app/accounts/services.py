"""Accounts (SPEC A3): creation, security question, password links, lock-out, delegation."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import unicodedata
from typing import Any

from flask import current_app, render_template, url_for
from sqlalchemy import delete, func, select, update
from werkzeug.security import check_password_hash, generate_password_hash

from app import roles
from app.accounts.models import AccountSecurity, PasswordToken, PortalMembership, SecurityQuestion
from app.accounts.passwords import POLICY, password_problems
from app.core.mail import send_mail
from app.core.types import utcnow
from app.extensions import db
from app.models import User
from app.referential.models import Collectivity
from app.rules.errors import DomainError, FieldError
from app.rules.identifiers import normalize_siret
from app.tenancy import Scope, TenantViolation, current_scope, system_scope
from app.workforce.models import Agent, AgentAssignment

TOKEN_VALIDITY = dt.timedelta(hours=24)
LINK_SENT = (
    "Si l'identifiant et la réponse à la question de sécurité sont exacts, un e-mail vient "
    "d'être envoyé à l'adresse du compte. Il contient un lien, valable 24 heures et utilisable "
    "une seule fois, pour choisir votre mot de passe."
)
INVALID_LINK = (
    "Ce lien n'est plus valable : il a déjà servi ou il a expiré (validité 24 heures). "
    "Faites une nouvelle demande depuis la page de connexion."
)
LOGIN_REFUSED = (
    "Identifiant ou mot de passe incorrect. Après plusieurs échecs, la connexion est suspendue "
    "pendant quelques minutes."
)
PURPOSES = {
    "premiere_connexion": "Première connexion",
    "mot_de_passe_oublie": "Mot de passe oublié",
    "nouveau_compte": "Création de votre compte",
}


class AccountError(DomainError):
    """An account cannot be created or changed as asked."""


# ----------------------------------------------------------------------------------------------
# Passwords and security questions
# ----------------------------------------------------------------------------------------------


def hash_password(password: str) -> str:
    return generate_password_hash(
        password,
        method=current_app.config.get("FAB_PASSWORD_HASH_METHOD", "scrypt"),
        salt_length=current_app.config.get("FAB_PASSWORD_HASH_SALT_LENGTH", 16),
    )


def check_new_password(password: str, confirmation: str) -> None:
    if password != confirmation:
        raise FieldError("Les deux mots de passe saisis sont différents.", "confirmation")
    if password_problems(password):
        raise FieldError(POLICY, "password")


def _normalize_answer(answer: str) -> str:
    """Answers are compared without case, accents, spaces or punctuation."""
    text = unicodedata.normalize("NFKD", answer or "")
    text = "".join(c for c in text if not unicodedata.combining(c))
    return "".join(c for c in text.casefold() if c.isalnum())


def security_of(user_id: int) -> AccountSecurity:
    security = db.session.get(AccountSecurity, user_id)
    if security is None:
        security = AccountSecurity(user_id=user_id)
        db.session.add(security)
    return security


def set_security_question(user_id: int, question: SecurityQuestion, answer: str) -> None:
    normalized = _normalize_answer(answer)
    if len(normalized) < 2:
        raise FieldError("Indiquez une réponse d'au moins deux caractères.", "answer")
    security = security_of(user_id)
    security.security_question = question
    security.security_answer_hash = hash_password(normalized)


def set_siret_question(user_id: int, siret: str) -> None:
    """Employer accounts start with the collectivity's SIRET as their security question."""
    set_security_question(user_id, SecurityQuestion.siret, siret)


# ----------------------------------------------------------------------------------------------
# Single-use links
# ----------------------------------------------------------------------------------------------


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_password_link(user: Any, purpose: str) -> str:
    """Create a single-use link valid 24 h and e-mail it to the account's address."""
    token = secrets.token_urlsafe(32)
    db.session.add(
        PasswordToken(
            user_id=user.id,
            token_hash=_digest(token),
            purpose=purpose,
            expires_at=utcnow() + TOKEN_VALIDITY,
        )
    )
    link = current_app.config["PUBLIC_URL"].rstrip("/") + url_for(
        "SetPasswordView.form", token=token
    )
    body = render_template(
        "accounts/mail_password_link.txt",
        user=user,
        purpose=PURPOSES[purpose],
        link=link,
        validity_hours=int(TOKEN_VALIDITY.total_seconds() // 3600),
    )
    send_mail(user.email, f"MédecinePrev – {PURPOSES[purpose]}", body)
    return token


def request_password_link(username: str, question: str, answer: str, purpose: str) -> None:
    """First connection / forgotten password. Says nothing about whether the account exists."""
    with system_scope():
        user = db.session.scalar(
            select(User).where(func.lower(User.username) == (username or "").strip().lower())
        )
        security = db.session.get(AccountSecurity, user.id) if user is not None else None
        expected = security.security_answer_hash if security else None
        # Always compute one hash so both branches take the same time.
        answer_ok = check_password_hash(
            expected or current_app.config["AUTH_DB_FAKE_PASSWORD_HASH_CHECK"],
            _normalize_answer(answer),
        )
        if (
            user is None
            or not user.active
            or security is None
            or security.security_question is None
            or security.security_question.name != question
            or not answer_ok
        ):
            return
        issue_password_link(user, purpose)


def _token_row(token: str) -> PasswordToken:
    row = db.session.scalar(select(PasswordToken).where(PasswordToken.token_hash == _digest(token)))
    if row is None or row.used_at is not None or row.expires_at <= utcnow():
        raise AccountError(INVALID_LINK)
    return row


def check_password_link(token: str) -> None:
    with system_scope():
        _token_row(token)


def set_password_with_link(token: str, password: str, confirmation: str) -> Any:
    with system_scope():
        row = _token_row(token)
        check_new_password(password, confirmation)
        user = db.session.get(User, row.user_id)
        user.password = hash_password(password)
        user.fail_login_count = 0
        now = utcnow()
        db.session.execute(
            update(PasswordToken)
            .where(PasswordToken.user_id == user.id, PasswordToken.used_at.is_(None))
            .values(used_at=now)
        )
        security_of(user.id).locked_until = None
        return user


def verify_current_password(user_id: int, current: str) -> Any:
    with system_scope():
        user = db.session.get(User, user_id)
        if not check_password_hash(user.password or "", current or ""):
            raise FieldError("Le mot de passe actuel est incorrect.", "current")
        return user


def change_password(user_id: int, current: str, password: str, confirmation: str) -> None:
    user = verify_current_password(user_id, current)
    check_new_password(password, confirmation)
    user.password = hash_password(password)


# ----------------------------------------------------------------------------------------------
# Log-in lock-out (web and API share FAB's auth_user_db)
# ----------------------------------------------------------------------------------------------


def is_locked(user_id: int) -> bool:
    security = db.session.get(AccountSecurity, user_id)
    return bool(security and security.locked_until and security.locked_until > utcnow())


def dummy_password_check() -> None:
    """Spend the time of a password check (a locked account answers like a wrong password)."""
    check_password_hash(current_app.config["AUTH_DB_FAKE_PASSWORD_HASH_CHECK"], "password")


def clear_lock(user_id: int) -> None:
    security = db.session.get(AccountSecurity, user_id)
    if security is not None and security.locked_until is not None:
        security.locked_until = None
        db.session.commit()


def record_failed_login(user: Any) -> None:
    """After LOGIN_MAX_FAILURES consecutive failures the account is locked for a while."""
    config = current_app.config
    if (user.fail_login_count or 0) >= config["LOGIN_MAX_FAILURES"]:
        security_of(user.id).locked_until = utcnow() + dt.timedelta(
            minutes=config["LOGIN_LOCK_MINUTES"]
        )
        user.fail_login_count = 0
        db.session.commit()


# ----------------------------------------------------------------------------------------------
# Creating accounts
# ----------------------------------------------------------------------------------------------


def _check_identity(username: str, email: str) -> None:
    sm = current_app.appbuilder.sm
    with system_scope():
        if sm.find_user(username=username) is not None:
            raise FieldError(f"L'identifiant « {username} » est déjà utilisé.", "username")
        if db.session.scalar(select(User.id).where(func.lower(User.email) == email.lower())):
            raise FieldError("Cette adresse e-mail est déjà utilisée par un autre compte.", "email")


def _new_user(
    username: str, email: str, first_name: str, last_name: str, role_name: str, password: str | None
) -> Any:
    sm = current_app.appbuilder.sm
    role = sm.find_role(role_name)
    if role is None:
        raise AccountError(f"Le rôle « {role_name} » n'existe pas : lancez « flask seed-roles ».")
    user = User(
        username=username,
        email=email,
        first_name=first_name,
        last_name=last_name,
        active=True,
        roles=[role],
        # Without a password the account waits for its first connection (e-mail link).
        password=hash_password(password or secrets.token_urlsafe(32)),
    )
    db.session.add(user)
    db.session.flush()
    return user


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
) -> Any:
    """``flask users create``: one role; an employer user gets his collectivity membership."""
    sm = current_app.appbuilder.sm
    if password_problems(password):
        raise AccountError(POLICY)
    try:
        _check_identity(username, email)
    except FieldError as error:
        raise AccountError(error.message) from error
    is_employer = role_name in roles.EMPLOYER_ROLES
    if is_employer and not siret:
        raise AccountError(
            "Un compte employeur doit être rattaché à une collectivité (--collectivity SIRET)."
        )
    if role_name == roles.EMPLOYER_SECONDARY and not primary_username:
        raise AccountError("Un compte secondaire doit désigner son compte principal (--primary).")
    if primary_username and role_name != roles.EMPLOYER_SECONDARY:
        raise AccountError("Seul un compte « Employeur secondaire » a un compte principal.")
    with system_scope():
        collectivity = None
        primary = None
        if siret:
            try:
                siret = normalize_siret(siret)
            except DomainError as error:
                raise AccountError(error.message) from error
            collectivity = db.session.scalar(
                select(Collectivity).where(Collectivity.siret == siret)
            )
            if collectivity is None:
                raise AccountError(f"Aucune collectivité n'a le SIRET {siret}.")
        if primary_username:
            primary = sm.find_user(username=primary_username)
            is_primary = primary is not None and db.session.scalar(
                select(PortalMembership.id).where(
                    PortalMembership.user_id == primary.id,
                    PortalMembership.collectivity_id == collectivity.id,
                    PortalMembership.primary_user_id.is_(None),
                )
            )
            if not is_primary:
                raise AccountError(
                    f"« {primary_username} » n'est pas le compte principal de cette collectivité."
                )
        user = _new_user(username, email, first_name, last_name, role_name, password)
        if collectivity is not None:
            db.session.add(
                PortalMembership(
                    user_id=user.id,
                    collectivity_id=collectivity.id,
                    primary_user_id=primary.id if primary else None,
                )
            )
            set_siret_question(user.id, collectivity.siret)
        db.session.flush()
    return user


def create_primary_account(
    collectivity_id: int, *, username: str, email: str, first_name: str, last_name: str
) -> Any:
    """Staff open a collectivity's primary account; the user sets his password by e-mail."""
    email = email.strip().lower()
    username = username.strip()
    _check_identity(username, email)
    collectivity = db.session.get(Collectivity, collectivity_id)
    if collectivity is None:
        raise TenantViolation()
    user = _new_user(username, email, first_name, last_name, roles.EMPLOYER_PRIMARY, None)
    db.session.add(PortalMembership(user_id=user.id, collectivity_id=collectivity.id))
    set_siret_question(user.id, collectivity.siret)
    issue_password_link(user, "nouveau_compte")
    return user


# ----------------------------------------------------------------------------------------------
# Delegation: secondary accounts (SPEC A3, CDG69-PORTAIL « Comptes secondaires »)
# ----------------------------------------------------------------------------------------------


def _primary_scope() -> Scope:
    scope = current_scope()
    if not scope.is_employer or scope.is_secondary:
        raise AccountError("Seul le compte principal peut gérer les comptes secondaires.")
    return scope


def secondary_memberships() -> list[PortalMembership]:
    scope = _primary_scope()
    return list(
        db.session.scalars(
            select(PortalMembership)
            .where(
                PortalMembership.collectivity_id == scope.collectivity_id,
                PortalMembership.primary_user_id.is_not(None),
            )
            .order_by(PortalMembership.id)
        )
    )


def secondary_membership(user_id: int) -> PortalMembership:
    scope = _primary_scope()
    membership = db.session.scalar(
        select(PortalMembership).where(
            PortalMembership.user_id == user_id,
            PortalMembership.collectivity_id == scope.collectivity_id,
            PortalMembership.primary_user_id.is_not(None),
        )
    )
    if membership is None:
        raise TenantViolation()
    return membership


def assignment_counts(user_ids: list[int]) -> dict[int, int]:
    """How many agents each secondary account manages (one query for the list)."""
    if not user_ids:
        return {}
    return dict(
        db.session.execute(
            select(AgentAssignment.user_id, func.count(AgentAssignment.id))
            .where(AgentAssignment.user_id.in_(user_ids))
            .group_by(AgentAssignment.user_id)
        ).all()
    )


def assigned_agent_ids(user_id: int) -> set[int]:
    return set(
        db.session.scalars(
            select(AgentAssignment.agent_id).where(AgentAssignment.user_id == user_id)
        )
    )


def create_secondary_account(
    *, first_name: str, last_name: str, email: str, agent_ids: list[int]
) -> Any:
    scope = _primary_scope()
    email = (email or "").strip().lower()
    if not email:
        raise FieldError("L'adresse e-mail est obligatoire.", "email")
    _check_identity(email, email)
    with system_scope():
        user = _new_user(
            email, email, first_name.strip(), last_name.strip(), roles.EMPLOYER_SECONDARY, None
        )
        siret = db.session.scalar(
            select(Collectivity.siret).where(Collectivity.id == scope.collectivity_id)
        )
        set_siret_question(user.id, siret)
    db.session.add(
        PortalMembership(
            user_id=user.id, collectivity_id=scope.collectivity_id, primary_user_id=scope.user_id
        )
    )
    db.session.flush()
    assign_agents(user.id, agent_ids)
    with system_scope():
        issue_password_link(user, "nouveau_compte")
    return user


def update_secondary_account(
    user_id: int, *, first_name: str, last_name: str, active: bool, agent_ids: list[int]
) -> None:
    secondary_membership(user_id)
    with system_scope():
        user = db.session.get(User, user_id)
        user.first_name = first_name.strip()
        user.last_name = last_name.strip()
        user.active = active
    assign_agents(user_id, agent_ids)


def assign_agents(user_id: int, agent_ids: list[int]) -> None:
    """The secondary account manages exactly these agents (all of the primary's collectivity)."""
    scope = _primary_scope()
    secondary_membership(user_id)
    wanted = {int(agent_id) for agent_id in agent_ids}
    visible = (
        set(db.session.scalars(select(Agent.id).where(Agent.id.in_(wanted)))) if wanted else set()
    )
    if visible != wanted:
        raise TenantViolation()
    current = assigned_agent_ids(user_id)
    if current - wanted:
        db.session.execute(
            delete(AgentAssignment).where(
                AgentAssignment.user_id == user_id, AgentAssignment.agent_id.in_(current - wanted)
            )
        )
    db.session.add_all(
        AgentAssignment(agent_id=agent_id, user_id=user_id, collectivity_id=scope.collectivity_id)
        for agent_id in sorted(wanted - current)
    )
    db.session.flush()


def delete_secondary_account(user_id: int) -> None:
    membership = secondary_membership(user_id)
    db.session.execute(delete(AgentAssignment).where(AgentAssignment.user_id == user_id))
    db.session.delete(membership)
    db.session.flush()
    with system_scope():
        others = db.session.scalar(
            select(func.count(PortalMembership.id)).where(PortalMembership.user_id == user_id)
        )
        if not others:
            user = db.session.get(User, user_id)
            db.session.delete(user)
            db.session.flush()


# ----------------------------------------------------------------------------------------------
# Several collectivities
# ----------------------------------------------------------------------------------------------


def my_collectivities(user_id: int) -> list[tuple[int, str]]:
    with system_scope():
        return [
            (row.id, row.name)
            for row in db.session.execute(
                select(Collectivity.id, Collectivity.name)
                .join(PortalMembership, PortalMembership.collectivity_id == Collectivity.id)
                .where(PortalMembership.user_id == user_id)
                .order_by(Collectivity.name)
            )
        ]


def can_switch_to(user_id: int, collectivity_id: int) -> bool:
    return any(cid == collectivity_id for cid, _ in my_collectivities(user_id))
