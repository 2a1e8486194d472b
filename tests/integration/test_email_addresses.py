"""E-mail addresses: refused with a line break on every form, API and at the model; a bad
recipient stored before the check never blocks a batch of mails, it is reported."""

from __future__ import annotations

import datetime as dt
import importlib
import inspect
import pkgutil
import re

import pytest
from flask_appbuilder import ModelView
from flask_appbuilder.security.sqla.models import RegisterUser, User
from flask_wtf import FlaskForm
from sqlalchemy import func, select, update
from wtforms.fields.core import UnboundField

import app as app_package
from app.core import clock
from app.core.emails import EmailAddress, email_attributes
from app.core.mail import outbox_entries, send_mail, take_refused_mail
from app.extensions import metadata
from app.planning import services as planning
from app.planning.models import Appointment, AppointmentStatus, Plage, PlageNature, PlageState
from app.referential.models import Collectivity, Contact, ContactFunction, Professional
from app.rules.emails import EMAIL_MESSAGE
from app.rules.errors import FieldError
from tests import factories
from tests.integration.test_workforce import _contract, _position
from tests.isolation import make_agent
from tests.util import text

INJECTED = "claire@a.fr\nBcc: evil@x.fr"
NOW = dt.datetime(2026, 3, 2, 8, 0)  # a Monday


def field_errors(response, field: str) -> str:
    """What the form shows in the cell of ``field`` (its input and the errors next to it)."""
    page = text(response)
    start = page.index(f'id="{field}"')
    ends = [page.find(mark, start) for mark in ("</td>", "<label")]
    return page[start : min(end for end in ends if end > 0)]


# ----------------------------------------------------------------------------------------------
# Forms, API, model, CLI
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "data"),
    [
        (
            "/contactview/add",
            {"function": "rh", "last_name": "BLANC", "first_name": "Anne"},
        ),
        (
            "/professionalview/add",
            {"role": "medecin", "last_name": "BLANC", "first_name": "Anne", "is_active": "y"},
        ),
    ],
)
def test_a_staff_form_refuses_an_e_mail_with_a_line_break_next_to_the_field(
    login, users, db_ctx, url, data
):
    web = login(users.secretariat)
    data = {**data, "collectivity": str(users.collectivity_a.id), "email": INJECTED}
    response = web.post_form(url, data)
    assert response.status_code == 200
    cell = field_errors(response, "email")
    assert EMAIL_MESSAGE in cell
    assert "claire@a.fr\nBcc: evil@x.fr" in cell, "what was typed is kept"
    assert "BLANC" in text(response)
    with db_ctx() as session:
        assert not session.scalar(
            select(func.count(Contact.id)).where(Contact.last_name == "BLANC")
        )
        assert not session.scalar(
            select(func.count(Professional.id)).where(Professional.last_name == "BLANC")
        )


def test_the_collectivity_form_refuses_an_e_mail_with_a_line_break(login, users, db_ctx):
    web = login(users.secretariat)
    response = web.post_form(
        "/collectivityview/add",
        {
            "name": "Commune de Saint-Exemple",
            "kind": "commune",
            "siret": "21690123100011",
            "regime": "public",
            "category": "affiliee",
            "secretariat_mode": "cdg",
            "email": INJECTED,
        },
    )
    assert response.status_code == 200
    assert EMAIL_MESSAGE in field_errors(response, "email")
    with db_ctx() as session:
        assert not session.scalar(
            select(func.count(Collectivity.id)).where(Collectivity.siret == "21690123100011")
        )


def test_a_refused_edit_of_a_screen_with_related_views_redisplays_the_form(login, users, db_ctx):
    """The collectivity edit page has related views (contacts, agents...): a refused save shows
    the form with its error and the related tabs, not a server error."""
    web = login(users.secretariat)
    url = f"/collectivityview/edit/{users.collectivity_a.id}"
    response = web.post_form(
        url,
        {
            "name": users.collectivity_a.name,
            "kind": "commune",
            "siret": users.collectivity_a.siret,
            "regime": "public",
            "category": "affiliee",
            "secretariat_mode": "cdg",
            "email": INJECTED,
        },
        form_url=url,
    )
    assert response.status_code == 200
    assert EMAIL_MESSAGE in field_errors(response, "email")
    with db_ctx() as session:
        assert session.get(Collectivity, users.collectivity_a.id).email != INJECTED


