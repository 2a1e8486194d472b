"""Reference-data screens for CDG staff (SPEC B1-B4)."""

from __future__ import annotations

from typing import Any

from flask_appbuilder.fieldwidgets import BS3TextFieldWidget
from flask_appbuilder.models.sqla.interface import SQLAInterface
from wtforms import StringField
from wtforms.validators import DataRequired, Length, Optional

from app.core.exports import ExportMixin
from app.core.views import AppModelView, compact
from app.referential import services
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
    TariffCategory,
    VisitType,
)
from app.security import Res

ADDRESS_LABELS = {
    "main_line1": "Adresse",
    "main_line2": "Complément d'adresse",
    "main_postcode": "Code postal",
    "main_city": "Ville",
    "billing_name": "Raison sociale (facturation)",
    "billing_line1": "Adresse de facturation",
    "billing_line2": "Complément (facturation)",
    "billing_postcode": "Code postal (facturation)",
    "billing_city": "Ville (facturation)",
    "chorus_service_code": "Code service Chorus Pro",
    "chorus_engagement_number": "N° d'engagement Chorus Pro",
    "convocation_name": "Raison sociale (convocations)",
    "convocation_line1": "Adresse des convocations",
    "convocation_line2": "Complément (convocations)",
    "convocation_postcode": "Code postal (convocations)",
    "convocation_city": "Ville (convocations)",
}

CONTACT_LABELS = {
    "function": "Fonction",
    "civility": "Civilité",
    "last_name": "Nom",
    "first_name": "Prénom",
    "email": "Adresse e-mail",
    "phone": "Téléphone",
    "collectivity": "Collectivité",
}


class ContactView(AppModelView):
    datamodel = SQLAInterface(Contact)
    class_permission_name = Res.CONTACT
    list_title = "Contacts des collectivités"
    show_title = "Contact"
    add_title = "Nouveau contact"
    edit_title = "Modifier le contact"
    list_columns = ["collectivity", "function", "last_name", "first_name", "email", "phone"]
    add_columns = [
        "collectivity",
        "function",
        "civility",
        "last_name",
        "first_name",
        "email",
        "phone",
    ]
    edit_columns = add_columns
    show_columns = add_columns
    search_columns = ["last_name", "first_name", "email", "function"]
    label_columns = CONTACT_LABELS
    order_columns = ["last_name", "first_name", "function"]
    base_order = ("last_name", "asc")

    def pre_add(self, item: Contact) -> None:
        services.prepare_contact(item)

    def pre_update(self, item: Contact) -> None:
        services.prepare_contact(item)


class HealthTeamView(AppModelView):
    datamodel = SQLAInterface(HealthTeamMember)
    class_permission_name = Res.HEALTH_TEAM
    list_title = "Équipes santé"
    show_title = "Membre de l'équipe santé"
    add_title = "Ajouter un membre à l'équipe santé"
    edit_title = "Modifier un membre de l'équipe santé"
    list_columns = ["collectivity", "role", "professional"]
    add_columns = ["collectivity", "role", "professional"]
    edit_columns = add_columns
    show_columns = add_columns
    search_columns = ["role"]
    label_columns = {
        "collectivity": "Collectivité",
        "role": "Fonction",
        "professional": "Professionnel",
    }


class ConventionView(ExportMixin, AppModelView):
    datamodel = SQLAInterface(Convention)
    class_permission_name = Res.CONVENTION
    list_title = "Conventions"
    show_title = "Convention"
    add_title = "Nouvelle convention"
    edit_title = "Modifier la convention"
    list_columns = ["number", "collectivity", "mission", "start_date", "end_date", "renewed"]
    add_columns = [
        "number",
        "collectivity",
        "mission",
        "start_date",
        "end_date",
        "tacit_renewal",
        "renewed",
        "quota_percent",
        "declared_payroll",
        "notes",
    ]
    edit_columns = add_columns
    show_columns = add_columns
    search_columns = ["number", "start_date", "end_date"]
    order_columns = ["number", "start_date", "end_date"]
    label_columns = {
        "number": "Numéro",
        "collectivity": "Collectivité",
        "mission": "Mission",
        "start_date": "Début",
        "end_date": "Fin",
        "tacit_renewal": "Reconduction tacite (une fois)",
        "renewed": "Reconduite",
        "quota_percent": "Droit de tirage (%)",
        "declared_payroll": "Masse salariale déclarée (€)",
        "notes": "Observations",
    }
    description_columns = {"number": "Par exemple : 295 - CU - MEDPREV - 2025"}

    def pre_add(self, item: Convention) -> None:
        services.prepare_convention(item)

    def pre_update(self, item: Convention) -> None:
        services.prepare_convention(item)


