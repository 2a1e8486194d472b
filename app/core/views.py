"""Base classes for every screen and REST resource: permissions, French forms and formats, errors.

Views declare (columns, labels, titles); services decide (``pre_add`` / ``pre_update`` /
``pre_delete`` call them and raise ``DomainError``). A refused form is shown again with the
French message and everything the user typed.
"""

from __future__ import annotations

import datetime as dt
import decimal
import sys
from typing import Any

from flask import abort, current_app, flash, has_request_context, request
from flask_appbuilder import ModelView, expose
from flask_appbuilder.api import ModelRestApi
from flask_appbuilder.api.convert import Model2SchemaConverter
from flask_appbuilder.baseviews import BaseCRUDView
from flask_appbuilder.fields import EnumField, QuerySelectField
from flask_appbuilder.fieldwidgets import BS3TextFieldWidget
from flask_appbuilder.security.decorators import has_access
from flask_babel import gettext as _gettext
from markupsafe import Markup
from marshmallow import ValidationError
from marshmallow import fields as ma_fields
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.exc import IntegrityError
from wtforms import BooleanField, DateField, DateTimeField, DecimalField
from wtforms.fields.core import UnboundField
from wtforms.validators import DataRequired, InputRequired
from wtforms.validators import ValidationError as FormValidationError
from wtforms.widgets import Select, html_params

from app.core.formatting import format_date, format_datetime, format_decimal
from app.core.input_guard import BadInput, bad_input_message
from app.core.rison_schemas import install as install_rison_schemas
from app.core.types import LabelledEnum
from app.rules.dates import parse_french_date, parse_french_datetime
from app.rules.errors import DomainError
from app.rules.formatting import fold
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
    "export": READ,  # app.core.exports: a list's CSV / XLSX is read access to the list
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


CHOOSE = "Choisissez…"
_BLANK_VALUES = ("", "__None")


class ChoiceWidget(Select):
    """A drop-down list (select2 unless ``select2=False``). A required choice starts empty
    (« Choisissez… ») instead of on its first entry, so nothing is chosen without the user: an
    empty first option, select2's placeholder, no "clear" cross. Its search box takes the focus
    when it opens (static/js/medprev.js)."""

    def __init__(self, select2: bool = True) -> None:
        super().__init__()
        self.select2 = select2

    def __call__(self, field: Any, **kwargs: Any) -> Markup:
        classes = ["my_select2"] if self.select2 else []
        classes += ["form-control", *kwargs.pop("class", "").split()]
        kwargs["class"] = " ".join(dict.fromkeys(classes))
        required = bool(getattr(field.flags, "required", False))
        if required:
            kwargs.update({"data-placeholder": CHOOSE, "data-allow-clear": "false"})
        html = str(super().__call__(field, **kwargs))
        choices = list(field.iter_choices())
        if not required or any(str(choice[0]) in _BLANK_VALUES for choice in choices):
            return Markup(html)
        selected = "" if any(choice[2] for choice in choices) else " selected"
        head, _, options = html.partition(">")
        return Markup(f'{head}><option value=""{selected}>{CHOOSE}</option>{options}')


def _is_required(validators: Any) -> bool:
    return any(isinstance(v, (InputRequired, DataRequired)) for v in validators or [])


class SafeEnumField(EnumField):
    """FAB's enum select raises a bare KeyError on an empty or unknown code and a bare
    ValueError on an invalid choice (a 500): say it in French next to the field."""

    def process_formdata(self, valuelist: list[Any]) -> None:
        if valuelist and valuelist[0] in ("", None):
            self.data = None  # "no choice": the field's required validator decides
            return
        try:
            super().process_formdata(valuelist)
        except (KeyError, ValueError, TypeError) as error:
            self.data = None
            raise ValueError("Choix invalide.") from error

    def pre_validate(self, form: Any) -> None:
        if self.data is None:
            return
        try:
            super().pre_validate(form)
        except ValueError as error:
            raise FormValidationError("Choix invalide.") from error


class FrenchDateField(DateField):
    """A date typed JJ/MM/AAAA (or JJMMAAAA, AAAA-MM-JJ) read strictly by
    ``app.rules.dates.parse_french_date``: an impossible date is an error on the field, and
    the text stays as typed."""

    def process_formdata(self, valuelist: list[Any]) -> None:
        if not valuelist:
            return
        text = " ".join(str(value) for value in valuelist).strip()
        self.data = None
        if not text:
            return  # the field's required / optional validator decides
        try:
            self.data = parse_french_date(text)
        except DomainError as error:
            raise ValueError(error.message) from error


