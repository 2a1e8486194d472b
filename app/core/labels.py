"""French names of models and fields, taken from the screens that show them (issue 10).

One source for every place that names a model or a column outside its own screen (REST
``label_columns``, the audit log, the roles matrix): the ``show_title`` and ``label_columns``
the model's screens and REST resources declare, plus the few columns every table shares.
"""

from __future__ import annotations

from typing import Any

from flask import current_app

# Columns many tables share, named once.
COMMON_LABELS: dict[str, str] = {
    "id": "Identifiant",
    "collectivity_id": "Collectivité",
    "collectivity": "Collectivité",
    "agent_id": "Agent",
    "agent": "Agent",
    "created_at": "Créé le",
    "updated_at": "Modifié le",
    "created_on": "Créé le",
    "changed_on": "Modifié le",
    "created_by_fk": "Créé par",
    "changed_by_fk": "Modifié par",
    "user_id": "Utilisateur",
    "username": "Identifiant de connexion",
    "first_name": "Prénom",
    "last_name": "Nom",
    "email": "Adresse e-mail",
    "active": "Actif",
    "roles": "Rôles",
    "password": "Mot de passe",
    "last_login": "Dernière connexion",
    "login_count": "Nombre de connexions",
    "fail_login_count": "Échecs de connexion",
    "name": "Nom",
    "label": "Libellé",
    "code": "Code",
    "is_confidential": "Confidentielle",
}

