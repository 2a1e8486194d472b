"""Issue 12 completion: the mid-career visit in the due list, and a rule edit that leaves the
recompute of every agent to the ``sync`` job (never inside Admin's request)."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from sqlalchemy import select

from app import roles
from app.core import clock
from app.referential.models import Regime
from app.referential.reference_data import seed_reference_data
from app.visits.due_models import DueRecomputeRequest, PeriodicityRuleRecord
from tests import factories
from tests.integration.test_due_list import _agent, _consultation, _rows
from tests.util import text

TODAY = clock.today()
LAW = "Art. L4624-2-2 du code du travail (loi n° 2021-1018 du 2 août 2021, art. 22)"


@pytest.fixture(autouse=True)
def _rules(db_ctx):
    with db_ctx() as session:
        seed_reference_data(session)


def _birth(age_this_year: int) -> dt.date:
    return dt.date(TODAY.year - age_this_year, 6, 10)


def test_private_agent_turning_45_this_year_is_listed_with_the_mid_career_explanation(
    db_ctx, login
):
    with db_ctx() as session:
        private = factories.make_collectivity(session, name="SARL Privée", regime=Regime.prive)
        public = factories.make_collectivity(session, name="Commune Publique")
        user = factories.make_user(session, roles.EMPLOYER_PRIMARY, collectivity=private)
        turning = _agent(session, private, "QUARANTECINQ")
        turning.birth_date = _birth(45)
        younger = _agent(session, private, "JEUNE")
        younger.birth_date = _birth(44)
        civil = _agent(session, public, "FONCTIONNAIRE")
        civil.birth_date = _birth(45)
        session.flush()
        _consultation(session, turning, TODAY - dt.timedelta(days=30))
        _consultation(session, younger, TODAY - dt.timedelta(days=30))
        _consultation(session, civil, TODAY - dt.timedelta(days=30))
        ids = (turning.id, younger.id, civil.id)
    with db_ctx() as session:
        row = _rows(session, ids[0])["mi_carriere"]
        assert row.due_on == dt.date(TODAY.year, 12, 31) and row.legal_reference == LAW
        assert "mi_carriere" not in _rows(session, ids[1])  # 45 next year
        assert "mi_carriere" not in _rows(session, ids[2])  # public regime
    page = text(login(user).get("/portail/demandes-a-planifier/?echeance=12"))
    assert "QUARANTECINQ Léa" in page and "JEUNE Léa" not in page
    assert "Visite de mi-carrière" in page
    assert f"45 ans en {TODAY.year}, aucune visite de mi-carrière" in page
    assert "visite de mi-carrière dans l'année civile des 45 ans" in page and LAW in page
    assert f"agent/{ids[0]}/nouvelle?type=mi_carriere" in page


def _public_rule(session) -> PeriodicityRuleRecord:
    return session.scalar(
        select(PeriodicityRuleRecord).where(
            PeriodicityRuleRecord.regime == Regime.public,
            PeriodicityRuleRecord.population == "tous",
            PeriodicityRuleRecord.valid_from == dt.date(2025, 12, 12),
        )
    )


def test_a_rule_edit_returns_at_once_and_the_sync_job_recomputes(app, db_ctx, login, monkeypatch):
    from app.scheduling import services as jobs
    from app.visits import due

    with db_ctx() as session:
        admin = factories.make_user(session, roles.ADMIN)
        collectivity = factories.make_collectivity(session)
        agent = _agent(session, collectivity, "REGLE")
        _consultation(session, agent, dt.date(2024, 3, 15))
        rule_id = _public_rule(session).id
        session.execute(DueRecomputeRequest.__table__.delete())
    with db_ctx() as session:
        assert _rows(session, agent.id)["periodique"].due_on == dt.date(2029, 3, 15)
    full = []
    original = due.recompute
    monkeypatch.setattr(
        due, "recompute", lambda ids=None, *a, **k: full.append(ids) or original(ids, *a, **k)
    )
    web = login(admin)
    started = time.perf_counter()
    response = web.post_form(
        f"/periodicityruleview/edit/{rule_id}",
        {
            "regime": "public",
            "population": "tous",
            "months": "36",
            "valid_from": "12/12/2025",
            "legal_reference": "Décret n° 2025-1193 du 8 décembre 2025",
        },
        follow_redirects=True,
    )
    elapsed = time.perf_counter() - started
    page = text(response)
    assert "Les échéances seront recalculées" in page and "tâche « sync »" in page
    assert None not in full  # no recompute of every agent inside the request
    assert elapsed < 2
    with db_ctx() as session:
        assert _public_rule(session).months == 36
        assert _rows(session, agent.id)["periodique"].due_on == dt.date(2029, 3, 15)  # not yet
        pending = session.scalars(select(DueRecomputeRequest)).all()
        assert [r.done_at for r in pending] == [None]
        assert due.pending_full_recompute(session)
    with app.app_context():
        outcome = jobs.claim_and_run("sync", today=TODAY)
    assert outcome.status.name == "reussi"
    with db_ctx() as session:
        assert _rows(session, agent.id)["periodique"].due_on == dt.date(2027, 3, 15)
        assert "VIP tous les 3 ans" in _rows(session, agent.id)["periodique"].explanation
        assert all(r.done_at is not None for r in session.scalars(select(DueRecomputeRequest)))
        assert not due.pending_full_recompute(session)


def test_two_edits_before_the_sync_record_one_pending_recompute(db_ctx):
    from app.visits import due

    with db_ctx() as session:
        session.execute(DueRecomputeRequest.__table__.delete())
        _public_rule(session).legal_reference = "Décret n° 2025-1193 (1)"
    with db_ctx() as session:
        _public_rule(session).legal_reference = "Décret n° 2025-1193 (2)"
    with db_ctx() as session:
        assert len(session.scalars(select(DueRecomputeRequest)).all()) == 1
        assert due.pending_full_recompute(session)
