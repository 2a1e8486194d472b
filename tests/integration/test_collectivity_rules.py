"""Rules that protect a collectivity as a whole (security issue 8, findings 3-5): a secondary
account's checks count the whole collectivity, a staff change never strands an employer's rows,
and related views and columns obey the permission matrix."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from app import roles
from app.core import clock
from app.core.mail import outbox_entries
from app.planning.models import (
    Appointment,
    AppointmentStatus,
    Plage,
    PlageNature,
    PlageRefusal,
    PlageState,
)
from app.referential.models import (
    ContactFunction,
    Convention,
    Mission,
    Office,
    OfficeKind,
    VisitType,
)
from app.rules.errors import DomainError
from app.security import MATRIX
from app.tenancy import scope_as, system_scope
from app.workforce import positions
from app.workforce.models import Agent, AgentAssignment, WorkPosition
from tests import factories, isolation
from tests.integration.test_workforce import _contract, _position
from tests.isolation import make_agent
from tests.util import text

NOW = dt.datetime(2026, 3, 2, 8, 0)  # a Monday
DAY = NOW.date() + dt.timedelta(days=7)


@pytest.fixture(autouse=True)
def frozen_clock(monkeypatch):
    monkeypatch.setattr(clock, "now_local", lambda: NOW)
    monkeypatch.setattr(clock, "today", lambda: NOW.date())


def _plage(session, office, doctor, hour, state, reserved=None, length=60):
    plage = Plage(
        office_id=office.id,
        professional_id=doctor.id,
        starts_at=dt.datetime.combine(DAY, dt.time(hour, 0)),
        ends_at=dt.datetime.combine(DAY, dt.time(hour, 0)) + dt.timedelta(minutes=length),
        appointment_minutes=20,
        nature=PlageNature.medecin,
        state=state,
        reserved_for_id=reserved.id if reserved else None,
    )
    session.add(plage)
    session.flush()
    return plage


@pytest.fixture
def world(db_ctx, users):
    """An office serving A and B; A's agent managed by the secondary account (« managed ») and
    one it does not manage (« hidden »), B's agent; a reserved plage for A and a common one."""
    with db_ctx() as session:
        office = factories.make_office(
            session, served=[users.collectivity_a, users.collectivity_b], name="Cabinet de Bron"
        )
        doctor = factories.make_professional(session, last_name="MOREAU")
        position_a = _position(session, users.collectivity_a, "JARDINIER", "631a")
        hidden_position = _position(session, users.collectivity_a, "CUISINIER", "636d")
        managed = make_agent(session, users.collectivity_a, birth_name="GERE", first_name="Léa")
        hidden = make_agent(session, users.collectivity_a, birth_name="CACHE", first_name="Paul")
        _contract(session, managed, position_a)
        _contract(session, hidden, hidden_position)
        session.add(
            AgentAssignment(
                agent_id=managed.id,
                user_id=users.secondary_a.id,
                collectivity_id=users.collectivity_a.id,
            )
        )
        position_b = _position(session, users.collectivity_b, "CHAUFFEUR", "641a")
        agent_b = make_agent(session, users.collectivity_b, birth_name="BERNARD")
        _contract(session, agent_b, position_b)
        for collectivity, email in (
            (users.collectivity_a, "convocations@a.fr"),
            (users.collectivity_b, "convocations@b.fr"),
        ):
            factories.make_contact(
                session, collectivity, function=ContactFunction.convocation, email=email
            )
        return {
            "office": office,
            "doctor": doctor,
            "managed": managed,
            "hidden": hidden,
            "hidden_position": hidden_position,
            "agent_b": agent_b,
            "reserved_a": _plage(
                session, office, doctor, 8, PlageState.reservee, users.collectivity_a
            ),
            "common": _plage(session, office, doctor, 10, PlageState.commune),
        }


def _book(api, plage, agent):
    return api.post(
        f"/api/v1/plage/{plage.id}/book",
        json={"agent_id": agent.id, "visit_type": "periodique", "comment": "Merci"},
    )


def _booked(api, plage, agent):
    response = _book(api, plage, agent)
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def _follow(web, response):
    assert response.status_code == 302, response.status_code
    return text(web.get(response.headers["Location"]))


# ----------------------------------------------------------------------------------------------
# Finding 3: checks that protect the collectivity count in the collectivity's scope
# ----------------------------------------------------------------------------------------------