class FrenchDateTimeField(DateTimeField):
    """A date and time typed JJ/MM/AAAA HH:MM, read by ``parse_french_datetime``."""

    def process_formdata(self, valuelist: list[Any]) -> None:
        if not valuelist:
            return
        text = " ".join(str(value) for value in valuelist).strip()
        self.data = None
        if not text:
            return
        try:
            self.data = parse_french_datetime(text)
        except DomainError as error:
            raise ValueError(error.message) from error


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
    """Swap the generated date, datetime and decimal fields for French-format ones; a required
    drop-down starts empty (« Choisissez… »); an unticked checkbox is a valid "Non" (FAB marks
    non-nullable booleans as required)."""
    for name in list(vars(form_class)):
        unbound = getattr(form_class, name)
        if not isinstance(unbound, UnboundField):
            continue
        field_class = unbound.field_class
        kwargs = dict(unbound.kwargs)
        if issubclass(field_class, EnumField) and field_class is not SafeEnumField:
            if _is_required(kwargs.get("validators")):
                kwargs["widget"] = ChoiceWidget()
            setattr(form_class, name, SafeEnumField(*unbound.args, **kwargs))
        elif issubclass(field_class, QuerySelectField) and _is_required(kwargs.get("validators")):
            # FAB preselects the first row of a required relation: offer its blank instead.
            kwargs.update(allow_blank=True, blank_text=CHOOSE, widget=ChoiceWidget())
            setattr(form_class, name, field_class(*unbound.args, **kwargs))
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


def sql_orderable(view: Any, column: str) -> bool:
    """A declared order column that SQL can sort: a mapped column of the model, or a
    ``relation.column`` path; not a relation, a Python property or an unknown name."""
    from sqlalchemy import inspect as sa_inspect

    if not column or column not in (view.order_columns or ()):
        return False
    if "." in column:
        return True
    return column in sa_inspect(view.datamodel.obj).columns


def _ordered_only_by_sql(original: Any) -> Any:
    def _get_list_widget(self: Any, *args: Any, **kwargs: Any) -> Any:
        # ``_oc_<View>`` naming a relation, a property or an unknown column was a 500: the
        # default order applies instead.
        if kwargs.get("order_column") and not sql_orderable(self, kwargs["order_column"]):
            kwargs["order_column"], kwargs["order_direction"] = "", ""
        return original(self, *args, **kwargs)

    _get_list_widget.__wrapped__ = original  # type: ignore[attr-defined]
    return _get_list_widget


# Every list screen, Flask-AppBuilder's own user and role screens included, goes through FAB's
# BaseCRUDView._get_list_widget: the guard is installed there once.
if not hasattr(BaseCRUDView._get_list_widget, "__wrapped__"):
    BaseCRUDView._get_list_widget = _ordered_only_by_sql(BaseCRUDView._get_list_widget)


class MatrixModelView(ModelView):
    """Related views and columns obey the permission matrix. FAB renders every related view and
    every column whatever the role: a collectivity's page would list its conventions to an
    employer who may not read conventions. Every use FAB makes of ``_related_views`` goes
    through the property below; the full list stays for set-up (``get_init_inner_views``)."""

    @property
    def _related_views(self) -> list[Any]:  # type: ignore[override]
        views: list[Any] = self.__dict__.setdefault("_all_related_views", [])
        if not has_request_context():
            return views
        return [view for view in views if can_read(view.class_permission_name)]

    @_related_views.setter
    def _related_views(self, value: list[Any]) -> None:
        self.__dict__["_all_related_views"] = list(value or [])

    def get_init_inner_views(self) -> list[Any]:
        return self.__dict__.setdefault("_all_related_views", [])  # type: ignore[no-any-return]

    def _get_show_widget(self, pk: Any, item: Any, widgets: Any = None, **kwargs: Any) -> Any:
        widgets = super()._get_show_widget(pk, item, widgets, **kwargs)
        _hide_columns(widgets["show"].template_args, unreadable_columns(self), by_index=True)
        return widgets

    def _get_list_widget(self, filters: Any, **kwargs: Any) -> Any:
        widgets = super()._get_list_widget(filters, **kwargs)
        _hide_columns(widgets["list"].template_args, unreadable_columns(self), by_index=False)
        return widgets


