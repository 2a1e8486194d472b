"""Reference data: collectivities, contacts, health teams, conventions, offices, professionals,
and the reference lists (risks with dated effects, visit types, natures, contract types, PCS,
statutory-medicine acts, tariffs by period)."""

from __future__ import annotations

import datetime as dt
import decimal

from flask_appbuilder.security.sqla.models import User
from sqlalchemy import (
    Boolean,
    Column,
    Date,
    ForeignKey,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.emails import email_column
from app.core.model import Base
from app.core.types import Decimal, LabelledEnum, Money, enum_column
from app.extensions import metadata
from app.rules.follow_up import FollowUp
from app.tenancy import Scope, TenantMixin


class CollectivityKind(LabelledEnum):
    commune = "Commune"
    epci = "EPCI (communauté, métropole)"
    ccas = "CCAS / CIAS"
    syndicat = "Syndicat intercommunal ou mixte"
    departement = "Département"
    region = "Région"
    sdis = "SDIS"
    etablissement_public = "Établissement public"
    autre = "Autre"


class TariffCategory(LabelledEnum):
    affiliee = "Collectivité affiliée"
    non_affiliee_800_plus = "Non affiliée, 800 agents ou plus"
    non_affiliee_moins_800 = "Non affiliée, moins de 800 agents"
    region = "Région"


class Regime(LabelledEnum):
    public = "Public (fonction publique territoriale)"
    prive = "Privé (code du travail)"


class SecretariatMode(LabelledEnum):
    cdg = "Secrétariat du CDG"
    interne = "Secrétariat interne"


class ContactFunction(LabelledEnum):
    rh = "Responsable ressources humaines"
    gestionnaire = "Gestionnaire"
    convocation = "Contact des convocations"
    facturation = "Contact facturation"
    direction = "Direction générale"
    elu = "Élu(e)"
    autre = "Autre"


class Civility(LabelledEnum):
    madame = "Madame"
    monsieur = "Monsieur"


class ProfessionalRole(LabelledEnum):
    medecin = "Médecin"
    infirmier = "Infirmier(ère)"
    secretaire = "Secrétaire médicale"
    iprp = "IPRP"
    asst = "ASST"
    psychologue = "Psychologue"
    assistant_social = "Assistant(e) social(e)"


class HealthTeamRole(LabelledEnum):
    medecin_referent = "Médecin référent"
    infirmier = "Infirmier(ère)"
    secretaire_medicale = "Secrétaire médicale"
    iprp = "IPRP"
    asst = "ASST"
    psychologue = "Psychologue"
    assistant_social = "Assistant(e) social(e)"


class OfficeKind(LabelledEnum):
    cdg = "Locaux du CDG"
    collectivite = "Cabinet mis à disposition par une collectivité"
    regroupement = "Cabinet de regroupement"


class RiskPrecision(LabelledEnum):
    aucune = "Aucune"
    categorie_radiation = "Catégorie A, B ou aptitude INB"
    categories_caces = "Catégories de véhicules (CACES)"
    description = "Description du risque"


class FollowUpLevel(LabelledEnum):
    SI = "SI – Suivi individuel simple"
    SIA = "SIA – Suivi individuel adapté"
    SIR = "SIR – Suivi individuel renforcé"

    @property
    def rule(self) -> FollowUp:
        return FollowUp(self.name)


class ActKind(LabelledEnum):
    controle = "Contrôle"
    expertise = "Expertise"


class DocumentUsage(LabelledEnum):
    employeur = "Dépôt par l'employeur"
    demande = "Pièce jointe d'une demande de visite"
    fiche_visite = "Fiche de visite / attestation"


# ----------------------------------------------------------------------------------------------
# Collectivities
# ----------------------------------------------------------------------------------------------


class Collectivity(Base):
    """A member employer (*adhérent*). The root of every employer's data."""

    __tablename__ = "collectivity"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), index=True)
    kind: Mapped[CollectivityKind] = enum_column(CollectivityKind)
    siret: Mapped[str] = mapped_column(String(14), unique=True)
    siren: Mapped[str] = mapped_column(String(9), index=True)
    naf_code: Mapped[str | None] = mapped_column(String(6))
    membership_number: Mapped[str | None] = mapped_column(String(20), unique=True)
    category: Mapped[TariffCategory] = enum_column(TariffCategory)
    regime: Mapped[Regime] = enum_column(Regime, default=Regime.public)
    has_own_cst: Mapped[bool] = mapped_column(Boolean, default=False)
    secretariat_mode: Mapped[SecretariatMode] = enum_column(
        SecretariatMode, default=SecretariatMode.cdg
    )
    membership_start: Mapped[dt.date | None] = mapped_column(Date)
    membership_end: Mapped[dt.date | None] = mapped_column(Date)
    # Set by the retention job (SPEC G5) once its agents' personal data are erased.
    personal_data_erased_on: Mapped[dt.date | None] = mapped_column(Date)
    phone: Mapped[str | None] = mapped_column(String(20))
    email: Mapped[str | None] = email_column()

    main_line1: Mapped[str | None] = mapped_column(String(200))
    main_line2: Mapped[str | None] = mapped_column(String(200))
    main_postcode: Mapped[str | None] = mapped_column(String(5))
    main_city: Mapped[str | None] = mapped_column(String(100))

    billing_name: Mapped[str | None] = mapped_column(String(200))
    billing_line1: Mapped[str | None] = mapped_column(String(200))
    billing_line2: Mapped[str | None] = mapped_column(String(200))
    billing_postcode: Mapped[str | None] = mapped_column(String(5))
    billing_city: Mapped[str | None] = mapped_column(String(100))
    # Chorus Pro (issue 18): the buyer's service code and engagement (purchase order) number.
    chorus_service_code: Mapped[str | None] = mapped_column(String(100))
    chorus_engagement_number: Mapped[str | None] = mapped_column(String(50))

    convocation_name: Mapped[str | None] = mapped_column(String(200))
    convocation_line1: Mapped[str | None] = mapped_column(String(200))
    convocation_line2: Mapped[str | None] = mapped_column(String(200))
    convocation_postcode: Mapped[str | None] = mapped_column(String(5))
    convocation_city: Mapped[str | None] = mapped_column(String(100))

    contacts: Mapped[list[Contact]] = relationship(
        back_populates="collectivity", cascade="all, delete-orphan", order_by="Contact.last_name"
    )
    health_team: Mapped[list[HealthTeamMember]] = relationship(
        back_populates="collectivity", cascade="all, delete-orphan"
    )
    conventions: Mapped[list[Convention]] = relationship(
        back_populates="collectivity", cascade="all, delete-orphan"
    )

    @classmethod
    def tenant_criteria(cls, scope: Scope) -> object:
        return cls.id == scope.collectivity_id

    def __str__(self) -> str:
        return self.name

    def address_lines(self, kind: str = "main") -> list[str]:
        """Billing and convocation addresses fall back to the main address when empty (SSTRN)."""
        own = kind != "main" and bool(getattr(self, f"{kind}_line1"))
        prefix = kind if own else "main"
        name = (getattr(self, f"{kind}_name", None) if kind != "main" else None) or self.name
        town = " ".join(
            filter(None, [getattr(self, f"{prefix}_postcode"), getattr(self, f"{prefix}_city")])
        )
        lines = [name, getattr(self, f"{prefix}_line1"), getattr(self, f"{prefix}_line2"), town]
        return [line for line in lines if line]

    @property
    def main_address(self) -> str:
        return "\n".join(self.address_lines("main"))

    @property
    def billing_address(self) -> str:
        return "\n".join(self.address_lines("billing"))

    @property
    def convocation_address(self) -> str:
        return "\n".join(self.address_lines("convocation"))

    @property
    def convocation_contact(self) -> Contact | None:
        return next((c for c in self.contacts if c.function is ContactFunction.convocation), None)

    @property
    def convocation_email(self) -> str | None:
        """Where convocations and reminders go: the convocation contact, else the collectivity."""
        contact = self.convocation_contact
        return (contact.email if contact and contact.email else None) or self.email


