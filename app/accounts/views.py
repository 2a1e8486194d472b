"""Account screens: first connection, forgotten password, password link, « Mon compte »,
switching collectivity, and the staff list of employer accounts."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, g, redirect, session, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_appbuilder.security.decorators import has_access, no_cache
from flask_appbuilder.security.views import AuthDBView
from flask_login import login_user
from sqlalchemy import select

from app.accounts import services, stamps
from app.accounts.forms import (
    ChangePasswordForm,
    FirstConnectionForm,
    FirstPasswordForm,
    PasswordLinkRequestForm,
    PrimaryAccountForm,
    SecurityQuestionForm,
    SetPasswordForm,
    SwitchCollectivityForm,
)
from app.accounts.models import AccountSecurity, PortalMembership, SecurityQuestion
from app.core.views import READ, WRITE, ReadOnlyModelView, run_service
from app.extensions import db
from app.referential.models import Collectivity
from app.rules.errors import DomainError
from app.security import Res
from app.tenancy import forget_cached_scope


class LoginView(AuthDBView):
    """FAB's login with French wording, the first-connection links and a fresh tenant scope."""

    login_template = "accounts/login.html"
    invalid_login_message = services.LOGIN_REFUSED
    title = "Connexion"

    @expose("/login/", methods=["GET", "POST"])
    @no_cache
    def login(self) -> Any:
        response = super().login()
        session.pop("collectivity_id", None)
        forget_cached_scope()
        return response


class PasswordLinkView(BaseView):
    """« Première connexion » and « Mot de passe oublié » (public, answers never reveal an account)."""

    route_base = "/compte"
    default_view = "first_connection"

    def _request(self, form: Any, send: Any, title: str, template: str) -> Any:
        if form.validate_on_submit():
            send(form)
            db.session.commit()
            return self.render_template(
                "accounts/link_requested.html", title=title, message=services.LINK_SENT
            )
        return self.render_template(template, form=form, title=title)

    @expose("/premiere-connexion", methods=["GET", "POST"])
    def first_connection(self) -> Any:
        return self._request(
            FirstConnectionForm(),
            lambda form: services.request_first_connection_link(
                form.username.data, form.siret.data
            ),
            "Première connexion",
            "accounts/first_connection.html",
        )

    @expose("/mot-de-passe-oublie", methods=["GET", "POST"])
    def forgotten_password(self) -> Any:
        return self._request(
            PasswordLinkRequestForm(),
            lambda form: services.request_password_link(
                form.username.data, form.question.data, form.answer.data, "mot_de_passe_oublie"
            ),
            "Mot de passe oublié",
            "accounts/link_request.html",
        )


class SetPasswordView(BaseView):
    """The single-use link sent by e-mail: choose a password that meets the policy."""

    route_base = "/compte/mot-de-passe"

    @expose("/<token>", methods=["GET", "POST"])
    def form(self, token: str) -> Any:
        try:
            services.check_password_link(token)
        except DomainError as error:
            return self.render_template(
                "accounts/link_invalid.html", title="Lien expiré", message=error.message
            ), 410
        needs_question = services.link_needs_question(token)
        form = FirstPasswordForm() if needs_question else SetPasswordForm()
        if form.validate_on_submit():
            done = run_service(
                lambda: services.set_password_with_link(
                    token,
                    form.password.data,
                    form.confirmation.data,
                    form.question.data if needs_question else None,
                    form.answer.data if needs_question else None,
                ),
                form,
            )
            if done:
                login_user(done.result, remember=False)
                forget_cached_scope()
                flash("Votre mot de passe est enregistré. Vous êtes connecté(e).", "success")
                return redirect(url_for("MyAccountView.index"))
        return self.render_template(
            "accounts/set_password.html",
            form=form,
            title="Choisir mon mot de passe",
            needs_question=needs_question,
        )


