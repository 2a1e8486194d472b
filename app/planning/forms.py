"""Forms of the planning screens."""

from __future__ import annotations

from flask_appbuilder.fieldwidgets import BS3TextAreaFieldWidget, BS3TextFieldWidget, Select2Widget
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    HiddenField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    TimeField,
)
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from app.core.views import ChoiceWidget, FrenchDateField, FrenchDateWidget
from app.planning.models import PlageNature

REQUIRED = "Ce champ est obligatoire."
WEEKDAYS = [
    (0, "Lundi"),
    (1, "Mardi"),
    (2, "Mercredi"),
    (3, "Jeudi"),
    (4, "Vendredi"),
    (5, "Samedi"),
]


def _date(label: str, required: bool = True) -> FrenchDateField:
    return FrenchDateField(
        label,
        format="%d/%m/%Y",
        validators=[InputRequired(REQUIRED)] if required else [Optional()],
        widget=FrenchDateWidget(),
    )


class PeriodForm(FlaskForm):
    class Meta:
        csrf = False  # a search (GET)

    du = _date("Du")
    au = _date("Au")


class PlageForm(FlaskForm):
    office_id = SelectField(
        "Cabinet médical", coerce=int, validators=[InputRequired(REQUIRED)], widget=ChoiceWidget()
    )
    professional_id = SelectField(
        "Professionnel", coerce=int, validators=[InputRequired(REQUIRED)], widget=ChoiceWidget()
    )
    nature = SelectField(
        "Nature",
        choices=PlageNature.choices(),
        validators=[InputRequired(REQUIRED)],
        widget=ChoiceWidget(select2=False),
    )
    day = _date("Date (premier jour)")
    start = TimeField("Heure de début", format="%H:%M", validators=[InputRequired(REQUIRED)])
    end = TimeField("Heure de fin", format="%H:%M", validators=[InputRequired(REQUIRED)])
    appointment_minutes = IntegerField(
        "Durée d'un rendez-vous (minutes)",
        default=20,
        validators=[InputRequired(REQUIRED), NumberRange(5, 240, "Entre 5 et 240 minutes.")],
        widget=BS3TextFieldWidget(),
    )
    reserved_for_id = SelectField(
        "Réservée à", coerce=int, validators=[Optional()], widget=Select2Widget()
    )
    note = StringField(
        "Observation", validators=[Optional(), Length(max=250)], widget=BS3TextFieldWidget()
    )
    recurrence = SelectField(
        "Récurrence",
        choices=[("", "Aucune (une seule plage)"), ("hebdomadaire", "Chaque semaine")],
        validators=[Optional()],
    )
    weekdays = SelectMultipleField(
        "Jours de la semaine", coerce=int, choices=WEEKDAYS, validators=[Optional()]
    )
    last_day = _date("Jusqu'au (inclus)", required=False)


class BookingForm(FlaskForm):
    agent_id = SelectField(
        "Agent", coerce=int, validators=[InputRequired(REQUIRED)], widget=ChoiceWidget()
    )
    visit_type = SelectField(
        "Nature de la visite",
        validators=[InputRequired(REQUIRED)],
        widget=ChoiceWidget(select2=False),
    )
    comment = TextAreaField(
        "Commentaire", validators=[Optional(), Length(max=1000)], widget=BS3TextAreaFieldWidget()
    )
    confirm = HiddenField()


class StaffBookingForm(FlaskForm):
    """The secretariat books an agent of a collectivity the plage is open to (SPEC D2, E7)."""

    agent_id = SelectField(
        "Agent", coerce=int, validators=[InputRequired(REQUIRED)], widget=ChoiceWidget()
    )
    visit_type = SelectField(
        "Nature de la visite",
        validators=[InputRequired(REQUIRED)],
        widget=ChoiceWidget(select2=False),
    )
    comment = TextAreaField(
        "Commentaire", validators=[Optional(), Length(max=1000)], widget=BS3TextAreaFieldWidget()
    )
    confidential = BooleanField(
        "Visite confidentielle (demandée par l'agent lui-même)",
        description="L'employeur n'en est jamais informé : ni ligne, ni e-mail, ni fiche ; "
        "la place apparaît simplement comme prise.",
    )


class ReasonForm(FlaskForm):
    reason = TextAreaField(
        "Motif", validators=[Optional(), Length(max=1000)], widget=BS3TextAreaFieldWidget()
    )