@pytest.mark.parametrize("field", ["contact_email", "email"])
def test_my_details_refuses_an_e_mail_with_a_line_break_and_keeps_the_input(
    login, users, db_ctx, field
):
    web = login(users.primary_a)
    data = {
        "main_line1": "2 rue Neuve",
        "contact_last_name": "BLANC",
        "contact_email": "convocations@tassin.fr",
        field: INJECTED,
    }
    response = web.post_form("/portail/coordonnees/", data)
    assert response.status_code == 200
    assert EMAIL_MESSAGE in field_errors(response, field)
    assert "2 rue Neuve" in text(response)
    with db_ctx() as session:
        assert session.get(Collectivity, users.collectivity_a.id).main_line1 != "2 rue Neuve"
        assert not session.scalar(
            select(func.count(Contact.id)).where(Contact.last_name == "BLANC")
        )


def test_a_secondary_account_with_an_e_mail_with_a_line_break_is_refused(login, users, db_ctx):
    web = login(users.primary_a)
    response = web.post_form(
        "/portail/comptes-secondaires/nouveau",
        {"last_name": "BLANC", "first_name": "Anne", "email": INJECTED},
    )
    assert response.status_code == 200
    assert EMAIL_MESSAGE in text(response)
    with db_ctx() as session:
        assert not session.scalar(select(func.count(User.id)).where(User.last_name == "BLANC"))


def test_the_professional_api_answers_400_in_french_to_an_e_mail_with_a_line_break(
    api_login, users, db_ctx
):
    api = api_login(users.secretariat)
    payload = {"last_name": "BLANC", "first_name": "Anne", "role": "medecin", "email": INJECTED}
    created = api.post("/api/v1/professional/", json=payload)
    assert created.status_code == 400
    assert created.get_json()["message"] == EMAIL_MESSAGE
    good = api.post("/api/v1/professional/", json={**payload, "email": " Anne@CDG69.FR "})
    assert good.status_code == 201
    pk = good.get_json()["id"]
    changed = api.put(f"/api/v1/professional/{pk}", json={"email": "anne@cdg69.fr\r\nBcc: x@y.fr"})
    assert changed.status_code == 400
    assert changed.get_json()["message"] == EMAIL_MESSAGE
    with db_ctx() as session:
        assert session.get(Professional, pk).email == "Anne@cdg69.fr"


def test_the_model_refuses_an_e_mail_with_a_line_break_whoever_writes_it(db_ctx, users):
    with db_ctx() as session:
        contact = factories.make_contact(session, users.collectivity_a)
        for obj in (
            contact,
            session.get(Collectivity, users.collectivity_a.id),
            session.get(User, users.primary_a.id),
        ):
            obj.email = INJECTED
            with pytest.raises(FieldError) as refused:
                session.flush()
            assert (refused.value.field, refused.value.message) == ("email", EMAIL_MESSAGE)
            session.rollback()
        with pytest.raises(FieldError):
            factories.make_contact(session, users.collectivity_a, email="a@b.fr\n")
        session.rollback()


def test_a_row_stored_before_the_check_is_not_refused_for_an_unrelated_change(db_ctx, users):
    with db_ctx() as session:
        contact = factories.make_contact(session, users.collectivity_a)
        session.execute(update(Contact).where(Contact.id == contact.id).values(email=INJECTED))
        session.expire(contact)
        contact.phone = "0478000000"
        session.flush()


