"""Employer portal (CDG69-PORTAIL): « Mes coordonnées », contacts, health team, secondary accounts."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, request, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.fieldwidgets import BS3TextFieldWidget
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_appbuilder.security.decorators import has_access
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import StringField
from wtforms.validators import Length, Optional

from app.accounts import services
from app.accounts.forms import SecondaryAccountForm
from app.core import paging
from app.core.emails import EmailAddress
from app.core.views import DELETE, READ, WRITE, AppModelView, ReadOnlyModelView, run_service
from app.extensions import db
from app.referential import services as referential_services
from app.referential.models import Collectivity, Contact, ContactFunction, HealthTeamMember
from app.referential.views import CONTACT_LABELS
from app.rules.errors import DomainError, FieldError
from app.rules.names import name_key
from app.security import Res
from app.tenancy import current_scope
from app.workforce.models import Agent

ADDRESS_BLOCKS = {
    "main": "Coordonnées principales",
    "convocation": "Coordonnées de convocation",
    "billing": "Adresse de facturation",
}


def _text(label: str, length: int, **kwargs: Any) -> StringField:
    return StringField(
        label, validators=[Optional(), Length(max=length)], widget=BS3TextFieldWidget(), **kwargs
    )


class MyDetailsForm(FlaskForm):
    phone = _text("Téléphone", 20)
    email = StringField(
        "Adresse e-mail",
        validators=[Optional(), EmailAddress(), Length(max=254)],
        widget=BS3TextFieldWidget(),
    )
    main_line1 = _text("Adresse", 200)
    main_line2 = _text("Complément d'adresse", 200)
    main_postcode = _text("Code postal", 5)
    main_city = _text("Ville", 100)
    convocation_name = _text("Raison sociale", 200)
    convocation_line1 = _text(
        "Adresse", 200, description="Vide : l'adresse principale est utilisée."
    )
    convocation_line2 = _text("Complément d'adresse", 200)
    convocation_postcode = _text("Code postal", 5)
    convocation_city = _text("Ville", 100)
    contact_last_name = _text("Nom du contact des convocations", 100)
    contact_first_name = _text("Prénom", 100)
    contact_email = StringField(
        "Adresse e-mail du contact des convocations",
        description="Obligatoire : elle sert à tous les échanges relatifs à la médecine préventive.",
        validators=[Optional(), EmailAddress(), Length(max=254)],
        widget=BS3TextFieldWidget(),
    )
    contact_phone = _text("Téléphone du contact", 20)
    billing_name = _text("Raison sociale", 200)
    billing_line1 = _text("Adresse", 200, description="Vide : l'adresse principale est utilisée.")
    billing_line2 = _text("Complément d'adresse", 200)
    billing_postcode = _text("Code postal", 5)
    billing_city = _text("Ville", 100)
    chorus_service_code = _text(
        "Code service Chorus Pro", 100, description="Si votre structure l'exige sur Chorus Pro."
    )
    chorus_engagement_number = _text("N° d'engagement (bon de commande)", 50)

    BLOCKS = {
        "main": ["phone", "email", "main_line1", "main_line2", "main_postcode", "main_city"],
        "convocation": [
            "convocation_name",
            "convocation_line1",
            "convocation_line2",
            "convocation_postcode",
            "convocation_city",
            "contact_last_name",
            "contact_first_name",
            "contact_email",
            "contact_phone",
        ],
        "billing": [
            "billing_name",
            "billing_line1",
            "billing_line2",
            "billing_postcode",
            "billing_city",
            "chorus_service_code",
            "chorus_engagement_number",
        ],
    }


COLLECTIVITY_FIELDS = [
    f
    for block in ("main", "convocation", "billing")
    for f in MyDetailsForm.BLOCKS[block]
    if not f.startswith("contact_")
]


def _current_collectivity() -> Collectivity:
    scope = current_scope()
    collectivity = (
        db.session.get(Collectivity, scope.collectivity_id) if scope.collectivity_id else None
    )
    if collectivity is None:
        abort(404)
    return collectivity


class MyDetailsView(BaseView):
    """« Mes coordonnées »: the primary account edits addresses and the convocation contact."""

    route_base = "/portail/coordonnees"
    default_view = "index"
    class_permission_name = Res.MY_DETAILS
    needs_collectivity = True  # the portal of one collectivity (app/core/access.py)
    method_permission_name = {"index": READ, "save": WRITE}

    def _render(self, form: MyDetailsForm, collectivity: Collectivity) -> Any:
        can_edit = self.appbuilder.sm.has_access("can_write", Res.MY_DETAILS)
        return self.render_template(
            "accounts/my_details.html",
            title="Mes coordonnées",
            form=form,
            collectivity=collectivity,
            blocks=ADDRESS_BLOCKS,
            can_edit=can_edit,
        )

    @expose("/")
    @has_access
    def index(self) -> Any:
        collectivity = _current_collectivity()
        form = MyDetailsForm(obj=collectivity)
        contact = collectivity.convocation_contact
        if contact is not None:
            form.contact_last_name.data = contact.last_name
            form.contact_first_name.data = contact.first_name
            form.contact_email.data = contact.email
            form.contact_phone.data = contact.phone
        return self._render(form, collectivity)

    @expose("/", methods=["POST"])
    @has_access
    def save(self) -> Any:
        collectivity = _current_collectivity()
        form = MyDetailsForm()
        if form.validate_on_submit():
            if run_service(lambda: self._apply(form, collectivity), form):
                flash("Vos coordonnées sont enregistrées.", "success")
                return redirect(url_for("MyDetailsView.index"))
            collectivity = _current_collectivity()
        return self._render(form, collectivity)

    @staticmethod
    def _apply(form: MyDetailsForm, collectivity: Collectivity) -> None:
        if not (form.contact_email.data or "").strip():
            raise FieldError(
                "L'adresse e-mail du contact des convocations est obligatoire.", "contact_email"
            )
        if not (form.contact_last_name.data or "").strip():
            raise FieldError("Indiquez le nom du contact des convocations.", "contact_last_name")
        for name in COLLECTIVITY_FIELDS:
            value = (form[name].data or "").strip() or None
            setattr(collectivity, name, value)
        contact = collectivity.convocation_contact
        if contact is None:
            contact = Contact(function=ContactFunction.convocation, collectivity_id=collectivity.id)
            db.session.add(contact)
        contact.last_name = form.contact_last_name.data.strip()
        contact.first_name = (form.contact_first_name.data or "").strip() or None
        contact.email = form.contact_email.data.strip()
        contact.phone = (form.contact_phone.data or "").strip() or None
        referential_services.prepare_contact(contact)


class MyContactsView(AppModelView):
    """« Mes contacts »: the collectivity's interlocutors with their function."""

    route_base = "/portail/contacts"
    datamodel = SQLAInterface(Contact)
    class_permission_name = Res.MY_CONTACTS
    needs_collectivity = True  # the portal of one collectivity (app/core/access.py)
    list_title = "Mes contacts"
    show_title = "Contact"
    add_title = "Nouveau contact"
    edit_title = "Modifier le contact"
    list_columns = ["function", "civility", "last_name", "first_name", "email", "phone"]
    add_columns = list_columns
    edit_columns = list_columns
    show_columns = list_columns
    search_columns = ["last_name", "function"]
    label_columns = CONTACT_LABELS
    base_order = ("last_name", "asc")

    def pre_add(self, item: Contact) -> None:
        referential_services.prepare_contact(item)

    def pre_update(self, item: Contact) -> None:
        referential_services.prepare_contact(item)


