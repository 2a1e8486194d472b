"""Billing runs (SPEC F3-F6, F8, G3; DOMAIN.md §8 examples 1-4; CONTRACT.md §1
`flask jobs run billing-*`): the dry run per collectivity, the real run through the jobs
framework, idempotence (also two runs at once), all-or-nothing on a failure half-way, and the
accounting screen *Comptabilité › Facturation*."""

from __future__ import annotations

import datetime as dt
import threading
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from app.billing import runs
from app.planning.models import Appointment, AppointmentStatus
from app.referential.models import Convention, Mission, TariffCategory
from app.statutory.models import StatutoryRequest, StatutoryStatus
from app.workforce.models import Headcount
from tests import factories
from tests.isolation import make_agent
from tests.util import text


def _invoices():
    return pytest.importorskip("app.billing.models").Invoice


def _headcount(session, collectivity, year, headcount, permanent=None, payroll=None):
    row = Headcount(
        collectivity_id=collectivity.id,
        year=year,
        headcount=headcount,
        permanent_headcount=permanent,
        payroll=payroll,
        declared_on=dt.date(year, 1, 15),
        validated_at=dt.datetime(year, 1, 15, 9, 0, tzinfo=dt.UTC),
    )
    session.add(row)
    return row


def _msc_convention(session, collectivity, payroll=None):
    mission = session.scalar(select(Mission).where(Mission.code == "msc"))
    session.add(
        Convention(
            collectivity_id=collectivity.id,
            mission_id=mission.id,
            number=f"MSC-{collectivity.id}-{factories._next()}",
            start_date=dt.date(2025, 1, 1),
            end_date=dt.date(2027, 12, 31),
            declared_payroll=payroll,
        )
    )


@pytest.fixture
def world(db_ctx):
    """Examples 1, 2 and 4 of DOMAIN.md §8, and a collectivity without declaration."""
    with db_ctx() as session:
        commune = factories.make_collectivity(session, name="A Commune affiliée")
        big = factories.make_collectivity(
            session, name="B Non affiliée", category=TariffCategory.non_affiliee_800_plus
        )
        msc = factories.make_collectivity(session, name="C Commune MSC", has_own_cst=True)
        silent = factories.make_collectivity(session, name="D Sans déclaration")
        _headcount(session, commune, 2025, 120)
        _headcount(session, big, 2025, 950)
        _headcount(session, msc, 2025, 160, permanent=150, payroll=Decimal("3000000"))
        _msc_convention(session, msc, payroll=Decimal("3000000"))
        session.flush()
        return {"commune": commune.id, "big": big.id, "msc": msc.id, "silent": silent.id}


def _by_id(plan):
    return {p.collectivity_id: p for p in plan.plans}


def test_contributions_dry_run_holds_examples_1_2_4_and_blocks_a_missing_declaration(world, db_ctx):
    with db_ctx():
        plan = runs.compute("contributions", runs.year_period(2025))
    rows = _by_id(plan)
    assert rows[world["commune"]].total == Decimal("10440.00")  # example 1
    assert rows[world["big"]].total == Decimal("88350.00")  # example 2
    msc = rows[world["msc"]]
    assert [line.amount for line in msc.lines] == [Decimal("13920.00"), Decimal("981.00")]
    silent = rows[world["silent"]]
    assert silent.status == "bloquee" and silent.lines == []
    assert "Aucune déclaration annuelle d'effectif pour 2025." in silent.blocked
    source = rows[world["commune"]].lines[0].source
    assert "120 agents déclarés au 01/01/2025" in source and "87,00" in source
    assert "2025-2027" in source  # the tariff row and its period
    assert "0,0327 %" in msc.lines[1].source


