"""The « Effectif » sort keys on the agent (issue 10): kept by each contract flush, a position
renamed, and the nightly ``sync`` for what the calendar or a Core import changes."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select, update

from app.core import clock
from app.workforce.models import Agent, Contract, WorkPosition
from tests.integration.test_list_sorting import _surnames, agents  # noqa: F401 (fixture)

TODAY = clock.today()


@pytest.mark.usefixtures("agents")
def test_a_contract_change_moves_the_agent_in_the_position_sort_at_once(login, users, db_ctx):
    web = login(users.primary_a)
    assert _surnames(web.get("/effectif/?tri=poste").get_data(as_text=True))[0] == "DUPONT"
    with db_ctx() as session:
        martin = session.scalar(select(Agent).where(Agent.birth_name == "MARTIN"))
        contract = session.scalar(select(Contract).where(Contract.agent_id == martin.id))
        position = session.get(WorkPosition, contract.work_position_id)
        position.set_label("AAA ACCUEIL")  # renamed: every agent on it moves
    assert _surnames(web.get("/effectif/?tri=poste").get_data(as_text=True))[0] == "MARTIN"
    with db_ctx() as session:
        dupont = session.scalar(select(Agent).where(Agent.birth_name == "DUPONT"))
        contract = session.scalar(select(Contract).where(Contract.agent_id == dupont.id))
        contract.start_date = dt.date(2025, 1, 1)
    by_start = _surnames(web.get("/effectif/?tri=debut&ordre=desc").get_data(as_text=True))
    assert by_start[:2] == ["DUPONT", "ARNAUD"]


@pytest.mark.usefixtures("agents")
def test_the_sync_catches_up_what_the_calendar_and_core_imports_changed(app, login, users, db_ctx):
    from app.scheduling import services

    with db_ctx() as session:
        dupont = session.scalar(select(Agent).where(Agent.birth_name == "DUPONT"))
        # A Core write (an import, the calendar): no flush event, the keys are stale.
        session.execute(
            update(Contract.__table__)
            .where(Contract.__table__.c.agent_id == dupont.id)
            .values(end_date=TODAY - dt.timedelta(days=1))
        )
        assert session.get(Agent, dupont.id).list_position == "agent d'entretien"
    with app.app_context():
        assert services.claim_and_run("sync", today=TODAY).status.name == "reussi"
    with db_ctx() as session:
        row = session.get(Agent, dupont.id)
        assert row.list_position is None and row.list_start == dt.date(2019, 1, 1)
    web = login(users.primary_a)
    page = web.get("/effectif/?onglet=tous&tri=poste").get_data(as_text=True)
    assert _surnames(page)[-2:] in (["BERNARD", "DUPONT"], ["DUPONT", "BERNARD"])
