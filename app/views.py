"""Menu and registration of every screen and REST resource (order = menu order)."""

from __future__ import annotations

from flask_appbuilder import AppBuilder, ModelView

from app.accounts import portal_views as portal
from app.accounts import views as accounts
from app.billing import archiving_views, invoice_api
from app.billing import invoice_views as invoices
from app.billing import run_views as billing_runs
from app.billing.declaration_api import DeclarationApi
from app.billing.declaration_views import MyDeclarationsView
from app.core.admin_views import AuditLogView, OutboxView
from app.core.emails import add_email_validators
from app.dashboards import views as dashboards
from app.documents import api as documents_api
from app.documents import prevention_views as prevention
from app.documents import views as documents
from app.membership import views as membership
from app.planning import api as planning_api
from app.planning import views as planning
from app.procedures import views as procedures
from app.referential import api as referential_api
from app.referential import views as referential
from app.retention import views as retention
from app.scheduling import api as scheduling_api
from app.scheduling import views as scheduling
from app.statutory import acfi_views
from app.statutory import api as statutory_api
from app.statutory import views as statutory
from app.visits import consultation_api, due_views
from app.visits import consultation_views as consultations
from app.visits import history_views as consultation_history
from app.visits import request_api as visit_request_api
from app.visits import request_views as visit_requests
from app.workforce import api as workforce_api
from app.workforce import views as workforce

MEMBERS = "Adhérents"
ORGANISATION = "Organisation"
REFERENCE = "Référentiels"
ADMINISTRATION = "Administration"
MY_SPACE = "Mon espace"
PLANNING = "Planning"
WORKFORCE = "Effectif"
STEERING = "Pilotage"


