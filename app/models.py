"""Every model of the application, imported in one place (Alembic, shell, tests)."""

from flask_appbuilder.security.sqla.models import Role, User

from app.accounts.models import AccountSecurity, PasswordToken, PortalMembership
from app.core.audit import AuditLog
from app.planning.models import Appointment, Plage, PlageRefusal
from app.referential.models import (
    Collectivity,
    Contact,
    ContractType,
    Convention,
    DocumentNature,
    HealthTeamMember,
    Mission,
    Office,
    PcsCode,
    Professional,
    Risk,
    RiskEffectRule,
    StatutoryAct,
    Tariff,
    VisitType,
)
from app.workforce.models import (
    Agent,
    AgentAssignment,
    Contract,
    Headcount,
    PositionRisk,
    StagedAgentChange,
    WorkPosition,
)

__all__ = [
    "AccountSecurity",
    "Appointment",
    "Plage",
    "PlageRefusal",
    "Agent",
    "AgentAssignment",
    "AuditLog",
    "Contract",
    "Headcount",
    "PositionRisk",
    "StagedAgentChange",
    "WorkPosition",
    "Collectivity",
    "Contact",
    "ContractType",
    "Convention",
    "DocumentNature",
    "HealthTeamMember",
    "Mission",
    "Office",
    "PasswordToken",
    "PcsCode",
    "PortalMembership",
    "Professional",
    "Risk",
    "RiskEffectRule",
    "Role",
    "StatutoryAct",
    "Tariff",
    "User",
    "VisitType",
]
