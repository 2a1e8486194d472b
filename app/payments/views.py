"""« Pilotage › Mandats SEPA »: the mandates of the collectivities and the pain.008 file of the
due invoices (issue 18). Comptabilité and Admin only."""

from __future__ import annotations

from typing import Any

from flask import abort, current_app, flash, redirect, request, url_for
from flask_appbuilder import BaseView, expose, has_access
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload
from wtforms import SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional

from app import roles
from app.core import clock, files
from app.core.paging import listing
from app.core.views import READ, WRITE, ChoiceWidget, FrenchDateField, run_service
from app.extensions import db
from app.payments.mandates import MandateInput, save_mandate
from app.payments.models import MandateStatus, SepaDebit, SepaMandate
from app.referential.models import Collectivity
from app.rules.errors import DomainError
from app.rules.sepa import format_iban
from app.security import register_resources

SEPA_MANDATES = "SepaMandates"  # Pilotage › Mandats SEPA (Comptabilité, Admin)
register_resources({SEPA_MANDATES: {roles.COMPTABILITE: (READ, WRITE)}})
REQUIRED = "Ce champ est obligatoire."
# Up to this many collectivities without a mandate, the drop-down holds them all (select2 searches
# them in the page); beyond, it asks the server as the user types (select2 AJAX, 20 at a time).
FULL_LIST_MAX = 300
SEARCH_RESULTS = 20


def _collectivity_id(value: Any) -> int:
    """A forged or damaged id (« abc », « 1e99 ») is « no choice », never a 500."""
    try:
        number = int(value)
    except (TypeError, ValueError):
        return 0
    return number if 0 < number < 2**31 else 0


class _SignatureDateField(FrenchDateField):
    """A date field that does not echo a pasted page back: past 20 characters, a short message."""

    def process_formdata(self, valuelist: list[Any]) -> None:
        if valuelist and len(" ".join(str(v) for v in valuelist)) > 20:
            self.data = None
            raise ValueError("Date invalide : format attendu JJ/MM/AAAA.")
        super().process_formdata(valuelist)


class MandateForm(FlaskForm):
    collectivity_id = SelectField(
        "Collectivité", coerce=_collectivity_id, validate_choice=False, widget=ChoiceWidget()
    )
    umr = StringField(
        "Référence unique du mandat (RUM)",
        validators=[DataRequired(message=REQUIRED), Length(max=35)],
    )
    signed_on = _SignatureDateField("Date de signature", validators=[Optional()])
    iban = StringField("IBAN", validators=[DataRequired(message=REQUIRED), Length(max=50)])
    bic = StringField("BIC", validators=[DataRequired(message=REQUIRED), Length(max=15)])
    debtor_name = StringField(
        "Nom du débiteur (titulaire du compte)",
        validators=[DataRequired(message=REQUIRED), Length(max=70)],
    )
    status = SelectField(
        "Statut",
        choices=[(m.name, m.label) for m in MandateStatus],
        default=MandateStatus.en_attente.name,
    )