def test_a_secondary_account_cannot_refuse_a_plage_holding_the_primarys_appointments(
    app, login, api_login, users, db_ctx, world
):
    plage = world["reserved_a"]
    _booked(api_login(users.primary_a), plage, world["hidden"])
    api = api_login(users.secondary_a)
    refused = api.post(f"/api/v1/plage/{plage.id}/refuse", json={"reason": "Pas disponible"})
    assert refused.status_code == 400
    assert "Votre collectivité a des rendez-vous sur cette plage" in refused.get_json()["message"]
    web = login(users.secondary_a)
    page = _follow(
        web,
        web.post_form(
            f"/portail/consultations/plage/{plage.id}/refuser",
            {"reason": "Pas disponible"},
            form_url="/portail/consultations/",
        ),
    )
    assert "Votre collectivité a des rendez-vous sur cette plage : annulez-les d'abord." in page
    with db_ctx() as session:
        stored = session.get(Plage, plage.id)
        assert stored.state is PlageState.reservee
        assert stored.reserved_for_id == users.collectivity_a.id
        assert session.scalar(select(func.count(PlageRefusal.id))) == 0
    with app.app_context():
        # Only the booking notices of the primary's appointment: no refusal went out.
        assert [m.subject for m in outbox_entries() if m.subject.startswith("Refus")] == []
    # The reservation stays A's: B neither sees nor books it.
    assert _book(api_login(users.primary_b), plage, world["agent_b"]).status_code == 404


def test_a_secondary_account_cannot_book_into_a_plage_full_of_the_primarys_bookings(
    api_login, users, db_ctx, world
):
    with db_ctx() as session:
        small = _plage(
            session,
            world["office"],
            world["doctor"],
            14,
            PlageState.reservee,
            users.collectivity_a,
            length=20,
        )
    _booked(api_login(users.primary_a), small, world["hidden"])
    full = _book(api_login(users.secondary_a), small, world["managed"])
    assert full.status_code == 409
    assert "Plus aucune place n'est disponible" in full.get_json()["message"]


def test_a_position_held_by_an_agent_the_secondary_does_not_manage_is_held_for_it_too(
    app, db_ctx, users, world
):
    with db_ctx() as session:
        scope = isolation.scope_of(session, users.secondary_a)
        with scope_as(scope):
            position = session.get(WorkPosition, world["hidden_position"].id)
            assert position is not None, "positions belong to the whole collectivity"
            assert positions.held_by_present_agent(position.id)
            assert positions.ever_held(position.id)
            with pytest.raises(DomainError, match="attribué à un agent présent"):
                positions.delete_position(position)
            with pytest.raises(DomainError, match="occupé par un agent présent"):
                positions.close_position(position)
            with pytest.raises(DomainError, match="ne peut plus être modifié"):
                positions.prepare_position(position, "CUISINIER EN CHEF", "636d")
        session.rollback()


def test_a_secondary_account_cannot_create_a_duplicate_of_an_agent_it_does_not_manage(
    api_login, users, db_ctx, world
):
    hidden = world["hidden"]
    response = api_login(users.secondary_a).post(
        "/api/v1/agent/",
        json={
            "civility": "monsieur",
            "first_name": hidden.first_name,
            "birth_name": hidden.birth_name,
            "birth_date": hidden.birth_date.isoformat(),
        },
    )
    assert response.status_code == 400, response.get_json()
    assert "Cet agent existe déjà" in response.get_json()["message"]
    with db_ctx() as session:
        assert session.scalar(select(func.count(Agent.id)).where(Agent.birth_name == "CACHE")) == 1


def test_an_import_by_a_secondary_account_finds_the_collectivitys_duplicates(
    app, db_ctx, users, world
):
    from app.workforce import imports
    from app.workforce.importing import ImportKind, ImportRejected, template_csv

    hidden = world["hidden"]
    row = [
        "Monsieur",
        hidden.first_name,
        hidden.birth_name,
        "",
        hidden.birth_date.strftime("%d/%m/%Y"),
        "",
        "01/01/2024",
        "",
        "636d",
        "CUISINIER",
        "Titulaire",
    ]
    data = template_csv(ImportKind.agents, [row])
    with db_ctx() as session:
        scope = isolation.scope_of(session, users.secondary_a)
    with db_ctx() as session, app.test_request_context():
        with scope_as(scope), pytest.raises(ImportRejected) as rejected:
            imports.run_import(ImportKind.agents, data, "agents.csv", users.collectivity_a.id)
        session.rollback()
    assert "existe déjà" in str(rejected.value.issues), rejected.value.issues


# ----------------------------------------------------------------------------------------------
# Finding 4: staff changes refuse or carry their consequences
# ----------------------------------------------------------------------------------------------