class AppModelView(MatrixModelView):
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
            return self._refused_edit_widgets(item, form, exclude_cols)
        self.process_form(form, False)
        try:
            form.populate_obj(item)
            self.pre_update(item)
            self.datamodel.session.flush()
            self.datamodel.session.commit()
        except (DomainError, IntegrityError) as error:
            self._refused(error, form)
            return self._refused_edit_widgets(item, form, exclude_cols)
        self.post_update(item)
        flash(self.edit_row_message, "success")
        return None

    def _refused_edit_widgets(self, item: Any, form: Any, exclude_cols: Any) -> Any:
        """The edit form with its errors, and the related views the edit page also shows."""
        widgets = self._get_edit_widget(form=form, exclude_cols=exclude_cols)
        return self._get_related_views_widgets(
            item, filters={}, orders={}, pages={}, page_sizes={}, widgets=widgets
        )

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


def can_read(resource: str) -> bool:
    """The signed-in user's role may read this resource (the permission matrix)."""
    return bool(current_app.appbuilder.sm.has_access(f"can_{READ}", resource))


def _model_resources() -> dict[type, set[str]]:
    """The resources through which each model is shown (the screens and APIs declaring it)."""
    resources: dict[type, set[str]] = {}
    for view in current_app.appbuilder.baseviews:
        model = getattr(getattr(view, "datamodel", None), "obj", None)
        name = getattr(view, "class_permission_name", None)
        if model is not None and name:
            resources.setdefault(model, set()).add(name)
    return resources


def unreadable_columns(view: Any) -> set[str]:
    """Relationship columns of a view pointing at a model the user may read through no
    resource (a column never reveals what its own screen would refuse)."""
    resources = _model_resources()
    hidden = set()
    for column in {*view.list_columns, *view.show_columns}:
        if not view.datamodel.is_relation(column):
            continue
        target = view.datamodel.get_related_model(column)
        names = resources.get(target)
        if names and not any(can_read(name) for name in names):
            hidden.add(column)
    return hidden


def _hide_columns(args: dict[str, Any], hidden: set[str], *, by_index: bool) -> None:
    if not hidden:
        return
    if args.get("fieldsets"):
        fieldsets = []
        for name, spec in args["fieldsets"]:
            fields = [f for f in spec.get("fields", []) if f not in hidden]
            if fields:
                fieldsets.append((name, {**spec, "fields": fields}))
        args["fieldsets"] = fieldsets
        return
    columns = list(args["include_columns"])
    if by_index:
        args["value_columns"] = [
            value
            for column, value in zip(columns, args["value_columns"], strict=True)
            if column not in hidden
        ]
    args["include_columns"] = [c for c in columns if c not in hidden]


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
    "Not a valid list.": "Liste attendue.",
    "Not a valid mapping type.": "Objet JSON attendu.",
}


# FAB's own 400 messages (prefix -> French).
FAB_MESSAGES = {
    "Request is not JSON": "Requête invalide : un corps JSON est attendu.",
    "Not a valid rison argument": "Paramètre q invalide (rison attendu).",
    "Not a valid rison/json argument": "Paramètre q invalide (rison attendu).",
    "Not a valid rison schema": "Paramètre q invalide :",
    "Invalid order by column": "Colonne de tri non autorisée :",
    "Filter column": "Filtre non autorisé sur cette colonne.",
    "Filter operation": "Opération de filtre non autorisée sur cette colonne.",
    "Cannot use both select and sel columns": "Paramètres columns et select_columns exclusifs.",
    "400 Bad Request": "Requête invalide.",
}
MAX_API_OFFSET = 2**31 - 1


def _fab_message(message: str) -> str:
    for prefix, french in FAB_MESSAGES.items():
        if message.startswith(prefix):
            if french.endswith(":"):
                detail = message[len(prefix) :].lstrip(" :")
                return f"{french} {detail}"[:300]
            return french
    return message


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


def enum_member(enum_class: type[LabelledEnum], value: Any) -> LabelledEnum:
    """The member named by its code or its French label, ignoring case and accents
    (``"Madame"``, ``"madame"``, ``"MONSIEUR"``); ValueError with a French message otherwise."""
    if isinstance(value, enum_class):
        return value
    if isinstance(value, str):
        wanted = fold(value)
        for member in enum_class:
            if fold(member.name) == wanted:
                return member
        for member in enum_class:
            if fold(member.label) == wanted:
                return member
    raise ValueError(
        f"Valeur inconnue : « {str(value)[:60]} ». Valeurs acceptées : "
        + ", ".join(member.name for member in enum_class)
        + "."
    )