class MyAccountView(BaseView):
    """« Mon compte »: identity (the e-mail cannot be changed), password, security question."""

    route_base = "/compte/moi"
    default_view = "index"
    class_permission_name = Res.MY_ACCOUNT
    method_permission_name = {"index": READ, "password": WRITE, "question": WRITE, "switch": READ}

    def _page(self, password_form: Any = None, question_form: Any = None) -> Any:
        security = db.session.get(AccountSecurity, g.user.id)
        question_form = question_form or SecurityQuestionForm(
            question=security.security_question.name
            if security and security.security_question
            else ""
        )
        return self.render_template(
            "accounts/my_account.html",
            title="Mon compte",
            user=g.user,
            security=security,
            password_form=password_form or ChangePasswordForm(),
            question_form=question_form,
            collectivities=services.my_collectivities(g.user.id),
        )

    @expose("/")
    @has_access
    def index(self) -> Any:
        return self._page()

    @expose("/mot-de-passe", methods=["POST"])
    @has_access
    def password(self) -> Any:
        form = ChangePasswordForm()
        if form.validate_on_submit() and run_service(
            lambda: services.change_password(
                g.user.id, form.current.data, form.password.data, form.confirmation.data
            ),
            form,
        ):
            # This session goes on; every other session and token of the account has ended.
            stamps.keep_current_session(g.user.id)
            flash(
                "Votre mot de passe est modifié. Vos autres connexions (autres navigateurs, "
                "jetons d'API) sont fermées.",
                "success",
            )
            return redirect(url_for("MyAccountView.index"))
        return self._page(password_form=form)

    @expose("/question", methods=["POST"])
    @has_access
    def question(self) -> Any:
        form = SecurityQuestionForm()
        if form.validate_on_submit():

            def change() -> None:
                services.verify_current_password(g.user.id, form.current.data)
                services.set_security_question(
                    g.user.id, SecurityQuestion[form.question.data], form.answer.data
                )

            if run_service(change, form):
                flash("Votre question de sécurité est enregistrée.", "success")
                return redirect(url_for("MyAccountView.index"))
        return self._page(question_form=form)

    @expose("/collectivite", methods=["POST"])
    @has_access
    def switch(self) -> Any:
        form = SwitchCollectivityForm()
        if not form.validate_on_submit():
            abort(400)
        try:
            collectivity_id = int(form.collectivity_id.data)
        except ValueError:
            abort(404)
        if not services.can_switch_to(g.user.id, collectivity_id):
            abort(404)
        session["collectivity_id"] = collectivity_id
        forget_cached_scope()
        flash("Vous travaillez maintenant pour cette collectivité.", "info")
        return redirect(url_for("HomeView.index"))


class EmployerAccountView(ReadOnlyModelView):
    """Staff: the employer accounts of every collectivity, and opening a primary account."""

    route_base = "/comptes-employeurs"
    datamodel = SQLAInterface(PortalMembership)
    class_permission_name = Res.EMPLOYER_ACCOUNTS
    list_title = "Comptes des employeurs"
    show_title = "Compte employeur"
    list_columns = ["collectivity", "user", "account_email", "account_kind", "primary_user"]
    show_columns = list_columns
    # The e-mail and the kind are computed: not sortable in SQL.
    order_columns = ["collectivity.name", "user.last_name"]
    search_columns = ["collectivity", "user"]
    label_columns = {
        "collectivity": "Collectivité",
        "user": "Utilisateur",
        "account_email": "Adresse e-mail",
        "account_kind": "Type de compte",
        "primary_user": "Compte principal",
    }
    list_template = "accounts/employer_accounts_list.html"


class PrimaryAccountView(BaseView):
    """Staff open a collectivity's primary account (the holder gets a password link)."""

    route_base = "/comptes-employeurs/nouveau"
    default_view = "new"
    class_permission_name = Res.EMPLOYER_ACCOUNTS
    method_permission_name = {"new": WRITE}

    @expose("/", methods=["GET", "POST"])
    @has_access
    def new(self) -> Any:
        form = PrimaryAccountForm()
        form.collectivity_id.choices = [
            (row.id, row.name)
            for row in db.session.execute(
                select(Collectivity.id, Collectivity.name).order_by(Collectivity.name)
            )
        ]
        if form.validate_on_submit():
            created = run_service(
                lambda: services.create_primary_account(
                    form.collectivity_id.data,
                    username=form.username.data,
                    email=form.email.data,
                    first_name=form.first_name.data,
                    last_name=form.last_name.data,
                ),
                form,
            )
            if created:
                flash(
                    "Compte créé : un e-mail invite son titulaire à choisir son mot de passe.",
                    "success",
                )
                return redirect(url_for("EmployerAccountView.list"))
        return self.render_template(
            "accounts/primary_account_form.html", form=form, title="Nouveau compte principal"
        )