class CollectivityView(ExportMixin, AppModelView):
    datamodel = SQLAInterface(Collectivity)
    class_permission_name = Res.COLLECTIVITY
    list_title = "Collectivités adhérentes"
    show_title = "Collectivité"
    add_title = "Nouvelle collectivité"
    edit_title = "Modifier la collectivité"
    list_columns = ["name", "kind", "siret", "membership_number", "category", "main_city"]
    search_columns = ["name", "siret", "membership_number", "kind", "category", "main_city"]
    order_columns = ["name", "siret", "membership_number", "main_city"]
    base_order = ("name", "asc")
    identification = [
        "name",
        "kind",
        "siret",
        "naf_code",
        "membership_number",
        "regime",
        "phone",
        "email",
    ]
    membership = [
        "category",
        "has_own_cst",
        "secretariat_mode",
        "membership_start",
        "membership_end",
    ]
    main_address = ["main_line1", "main_line2", "main_postcode", "main_city"]
    billing_address = [
        "billing_name",
        "billing_line1",
        "billing_line2",
        "billing_postcode",
        "billing_city",
        "chorus_service_code",
        "chorus_engagement_number",
    ]
    convocation_address = [
        "convocation_name",
        "convocation_line1",
        "convocation_line2",
        "convocation_postcode",
        "convocation_city",
    ]
    add_fieldsets = [
        ("Identification", {"fields": identification}),
        ("Adhésion", {"fields": membership}),
        ("Adresse principale", {"fields": main_address}),
        (
            "Adresse de facturation (à défaut : l'adresse principale)",
            {"fields": billing_address},
        ),
        (
            "Adresse des convocations (à défaut : l'adresse principale)",
            {"fields": convocation_address},
        ),
    ]
    edit_fieldsets = add_fieldsets
    show_fieldsets = [
        ("Identification", {"fields": [*identification[:3], "siren", *identification[3:]]}),
        ("Adhésion", {"fields": membership}),
        (
            "Adresses",
            {"fields": ["main_address", "billing_address", "convocation_address"]},
        ),
    ]
    label_columns = {
        "name": "Nom",
        "kind": "Type",
        "siret": "SIRET",
        "siren": "SIREN",
        "naf_code": "Code NAF",
        "membership_number": "N° d'adhérent",
        "regime": "Régime",
        "phone": "Téléphone",
        "email": "Adresse e-mail",
        "category": "Catégorie de tarification",
        "has_own_cst": "Dispose de son propre CST",
        "secretariat_mode": "Secrétariat",
        "membership_start": "Début d'adhésion",
        "membership_end": "Fin d'adhésion",
        "main_address": "Adresse principale",
        "billing_address": "Adresse de facturation",
        "convocation_address": "Adresse des convocations",
        **ADDRESS_LABELS,
    }
    description_columns = {
        "siret": "14 chiffres ; le SIREN en est déduit.",
        "naf_code": "Par exemple : 84.11Z",
        "category": "Détermine le coût unitaire de la médecine préventive.",
        "secretariat_mode": "Secrétariat du CDG en dessous de 800 agents, interne au-delà.",
    }
    related_views = [ContactView, HealthTeamView, ConventionView]
    # Duplicates are checked by the service with the seed's message, spaces are accepted.
    add_form_extra_fields = {
        "siret": StringField(
            "SIRET",
            description="14 chiffres ; le SIREN en est déduit.",
            filters=[compact],
            validators=[DataRequired(), Length(max=20)],
            widget=BS3TextFieldWidget(),
        ),
        "membership_number": StringField(
            "N° d'adhérent",
            filters=[lambda v: v.strip() if isinstance(v, str) else v],
            validators=[Optional(), Length(max=20)],
            widget=BS3TextFieldWidget(),
        ),
    }
    edit_form_extra_fields = add_form_extra_fields

    def pre_add(self, item: Collectivity) -> None:
        services.prepare_collectivity(item)

    def pre_update(self, item: Collectivity) -> None:
        services.prepare_collectivity(item)


class ProfessionalView(AppModelView):
    datamodel = SQLAInterface(Professional)
    class_permission_name = Res.PROFESSIONAL
    list_title = "Professionnels de santé"
    show_title = "Professionnel"
    add_title = "Nouveau professionnel"
    edit_title = "Modifier le professionnel"
    list_columns = ["last_name", "first_name", "role", "email", "phone", "is_active"]
    add_columns = ["role", "last_name", "first_name", "email", "phone", "is_active", "user"]
    edit_columns = add_columns
    show_columns = add_columns
    search_columns = ["last_name", "first_name", "role", "is_active"]
    order_columns = ["last_name", "first_name"]
    base_order = ("last_name", "asc")
    label_columns = {
        "role": "Fonction",
        "last_name": "Nom",
        "first_name": "Prénom",
        "email": "Adresse e-mail",
        "phone": "Téléphone",
        "is_active": "En activité",
        "user": "Compte utilisateur",
    }


