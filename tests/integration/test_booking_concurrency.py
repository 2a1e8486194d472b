"""No double booking, proven (SPEC D5): concurrent requests through the real HTTP stack.

Fifty threads fire their booking at the same instant at a plage whose last units are free, over
a threaded werkzeug server and a real database (SQLite file, then PostgreSQL in CI). Exactly as
many bookings as free units succeed; the others get a 409 with a French message.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import urllib.error
import urllib.request

import pytest
from sqlalchemy import func, select

from app import roles
from app.planning.models import ACTIVE_STATUSES, Appointment, Plage, PlageNature, PlageState
from tests import factories
from tests.integration.test_workforce import _contract, _position
from tests.isolation import make_agent

pytestmark = [pytest.mark.committing, pytest.mark.concurrency]
THREADS = 50


def _world(db_ctx, capacity_minutes: int):
    with db_ctx() as session:
        collectivity = factories.make_collectivity(session, name="Commune Concurrente")
        user = factories.make_user(
            session, roles.EMPLOYER_PRIMARY, collectivity=collectivity, username="rh.concurrence"
        )
        office = factories.make_office(session, served=[collectivity])
        doctor = factories.make_professional(session)
        position = _position(session, collectivity, "AGENT POLYVALENT", "684a")
        agents = []
        for index in range(THREADS):
            agent = make_agent(session, collectivity, birth_name=f"CONCURRENT{index:02d}")
            _contract(session, agent, position)
            agents.append(agent.id)
        start = dt.datetime.combine(dt.date.today() + dt.timedelta(days=10), dt.time(9, 0))
        plage = Plage(
            office_id=office.id,
            professional_id=doctor.id,
            starts_at=start,
            ends_at=start + dt.timedelta(minutes=capacity_minutes),
            appointment_minutes=20,
            nature=PlageNature.medecin,
            state=PlageState.reservee,
            reserved_for_id=collectivity.id,
        )
        session.add(plage)
        session.flush()
        return user, plage.id, agents


def _fire(base_url: str, token: str, plage_id: int, agent_ids: list[int]) -> list[tuple[int, dict]]:
    barrier = threading.Barrier(len(agent_ids))
    results: list[tuple[int, dict]] = []
    lock = threading.Lock()

    def one(agent_id: int) -> None:
        body = json.dumps({"agent_id": agent_id, "visit_type": "periodique"}).encode()
        request = urllib.request.Request(
            f"{base_url}/api/v1/plage/{plage_id}/book",
            data=body,
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
            method="POST",
        )
        barrier.wait()
        try:
            with urllib.request.urlopen(request, timeout=120) as response:
                outcome = (response.status, json.loads(response.read()))
        except urllib.error.HTTPError as error:
            outcome = (error.code, json.loads(error.read() or b"{}"))
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=one, args=(agent_id,)) for agent_id in agent_ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=180)
    return results


def _token(base_url: str, username: str) -> str:
    request = urllib.request.Request(
        f"{base_url}/api/v1/security/login",
        data=json.dumps(
            {"username": username, "password": factories.PASSWORD, "provider": "db"}
        ).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())["access_token"]


@pytest.mark.parametrize(("minutes", "units"), [(20, 1), (100, 5)])
def test_fifty_concurrent_bookings_never_take_the_same_unit(live_server, db_ctx, minutes, units):
    user, plage_id, agents = _world(db_ctx, minutes)
    token = _token(live_server, user.username)
    results = _fire(live_server, token, plage_id, agents)

    statuses = sorted(status for status, _ in results)
    assert len(results) == THREADS
    assert statuses.count(201) == units, statuses
    assert statuses.count(409) == THREADS - units, statuses
    assert {body["message"] for status, body in results if status == 409} == {
        "Plus aucune place n'est disponible sur cette plage : choisissez une autre plage."
    }
    with db_ctx() as session:
        active = session.scalars(
            select(Appointment).where(
                Appointment.plage_id == plage_id, Appointment.status.in_(ACTIVE_STATUSES)
            )
        ).all()
        assert len(active) == units
        assert sorted(a.slot_index for a in active) == list(range(units))
        assert len({a.agent_id for a in active}) == units
        assert (
            session.scalar(
                select(func.count(Appointment.id)).where(Appointment.plage_id == plage_id)
            )
            == units
        )
