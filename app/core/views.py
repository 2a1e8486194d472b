"""Base classes for every screen and REST resource: permissions, French forms and formats, errors.

Views declare (columns, labels, titles); services decide (``pre_add`` / ``pre_update`` /
``pre_delete`` call them and raise ``DomainError``). A refused form is shown again with the
French message and everything the user typed.
"""

from __future__ import annotations

import datetime as dt
import decimal
from typing import Any

from flask import abort, flash, request
from flask_appbuilder import ModelView, expose
from flask_appbuilder.api import ModelRestApi
from flask_appbuilder.api.convert import Model2SchemaConverter
from flask_appbuilder.fields import EnumField
from flask_appbuilder.fieldwidgets import BS3TextFieldWidget
from flask_appbuilder.security.decorators import has_access
from markupsafe import Markup
from marshmallow import ValidationError
from marshmallow import fields as ma_fields
from sqlalchemy.exc import IntegrityError
from wtforms import BooleanField, DateField, DateTimeField, DecimalField
from wtforms.fields.core import UnboundField
from wtforms.validators import DataRequired, InputRequired
from wtforms.validators import ValidationError as FormValidationError
from wtforms.widgets import html_params

from app.core.formatting import format_date, format_datetime, format_decimal
from app.core.types import LabelledEnum
from app.rules.errors import DomainError
from app.tenancy import TenantViolation

READ = "read"
WRITE = "write"
DELETE = "delete"

# One permission per kind of access, shared by a resource's screen and REST API (Superset style).
METHOD_PERMISSIONS: dict[str, str] = {
    # ModelView
    "list": READ,
    "show": READ,
    "add": WRITE,
    "edit": WRITE,
    "delete": DELETE,
    "action": WRITE,
    "action_post": WRITE,
    "muldelete": DELETE,
    # ModelRestApi
    "get": READ,
    "get_list": READ,
    "info": READ,
    "post": WRITE,
    "put": WRITE,
}

DATE_FORMAT = "%d/%m/%Y"
DATETIME_FORMAT = "%d/%m/%Y %H:%M"


class FrenchDateWidget:
    """A text input typed JJ/MM/AAAA, with the vendored datepicker in French format."""

    css_class = "medprev-date"
    placeholder = "JJ/MM/AAAA"

    def __call__(self, field: Any, **kwargs: Any) -> Markup:
        kwargs.setdefault("id", field.id)
        kwargs.setdefault("name", field.name)
        value = field._value() if hasattr(field, "_value") else field.data or ""
        css = " ".join(
            dict.fromkeys(["form-control", self.css_class, *kwargs.pop("class", "").split()])
        )
        params = html_params(
            type="text",
            value=value,
            placeholder=self.placeholder,
            autocomplete="off",
            **{"class": css},
            **kwargs,
        )
        return Markup(
            '<div class="input-group"><span class="input-group-addon">'
            f'<i class="fa fa-calendar"></i></span><input {params}></div>'
        )


class FrenchDateTimeWidget(FrenchDateWidget):
    css_class = "medprev-datetime"
    placeholder = "JJ/MM/AAAA HH:MM"


class SafeEnumField(EnumField):
    """FAB's enum select raises a bare ValueError on an unknown choice (a 500): say it in French."""

    def pre_validate(self, form: Any) -> None:
        try:
            super().pre_validate(form)
        except ValueError as error:
            raise FormValidationError("Choix invalide.") from error


class FrenchDateField(DateField):
    def process_formdata(self, valuelist: list[Any]) -> None:
        try:
            super().process_formdata(valuelist)
        except ValueError as error:
            raise ValueError("Date invalide : format attendu JJ/MM/AAAA.") from error


class FrenchDateTimeField(DateTimeField):
    def process_formdata(self, valuelist: list[Any]) -> None:
        try:
            super().process_formdata(valuelist)
        except ValueError as error:
            raise ValueError(
                "Date et heure invalides : format attendu JJ/MM/AAAA HH:MM."
            ) from error


class FrenchDecimalField(DecimalField):
    """Accepts « 1 234,56 » as well as « 1234.56 »."""

    def process_formdata(self, valuelist: list[Any]) -> None:
        if valuelist and valuelist[0]:
            raw = str(valuelist[0]).replace("\u00a0", "").replace("\u202f", "").replace(" ", "")
            valuelist = [raw.replace(",", ".")]
        super().process_formdata(valuelist)

    def _value(self) -> str:
        if self.raw_data:
            return str(self.raw_data[0])
        if self.data is None:
            return ""
        return str(self.data).replace(".", ",")


