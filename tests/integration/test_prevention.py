"""Prevention (SPEC E8; issue 15): the health team's actions outside visits read by the employer
newest first; the catalogue's modules and sessions; registrations of the employer's own active
agents, refused after the deadline, twice, for another collectivity's agent or into a full
session; capacity never exceeded under 30 concurrent registrations; closing with convocations."""

from __future__ import annotations

import datetime as dt
import io
import threading

import pytest
from sqlalchemy import func, select

from app import roles
from app.documents import prevention
from app.documents.models import (
    PreventionAction,
    PreventionModule,
    PreventionRegistration,
    PreventionSession,
    RegistrationStatus,
)
from app.referential.models import Contact, ContactFunction
from tests import factories
from tests.integration.test_attachments import multipart
from tests.integration.test_workforce import _contract, _position
from tests.isolation import make_agent
from tests.unit.test_files import make_pdf
from tests.util import text

PROGRAMME = "/portail/programme-et-inscriptions/"
ACTIONS = "/prevention/actions/"
CATALOGUE = "/prevention/catalogue/"
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00" + b"\x00" * 4000


def _agents(session, collectivity, count, prefix):
    position = _position(session, collectivity, f"POSTE {prefix}", "684a")
    result = []
    for index in range(count):
        agent = make_agent(session, collectivity, birth_name=f"{prefix}{index:02d}")
        _contract(session, agent, position)
        result.append(agent.id)
    return result


def _module_and_session(session, capacity=3, days=20, deadline_days=10):
    module = PreventionModule(
        title=f"Gestes et postures {factories._next()}",
        content="Prévenir les troubles musculo-squelettiques",
        audience="Agents des services techniques",
        duration_minutes=180,
    )
    session.add(module)
    session.flush()
    start = dt.datetime.combine(dt.date.today() + dt.timedelta(days=days), dt.time(9, 0))
    item = PreventionSession(
        module_id=module.id,
        starts_at=start,
        place="CDG, salle 2",
        capacity=capacity,
        registration_deadline=dt.date.today() + dt.timedelta(days=deadline_days),
    )
    session.add(item)
    session.flush()
    return item


@pytest.fixture
def world(db_ctx):
    with db_ctx() as session:
        a = factories.make_collectivity(session, name="Commune Alpha")
        b = factories.make_collectivity(session, name="Commune Beta")
        primary = factories.make_user(session, roles.EMPLOYER_PRIMARY, collectivity=a)
        nurse = factories.make_user(session, roles.SANTE, username="sante-prevention")
        secretary = factories.make_user(session, roles.SECRETARIAT, username="secr-prevention")
        session.add(
            Contact(
                collectivity_id=a.id,
                function=ContactFunction.convocation,
                last_name="CONVOC",
                email="convocations@alpha.example.fr",
            )
        )
        agents_a = _agents(session, a, 4, "ALPHA")
        agents_b = _agents(session, b, 1, "BETA")
        item = _module_and_session(session)
        return {
            "a": a,
            "b": b,
            "primary": primary,
            "nurse": nurse,
            "secretary": secretary,
            "agents_a": agents_a,
            "agents_b": agents_b,
            "session": item.id,
        }


def _register(web, session_id, agent_ids):
    data = {"csrf_token": web.csrf_token(PROGRAMME), "session_id": str(session_id)}
    data["agent_ids"] = [str(a) for a in agent_ids]
    return web.post(PROGRAMME + "inscrire", data=data)


def _registered(db_ctx, session_id):
    with db_ctx() as session:
        return session.scalar(
            select(func.count(PreventionRegistration.id)).where(
                PreventionRegistration.session_id == session_id,
                PreventionRegistration.status == RegistrationStatus.inscrit,
            )
        )


