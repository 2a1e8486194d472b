"""Every list screen and every REST list runs a constant, small number of SQL statements (issue 9).

The routes are found by walking the application's URL map (not a hand-written list): each
ModelView's ``/list/``, each custom list screen (a view's ``index`` / ``calendar`` / ``list``
without arguments) and each REST resource's ``GET /api/v1/<resource>/``. Each is opened as the
administrator and as an employer's primary account, with 5 rows of every kind of data, then with
50: the number of statements must not grow with the rows (no query per row), and stays <= 8.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app import roles
from app.core.views import AppModelRestApi
from app.tenancy import Scope, ScopeKind, _scope_options, criteria_for
from tests import factories, isolation

LIST_METHODS = {"list", "index", "calendar"}
MAX_STATEMENTS = 8
# A dashboard is not a list: one GROUP BY per chart (visits, outcomes, fill rates, absenteeism,
# statutory acts, headcounts, and the invoiced, collected and overdue amounts), still constant.
DASHBOARD_STATEMENTS = {"/tableau-de-bord/": 11, "/portail/tableau-de-bord/": 11}


def list_routes(app: Flask) -> tuple[list[str], list[str]]:
    """(web list screens, REST lists) of the application, from its URL map."""

    views = {type(view).__name__: view for view in app.appbuilder.baseviews}
    web, api = [], []
    for rule in app.url_map.iter_rules():
        if rule.arguments or "GET" not in (rule.methods or ()):
            continue
        view_name, _, method = rule.endpoint.partition(".")
        view = views.get(view_name)
        if view is None:
            continue
        if isinstance(view, AppModelRestApi):
            if method == "get_list":
                api.append(rule.rule)
        elif method in LIST_METHODS:
            web.append(rule.rule)
    return sorted(web), sorted(api)


def _grow(session: Session, world: isolation.World, count: int) -> None:
    """``count`` more rows of every kind, in collectivity A (what both users see)."""
    from app.planning.models import Appointment, AppointmentStatus, Plage, PlageNature, PlageState
    from app.referential.models import (
        ContractType,
        Convention,
        HealthTeamMember,
        HealthTeamRole,
        Mission,
        Risk,
        VisitType,
    )
    from app.workforce.models import (
        AgentAssignment,
        ChangeStatus,
        Contract,
        Headcount,
        PositionRisk,
        StagedAgentChange,
        WorkPosition,
    )

    a = world.a
    mission = session.scalar(select(Mission).where(Mission.code == "medprev"))
    risk = session.scalar(select(Risk).where(Risk.code == "autre"))
    contract_type = session.scalar(select(ContractType).where(ContractType.code == "titulaire"))
    visit = session.scalar(select(VisitType).where(VisitType.code == "periodique"))
    start = dt.datetime.combine(dt.date.today() + dt.timedelta(days=7), dt.time(8, 0))
    # Past every year already declared (the isolation world declares 2025): one row per year.
    first_year = 1 + (session.scalar(select(func.max(Headcount.year))) or 1900)
    for _ in range(count):
        n = factories._next()
        factories.make_collectivity(session)
        factories.make_contact(session, a)
        professional = factories.make_professional(session)
        session.add(
            HealthTeamMember(
                collectivity_id=a.id,
                professional_id=professional.id,
                role=HealthTeamRole.medecin_referent,
            )
        )
        office = factories.make_office(session, served=[a])
        session.add(
            Convention(
                collectivity_id=a.id,
                mission_id=mission.id,
                number=f"CONV-N{n}",
                start_date=dt.date(2025, 1, 1),
                end_date=dt.date(2027, 12, 31),
            )
        )
        session.add(Headcount(collectivity_id=a.id, year=first_year + n, headcount=10))
        position = WorkPosition(collectivity_id=a.id, pcs_code="372d")
        position.set_label(f"Poste N{n}")
        position.risk_links = [
            PositionRisk(risk=risk, description=f"Risque N{n}", collectivity_id=a.id)
        ]
        session.add(position)
        agent = isolation.make_agent(session, a, f"N{n}")
        session.flush()
        session.add_all(
            [
                Contract(
                    agent_id=agent.id,
                    collectivity_id=a.id,
                    work_position_id=position.id,
                    contract_type_id=contract_type.id,
                    start_date=dt.date(2020, 1, 1),
                ),
                StagedAgentChange(
                    agent_id=agent.id,
                    collectivity_id=a.id,
                    field="first_name",
                    old_value="Ancien",
                    new_value=f"Nouveau{n}",
                    status=ChangeStatus.en_attente,
                ),
                AgentAssignment(
                    agent_id=agent.id, user_id=world.secondary_a.id, collectivity_id=a.id
                ),
            ]
        )
        starts = start + dt.timedelta(minutes=20 * (n % 500))
        plage = Plage(
            office_id=office.id,
            professional_id=professional.id,
            starts_at=starts,
            ends_at=starts + dt.timedelta(minutes=20),
            appointment_minutes=20,
            nature=PlageNature.medecin,
            state=PlageState.reservee,
            reserved_for_id=a.id,
        )
        session.add(plage)
        session.flush()
        session.add(
            Appointment(
                plage_id=plage.id,
                slot_index=0,
                agent_id=agent.id,
                collectivity_id=a.id,
                starts_at=plage.starts_at,
                visit_type_id=visit.id,
                status=AppointmentStatus.reservee,
                booked_by_id=world.primary_a.id,
            )
        )
        session.flush()
        from app.visits.models import VisitRequest, VisitRequestState

        appointment_id = session.scalar(
            select(Appointment.id).where(Appointment.plage_id == plage.id)
        )
        for state, scheduled in (
            (VisitRequestState.en_attente, None),
            (VisitRequestState.traitee, appointment_id),
        ):
            session.add(
                VisitRequest(
                    agent_id=agent.id,
                    collectivity_id=a.id,
                    visit_type_id=visit.id,
                    state=state,
                    created_on=dt.date.today(),
                    created_by_id=world.primary_a.id,
                    appointment_id=scheduled,
                )
            )
        factories.make_user(
            session, roles.EMPLOYER_SECONDARY, collectivity=a, primary=world.primary_a
        )
        factories.make_user(session, roles.SECRETARIAT)
        session.flush()
        _grow_consultations(session, agent.id, a.id, visit.id, professional.id, office.id)


def _grow_consultations(
    session: Session,
    agent_id: int,
    collectivity_id: int,
    visit_type_id: int,
    professional_id: int,
    office_id: int,
) -> None:
    """A released consultation of the agent, its medical note and a read of it (SPEC E5, J3)."""
    from app.visits.consultation_models import Consultation, MedicalAccess, MedicalNote, Outcome

    past = dt.date.today() - dt.timedelta(days=30)
    consultation = Consultation(
        agent_id=agent_id,
        collectivity_id=collectivity_id,
        visit_date=past,
        visit_type_id=visit_type_id,
        professional_id=professional_id,
        office_id=office_id,
        outcome=Outcome.apte,
        sheet_available_on=past,
    )
    session.add(consultation)
    session.flush()
    session.add(MedicalNote(consultation_id=consultation.id, text="Note"))
    session.add(
        MedicalAccess(
            username="sante",
            agent_id=agent_id,
            agent_label="Agent",
            consultation_id=consultation.id,
            what="Notes médicales",
        )
    )
    session.flush()


def _counts(client: Any, urls: list[str], count_queries: Any) -> dict[str, int]:
    counts = {}
    for url in urls:
        client.get(url)  # warm-up (menus, caches)
        with count_queries() as counter:
            response = client.get(url)
        if response.status_code == 200:
            counts[url] = counter.count
    return counts


def test_every_list_runs_a_constant_number_of_statements(
    app, db_ctx, login, api_login, count_queries
):
    web_urls, api_urls = list_routes(app)
    assert len(web_urls) > 20 and len(api_urls) > 5
    with db_ctx() as session:
        world = isolation.build_world(session)
        admin = factories.make_user(session, roles.ADMIN, username="admin-comptage")
        _grow(session, world, 4)
    clients = {
        "admin": (login(admin), api_login(admin)),
        "primary": (login(world.primary_a), api_login(world.primary_a)),
    }
    measured: dict[tuple[str, str], list[int]] = {}
    for grow in (0, 45):
        if grow:
            with db_ctx() as session:
                _grow(session, world, grow)
        for who, (web, api) in clients.items():
            for urls, client in ((web_urls, web), (api_urls, api)):
                for url, count in _counts(client, urls, count_queries).items():
                    measured.setdefault((who, url), []).append(count)
    report = "\n".join(
        f"{who:8} {url:45} {counts}" for (who, url), counts in sorted(measured.items())
    )
    print(f"\nstatements with 5 and 50 rows:\n{report}")
    assert {url for (who, url) in measured if who == "admin"} >= set(web_urls + api_urls) - {
        # The employer portal, and the membership wizard of accounts with no collectivity yet
        # (it sends the administrator to the applications queue).
        url
        for url in web_urls
        if url.startswith(("/portail/", "/adhesion/"))
    }, "a list the administrator cannot open"
    growing = {key: counts for key, counts in measured.items() if len(set(counts)) != 1}
    assert growing == {}, f"statements grow with the rows:\n{report}"
    too_many = {
        key: counts
        for key, counts in measured.items()
        if counts[-1] > DASHBOARD_STATEMENTS.get(key[1], MAX_STATEMENTS)
    }
    assert too_many == {}, f"more than {MAX_STATEMENTS} statements:\n{report}"


def test_two_scopes_never_share_tenant_criteria():
    a = Scope(ScopeKind.EMPLOYER, user_id=1, collectivity_id=1)
    b = Scope(ScopeKind.EMPLOYER, user_id=2, collectivity_id=2)
    secondary = Scope(ScopeKind.EMPLOYER, user_id=3, collectivity_id=1, secondary_user_id=3)
    options = {scope: _scope_options(scope) for scope in (a, b, secondary)}
    assert _scope_options(a) is options[a], "the options of a scope are built once"
    assert _scope_options(Scope(ScopeKind.EMPLOYER, user_id=1, collectivity_id=1)) is options[a]
    for one, other in ((a, b), (a, secondary), (b, secondary)):
        assert not set(map(id, options[one])) & set(map(id, options[other]))
    for scope, built in options.items():
        for option in built:
            model = option.root_entity or option.entity.class_
            expected = criteria_for(model, scope)
            assert str(option.where_criteria.compile()) == str(expected.compile())
            assert option.where_criteria.compile().params == expected.compile().params


def test_a_reference_to_a_row_read_outside_the_scope_is_still_refused(app, db_ctx):
    """The after-flush check trusts only rows the scope itself loaded: B's agent read by trusted
    code (or by another scope) in the same session is selected again, and refused."""
    import pytest

    from app.extensions import db
    from app.tenancy import TenantViolation, scope_as, system_scope
    from app.workforce.models import Agent, StagedAgentChange

    with db_ctx() as session:
        world = isolation.build_world(session)
        scope_a = isolation.scope_of(session, world.primary_a)
        scope_b = isolation.scope_of(session, world.primary_b)
        b_agent = world.ids["agents"][2]
    for loader in (system_scope(), scope_as(scope_b)):
        with app.app_context():
            with loader:
                assert db.session.get(Agent, b_agent) is not None
            with scope_as(scope_a), pytest.raises(TenantViolation):
                db.session.add(
                    StagedAgentChange(
                        agent_id=b_agent,
                        collectivity_id=world.a.id,
                        field="first_name",
                        old_value="x",
                        new_value="y",
                    )
                )
                db.session.flush()
            db.session.rollback()