def frenchify_form(form_class: Any) -> Any:
    """Swap the generated date, datetime and decimal fields for French-format ones; an unticked
    checkbox is a valid "Non" (FAB marks non-nullable booleans as required)."""
    for name in list(vars(form_class)):
        unbound = getattr(form_class, name)
        if not isinstance(unbound, UnboundField):
            continue
        field_class = unbound.field_class
        kwargs = dict(unbound.kwargs)
        if issubclass(field_class, EnumField) and field_class is not SafeEnumField:
            setattr(form_class, name, SafeEnumField(*unbound.args, **kwargs))
        elif issubclass(field_class, BooleanField):
            kwargs["validators"] = [
                v
                for v in kwargs.get("validators") or []
                if not isinstance(v, (InputRequired, DataRequired))
            ]
            setattr(form_class, name, BooleanField(*unbound.args, **kwargs))
        elif issubclass(field_class, DateTimeField) and field_class is not DateField:
            kwargs.update(format=DATETIME_FORMAT, widget=FrenchDateTimeWidget())
            setattr(form_class, name, FrenchDateTimeField(*unbound.args, **kwargs))
        elif issubclass(field_class, DateField):
            kwargs.update(format=DATE_FORMAT, widget=FrenchDateWidget())
            setattr(form_class, name, FrenchDateField(*unbound.args, **kwargs))
        elif issubclass(field_class, DecimalField) and field_class is not FrenchDecimalField:
            kwargs.setdefault("widget", BS3TextFieldWidget())
            setattr(form_class, name, FrenchDecimalField(*unbound.args, **kwargs))
    return form_class


def compact(value: Any) -> Any:
    """A WTForms filter removing the spaces and dots people type in identifiers."""
    if isinstance(value, str):
        return "".join(value.split()).replace(".", "")
    return value


