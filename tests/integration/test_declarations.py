"""Annual declaration (SPEC F1, G4; CONTRACT.md §1 ``flask billing declare``, §2 ``declaration``;
SSTRN-EXTRANET « La Déclaration annuelle obligatoire ») and tariffs by period (F2)."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from app.core import clock
from app.core.audit import AuditLog
from app.core.mail import outbox_entries
from app.referential.models import Tariff
from app.rules.errors import DomainError
from app.workforce.models import DeclarationReminder, Headcount
from tests.integration.test_workforce import _contract, _position
from tests.isolation import make_agent
from tests.util import text

TODAY = dt.date(2026, 3, 10)
API = "/api/v1/declaration/"
PORTAL = "/portail/declarations/"


@pytest.fixture(autouse=True)
def frozen_clock(monkeypatch):
    monkeypatch.setattr(clock, "now_local", lambda: dt.datetime.combine(TODAY, dt.time(9, 0)))
    monkeypatch.setattr(clock, "today", lambda: TODAY)


@pytest.fixture
def agents(db_ctx, users):
    """A: 3 agents in activity on 01/01/2026 (2 titulaires, 1 contractuel), one who left in
    2025 (titulaire until 30/06/2025) and one hired in February 2026."""
    with db_ctx() as session:
        a = users.collectivity_a
        position = _position(session, a, "AGENT D'ENTRETIEN", "684a")
        for kind in ("titulaire", "titulaire", "contractuel"):
            _contract(session, make_agent(session, a), position, kind=kind)
        _contract(session, make_agent(session, a), position, end=dt.date(2025, 6, 30))
        _contract(session, make_agent(session, a), position, start=dt.date(2026, 2, 1))


def _count(db_ctx, model=Headcount):
    with db_ctx() as session:
        return session.scalar(select(func.count()).select_from(model))


def _declare(web, **overrides):
    data = {
        "year": "2026",
        "headcount": "3",
        "permanent_headcount": "2",
        "payroll": "3 000 000,00",
        **overrides,
    }
    return web.post_form(PORTAL, data, follow_redirects=True)


# -- Employer screen ----------------------------------------------------------------------------


def test_the_form_is_prefilled_from_the_agents_and_the_banner_shows_until_declared(
    agents, users, login, db_ctx
):
    web = login(users.primary_a)
    home = text(web.get("/"))
    assert "Votre déclaration annuelle 2026 est à réaliser avant le 31/03/2026" in home
    page = text(web.get(PORTAL))
    assert 'name="headcount" type="text" value="3"' in page or 'value="3"' in page
    assert "3 agent(s) en activité au 01/01/2026, dont 2 sur emploi permanent" in page
    done = text(_declare(web))
    assert "Déclaration 2026 validée le 10/03/2026" in done
    assert "modifier jusqu'au 17/03/2026" in done
    with db_ctx() as session:
        row = session.scalar(select(Headcount).where(Headcount.year == 2026))
        assert (row.headcount, row.permanent_headcount) == (3, 2)
        assert row.payroll == Decimal("3000000.00")
        assert row.validated_at is not None and row.validated_by_id == users.primary_a.id
    assert "Votre déclaration annuelle 2026" not in text(web.get("/"))
    listing = text(web.get(PORTAL))
    assert "3 000 000,00" in listing and "Modifier" in listing


def test_a_figure_different_from_the_count_is_accepted_with_a_warning(agents, users, login):
    page = text(_declare(login(users.primary_a), headcount="5"))
    assert "Déclaration 2026 validée" in page
    assert "déclaré (5) diffère du nombre d'agents enregistrés (3)" in page


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"headcount": "-1"}, "ne peut pas être négatif"),
        ({"permanent_headcount": "-2"}, "ne peut pas être négatif"),
        ({"payroll": "-10,00"}, "ne peut pas être négative"),
        ({"payroll": "beaucoup"}, "Masse salariale invalide"),
        ({"year": "2027"}, "L'année 2027 est dans le futur"),
        ({"year": "2025"}, "Déclarez d'abord l'année en cours (2026)"),
    ],
)
def test_bad_input_on_the_screen_writes_nothing(agents, users, login, db_ctx, overrides, message):
    before = _count(db_ctx)
    page = _declare(login(users.primary_a), **overrides)
    assert page.status_code == 200
    assert message in text(page)
    assert _count(db_ctx) == before


def test_a_second_declaration_of_the_year_is_refused(agents, users, login, db_ctx):
    web = login(users.primary_a)
    _declare(web)
    page = text(_declare(web, headcount="4"))
    assert "La déclaration de l'année 2026 a déjà été faite" in page
    with db_ctx() as session:
        assert session.scalar(select(Headcount.headcount).where(Headcount.year == 2026)) == 3


def test_a_missed_year_is_declared_after_the_current_one(agents, users, login, db_ctx):
    web = login(users.primary_a)
    _declare(web)
    page = text(_declare(web, year="2025", headcount="4", permanent_headcount="3"))
    assert "Déclaration 2025 validée" in page
    assert _count(db_ctx) == 2


def test_edit_within_7_days_then_locked_with_the_date_shown(
    agents, users, login, db_ctx, monkeypatch
):
    web = login(users.primary_a)
    _declare(web)
    with db_ctx() as session:
        pk = session.scalar(select(Headcount.id).where(Headcount.year == 2026))
    edit = f"{PORTAL}{pk}/modifier"
    changed = web.post_form(
        edit,
        {"year": "2026", "headcount": "4", "permanent_headcount": "2", "payroll": "3100000"},
        follow_redirects=True,
    )
    assert "Déclaration 2026 modifiée" in text(changed)
    # Eight days later (17/03 + 1): locked.
    later = dt.date(2026, 3, 18)
    monkeypatch.setattr(clock, "today", lambda: later)
    listing = text(web.get(PORTAL))
    assert "Verrouillée depuis le 18/03/2026" in listing
    token = web.csrf_token(PORTAL)
    refused = web.post(
        edit,
        data={
            "csrf_token": token,
            "year": "2026",
            "headcount": "9",
            "permanent_headcount": "2",
            "payroll": "1",
        },
    )
    assert "n'est plus modifiable depuis le 18/03/2026" in text(refused)
    with db_ctx() as session:
        row = session.get(Headcount, pk)
        assert row.headcount == 4 and row.payroll == Decimal("3100000.00")


def test_staff_reopen_with_a_reason_audited_then_the_employer_edits(
    agents, users, login, db_ctx, monkeypatch
):
    web = login(users.primary_a)
    _declare(web)
    with db_ctx() as session:
        pk = session.scalar(select(Headcount.id).where(Headcount.year == 2026))
    monkeypatch.setattr(clock, "today", lambda: dt.date(2026, 4, 20))
    staff = login(users.secretariat)
    assert "Rouvrir la déclaration" in text(staff.get(f"/effectifs/show/{pk}"))
    url = f"/effectifs/{pk}/rouvrir"
    empty = staff.post_form(url, {"reason": "  "})
    assert "Indiquez le motif de la réouverture" in text(empty)
    done = staff.post_form(url, {"reason": "Erreur sur l'effectif signalée"}, follow_redirects=True)
    assert "Déclaration 2026 rouverte" in text(done)
    with db_ctx() as session:
        assert session.get(Headcount, pk).reopened_reason == "Erreur sur l'effectif signalée"
        logged = session.scalars(
            select(AuditLog).where(AuditLog.table_name == "headcount", AuditLog.row_id == str(pk))
        ).all()
        assert any("reopened_reason" in (entry.changes or {}) for entry in logged)
    # The employer cannot reopen; he edits the reopened declaration.
    assert web.post_form(url, {"reason": "x"}, form_url=PORTAL).status_code in (403, 404, 302)
    changed = web.post_form(
        f"{PORTAL}{pk}/modifier",
        {"year": "2026", "headcount": "6", "permanent_headcount": "2", "payroll": "3 000 000"},
        follow_redirects=True,
    )
    assert "Déclaration 2026 modifiée" in text(changed)
    with db_ctx() as session:
        row = session.get(Headcount, pk)
        assert row.headcount == 6 and row.reopened_at is None
        assert row.declared_on == dt.date(2026, 4, 20)


def test_a_secondary_account_neither_declares_nor_sees_the_declarations(
    agents, users, login, api_login
):
    secondary = login(users.secondary_a)
    assert secondary.get(PORTAL).status_code in (302, 403, 404)
    assert "Votre déclaration annuelle" not in text(secondary.get("/"))
    api = api_login(users.secondary_a)
    assert api.get(API).status_code in (401, 403)


def test_effectifs_shows_the_declared_history(agents, users, login):
    web = login(users.primary_a)
    _declare(web)
    _declare(web, year="2025", headcount="4", permanent_headcount="3", payroll="2900000")
    page = re.sub(r"\s+", " ", text(web.get("/effectifs/list/")))
    assert "2026" in page and "2025" in page
    assert "Masse salariale" in page
    secondary = re.sub(r"\s+", " ", text(login(users.secondary_a).get("/effectifs/list/")))
    assert "2026" in secondary and "Masse salariale" not in secondary


# -- REST API ----------------------------------------------------------------------------------


def test_api_declares_reads_and_refuses_bad_input(agents, users, api_login, db_ctx):
    api = api_login(users.primary_a)
    created = api.post(
        API,
        json={"year": 2026, "headcount": 3, "permanent_headcount": 2, "payroll": "3 000 000,00"},
    )
    assert created.status_code == 201, created.get_json()
    result = created.get_json()["result"]
    assert result["payroll"] == "3000000.00" and result["validated_on"] == "2026-03-10"
    assert result["collectivity_id"] == users.collectivity_a.id
    again = api.post(
        API, json={"year": 2026, "headcount": 3, "permanent_headcount": 2, "payroll": "1"}
    )
    assert again.status_code == 400 and "déjà été faite" in again.get_json()["message"]
    for payload, message in [
        ({"year": 2030, "headcount": 1, "permanent_headcount": 1, "payroll": 1}, "futur"),
        ({"year": 2026, "headcount": -1, "permanent_headcount": 1, "payroll": 1}, "négatif"),
        ({"year": 2026, "headcount": 1, "permanent_headcount": 1, "payroll": -1}, "négative"),
        ({"year": 2026, "headcount": 1, "bogus": 1}, "non modifiables"),
    ]:
        refused = api.post(API, json=payload)
        assert refused.status_code == 400 and message in refused.get_json()["message"]
    assert _count(db_ctx) == 1
    listing = api.get(API).get_json()
    assert [row["year"] for row in listing["result"]] == [2026]
    assert listing["label_columns"]["payroll"] == "Masse salariale"
    pk = result["id"]
    assert api.put(f"{API}{pk}", json={"headcount": 4}).get_json()["result"]["headcount"] == 4
    # B's primary account never reaches A's declaration.
    other = api_login(users.primary_b)
    assert other.get(f"{API}{pk}").status_code == 404
    assert other.put(f"{API}{pk}", json={"headcount": 1}).status_code == 404
    assert other.get(API).get_json()["result"] == []
    forged = other.post(
        API,
        json={
            "collectivity_id": users.collectivity_a.id,
            "year": 2026,
            "headcount": 1,
            "permanent_headcount": 1,
            "payroll": 1,
        },
    )
    assert forged.status_code == 404


def test_api_edit_after_7_days_is_refused(agents, users, api_login, monkeypatch):
    api = api_login(users.primary_a)
    pk = api.post(
        API, json={"year": 2026, "headcount": 3, "permanent_headcount": 2, "payroll": 10}
    ).get_json()["id"]
    monkeypatch.setattr(clock, "today", lambda: dt.date(2026, 3, 18))
    refused = api.put(f"{API}{pk}", json={"headcount": 9})
    assert refused.status_code == 400
    assert "n'est plus modifiable depuis le 18/03/2026" in refused.get_json()["message"]


def test_staff_read_every_declaration_and_accounting_cannot_write(agents, users, api_login):
    api_login(users.primary_a).post(
        API, json={"year": 2026, "headcount": 3, "permanent_headcount": 2, "payroll": 10}
    )
    assert len(api_login(users.comptabilite).get(API).get_json()["result"]) == 1
    refused = api_login(users.comptabilite).post(
        API,
        json={
            "collectivity_id": users.collectivity_b.id,
            "year": 2026,
            "headcount": 3,
            "permanent_headcount": 2,
            "payroll": 10,
        },
    )
    assert refused.status_code in (401, 403)


# -- Command line ------------------------------------------------------------------------------


def test_cli_declare_as_the_contract_says(agents, users, cli, db_ctx):
    siret = users.collectivity_a.siret
    args = ["billing", "declare", "--collectivity", siret, "--year", "2026"]
    result = cli.invoke(
        args=[*args, "--headcount", "3", "--permanent", "2", "--payroll", "3 000 000,00"]
    )
    assert result.exit_code == 0, result.output
    assert "Déclaration 2026 validée le 10/03/2026" in result.output
    with db_ctx() as session:
        row = session.scalar(select(Headcount).where(Headcount.year == 2026))
        assert row.payroll == Decimal("3000000.00") and row.validated_at is not None
    again = cli.invoke(args=[*args, "--headcount", "3", "--permanent", "2", "--payroll", "1"])
    assert again.exit_code == 1 and "déjà été faite" in again.output
    for extra, message in [
        (["--headcount", "-3", "--permanent", "2", "--payroll", "1"], "négatif"),
        (["--headcount", "3", "--permanent", "2", "--payroll", "-1"], "négative"),
    ]:
        refused = cli.invoke(args=[*args[:-1], "2025", *extra])
        assert refused.exit_code == 1 and message in refused.output
    future = cli.invoke(
        args=[*args[:-1], "2031", "--headcount", "1", "--permanent", "1", "--payroll", "1"]
    )
    assert future.exit_code == 1 and "futur" in future.output
    unknown = cli.invoke(
        args=["billing", "declare", "--collectivity", "21690123100011", "--year", "2026"]
        + ["--headcount", "1", "--permanent", "1", "--payroll", "1"]
    )
    assert unknown.exit_code == 1
    assert _count(db_ctx) == 1


# -- Reminders ---------------------------------------------------------------------------------


def test_reminders_from_1_march_once_per_collectivity_and_year(users, db_ctx, app):
    from app.billing.declarations import send_reminders

    with db_ctx() as session:
        a = session.get(type(users.collectivity_a), users.collectivity_a.id)
        b = session.get(type(users.collectivity_b), users.collectivity_b.id)
        a.email, b.email = "rh-a@example.fr", "rh-b@example.fr"
        session.add(
            Headcount(collectivity_id=b.id, year=2026, headcount=1, declared_on=dt.date(2026, 2, 2))
        )
    with db_ctx():
        assert send_reminders(dt.date(2026, 2, 28)) == 0
    with db_ctx():
        first = send_reminders(dt.date(2026, 3, 1))
    with db_ctx():
        second = send_reminders(dt.date(2026, 3, 8))
    assert second == 0 and first >= 1
    with app.app_context():
        entries = outbox_entries()
    mails = [m for m in entries if m.subject.startswith("Déclaration annuelle 2026")]
    recipients = " ".join(m.to for m in mails)
    assert "rh-a@example.fr" in recipients and "rh-b@example.fr" not in recipients
    assert len([m for m in mails if "rh-a@example.fr" in m.to]) == 1
    assert _count(db_ctx, DeclarationReminder) == first


def test_the_reminders_job_has_a_declarations_step(users, db_ctx, cli):
    with db_ctx() as session:
        session.get(type(users.collectivity_a), users.collectivity_a.id).email = "rh@example.fr"
    result = cli.invoke(args=["jobs", "run", "reminders", "--date", "2026-03-02"])
    assert result.exit_code == 0, result.output
    assert "relances de déclaration annuelle" in result.output
    again = cli.invoke(args=["jobs", "run", "reminders", "--date", "2026-03-03"])
    assert again.exit_code == 0
    assert _count(db_ctx, DeclarationReminder) >= 1
    with db_ctx() as session:
        reminded = session.scalars(select(DeclarationReminder.collectivity_id)).all()
        assert len(reminded) == len(set(reminded))


# -- Tariffs (F2) --------------------------------------------------------------------------------


def test_tariff_on_returns_the_row_in_force_that_year(app, db_ctx):
    """DOMAIN.md §1: an affiliated collectivity pays 80 € per agent in 2024, 87 € in 2025."""
    from app.billing.tariffs import tariff_on

    with db_ctx():
        assert tariff_on("medprev_unit_cost", "affiliee", dt.date(2024, 6, 1)).value == 80
        row = tariff_on("medprev_unit_cost", "affiliee", dt.date(2025, 1, 1))
        assert row.value == 87 and row.source
        with pytest.raises(DomainError) as missing:
            tariff_on("medprev_unit_cost", "affiliee", dt.date(2031, 1, 1))
        assert "Aucun tarif" in missing.value.message
        assert "en vigueur le 01/01/2031" in missing.value.message


def test_the_tariff_screen_refuses_an_overlapping_period(users, login, db_ctx):
    web = login(users.admin)
    listing = text(web.get("/tariffview/list/"))
    assert "Source" in listing or "Tarifs par période" in listing
    before = _count(db_ctx, Tariff)
    page = web.post_form(
        "/tariffview/add",
        {
            "code": "medprev_unit_cost",
            "key": "affiliee",
            "label": "Médecine préventive – collectivité affiliée",
            "value": "90",
            "unit": "€ par agent et par an",
            "valid_from": "01/01/2027",
            "valid_to": "31/12/2029",
            "source": "Délibération test",
        },
    )
    assert "Un tarif de même code existe déjà sur cette période" in text(page)
    assert _count(db_ctx, Tariff) == before
    ok = web.post_form(
        "/tariffview/add",
        {
            "code": "medprev_unit_cost",
            "key": "affiliee",
            "label": "Médecine préventive – collectivité affiliée",
            "value": "90",
            "unit": "€ par agent et par an",
            "valid_from": "01/01/2028",
            "valid_to": "",
            "source": "Délibération test",
        },
        form_url="/tariffview/add",
    )
    assert ok.status_code in (200, 302)


def test_staff_record_a_declaration_in_effectifs_with_a_french_payroll(users, login, db_ctx):
    web = login(users.secretariat)
    page = web.post_form(
        "/effectifs/add",
        {
            "collectivity": str(users.collectivity_b.id),
            "year": "2026",
            "headcount": "40",
            "permanent_headcount": "35",
            "payroll": "1 200 000,50",
            "declared_on": "01/03/2026",
            "note": "",
        },
    )
    assert page.status_code in (200, 302)
    with db_ctx() as session:
        row = session.scalar(
            select(Headcount).where(Headcount.collectivity_id == users.collectivity_b.id)
        )
        assert row is not None and row.payroll == Decimal("1200000.50")


def test_staff_cannot_record_a_negative_payroll(users, login, db_ctx):
    before = _count(db_ctx)
    page = login(users.secretariat).post_form(
        "/effectifs/add",
        {
            "collectivity": str(users.collectivity_b.id),
            "year": "2026",
            "headcount": "40",
            "permanent_headcount": "35",
            "payroll": "-5,00",
            "declared_on": "01/03/2026",
        },
    )
    assert "La masse salariale ne peut pas être négative" in text(page)
    assert _count(db_ctx) == before
