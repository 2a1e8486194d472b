"""Forms of the account screens (French labels, CSRF through Flask-WTF)."""

from __future__ import annotations

from flask_appbuilder.fieldwidgets import BS3PasswordFieldWidget, BS3TextFieldWidget
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    HiddenField,
    PasswordField,
    SelectField,
    SelectMultipleField,
    StringField,
)
from wtforms.validators import DataRequired, Length, Optional

from app.accounts.models import SELECTABLE_QUESTIONS
from app.accounts.passwords import POLICY
from app.core.emails import EmailAddress
from app.core.views import ChoiceWidget

REQUIRED = "Ce champ est obligatoire."


def _question_field() -> SelectField:
    return SelectField(
        "Question de sécurité",
        choices=[("", "— choisissez votre question —")]
        + [(q.name, q.value) for q in SELECTABLE_QUESTIONS],
        validators=[DataRequired(REQUIRED)],
        widget=ChoiceWidget(),
    )


class PasswordLinkRequestForm(FlaskForm):
    username = StringField(
        "Identifiant",
        validators=[DataRequired(REQUIRED), Length(max=128)],
        widget=BS3TextFieldWidget(),
    )
    question = _question_field()
    answer = StringField(
        "Réponse", validators=[DataRequired(REQUIRED), Length(max=200)], widget=BS3TextFieldWidget()
    )


class FirstConnectionForm(FlaskForm):
    username = StringField(
        "Identifiant",
        validators=[DataRequired(REQUIRED), Length(max=128)],
        widget=BS3TextFieldWidget(),
    )
    siret = StringField(
        "Numéro SIRET de votre collectivité",
        validators=[DataRequired(REQUIRED), Length(max=40)],
        widget=BS3TextFieldWidget(),
    )


class SetPasswordForm(FlaskForm):
    password = PasswordField(
        "Nouveau mot de passe",
        description=POLICY,
        validators=[DataRequired(REQUIRED)],
        widget=BS3PasswordFieldWidget(),
    )
    confirmation = PasswordField(
        "Confirmation du mot de passe",
        validators=[DataRequired(REQUIRED)],
        widget=BS3PasswordFieldWidget(),
    )


class FirstPasswordForm(SetPasswordForm):
    """The first password comes with the secret question that will protect it."""

    question = _question_field()
    answer = StringField(
        "Réponse (gardez-la pour vous)",
        validators=[DataRequired(REQUIRED), Length(max=200)],
        widget=BS3TextFieldWidget(),
    )


class ChangePasswordForm(SetPasswordForm):
    current = PasswordField(
        "Mot de passe actuel", validators=[DataRequired(REQUIRED)], widget=BS3PasswordFieldWidget()
    )


class SecurityQuestionForm(FlaskForm):
    question = _question_field()
    answer = StringField(
        "Réponse", validators=[DataRequired(REQUIRED), Length(max=200)], widget=BS3TextFieldWidget()
    )
    current = PasswordField(
        "Mot de passe actuel", validators=[DataRequired(REQUIRED)], widget=BS3PasswordFieldWidget()
    )


class SwitchCollectivityForm(FlaskForm):
    collectivity_id = HiddenField(validators=[DataRequired()])


class SecondaryAccountForm(FlaskForm):
    last_name = StringField(
        "Nom", validators=[DataRequired(REQUIRED), Length(max=64)], widget=BS3TextFieldWidget()
    )
    first_name = StringField(
        "Prénom", validators=[DataRequired(REQUIRED), Length(max=64)], widget=BS3TextFieldWidget()
    )
    email = StringField(
        "Adresse e-mail",
        description="Elle sert d'identifiant ; la personne y recevra le lien pour choisir son mot de passe.",
        validators=[DataRequired(REQUIRED), EmailAddress(), Length(max=254)],
        widget=BS3TextFieldWidget(),
    )
    active = BooleanField("Compte actif", default=True)
    agent_ids = SelectMultipleField(
        "Agents gérés par ce compte", coerce=int, validators=[Optional()]
    )


class PrimaryAccountForm(FlaskForm):
    collectivity_id = SelectField(
        "Collectivité", coerce=int, validators=[DataRequired(REQUIRED)], widget=ChoiceWidget()
    )
    username = StringField(
        "Identifiant",
        validators=[DataRequired(REQUIRED), Length(max=128)],
        widget=BS3TextFieldWidget(),
    )
    last_name = StringField(
        "Nom", validators=[DataRequired(REQUIRED), Length(max=64)], widget=BS3TextFieldWidget()
    )
    first_name = StringField(
        "Prénom", validators=[DataRequired(REQUIRED), Length(max=64)], widget=BS3TextFieldWidget()
    )
    email = StringField(
        "Adresse e-mail",
        validators=[DataRequired(REQUIRED), EmailAddress(), Length(max=254)],
        widget=BS3TextFieldWidget(),
    )