def register_views(appbuilder: AppBuilder) -> None:
    add = appbuilder.add_view
    add(
        portal.MyDetailsView,
        "Mes coordonnées",
        icon="fa-address-card",
        category=MY_SPACE,
        category_icon="fa-home",
    )
    add(portal.MyContactsView, "Mes contacts", icon="fa-address-book", category=MY_SPACE)
    add(portal.MyHealthTeamView, "Équipe santé", icon="fa-user-md", category=MY_SPACE)
    add(portal.SecondaryAccountsView, "Comptes secondaires", icon="fa-users", category=MY_SPACE)
    add(acfi_views.MyAcfiView, "Inspection", icon="fa-hard-hat", category=MY_SPACE)
    add(archiving_views.MyArchivingView, "Archivage", icon="fa-archive", category=MY_SPACE)
    add(MyDeclarationsView, "Déclarations", icon="fa-file-alt", category=MY_SPACE)
    add(invoices.EmployerInvoicesView, "Factures", icon="fa-file-invoice", category=MY_SPACE)

    add(
        planning.PlanningView,
        "Consultations",
        icon="fa-calendar-check",
        category=PLANNING,
        category_icon="fa-calendar",
    )
    add(planning.PlagesView, "Plannings des cabinets", icon="fa-calendar-alt", category=PLANNING)
    # Health staff's day (SPEC E4, E5), in Planning: a category of its own made the staff menu
    # bar wrap at 1366 px. Its name differs from the employer's « Consultations » (one menu
    # permission per name).
    add(
        consultations.ConsultationsView,
        "Consultations du jour",
        icon="fa-stethoscope",
        category=PLANNING,
    )
    add(
        consultation_history.ConsultationHistoryView,
        "Historique des consultations",
        icon="fa-history",
        category=PLANNING,
    )
    add(
        consultations.VisitSheetsView,
        "Fiches de visite",
        icon="fa-file-medical",
        category=MY_SPACE,
    )
    add(documents.MyDocumentsView, "Mes documents", icon="fa-folder-open", category=MY_SPACE)
    add(documents.EmployerDocumentsView, "Dépôt de documents", icon="fa-upload", category=MY_SPACE)
    add(membership.MembershipWizardView, "Votre adhésion", icon="fa-handshake-o", category=MY_SPACE)
    add(procedures.MyProceduresView, "Mes démarches", icon="fa-tasks", category=MY_SPACE)
    add(
        procedures.ProceduresToValidateView,
        "Démarches à valider",
        icon="fa-check-circle",
        category=MY_SPACE,
    )
    add(
        prevention.MyPreventionView,
        "Mes actions de prévention",
        icon="fa-shield-alt",
        category=MY_SPACE,
    )
    add(
        prevention.ProgrammeView,
        "Programme et inscriptions",
        icon="fa-chalkboard-teacher",
        category=MY_SPACE,
    )
    add(
        visit_requests.VisitRequestQueueView,
        "Demandes de visite",
        icon="fa-clock",
        category=PLANNING,
    )
    # Menu names are permissions: the secretariat's entry has a name of its own (same label).
    add(
        due_views.DueQueueView,
        "Demandes à planifier (secrétariat)",
        label="Demandes à planifier",
        icon="fa-hourglass-half",
        category=PLANNING,
    )

    add(
        workforce.AgentsView,
        "Agents",
        icon="fa-id-badge",
        category=WORKFORCE,
        category_icon="fa-users",
    )
    add(workforce.PositionsView, "Postes de travail", icon="fa-briefcase", category=WORKFORCE)
    add(workforce.ImportsView, "Importer", icon="fa-upload", category=WORKFORCE)
    add(
        visit_requests.VisitRequestsView,
        "Suivi des demandes",
        icon="fa-clock",
        category=WORKFORCE,
    )
    add(
        due_views.DueListView,
        "Demandes à planifier",
        icon="fa-hourglass-half",
        category=WORKFORCE,
    )
    add(workforce.HeadcountView, "Effectifs déclarés", icon="fa-chart-line", category=WORKFORCE)
    add(
        statutory.StatutoryRequestsView,
        "Médecine statutaire",
        icon="fa-user-md",
        category=WORKFORCE,
    )
    add(
        statutory.StatutoryQueueView,
        "Médecine statutaire (secrétariat)",
        label="Médecine statutaire",
        icon="fa-gavel",
        category=PLANNING,
    )
    add(
        workforce.AgentValidationView,
        "Validation et synchronisation",
        icon="fa-sync",
        category=WORKFORCE,
    )

    add(
        referential.CollectivityView,
        "Collectivités",
        icon="fa-building",
        category=MEMBERS,
        category_icon="fa-building",
    )
    add(referential.ContactView, "Contacts", icon="fa-address-book", category=MEMBERS)
    add(referential.HealthTeamView, "Équipes santé", icon="fa-user-md", category=MEMBERS)
    add(referential.ConventionView, "Conventions", icon="fa-file-signature", category=MEMBERS)
    add(acfi_views.AcfiView, "Inspection (ACFI)", icon="fa-hard-hat", category=MEMBERS)
    add(archiving_views.ArchivingView, "Archivage", icon="fa-archive", category=MEMBERS)
    add(documents.DepositQueueView, "Documents déposés", icon="fa-inbox", category=MEMBERS)
    add(
        membership.MembershipQueueView,
        "Adhésions à valider",
        icon="fa-check-square",
        category=MEMBERS,
    )
    add(procedures.ProcedureQueueView, "Démarches", icon="fa-tasks", category=MEMBERS)
    add(documents.PublicationsView, "Publier un document", icon="fa-file-upload", category=MEMBERS)
    add(
        prevention.PreventionActionsView,
        "Prévention hors visites",
        icon="fa-shield-alt",
        category=MEMBERS,
    )
    add(
        prevention.CatalogueView,
        "Catalogue de prévention",
        icon="fa-chalkboard-teacher",
        category=MEMBERS,
    )

    add(
        referential.OfficeView,
        "Cabinets médicaux",
        icon="fa-clinic-medical",
        category=ORGANISATION,
        category_icon="fa-sitemap",
    )
    add(
        referential.ProfessionalView,
        "Professionnels de santé",
        icon="fa-user-nurse",
        category=ORGANISATION,
    )

    add(
        referential.RiskView,
        "Risques",
        icon="fa-exclamation-triangle",
        category=REFERENCE,
        category_icon="fa-list",
    )
    add(
        referential.RiskEffectView,
        "Effets des risques",
        icon="fa-calendar-check",
        category=REFERENCE,
    )
    add(referential.VisitTypeView, "Types de visite", icon="fa-stethoscope", category=REFERENCE)
    add(referential.DocumentNatureView, "Natures de document", icon="fa-file", category=REFERENCE)
    add(
        referential.ContractTypeView,
        "Types de contrat",
        icon="fa-file-contract",
        category=REFERENCE,
    )
    add(referential.PcsCodeView, "Codes PCS", icon="fa-tags", category=REFERENCE)
    add(
        referential.StatutoryActView,
        "Actes de médecine statutaire",
        icon="fa-gavel",
        category=REFERENCE,
    )
    add(referential.MissionView, "Missions", icon="fa-briefcase", category=REFERENCE)
    add(referential.TariffView, "Tarifs", icon="fa-euro-sign", category=REFERENCE)
    add(
        due_views.PeriodicityRuleView,
        "Périodicité des visites",
        icon="fa-calendar-alt",
        category=REFERENCE,
    )

    add(
        accounts.EmployerAccountView,
        "Comptes employeurs",
        icon="fa-user-tie",
        category=ADMINISTRATION,
        category_icon="fa-cogs",
    )
    add(
        AuditLogView,
        "Journal d'audit",
        icon="fa-history",
        category=ADMINISTRATION,
        category_icon="fa-cogs",
    )
    add(OutboxView, "Courriels envoyés", icon="fa-envelope", category=ADMINISTRATION)
    add(
        scheduling.ScheduledJobsView,
        "Tâches planifiées",
        icon="fa-clock",
        category=ADMINISTRATION,
    )
    add(
        consultations.MedicalAccessView,
        "Accès aux données médicales",
        icon="fa-user-shield",
        category=ADMINISTRATION,
    )

    # Direction's and accounting's entries share one category: a « Tableau de bord » of its own
    # beside « Comptabilité » made the Admin and Direction menu bars wrap at 1366 px.
    add(
        dashboards.DashboardView,
        "Tableau de bord",
        icon="fa-chart-bar",
        category=STEERING,
        category_icon="fa-chart-bar",
    )
    add(dashboards.MyDashboardView, "Tableau de bord", icon="fa-chart-bar", category=MY_SPACE)

    appbuilder.add_view_no_menu(accounts.PrimaryAccountView)
    appbuilder.add_view_no_menu(accounts.PasswordLinkView)
    appbuilder.add_view_no_menu(accounts.SetPasswordView)
    appbuilder.add_view_no_menu(membership.RegistrationView)
    appbuilder.add_view_no_menu(accounts.MyAccountView)
    appbuilder.add_view_no_menu(retention.AgentExportView)
    appbuilder.add_view_no_menu(consultations.ConsultationDetailView)
    appbuilder.add_view_no_menu(statutory.StatutoryReportView)

    appbuilder.add_api(referential_api.CollectivityApi)
    appbuilder.add_api(referential_api.OfficeApi)
    appbuilder.add_api(referential_api.ProfessionalApi)
    appbuilder.add_api(referential_api.ConventionApi)
    appbuilder.add_api(workforce_api.AgentApi)
    appbuilder.add_api(workforce_api.WorkPositionApi)
    appbuilder.add_api(workforce_api.ContractApi)
    appbuilder.add_api(planning_api.PlageApi)
    appbuilder.add_api(planning_api.AppointmentApi)
    appbuilder.add_api(visit_request_api.VisitRequestApi)
    appbuilder.add_api(scheduling_api.JobRunApi)
    appbuilder.add_api(consultation_api.ConsultationApi)
    appbuilder.add_api(statutory_api.StatutoryRequestApi)
    appbuilder.add_api(statutory_api.AcfiPlanApi)
    appbuilder.add_api(statutory_api.AcfiDayApi)
    appbuilder.add_api(documents_api.DocumentApi)
    appbuilder.add_api(DeclarationApi)
    appbuilder.add_api(invoice_api.InvoiceApi)

    add(
        billing_runs.BillingRunsView,
        "Facturation",
        icon="fa-file-invoice-dollar",
        category=STEERING,
    )
    add(
        invoices.AccountingInvoicesView,
        "Factures et avoirs",
        icon="fa-file-invoice",
        category=STEERING,
    )
    from app.einvoicing import views as einvoicing

    add(
        einvoicing.ChorusDepositsView,
        "Dépôts Chorus Pro",
        icon="fa-paper-plane",
        category=STEERING,
    )
    appbuilder.add_view_no_menu(einvoicing.EmployerFacturxView)
    appbuilder.add_view_no_menu(einvoicing.AccountingFacturxView)
    from app.payments import views as payments

    add(payments.SepaMandatesView, "Mandats SEPA", icon="fa-university", category=STEERING)
    from app.payments import reconciliation_views

    add(
        reconciliation_views.ReconciliationView,
        "Rapprochement bancaire",
        icon="fa-balance-scale",
        category=STEERING,
    )

    _security_menu_into_administration(appbuilder)

    # Every generated form with an e-mail column checks it (FAB's own user screens included).
    for view in appbuilder.baseviews:
        if isinstance(view, ModelView):
            for form in (view.add_form, view.edit_form):
                add_email_validators(form, view.datamodel.obj)


# Flask-AppBuilder's « Security » entries kept, in words, under Administration; groups are not
# used (roles are built in, app/security.py): their screen leaves the menu.
SECURITY_ENTRIES = {"List Users": "Utilisateurs", "List Roles": "Rôles et permissions"}


def _security_menu_into_administration(appbuilder: AppBuilder) -> None:
    menu = appbuilder.menu.menu
    security = next((item for item in menu if item.name == "Security"), None)
    administration = next((item for item in menu if item.name == ADMINISTRATION), None)
    if security is None or administration is None:
        return
    menu.remove(security)
    for item in security.childs:
        if item.name in SECURITY_ENTRIES:
            item.label = SECURITY_ENTRIES[item.name]
            administration.childs.append(item)