# Columns no screen or resource shows (bookkeeping), named for the audit log.
EXTRA_COLUMN_LABELS: dict[str, dict[str, str]] = {
    "archiving_intervention": {
        "day_on": "Date de l'intervention",
        "days": "Durée (jours)",
        "archivist": "Archiviste",
        "description": "Description",
        "status": "État",
    },
    "agent": {
        "service": "Service",
        "validated_at": "Validé par le CDG le",
        "created_by_employer": "Créé par l'employeur",
        "anonymised_on": "Anonymisé le",
        "list_position": "Poste (tri de la liste)",
        "list_start": "Début du contrat (tri de la liste)",
    },
    "membership_application": {
        "applicant_user_id": "Demandeur",
        "status": "État",
        "current_step": "Étape en cours",
        "siret": "SIRET",
        "payload": "Données saisies",
        "conditions_version": "Version des conditions générales acceptées",
        "submitted_at": "Transmise le",
        "decided_at": "Décidée le",
        "decided_by_id": "Décidée par",
        "refusal_reason": "Motif du refus",
        "applicant_function": "Fonction du demandeur",
    },
    "procedure": {
        "kind": "Type de démarche",
        "state": "État",
        "requester_id": "Demandeur",
        "membership_number": "Numéro d'adhérent",
        "siret": "SIRET",
        "former_admin_email": "E-mail de l'ancien administrateur",
        "absorbed_collectivity_id": "Adhérent absorbé",
        "new_siret": "Nouveau SIRET",
        "message": "Description",
        "reason": "Motif",
        "decided_by_id": "Décidée par",
        "decided_at": "Décidée le",
    },
    "bank_statement": {
        "file_name": "Nom du fichier",
        "sha256": "Empreinte SHA-256 du fichier",
        "format": "Format du relevé",
        "imported_by": "Importé par",
        "imported_at": "Importé le",
        "line_count": "Nombre de paiements",
        "matched_count": "Paiements rapprochés",
        "unmatched_count": "Paiements à rapprocher",
        "total_amount": "Montant total",
    },
    "bank_statement_line": {
        "statement_id": "Relevé bancaire",
        "statement": "Relevé bancaire",
        "line_no": "Numéro de ligne",
        "booked_on": "Date de l'opération",
        "amount": "Montant",
        "reference": "Référence",
        "label": "Libellé",
        "debtor": "Débiteur",
        "status": "État du rapprochement",
        "outcome": "Résultat du rapprochement",
        "invoice_id": "Facture",
        "invoice": "Facture",
        "payment_id": "Règlement",
        "excess_amount": "Trop-perçu",
        "note": "Détail",
    },
    "sepa_mandate": {
        "umr": "Référence unique du mandat (RUM)",
        "signed_on": "Signé le",
        "iban": "IBAN",
        "bic": "BIC",
        "debtor_name": "Titulaire du compte",
        "status": "État du mandat",
        "first_debit_sent": "Premier prélèvement envoyé",
    },
    "chorus_batch": {
        "created_by": "Créé par",
        "sent": "Envoyé à Chorus Pro",
        "message": "Message",
    },
    "chorus_deposit": {
        "batch_id": "Lot de dépôt",
        "invoice_id": "Facture",
        "file_name": "Nom du fichier",
        "status": "État du dépôt",
        "deposit_identifier": "Numéro de dépôt Chorus Pro",
        "message": "Message",
        "deposited_at": "Déposée le",
    },
    "plage": {
        "nature": "Nature",
        "lock_version": "Version",
        "reminder_sent_at": "Relance envoyée le",
        "note": "Note",
        "cancel_reason": "Motif d'annulation",
    },
    "plage_refusal": {
        "plage_id": "Plage",
        "reason": "Motif",
        "refused_by_id": "Refusée par",
        "was_reserved": "Était réservée",
    },
    "account_security": {
        "security_question": "Question de sécurité",
        "security_answer_hash": "Réponse de sécurité",
        "locked_until": "Verrouillé jusqu'au",
        "security_stamp": "Jeton de session",
    },
    "work_position": {"label_key": "Intitulé normalisé", "closed_on": "Fermé le"},
    "appointment": {"booked_by_id": "Réservé par"},
    "consultation": {
        "office_id": "Cabinet médical",
        "sheet_released_on": "Fiche publiée le",
        "sheet_path": "Fiche déposée (fichier)",
        "recorded_by_id": "Enregistrée par",
    },
    "document_nature": {"usage": "Usage"},
    "tariff": {"source": "Source"},
    "statutory_act": {"coefficient": "Coefficient"},
    "position_risk": {
        "work_position_id": "Poste de travail",
        "risk_id": "Risque",
        "radiation_category": "Catégorie d'exposition aux rayonnements",
        "caces_categories": "Catégories CACES",
        "description": "Précision",
    },
    "collectivity": {"personal_data_erased_on": "Données personnelles effacées le"},
    "headcount": {
        "validated_at": "Validée le (horodatage)",
        "validated_by_id": "Validée par",
        "reopened_at": "Rouverte le",
    },
    "declaration_reminder": {"year": "Année", "sent_at": "Relance envoyée le"},
    "invoice": {
        "credited_amount": "Montant des avoirs",
        "run_key": "Campagne de facturation",
        "reason": "Motif de l'avoir",
    },
    "invoice_payment": {
        "invoice_id": "Facture",
        "paid_on": "Date du règlement",
        "amount": "Montant",
        "reference": "Référence",
    },
    "invoice_line": {
        "invoice_id": "Facture",
        "position": "Rang",
        "quantity": "Quantité",
        "unit_price": "Prix unitaire",
        "amount": "Montant",
        "source": "Origine du calcul",
    },
    "visit_request_attachment": {
        "visit_request_id": "Demande de visite",
        "nature_id": "Nature du document",
        "filename": "Nom du fichier",
        "stored_path": "Fichier déposé",
        "size": "Taille (octets)",
        "uploaded_by_id": "Déposé par",
    },
    "employer_document": {
        "nature_id": "Nature du document",
        "filename": "Nom du fichier",
        "stored_path": "Fichier déposé",
        "size": "Taille (octets)",
        "uploaded_at": "Déposé le",
        "uploaded_by_id": "Déposé par",
        "no_medical_data_by_id": "« Sans données médicales » coché par",
        "no_medical_data_at": "« Sans données médicales » coché le",
        "received_at": "Réception confirmée le",
        "received_by_id": "Réception confirmée par",
    },
    "published_document": {
        "folder": "Répertoire",
        "title": "Titre",
        "filename": "Nom du fichier",
        "stored_path": "Fichier publié",
        "size": "Taille (octets)",
        "published_on": "Publié le",
        "published_by_id": "Publié par",
    },
    "prevention_action": {
        "kind": "Type d'action",
        "action_on": "Date",
        "participants": "Participants",
        "duration_minutes": "Durée (minutes)",
        "summary": "Résumé",
        "report_filename": "Compte rendu",
        "report_path": "Compte rendu (fichier)",
        "recorded_by_id": "Enregistrée par",
    },
    "prevention_module": {
        "title": "Intitulé",
        "content": "Contenu",
        "audience": "Public visé",
        "duration_minutes": "Durée (minutes)",
        "is_active": "Actif",
    },
    "prevention_session": {
        "module_id": "Module",
        "starts_at": "Date et heure",
        "place": "Lieu",
        "capacity": "Nombre de places",
        "registration_deadline": "Date limite d'inscription",
        "closed_at": "Inscriptions closes le",
        "lock_version": "Version",
    },
    "prevention_registration": {
        "session_id": "Session",
        "seat_index": "Place",
        "status": "État",
        "attended": "Présent",
        "registered_at": "Inscrit le",
        "registered_by_id": "Inscrit par",
    },
    "staged_agent_change": {
        "field": "Champ",
        "old_value": "Ancienne valeur",
        "new_value": "Nouvelle valeur",
        "status": "Statut",
        "requested_by_id": "Demandé par",
        "processed_at": "Traité le",
        "note": "Note",
    },
}