class OfficeView(AppModelView):
    datamodel = SQLAInterface(Office)
    class_permission_name = Res.OFFICE
    list_title = "Cabinets médicaux"
    show_title = "Cabinet médical"
    add_title = "Nouveau cabinet médical"
    edit_title = "Modifier le cabinet médical"
    list_columns = ["name", "kind", "city", "teleconsultation", "is_active"]
    add_columns = [
        "name",
        "kind",
        "line1",
        "line2",
        "postcode",
        "city",
        "holiday_subdivision",
        "teleconsultation",
        "host_collectivity",
        "served_collectivities",
        "is_active",
    ]
    edit_columns = add_columns
    show_columns = add_columns
    search_columns = ["name", "kind", "city", "teleconsultation"]
    order_columns = ["name", "city"]
    base_order = ("name", "asc")
    label_columns = {
        "name": "Nom",
        "kind": "Type",
        "line1": "Adresse",
        "line2": "Complément d'adresse",
        "postcode": "Code postal",
        "city": "Ville",
        "holiday_subdivision": "Calendrier des jours fériés",
        "teleconsultation": "Téléconsultation possible",
        "host_collectivity": "Collectivité hôte",
        "served_collectivities": "Collectivités desservies",
        "is_active": "En service",
    }
    description_columns = {
        "holiday_subdivision": "Vide : calendrier national ; 57, 67 ou 68 : Alsace-Moselle ; "
        "971 à 976 : outre-mer.",
        "host_collectivity": "Pour un cabinet mis à disposition par une collectivité.",
    }

    def pre_update(self, item: Office) -> None:
        from app.planning import services as planning

        planning.check_office_change(item)


class MissionView(AppModelView):
    datamodel = SQLAInterface(Mission)
    class_permission_name = Res.MISSION
    list_title = "Missions"
    show_title = "Mission"
    add_title = "Nouvelle mission"
    edit_title = "Modifier la mission"
    list_columns = ["code", "label", "min_agents", "affiliated_only"]
    add_columns = ["code", "label", "min_agents", "affiliated_only", "sort_order"]
    edit_columns = add_columns
    show_columns = add_columns
    search_columns = ["code", "label"]
    base_order = ("sort_order", "asc")
    label_columns = {
        "code": "Code",
        "label": "Libellé",
        "min_agents": "Réservée au-delà de (agents)",
        "affiliated_only": "Collectivités affiliées seulement",
        "sort_order": "Ordre",
    }


class RiskEffectView(AppModelView):
    datamodel = SQLAInterface(RiskEffectRule)
    class_permission_name = Res.RISK
    list_title = "Effets des risques sur le suivi (règles datées)"
    show_title = "Effet d'un risque"
    add_title = "Nouvelle règle d'effet"
    edit_title = "Modifier la règle d'effet"
    list_columns = [
        "risk",
        "effect",
        "requires_certificate",
        "valid_from",
        "valid_to",
        "legal_reference",
    ]
    add_columns = [
        "risk",
        "effect",
        "requires_certificate",
        "valid_from",
        "valid_to",
        "legal_reference",
    ]
    edit_columns = add_columns
    show_columns = add_columns
    search_columns = ["effect", "valid_from", "valid_to"]
    base_order = ("valid_from", "asc")
    label_columns = {
        "risk": "Risque",
        "effect": "Suivi",
        "requires_certificate": "Attestation requise",
        "valid_from": "En vigueur du",
        "valid_to": "au",
        "legal_reference": "Référence juridique",
    }


class RiskView(AppModelView):
    datamodel = SQLAInterface(Risk)
    class_permission_name = Res.RISK
    list_title = "Risques particuliers"
    show_title = "Risque"
    add_title = "Nouveau risque"
    edit_title = "Modifier le risque"
    list_columns = ["sort_order", "short_label", "label", "precision"]
    add_columns = ["code", "short_label", "label", "precision", "sort_order"]
    edit_columns = add_columns
    show_columns = add_columns
    search_columns = ["code", "label", "short_label"]
    base_order = ("sort_order", "asc")
    label_columns = {
        "code": "Code",
        "short_label": "Libellé court",
        "label": "Libellé",
        "precision": "Précision demandée",
        "sort_order": "N°",
    }
    related_views = [RiskEffectView]


