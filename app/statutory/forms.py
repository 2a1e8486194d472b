"""Forms of the statutory-medicine screens (SPEC I1)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional

from app.core.views import ChoiceWidget, FrenchDateField, FrenchDateWidget
from app.statutory.models import AcfiDayStatus, AcfiNature, StatutoryStatus

REQUIRED = "Ce champ est obligatoire."


def _date(label: str, required: bool = False) -> FrenchDateField:
    validators = [InputRequired(REQUIRED)] if required else [Optional()]
    return FrenchDateField(
        label, format="%d/%m/%Y", validators=validators, widget=FrenchDateWidget()
    )


class StatutoryRequestForm(FlaskForm):
    agent_id = SelectField(
        "Agent",
        validators=[InputRequired("Choisissez l'agent.")],
        validate_choice=False,
        widget=ChoiceWidget(),
    )
    act_number = SelectField(
        "Acte demandé",
        validators=[InputRequired("Choisissez l'acte.")],
        validate_choice=False,
        widget=ChoiceWidget(),
    )
    written_report = BooleanField(
        "Rapport écrit demandé (hors expertise : +1 point, facturé au-delà du quota)"
    )
    requested_on = _date("Date de la demande", required=True)
    information = TextAreaField(
        "Informations utiles à la convocation (aucune donnée médicale)",
        validators=[Optional(), Length(max=4000, message="4 000 caractères au plus.")],
    )


class FilterForm(FlaskForm):
    class Meta:
        csrf = False  # a search (GET)

    etat = SelectField(
        "État",
        choices=[
            ("", "Toutes"),
            ("ouvertes", "En attente ou planifiées"),
            *StatutoryStatus.choices(),
        ],
        validate_choice=False,
        widget=ChoiceWidget(select2=False),
    )


class PlanForm(FlaskForm):
    appointment_id = SelectField(
        "Rendez-vous de l'agent (plage « médecin agréé »)",
        validators=[Optional()],
        validate_choice=False,
        widget=ChoiceWidget(select2=False),
    )
    planned_on = _date("ou date prévue")


OUTCOMES = [
    (StatutoryStatus.realisee.name, "Visite réalisée"),
    (StatutoryStatus.absence_injustifiee.name, "Absence injustifiée (non signalée 48 h avant)"),
]


class DoneForm(FlaskForm):
    outcome = SelectField(
        "Issue", choices=OUTCOMES, default=OUTCOMES[0][0], widget=ChoiceWidget(select2=False)
    )
    done_on = _date("Date de la visite", required=True)


class RestitutionForm(FlaskForm):
    sent_on = _date("Transmis le", required=True)


class ReportForm(FlaskForm):
    text = TextAreaField(
        "Rapport médical (réservé aux professionnels de santé)",
        validators=[
            InputRequired(REQUIRED),
            Length(max=20000, message="20 000 caractères au plus."),
        ],
    )


class CancelForm(FlaskForm):
    reason = StringField(
        "Motif (facultatif)",
        validators=[Optional(), Length(max=250, message="250 caractères au plus.")],
    )


class AcfiDayForm(FlaskForm):
    collectivity_id = SelectField(
        "Collectivité",
        validators=[InputRequired("Choisissez la collectivité.")],
        validate_choice=False,
        widget=ChoiceWidget(),
    )
    day_on = _date("Date de l'intervention", required=True)
    days = SelectField(
        "Durée",
        choices=[("1", "1 jour"), ("0.5", "½ journée")],
        default="1",
        widget=ChoiceWidget(select2=False),
    )
    nature = SelectField(
        "Nature", choices=AcfiNature.choices(), default="visite", widget=ChoiceWidget(select2=False)
    )
    inspector = StringField(
        "Inspecteur (ACFI)",
        validators=[Optional(), Length(max=120, message="120 caractères au plus.")],
    )
    note = TextAreaField("Observations", validators=[Optional(), Length(max=4000)])


class AcfiPlanForm(FlaskForm):
    volume_days = StringField("Volume annuel (jours)", validators=[Optional()])
    amendment = StringField(
        "Avenant (référence) autorisant des jours au-delà de +20 %",
        validators=[Optional(), Length(max=120, message="120 caractères au plus.")],
    )


class AcfiStatusForm(FlaskForm):
    status = SelectField(
        "État", choices=AcfiDayStatus.choices(), widget=ChoiceWidget(select2=False)
    )