def test_a_reopened_declaration_is_blocked_until_validated_again(world, db_ctx, monkeypatch):
    """A declaration reopened by the CDG keeps its first validation date: the run must not bill
    its old figures before the employer validates it again (then it bills the new ones)."""
    from app.billing import declarations
    from app.core import clock
    from app.scheduling.services import claim_and_run
    from app.tenancy import system_scope

    with db_ctx() as session:
        pk = session.scalar(
            select(Headcount.id).where(
                Headcount.collectivity_id == world["commune"], Headcount.year == 2025
            )
        )
        with system_scope():
            declarations.reopen(pk, "Effectif erroné signalé par la collectivité")
    with db_ctx():
        plan = runs.compute("contributions", runs.year_period(2025))
    commune = _by_id(plan)[world["commune"]]
    assert commune.status == "bloquee" and commune.lines == []
    assert commune.blocked[0].startswith("Déclaration rouverte")
    with db_ctx():
        outcome = claim_and_run("billing-contributions", today=dt.date(2025, 4, 1))
    assert outcome.counts["factures émises"] == 2 and outcome.counts["collectivités bloquées"] == 2
    assert _count_invoices(db_ctx, f"contributions:2025:{world['commune']}") == 0
    # The employer corrects and validates again: the next run bills the new headcount.
    monkeypatch.setattr(clock, "today", lambda: dt.date(2025, 4, 10))
    with db_ctx(), system_scope():
        declarations.update(
            pk,
            declarations.DeclarationInput(2025, 130, 120, Decimal("0")),
            today=dt.date(2025, 4, 10),
        )
    with db_ctx():
        again = claim_and_run("billing-contributions", today=dt.date(2025, 4, 11))
    assert again.counts["factures émises"] == 1 and again.counts["déjà facturées"] == 2
    Invoice = _invoices()
    with db_ctx() as session:
        invoice = session.scalar(
            select(Invoice).where(Invoice.run_key == f"contributions:2025:{world['commune']}")
        )
        assert invoice.total == Decimal("11310.00")  # 130 x 87,00 €


def test_contributions_for_2024_use_the_tariff_in_force_that_year(world, db_ctx):
    with db_ctx() as session:
        commune = session.get(Headcount, session.scalar(select(Headcount.id).limit(1)))
        _headcount(session, commune.collectivity, 2024, 120)
    with db_ctx():
        plan = runs.compute("contributions", runs.year_period(2024))
    assert _by_id(plan)[world["commune"]].total == Decimal("9600.00")  # 120 x 80


def test_a_year_without_tariff_gives_a_french_message_and_writes_nothing(world, db_ctx, cli):
    result = cli.invoke(args=["jobs", "run", "billing-contributions", "--date", "2031-04-01"])
    assert result.exit_code == 1
    assert "Aucun tarif de médecine" in result.output and "01/01/2031" in result.output
    Invoice = _invoices()
    with db_ctx() as session:
        assert session.scalar(select(func.count()).select_from(Invoice)) == 0


def _appointments(session, collectivity, honoured, unjustified, justified=0, day=None):
    from app.planning.models import Plage, PlageNature, PlageState
    from app.referential.models import VisitType

    visit_type = session.scalar(select(VisitType.id).order_by(VisitType.id).limit(1))

    start = dt.datetime.combine(day or dt.date(2025, 3, 3), dt.time(9, 0))
    plage = Plage(
        office_id=factories.make_office(session, served=[collectivity]).id,
        professional_id=factories.make_professional(session).id,
        starts_at=start,
        ends_at=start + dt.timedelta(hours=20),
        appointment_minutes=20,
        nature=PlageNature.medecin,
        state=PlageState.reservee,
        reserved_for_id=collectivity.id,
    )
    session.add(plage)
    session.flush()
    statuses = (
        [AppointmentStatus.honoree] * honoured
        + [AppointmentStatus.absence_injustifiee] * unjustified
        + [AppointmentStatus.absence_justifiee] * justified
    )
    for n, status in enumerate(statuses):
        agent = make_agent(session, collectivity, birth_name=f"ABSENT{factories._next()}")
        session.add(
            Appointment(
                collectivity_id=collectivity.id,
                plage_id=plage.id,
                slot_index=n,
                visit_type_id=visit_type,
                agent_id=agent.id,
                starts_at=start + dt.timedelta(minutes=20 * n),
                status=status,
            )
        )


