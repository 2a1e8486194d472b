"""Forms of the visit-request screens (SPEC E1, E2)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    HiddenField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    widgets,
)
from wtforms.validators import InputRequired, Optional

from app.core.views import ChoiceWidget, FrenchDateField, FrenchDateWidget
from app.rules import visit_requests as rules
from app.visits.models import VisitRequestState

REQUIRED = "Ce champ est obligatoire."


def _date(label: str) -> FrenchDateField:
    return FrenchDateField(
        label, format="%d/%m/%Y", validators=[Optional()], widget=FrenchDateWidget()
    )


class CheckboxesField(SelectMultipleField):
    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


class VisitRequestForm(FlaskForm):
    visit_type = SelectField(
        "Type de rendez-vous",
        validators=[InputRequired("Veuillez sélectionner un type.")],
        widget=ChoiceWidget(select2=False),
    )
    situations = CheckboxesField(
        "Si nécessaire veuillez cocher les cases ci-dessous",
        choices=list(rules.SITUATIONS.items()),
        validate_choice=False,
    )
    other_exposure = StringField("Préciser l'autre exposition")
    dispense = BooleanField(
        "Demande de dispense d'embauche (si les conditions suivantes sont réunies : emploi "
        "identique et présentant des risques d'exposition équivalents et médecin du travail en "
        "possession du dernier avis médical du salarié)"
    )
    attestation_on = _date("Date de la dernière attestation de suivi (facultatif)")
    stoppage_nature = SelectField(
        "Nature de l'arrêt de travail",
        choices=[("", "—"), *rules.STOPPAGE_NATURES.items()],
        validate_choice=False,
        widget=ChoiceWidget(select2=False),
    )
    therapeutic_part_time = BooleanField("Reprise à temps partiel thérapeutique")
    retirement_on = _date("Date de départ en retraite")
    exposed_risk = StringField("Risque auquel le salarié a été exposé")
    requester = RadioField(
        "Visite occasionnelle", choices=list(rules.REQUESTERS.items()), validate_choice=False
    )
    employer_reason = RadioField(
        "Motif de la demande", choices=list(rules.EMPLOYER_REASONS.items()), validate_choice=False
    )
    comment = TextAreaField("Commentez la situation qui motive la demande")
    deadline_on = _date("Date butoir du précédent avis médical ou attestation de suivi")
    information = TextAreaField("Information complémentaire ou contrainte de convocation")
    interpreter = BooleanField("Le salarié a besoin d'un interprète.")
    language = StringField("Précisez la langue")
    # Staff only (the employer's form does not show it; the service refuses it from him).
    confidential = BooleanField(
        "Visite confidentielle, demandée par l'agent lui-même : jamais visible de l'employeur"
    )

    def to_input(self) -> rules.RequestInput:
        return rules.RequestInput(
            visit_type=self.visit_type.data or "",
            situations=frozenset(self.situations.data or ()),
            other_exposure=self.other_exposure.data or "",
            dispense=bool(self.dispense.data),
            attestation_on=self.attestation_on.data,
            stoppage_nature=self.stoppage_nature.data or "",
            therapeutic_part_time=bool(self.therapeutic_part_time.data),
            retirement_on=self.retirement_on.data,
            exposed_risk=self.exposed_risk.data or "",
            requester=self.requester.data or "",
            employer_reason=self.employer_reason.data or "",
            comment=self.comment.data or "",
            deadline_on=self.deadline_on.data,
            information=self.information.data or "",
            interpreter=bool(self.interpreter.data),
            language=self.language.data or "",
            confidential=bool(self.confidential.data),
        )


class FilterForm(FlaskForm):
    class Meta:
        csrf = False  # a search (GET)

    type = SelectField("Type de visite", validate_choice=False, widget=ChoiceWidget(select2=False))
    etat = SelectField(
        "État",
        choices=[("", "Tous"), *VisitRequestState.choices()],
        validate_choice=False,
        widget=ChoiceWidget(select2=False),
    )


class ReasonForm(FlaskForm):
    reason = TextAreaField("Motif du refus", validators=[InputRequired(REQUIRED)])


class ScheduleForm(FlaskForm):
    plage_id = SelectField(
        "Plage", validators=[InputRequired(REQUIRED)], widget=ChoiceWidget(select2=False)
    )


class ConfirmForm(FlaskForm):
    confirm = HiddenField(default="1")
