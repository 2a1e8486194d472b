"""A home page per role (SPEC H1): what each role finds on « / », in a constant number of
SQL statements."""

from __future__ import annotations

import re

from app import roles
from tests import factories, isolation
from tests.util import text


def _words(html: str) -> str:
    """The text of an HTML fragment as it reads: tags out, spaces collapsed."""
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def _plain(response) -> str:
    return _words(text(response))


def test_secretariat_home_shows_the_day_the_queue_and_unfilled_plages(db_ctx, login):
    with db_ctx() as session:
        world = isolation.build_world(session)
        session.commit()
    page = text(login(world.staff).get("/"))
    assert "Plages du jour" in page
    assert "demande" in page and "en attente" in page
    assert "Plages réservées incomplètes" in page


def test_health_accounting_and_direction_homes(db_ctx, login):
    with db_ctx() as session:
        health = factories.make_user(session, roles.SANTE, username="sante-accueil")
        accounting = factories.make_user(session, roles.COMPTABILITE, username="compta-accueil")
        director = factories.make_user(session, roles.DIRECTION, username="direction-accueil")
        session.commit()
    assert "Ma journée" in text(login(health).get("/"))
    page = text(login(accounting).get("/"))
    assert "Facturation" in page
    response = login(director).get("/")
    assert response.status_code == 302 and "/tableau-de-bord/" in response.location


def test_employer_home_shows_its_own_figures_only(db_ctx, login):
    with db_ctx() as session:
        world = isolation.build_world(session)
        session.commit()
    page = text(login(world.primary_a).get("/"))
    assert "Prochaines convocations" in page
    assert "fiche" in page and "demande" in page
    assert isolation.SECRET_B not in page
    assert isolation.CONFIDENTIAL_A not in page


def test_employer_home_counts_its_documents_and_invoices_to_pay(db_ctx, login):
    import datetime as dt
    from decimal import Decimal

    from app.billing.invoices import LineInput, issue_invoice

    with db_ctx() as session:
        world = isolation.build_world(session)
        session.commit()

    # A has two documents about its agents and one report on the whole collectivity, published
    # today; its cotisation invoice (1 044 €) is partly paid (44 €) and credited (100 €).
    page = _plain(login(world.primary_a).get("/"))
    assert "3 documents publiés depuis 30 jours – mes documents" in page
    assert "1 facture à payer (reste dû : 900,00 €) – factures" in page
    with db_ctx() as session:
        issue_invoice(
            collectivity_id=world.a.id,
            label="Facture de visites",
            lines=[LineInput("Visite", Decimal(1), Decimal("84.00"), Decimal("84.00"), "1 x 84")],
            run_key=None,
            issue_date=dt.date.today() - dt.timedelta(days=90),
        )
        session.commit()
    page = _plain(login(world.primary_a).get("/"))
    assert "2 factures à payer (reste dû : 984,00 €, dont 1 en retard)" in page
    # The secondary account: the document of its agent only, and no invoice line at all.
    page = _plain(login(world.secondary_a).get("/"))
    assert "1 document publié depuis 30 jours" in page
    assert "à payer" not in page and "reste dû" not in page


def test_home_pages_run_a_constant_number_of_statements(db_ctx, login, count_queries):
    with db_ctx() as session:
        world = isolation.build_world(session)
        accounting = factories.make_user(session, roles.COMPTABILITE, username="compta-compte")
        session.commit()
    counts = {}
    for user in (world.staff, world.primary_a, accounting):
        web = login(user)
        web.get("/")
        with count_queries() as first:
            web.get("/")
        with db_ctx() as session:
            factories.make_collectivity(session)
            session.commit()
        with count_queries() as second:
            web.get("/")
        counts[user.username] = (first.count, second.count)
    assert all(a == b <= 8 for a, b in counts.values()), counts


def test_accounting_home_counts_overdue_invoices(db_ctx, login):
    import datetime as dt
    from decimal import Decimal

    from app.billing.invoices import LineInput, issue_invoice

    with db_ctx() as session:
        accounting = factories.make_user(session, roles.COMPTABILITE, username="compta-retard")
        collectivity = factories.make_collectivity(session)
        session.commit()
    web = login(accounting)

    assert "0 facture en retard de paiement" in _plain(web.get("/"))
    with db_ctx() as session:
        for days in (90, 5):  # the second one is not due yet
            issue_invoice(
                collectivity_id=collectivity.id,
                label="Facture de visites",
                lines=[
                    LineInput("Visite", Decimal(1), Decimal("84.00"), Decimal("84.00"), "1 x 84")
                ],
                run_key=None,
                issue_date=dt.date.today() - dt.timedelta(days=days),
            )
        session.commit()
    page = _plain(web.get("/"))
    assert "1 facture en retard de paiement (reste dû : 84,00 €)" in page


def test_accounting_home_lists_each_runs_period_and_what_it_issued(db_ctx, login, monkeypatch):
    import datetime as dt
    from decimal import Decimal

    from app.billing.invoices import LineInput, issue_invoice
    from app.core import clock

    # 10 February 2027: this year's contributions are billed from 1 April (the declarations
    # are due on 31 March), so the contributions still to check are those of 2026.
    monkeypatch.setattr(clock, "today", lambda: dt.date(2027, 2, 10))
    with db_ctx() as session:
        accounting = factories.make_user(session, roles.COMPTABILITE, username="compta-runs")
        collectivity = factories.make_collectivity(session)
        session.commit()
    web = login(accounting)

    def runs(response):
        block = text(response).split('class="medprev-home-runs"', 1)[1].split("</ul>", 1)[0]
        return [_words(item) for item in block.split("<li>")[1:]]

    lines = runs(web.get("/"))
    assert len(lines) == 6
    assert lines[0].startswith("Cotisations annuelles")
    assert "année 2026 : aucune facture émise – simuler et émettre" in lines[0]
    assert "2e semestre 2026 : aucune facture émise" in lines[1]
    assert "année 2027 : aucune facture émise" in lines[4]  # legal: billed from 20 January
    with db_ctx() as session:
        issue_invoice(
            collectivity_id=collectivity.id,
            label="Cotisations",
            lines=[LineInput("Cotisation", Decimal(1), Decimal("84.00"), Decimal("84.00"), "1")],
            run_key=f"contributions:2026:{collectivity.id}",
            issue_date=dt.date(2027, 2, 1),
        )
        session.commit()
    page = web.get("/")
    assert "année 2026 : 1 facture émise – voir la simulation" in runs(page)[0]
    assert "facturation/?run=contributions&periode=2026" in text(page)


def test_demo_doctor_finds_its_day_and_the_employer_new_sheets(db_ctx, login, monkeypatch):
    import datetime as dt

    from sqlalchemy import select

    from app.accounts.services import hash_password
    from app.core import clock
    from app.demo import load_demo
    from app.models import User

    monkeypatch.setattr(clock, "today", lambda: dt.date(2026, 12, 3))  # a Thursday
    with db_ctx() as session:
        load_demo(session, scale=20, seed=3)
        doctor = session.scalars(select(User).where(User.username == "medecin")).one()
        employer = session.scalars(select(User).where(User.username == "rh1")).one()
        for user in (doctor, employer):  # the demo's password is random
            user.password = hash_password(factories.PASSWORD)
    page = text(login(doctor).get("/"))
    day = page.split("Ma journée", 1)[1]
    assert "Aucune plage à votre nom" not in day
    assert "Cabinet" in day
    sheets = text(login(employer).get("/")).split('class="medprev-home-sheets"', 1)[1]
    count = int(sheets.split("<strong>", 1)[1].split("</strong>", 1)[0])
    assert count > 0