class Contact(TenantMixin, Base):
    """A person of the collectivity the CDG talks to, with his function."""

    __tablename__ = "contact"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    function: Mapped[ContactFunction] = enum_column(ContactFunction)
    civility: Mapped[Civility | None] = enum_column(Civility)
    last_name: Mapped[str] = mapped_column(String(100))
    first_name: Mapped[str | None] = mapped_column(String(100))
    email: Mapped[str | None] = email_column()
    phone: Mapped[str | None] = mapped_column(String(20))

    collectivity: Mapped[Collectivity] = relationship(back_populates="contacts", lazy="joined")

    def __str__(self) -> str:
        return " ".join(filter(None, [self.first_name, self.last_name]))


class Professional(Base):
    """A member of the CDG's health staff (doctor, nurse, secretary, IPRP...)."""

    __tablename__ = "professional"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    role: Mapped[ProfessionalRole] = enum_column(ProfessionalRole)
    last_name: Mapped[str] = mapped_column(String(100), index=True)
    first_name: Mapped[str] = mapped_column(String(100))
    email: Mapped[str | None] = email_column()
    phone: Mapped[str | None] = mapped_column(String(20))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("ab_user.id"), unique=True)

    user: Mapped[User | None] = relationship(User, lazy="joined")

    def __str__(self) -> str:
        title = "Dr " if self.role is ProfessionalRole.medecin else ""
        return f"{title}{self.first_name} {self.last_name}"