def test_the_health_team_records_actions_and_the_employer_reads_them_newest_first(
    world, login, db_ctx
):
    nurse = login(world["nurse"])

    def post(day, kind, report=None):
        data = {
            "csrf_token": nurse.csrf_token(ACTIONS),
            "collectivity_id": str(world["a"].id),
            "kind": kind,
            "action_on": day,
            "participants": "Dr Martin, DRH, F3SCT",
            "duration_minutes": "90",
        }
        if report is not None:
            data["report"] = (io.BytesIO(report), "compte-rendu.pdf")
        return multipart(nurse, ACTIONS + "ajouter", data)

    post("03/02/2026", "f3sct", make_pdf("Compte rendu F3SCT"))
    post("15/05/2026", "etude_poste")
    post("31/02/2026", "visite_site")  # an impossible date
    assert "date invalide" in text(nurse.get(ACTIONS))
    post("10/06/2026", "visite_site", EXE)
    assert "n'est pas un PDF valide" in text(nurse.get(ACTIONS))
    with db_ctx() as session:
        assert session.scalar(select(func.count(PreventionAction.id))) == 2
        action_id = session.scalar(
            select(PreventionAction.id).where(PreventionAction.report_path.is_not(None))
        )
    employer = login(world["primary"])
    page = text(employer.get("/portail/actions-de-prevention/"))
    assert page.index("Étude de poste") < page.index("Réunion F3SCT / CHSCT")
    assert "1 h 30" in page
    report = employer.get(f"/portail/actions-de-prevention/{action_id}/compte-rendu.pdf")
    assert report.status_code == 200 and report.data.startswith(b"%PDF")
    with db_ctx() as session:
        user_b = factories.make_user(session, roles.EMPLOYER_PRIMARY, collectivity=world["b"])
    other = login(user_b)
    assert "Étude de poste" not in text(other.get("/portail/actions-de-prevention/"))
    assert (
        other.get(f"/portail/actions-de-prevention/{action_id}/compte-rendu.pdf").status_code == 404
    )


def test_the_cdg_opens_a_session_and_the_employer_registers_until_it_is_full(
    world, login, db_ctx, app
):
    staff = login(world["secretary"])
    data = {
        "csrf_token": staff.csrf_token(CATALOGUE),
        "title": "Risque routier",
        "content": "Conduite préventive",
        "audience": "Conducteurs",
        "duration_minutes": "120",
    }
    staff.post(CATALOGUE + "module", data=data)
    with db_ctx() as session:
        module_id = session.scalar(
            select(PreventionModule.id).where(PreventionModule.title == "Risque routier")
        )
    start = dt.date.today() + dt.timedelta(days=30)
    data = {
        "csrf_token": staff.csrf_token(CATALOGUE),
        "module_id": str(module_id),
        "starts_at": f"{start:%d/%m/%Y} 14:00",
        "place": "Mairie d'Alpha",
        "capacity": "2",
        "deadline": f"{start - dt.timedelta(days=5):%d/%m/%Y}",
    }
    staff.post(CATALOGUE + "nouvelle-session", data=data)
    assert "Session ouverte aux inscriptions" in text(staff.get(CATALOGUE))
    with db_ctx() as session:
        session_id = session.scalar(
            select(PreventionSession.id).where(PreventionSession.module_id == module_id)
        )

    employer = login(world["primary"])
    page = text(employer.get(PROGRAMME))
    assert "Risque routier" in page and "Mairie d'Alpha" in page
    first, second, third, _ = world["agents_a"]
    _register(employer, session_id, [first])
    assert "1 agent(s) inscrit(s)" in text(employer.get(PROGRAMME))
    _register(employer, session_id, [first])  # twice
    assert "Déjà inscrit(e) à cette session" in text(employer.get(PROGRAMME))
    _register(employer, session_id, [second, third])  # one seat left for two
    assert "Il ne reste que 1 place(s)" in text(employer.get(PROGRAMME))
    assert _registered(db_ctx, session_id) == 1
    _register(employer, session_id, [second])
    assert _registered(db_ctx, session_id) == 2
    _register(employer, session_id, [third])
    assert "Cette session est complète" in text(employer.get(PROGRAMME))
    assert _registered(db_ctx, session_id) == 2

    # The CDG closes the session: the convocation contact receives the list of its agents.
    staff.post(
        CATALOGUE + "cloturer",
        data={"csrf_token": staff.csrf_token(CATALOGUE), "session_id": str(session_id)},
    )
    page = text(staff.get(f"{CATALOGUE}session?id={session_id}"))
    assert "1 convocation(s) envoyée(s)" in page
    from pathlib import Path

    mails = [p.read_text() for p in Path(app.config["OUTBOX_DIR"]).glob("*.eml")]
    assert any("convocations@alpha.example.fr" in m and "Risque routier" in m for m in mails)
    with db_ctx() as session:
        registration = session.scalar(
            select(PreventionRegistration.id).where(PreventionRegistration.session_id == session_id)
        )
    staff.post(
        CATALOGUE + "presences",
        data={
            "csrf_token": staff.csrf_token(f"{CATALOGUE}session?id={session_id}"),
            "session_id": str(session_id),
            "present": [str(registration)],
        },
    )
    assert "Présences enregistrées (1 présent(s))" in text(
        staff.get(f"{CATALOGUE}session?id={session_id}")
    )
    _register(employer, session_id, [third])
    assert "Les inscriptions à cette session sont closes" in text(employer.get(PROGRAMME))


