"""The declarative base of the application's own tables."""

from __future__ import annotations

from datetime import datetime

from flask_appbuilder import Model
from sqlalchemy.orm import Mapped, mapped_column

from app.core.types import UTCDateTime, utcnow


class Base(Model):
    """Business tables: audited, with UTC creation and update timestamps."""

    __abstract__ = True
    __audited__ = True

    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), default=utcnow, onupdate=utcnow, nullable=False
    )