class MyHealthTeamView(ReadOnlyModelView):
    """« Équipe santé »: who follows the collectivity (read only)."""

    route_base = "/portail/equipe-sante"
    datamodel = SQLAInterface(HealthTeamMember)
    class_permission_name = Res.MY_HEALTH_TEAM
    needs_collectivity = True  # the portal of one collectivity (app/core/access.py)
    list_title = "Mon équipe santé"
    show_title = "Membre de l'équipe santé"
    list_columns = ["role", "professional", "professional_email", "professional_phone"]
    show_columns = list_columns
    search_columns = ["role"]
    label_columns = {
        "role": "Fonction",
        "professional": "Nom",
        "professional_email": "Adresse e-mail",
        "professional_phone": "Téléphone",
    }


# The sortable columns of « Comptes secondaires » (``?tri=...&ordre=desc``).
SECONDARY_SORTS = ("nom", "email", "agents", "actif")


class SecondaryAccountsView(BaseView):
    """« Mon compte › Comptes secondaires »: create, edit, delete, assign agents (primary only)."""

    route_base = "/portail/comptes-secondaires"
    default_view = "index"
    class_permission_name = Res.SECONDARY_ACCOUNTS
    needs_collectivity = True  # the portal of one collectivity (app/core/access.py)
    method_permission_name = {"index": READ, "new": WRITE, "edit": WRITE, "remove": DELETE}

    def _agent_choices(self) -> list[tuple[int, str]]:
        agents = db.session.scalars(select(Agent).order_by(Agent.search_name, Agent.id))
        return [
            (agent.id, f"{agent.search_label} – né(e) le {agent.birth_date:%d/%m/%Y}")
            for agent in agents
        ]

    def _guard(self) -> None:
        try:
            services.secondary_memberships()
        except services.AccountError:
            abort(403)

    @expose("/")
    @has_access
    def index(self) -> Any:
        self._guard()
        memberships = services.secondary_memberships()
        counts = services.assignment_counts([m.user_id for m in memberships])
        # A collectivity has a handful of secondary accounts: read at once (two queries), sorted
        # French style and paged here.
        listing = paging.listing(SECONDARY_SORTS, "nom")
        keys = {
            "nom": lambda m: (name_key(m.user.last_name, m.user.first_name), m.user_id),
            "email": lambda m: ((m.user.email or "").lower(), m.user_id),
            "agents": lambda m: (counts.get(m.user_id, 0), m.user_id),
            "actif": lambda m: (not m.user.active, m.user_id),
        }
        ordered = sorted(memberships, key=keys[listing.sort], reverse=listing.descending)
        return self.render_template(
            "accounts/secondary_list.html",
            title="Comptes secondaires",
            memberships=ordered[listing.offset : listing.offset + listing.size],
            counts=counts,
            listing=listing,
            page=listing.page,
            pages=listing.pages(len(memberships)),
            total=len(memberships),
        )

    @expose("/nouveau", methods=["GET", "POST"])
    @has_access
    def new(self) -> Any:
        self._guard()
        form = SecondaryAccountForm()
        form.agent_ids.choices = self._agent_choices()
        if form.validate_on_submit():
            created = run_service(
                lambda: services.create_secondary_account(
                    first_name=form.first_name.data,
                    last_name=form.last_name.data,
                    email=form.email.data,
                    agent_ids=form.agent_ids.data or [],
                ),
                form,
            )
            if created:
                flash(
                    "Compte secondaire créé : un e-mail invite son titulaire à choisir son mot de passe.",
                    "success",
                )
                return redirect(url_for("SecondaryAccountsView.index"))
        return self.render_template(
            "accounts/secondary_form.html", title="Nouveau compte secondaire", form=form, user=None
        )

    @expose("/<int:user_id>", methods=["GET", "POST"])
    @has_access
    def edit(self, user_id: int) -> Any:
        self._guard()
        try:
            membership = services.secondary_membership(user_id)
        except DomainError:
            abort(404)
        user = membership.user
        form = SecondaryAccountForm(obj=user) if request.method == "GET" else SecondaryAccountForm()
        form.agent_ids.choices = self._agent_choices()
        if request.method == "GET":
            form.agent_ids.data = sorted(services.assigned_agent_ids(user_id))
        form.email.data = user.email  # the e-mail identifies the account: never changed here
        if form.validate_on_submit():
            updated = run_service(
                lambda: services.update_secondary_account(
                    user_id,
                    first_name=form.first_name.data,
                    last_name=form.last_name.data,
                    active=form.active.data,
                    agent_ids=form.agent_ids.data or [],
                ),
                form,
            )
            if updated:
                flash("Compte secondaire modifié.", "success")
                return redirect(url_for("SecondaryAccountsView.index"))
        return self.render_template(
            "accounts/secondary_form.html",
            title="Modifier le compte secondaire",
            form=form,
            user=user,
        )

    @expose("/<int:user_id>/supprimer", methods=["POST"])
    @has_access
    def remove(self, user_id: int) -> Any:
        self._guard()
        try:
            services.delete_secondary_account(user_id)
        except DomainError:
            db.session.rollback()
            abort(404)
        db.session.commit()
        flash("Compte secondaire supprimé.", "success")
        return redirect(url_for("SecondaryAccountsView.index"))