def test_bad_registrations_are_refused_and_write_nothing(world, login, db_ctx):
    employer = login(world["primary"])
    # Another collectivity's agent: 404.
    assert _register(employer, world["session"], world["agents_b"]).status_code == 404
    assert _register(employer, 999999, world["agents_a"][:1]).status_code == 404
    _register(employer, world["session"], [])
    assert "Choisissez au moins un agent" in text(employer.get(PROGRAMME))
    # After the deadline.
    with db_ctx() as session:
        late = _module_and_session(session, days=5, deadline_days=-1)
    _register(employer, late.id, world["agents_a"][:1])
    assert "est dépassée" in text(employer.get(PROGRAMME))
    # An agent who left (no contract running today) is not offered and refused.
    with db_ctx() as session:
        gone = make_agent(session, world["a"], birth_name="PARTI")
    _register(employer, world["session"], [gone.id])
    assert "Seuls les agents en poste" in text(employer.get(PROGRAMME))
    assert _registered(db_ctx, world["session"]) == 0
    assert _registered(db_ctx, late.id) == 0


def test_the_programme_runs_a_constant_number_of_queries(world, login, db_ctx, count_queries):
    employer = login(world["primary"])

    def count():
        employer.get(PROGRAMME)
        with count_queries() as counter:
            assert employer.get(PROGRAMME).status_code == 200
        return counter.count

    _register(employer, world["session"], world["agents_a"][:1])
    first = count()
    with db_ctx() as session:
        for _ in range(3):
            _module_and_session(session)
    _register(employer, world["session"], world["agents_a"][1:3])
    assert count() == first


@pytest.mark.committing
@pytest.mark.concurrency
def test_thirty_concurrent_registrations_never_exceed_the_capacity(app, db_ctx):
    from app.extensions import db
    from app.rules.errors import DomainError
    from app.tenancy import Scope, ScopeKind, scope_as

    with db_ctx() as session:
        collectivity = factories.make_collectivity(session, name="Commune Concurrente")
        user = factories.make_user(session, roles.EMPLOYER_PRIMARY, collectivity=collectivity)
        agents = _agents(session, collectivity, 30, "CONC")
        session_id = _module_and_session(session, capacity=7).id
        scope = Scope(ScopeKind.EMPLOYER, user_id=user.id, collectivity_id=collectivity.id)
    barrier = threading.Barrier(len(agents))
    outcomes: list[str] = []
    lock = threading.Lock()

    def one(agent_id: int) -> None:
        with app.app_context(), scope_as(scope):
            barrier.wait()
            try:
                prevention.register(session_id, [agent_id])
                db.session.commit()
                outcome = "ok"
            except DomainError as error:
                db.session.rollback()
                outcome = error.message
            except Exception as error:  # a lock timeout would be a failure too: report it
                db.session.rollback()
                outcome = f"error {error!r}"
            finally:
                db.session.remove()
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=one, args=(agent_id,)) for agent_id in agents]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=180)
    assert len(outcomes) == 30
    assert outcomes.count("ok") == 7, outcomes
    assert set(outcomes) - {"ok"} == {prevention.FULL}, set(outcomes)
    with db_ctx() as session:
        seats = session.scalars(
            select(PreventionRegistration.seat_index).where(
                PreventionRegistration.session_id == session_id
            )
        ).all()
    assert sorted(seats) == list(range(7))
