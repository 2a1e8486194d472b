"""Consultation screens: the health staff's day (record a visit, release its sheet, read the
medical notes — every read logged), the employer's « Fiches de visite », and Administration ›
Accès aux données médicales (SPEC E4, E5, E7, J3)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import abort, flash, redirect, request, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from wtforms import BooleanField, FileField, SelectField, TextAreaField
from wtforms.validators import Length, Optional

from app import roles
from app.core import clock, files
from app.core.views import READ, WRITE, ChoiceWidget, FrenchDateField, FrenchDateWidget, run_service
from app.extensions import db
from app.planning.models import Appointment, AppointmentStatus
from app.referential.models import Professional, ProfessionalRole
from app.rules.errors import DomainError
from app.security import HEALTH_ONLY, register_resources
from app.visits import consultations as services
from app.visits import sheets
from app.visits.consultation_models import Consultation, MedicalAccess, Outcome

# Resources (permission names) of this slice; Admin has every resource but MedicalNote.
VISIT_DESK = "VisitDesk"  # the day's appointments and the recording of a visit
CONSULTATION = "Consultation"  # REST resource ``consultation`` (employers: released sheets)
MEDICAL_NOTE = HEALTH_ONLY[0]  # the detail with its medical notes: Santé only (logged)
VISIT_SHEET = "VisitSheet"  # the employer's « Fiches de visite »
MEDICAL_ACCESS = "MedicalAccess"  # the medical access log: Admin only
register_resources(
    {
        VISIT_DESK: {roles.SANTE: (READ, WRITE), roles.SECRETARIAT: (READ,)},
        CONSULTATION: {
            roles.SANTE: (READ, WRITE),
            roles.SECRETARIAT: (READ,),
            roles.EMPLOYER_PRIMARY: (READ,),
            roles.EMPLOYER_SECONDARY: (READ,),
        },
        MEDICAL_NOTE: {roles.SANTE: (READ, WRITE)},
        VISIT_SHEET: {roles.EMPLOYER_PRIMARY: (READ,), roles.EMPLOYER_SECONDARY: (READ,)},
        MEDICAL_ACCESS: {},
    }
)

REQUIRED = "Ce champ est obligatoire."
PRESENCE = [
    (AppointmentStatus.honoree.name, "Honorée"),
    (AppointmentStatus.absence_justifiee.name, "Absence justifiée"),
    (AppointmentStatus.absence_injustifiee.name, "Absence injustifiée"),
]
PAGE_SIZE = 100


class VisitForm(FlaskForm):
    presence = SelectField(
        "Présence", choices=PRESENCE, default="honoree", widget=ChoiceWidget(select2=False)
    )
    outcome = SelectField(
        "Avis",
        choices=[("", "Choisissez…"), *Outcome.choices()],
        validators=[Optional()],
        widget=ChoiceWidget(select2=False),
    )
    restrictions = TextAreaField(
        "Restrictions / aménagements (tels que l'employeur les lira)",
        validators=[Optional(), Length(max=4000, message="4 000 caractères au plus.")],
    )
    next_visit_on = FrenchDateField(
        "Prochaine visite fixée par le médecin",
        format="%d/%m/%Y",
        validators=[Optional()],
        widget=FrenchDateWidget(),
    )
    is_smp = BooleanField("Suivi médical particulier (SMP)")
    notes = TextAreaField(
        "Notes médicales (réservées à l'équipe santé)",
        validators=[Optional(), Length(max=20000, message="20 000 caractères au plus.")],
    )
    is_confidential = BooleanField("Visite confidentielle (jamais visible par l'employeur)")
    release_now = BooleanField("Publier la fiche maintenant")


def _day() -> dt.date:
    raw = request.args.get("jour", "")
    for fmt in ("%Y-%m-%d", "%d/%m/%Y"):
        try:
            return dt.datetime.strptime(raw, fmt).date()
        except ValueError:
            continue
    return clock.today()


def _int_arg(name: str) -> int | None:
    raw = request.args.get(name, "")
    return int(raw) if raw.isdigit() and len(raw) < 10 else None


def _pdf(consultation: Consultation) -> Any:
    # An uploaded sheet (UPLOAD_DIR) or the generated one: an attachment, never cached.
    return files.download_response(
        sheets.sheet_pdf(consultation), sheets.sheet_filename(consultation)
    )


class SheetUploadForm(FlaskForm):
    sheet = FileField("Fiche de visite signée (PDF, 1 Mo au plus)")


class ConsultationsView(files.UploadLimitMixin, BaseView):
    """« Consultations » of the health staff: the day's appointments per professional."""

    route_base = "/consultations"
    default_view = "index"
    class_permission_name = VISIT_DESK
    method_permission_name = {
        "index": READ,
        "record": WRITE,
        "release": WRITE,
        "sheet": WRITE,
        "upload_sheet": WRITE,
        "generated_sheet": WRITE,
    }
    upload_limits = {"upload_sheet": sheets.SHEET_MAX_BYTES + files.FORM_MARGIN_BYTES}

    @expose("/")
    @has_access
    def index(self) -> Any:
        day = _day()
        professional_id = _int_arg("professionnel")
        appointments = services.day_appointments(day, professional_id)
        recorded = services.consultations_by_appointment([a.id for a in appointments])
        professionals = list(
            db.session.scalars(
                select(Professional)
                .where(
                    Professional.role.in_([ProfessionalRole.medecin, ProfessionalRole.infirmier])
                )
                .order_by(Professional.last_name, Professional.first_name)
            )
        )
        groups: dict[int, list[Appointment]] = {}
        for appointment in appointments:
            groups.setdefault(appointment.plage.professional_id, []).append(appointment)
        by_id = {p.id: p for p in professionals}
        return self.render_template(
            "visits/consultation_day.html",
            title="Consultations",
            day=day,
            today=clock.today(),
            groups=[
                (by_id.get(pid) or group[0].plage.professional, group)
                for pid, group in groups.items()
            ],
            recorded=recorded,
            professionals=professionals,
            professional_id=professional_id,
        )

    @expose("/rendez-vous/<int:appointment_id>/visite", methods=["GET", "POST"])
    @has_access
    def record(self, appointment_id: int) -> Any:
        appointment = db.session.get(Appointment, appointment_id)
        if appointment is None:
            abort(404)
        existing = services.consultations_by_appointment([appointment.id]).get(appointment.id)
        form = VisitForm()
        future = appointment.starts_at.date() > clock.today()
        if request.method == "POST" and form.validate():
            ran = run_service(lambda: self._save(appointment_id, form), form)
            if ran:
                if ran.result is None:
                    flash("Absence enregistrée.", "success")
                    return redirect(
                        url_for(
                            "ConsultationsView.index", jour=appointment.starts_at.date().isoformat()
                        )
                    )
                flash("Visite enregistrée.", "success")
                return redirect(url_for("ConsultationDetailView.show", consultation_id=ran.result))
            appointment = db.session.get(Appointment, appointment_id)
            if appointment is None:
                abort(404)
        return self.render_template(
            "visits/consultation_form.html",
            title="Enregistrer la visite",
            appointment=appointment,
            form=form,
            future=future,
            existing=existing,
        )

    @staticmethod
    def _save(appointment_id: int, form: VisitForm) -> int | None:
        presence = AppointmentStatus.__members__.get(form.presence.data or "")
        if presence is None:
            raise DomainError("Choisissez la présence.")
        if presence is not AppointmentStatus.honoree:
            services.record_absence(appointment_id, presence)
            return None
        outcome = Outcome.__members__.get(form.outcome.data or "")
        if outcome is None:
            from app.rules.errors import FieldError

            raise FieldError("Choisissez l'avis rendu.", "outcome")
        consultation = services.record_visit(
            appointment_id,
            services.VisitInput(
                outcome=outcome,
                restrictions=form.restrictions.data,
                next_visit_on=form.next_visit_on.data,
                is_smp=bool(form.is_smp.data),
                is_confidential=bool(form.is_confidential.data),
                notes=form.notes.data,
                release_now=bool(form.release_now.data),
            ),
        )
        return consultation.id

    @expose("/<int:consultation_id>/publier", methods=["POST"])
    @has_access
    def release(self, consultation_id: int) -> Any:
        if db.session.get(Consultation, consultation_id) is None:
            abort(404)
        if run_service(lambda: services.release_sheet(consultation_id)):
            flash("Fiche publiée : l'employeur peut la lire dès aujourd'hui.", "success")
        return redirect(url_for("ConsultationDetailView.show", consultation_id=consultation_id))

    @expose("/<int:consultation_id>/fiche", methods=["POST"])
    @has_access
    def upload_sheet(self, consultation_id: int) -> Any:
        """Upload the visit sheet (a PDF) instead of the generated one (SPEC E5)."""
        consultation = db.session.get(Consultation, consultation_id)
        if consultation is None:
            abort(404)
        form = SheetUploadForm()
        if form.validate_on_submit():
            ran = run_service(lambda: sheets.upload_sheet(consultation, form.sheet.data))
            if ran:
                files.delete(ran.result)  # the sheet it replaces, once the change is committed
                flash(
                    "Fiche de visite déposée : l'employeur la télécharge à la place de la fiche "
                    "générée, dès sa date de mise à disposition.",
                    "success",
                )
        else:
            flash("Le formulaire a expiré : rechargez la page et recommencez.", "danger")
        return redirect(url_for("ConsultationDetailView.show", consultation_id=consultation_id))

    @expose("/<int:consultation_id>/fiche-generee", methods=["POST"])
    @has_access
    def generated_sheet(self, consultation_id: int) -> Any:
        """Drop the uploaded sheet: the generated one is served again."""
        consultation = db.session.get(Consultation, consultation_id)
        if consultation is None:
            abort(404)
        ran = run_service(lambda: sheets.remove_uploaded_sheet(consultation))
        if ran:
            files.delete(ran.result)
            flash(
                "La fiche déposée est retirée : la fiche générée est de nouveau servie.", "success"
            )
        return redirect(url_for("ConsultationDetailView.show", consultation_id=consultation_id))

    @expose("/<int:consultation_id>/fiche.pdf")
    @has_access
    def sheet(self, consultation_id: int) -> Any:
        consultation = db.session.get(Consultation, consultation_id)
        if consultation is None:
            abort(404)
        return _pdf(consultation)