def _format_value(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "Oui" if value else "Non"
    if isinstance(value, dt.datetime):
        return format_datetime(value)
    if isinstance(value, dt.date):
        return format_date(value)
    if isinstance(value, decimal.Decimal):
        return format_decimal(value)
    if isinstance(value, LabelledEnum):
        return value.label
    return value


class AppModelView(ModelView):
    """A CRUD screen with the project's permission names, French formats and error handling."""

    method_permission_name = METHOD_PERMISSIONS
    page_size = 25
    # Every subclass lists what is searchable: FAB's default loads every related table.
    search_columns: list[str] = []
    base_order: tuple[str, str] | None = None

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        formatters = {
            column: _format_value
            for column in {*self.list_columns, *self.show_columns}
            if column not in self.formatters_columns
        }
        self.formatters_columns = {**formatters, **self.formatters_columns}

    def _init_forms(self) -> None:
        super()._init_forms()
        frenchify_form(self.add_form)
        frenchify_form(self.edit_form)

    # -- error handling: show the form again with the French message --------------------------

    def _refused(self, error: Exception, form: Any) -> None:
        self.datamodel.session.rollback()
        if isinstance(error, TenantViolation):
            abort(404)
        message = error.message if isinstance(error, DomainError) else integrity_message(error)
        field = getattr(error, "field", None)
        if field and field in form:
            form[field].errors = [*form[field].errors, message]
        flash(message, "danger")

    def _add(self) -> Any:
        if request.method != "POST":
            return super()._add()
        form = self.add_form.refresh()
        exclude_cols = self._filters.get_relation_cols()
        self._fill_form_exclude_cols(exclude_cols, form)
        if not form.validate():
            return self._get_add_widget(form=form, exclude_cols=exclude_cols)
        self.process_form(form, True)
        item = self.datamodel.obj()
        try:
            form.populate_obj(item)
            self.pre_add(item)
            self.datamodel.session.add(item)
            self.datamodel.session.flush()
            self.datamodel.session.commit()
        except (DomainError, IntegrityError) as error:
            self._refused(error, form)
            return self._get_add_widget(form=form, exclude_cols=exclude_cols)
        self.post_add(item)
        flash(self.add_row_message, "success")
        return None

    def _edit(self, pk: Any) -> Any:
        if request.method != "POST":
            return super()._edit(pk)
        item = self.datamodel.get(pk, self._base_filters)
        if not item:
            abort(404)
        pk = self.datamodel.get_pk_value(item)
        form = self.edit_form.refresh(request.form)
        exclude_cols = self._filters.get_relation_cols()
        self._fill_form_exclude_cols(exclude_cols, form)
        form._id = pk
        if not form.validate():
            return self._get_edit_widget(form=form, exclude_cols=exclude_cols)
        self.process_form(form, False)
        try:
            form.populate_obj(item)
            self.pre_update(item)
            self.datamodel.session.flush()
            self.datamodel.session.commit()
        except (DomainError, IntegrityError) as error:
            self._refused(error, form)
            return self._get_edit_widget(form=form, exclude_cols=exclude_cols)
        self.post_update(item)
        flash(self.edit_row_message, "success")
        return None

    def _delete(self, pk: Any) -> None:
        item = self.datamodel.get(pk, self._base_filters)
        if not item:
            abort(404)
        try:
            self.pre_delete(item)
            self.datamodel.session.delete(item)
            self.datamodel.session.flush()
            self.datamodel.session.commit()
        except (DomainError, IntegrityError) as error:
            self.datamodel.session.rollback()
            if isinstance(error, TenantViolation):
                abort(404)
            message = error.message if isinstance(error, DomainError) else delete_message(error)
            flash(message, "danger")
        else:
            self.post_delete(item)
            flash(self.delete_row_message, "success")
        self.update_redirect()

    @expose("/delete/<pk>", methods=["POST"])
    @has_access
    def delete(self, pk: Any) -> Any:
        """Deletion is a POST (with its CSRF token) only; a GET is 405."""
        return super().delete(pk)

    def action_post(self) -> Any:
        """Multiple-row actions only ever receive rows the caller can read."""
        name = request.form.get("action", "")
        if name not in self.actions:
            abort(404)
        pks = request.form.getlist("rowid")
        items = [self.datamodel.get(self._deserialize_pk_if_composite(pk)) for pk in pks]
        if not items or any(item is None for item in items):
            abort(404)
        permission = self.get_action_permission_name(name)
        if not self.appbuilder.sm.has_access(permission, self.class_permission_name):
            abort(403)
        return self.actions[name].func(items)

    def action(self, name: str, pk: Any) -> Any:
        if request.method != "POST":
            abort(405)
        if name not in self.actions:
            abort(404)
        item = self.datamodel.get(self._deserialize_pk_if_composite(pk))
        if item is None:
            abort(404)
        permission = self.get_action_permission_name(name)
        if not self.appbuilder.sm.has_access(permission, self.class_permission_name):
            abort(403)
        return self.actions[name].func(item)


class ReadOnlyModelView(AppModelView):
    """A screen that lists and shows, never writes (reference lists for most roles, logs)."""

    base_permissions = ["can_read"]


def attach_error(form: Any, error: DomainError) -> None:
    """Show a refusal next to its field (or at the top of the page)."""
    field = getattr(error, "field", None)
    if form is not None and field and field in form:
        form[field].errors = [*form[field].errors, error.message]
    else:
        flash(error.message, "danger")


class Ran:
    """The outcome of run_service: true when the service succeeded, with its result."""

    def __init__(self, ok: bool, result: Any = None) -> None:
        self.ok = ok
        self.result = result

    def __bool__(self) -> bool:
        return self.ok


def run_service(action: Any, form: Any = None) -> Ran:
    """Run a service call as the request's transaction (custom screens): commit on success; on
    a refusal roll everything back and show it (next to the form field, or flashed); a record
    outside the caller's scope is a 404."""
    from app.extensions import db

    try:
        result = action()
        db.session.flush()
    except TenantViolation:
        db.session.rollback()
        abort(404)
    except DomainError as error:
        db.session.rollback()
        attach_error(form, error)
        return Ran(False)
    db.session.commit()
    return Ran(True, result)


def integrity_message(error: Exception) -> str:
    text = str(getattr(error, "orig", error)).lower()
    if "unique" in text or "duplicate" in text:
        return "Cet enregistrement existe déjà (une valeur qui doit être unique est déjà utilisée)."
    if "not null" in text or "null value" in text:
        return "Un champ obligatoire n'est pas renseigné."
    return "L'enregistrement est refusé par la base de données (données incohérentes)."


def delete_message(error: Exception) -> str:
    text = str(getattr(error, "orig", error)).lower()
    if "foreign key" in text:
        return "Suppression impossible : d'autres enregistrements y font référence."
    return integrity_message(error)


# ----------------------------------------------------------------------------------------------
# REST API
# ----------------------------------------------------------------------------------------------

MARSHMALLOW_FR = {
    "Missing data for required field.": "Champ obligatoire.",
    "Field may not be null.": "Ce champ ne peut pas être vide.",
    "Not a valid integer.": "Nombre entier attendu.",
    "Not a valid string.": "Texte attendu.",
    "Not a valid date.": "Date invalide (format attendu AAAA-MM-JJ).",
    "Not a valid datetime.": "Date et heure invalides (format ISO attendu).",
    "Not a valid boolean.": "Valeur booléenne attendue.",
    "Not a valid number.": "Nombre attendu.",
    "Unknown field.": "Champ inconnu.",
    "Invalid input type.": "Type de donnée invalide.",
}


def _translate(messages: Any) -> Any:
    if isinstance(messages, dict):
        return {key: _translate(value) for key, value in messages.items()}
    if isinstance(messages, list):
        return [_translate(value) for value in messages]
    if isinstance(messages, str):
        if messages.startswith("Must be one of"):
            return "Valeur non autorisée."
        if messages.startswith("Longer than maximum length"):
            return "Texte trop long."
        return MARSHMALLOW_FR.get(messages, messages)
    return messages


class ForeignKeySchemaConverter(Model2SchemaConverter):
    """FAB's converter, but foreign-key columns (``collectivity_id``...) can be listed."""

    def _meta_schema_factory(
        self, columns: Any, model: Any, class_mixin: Any, parent_schema_name: Any = None
    ) -> Any:
        schema = super()._meta_schema_factory(columns, model, class_mixin, parent_schema_name)
        schema.Meta.include_fk = True
        schema.opts.include_fk = True
        fk_fields = {
            name: field
            for name, field in vars(class_mixin).items()
            if isinstance(field, ma_fields.Field) and name not in schema._declared_fields
        }
        schema._declared_fields.update(fk_fields)
        return schema


class AppModelRestApi(ModelRestApi):
    """A REST resource under /api/v1/ with French errors; scoping comes from the ORM."""

    model2schemaconverter = ForeignKeySchemaConverter
    method_permission_name = METHOD_PERMISSIONS
    allow_browser_login = False
    max_page_size = 100

    def response_401(self) -> Any:
        return self.response(401, message="Authentification requise.")

    def response_403(self) -> Any:
        return self.response(403, message="Accès refusé.")

    def response_404(self) -> Any:
        return self.response(404, message="Enregistrement introuvable.")

    def response_422(self, message: Any = None) -> Any:
        return self.response(422, message=_translate(message))

    def response_400(self, message: Any = None) -> Any:
        if message in ("Request is not JSON", "Not a valid rison argument"):
            message = "Requête invalide."
        return self.response(400, message=_translate(message))

    def _init_model_schemas(self) -> None:
        super()._init_model_schemas()
        # A column with a default is optional in a POST (FAB requires every non-nullable one).
        columns = self.datamodel.obj.__table__.columns
        for schema in (self.add_model_schema, self.edit_model_schema):
            for name, field in getattr(schema, "fields", {}).items():
                column = columns.get(name)
                if column is not None and column.default is not None:
                    field.required = False

    def _refused(self, error: Exception) -> Any:
        self.datamodel.session.rollback()
        if isinstance(error, TenantViolation):
            return self.response_404()
        if isinstance(error, DomainError):
            return self.response(400, message=error.message)
        return self.response(409, message=integrity_message(error))

    def _commit(self) -> None:
        self.datamodel.session.flush()
        self.datamodel.session.commit()

    def payload(self) -> Any:
        """The request's JSON (subclasses take out the keys their schema does not know)."""
        return request.json

    def post_headless(self) -> Any:
        if not request.is_json:
            return self.response_400(message="Request is not JSON")
        try:
            item = self.add_model_schema.load(self.payload())
        except ValidationError as err:
            return self.response_422(message=err.messages)
        try:
            self.pre_add(item)
            self.datamodel.session.add(item)
            self._commit()
        except (DomainError, IntegrityError) as error:
            return self._refused(error)
        self.post_add(item)
        return self.response(
            201,
            result=self.add_model_schema.dump(item, many=False),
            id=self.datamodel.get_pk_value(item),
        )

    def put_headless(self, pk: Any) -> Any:
        item = self.datamodel.get(pk, self._base_filters)
        if not item:
            return self.response_404()
        if not request.is_json:
            return self.response_400(message="Request is not JSON")
        try:
            data = self._merge_update_item(item, self.payload())
            item = self.edit_model_schema.load(data, instance=item)
        except ValidationError as err:
            self.datamodel.session.rollback()
            return self.response_422(message=err.messages)
        try:
            self.pre_update(item)
            self._commit()
        except (DomainError, IntegrityError) as error:
            return self._refused(error)
        self.post_update(item)
        return self.response(200, result=self.edit_model_schema.dump(item, many=False))

    def delete_headless(self, pk: Any) -> Any:
        item = self.datamodel.get(pk, self._base_filters)
        if not item:
            return self.response_404()
        try:
            self.pre_delete(item)
            self.datamodel.session.delete(item)
            self._commit()
        except IntegrityError:
            self.datamodel.session.rollback()
            return self.response(
                409, message="Suppression impossible : d'autres enregistrements y font référence."
            )
        except DomainError as error:
            return self._refused(error)
        self.post_delete(item)
        return self.response(200, message="Supprimé.")