class SepaMandatesView(BaseView):
    route_base = "/comptabilite/sepa"
    default_view = "index"
    class_permission_name = SEPA_MANDATES
    method_permission_name = {
        "index": READ,
        "debits": READ,
        "add": WRITE,
        "edit": WRITE,
        "collectivities": WRITE,
        "download": WRITE,
    }

    @expose("/")
    @has_access
    def index(self) -> Any:
        page = listing(default_size=50)
        total = db.session.scalar(select(func.count(SepaMandate.id))) or 0
        mandates = list(
            db.session.scalars(
                select(SepaMandate)
                .options(joinedload(SepaMandate.collectivity))
                .order_by(SepaMandate.id.desc())
                .offset(page.offset)
                .limit(page.size)
            )
        )
        return self.render_template(
            "payments/mandate_list.html",
            title="Mandats SEPA",
            mandates=mandates,
            total=total,
            page=page,
            pages=page.pages(total),
            format_iban=format_iban,
            can_write=self.appbuilder.sm.has_access("can_write", SEPA_MANDATES),
            today=clock.today(),
        )

    def _form_page(self, form: MandateForm, mandate: SepaMandate | None, status: int = 200) -> Any:
        search_url = None
        if mandate is None:
            available = Collectivity.id.not_in(select(SepaMandate.collectivity_id))
            names = list(
                db.session.execute(
                    select(Collectivity.id, Collectivity.name)
                    .where(available)
                    .order_by(Collectivity.name, Collectivity.id)
                    .limit(FULL_LIST_MAX + 1)
                )
            )
            if len(names) > FULL_LIST_MAX:
                # Thousands of collectivities: only the one chosen is in the page, the others
                # are searched by name or SIRET as the user types.
                chosen = form.collectivity_id.data or 0
                names = list(
                    db.session.execute(
                        select(Collectivity.id, Collectivity.name).where(
                            Collectivity.id == chosen, available
                        )
                    )
                )
                search_url = url_for("SepaMandatesView.collectivities")
            form.collectivity_id.choices = [(0, "— Choisir —")] + [
                (c_id, name) for c_id, name in names
            ]
        title = "Nouveau mandat SEPA" if mandate is None else f"Mandat {mandate.umr}"
        return (
            self.render_template(
                "payments/mandate_form.html",
                title=title,
                form=form,
                mandate=mandate,
                search_url=search_url,
            ),
            status,
        )

    def _save(self, form: MandateForm, mandate: SepaMandate | None) -> Any:
        if not form.validate():
            return self._form_page(form, mandate, 400)
        values = MandateInput(
            collectivity_id=(form.collectivity_id.data or None) if mandate is None else None,
            umr=form.umr.data or "",
            signed_on=form.signed_on.data,
            iban=form.iban.data or "",
            bic=form.bic.data or "",
            debtor_name=form.debtor_name.data or "",
            status=MandateStatus[form.status.data or MandateStatus.en_attente.name],
        )
        ran = run_service(lambda: save_mandate(values, mandate), form)
        if not ran:
            if mandate is not None:
                mandate = db.session.get(SepaMandate, mandate.id)
            return self._form_page(form, mandate, 400)
        flash(f"Mandat {ran.result.umr} enregistré.", "success")
        return redirect(url_for("SepaMandatesView.index"))

    @expose("/mandat/nouveau", methods=["GET", "POST"])
    @has_access
    def add(self) -> Any:
        form = MandateForm()
        if request.method == "POST":
            return self._save(form, None)
        return self._form_page(form, None)

    @expose("/collectivites")
    @has_access
    def collectivities(self) -> Any:
        """The collectivities without a mandate whose name or SIRET holds what was typed, as
        select2 reads them: ``{"results": [{"id": 1, "text": "Commune de Tassin"}]}``."""
        from flask import jsonify

        typed = (request.args.get("q") or request.args.get("term") or "").strip()[:100]
        results: list[dict[str, Any]] = []
        if len(typed) >= 2:
            pattern = "%" + typed.replace("\\", "").replace("%", "").replace("_", "") + "%"
            rows = db.session.execute(
                select(Collectivity.id, Collectivity.name, Collectivity.siret)
                .where(
                    Collectivity.id.not_in(select(SepaMandate.collectivity_id)),
                    Collectivity.name.ilike(pattern) | Collectivity.siret.startswith(typed),
                )
                .order_by(Collectivity.name, Collectivity.id)
                .limit(SEARCH_RESULTS)
            )
            results = [{"id": c_id, "text": f"{name} ({siret})"} for c_id, name, siret in rows]
        return jsonify({"results": results})

    @expose("/mandat/<int:mandate_id>", methods=["GET", "POST"])
    @has_access
    def edit(self, mandate_id: int) -> Any:
        mandate = db.session.scalar(
            select(SepaMandate)
            .where(SepaMandate.id == mandate_id)
            .options(joinedload(SepaMandate.collectivity))
        )
        if mandate is None:
            abort(404)
        if request.method == "POST":
            return self._save(MandateForm(), mandate)
        form = MandateForm(
            data={
                "umr": mandate.umr,
                "signed_on": mandate.signed_on,
                "iban": format_iban(mandate.iban),
                "bic": mandate.bic,
                "debtor_name": mandate.debtor_name,
                "status": mandate.status.name,
            }
        )
        return self._form_page(form, mandate)

    def _collection_date(self) -> Any:
        from app.rules.dates import parse_french_date

        raw = (request.values.get("date") or "").strip()[:10]
        if not raw:
            return None
        try:
            return parse_french_date(raw)
        except DomainError:
            flash(f"Date de prélèvement invalide (format attendu JJ/MM/AAAA) : {raw}", "danger")
            return None

    @expose("/prelevements")
    @has_access
    def debits(self) -> Any:
        from app.payments.service import select_invoices

        on = self._collection_date()
        selection = select_invoices(on) if on is not None else None
        batches = db.session.execute(
            select(
                SepaDebit.batch_id,
                func.min(SepaDebit.collection_date),
                func.count(SepaDebit.id),
                func.sum(SepaDebit.amount),
            )
            .group_by(SepaDebit.batch_id)
            .order_by(func.min(SepaDebit.created_at).desc())
            .limit(20)
        ).all()
        return self.render_template(
            "payments/debits.html",
            title="Prélèvements SEPA",
            on=on,
            selection=selection,
            batches=batches,
            can_write=self.appbuilder.sm.has_access("can_write", SEPA_MANDATES),
        )

    @expose("/prelevements/fichier", methods=["POST"])
    @has_access
    def download(self) -> Any:
        from app.payments.service import build_debit_file

        on = self._collection_date()
        if on is None:
            flash("Indiquez la date de prélèvement (JJ/MM/AAAA).", "danger")
            return redirect(url_for("SepaMandatesView.debits"))
        try:
            built = build_debit_file(
                on,
                today=clock.today(),
                created_by=getattr(current_user, "username", ""),
                config=current_app.config,
            )
        except DomainError as error:
            db.session.rollback()
            flash(error.message, "danger")
            return redirect(url_for("SepaMandatesView.debits", date=on.strftime("%d/%m/%Y")))
        db.session.commit()
        return files.download_response(built.xml, built.filename, mimetype="application/xml")