class HealthTeamMember(TenantMixin, Base):
    """Who follows a collectivity: référent doctor, nurses, secretary, IPRP, ASST..."""

    __tablename__ = "health_team_member"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    role: Mapped[HealthTeamRole] = enum_column(HealthTeamRole)
    professional_id: Mapped[int] = mapped_column(ForeignKey("professional.id"), index=True)

    collectivity: Mapped[Collectivity] = relationship(back_populates="health_team", lazy="joined")
    professional: Mapped[Professional] = relationship(lazy="joined")

    @property
    def professional_email(self) -> str | None:
        return self.professional.email

    @property
    def professional_phone(self) -> str | None:
        return self.professional.phone

    def __str__(self) -> str:
        return f"{self.role.label} : {self.professional}"


office_collectivity = Table(
    "office_collectivity",
    metadata,
    Column("office_id", ForeignKey("office.id", ondelete="CASCADE"), primary_key=True),
    Column("collectivity_id", ForeignKey("collectivity.id", ondelete="CASCADE"), primary_key=True),
)


class Office(Base):
    """A medical office: CDG premises, provided by a collectivity, or a grouping office."""

    __tablename__ = "office"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[OfficeKind] = enum_column(OfficeKind)
    line1: Mapped[str | None] = mapped_column(String(200))
    line2: Mapped[str | None] = mapped_column(String(200))
    postcode: Mapped[str | None] = mapped_column(String(5))
    city: Mapped[str | None] = mapped_column(String(100))
    # Subdivision of the `holidays` package for the office's territory ("57" = Alsace-Moselle).
    holiday_subdivision: Mapped[str | None] = mapped_column(String(8))
    teleconsultation: Mapped[bool] = mapped_column(Boolean, default=False)
    host_collectivity_id: Mapped[int | None] = mapped_column(
        ForeignKey("collectivity.id", ondelete="SET NULL"), index=True
    )
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)

    host_collectivity: Mapped[Collectivity | None] = relationship(
        foreign_keys=[host_collectivity_id], lazy="joined"
    )
    served_collectivities: Mapped[list[Collectivity]] = relationship(
        secondary=office_collectivity, lazy="selectin", order_by="Collectivity.name"
    )

    def __str__(self) -> str:
        return self.name

    @property
    def served_collectivity_ids(self) -> list[int]:
        return [collectivity.id for collectivity in self.served_collectivities]

    @property
    def address(self) -> str:
        return ", ".join(
            filter(
                None, [self.line1, self.line2, " ".join(filter(None, [self.postcode, self.city]))]
            )
        )


# ----------------------------------------------------------------------------------------------
# Missions and conventions
# ----------------------------------------------------------------------------------------------


class Mission(Base):
    """A mission of the CDG a collectivity can subscribe to (TASSIN-2024 Annexe 1)."""

    __tablename__ = "mission"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    label: Mapped[str] = mapped_column(String(200))
    min_agents: Mapped[int | None] = mapped_column(Integer)
    affiliated_only: Mapped[bool] = mapped_column(Boolean, default=False)
    sort_order: Mapped[int] = mapped_column(Integer, default=0)

    def __str__(self) -> str:
        return self.label


class Convention(TenantMixin, Base):
    """A collectivity's subscription to a mission for a period, with its parameters."""

    __tablename__ = "convention"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(60), unique=True)
    mission_id: Mapped[int] = mapped_column(ForeignKey("mission.id"), index=True)
    start_date: Mapped[dt.date] = mapped_column(Date)
    end_date: Mapped[dt.date] = mapped_column(Date)
    tacit_renewal: Mapped[bool] = mapped_column(Boolean, default=True)
    renewed: Mapped[bool] = mapped_column(Boolean, default=False)
    quota_percent: Mapped[decimal.Decimal | None] = mapped_column(Decimal(6, 2))
    declared_payroll: Mapped[decimal.Decimal | None] = mapped_column(Money())
    notes: Mapped[str | None] = mapped_column(Text)

    collectivity: Mapped[Collectivity] = relationship(back_populates="conventions", lazy="joined")
    mission: Mapped[Mission] = relationship(lazy="joined")

    def __str__(self) -> str:
        return self.number


# ----------------------------------------------------------------------------------------------
# Reference lists (B3)
# ----------------------------------------------------------------------------------------------


class Risk(Base):
    """One of the 14 particular risks of a work position."""

    __tablename__ = "risk"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(30), unique=True)
    label: Mapped[str] = mapped_column(String(250))
    short_label: Mapped[str] = mapped_column(String(60))
    precision: Mapped[RiskPrecision] = enum_column(RiskPrecision, default=RiskPrecision.aucune)
    sort_order: Mapped[int] = mapped_column(Integer, default=0)

    effects: Mapped[list[RiskEffectRule]] = relationship(
        back_populates="risk", cascade="all, delete-orphan", order_by="RiskEffectRule.valid_from"
    )

    def __str__(self) -> str:
        return self.short_label


