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
from app.accounts.models import (
    SELECTABLE_QUESTIONS,
    AccountSecurity,
    PasswordHistory,
    PasswordToken,
    PortalMembership,
    SecurityQuestion,
)
from app.accounts.passwords import HISTORY_SIZE, REUSED, policy_message
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
# At most this many password links per account and per hour (whoever asks for them).
LINKS_PER_HOUR = 3
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


class PrimaryOnly(AccountError):
    """Only a collectivity's primary account may do this (the REST API answers 403)."""


# ----------------------------------------------------------------------------------------------
# Passwords and security questions
# ----------------------------------------------------------------------------------------------


def hash_password(password: str) -> str:
    return generate_password_hash(
        password,
        method=current_app.config.get("FAB_PASSWORD_HASH_METHOD", "scrypt"),
        salt_length=current_app.config.get("FAB_PASSWORD_HASH_SALT_LENGTH", 16),
    )


def check_new_password(password: str, confirmation: str, user: Any = None) -> None:
    """The policy, the list of common passwords and, for an existing account, its last ones."""
    if password != confirmation:
        raise FieldError("Les deux mots de passe saisis sont différents.", "confirmation")
    message = policy_message(password)
    if message:
        raise FieldError(message, "password")
    if user is not None and _was_used(user, password):
        raise FieldError(REUSED, "password")


def _was_used(user: Any, password: str) -> bool:
    previous = db.session.scalars(
        select(PasswordHistory.password_hash)
        .where(PasswordHistory.user_id == user.id)
        .order_by(PasswordHistory.id.desc())
        .limit(HISTORY_SIZE)
    ).all()
    hashes = [user.password, *previous] if user.password else previous
    return any(check_password_hash(h, password) for h in hashes)


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


def has_chosen_question(user_id: int) -> bool:
    """The holder chose his question (the SIRET of old accounts is public: it does not count)."""
    security = db.session.get(AccountSecurity, user_id)
    return bool(
        security
        and security.security_question is not None
        and security.security_question is not SecurityQuestion.siret
        and security.security_answer_hash
    )


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


def _find_user(username: str) -> Any:
    return db.session.scalar(
        select(User).where(func.lower(User.username) == (username or "").strip().lower()[:128])
    )


def _may_receive_link(user: Any) -> bool:
    """An active, unlocked account that has not had LINKS_PER_HOUR links in the last hour."""
    if user is None or not user.active or is_locked(user.id):
        return False
    recent = db.session.scalar(
        select(func.count(PasswordToken.id)).where(
            PasswordToken.user_id == user.id,
            PasswordToken.created_at > utcnow() - dt.timedelta(hours=1),
        )
    )
    return (recent or 0) < LINKS_PER_HOUR


def _failed_proof(user: Any) -> None:
    """A wrong answer counts as a failed login: five in a row lock the account."""
    user.fail_login_count = (user.fail_login_count or 0) + 1
    record_failed_login(user)


def request_password_link(username: str, question: str, answer: str, purpose: str) -> None:
    """Forgotten password: identifier + the question and answer the holder chose.

    Says nothing about whether the account exists; wrong answers lock the account like wrong
    passwords, and an account gets at most LINKS_PER_HOUR links an hour.
    """
    with system_scope():
        user = _find_user(username)
        security = db.session.get(AccountSecurity, user.id) if user is not None else None
        chosen = user is not None and has_chosen_question(user.id)
        expected = security.security_answer_hash if chosen and security else None
        # Always compute one hash so every branch takes the same time.
        answer_ok = check_password_hash(
            expected or current_app.config["AUTH_DB_FAKE_PASSWORD_HASH_CHECK"],
            _normalize_answer(answer),
        )
        if user is None or not chosen or not _may_receive_link(user):
            return
        if security.security_question.name != question or not answer_ok:
            _failed_proof(user)
            return
        issue_password_link(user, purpose)


def request_first_connection_link(username: str, siret: str) -> None:
    """First connection of an employer account: identifier + the collectivity's SIRET.

    It only re-sends the invitation to the account's own mailbox, and only while the holder has
    not yet chosen his password and secret question (the SIRET is public: it proves nothing and
    opens nothing else). Same silence, lock-out and hourly cap as the forgotten password.
    """
    with system_scope():
        user = _find_user(username)
        dummy_password_check()
        if user is None or has_chosen_question(user.id) or not _may_receive_link(user):
            return
        try:
            siret = normalize_siret(siret)
        except DomainError:
            siret = ""
        member = db.session.scalar(
            select(PortalMembership.id)
            .join(Collectivity, Collectivity.id == PortalMembership.collectivity_id)
            .where(PortalMembership.user_id == user.id, Collectivity.siret == siret)
        )
        if member is None:
            _failed_proof(user)
            return
        issue_password_link(user, "premiere_connexion")


def _token_row(token: str) -> PasswordToken:
    row = db.session.scalar(select(PasswordToken).where(PasswordToken.token_hash == _digest(token)))
    if row is None or row.used_at is not None or row.expires_at <= utcnow():
        raise AccountError(INVALID_LINK)
    return row


def check_password_link(token: str) -> None:
    with system_scope():
        _token_row(token)


def link_needs_question(token: str) -> bool:
    """The holder of this link has not chosen his secret question yet (asked with the password)."""
    with system_scope():
        return not has_chosen_question(_token_row(token).user_id)


def set_password_with_link(
    token: str,
    password: str,
    confirmation: str,
    question: str | None = None,
    answer: str | None = None,
) -> Any:
    with system_scope():
        row = _token_row(token)
        user = db.session.get(User, row.user_id)
        check_new_password(password, confirmation, user)
        if not has_chosen_question(user.id):
            if question not in {q.name for q in SELECTABLE_QUESTIONS}:
                raise FieldError("Choisissez votre question de sécurité.", "question")
            set_security_question(user.id, SecurityQuestion[question], answer or "")
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
    check_new_password(password, confirmation, user)
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
    db.session.add(AccountSecurity(user_id=user.id))
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
    refusal = policy_message(password)
    if refusal:
        raise AccountError(refusal)
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


def set_agent_secondary_accounts(agent_id: int, user_ids: list[int]) -> None:
    """The agent is managed by exactly these secondary accounts (the REST API's
    ``secondary_account_ids``): each account's list is changed through ``assign_agents``. An id
    that is not a secondary account of the caller's collectivity is a TenantViolation (404);
    unchanged, nothing is checked (a round trip of what the caller read)."""
    wanted = {int(user_id) for user_id in user_ids}
    current = set(
        db.session.scalars(
            select(AgentAssignment.user_id).where(AgentAssignment.agent_id == agent_id)
        )
    )
    if wanted == current:
        return
    scope = current_scope()
    if not scope.is_employer or scope.is_secondary:
        raise PrimaryOnly(
            "Seul le compte principal de la collectivité désigne les comptes secondaires d'un agent."
        )
    for user_id in sorted(wanted):
        secondary_membership(user_id)
    for user_id in sorted(wanted ^ current):
        agents = assigned_agent_ids(user_id)
        assign_agents(
            user_id, sorted(agents | {agent_id} if user_id in wanted else agents - {agent_id})
        )


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