def test_cancelling_a_plage_cancels_its_appointments_tells_each_collectivity_and_pages_render(
    app, login, api_login, users, db_ctx, world
):
    plage = world["common"]
    mine = _booked(api_login(users.primary_a), plage, world["managed"])
    theirs = _booked(api_login(users.primary_b), plage, world["agent_b"])
    staff = login(users.secretariat)
    page = _follow(
        staff,
        staff.post_form(
            f"/plages/{plage.id}/annuler",
            {"reason": "Médecin absent"},
            form_url=f"/plages/{plage.id}",
        ),
    )
    assert "Plage annulée (2 rendez-vous annulé(s))." in page
    with db_ctx() as session:
        assert {a.status for a in session.scalars(select(Appointment))} == {
            AppointmentStatus.annulee
        }
    with app.app_context():
        mails = {
            mail.to: mail
            for mail in outbox_entries()
            if mail.subject.startswith("Annulation de plage")
        }
    assert set(mails) == {"convocations@a.fr", "convocations@b.fr"}
    assert "GERE Léa" in mails["convocations@a.fr"].body
    assert "BERNARD" not in mails["convocations@a.fr"].body
    assert "Médecin absent" in mails["convocations@b.fr"].body
    for user, appointment_id in ((users.primary_a, mine), (users.primary_b, theirs)):
        web = login(user)
        shown = web.get(f"/portail/consultations/rendez-vous/{appointment_id}")
        assert shown.status_code == 200
        body = text(shown)
        assert "Plage annulée" in body and "Médecin absent" in body and "Annulé" in body
        assert "Annuler le rendez-vous" not in body
        listing = web.get("/portail/consultations/?du=02/03/2026&au=31/03/2026")
        assert listing.status_code == 200
        assert f'data-plage="{plage.id}" data-state="annulee"' in listing.get_data(as_text=True)
        api = api_login(user)
        assert api.get(f"/api/v1/appointment/{appointment_id}").get_json()["result"]["status"] == (
            "annulee"
        )
        detail = api.get(f"/api/v1/plage/{plage.id}").get_json()["result"]
        assert detail["state"] == "annulee" and detail["free_capacity"] == 0
        row = next(r for r in api.get("/api/v1/plage/").get_json()["result"] if r["id"] == plage.id)
        assert row["free_capacity"] == 0
        assert _book(api, plage, world["managed"]).status_code in (400, 404)
    # The secondary account sees its own agent's cancelled appointment.
    shown = login(users.secondary_a).get(f"/portail/consultations/rendez-vous/{mine}")
    assert shown.status_code == 200 and "Plage annulée" in text(shown)


def test_a_plage_held_by_other_collectivities_cannot_be_reserved_for_one(
    login, api_login, users, db_ctx, world
):
    plage = world["common"]
    mine = _booked(api_login(users.primary_a), plage, world["managed"])
    theirs = _booked(api_login(users.primary_b), plage, world["agent_b"])
    message = "D'autres collectivités ont des rendez-vous sur cette plage"
    staff = login(users.secretariat)
    page = _follow(
        staff,
        staff.post_form(
            f"/plages/{plage.id}/reservation",
            {"reserved_for_id": users.collectivity_a.id},
            form_url=f"/plages/{plage.id}",
        ),
    )
    assert message in page
    api = api_login(users.secretariat)
    refused = api.put(
        f"/api/v1/plage/{plage.id}", json={"reserved_for_id": users.collectivity_a.id}
    )
    assert refused.status_code == 400 and message in refused.get_json()["message"]
    with db_ctx() as session:
        stored = session.get(Plage, plage.id)
        assert stored.state is PlageState.commune and stored.reserved_for_id is None
    for user, appointment_id in ((users.primary_a, mine), (users.primary_b, theirs)):
        assert (
            login(user).get(f"/portail/consultations/rendez-vous/{appointment_id}").status_code
            == 200
        )
        row = next(
            r
            for r in api_login(user).get("/api/v1/plage/").get_json()["result"]
            if r["id"] == plage.id
        )
        assert row["free_capacity"] == 1
    # Once B's appointment is cancelled, the plage can be reserved for A (its only holder).
    assert (
        api_login(users.primary_b).post(f"/api/v1/appointment/{theirs}/cancel").status_code == 200
    )
    accepted = api.put(
        f"/api/v1/plage/{plage.id}", json={"reserved_for_id": users.collectivity_a.id}
    )
    assert accepted.status_code == 200, accepted.get_json()
    assert accepted.get_json()["result"]["state"] == "reservee"