class RiskEffectRule(Base):
    """The follow-up a risk implies during a period, with its legal reference (DOMAIN.md §4)."""

    __tablename__ = "risk_effect"
    __table_args__ = (UniqueConstraint("risk_id", "valid_from"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    risk_id: Mapped[int] = mapped_column(ForeignKey("risk.id", ondelete="CASCADE"), index=True)
    effect: Mapped[FollowUpLevel] = enum_column(FollowUpLevel)
    requires_certificate: Mapped[bool] = mapped_column(Boolean, default=False)
    valid_from: Mapped[dt.date | None] = mapped_column(Date)
    valid_to: Mapped[dt.date | None] = mapped_column(Date)
    legal_reference: Mapped[str] = mapped_column(String(250))

    risk: Mapped[Risk] = relationship(back_populates="effects", lazy="joined")

    def __str__(self) -> str:
        return f"{self.risk} : {self.effect.name}"


class VisitType(Base):
    __tablename__ = "visit_type"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(30), unique=True)
    label: Mapped[str] = mapped_column(String(100))
    sort_order: Mapped[int] = mapped_column(Integer, default=0)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)

    @property
    def phrase(self) -> str:
        """In a sentence: « visite d'embauche », « visite périodique »."""
        from app.rules.planning import visit_phrase

        return visit_phrase(self.label)

    def __str__(self) -> str:
        return self.label


class DocumentNature(Base):
    __tablename__ = "document_nature"
    __table_args__ = (UniqueConstraint("usage", "code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(40))
    label: Mapped[str] = mapped_column(String(100))
    usage: Mapped[DocumentUsage] = enum_column(DocumentUsage)
    sort_order: Mapped[int] = mapped_column(Integer, default=0)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)

    def __str__(self) -> str:
        return self.label


class ContractType(Base):
    __tablename__ = "contract_type"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(30), unique=True)
    label: Mapped[str] = mapped_column(String(100), unique=True)
    is_permanent: Mapped[bool] = mapped_column(Boolean, default=False)
    sort_order: Mapped[int] = mapped_column(Integer, default=0)

    def __str__(self) -> str:
        return self.label


class PcsCode(Base):
    """A PCS-ESE profession code (``^\\d{3}[a-z]$``) with its label."""

    __tablename__ = "pcs_code"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(4), unique=True)
    label: Mapped[str] = mapped_column(String(250))

    def __str__(self) -> str:
        return f"{self.code} – {self.label}"


class StatutoryAct(Base):
    """One of the 17 acts of statutory and control medicine (DOMAIN.md §3)."""

    __tablename__ = "statutory_act"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[int] = mapped_column(Integer, unique=True)
    label: Mapped[str] = mapped_column(String(250))
    kind: Mapped[ActKind] = enum_column(ActKind)
    mandatory: Mapped[bool] = mapped_column(Boolean)
    coefficient: Mapped[decimal.Decimal] = mapped_column(Decimal(5, 2))
    extra_coefficient: Mapped[decimal.Decimal] = mapped_column(Decimal(5, 2), default=0)
    deadline_working_days: Mapped[int] = mapped_column(Integer)

    @property
    def total_coefficient(self) -> decimal.Decimal:
        return self.coefficient + (self.extra_coefficient or 0)

    def __str__(self) -> str:
        return f"{self.number}. {self.label}"


class Tariff(Base):
    """A tariff parameter for a period: a price, a rate or a threshold (DOMAIN.md §1-§3).

    ``code`` names the parameter, ``key`` distinguishes its variants (a billing category, an
    act number); periods of the same (code, key) never overlap.
    """

    __tablename__ = "tariff"
    __table_args__ = (UniqueConstraint("code", "key", "valid_from"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), index=True)
    key: Mapped[str] = mapped_column(String(40), default="")
    label: Mapped[str] = mapped_column(String(250))
    value: Mapped[decimal.Decimal] = mapped_column(Decimal(16, 7))
    unit: Mapped[str] = mapped_column(String(30))
    valid_from: Mapped[dt.date] = mapped_column(Date)
    valid_to: Mapped[dt.date | None] = mapped_column(Date)
    source: Mapped[str | None] = mapped_column(String(250))

    def __str__(self) -> str:
        return f"{self.label} ({self.valid_from:%Y})"

    @property
    def amount(self) -> str:
        """The value with its unit, French style (« 87,00 € par agent et par an », « 5 % »)."""
        from app.core.formatting import format_quantity

        return format_quantity(self.value, self.unit) if self.value is not None else ""