def test_absences_surcharge_example_3(db_ctx):
    with db_ctx() as session:
        high = factories.make_collectivity(session, name="Absences 3")
        low = factories.make_collectivity(session, name="Absences 2")
        _appointments(session, high, 40, 3, justified=5)
        _appointments(session, low, 40, 2)
        _appointments(session, high, 0, 9, day=dt.date(2025, 7, 1))  # second half: not counted
        ids = high.id, low.id
    with db_ctx():
        plan = runs.compute("absences", runs.period_for("absences", dt.date(2025, 7, 2)))
    assert plan.period.code == "2025-S1"
    rows = _by_id(plan)
    assert rows[ids[0]].total == Decimal("120.00")
    assert "taux 6,98 %" in rows[ids[0]].lines[0].source
    assert rows[ids[1]].total == Decimal("0.00") and rows[ids[1]].status == "rien_a_facturer"
    assert "taux 4,76 %" in rows[ids[1]].inputs[0]


EXAMPLE_4 = [7, 8, 11, 17, 7, 9, 1, 6, 12]


def _example_4_requests(session, collectivity):
    from app.statutory import services as statutory

    agent = make_agent(session, collectivity, birth_name="STATUTAIRE")
    session.flush()
    for n, act in enumerate(EXAMPLE_4):
        statutory.create_request(
            agent_id=agent.id,
            act_number=act,
            requested_on=dt.date(2025, 1, 6) + dt.timedelta(days=n),
        )
    session.flush()
    for item in session.scalars(select(StatutoryRequest)):
        item.status = StatutoryStatus.realisee


def test_msc_per_act_run_bills_example_4(world, db_ctx, monkeypatch):
    from app.core import clock

    monkeypatch.setattr(clock, "today", lambda: dt.date(2025, 6, 2))
    with db_ctx() as session:
        from app.referential.models import Collectivity
        from app.tenancy import system_scope

        with system_scope():
            _example_4_requests(session, session.get(Collectivity, world["msc"]))
    with db_ctx():
        plan = runs.compute("msc", runs.period_for("msc", dt.date(2026, 1, 15)))
    assert plan.period.code == "2025"
    rows = _by_id(plan)
    assert list(rows) == [world["msc"]]
    assert [line.amount for line in rows[world["msc"]].lines] == [
        Decimal("250.00"),
        Decimal("100.00"),
    ]
    assert rows[world["msc"]].total == Decimal("350.00")


# -- the real run through the jobs framework ---------------------------------------------------


def _count_invoices(db_ctx, like="contributions:2025:"):
    Invoice = _invoices()
    with db_ctx() as session:
        return session.scalar(
            select(func.count()).select_from(Invoice).where(Invoice.run_key.like(f"{like}%"))
        )


def test_flask_jobs_run_dry_run_then_real_run_then_nothing_twice(world, db_ctx, cli):
    Invoice = _invoices()
    dry = cli.invoke(
        args=["jobs", "run", "billing-contributions", "--date", "2025-04-01", "--dry-run"]
    )
    assert dry.exit_code == 0, dry.output
    assert "Simulation" in dry.output and "factures à émettre : 3" in dry.output
    assert _count_invoices(db_ctx) == 0
    real = cli.invoke(args=["jobs", "run", "billing-contributions", "--date", "2025-04-01"])
    assert real.exit_code == 0, real.output
    assert "factures émises : 3" in real.output and "collectivités bloquées : 1" in real.output
    with db_ctx() as session:
        query = (
            select(Invoice)
            .where(Invoice.run_key.like("contributions:%"))
            .options(selectinload(Invoice.lines))
        )
        invoices = {i.collectivity_id: i for i in session.scalars(query)}
        assert invoices[world["commune"]].total == Decimal("10440.00")
        assert invoices[world["big"]].total == Decimal("88350.00")
        assert invoices[world["msc"]].total == Decimal("14901.00")  # 13 920 + 981
        assert invoices[world["commune"]].run_key == f"contributions:2025:{world['commune']}"
        assert world["silent"] not in invoices
        assert "120 agents déclarés au 01/01/2025" in invoices[world["commune"]].lines[0].source
    # The same slot again: nothing; another day of the same year: nothing invoiced twice.
    again = cli.invoke(args=["jobs", "run", "billing-contributions", "--date", "2025-04-01"])
    assert "rien n'a été fait" in again.output
    other = cli.invoke(args=["jobs", "run", "billing-contributions", "--date", "2025-05-02"])
    assert other.exit_code == 0 and "déjà facturées : 3" in other.output, other.output
    assert "factures émises" not in other.output
    assert _count_invoices(db_ctx) == 3