# Models whose screens are hand-written pages (no show_title to read) and FAB's user.
MODEL_LABELS: dict[str, str] = {
    "archiving_intervention": "Intervention d'archivage",
    "ab_user": "Utilisateur",
    "ab_role": "Rôle",
    "account_security": "Sécurité du compte",
    "position_risk": "Risque d'un poste",
    "staged_agent_change": "Modification d'agent en attente de validation",
    "plage_refusal": "Refus de plage",
    "agent_assignment": "Agent confié à un compte secondaire",
    "visit_request_attachment": "Pièce jointe d'une demande de visite",
    "employer_document": "Document déposé par l'employeur",
    "published_document": "Document publié pour la collectivité",
    "prevention_action": "Action de prévention",
    "prevention_module": "Module de prévention",
    "prevention_session": "Session de prévention",
    "prevention_registration": "Inscription à une session de prévention",
    "declaration_reminder": "Relance de déclaration annuelle",
    "invoice_line": "Ligne de facture",
    "invoice_payment": "Règlement de facture",
    "invoice_sequence": "Compteur des numéros de facture",
    "membership_application": "Demande d'adhésion",
    "procedure": "Démarche",
    "chorus_batch": "Lot de dépôt Chorus Pro",
    "sepa_mandate": "Mandat de prélèvement SEPA",
    "bank_statement": "Relevé bancaire importé",
    "bank_statement_line": "Ligne de relevé bancaire",
    "chorus_deposit": "Dépôt Chorus Pro d'une facture",
}


def _declared() -> list[Any]:
    """Every registered ModelView and ModelRestApi, screens first."""
    from flask_appbuilder import ModelView
    from flask_appbuilder.api import ModelRestApi

    views = current_app.appbuilder.baseviews
    return [v for v in views if isinstance(v, ModelView)] + [
        v for v in views if isinstance(v, ModelRestApi)
    ]


def _prettified(column: str) -> str:
    return column.replace("_", " ").title()


def declared_labels(model: type) -> dict[str, str]:
    """The labels the model's screens and resources chose (FAB's English guesses left out)."""
    labels: dict[str, str] = {}
    for view in _declared():
        if view.datamodel.obj is not model:
            continue
        for column, label in (view.label_columns or {}).items():
            text = str(label)
            if column not in labels and text and text != _prettified(column):
                labels[column] = text
    return labels


def field_label(model: type | None, column: str, labels: dict[str, str] | None = None) -> str:
    """French name of a column: the model's screens, then the shared names; ``x_id`` is
    named like its relation ``x``."""
    labels = labels if labels is not None else (declared_labels(model) if model else {})
    extra = EXTRA_COLUMN_LABELS.get(getattr(model, "__tablename__", ""), {})
    if column in extra and column not in labels:
        return extra[column]
    for key in (column, column[:-3] if column.endswith("_id") else None):
        if key and key in labels:
            return labels[key]
        if key and key in COMMON_LABELS:
            return COMMON_LABELS[key]
    return column


def model_for_table(table_name: str) -> type | None:
    from flask_appbuilder import Model

    for mapper in Model.registry.mappers:
        if getattr(mapper.class_, "__tablename__", None) == table_name:
            return mapper.class_  # type: ignore[no-any-return]
    return None


def model_label(table_name: str) -> str:
    """French name of a table's records: its screen's or resource's ``show_title``."""
    if table_name in MODEL_LABELS:
        return MODEL_LABELS[table_name]
    model = model_for_table(table_name)
    for view in _declared():
        if view.datamodel.obj is model and getattr(view, "show_title", None):
            title = str(view.show_title)
            if not title.startswith("Show "):
                return title
    return table_name.replace("_", " ").capitalize()


# Resources shared by several screens or with no menu entry of their own.
RESOURCE_LABELS: dict[str, str] = {
    "ReferenceList": "Listes de référence (types de visite, de contrat, codes PCS…)",
    "OpenApi": "Documentation de l'API",
    "MyAccount": "Mon compte",
    "Contract": "Contrats des agents",
    "Plage": "Plages de consultation",
    "Appointment": "Rendez-vous",
    "Booking": "Réservations (employeur)",
    "PlageCalendar": "Plannings des cabinets",
    "AgentExport": "Export des données d'un agent",
    "VisitRequest": "Demandes de visite (API)",
    "Consultation": "Consultations (API)",
    "MedicalNote": "Notes médicales des consultations (lecture journalisée)",
    "Document": "Documents déposés par les employeurs (API)",
    "Declaration": "Déclarations annuelles (API)",
}


def resource_label(resource: str) -> str:
    """French name of a permission resource: the menu entry of its screen."""
    if resource in RESOURCE_LABELS:
        return RESOURCE_LABELS[resource]
    for category in current_app.appbuilder.menu.get_list():
        for item in [category, *category.childs]:
            view = getattr(item, "baseview", None)
            if view is not None and view.class_permission_name == resource and item.label:
                return str(item.label)
    for view in current_app.appbuilder.baseviews:
        if view.class_permission_name == resource:
            title = getattr(view, "list_title", None) or getattr(view, "show_title", None)
            if title and not str(title).startswith(("List ", "Show ")):
                return str(title)
    return resource
