"""Which user works for which collectivity, and as whose secondary account."""

from __future__ import annotations

import datetime as dt
import secrets

from flask_appbuilder import Model
from flask_appbuilder.security.sqla.models import User
from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.model import Base
from app.core.types import LabelledEnum, UTCDateTime, enum_column, utcnow
from app.tenancy import TenantMixin


class PortalMembership(TenantMixin, Base):
    """An employer user's access to one collectivity.

    ``primary_user_id`` is empty for a primary account (the collectivity's HR referent) and
    names the primary account that created a secondary one.
    """

    __tablename__ = "portal_membership"
    __tenant_user__ = "user_id"
    __table_args__ = (UniqueConstraint("user_id", "collectivity_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("ab_user.id", ondelete="CASCADE"), index=True)
    primary_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("ab_user.id", ondelete="CASCADE"), index=True
    )

    user: Mapped[User] = relationship(User, foreign_keys=[user_id], lazy="joined")
    primary_user: Mapped[User | None] = relationship(
        User, foreign_keys=[primary_user_id], lazy="joined"
    )
    collectivity = relationship("Collectivity", lazy="joined")

    @property
    def is_primary(self) -> bool:
        return self.primary_user_id is None

    @property
    def account_kind(self) -> str:
        return "Compte principal" if self.is_primary else "Compte secondaire"

    @property
    def account_email(self) -> str:
        return self.user.email


class SecurityQuestion(LabelledEnum):
    siret = "Numéro SIRET de votre collectivité"
    nom_mere = "Nom de naissance de votre mère"
    ville_pere = "Ville de naissance de votre père"
    animal = "Nom de votre premier animal de compagnie"
    ami_enfance = "Prénom de votre meilleur(e) ami(e) d'enfance"
    premier_poste = "Intitulé de votre premier emploi"


# The SIRET is public: it stays readable for old rows but can no longer be chosen.
SELECTABLE_QUESTIONS = [q for q in SecurityQuestion if q is not SecurityQuestion.siret]


def new_security_stamp() -> str:
    return secrets.token_urlsafe(24)


class AccountSecurity(Base):
    """Security question of an account, its temporary lock after repeated failed logins, and
    its security stamp.

    Sessions and API tokens carry the stamp; a new stamp (password change, deactivation, role
    change, logout; a deleted account takes its row with it) ends every one of them at once.
    """

    __tablename__ = "account_security"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("ab_user.id", ondelete="CASCADE"), primary_key=True
    )
    security_question: Mapped[SecurityQuestion | None] = enum_column(SecurityQuestion)
    security_answer_hash: Mapped[str | None] = mapped_column(String(256))
    locked_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    security_stamp: Mapped[str] = mapped_column(
        String(64), default=new_security_stamp, nullable=False
    )


class PasswordHistory(Model):
    """The hashes of the passwords an account used (the last ones cannot be chosen again)."""

    __tablename__ = "password_history"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("ab_user.id", ondelete="CASCADE"), index=True)
    password_hash: Mapped[str] = mapped_column(String(256))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class PasswordToken(Model):
    """A single-use link to set a password (first connection, forgotten password, new account).

    Only a SHA-256 of the token is stored; the link is valid 24 hours.
    """

    __tablename__ = "password_token"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("ab_user.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    purpose: Mapped[str] = mapped_column(String(30))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