class LabelledEnumField(ma_fields.Enum):
    """Every LabelledEnum column of the REST API (CONTRACT.md §2 « Values »): loads the code or
    the French label, ignoring case and accents; dumps the code (documented as the codes)."""

    def __init__(self, enum: type[LabelledEnum], **kwargs: Any) -> None:
        kwargs.pop("by_value", None)
        super().__init__(enum, by_value=False, **kwargs)

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> Any:
        try:
            return enum_member(self.enum, value)  # type: ignore[arg-type]
        except ValueError as error:
            raise ValidationError(str(error)) from error


class ForeignKeySchemaConverter(Model2SchemaConverter):
    """FAB's converter, but foreign-key columns (``collectivity_id``...) can be listed, and
    labelled enums accept their code or their French label (``LabelledEnumField``)."""

    def _column2enum(self, datamodel: Any, column: Any) -> Any:
        enum_class = getattr(datamodel.list_columns[column.name].type, "enum_class", None)
        if not (isinstance(enum_class, type) and issubclass(enum_class, LabelledEnum)):
            return super()._column2enum(datamodel, column)
        nullable = datamodel.is_nullable(column.name)
        field = LabelledEnumField(enum_class, required=not nullable, allow_none=nullable)
        field.unique = datamodel.is_unique(column.name)
        return field

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


def _type_ids_as_integers(node: Any) -> None:
    if isinstance(node, dict):
        properties = node.get("properties")
        if isinstance(properties, dict):
            if properties.get("id", {}).get("type") == "string":
                properties["id"] = {**properties["id"], "type": "integer"}
            items = properties.get("ids", {}).get("items", {})
            if items.get("type") == "string":
                properties["ids"] = {**properties["ids"], "items": {**items, "type": "integer"}}
        for value in node.values():
            _type_ids_as_integers(value)
    elif isinstance(node, list):
        for value in node:
            _type_ids_as_integers(value)


install_rison_schemas()  # the ``q`` argument's JSON schema is checked once per schema