def test_absences_and_msc_runs_issue_examples_3_and_4(world, db_ctx, monkeypatch):
    from app.core import clock
    from app.referential.models import Collectivity
    from app.scheduling.services import claim_and_run
    from app.tenancy import system_scope

    Invoice = _invoices()
    monkeypatch.setattr(clock, "today", lambda: dt.date(2025, 6, 2))
    with db_ctx() as session, system_scope():
        msc = session.get(Collectivity, world["msc"])
        _example_4_requests(session, msc)
        _appointments(session, msc, 40, 3)
    with db_ctx():
        absences = claim_and_run("billing-absences", today=dt.date(2025, 7, 2))
        per_act = claim_and_run("billing-msc", today=dt.date(2026, 1, 15))
    assert absences.counts.get("factures émises") == 1, absences.message
    assert per_act.counts.get("factures émises") == 1, per_act.message
    with db_ctx() as session:
        totals = dict(
            session.execute(
                select(Invoice.run_key, Invoice.total).where(
                    Invoice.collectivity_id == world["msc"]
                )
            ).all()
        )
    assert totals == {
        f"absences:2025-S1:{world['msc']}": Decimal("120.00"),
        f"msc:2025:{world['msc']}": Decimal("350.00"),
    }


def test_a_failure_half_way_issues_nothing_and_a_rerun_issues_everything(
    world, db_ctx, monkeypatch
):
    from app.billing import invoices
    from app.scheduling.models import RunStatus
    from app.scheduling.services import claim_and_run

    real = invoices.insert_invoices

    def failing(items, **kwargs):
        real(items, **kwargs)  # the batch is written, numbers drawn ...
        raise RuntimeError("panne simulée")  # ... then the run fails before its commit

    monkeypatch.setattr(invoices, "insert_invoices", failing)
    with db_ctx():
        outcome = claim_and_run("billing-contributions", today=dt.date(2025, 4, 1))
    assert outcome.status is RunStatus.echoue and "panne simulée" in (outcome.error or "")
    assert _count_invoices(db_ctx) == 0  # the whole batch was rolled back with the run
    monkeypatch.setattr(invoices, "insert_invoices", real)
    with db_ctx():
        again = claim_and_run("billing-contributions", today=dt.date(2025, 4, 1))
    assert again.status is RunStatus.reussi and again.counts["factures émises"] == 3
    Invoice = _invoices()
    with db_ctx() as session:
        numbers = sorted(session.scalars(select(Invoice.number)))
    assert numbers == ["25000001", "25000002", "25000003"]  # no hole left by the failure


@pytest.mark.committing
@pytest.mark.concurrency
@pytest.mark.parametrize("days", [("2025-04-01", "2025-04-01"), ("2025-04-01", "2025-04-02")])
def test_two_runs_started_at_once_invoice_each_collectivity_once(app, world, db_ctx, days):
    """Same slot (the claim lets one through) or two days of the same year (the run key does):
    three invoices, numbered without a hole."""
    from app.extensions import db
    from app.scheduling.services import claim_and_run

    Invoice = _invoices()
    barrier = threading.Barrier(len(days))
    outcomes: list = []
    errors: list = []

    def one(day: str) -> None:
        with app.app_context():
            try:
                barrier.wait()
                outcomes.append(
                    claim_and_run("billing-contributions", today=dt.date.fromisoformat(day))
                )
            except Exception as error:  # pragma: no cover - shown by the assertion
                errors.append(error)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=one, args=(day,)) for day in days]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    issued = sum(o.counts.get("factures émises", 0) for o in outcomes)
    assert issued == 3, [o.message for o in outcomes]
    assert all(o.error is None for o in outcomes), [o.message for o in outcomes]
    with db_ctx() as session:
        numbers = sorted(session.scalars(select(Invoice.number)))
    assert numbers == ["25000001", "25000002", "25000003"]