def test_flask_users_create_refuses_an_e_mail_with_a_line_break(cli, db_ctx):
    result = cli.invoke(
        args=[
            "users",
            "create",
            "--username",
            "anne",
            "--email",
            INJECTED,
            "--password",
            "Motdepasse-Tres-Long-1",
            "--role",
            "Secrétariat",
        ]
    )
    assert result.exit_code == 1
    assert "Adresse e-mail invalide" in result.output
    with db_ctx() as session:
        assert session.scalar(select(User).where(User.username == "anne")) is None


def test_every_e_mail_column_is_declared_and_checked():
    """A new column holding an address must use ``email_column()`` (the flush check); FAB's
    two tables are declared in app/core/emails.py."""
    fab = {"ab_user.email": User, "ab_register_user.email": RegisterUser}
    undeclared = [
        f"{table.name}.{column.name}"
        for table in metadata.sorted_tables
        for column in table.columns
        if "mail" in column.name
        and not column.info.get("email")
        and column.name not in email_attributes(fab.get(f"{table.name}.{column.name}", object))
    ]
    assert undeclared == []


def test_every_form_field_holding_an_e_mail_has_the_validator(app):
    """The FAB screens (generated forms) and the project's own forms."""
    missing = []
    for view in app.appbuilder.baseviews:
        if not isinstance(view, ModelView):
            continue
        for form in (view.add_form, view.edit_form):
            for name in email_attributes(view.datamodel.obj):
                unbound = getattr(form, name, None)
                if isinstance(unbound, UnboundField) and not any(
                    isinstance(v, EmailAddress) for v in unbound.kwargs.get("validators") or []
                ):
                    missing.append(f"{type(view).__name__}.{name}")
    for info in pkgutil.walk_packages(app_package.__path__, "app."):
        module = importlib.import_module(info.name)
        for _, form in inspect.getmembers(module, inspect.isclass):
            if not issubclass(form, FlaskForm) or form.__module__ != info.name:
                continue
            for name, unbound in vars(form).items():
                if (
                    isinstance(unbound, UnboundField)
                    and re.search("mail", name)
                    and not any(
                        isinstance(v, EmailAddress) for v in unbound.kwargs.get("validators") or []
                    )
                ):
                    missing.append(f"{form.__name__}.{name}")
    assert missing == []


# ----------------------------------------------------------------------------------------------
# Sending: one bad recipient never blocks a batch
# ----------------------------------------------------------------------------------------------


def test_send_mail_skips_and_reports_a_bad_recipient_and_folds_the_subject(app, db_ctx):
    with db_ctx():
        assert send_mail(INJECTED, "Convocation", "Bonjour") is False
        assert send_mail("anne@a.fr", "Objet\r\nBcc: evil@x.fr", "Bonjour") is True
        [refused] = take_refused_mail()
        assert refused.to == INJECTED
        assert "Le courriel n'a pas pu être envoyé à « claire@a.fr Bcc: evil@x.fr »" in (
            refused.message
        )
        assert take_refused_mail() == []
    with app.app_context():
        [mail] = outbox_entries()
    assert (mail.to, mail.subject) == ("anne@a.fr", "Objet Bcc: evil@x.fr")


@pytest.fixture
def frozen_clock(monkeypatch):
    monkeypatch.setattr(clock, "now_local", lambda: NOW)
    monkeypatch.setattr(clock, "today", lambda: NOW.date())


