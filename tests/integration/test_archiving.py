"""Archiving days (issue 14, SPEC F6; DOMAIN.md §1 « Archiving: 315 € per day of intervention »):
the secretariat records the archivist's interventions, the ``archiving`` run bills the days
done at the tariff in force, only with an « archivage » convention, once."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from app.billing import runs
from app.billing.archiving import ArchivingIntervention, ArchivingStatus
from app.core import clock
from app.referential.models import Convention, Mission
from tests import factories
from tests.util import text

TODAY = dt.date(2026, 1, 10)


@pytest.fixture(autouse=True)
def frozen_clock(monkeypatch):
    monkeypatch.setattr(clock, "today", lambda: TODAY)


def _convention(session, collectivity, start=dt.date(2025, 1, 1), end=dt.date(2027, 12, 31)):
    mission = session.scalar(select(Mission).where(Mission.code == "archivage"))
    row = Convention(
        collectivity_id=collectivity.id,
        mission_id=mission.id,
        number=f"ARCH-{collectivity.id}-{factories._next()}",
        start_date=start,
        end_date=end,
    )
    session.add(row)
    session.flush()
    return row


def _add(web, collectivity_id, day, days="1", archivist="Mme GARNIER"):
    token = web.csrf_token("/archivage/")
    return web.post(
        "/archivage/intervention",
        data={
            "collectivity_id": collectivity_id,
            "day_on": day,
            "days": days,
            "archivist": archivist,
            "description": "Tri du fonds de l'état civil",
            "csrf_token": token,
        },
        follow_redirects=True,
    )


def _status(web, intervention_id, status):
    token = web.csrf_token("/archivage/?annee=2025")
    return web.post(
        f"/archivage/{intervention_id}/etat",
        data={"status": status, "csrf_token": token},
        follow_redirects=True,
    )


def _interventions(db_ctx, collectivity_id):
    with db_ctx() as session:
        return {
            (i.day_on, i.days): i.id
            for i in session.scalars(
                select(ArchivingIntervention).where(
                    ArchivingIntervention.collectivity_id == collectivity_id
                )
            )
        }


def _count_invoices(db_ctx, prefix):
    from app.billing.models import Invoice

    with db_ctx() as session:
        return session.scalar(
            select(func.count()).select_from(Invoice).where(Invoice.run_key.like(f"{prefix}%"))
        )


def test_done_days_are_billed_315_euros_a_day_once_and_planned_or_cancelled_never(
    users, login, db_ctx
):
    """2 + 0,5 days done, 1 day planned, 1 day cancelled: 2,5 x 315 = 787,50 €; a second run
    bills nothing; a billed intervention can no longer change."""
    from app.billing.models import Invoice
    from app.scheduling.services import claim_and_run

    with db_ctx() as session:
        commune = factories.make_collectivity(session, name="Commune Archivée")
        _convention(session, commune)
        cid = commune.id
    web = login(users.secretariat)
    for day, days in (("06/10/2025", "2"), ("07/11/2025", "0,5"), ("01/12/2025", "1")):
        assert "L'intervention d'archivage est planifiée" in text(_add(web, cid, day, days))
    assert "L'intervention d'archivage est planifiée" in text(_add(web, cid, "15/12/2025", "1"))
    ids = _interventions(db_ctx, cid)
    assert len(ids) == 4
    _status(web, ids[(dt.date(2025, 10, 6), Decimal(2))], "realise")
    _status(web, ids[(dt.date(2025, 11, 7), Decimal("0.5"))], "realise")
    _status(web, ids[(dt.date(2025, 12, 15), Decimal(1))], "annule")  # cancelled
    # 01/12/2025 stays planned.
    page = text(web.get("/archivage/?annee=2025"))
    assert "Réalisées : 2,5 j" in page and "planifiées : 1 j" in page and "annulées : 1 j" in page

    assert runs.period_for("archiving", dt.date(2026, 1, 15)) == runs.year_period(2025)
    with db_ctx():
        plan = runs.compute("archiving", runs.year_period(2025))
    [item] = plan.plans
    assert item.status == "a_facturer"
    assert item.total == Decimal("787.50")
    [line] = item.lines
    assert line.quantity == Decimal("2.5") and line.unit_price == Decimal("315.00")
    assert line.source.startswith("2,5 jours d'intervention d'archivage × 315,00\u00a0€ — tarif ")
    assert "Archivage – journée d'intervention" in line.source and "2025-2027" in line.source
    assert "Tassin" in line.source  # the tariff's source
    assert any("1 jour encore planifié" in note for note in item.notes)

    with db_ctx():
        outcome = claim_and_run("billing-archiving", today=dt.date(2026, 1, 15))
    assert outcome.counts["factures émises"] == 1, outcome.message
    with db_ctx() as session:
        invoice = session.scalar(
            select(Invoice)
            .where(Invoice.run_key.like("archiving:2025:%"))
            .options(selectinload(Invoice.lines))
        )
        assert invoice.total == Decimal("787.50")
        assert invoice.label == "Prestations adhérent – archivage – année 2025"
        assert [ln.amount for ln in invoice.lines] == [Decimal("787.50")]
        number = invoice.number
    with db_ctx():
        again = claim_and_run("billing-archiving", today=dt.date(2026, 1, 16))
    assert again.counts["déjà facturées"] == 1 and "factures émises" not in again.counts
    assert _count_invoices(db_ctx, "archiving:2025:") == 1

    # The year is billed: its interventions are frozen (a correction is a credit note).
    refused = text(_status(web, ids[(dt.date(2025, 12, 1), Decimal(1))], "realise"))
    assert f"déjà facturées (facture n° {number})" in refused
    with db_ctx() as session:
        still = session.get(ArchivingIntervention, ids[(dt.date(2025, 12, 1), Decimal(1))])
        assert still.status is ArchivingStatus.planifie


def test_without_an_archiving_convention_the_days_are_blocked_in_french(users, login, db_ctx):
    from app.scheduling.services import claim_and_run

    with db_ctx() as session:
        outside = factories.make_collectivity(session, name="Commune Sans Convention")
        expired = factories.make_collectivity(session, name="Commune Convention Échue")
        old = _convention(session, expired, dt.date(2025, 1, 1), dt.date(2027, 12, 31))
        for collectivity in (outside, expired):
            session.add(
                ArchivingIntervention(
                    collectivity_id=collectivity.id,
                    day_on=dt.date(2025, 3, 4),
                    days=Decimal("1.5"),
                    status=ArchivingStatus.realise,
                )
            )
        session.flush()
        old.start_date, old.end_date = dt.date(2022, 1, 1), dt.date(2024, 12, 31)  # ended
        ids = (outside.id, expired.id)
    # Recording an intervention without a convention is refused, nothing written.
    web = login(users.secretariat)
    refused = text(_add(web, ids[0], "05/05/2025"))
    assert "n'a pas de convention d'archivage en vigueur le 05/05/2025" in refused
    assert len(_interventions(db_ctx, ids[0])) == 1
    with db_ctx():
        plan = runs.compute("archiving", runs.year_period(2025))
    assert {p.collectivity_id for p in plan.plans} == set(ids)
    for item in plan.plans:
        assert item.status == "bloquee" and not item.lines
        assert item.blocked == [
            "Aucune convention d'archivage en vigueur en 2025 : les journées réalisées ne "
            "peuvent pas être facturées. Saisissez la convention (Adhérents › Conventions) "
            "avant de lancer la facturation."
        ]
    with db_ctx():
        outcome = claim_and_run("billing-archiving", today=dt.date(2026, 1, 15))
    assert outcome.counts["collectivités bloquées"] == 2
    assert "factures émises" not in outcome.counts
    assert _count_invoices(db_ctx, "archiving:") == 0
    # The accounting screen shows the blocked collectivities in the run chooser's dry run.
    page = text(login(users.comptabilite).get("/facturation/?run=archiving&periode=2025"))
    assert "Archivage : journées d'intervention réalisées" in page
    assert "Aucune convention d'archivage en vigueur en 2025" in page


def test_a_year_without_tariff_is_blocked(db_ctx):
    with db_ctx() as session:
        collectivity = factories.make_collectivity(session, name="Commune 2023")
        _convention(session, collectivity, dt.date(2023, 1, 1), dt.date(2025, 12, 31))
        session.add(
            ArchivingIntervention(
                collectivity_id=collectivity.id,
                day_on=dt.date(2023, 6, 1),
                days=Decimal(1),
                status=ArchivingStatus.realise,
            )
        )
    with db_ctx():
        [item] = runs.compute("archiving", runs.year_period(2023)).plans
    assert item.status == "bloquee" and "Aucun tarif « archiving_day »" in item.blocked[0]


@pytest.mark.parametrize("days", ["0", "0,3", "-1", "abc", "21", "NaN"])
def test_a_bad_duration_or_a_future_done_day_is_refused_in_french(users, login, db_ctx, days):
    with db_ctx() as session:
        commune = factories.make_collectivity(session, name="Commune Durées")
        _convention(session, commune)
        cid = commune.id
    web = login(users.secretariat)
    page = text(_add(web, cid, "06/10/2025", days))
    assert "demi-journées" in page or "Durée invalide" in page
    assert _interventions(db_ctx, cid) == {}
    assert "planifiée" in text(_add(web, cid, "20/02/2026", "1"))  # after TODAY
    [intervention_id] = _interventions(db_ctx, cid).values()
    refused = text(_status(web, intervention_id, "realise"))
    assert "L'intervention du 20/02/2026 n'a pas encore eu lieu" in refused


def test_an_employer_reads_only_its_own_interventions(users, login, db_ctx):
    with db_ctx() as session:
        for collectivity, marker in (
            (users.collectivity_a, "ALPHA"),
            (users.collectivity_b, "BETA"),
        ):
            session.add(
                ArchivingIntervention(
                    collectivity_id=collectivity.id,
                    day_on=dt.date(2025, 9, 1),
                    days=Decimal("2.5"),
                    archivist=f"Archiviste {marker}",
                    status=ArchivingStatus.realise,
                )
            )
    for user in (users.primary_a, users.secondary_a):
        page = text(login(user).get("/portail/archivage/"))
        assert "Archiviste ALPHA" in page and "Archiviste BETA" not in page
        assert "2,5 j" in page and "Enregistrer" not in page  # read only
    employer = login(users.primary_a)
    assert employer.get("/archivage/").status_code == 403
    with db_ctx() as session:
        other = session.scalar(
            select(ArchivingIntervention.id).where(
                ArchivingIntervention.collectivity_id == users.collectivity_b.id
            )
        )
    token = employer.csrf_token("/portail/documents/")
    assert (
        employer.post(f"/archivage/{other}/etat", data={"status": "annule", "csrf_token": token})
    ).status_code == 403
    # Direction reads the staff screen but has no form to change it.
    page = text(login(users.direction).get("/archivage/?annee=2025"))
    assert "Archiviste BETA" in page and "Planifier une intervention" not in page


def test_the_staff_list_has_a_constant_number_of_queries(users, login, db_ctx, count_queries):
    web = login(users.secretariat)

    def add(n):
        with db_ctx() as session:
            for _ in range(n):
                collectivity = factories.make_collectivity(session)
                session.add(
                    ArchivingIntervention(
                        collectivity_id=collectivity.id,
                        day_on=dt.date(2025, 4, 1),
                        days=Decimal(1),
                    )
                )

    add(1)
    web.get("/archivage/?annee=2025")
    with count_queries() as few:
        web.get("/archivage/?annee=2025")
    add(8)
    with count_queries() as many:
        web.get("/archivage/?annee=2025")
    assert many.count == few.count


def test_the_demo_has_done_planned_and_cancelled_interventions_billed_by_the_run(db_ctx):
    from app.demo import load_demo

    with db_ctx() as session:
        load_demo(session, scale=10, seed=3)
    with db_ctx() as session:
        counts = dict(
            session.execute(
                select(ArchivingIntervention.status, func.count()).group_by(
                    ArchivingIntervention.status
                )
            ).all()
        )
        assert counts[ArchivingStatus.realise] and counts[ArchivingStatus.planifie]
        assert counts[ArchivingStatus.annule]
        plan = runs.compute("archiving", runs.year_period(2025))
    assert len(plan.to_issue) == 3
    # 2,5 days in the autumn and 1 day on 29/12/2025 (12 days before the frozen today), done.
    assert {item.total for item in plan.to_issue} == {Decimal("1102.50")}


@pytest.mark.parametrize(
    ("day", "message"),
    [
        ("31/02/2025", "« 31/02/2025 » n'existe pas au calendrier"),
        ("", "Ce champ est obligatoire."),
        ("demain", "Date invalide : « demain »"),
    ],
)
def test_a_date_typed_wrong_is_shown_on_the_form_and_nothing_typed_is_lost(
    users, login, db_ctx, day, message
):
    with db_ctx() as session:
        commune = factories.make_collectivity(session, name="Commune Dates")
        _convention(session, commune)
        cid = commune.id
    web = login(users.secretariat)
    response = _add(web, cid, day, archivist="Mme FONTAINE")
    page = text(response)
    assert response.status_code == 400
    assert message in page.split("Planifier une intervention", 1)[1]  # under its field
    assert "est planifiée" not in page and _interventions(db_ctx, cid) == {}
    # what was typed is still there: the archivist, the description, the collectivity
    assert 'value="Mme FONTAINE"' in page and "Tri du fonds de l'état civil" in page
    assert f'<option selected value="{cid}">Commune Dates</option>' in page