class AppModelRestApi(ModelRestApi):
    """A REST resource under /api/v1/ with French errors; scoping comes from the ORM."""

    model2schemaconverter = ForeignKeySchemaConverter
    method_permission_name = METHOD_PERMISSIONS
    allow_browser_login = False
    max_page_size = 100

    def _init_properties(self) -> None:
        super()._init_properties()
        # FAB selects only the listed columns (``load_only``): a listed Python property that
        # reads another column of the row (``validated`` -> ``validated_at``) loaded it with
        # one query per row. A list with properties selects every column of its table.
        if self.list_select_columns is self.list_columns and any(
            self.datamodel.is_property_or_function(name) for name in self.list_columns
        ):
            own = [attr.key for attr in sa_inspect(self.datamodel.obj).column_attrs]
            self.list_select_columns = [
                *self.list_columns,
                *(key for key in own if key not in self.list_columns),
            ]

    def _gen_labels_columns(self, list_columns: list[str]) -> None:
        # French labels (CONTRACT.md §2): the resource's own, else its model's screens'.
        from app.core.labels import declared_labels, field_label

        declared = None
        for column in list_columns:
            if not self.label_columns.get(column):
                declared = declared if declared is not None else declared_labels(self.datamodel.obj)
                label = field_label(self.datamodel.obj, column, declared)
                if label != column:
                    self.label_columns[column] = label
        super()._gen_labels_columns(list_columns)

    def response_401(self) -> Any:
        return self.response(401, message="Authentification requise.")

    def response_403(self) -> Any:
        return self.response(403, message="Accès refusé.")

    def response_404(self) -> Any:
        return self.response(404, message="Enregistrement introuvable.")

    def response_422(self, message: Any = None) -> Any:
        return self.response(422, message=_translate(message))

    def response_400(self, message: Any = None) -> Any:
        if isinstance(message, str):
            message = _fab_message(message)
        return self.response(400, message=_translate(message))

    def response_500(self, message: Any = None) -> Any:
        """FAB's ``@safe`` answers any exception with a 500: a value the database or a column
        type refused (out of range, unknown code) is the caller's error, a 400."""
        refused = bad_input_message(sys.exc_info()[1])
        self.datamodel.session.rollback()
        if refused is not None:
            return self.response(400, message=refused)
        return self.response(500, message="Erreur interne du serveur.")

    def _sanitize_page_args(self, page: Any, page_size: Any) -> Any:
        page, page_size = super()._sanitize_page_args(page, page_size)
        if page is not None and page < 0:
            raise BadInput("Numéro de page invalide (0 pour la première page).")
        if page is not None and page_size is not None and page * page_size > MAX_API_OFFSET:
            raise BadInput("Numéro de page trop grand.")
        return page, page_size

    def _handle_columns_args(
        self, args: dict[str, Any], default_select_columns: Any, default_response_columns: Any
    ) -> Any:
        """A resource with its own schema (renamed or computed fields) always answers with it:
        ``columns`` / ``select_columns`` are ignored there (FAB's generated schema would not
        match, and the resource's hooks read the full row)."""
        own = (default_response_columns is self.list_columns and self._own_list_schema) or (
            default_response_columns is self.show_columns and self._own_show_schema
        )
        if own:
            return default_select_columns, []
        return super()._handle_columns_args(args, default_select_columns, default_response_columns)

    def _handle_filters_args(self, rison_args: dict[str, Any]) -> Any:
        """A number given to filter a text column is that text (``value:123`` is rison for a
        code typed 123); a boolean or an object is refused (FAB would add it to "%": a 500)."""
        for item in rison_args.get("filters") or []:
            column, value = item.get("col"), item.get("value")
            enum_class = self._labelled_enum(column)
            if enum_class is not None and isinstance(value, str):
                try:
                    item["value"] = enum_member(enum_class, value).name
                except ValueError as error:
                    raise BadInput(f"Filtre « {column} » : {error}") from error
                continue
            if not isinstance(column, str) or not (
                self.datamodel.is_string(column) or self.datamodel.is_text(column)
            ):
                continue
            if isinstance(value, (bool, dict)):
                raise BadInput(f"Texte attendu pour le filtre « {column} ».")
            if isinstance(value, (int, float)):
                item["value"] = str(value)
        return super()._handle_filters_args(rison_args)

    def _labelled_enum(self, column: Any) -> type[LabelledEnum] | None:
        if not isinstance(column, str) or column not in self.datamodel.list_columns:
            return None
        enum_class = getattr(self.datamodel.list_columns[column].type, "enum_class", None)
        if isinstance(enum_class, type) and issubclass(enum_class, LabelledEnum):
            return enum_class
        return None

    def _get_field_info(self, field: Any, filter_rel_field: Any, **kwargs: Any) -> Any:
        """FAB translates a missing label or description as ``_("")``, which gettext answers with
        the catalogue's header (Project-Id-Version...): an empty text stays empty."""
        info = super()._get_field_info(field, filter_rel_field, **kwargs)
        for key, texts in (
            ("label", self.label_columns),
            ("description", self.description_columns),
        ):
            text = texts.get(field.name, "")
            info[key] = _gettext(text) if text else ""
        return info

    def add_api_spec(self, api_spec: Any) -> None:
        """FAB documents ``id`` and ``ids`` as strings: they are integers."""
        super().add_api_spec(api_spec)
        prefix = f"/api/{self.version}/{self.resource_name}/"
        for path, operations in api_spec._paths.items():
            if path.startswith(prefix):
                _type_ids_as_integers(operations)

    def _init_model_schemas(self) -> None:
        self._own_list_schema = self.list_model_schema is not None
        self._own_show_schema = self.show_model_schema is not None
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


def page_of(query: Any, page_size: int) -> dict[str, Any]:
    """One page of a list screen, as the list templates read it: ``rows`` of page ``page``
    (``?page=``; 1 when absent or out of range), ``pages`` (at least 1) and ``total``."""
    import math

    from sqlalchemy import func, select

    from app.extensions import db

    raw = request.args.get("page", "")
    page = int(raw) if raw.isdigit() and 0 < int(raw) < 10**6 else 1
    total = db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    rows = list(db.session.scalars(query.limit(page_size).offset((page - 1) * page_size)).unique())
    return {
        "rows": rows,
        "page": page,
        "pages": max(1, math.ceil((total or 0) / page_size)),
        "total": total or 0,
    }


def year_arg(name: str = "annee") -> int:
    """The year a yearly screen shows (``?annee=``): this year when absent or out of 2000-2100."""
    raw = request.args.get(name, "")
    if raw.isdigit() and 2000 <= int(raw) <= 2100:
        return int(raw)
    from app.core import clock

    return clock.today().year


def submit_dated(form: Any, call: Any) -> tuple[bool, int]:
    """A yearly screen's « Planifier » form posted: ``call()`` run as the request's transaction
    when the form is valid (a refusal is shown next to its field). Returns (done, the year of
    the form's ``day_on``, this year when it is missing or invalid); the caller redirects to
    that year's screen when done, else re-displays the form with its errors (nothing typed is
    lost)."""
    from app.core import clock

    valid = form.validate()
    day = form.day_on.data
    year = day.year if day is not None else clock.today().year
    return valid and day is not None and bool(run_service(call, form)), year
