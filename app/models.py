"""Every model of the application, imported in one place (Alembic, shell, tests)."""

from flask_appbuilder.security.sqla.models import Role, User

from app.accounts.models import (
    AccountSecurity,
    PasswordHistory,
    PasswordToken,
    PortalMembership,
)
from app.billing.archiving import ArchivingIntervention
from app.billing.models import Invoice, InvoiceLine, InvoiceSequence, Payment
from app.core.audit import AuditLog
from app.documents.models import (
    EmployerDocument,
    PreventionAction,
    PreventionModule,
    PreventionRegistration,
    PreventionSession,
    PublishedDocument,
)
from app.einvoicing.models import ChorusBatch, ChorusDeposit
from app.membership.models import MembershipApplication
from app.payments.models import BankStatement, BankStatementLine, SepaDebit, SepaMandate
from app.planning.models import Appointment, Plage, PlageRefusal
from app.procedures.models import Procedure
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
from app.scheduling.models import JobRun
from app.statutory.models import AcfiDay, AcfiPlan, StatutoryReport, StatutoryRequest
from app.visits.consultation_models import Consultation, MedicalAccess, MedicalNote
from app.visits.due_models import DueDate, DueRecomputeRequest, PeriodicityRuleRecord
from app.visits.models import VisitRequest
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
    "ChorusBatch",
    "ChorusDeposit",
    "Invoice",
    "InvoiceLine",
    "InvoiceSequence",
    "Payment",
    "AccountSecurity",
    "AcfiDay",
    "AcfiPlan",
    "ArchivingIntervention",
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
    "Consultation",
    "DueDate",
    "EmployerDocument",
    "PreventionAction",
    "PreventionModule",
    "PreventionRegistration",
    "PreventionSession",
    "PublishedDocument",
    "PeriodicityRuleRecord",
    "DueRecomputeRequest",
    "MedicalAccess",
    "MedicalNote",
    "VisitRequest",
    "Contact",
    "ContractType",
    "Convention",
    "DocumentNature",
    "HealthTeamMember",
    "JobRun",
    "MembershipApplication",
    "Procedure",
    "Mission",
    "Office",
    "PasswordHistory",
    "PasswordToken",
    "PcsCode",
    "PortalMembership",
    "Professional",
    "SepaDebit",
    "BankStatement",
    "BankStatementLine",
    "SepaMandate",
    "Risk",
    "RiskEffectRule",
    "Role",
    "StatutoryAct",
    "StatutoryReport",
    "StatutoryRequest",
    "Tariff",
    "User",
    "VisitType",
]


def _sqlite_autoincrement() -> None:
    """Ids are never reused: on SQLite a table needs AUTOINCREMENT for that (PostgreSQL
    sequences never go back). Every table with a single integer key of its own gets it."""
    from sqlalchemy import Integer

    from app.extensions import metadata

    for table in metadata.tables.values():
        keys = list(table.primary_key.columns)
        if len(keys) == 1 and isinstance(keys[0].type, Integer) and not keys[0].foreign_keys:
            table.dialect_options["sqlite"]["autoincrement"] = True


_sqlite_autoincrement()