def _reference_view(
    model: Any,
    title: str,
    item: str,
    columns: list[str],
    labels: dict[str, str],
    search: list[str],
    order: tuple[str, str],
) -> type[AppModelView]:
    return type(
        f"{model.__name__}View",
        (AppModelView,),
        {
            "datamodel": SQLAInterface(model),
            "class_permission_name": Res.REFERENCE,
            "list_title": title,
            "show_title": item,
            "add_title": f"Ajouter : {item.lower()}",
            "edit_title": f"Modifier : {item.lower()}",
            "list_columns": columns,
            "add_columns": columns,
            "edit_columns": columns,
            "show_columns": columns,
            "search_columns": search,
            "label_columns": labels,
            "base_order": order,
        },
    )


COMMON_LABELS = {
    "code": "Code",
    "label": "Libellé",
    "sort_order": "Ordre",
    "is_active": "Actif",
}

VisitTypeView = _reference_view(
    VisitType,
    "Types de visite",
    "Type de visite",
    ["code", "label", "sort_order", "is_active"],
    COMMON_LABELS,
    ["code", "label"],
    ("sort_order", "asc"),
)
DocumentNatureView = _reference_view(
    DocumentNature,
    "Natures de document",
    "Nature de document",
    ["usage", "code", "label", "sort_order", "is_active"],
    {**COMMON_LABELS, "usage": "Usage"},
    ["label", "usage"],
    ("sort_order", "asc"),
)
ContractTypeView = _reference_view(
    ContractType,
    "Types de contrat",
    "Type de contrat",
    ["code", "label", "is_permanent", "sort_order"],
    {**COMMON_LABELS, "is_permanent": "Emploi permanent"},
    ["code", "label"],
    ("sort_order", "asc"),
)
StatutoryActView = _reference_view(
    StatutoryAct,
    "Actes de médecine statutaire",
    "Acte de médecine statutaire",
    [
        "number",
        "label",
        "kind",
        "mandatory",
        "coefficient",
        "extra_coefficient",
        "deadline_working_days",
    ],
    {
        "number": "N°",
        "label": "Acte",
        "kind": "Nature",
        "mandatory": "Obligatoire",
        "coefficient": "Coefficient",
        "extra_coefficient": "Coefficient supplémentaire",
        "deadline_working_days": "Délai (jours ouvrés)",
    },
    ["label", "kind", "mandatory"],
    ("number", "asc"),
)


class PcsCodeView(
    _reference_view(  # type: ignore[misc]
        PcsCode,
        "Codes PCS",
        "Code PCS",
        ["code", "label"],
        COMMON_LABELS,
        ["code", "label"],
        ("code", "asc"),
    )
):
    def pre_add(self, item: PcsCode) -> None:
        item.code = services.prepare_pcs(item.code)

    def pre_update(self, item: PcsCode) -> None:
        item.code = services.prepare_pcs(item.code)


# Variants of a tariff that are not billing categories (DOMAIN.md §3).
TARIFF_KEY_LABELS = {
    "": "",
    "affiliee_cst": "Affiliée disposant de son CST",
    "non_affiliee": "Non affiliée",
    "portage": "Portage salarial",
    "contrat": "Contrat d'intérim",
}


def tariff_key_label(key: str) -> str:
    """« Collectivité affiliée » for ``affiliee``, « Acte n° 3 » for ``3``."""
    if key in TariffCategory.__members__:
        return TariffCategory[key].label
    if key.isdigit():
        return f"Acte n° {key}"
    return TARIFF_KEY_LABELS.get(key, key)


class TariffView(AppModelView):
    datamodel = SQLAInterface(Tariff)
    class_permission_name = Res.TARIFF
    list_title = "Tarifs par période"
    show_title = "Tarif"
    add_title = "Nouveau tarif"
    edit_title = "Modifier le tarif"
    list_columns = ["code", "label", "key", "amount", "valid_from", "valid_to", "source"]
    add_columns = ["code", "key", "label", "value", "unit", "valid_from", "valid_to", "source"]
    edit_columns = add_columns
    show_columns = ["code", "key", "label", "amount", "valid_from", "valid_to", "source"]
    search_columns = ["code", "key", "label", "valid_from", "valid_to"]
    order_columns = ["code", "label", "key", "valid_from", "valid_to"]
    base_order = ("code", "asc")
    label_columns = {
        "code": "Paramètre",
        "key": "Variante",
        "label": "Libellé",
        "value": "Valeur",
        "unit": "Unité",
        "amount": "Montant ou taux",
        "valid_from": "En vigueur du",
        "valid_to": "au",
        "source": "Source",
    }
    formatters_columns = {"key": tariff_key_label}
    description_columns = {
        "key": "Catégorie de tarification ou numéro d'acte selon le paramètre.",
        "valid_to": "Vide : sans date de fin.",
    }

    def pre_add(self, item: Tariff) -> None:
        services.prepare_tariff(item)

    def pre_update(self, item: Tariff) -> None:
        services.prepare_tariff(item)