# -- the accounting screen ---------------------------------------------------------------------


def test_accounting_screen_dry_run_then_issue_then_result(world, users, login, db_ctx):
    web = login(users.comptabilite)
    page = text(web.get("/facturation/?run=contributions&periode=2025"))
    assert "Simulation : Cotisations annuelles" in page
    assert "10\u202f440,00" in page or "10 440,00" in page or "10\xa0440,00" in page
    assert "Aucune déclaration annuelle d'effectif pour 2025." in page
    assert "Bloquée" in page and "3 facture(s) à émettre" in page
    form = "/facturation/?run=contributions&periode=2025"
    unconfirmed = web.post_form(
        "/facturation/emettre",
        {"run": "contributions", "periode": "2025"},
        form_url=form,
        follow_redirects=True,
    )
    assert "Cochez la confirmation" in text(unconfirmed)
    assert _count_invoices(db_ctx) == 0
    issued = web.post_form(
        "/facturation/emettre",
        {"run": "contributions", "periode": "2025", "confirmation": "oui"},
        form_url=form,
        follow_redirects=True,
    )
    result = text(issued)
    assert issued.status_code == 200
    assert "Résultat de la facturation" in result and "factures émises : 3" in result
    assert "25000001" in result and "A Commune affiliée" in result
    assert _count_invoices(db_ctx) == 3
    again = text(web.get(form))
    assert "Déjà facturée" in again and "0 facture(s) à émettre" in again
    # A late declaration: a second « Émettre » of the same year bills it alone.
    with db_ctx() as session:
        from app.referential.models import Collectivity

        _headcount(session, session.get(Collectivity, world["silent"]), 2025, 10)
    late = web.post_form(
        "/facturation/emettre",
        {"run": "contributions", "periode": "2025", "confirmation": "oui"},
        form_url=form,
        follow_redirects=True,
    )
    assert "factures émises : 1" in text(late) and "déjà facturées : 3" in text(late)
    assert _count_invoices(db_ctx) == 4


def test_accounting_screen_refuses_a_bad_period_in_french(users, login):
    web = login(users.comptabilite)
    assert "Indiquez le semestre sous la forme AAAA-S1" in text(
        web.get("/facturation/?run=absences&periode=2025")
    )
    assert "Indiquez l'année sur 4 chiffres" in text(web.get("/facturation/?run=msc&periode=abc"))


def test_accounting_screen_is_staff_only(world, users, login, db_ctx):
    for user in (users.primary_a, users.secondary_a):
        web = login(user)
        assert web.get("/facturation/").status_code in (403, 404)
        assert web.get("/facturation/resultat?execution=1").status_code in (403, 404)
        issued = web.post_form(
            "/facturation/emettre",
            {"run": "contributions", "periode": "2025", "confirmation": "oui"},
            form_url="/compte/moi/",
        )
        assert issued.status_code in (403, 404)
    assert _count_invoices(db_ctx) == 0


# -- inspection (ACFI) -------------------------------------------------------------------------


def _acfi_plan(session, collectivity, volume, done, *, affiliated=True, amendment=None):
    from app.statutory.models import AcfiDay, AcfiDayStatus, AcfiPlan

    plan = AcfiPlan(
        collectivity_id=collectivity.id,
        year=2025,
        volume_days=Decimal(volume),
        headcount=120,
        affiliated=affiliated,
        amendment_reference=amendment,
    )
    session.add(plan)
    session.flush()
    for index, days in enumerate(done):
        session.add(
            AcfiDay(
                collectivity_id=collectivity.id,
                plan_id=plan.id,
                day_on=dt.date(2025, 3 + index, 10),
                days=Decimal(days),
                status=AcfiDayStatus.realise,
            )
        )
    # A planned day not done and a cancelled one are never billed.
    session.add(
        AcfiDay(
            collectivity_id=collectivity.id,
            plan_id=plan.id,
            day_on=dt.date(2025, 11, 10),
            days=Decimal("1"),
            status=AcfiDayStatus.planifie,
        )
    )
    session.add(
        AcfiDay(
            collectivity_id=collectivity.id,
            plan_id=plan.id,
            day_on=dt.date(2025, 12, 1),
            days=Decimal("1"),
            status=AcfiDayStatus.annule,
        )
    )


