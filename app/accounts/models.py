"""Which user works for which collectivity, and as whose secondary account."""

from __future__ import annotations

from flask_appbuilder.security.sqla.models import User
from sqlalchemy import ForeignKey, Integer, UniqueConstraint, and_
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.model import Base
from app.tenancy import Scope, TenantMixin


class PortalMembership(TenantMixin, Base):
    """An employer user's access to one collectivity.

    ``primary_user_id`` is empty for a primary account (the collectivity's HR referent) and
    names the primary account that created a secondary one.
    """

    __tablename__ = "portal_membership"
    __table_args__ = (UniqueConstraint("user_id", "collectivity_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("ab_user.id", ondelete="CASCADE"), index=True)
    primary_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("ab_user.id", ondelete="CASCADE"), index=True
    )

    user: Mapped[User] = relationship(User, foreign_keys=[user_id], lazy="joined")
    primary_user: Mapped[User | None] = relationship(User, foreign_keys=[primary_user_id])
    collectivity = relationship("Collectivity", lazy="joined")

    @property
    def is_primary(self) -> bool:
        return self.primary_user_id is None

    @classmethod
    def tenant_criteria(cls, scope: Scope) -> object:
        criteria = cls.collectivity_id == scope.collectivity_id
        if scope.is_secondary:
            criteria = and_(criteria, cls.user_id == scope.secondary_user_id)
        return criteria