def test_an_appointment_page_renders_when_its_plage_is_no_longer_offered_to_the_collectivity(
    login, api_login, users, world
):
    """B cancelled its appointment (justified absence), then the plage was reserved for A."""
    plage = world["common"]
    theirs = _booked(api_login(users.primary_b), plage, world["agent_b"])
    assert (
        api_login(users.primary_b).post(f"/api/v1/appointment/{theirs}/cancel").status_code == 200
    )
    api = api_login(users.secretariat)
    reserved = api.put(
        f"/api/v1/plage/{plage.id}", json={"reserved_for_id": users.collectivity_a.id}
    )
    assert reserved.status_code == 200
    web = login(users.primary_b)
    shown = web.get(f"/portail/consultations/rendez-vous/{theirs}")
    assert shown.status_code == 200
    assert "Cabinet de Bron" in text(shown) and "Annulé (absence justifiée)" in text(shown)
    assert f'data-plage="{plage.id}"' not in web.get(
        "/portail/consultations/?du=02/03/2026&au=31/03/2026"
    ).get_data(as_text=True)


def test_a_plage_is_not_released_nor_an_office_changed_away_from_a_collectivity_holding_appointments(
    login, api_login, users, db_ctx, world
):
    plage = world["reserved_a"]
    mine = _booked(api_login(users.primary_a), plage, world["managed"])
    on_common = _booked(api_login(users.primary_a), world["common"], world["hidden"])
    office = world["office"]
    staff = login(users.secretariat)
    edit = f"/officeview/edit/{office.id}"
    form = {
        "name": office.name,
        "kind": OfficeKind.cdg.name,
        "city": office.city,
        "served_collectivities": [users.collectivity_b.id],
        "is_active": "y",
    }
    page = text(staff.post_form(edit, form))
    assert "a des rendez-vous à venir dans ce cabinet" in page, page[:3000]
    with db_ctx() as session:
        served = {c.id for c in session.get(Office, office.id).served_collectivities}
        assert served == {users.collectivity_a.id, users.collectivity_b.id}
        # The office no longer serves A (changed before the booking rule existed, say).
        stored = session.get(Office, office.id)
        stored.served_collectivities = [
            c for c in stored.served_collectivities if c.id != users.collectivity_a.id
        ]
    released = api_login(users.secretariat).put(
        f"/api/v1/plage/{plage.id}", json={"reserved_for_id": None}
    )
    assert released.status_code == 400
    assert "ne la verrait plus" in released.get_json()["message"]
    with db_ctx() as session:
        assert session.get(Plage, plage.id).state is PlageState.reservee
    web = login(users.primary_a)
    for appointment_id in (mine, on_common):
        assert web.get(f"/portail/consultations/rendez-vous/{appointment_id}").status_code == 200


def test_an_agent_with_appointments_is_not_deleted_by_staff(login, api_login, users, db_ctx, world):
    agent = world["hidden"]
    booked = _booked(api_login(users.primary_a), world["reserved_a"], agent)
    staff = login(users.secretariat)
    page = _follow(
        staff,
        staff.post_form(f"/effectif/{agent.id}/supprimer", {}, form_url=f"/effectif/{agent.id}"),
    )
    assert "Cet agent a des rendez-vous de médecine préventive" in page
    api = api_login(users.secretariat)
    refused = api.delete(f"/api/v1/agent/{agent.id}")
    assert refused.status_code == 400
    assert "Cet agent a des rendez-vous" in refused.get_json()["message"]
    with db_ctx() as session:
        assert session.get(Agent, agent.id) is not None
        assert session.get(Appointment, booked) is not None
    assert (
        login(users.primary_a).get(f"/portail/consultations/rendez-vous/{booked}").status_code
        == 200
    )


# ----------------------------------------------------------------------------------------------
# Finding 5: related views and columns obey the permission matrix
# ----------------------------------------------------------------------------------------------


def _readable(role: str, resource: str) -> bool:
    return "read" in MATRIX.get(resource, {}).get(role, ())


@pytest.fixture
def convention_world(db_ctx, users):
    with db_ctx() as session:
        mission = session.scalar(select(Mission).where(Mission.code == "medprev"))
        session.add(
            Convention(
                collectivity_id=users.collectivity_a.id,
                mission_id=mission.id,
                number="CONV-CONFIDENTIELLE",
                start_date=dt.date(2025, 1, 1),
                end_date=dt.date(2027, 12, 31),
                notes="Notes CONFIDENTIELLES",
            )
        )
        factories.make_contact(session, users.collectivity_a, last_name="CONTACTCONFIDENTIEL")


