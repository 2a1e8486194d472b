"""Scheduled jobs run exactly once (SPEC G1, G2, G4; CONTRACT.md §1 `flask jobs`, §2 `job_run`).

A run first claims its (job, day) slot; a second claim of the slot does nothing and says so.
Three real APScheduler schedulers firing the same job at the same instant make one run and one
application of its effects, on SQLite and on PostgreSQL. A failure rolls back its batch only and
a manual re-run finishes the work without redoing it.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from app.core.audit import AuditLog
from app.core.mail import outbox_entries
from app.referential.models import Civility, ContactFunction
from app.scheduling import services
from app.scheduling.models import JobRun, RunStatus, RunTrigger
from app.workforce.models import Agent, Headcount, StagedAgentChange
from tests import factories
from tests.integration.test_workforce import _contract, _position
from tests.isolation import make_agent

DAY = dt.date(2026, 3, 2)


def _collectivity(session, name: str, email: str | None = "rh@commune.fr"):
    collectivity = factories.make_collectivity(session, name=name)
    if email:
        factories.make_contact(
            session, collectivity, function=ContactFunction.convocation, email=email
        )
    return collectivity


def _staged(session, collectivity, count: int, conflicts: int = 0) -> list[int]:
    """``count`` validated agents of the collectivity, each with a staged first-name change;
    the first ``conflicts`` of them were changed by the CDG meanwhile (their old value differs)."""
    n = factories._next()
    agents = [
        Agent(
            collectivity_id=collectivity.id,
            civility=Civility.madame,
            first_name="Ancien",
            birth_name=f"SYNC{n}X{index:05d}",
            birth_date=dt.date(1980, 1, 1),
            validated_at=dt.datetime(2025, 1, 1, tzinfo=dt.UTC),
        )
        for index in range(count)
    ]
    session.add_all(agents)
    session.flush()
    changes = [
        StagedAgentChange(
            agent_id=agent.id,
            collectivity_id=collectivity.id,
            field="first_name",
            old_value="Ancien" if index >= conflicts else "Autre",
            new_value=f"Nouveau{index}",
        )
        for index, agent in enumerate(agents)
    ]
    session.add_all(changes)
    session.flush()
    return [agent.id for agent in agents]


def _run(app, name="sync", **kwargs):
    with app.app_context():
        kwargs.setdefault("today", DAY)
        return services.claim_and_run(name, **kwargs)


def _runs(session, job="sync"):
    return session.scalars(select(JobRun).where(JobRun.job == job).order_by(JobRun.id)).all()


def _status_counts(session):
    rows = session.execute(
        select(StagedAgentChange.status, func.count()).group_by(StagedAgentChange.status)
    ).all()
    return {status.name: count for status, count in rows}


def _agent_updates(session) -> int:
    return session.scalar(
        select(func.count())
        .select_from(AuditLog)
        .where(AuditLog.table_name == "agent", AuditLog.action == "update")
    )


# -- the sync job ------------------------------------------------------------------------------


def test_sync_applies_changes_and_sends_each_collectivity_one_digest_of_what_changed(app, db_ctx):
    with db_ctx() as session:
        a = _collectivity(session, "Commune Alpha", "rh@alpha.fr")
        _collectivity(session, "Commune Beta", "rh@beta.fr")  # nothing changes there
        _staged(session, a, 3, conflicts=1)
        position = _position(session, a, "JARDINIER", "631a")
        leaver = make_agent(session, a, birth_name="PARTANT", first_name="Paul")
        _contract(session, leaver, position, end=DAY - dt.timedelta(days=1))
        stayer = make_agent(session, a, birth_name="RESTANT", first_name="Rose")
        _contract(session, stayer, position, end=DAY)  # still running today

    outcome = _run(app)

    assert outcome.status is RunStatus.reussi
    assert outcome.counts == {
        "modifications appliquées": 2,
        "conflits": 1,
        "contrats terminés": 1,
        "récapitulatifs envoyés": 1,
    }
    with app.app_context():
        [mail] = outbox_entries()
    assert mail.to == "rh@alpha.fr"
    assert mail.subject == "Synchronisation du 02/03/2026 : Commune Alpha"
    assert "Modifications appliquées (2)" in mail.body and "« Ancien » → « Nouveau1 »" in mail.body
    assert "modifiées entre-temps par le centre de gestion (1)" in mail.body
    assert "PARTANT Paul : JARDINIER, fin le 01/03/2026" in mail.body
    assert "RESTANT" not in mail.body
    with db_ctx() as session:
        assert _status_counts(session) == {"appliquee": 2, "conflit": 1}
        [run] = _runs(session)
        assert (run.status, run.trigger, run.attempts) == (
            RunStatus.reussi,
            RunTrigger.ligne_de_commande,
            1,
        )
        assert run.day == DAY and run.ended_at >= run.started_at
        assert run.counts["modifications appliquées"] == 2

    # The next night reports Rose's contract (its last day was DAY), and nothing twice.
    next_night = _run(app, today=DAY + dt.timedelta(days=1))
    assert next_night.counts["contrats terminés"] == 1
    assert next_night.counts["modifications appliquées"] == 0
    with app.app_context():
        latest = max(outbox_entries(), key=lambda m: m.name)
    assert "RESTANT Rose : JARDINIER, fin le 02/03/2026" in latest.body
    assert "PARTANT" not in latest.body and "Modifications" not in latest.body
    # Then nothing changes: no digest at all.
    quiet = _run(app, today=DAY + dt.timedelta(days=2))
    assert quiet.counts["récapitulatifs envoyés"] == 0 and quiet.counts["contrats terminés"] == 0
    with app.app_context():
        assert len(outbox_entries()) == 2


def test_a_second_run_of_the_same_slot_changes_nothing_and_says_when_it_ran(app, db_ctx):
    with db_ctx() as session:
        a = _collectivity(session, "Commune Gamma")
        _staged(session, a, 2)
    first = _run(app)
    with db_ctx() as session:
        _staged(session, session.merge(a), 1)  # staged after the night's run
    second = _run(app)
    scheduler = _run(app, today=None, slot=services.slot_for(DAY), trigger=RunTrigger.planificateur)

    assert first.counts["modifications appliquées"] == 2
    for outcome in (second, scheduler):
        assert not outcome.ran and outcome.existing is not None
        assert "déjà exécutée le " in outcome.message and "rien n'a été fait" in outcome.message
    with db_ctx() as session:
        assert len(_runs(session)) == 1
        assert _status_counts(session) == {"appliquee": 2, "en_attente": 1}


def test_a_failure_rolls_back_its_batch_and_a_manual_rerun_finishes_without_redoing(
    app, db_ctx, monkeypatch
):
    from app.scheduling import sync

    with db_ctx() as session:
        a = _collectivity(session, "Commune Delta")
        _staged(session, a, 25)
    real = sync.apply_staged_changes
    calls = []

    def failing_on_third_batch(ids):
        calls.append(len(ids))
        result = real(ids)  # the batch's work is done, then the failure strikes
        if len(calls) == 3:
            raise RuntimeError("panne simulée au 3e lot")
        return result

    monkeypatch.setattr(sync, "apply_staged_changes", failing_on_third_batch)
    failed = _run(app, batch_size=10)

    assert failed.status is RunStatus.echoue
    assert failed.error == "panne simulée au 3e lot"
    assert failed.counts["modifications appliquées"] == 20, "two batches committed"
    with db_ctx() as session:
        assert _status_counts(session) == {"appliquee": 20, "en_attente": 5}
        [run] = _runs(session)
        assert run.status is RunStatus.echoue and run.error == "panne simulée au 3e lot"
        assert run.ended_at is not None and run.counts["modifications appliquées"] == 20
        assert _agent_updates(session) == 20

    # The scheduler never retries a failed slot on its own.
    fired = _run(app, today=None, slot=services.slot_for(DAY), trigger=RunTrigger.planificateur)
    assert not fired.ran and "échouée" in fired.message

    monkeypatch.setattr(sync, "apply_staged_changes", real)
    rerun = _run(app, batch_size=10)

    assert rerun.status is RunStatus.reussi
    assert rerun.counts["modifications appliquées"] == 5, "only what the failure left undone"
    assert rerun.counts["récapitulatifs envoyés"] == 1
    with db_ctx() as session:
        assert _status_counts(session) == {"appliquee": 25}
        [run] = _runs(session)
        assert (run.status, run.attempts, run.error) == (RunStatus.reussi, 2, None)
        assert _agent_updates(session) == 25, "no change applied twice"
    with app.app_context():
        [mail] = outbox_entries()
    assert "Modifications appliquées (25)" in mail.body


def test_a_rerun_never_sends_a_digest_twice(app, db_ctx, monkeypatch):
    """Digests already sent by a failed run are skipped by its re-run (kept on the run row)."""
    from app.scheduling import sync

    with db_ctx() as session:
        ids = []
        for index in range(3):
            collectivity = _collectivity(session, f"Commune Digest {index}", f"rh{index}@d.fr")
            _staged(session, collectivity, 1)
            ids.append(collectivity.id)
    real = sync._send_digest

    def failing_on_last(ctx, digest):
        if digest.collectivity.id == ids[-1]:
            raise RuntimeError("serveur de courriel injoignable")
        real(ctx, digest)

    monkeypatch.setattr(sync, "_send_digest", failing_on_last)
    failed = _run(app, batch_size=1)
    assert failed.status is RunStatus.echoue and failed.counts["récapitulatifs envoyés"] == 2
    monkeypatch.setattr(sync, "_send_digest", real)
    rerun = _run(app, batch_size=1)

    assert rerun.status is RunStatus.reussi and rerun.counts["récapitulatifs envoyés"] == 1
    with app.app_context():
        recipients = sorted(mail.to for mail in outbox_entries())
    assert recipients == ["rh0@d.fr", "rh1@d.fr", "rh2@d.fr"]


def test_a_run_left_running_by_a_dead_process_can_be_taken_over_by_hand(app, db_ctx):
    with db_ctx() as session:
        session.add(
            JobRun(
                job="reminders",
                scheduled_for=services.slot_for(DAY),
                started_at=dt.datetime.now(dt.UTC) - dt.timedelta(hours=13),
                status=RunStatus.en_cours,
                counts={},
                done=[],
                trigger=RunTrigger.planificateur,
                attempts=1,
            )
        )
    assert not _run(app, "reminders", trigger=RunTrigger.planificateur).ran
    manual = _run(app, "reminders")
    assert manual.status is RunStatus.reussi
    with db_ctx() as session:
        [run] = _runs(session, "reminders")
        assert (run.status, run.attempts) == (RunStatus.reussi, 2)


def test_the_reminders_job_reminds_each_unfilled_plage_once(app, db_ctx):
    from app.planning.models import Plage, PlageNature, PlageState

    with db_ctx() as session:
        a = _collectivity(session, "Commune Rappel", "convocations@rappel.fr")
        # Its annual declaration is done: the job's declarations step has nothing to send.
        session.add(
            Headcount(
                collectivity_id=a.id,
                year=DAY.year,
                headcount=12,
                permanent_headcount=10,
                payroll=Decimal("300000.00"),
                declared_on=DAY - dt.timedelta(days=20),
                validated_at=dt.datetime(2026, 2, 10, 9, 0, tzinfo=dt.UTC),
            )
        )
        office = factories.make_office(session, served=[a])
        doctor = factories.make_professional(session)
        start = dt.datetime.combine(DAY + dt.timedelta(days=15), dt.time(9, 0))
        session.add(
            Plage(
                office_id=office.id,
                professional_id=doctor.id,
                starts_at=start,
                ends_at=start + dt.timedelta(hours=1),
                appointment_minutes=20,
                nature=PlageNature.medecin,
                state=PlageState.reservee,
                reserved_for_id=a.id,
            )
        )
    first = _run(app, "reminders")
    again = _run(app, "reminders")
    next_day = _run(app, "reminders", today=DAY + dt.timedelta(days=1))

    assert first.counts == {
        "rappels de plages non remplies": 1,
        "relances de déclaration annuelle": 0,
    }
    assert not again.ran
    assert next_day.counts["rappels de plages non remplies"] == 0
    with app.app_context():
        [mail] = outbox_entries()
    assert mail.to == "convocations@rappel.fr" and "3 place(s) libre(s)" in mail.body


# -- exactly once, proven ------------------------------------------------------------------------


@pytest.mark.committing
@pytest.mark.concurrency
def test_three_schedulers_firing_the_same_job_run_it_once(app, db_ctx, monkeypatch):
    """Three APScheduler BackgroundSchedulers (as three processes would) fire `sync` through the
    scheduler's own fire function at the same instant on the same database: one run row, each
    change applied once, one digest."""
    from apscheduler.schedulers.background import BackgroundScheduler
    from apscheduler.triggers.date import DateTrigger

    from app.core.clock import PARIS
    from app.scheduling import scheduler as scheduling

    with db_ctx() as session:
        a = _collectivity(session, "Commune Concurrente", "rh@concurrente.fr")
        _staged(session, a, 1200)
    outcomes = []
    lock = threading.Lock()
    real = services.claim_and_run

    def recorded(*args, **kwargs):
        outcome = real(*args, **kwargs)
        with lock:
            outcomes.append(outcome)
        return outcome

    monkeypatch.setattr(services, "claim_and_run", recorded)
    at = dt.datetime.now(PARIS) + dt.timedelta(seconds=2)
    schedulers = [BackgroundScheduler(timezone=PARIS) for _ in range(3)]
    for scheduler in schedulers:
        trigger = DateTrigger(run_date=at)
        scheduler.add_job(
            scheduling.fire, trigger, args=(app, "sync", trigger), misfire_grace_time=60
        )
        scheduler.start()
    try:
        deadline = time.monotonic() + 120
        while len(outcomes) < 3 and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        for scheduler in schedulers:
            scheduler.shutdown(wait=True)

    assert len(outcomes) == 3
    ran = [o for o in outcomes if o.ran]
    assert len(ran) == 1 and ran[0].status is RunStatus.reussi, [o.message for o in outcomes]
    assert ran[0].counts["modifications appliquées"] == 1200
    assert all("déjà exécutée" in o.message for o in outcomes if not o.ran)
    assert {o.day for o in outcomes} == {at.date()}
    with db_ctx() as session:
        [run] = _runs(session)
        assert run.trigger is RunTrigger.planificateur and run.started_by_id is None
        assert _status_counts(session) == {"appliquee": 1200}
        assert _agent_updates(session) == 1200
    with app.app_context():
        assert [mail.to for mail in outbox_entries()] == ["rh@concurrente.fr"]


def test_the_scheduler_takes_the_slot_of_the_fire_that_is_running(app):
    from apscheduler.triggers.cron import CronTrigger

    from app.core.clock import PARIS
    from app.scheduling.scheduler import describe_cron, fire_time

    trigger = CronTrigger(hour=2, minute=0, timezone=PARIS)
    late = dt.datetime(2026, 3, 2, 2, 0, 3, tzinfo=PARIS)
    assert fire_time(trigger, late) == dt.datetime(2026, 3, 2, 2, 0, tzinfo=PARIS)
    assert services.slot_for(fire_time(trigger, late).date()) == services.slot_for(DAY)
    assert describe_cron({"hour": 2, "minute": 0}) == "tous les jours à 02:00"
    assert describe_cron({"day": 1, "month": 3, "hour": 6, "minute": 0}) == (
        "le 1/3 de chaque année à 06:00"
    )


def test_web_workers_start_no_scheduler_unless_enabled(app):
    from app import create_app
    from app.scheduling import scheduler
    from config import TestConfig

    assert not scheduler._web_started
    enabled = create_app(
        TestConfig,
        SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"],
        SCHEDULER_ENABLED=True,
    )
    assert not scheduler._web_started, "never at start-up (gunicorn --preload forks after it)"
    enabled.test_client().get("/login/")
    try:
        started = scheduler._web_started.popitem()[1]
        assert {job.id for job in started.get_jobs()} >= {"sync", "reminders"}
    finally:
        started.shutdown(wait=False)


# -- the command line --------------------------------------------------------------------------


def test_cli_runs_a_job_once_and_refuses_unknown_jobs_and_bad_dates(app, db_ctx, cli):
    with db_ctx() as session:
        _staged(session, _collectivity(session, "Commune Epsilon"), 2)

    unknown = cli.invoke(args=["jobs", "run", "inconnue"])
    assert unknown.exit_code == 2
    assert "tâche inconnue « inconnue »" in unknown.output
    assert "reminders" in unknown.output and "sync" in unknown.output
    for bad in ("31/02/2026", "2026-02-31", "demain"):
        refused = cli.invoke(args=["jobs", "run", "sync", "--date", bad])
        assert refused.exit_code == 2 and f"« {bad} »" in refused.output, refused.output

    first = cli.invoke(args=["jobs", "run", "sync", "--date", "2026-03-02"])
    assert first.exit_code == 0, first.output
    assert first.output.strip().endswith(
        "terminée. modifications appliquées : 2, conflits : 0, contrats terminés : 0, "
        "récapitulatifs envoyés : 1."
    )
    second = cli.invoke(args=["jobs", "run", "sync", "--date", "2026-03-02"])
    assert second.exit_code == 0 and "déjà exécutée le " in second.output
    listing = cli.invoke(args=["jobs", "list"])
    assert listing.exit_code == 0
    assert "Synchronisation de nuit — tous les jours à 02:00 — dernière : " in listing.output
    assert "dernière : 02/03/2026 (lancée le " in listing.output
    assert "réussie)" in listing.output and "prochaine : " in listing.output
    with db_ctx() as session:
        assert len(_runs(session)) == 1


def test_cli_dry_run_writes_nothing_and_tells_what_a_run_would_do(app, db_ctx, cli):
    with db_ctx() as session:
        _staged(session, _collectivity(session, "Commune Zeta"), 3, conflicts=1)

    dry = cli.invoke(args=["jobs", "run", "sync", "--date", "2026-03-02", "--dry-run"])

    assert dry.exit_code == 0, dry.output
    assert "Simulation" in dry.output and "rien n'a été enregistré" in dry.output
    assert "modifications appliquées : 2, conflits : 1" in dry.output
    assert "récapitulatifs envoyés : 1" in dry.output, "later steps see the earlier ones"
    with db_ctx() as session:
        assert _runs(session) == []
        assert _status_counts(session) == {"en_attente": 3}
        assert _agent_updates(session) == 0
    with app.app_context():
        assert outbox_entries() == []
    real = cli.invoke(args=["jobs", "run", "sync", "--date", "2026-03-02"])
    assert "modifications appliquées : 2, conflits : 1" in real.output


def test_a_dry_run_cannot_commit(app):
    from app.extensions import db
    from app.scheduling.services import DryRunCommit, dry_run_session

    with app.app_context(), dry_run_session(), pytest.raises(DryRunCommit):
        db.session.commit()


# -- Administration › Tâches planifiées and the REST resource ------------------------------------

URL = "/taches-planifiees/"


def test_admin_sees_the_jobs_and_runs_and_launches_a_job_once(app, db_ctx, users, login):
    with db_ctx() as session:
        _staged(session, session.merge(users.collectivity_a), 1)
    admin = login(users.admin)
    page = admin.get(URL).get_data(as_text=True)
    assert "Tâches planifiées" in page and "Synchronisation de nuit" in page
    assert "tous les jours à 02:00" in page and "Lancer maintenant" in page
    assert 'data-confirm="Lancer « Synchronisation de nuit » maintenant ?' in page
    assert "Aucune exécution" in page

    launched = admin.post_form(f"{URL}sync/lancer", {}, form_url=URL, follow_redirects=True)
    assert "terminée. modifications appliquées : 1" in launched.get_data(as_text=True)
    again = admin.post_form(f"{URL}sync/lancer", {}, form_url=URL, follow_redirects=True)
    assert "déjà exécutée le " in again.get_data(as_text=True)
    with db_ctx() as session:
        [run] = _runs(session)
        assert run.trigger is RunTrigger.ecran and run.started_by_id == users.admin.id

    listed = admin.get(URL).get_data(as_text=True)
    assert "Réussie" in listed and users.admin.username in listed
    assert "modifications appliquées : 1" in listed
    assert 'class="run-reussi"' in listed
    failed_only = admin.get(f"{URL}?status=echoue").get_data(as_text=True)
    assert (
        'class="run-reussi"' not in failed_only and "Aucune exécution pour ce filtre" in failed_only
    )
    assert "Aucune exécution pour ce filtre" in admin.get(f"{URL}?job=reminders").get_data(
        as_text=True
    )
    for odd in ("?page=abc", "?page=99999999", "?status=nope&job=nope"):
        assert admin.get(URL + odd).status_code == 200
    assert admin.post_form(f"{URL}inconnue/lancer", {}, form_url=URL).status_code == 404
    assert admin.post(f"{URL}sync/lancer").status_code == 400, "CSRF token required"


@pytest.mark.parametrize(
    "role",
    ["secretariat", "sante", "comptabilite", "direction", "primary_a", "secondary_a"],
)
def test_only_administrators_reach_the_jobs(app, db_ctx, users, login, api_login, role):
    user = getattr(users, role)
    web = login(user)
    assert web.get(URL).status_code == 403
    token = web.csrf_token("/compte/moi/")
    assert web.post(f"{URL}sync/lancer", data={"csrf_token": token}).status_code == 403
    assert api_login(user).get("/api/v1/job_run/").status_code == 403
    with db_ctx() as session:
        assert _runs(session) == []


def test_the_job_run_resource_lists_runs_with_the_contract_fields(app, db_ctx, users, api_login):
    _run(app, "reminders")
    api = api_login(users.admin)
    listing = api.get("/api/v1/job_run/")
    assert listing.status_code == 200
    [row] = listing.get_json()["result"]
    assert {
        "id",
        "job",
        "scheduled_for",
        "started_at",
        "ended_at",
        "status",
        "counts",
        "error",
    } <= set(row)
    assert row["job"] == "reminders" and row["status"] == "reussi"
    assert listing.get_json()["label_columns"]["started_at"] == "Début"
    assert api.post("/api/v1/job_run/", json={"job": "sync"}).status_code in (403, 405)


def test_the_run_list_runs_a_constant_number_of_statements(
    app, db_ctx, users, login, count_queries
):
    admin = login(users.admin)

    def add_runs(count):
        with db_ctx() as session:
            start = session.scalar(select(func.count()).select_from(JobRun)) or 0
            for index in range(start, start + count):
                session.add(
                    JobRun(
                        job="sync" if index % 2 else "reminders",
                        scheduled_for=services.slot_for(DAY - dt.timedelta(days=index)),
                        started_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
                        + dt.timedelta(hours=index),
                        ended_at=dt.datetime(2026, 1, 1, 0, 1, tzinfo=dt.UTC)
                        + dt.timedelta(hours=index),
                        status=RunStatus.echoue if index % 3 else RunStatus.reussi,
                        counts={"modifications appliquées": index},
                        error="erreur" if index % 3 else None,
                        done=[],
                        trigger=RunTrigger.ecran,
                        started_by_id=users.admin.id,
                        attempts=1,
                    )
                )

    counts = []
    for count in (5, 45):
        add_runs(count)
        admin.get(URL)
        with count_queries() as counter:
            assert admin.get(URL).status_code == 200
        counts.append(counter.count)
    assert counts[0] == counts[1] and counts[1] <= 8, counts