class ConsultationDetailView(BaseView):
    """A consultation with its medical notes: health roles only, each read logged (J3)."""

    route_base = "/consultations/dossier"
    default_view = "show"
    class_permission_name = MEDICAL_NOTE
    method_permission_name = {"show": READ}

    @expose("/<int:consultation_id>")
    @has_access
    def show(self, consultation_id: int) -> Any:
        consultation = db.session.get(Consultation, consultation_id)
        if consultation is None:
            abort(404)
        notes = services.read_notes(consultation)
        db.session.commit()  # the access log entry stays even if rendering fails
        return self.render_template(
            "visits/consultation_detail.html",
            title="Consultation",
            consultation=db.session.get(Consultation, consultation_id),
            notes=notes,
            today=clock.today(),
            sheet_form=SheetUploadForm(),
            sheet_max=files.human_size(sheets.SHEET_MAX_BYTES),
        )


class VisitSheetsView(BaseView):
    """« Fiches de visite » of the employer: released, non-confidential sheets (SPEC E5, E7)."""

    route_base = "/portail/fiches-de-visite"
    needs_collectivity = True  # the portal of one collectivity (app/core/access.py)
    default_view = "index"
    class_permission_name = VISIT_SHEET
    method_permission_name = {"index": READ, "download": READ}

    @expose("/")
    @has_access
    def index(self) -> Any:
        name = request.args.get("agent", "")[:100].strip()
        rows = services.employer_sheets(name or None, PAGE_SIZE)
        return self.render_template(
            "visits/consultation_sheets.html",
            title="Fiches de visite",
            rows=rows,
            name=name,
            page_size=PAGE_SIZE,
        )

    @expose("/<int:consultation_id>/pdf")
    @has_access
    def download(self, consultation_id: int) -> Any:
        # The scope's criteria answer None for another collectivity's, a confidential or a not
        # yet released consultation: the same 404 for all.
        consultation = db.session.get(Consultation, consultation_id)
        if consultation is None:
            abort(404)
        return _pdf(consultation)


class MedicalAccessView(BaseView):
    """Administration › Accès aux données médicales (SPEC J3)."""

    route_base = "/administration/acces-medicaux"
    default_view = "index"
    class_permission_name = MEDICAL_ACCESS
    method_permission_name = {"index": READ}

    @expose("/")
    @has_access
    def index(self) -> Any:
        raw_page = request.args.get("page", "1")
        page = max(int(raw_page), 1) if raw_page.isdigit() and len(raw_page) < 7 else 1
        total = db.session.scalar(select(func.count(MedicalAccess.id))) or 0
        pages = max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1)
        page = min(page, pages)
        entries = list(
            db.session.scalars(
                select(MedicalAccess)
                .order_by(MedicalAccess.accessed_at.desc(), MedicalAccess.id.desc())
                .offset((page - 1) * PAGE_SIZE)
                .limit(PAGE_SIZE)
            )
        )
        return self.render_template(
            "visits/consultation_access_log.html",
            title="Accès aux données médicales",
            entries=entries,
            page=page,
            pages=pages,
            total=total,
        )