@pytest.mark.parametrize("role", sorted(roles.EMPLOYER_ROLES))
def test_related_views_an_employer_role_cannot_read_are_never_rendered(
    app, login, users, db_ctx, convention_world, role
):
    user = users.by_role(role)
    with db_ctx() as session:
        scope = isolation.scope_of(session, user)
    web = login(user)
    checked = 0
    for view in app.appbuilder.baseviews:
        related = list(getattr(view, "get_init_inner_views", list)() or [])
        if not related or not hasattr(view, "datamodel"):
            continue
        if not _readable(role, view.class_permission_name):
            continue
        with app.app_context(), scope_as(scope):
            from app.extensions import db

            item = db.session.scalar(select(view.datamodel.obj).limit(1))
            pk = view.datamodel.get_pk_value(item) if item is not None else None
        assert pk is not None, f"{type(view).__name__}: no row to show for {role}"
        base = view.route_base
        for url in (f"{base}/show/{pk}", f"{base}/list/{pk}", f"{base}/edit/{pk}"):
            response = web.get(url)
            if response.status_code in (403, 404, 405, 302):
                continue
            assert response.status_code == 200, (url, response.status_code)
            body = response.get_data(as_text=True)
            for inner in related:
                if _readable(role, inner.class_permission_name):
                    continue
                checked += 1
                assert f'id="{type(inner).__name__}"' not in body, (url, type(inner).__name__)
                assert f'href="#{type(inner).__name__}"' not in body, (url, type(inner).__name__)
            assert "CONV-CONFIDENTIELLE" not in body and "CONTACTCONFIDENTIEL" not in body
    assert checked >= 3, "the collectivity page's contacts, health team and conventions"


def test_staff_still_see_the_related_views_they_may_read(login, users, convention_world):
    page = login(users.secretariat).get(f"/collectivityview/show/{users.collectivity_a.id}")
    body = page.get_data(as_text=True)
    assert page.status_code == 200
    assert 'id="ConventionView"' in body and "CONV-CONFIDENTIELLE" in body
    assert 'id="ContactView"' in body and "CONTACTCONFIDENTIEL" in body
    direction = login(users.direction).get(f"/collectivityview/show/{users.collectivity_a.id}")
    body = direction.get_data(as_text=True)
    # Direction reads conventions, not contacts (MATRIX).
    assert 'id="ConventionView"' in body and 'id="ContactView"' not in body


def test_a_column_pointing_at_an_unreadable_resource_is_not_shown(
    app, login, users, db_ctx, monkeypatch
):
    """The headcount screen shows its collectivity; a role that could not read collectivities
    would not see that column, in the list as in the detail."""
    from app.core import views as core_views
    from app.workforce.models import Headcount

    with db_ctx() as session:
        headcount = Headcount(collectivity_id=users.collectivity_a.id, year=2025, headcount=42)
        session.add(headcount)
        session.flush()
        headcount_id = headcount.id
    web = login(users.primary_a)
    header = '<th class="col-lg-2 col-md-2 col-sm-2">Collectivité</th>'
    assert header in web.get(f"/effectifs/show/{headcount_id}").get_data(as_text=True)
    monkeypatch.setattr(core_views, "can_read", lambda resource: resource != "Collectivity")
    shown = web.get(f"/effectifs/show/{headcount_id}")
    assert shown.status_code == 200 and header not in shown.get_data(as_text=True)
    assert "42" in shown.get_data(as_text=True)
    listing = web.get("/effectifs/list/")
    assert listing.status_code == 200 and "Collectivité" not in _table_header(listing)


def _table_header(response) -> str:
    body = response.get_data(as_text=True)
    return body.split("<thead>", 1)[1].split("</thead>", 1)[0] if "<thead>" in body else ""


def test_a_collectivity_reads_a_cancelled_plage_where_it_has_an_appointment(db_ctx, users, world):
    """The plage criteria let a collectivity read a cancelled plage where it has an appointment."""
    from app.planning import services

    with db_ctx() as session:
        plage = world["common"]
        visit = session.scalar(select(VisitType).where(VisitType.code == "periodique"))
        with system_scope():
            session.add(
                Appointment(
                    plage_id=plage.id,
                    slot_index=0,
                    agent_id=world["managed"].id,
                    collectivity_id=users.collectivity_a.id,
                    starts_at=plage.starts_at,
                    visit_type_id=visit.id,
                    status=AppointmentStatus.reservee,
                )
            )
            session.flush()
            services.cancel_plage(plage.id, "Fermeture")
            session.flush()
        visible_a = isolation.visible_ids(session, isolation.scope_of(session, users.primary_a))
        visible_b = isolation.visible_ids(session, isolation.scope_of(session, users.primary_b))
        assert plage.id in visible_a[Plage] and plage.id not in visible_b[Plage]
        session.rollback()