@pytest.fixture
def acfi(db_ctx):
    """DOMAIN.md §1 « Inspection (ACFI) »: 460 € per extra day up to +20 %, 530 € per day for a
    non-affiliated collectivity (tariffs 2025-2027, TASSIN-2024)."""
    with db_ctx() as session:
        extra = factories.make_collectivity(session, name="A Affiliée avec jours en plus")
        within = factories.make_collectivity(session, name="B Affiliée dans son volume")
        outside = factories.make_collectivity(
            session, name="C Non affiliée", category=TariffCategory.non_affiliee_moins_800
        )
        over = factories.make_collectivity(session, name="D Affiliée au-delà du plafond")
        amended = factories.make_collectivity(session, name="E Affiliée avec avenant")
        _acfi_plan(session, extra, "2.5", ["2", "1"])  # 3 days done: 0.5 extra (cap 0.5)
        _acfi_plan(session, within, "2", ["1", "0.5"])  # 1.5 days done: within the volume
        _acfi_plan(session, outside, "0", ["1", "0.5"], affiliated=False)  # 1.5 days x 530
        _acfi_plan(session, over, "2", ["2", "1"])  # 1 extra day > cap 0.4: amendment needed
        _acfi_plan(session, amended, "2", ["2", "1"], amendment="Avenant n° 1 du 02/06/2025")
        session.flush()
        return {
            "extra": extra.id,
            "within": within.id,
            "outside": outside.id,
            "over": over.id,
            "amended": amended.id,
        }


def test_acfi_run_bills_extra_days_and_non_affiliated_days_at_the_tariff(acfi, db_ctx):
    from app.scheduling.services import claim_and_run

    assert runs.period_for("acfi", dt.date(2026, 1, 15)) == runs.year_period(2025)
    with db_ctx():
        plan = runs.compute("acfi", runs.year_period(2025))
    rows = _by_id(plan)
    extra = rows[acfi["extra"]]
    assert extra.total == Decimal("230.00")  # 0.5 day x 460,00 €
    assert extra.lines[0].quantity == Decimal("0.5")
    assert "3 jours réalisés pour un volume annuel de 2,5 jours : 0,5 jour au-delà" in (
        extra.lines[0].source
    )
    assert "460,00" in extra.lines[0].source and "2025-2027" in extra.lines[0].source
    assert rows[acfi["within"]].status == "rien_a_facturer"
    outside = rows[acfi["outside"]]
    assert outside.total == Decimal("795.00")  # 1.5 days x 530,00 €
    assert "non affiliée" in outside.lines[0].label and "530,00" in outside.lines[0].source
    over = rows[acfi["over"]]
    assert over.status == "bloquee" and "avenant" in over.blocked[0]
    assert rows[acfi["amended"]].total == Decimal("460.00")  # 1 day x 460 with the amendment
    assert "Avenant n° 1" in rows[acfi["amended"]].lines[0].source

    with db_ctx():
        outcome = claim_and_run("billing-acfi", today=dt.date(2026, 1, 15))
    assert outcome.counts["factures émises"] == 3, outcome.message
    assert outcome.counts["collectivités bloquées"] == 1
    Invoice = _invoices()
    with db_ctx() as session:
        issued = {
            i.collectivity_id: i
            for i in session.scalars(select(Invoice).where(Invoice.run_key.like("acfi:2025:%")))
        }
    assert {cid: i.total for cid, i in issued.items()} == {
        acfi["extra"]: Decimal("230.00"),
        acfi["outside"]: Decimal("795.00"),
        acfi["amended"]: Decimal("460.00"),
    }
    assert all(
        i.label == "Prestations adhérent – inspection ACFI – année 2025" for i in issued.values()
    )
    with db_ctx():
        again = claim_and_run("billing-acfi", today=dt.date(2026, 1, 16))
    assert again.counts["déjà facturées"] == 3 and "factures émises" not in again.counts


