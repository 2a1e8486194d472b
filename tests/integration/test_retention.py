"""The `retention` job (SPEC G5, J2): 3 months after a membership ends, the agents' personal
data are gone from every table, the audit log and the outbox; nothing else changes."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from app.core.audit import AuditLog
from app.core.mail import build_message, deliver
from app.extensions import db, metadata
from app.jobs import JOBS, JobContext
from app.planning.models import Appointment, AppointmentStatus, Plage, PlageNature, PlageState
from app.referential.models import (
    Civility,
    Collectivity,
    Contact,
    ContactFunction,
    DocumentNature,
    VisitType,
)
from app.retention import services
from app.rules import retention as rules
from app.visits.models import VisitRequest, VisitRequestAttachment
from app.workforce.models import Agent, ChangeStatus, StagedAgentChange
from tests import factories

ENDED = dt.date(2026, 6, 1)
LABELS = services.COUNT_LABELS


def _agent(session: Any, collectivity: Any, marker: str, n: int) -> Agent:
    agent = Agent(
        collectivity_id=collectivity.id,
        civility=Civility.madame,
        first_name=f"Prenom{marker}",
        birth_name=f"NOM{marker}{n}",
        usage_name=f"USAGE{marker}{n}",
        birth_date=(dt.date(1971, 3, 14) if marker == "ERASEX" else dt.date(1985, 7, 1))
        + dt.timedelta(days=n),
        ins=f"2710{n:02d}{marker[:3].upper()}",
        service=f"Service{marker}",
    )
    session.add(agent)
    session.flush()
    return agent


def _world(db_ctx: Any, agents: int = 3) -> dict[str, Any]:
    """Collectivity X (ended 01/06/2026, marker ERASEX) with agents, an edit recorded in the
    audit log, staged changes, appointments with comments, a contact; collectivity Y (ended
    02/06/2026: one day later) and Z (still a member), marker KEEPY / KEEPZ."""
    with db_ctx() as session:
        x = factories.make_collectivity(session, name="Commune Terminée", membership_end=ENDED)
        y = factories.make_collectivity(
            session, name="Commune Suivante", membership_end=dt.date(2026, 6, 2)
        )
        z = factories.make_collectivity(session, name="Commune Membre")
        office = factories.make_office(session, served=[x, y, z])
        professional = factories.make_professional(session)
        visit = session.scalar(select(VisitType).where(VisitType.code == "periodique"))
        plage = Plage(
            office_id=office.id,
            professional_id=professional.id,
            starts_at=dt.datetime(2026, 3, 2, 9, 0),
            ends_at=dt.datetime(2026, 3, 2, 12, 0),
            appointment_minutes=20,
            nature=PlageNature.medecin,
            state=PlageState.convocation,
        )
        session.add(plage)
        session.flush()
        ids: dict[str, list[int]] = {}
        slot = 0
        for collectivity, marker, count in (
            (x, "ERASEX", agents),
            (y, "KEEPY", 1),
            (z, "KEEPZ", 1),
        ):
            ids[marker] = []
            session.add(
                Contact(
                    collectivity_id=collectivity.id,
                    function=ContactFunction.convocation,
                    last_name=f"CONTACT{marker}",
                    first_name=f"Claire{marker}",
                    email=f"contact{marker.lower()}@example.fr",
                    phone="0478000000",
                )
            )
            for n in range(count):
                agent = _agent(session, collectivity, marker, n)
                ids[marker].append(agent.id)
                session.add(
                    StagedAgentChange(
                        agent_id=agent.id,
                        collectivity_id=collectivity.id,
                        field="birth_name",
                        old_value=agent.birth_name,
                        new_value=f"NOUVEAU{marker}",
                        status=ChangeStatus.en_attente,
                        note=f"Note {marker}",
                    )
                )
                session.add(
                    Appointment(
                        plage_id=plage.id,
                        slot_index=slot,
                        agent_id=agent.id,
                        collectivity_id=collectivity.id,
                        starts_at=plage.starts_at + dt.timedelta(minutes=20 * slot),
                        visit_type_id=visit.id,
                        comment=f"Commentaire {marker}",
                        status=AppointmentStatus.honoree,
                    )
                )
                slot += 1
        session.flush()
        # An edit through the ORM: the audit log records the old name as an "old value".
        first = session.get(Agent, ids["ERASEX"][0])
        first.first_name = "PrenomERASEXbis"
        session.flush()
        world = {"x": x.id, "y": y.id, "z": z.id, "ids": ids}
    return world


def _mail(to: str, body: str) -> None:
    deliver(build_message(to, "Convocation – médecine préventive – 02/03/2026", body))


def _outbox(app: Any) -> dict[str, str]:
    return {
        path.name: path.read_text(encoding="utf-8", errors="replace")
        for path in sorted(Path(app.config["OUTBOX_DIR"]).glob("*.eml"))
    }


def _write_outbox(app: Any) -> None:
    with app.app_context():
        _mail(
            "secretariat@cdg.example.fr",
            "Convoqués :\n- 09:00 : Madame USAGEERASEX1 PrenomERASEX – visite",
        )
        _mail("contacterasex@example.fr", "Bonjour, votre convocation est prête.")
        _mail("contactkeepy@example.fr", "- 09:20 : Madame USAGEKEEPY0 PrenomKEEPY – visite")
        _mail("autre@example.fr", "Un courriel qui ne nomme personne.")


def _run(app: Any, today: dt.date, **options: Any) -> tuple[JobContext, list[Any]]:
    with app.app_context():
        ctx = JobContext(today=today, **options)
        reports = services.run_retention(ctx)
        if ctx.dry_run:
            db.session.rollback()  # what the framework does at the end of a dry run
        db.session.remove()
    return ctx, reports


def _dump(app: Any) -> str:
    """Every value of every table, and the outbox: where an erased value could survive."""
    parts = []
    with app.app_context():
        for table in metadata.sorted_tables:
            for row in db.session.execute(select(table)):
                parts.extend(
                    json.dumps(v, ensure_ascii=False) if isinstance(v, (dict, list)) else str(v)
                    for v in row
                )
        db.session.remove()
    parts.extend(_outbox(app).values())
    return "\n".join(parts).lower()  # the search keys hold the names folded


PERSONAL_X = (
    "NOMERASEX",
    "USAGEERASEX",
    "PrenomERASEX",
    "ServiceERASEX",
    "CONTACTERASEX",
    "ClaireERASEX",
    "contacterasex@",
    "NOUVEAUERASEX",
    "Note ERASEX",
    "Commentaire ERASEX",
    "1971-03-14",
    "271000ERA",
)


def test_erasure_is_due_the_day_after_three_months() -> None:
    assert rules.erasure_date(ENDED) == dt.date(2026, 9, 2)
    assert not rules.erasure_due(ENDED, dt.date(2026, 9, 1))
    assert rules.erasure_due(ENDED, dt.date(2026, 9, 2))
    assert not rules.erasure_due(None, dt.date(2030, 1, 1))


def test_membership_ended_on_1_june_is_not_erased_on_1_september(app: Any, db_ctx: Any) -> None:
    world = _world(db_ctx)
    ctx, reports = _run(app, dt.date(2026, 9, 1))
    assert reports == [] and ctx.counts[LABELS["agents"]] == 0
    with app.app_context():
        names = db.session.scalars(
            select(Agent.birth_name).where(Agent.id.in_(world["ids"]["ERASEX"]))
        ).all()
        assert sorted(names) == ["NOMERASEX0", "NOMERASEX1", "NOMERASEX2"]


def test_retention_erases_every_personal_value_and_keeps_the_rest(app: Any, db_ctx: Any) -> None:
    world = _world(db_ctx)
    _write_outbox(app)
    assert all(marker.lower() in _dump(app) for marker in PERSONAL_X)
    ctx, reports = _run(app, dt.date(2026, 9, 2))

    assert [r.collectivity_id for r in reports] == [world["x"]]
    assert ctx.counts[LABELS["collectivites"]] == 1
    assert ctx.counts[LABELS["agents"]] == 3
    assert ctx.counts[LABELS["modifications"]] == 3
    assert ctx.counts[LABELS["rendez-vous"]] == 3
    assert ctx.counts[LABELS["contacts"]] == 1
    assert ctx.counts[LABELS["courriels"]] == 2
    assert ctx.counts["agents anonymisés – Commune Terminée"] == 3

    dump = _dump(app)
    left = [marker for marker in PERSONAL_X if marker.lower() in dump]
    assert left == [], f"erased values still stored: {left}"
    # The other collectivities keep everything, the outbox keeps what does not name X's agents.
    for marker in (
        "NOMKEEPY0",
        "PrenomKEEPY",
        "CONTACTKEEPY",
        "Commentaire KEEPY",
        "NOUVEAUKEEPY",
        "NOMKEEPZ0",
        "CONTACTKEEPZ",
        "Commentaire KEEPZ",
    ):
        assert marker.lower() in dump, marker
    remaining = _outbox(app).values()
    assert len(remaining) == 2
    assert any("USAGEKEEPY0" in text for text in remaining)

    with app.app_context():
        x = db.session.get(Collectivity, world["x"])
        assert x.personal_data_erased_on == dt.date(2026, 9, 2)
        assert x.name == "Commune Terminée" and len(x.siret) == 14  # legal identity kept
        assert db.session.get(Collectivity, world["y"]).personal_data_erased_on is None
        agents = db.session.scalars(select(Agent).where(Agent.collectivity_id == world["x"])).all()
        assert {
            (a.first_name, a.birth_name, a.usage_name, a.ins, a.birth_date) for a in agents
        } == {("Anonyme", "ANONYME", None, None, dt.date(1900, 1, 1))}
        assert all(a.anonymised_on == dt.date(2026, 9, 2) for a in agents)
        # Careers and appointments stay, tied to the anonymous agents.
        assert (
            db.session.scalar(
                select(func.count(Appointment.id)).where(Appointment.collectivity_id == world["x"])
            )
            == 3
        )
        entry = db.session.scalars(
            select(AuditLog).where(AuditLog.action == "erase", AuditLog.row_id == str(world["x"]))
        ).one()
        assert entry.username == "système" and entry.user_id is None
        assert entry.changes["agents"] == [None, 3]
        assert entry.changes["courriels"] == [None, 2]
        db.session.remove()


def test_dry_run_counts_and_writes_nothing(app: Any, db_ctx: Any) -> None:
    world = _world(db_ctx)
    _write_outbox(app)
    before = _dump(app)
    outbox_before = _outbox(app)
    ctx, reports = _run(app, dt.date(2026, 9, 2), dry_run=True)
    assert ctx.counts[LABELS["agents"]] == 3 and ctx.counts[LABELS["courriels"]] == 2
    assert ctx.counts[LABELS["contacts"]] == 1
    assert "3 agent(s)" in reports[0].summary and "NOMERASEX" not in reports[0].summary
    assert _outbox(app) == outbox_before
    assert _dump(app) == before
    with app.app_context():
        assert db.session.get(Collectivity, world["x"]).personal_data_erased_on is None
        db.session.remove()


def test_a_second_run_changes_nothing(app: Any, db_ctx: Any) -> None:
    _world(db_ctx)
    _run(app, dt.date(2026, 9, 2))
    after_first = _dump(app)
    ctx, reports = _run(app, dt.date(2026, 9, 2))
    assert reports == [] and sum(ctx.counts.values()) == 0
    assert _dump(app) == after_first
    # The next day, only Y (ended one day later) is due; X is not done again.
    ctx, reports = _run(app, dt.date(2026, 9, 3))
    assert [r.name for r in reports] == ["Commune Suivante"]
    assert ctx.counts[LABELS["agents"]] == 1


def test_failure_in_second_batch_keeps_first_and_rerun_completes(
    app: Any, db_ctx: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = _world(db_ctx, agents=5)
    ids = world["ids"]["ERASEX"]
    original = services._erase_agents
    calls = []

    def failing(batch: list[int], today: dt.date) -> dict[str, int]:
        calls.append(batch)
        if len(calls) == 2:
            raise RuntimeError("panne simulée")
        return original(batch, today)

    monkeypatch.setattr(services, "_erase_agents", failing)
    with app.app_context():
        with pytest.raises(RuntimeError):
            services.run_retention(JobContext(today=dt.date(2026, 9, 2), batch_size=2))
        db.session.rollback()
        db.session.remove()
    with app.app_context():
        anonymised = set(
            db.session.scalars(select(Agent.id).where(Agent.anonymised_on.is_not(None)))
        )
        assert anonymised == set(ids[:2])
        assert db.session.get(Collectivity, world["x"]).personal_data_erased_on is None
        db.session.remove()

    monkeypatch.setattr(services, "_erase_agents", original)
    ctx, _ = _run(app, dt.date(2026, 9, 2), batch_size=2)
    assert ctx.counts[LABELS["agents"]] == 3  # only the ones the failed run left
    with app.app_context():
        assert (
            db.session.scalar(
                select(func.count(Agent.id)).where(
                    Agent.collectivity_id == world["x"], Agent.anonymised_on.is_(None)
                )
            )
            == 0
        )
        assert db.session.get(Collectivity, world["x"]).personal_data_erased_on == dt.date(
            2026, 9, 2
        )
        db.session.remove()
    dump = _dump(app)
    assert not [marker for marker in PERSONAL_X if marker.lower() in dump]


def test_retention_is_a_registered_job(app: Any, db_ctx: Any) -> None:
    world = _world(db_ctx)
    job = JOBS["retention"]
    with app.app_context():
        ctx = JobContext(today=dt.date(2026, 9, 2))
        job.run(ctx)
        assert ctx.counts[LABELS["agents"]] == 3
        assert db.session.get(Collectivity, world["x"]).personal_data_erased_on is not None
        db.session.remove()


def test_flask_jobs_run_retention_dry_run_then_real_run(app: Any, db_ctx: Any, cli: Any) -> None:
    world = _world(db_ctx)
    result = cli.invoke(args=["jobs", "run", "retention", "--date", "2026-09-02", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "agents anonymisés : 3" in result.output
    assert "agents anonymisés – Commune Terminée : 3" in result.output
    with app.app_context():
        assert db.session.get(Collectivity, world["x"]).personal_data_erased_on is None
        db.session.remove()
    result = cli.invoke(args=["jobs", "run", "retention", "--date", "2026-09-02"])
    assert result.exit_code == 0, result.output
    assert "agents anonymisés : 3" in result.output
    with app.app_context():
        assert db.session.get(Collectivity, world["x"]).personal_data_erased_on == dt.date(
            2026, 9, 2
        )
        db.session.remove()
    again = cli.invoke(args=["jobs", "run", "retention", "--date", "2026-09-02"])
    assert "déjà exécutée" in again.output


def test_demo_data_has_a_collectivity_the_retention_job_erases_in_ten_days(app: Any) -> None:
    from app.core import clock
    from app.demo import load_demo

    with app.app_context():
        load_demo(db.session, scale=60, seed=3)
        db.session.commit()
        today = clock.today()
        ctx = JobContext(today=today + dt.timedelta(days=9), dry_run=True)
        assert services.run_retention(ctx) == []
        ctx = JobContext(today=today + dt.timedelta(days=10), dry_run=True)
        [report] = services.run_retention(ctx)
        db.session.rollback()  # what the framework does at the end of a dry run
        assert report.agents > 0
        assert db.session.get(Collectivity, report.collectivity_id).personal_data_erased_on is None
        db.session.remove()


def test_failed_run_through_the_framework_is_recorded_and_completed_by_a_rerun(
    app: Any, db_ctx: Any, cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.scheduling.models import JobRun

    world = _world(db_ctx, agents=5)
    original = services._erase_agents
    calls: list[list[int]] = []

    def failing(batch: list[int], today: dt.date) -> dict[str, int]:
        calls.append(batch)
        if len(calls) == 2:
            raise RuntimeError("panne simulée")
        return original(batch, today)

    monkeypatch.setattr(services, "_erase_agents", failing)
    monkeypatch.setattr(JobContext, "batch_size", 2)
    result = cli.invoke(args=["jobs", "run", "retention", "--date", "2026-09-02"])
    assert result.exit_code == 1
    assert "panne simulée" in result.output
    with app.app_context():
        run = db.session.scalars(select(JobRun).where(JobRun.job == "retention")).one()
        assert run.status.name == "echoue"
        assert (
            db.session.scalar(select(func.count(Agent.id)).where(Agent.anonymised_on.is_not(None)))
            == 2
        )
        db.session.remove()
    monkeypatch.setattr(services, "_erase_agents", original)
    result = cli.invoke(args=["jobs", "run", "retention", "--date", "2026-09-02"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert db.session.get(Collectivity, world["x"]).personal_data_erased_on == dt.date(
            2026, 9, 2
        )
        assert (
            db.session.scalar(
                select(func.count(Agent.id)).where(
                    Agent.collectivity_id == world["x"], Agent.anonymised_on.is_(None)
                )
            )
            == 0
        )
        db.session.remove()


def _request_with_file(session: Any, app: Any, agent_id: int, marker: str) -> tuple[int, Path]:
    agent = session.get(Agent, agent_id)
    visit = session.scalar(select(VisitType).where(VisitType.code == "periodique"))
    nature = session.scalar(select(DocumentNature).order_by(DocumentNature.id))
    request = VisitRequest(
        agent_id=agent.id,
        collectivity_id=agent.collectivity_id,
        visit_type_id=visit.id,
        created_on=dt.date(2026, 3, 1),
        information=f"Information {marker}",
        other_exposure=f"Exposition {marker}",
    )
    session.add(request)
    session.flush()
    relative = f"demandes/{marker.lower()}.pdf"
    path = Path(app.config["UPLOAD_DIR"]) / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"%PDF-1.4 " + marker.encode())
    session.add(
        VisitRequestAttachment(
            visit_request_id=request.id,
            collectivity_id=agent.collectivity_id,
            nature_id=nature.id,
            filename=f"attestation-{marker}.pdf",
            stored_path=relative,
            size=path.stat().st_size,
        )
    )
    session.flush()
    return request.id, path


def test_retention_deletes_the_uploaded_files_and_the_requests_free_texts(
    app: Any, db_ctx: Any
) -> None:
    world = _world(db_ctx, agents=1)
    with db_ctx() as session:
        erased_id, erased_file = _request_with_file(
            session, app, world["ids"]["ERASEX"][0], "ERASEX"
        )
        kept_id, kept_file = _request_with_file(session, app, world["ids"]["KEEPZ"][0], "KEEPZ")

    dry, _ = _run(app, dt.date(2026, 9, 2), dry_run=True)
    assert dry.counts[LABELS["fichiers"]] == 1 and erased_file.is_file()

    ctx, _ = _run(app, dt.date(2026, 9, 2))
    assert ctx.counts[LABELS["fichiers"]] == 1
    assert not erased_file.exists() and kept_file.is_file()
    with app.app_context():
        erased = db.session.get(VisitRequest, erased_id)
        assert (erased.information, erased.other_exposure, erased.attachments) == (None, None, [])
        kept = db.session.get(VisitRequest, kept_id)
        assert kept.information == "Information KEEPZ" and len(kept.attachments) == 1