@pytest.fixture
def two_collectivities_booked(db_ctx, users, frozen_clock):
    """A common plage next week: one appointment of B (whose convocation contact's address was
    stored raw, with a line break) then one of A (a good address)."""
    with db_ctx() as session:
        office = factories.make_office(
            session, served=[users.collectivity_a, users.collectivity_b], name="Cabinet de Tassin"
        )
        doctor = factories.make_professional(session, last_name="MOREAU")
        for collectivity, email in (
            (users.collectivity_a, "convocations@a.fr"),
            (users.collectivity_b, "convocations@b.fr"),
        ):
            factories.make_contact(
                session, collectivity, function=ContactFunction.convocation, email=email
            )
        session.execute(
            update(Contact)
            .where(Contact.collectivity_id == users.collectivity_b.id)
            .values(email=INJECTED)
        )
        starts = dt.datetime.combine(NOW.date() + dt.timedelta(days=7), dt.time(8, 0))
        plage = Plage(
            office_id=office.id,
            professional_id=doctor.id,
            starts_at=starts,
            ends_at=starts + dt.timedelta(hours=1),
            appointment_minutes=20,
            nature=PlageNature.medecin,
            state=PlageState.commune,
        )
        session.add(plage)
        session.flush()
        agents = {}
        for key, collectivity in (("b", users.collectivity_b), ("a", users.collectivity_a)):
            agent = make_agent(session, collectivity, birth_name=f"AGENT{key.upper()}")
            _contract(session, agent, _position(session, collectivity, "JARDINIER", "631a"))
            agents[key] = agent.id
        return {"plage": plage.id, "agents": agents}


def test_a_bad_convocation_address_does_not_block_the_other_collectivities(
    app, login, api_login, users, db_ctx, two_collectivities_booked
):
    plage_id = two_collectivities_booked["plage"]
    for user, key in ((users.primary_b, "b"), (users.primary_a, "a")):
        booked = api_login(user).post(
            f"/api/v1/plage/{plage_id}/book",
            json={"agent_id": two_collectivities_booked["agents"][key], "visit_type": "periodique"},
        )
        assert booked.status_code == 201, booked.get_json()
    staff = login(users.secretariat)
    response = staff.post_form(
        f"/plages/{plage_id}/convoquer", {}, form_url=f"/plages/{plage_id}", follow_redirects=True
    )
    assert response.status_code == 200
    page = text(response)
    assert "Plage validée en convocation : 2 agent(s) convoqué(s)" in page
    assert "Le courriel n'a pas pu être envoyé à « claire@a.fr Bcc: evil@x.fr »" in page
    with db_ctx() as session:
        plage = session.get(Plage, plage_id)
        assert plage.state is PlageState.convocation
        sent = {
            a.collectivity_id: a.convocation_sent_at
            for a in session.scalars(select(Appointment).where(Appointment.plage_id == plage_id))
        }
        statuses = session.scalars(
            select(Appointment.status).where(Appointment.plage_id == plage_id)
        ).all()
    assert statuses == [AppointmentStatus.convoquee] * 2
    assert sent[users.collectivity_a.id] is not None
    assert sent[users.collectivity_b.id] is None, "B's convocation was not sent"
    with app.app_context():
        mails = [m for m in outbox_entries() if m.subject.startswith("Convocation")]
    assert [m.to for m in mails] == ["convocations@a.fr"]
    assert "evil" not in mails[0].to


def test_a_bad_reminder_address_is_skipped_logged_and_retried_once_corrected(
    app, db_ctx, users, two_collectivities_booked, caplog
):
    plage_id = two_collectivities_booked["plage"]
    with db_ctx() as session:
        plage = session.get(Plage, plage_id)
        plage.state = PlageState.reservee
        plage.reserved_for_id = users.collectivity_b.id
        plage.starts_at = dt.datetime.combine(NOW.date() + dt.timedelta(days=15), dt.time(8, 0))
        plage.ends_at = plage.starts_at + dt.timedelta(hours=1)
    with db_ctx():
        assert planning.send_unfilled_reminders(NOW.date()) == 0
    assert "Courriel non envoyé (adresse invalide" in caplog.text
    with db_ctx() as session:
        assert session.get(Plage, plage_id).reminder_sent_at is None
        contact = session.scalar(
            select(Contact).where(Contact.collectivity_id == users.collectivity_b.id)
        )
        contact.email = "convocations@b.fr"
    with db_ctx():
        assert planning.send_unfilled_reminders(NOW.date()) == 1
    with app.app_context():
        assert [m.to for m in outbox_entries()] == ["convocations@b.fr"]