def test_acfi_run_without_tariff_for_the_year_blocks_in_french(acfi, db_ctx):
    with db_ctx():
        plan = runs.compute("acfi", runs.year_period(2021))
    assert plan.plans == []  # no plan that year: nothing
    with db_ctx() as session:
        from app.statutory.models import AcfiPlan

        session.add(
            AcfiPlan(
                collectivity_id=acfi["extra"], year=2021, volume_days=Decimal("1"), affiliated=False
            )
        )
        session.flush()
        from app.statutory.models import AcfiDay, AcfiDayStatus

        plan_id = session.scalar(select(AcfiPlan.id).where(AcfiPlan.year == 2021))
        session.add(
            AcfiDay(
                collectivity_id=acfi["extra"],
                plan_id=plan_id,
                day_on=dt.date(2021, 5, 1),
                days=Decimal("1"),
                status=AcfiDayStatus.realise,
            )
        )
    with db_ctx():
        plan = runs.compute("acfi", runs.year_period(2021))
    [item] = plan.plans
    assert item.status == "bloquee" and "Aucun tarif" in item.blocked[0]


# -- legal advice flat fee ---------------------------------------------------------------------


def _legal_convention(session, collectivity, start, end):
    mission = session.scalar(select(Mission).where(Mission.code == "juridique"))
    session.add(
        Convention(
            collectivity_id=collectivity.id,
            mission_id=mission.id,
            number=f"CJ-{collectivity.id}-{factories._next()}",
            start_date=start,
            end_date=end,
        )
    )


def test_legal_advice_flat_fee_per_convention_and_tariff_period(db_ctx):
    """DOMAIN.md §1: 6 300 € per year from 2025 (6 000 € before), for a convention covering
    the year; no convention, no fee; issued once."""
    from app.scheduling.services import claim_and_run

    with db_ctx() as session:
        covered = factories.make_collectivity(session, name="A Commune conventionnée")
        started = factories.make_collectivity(session, name="B Convention en cours d'année")
        ended = factories.make_collectivity(session, name="C Convention terminée")
        _legal_convention(session, covered, dt.date(2024, 1, 1), dt.date(2026, 12, 31))
        _legal_convention(session, started, dt.date(2025, 6, 1), dt.date(2027, 12, 31))
        _legal_convention(session, ended, dt.date(2022, 1, 1), dt.date(2024, 12, 31))
        session.flush()
        ids = {"covered": covered.id, "started": started.id, "ended": ended.id}
    with db_ctx():
        plan_2025 = runs.compute("legal", runs.year_period(2025))
        plan_2024 = runs.compute("legal", runs.year_period(2024))
    rows = _by_id(plan_2025)
    assert set(rows) == {ids["covered"], ids["started"]}
    assert rows[ids["covered"]].total == Decimal("6300.00")
    assert rows[ids["started"]].total == Decimal("6300.00")
    assert "forfait annuel 6\u00a0300,00\u00a0€" in rows[ids["covered"]].lines[0].source
    old = _by_id(plan_2024)
    assert set(old) == {ids["covered"], ids["ended"]}
    assert old[ids["ended"]].total == Decimal("6000.00")  # the 2022-2024 tariff row
    with db_ctx():
        outcome = claim_and_run("billing-legal", today=dt.date(2025, 1, 20))
        again = claim_and_run("billing-legal", today=dt.date(2025, 2, 1))
    assert outcome.counts["factures émises"] == 2, outcome.message
    assert again.counts["déjà facturées"] == 2 and "factures émises" not in again.counts
    assert _count_invoices(db_ctx, "legal:2025:") == 2
