"""Forms of the workforce screens (French labels and messages)."""

from __future__ import annotations

from flask_appbuilder.fieldwidgets import BS3TextFieldWidget, Select2Widget
from flask_wtf import FlaskForm
from wtforms import DateField, SelectField, StringField
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from app.core.views import ChoiceWidget, FrenchDateField, FrenchDateWidget
from app.workforce.models import AgentStatus

REQUIRED = "Ce champ est obligatoire."

CACES_CATEGORIES = [
    ("R482", "R482 – Engins de chantier"),
    ("R483", "R483 – Grues mobiles"),
    ("R484", "R484 – Ponts roulants et portiques"),
    ("R485", "R485 – Chariots de manutention à conducteur accompagnant"),
    ("R486", "R486 – Plates-formes élévatrices mobiles de personnes (PEMP)"),
    ("R487", "R487 – Grues à tour"),
    ("R489", "R489 – Chariots de manutention à conducteur porté"),
    ("R490", "R490 – Grues de chargement"),
]


def _date(label: str, required: bool = True, description: str | None = None) -> DateField:
    # InputRequired keeps the parsing error (« Date invalide ») that DataRequired would replace.
    validators = [InputRequired(REQUIRED)] if required else [Optional()]
    return FrenchDateField(
        label,
        format="%d/%m/%Y",
        validators=validators,
        widget=FrenchDateWidget(),
        description=description,
    )


class PositionForm(FlaskForm):
    collectivity_id = SelectField(
        "Collectivité", coerce=int, validators=[Optional()], widget=Select2Widget()
    )
    label = StringField(
        "Intitulé du poste de travail (libellé sans sigles et sans acronyme)",
        validators=[DataRequired(REQUIRED), Length(max=200)],
        widget=BS3TextFieldWidget(),
    )
    pcs_code = StringField(
        "Catégorie socio-professionnelle (code PCS)",
        description="3 chiffres et une lettre, par exemple 372d ; saisissez le code ou un mot du libellé.",
        validators=[DataRequired(REQUIRED), Length(max=20)],
        widget=BS3TextFieldWidget(),
    )


class AgentForm(FlaskForm):
    collectivity_id = SelectField(
        "Collectivité", coerce=int, validators=[Optional()], widget=Select2Widget()
    )
    civility = SelectField(
        "Civilité",
        choices=[("madame", "Madame"), ("monsieur", "Monsieur")],
        validators=[DataRequired(REQUIRED)],
        widget=ChoiceWidget(select2=False),
    )
    first_name = StringField(
        "Prénom", validators=[DataRequired(REQUIRED), Length(max=100)], widget=BS3TextFieldWidget()
    )
    birth_name = StringField(
        "Nom de naissance",
        validators=[DataRequired(REQUIRED), Length(max=100)],
        widget=BS3TextFieldWidget(),
    )
    usage_name = StringField(
        "Nom d'usage (marital)",
        validators=[Optional(), Length(max=100)],
        widget=BS3TextFieldWidget(),
    )
    birth_date = _date("Date de naissance")
    ins = StringField(
        "INS",
        description="La lettre N suivie des 15 caractères du NIR (numéro de sécurité sociale avec sa clé).",
        validators=[Optional(), Length(max=20)],
        widget=BS3TextFieldWidget(),
    )
    status = SelectField(
        "Statut", choices=[("", "—"), *AgentStatus.choices()], validators=[Optional()]
    )
    service = StringField(
        "Service", validators=[Optional(), Length(max=120)], widget=BS3TextFieldWidget()
    )


class FirstContractForm(FlaskForm):
    work_position_id = SelectField(
        "Poste occupé", coerce=int, validators=[DataRequired(REQUIRED)], widget=ChoiceWidget()
    )
    contract_type_id = SelectField(
        "Type de contrat",
        coerce=int,
        validators=[DataRequired(REQUIRED)],
        widget=ChoiceWidget(select2=False),
    )
    start_date = _date("Date de début de prise de poste")
    end_date = _date(
        "Date de fin", required=False, description="Vide : contrat en cours, sans date de fin."
    )


class AgentCreateForm(AgentForm, FirstContractForm):
    pass


class ExitForm(FlaskForm):
    exit_date = _date("Date de fin (sortie de l'effectif)")


class ImportForm(FlaskForm):
    collectivity_id = SelectField(
        "Collectivité", coerce=int, validators=[Optional()], widget=Select2Widget()
    )
