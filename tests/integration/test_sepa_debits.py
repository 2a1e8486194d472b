"""SEPA direct debit (issue 18): mandates, the pain.008 file, FRST then RCUR, no double debit."""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
from decimal import Decimal
from pathlib import Path

import pytest
import sepaxml
import xmlschema
from sqlalchemy import func, select

from app.billing.invoices import LineInput, issue_invoice, record_payment
from app.payments.models import MandateStatus, SepaDebit, SepaMandate
from tests import factories
from tests.util import text

D = Decimal
NS = {"p": "urn:iso:std:iso:20022:tech:xsd:pain.008.001.02"}
XSD = "pain.008.001.02.xsd"
IBAN = "FR7630006000011234567890189"
CREDITOR = {
    "CDG_NAME": "Centre de gestion du Rhône",
    "CDG_IBAN": "FR7630001007941234567890185",
    "CDG_BIC": "BDFEFRPPCCT",
    "SEPA_CREDITOR_ID": "FR78ZZZ123456",
}
ISSUED = dt.date(2026, 1, 15)  # due 30 days later: 14/02/2026
COLLECT = dt.date(2026, 2, 20)


@pytest.fixture
def creditor(app, monkeypatch):
    for key, value in CREDITOR.items():
        monkeypatch.setitem(app.config, key, value)


def _issue(collectivity_id: int, amount: str, on: dt.date = ISSUED):
    return issue_invoice(
        collectivity_id=collectivity_id,
        label="Cotisations 2026",
        lines=[
            LineInput(
                label="Cotisation",
                quantity=D("1"),
                unit_price=D(amount),
                amount=D(amount),
                source="forfait",
            )
        ],
        run_key=None,
        issue_date=on,
    )


def _mandate(session, collectivity, **overrides):
    values = {
        "collectivity_id": collectivity.id,
        "umr": f"CDG-{collectivity.id:06d}",
        "signed_on": dt.date(2025, 12, 1),
        "iban": IBAN,
        "bic": "AGRIFRPP",
        "debtor_name": collectivity.name,
        "status": MandateStatus.signe,
        **overrides,
    }
    mandate = SepaMandate(**values)
    session.add(mandate)
    session.flush()
    return mandate


def _build(app, on=COLLECT):
    from app.extensions import db
    from app.payments.service import build_debit_file

    with app.app_context():
        built = build_debit_file(
            on, today=dt.date(2026, 2, 1), created_by="compta", config=app.config
        )
        db.session.commit()
        return built


def _sequences(xml: bytes) -> dict[str, str]:
    """End-to-end id (invoice number) -> sequence type."""
    tree = ET.fromstring(xml)
    found = {}
    for info in tree.iterfind(".//p:PmtInf", NS):
        sequence = info.find(".//p:SeqTp", NS).text
        for tx in info.iterfind("p:DrctDbtTxInf", NS):
            found[tx.find(".//p:EndToEndId", NS).text] = sequence
    return found


def test_file_is_schema_valid_first_then_recurrent_and_never_debits_twice(app, db_ctx, creditor):
    with db_ctx() as session:
        tassin = factories.make_collectivity(session, name="Commune de Tassin")
        _mandate(session, tassin)
        first = _issue(tassin.id, "1000.00")
        record_payment(first.id, D("250.00"), dt.date(2026, 1, 30))
        not_due = _issue(tassin.id, "80.00", on=dt.date(2026, 2, 10))
        first_number, not_due_number = first.number, not_due.number
    built = _build(app)
    schema = xmlschema.XMLSchema(str(Path(sepaxml.__file__).parent / "schemas" / XSD))
    schema.validate(built.xml)
    assert built.count == 1 and built.total == D("750.00")
    assert _sequences(built.xml) == {first_number: "FRST"}
    tree = ET.fromstring(built.xml)
    assert tree.find(".//p:MndtId", NS).text == f"CDG-{tassin.id:06d}"
    assert tree.find(".//p:DbtrAcct//p:IBAN", NS).text == IBAN
    assert tree.find(".//p:InstdAmt", NS).text == "750.00"
    assert tree.find(".//p:CdtrSchmeId//p:Othr/p:Id", NS).text == "FR78ZZZ123456"
    assert tree.find(".//p:ReqdColltnDt", NS).text == "2026-02-20"

    # The same date again: nothing left (the invoice is recorded as debited).
    from app.payments.service import SepaFileError

    with pytest.raises(SepaFileError, match="Aucune facture à prélever"):
        _build(app)
    # Later, the invoice now due is collected as a recurrent debit.
    second = _build(app, on=dt.date(2026, 3, 20))
    assert _sequences(second.xml) == {not_due_number: "RCUR"}
    with db_ctx() as session:
        assert session.scalar(select(func.count(SepaDebit.id))) == 2
        debit = session.scalar(select(SepaDebit).where(SepaDebit.batch_id == built.batch_id))
        assert debit.amount == D("750.00") and debit.sequence.name == "FRST"


def test_revoked_mandate_lists_the_invoice_as_blocked(app, db_ctx, creditor):
    from app.payments.service import select_invoices

    with db_ctx() as session:
        revoked = factories.make_collectivity(session, name="Commune de Brindas")
        _mandate(session, revoked, status=MandateStatus.revoque)
        pending = factories.make_collectivity(session, name="Commune de Vaugneray")
        _mandate(session, pending, status=MandateStatus.en_attente, signed_on=None)
        none = factories.make_collectivity(session, name="Commune sans mandat")
        number = _issue(revoked.id, "300.00").number
        _issue(pending.id, "200.00")
        _issue(none.id, "100.00")
    with app.app_context():
        selection = select_invoices(COLLECT)
        assert selection.ready == []
        reasons = {b.number: (b.collectivity, b.reason) for b in selection.blocked}
    assert reasons[number] == ("Commune de Brindas", "mandat révoqué : à régler par virement")
    assert ("Commune de Vaugneray", "mandat en attente de signature") in reasons.values()
    assert len(reasons) == 2  # no mandate at all: paid by transfer, not listed


def test_missing_creditor_settings_and_past_dates_are_refused_in_french(app, db_ctx, monkeypatch):
    from app.payments.service import SepaFileError, build_debit_file

    monkeypatch.setitem(app.config, "CDG_IBAN", "")
    monkeypatch.setitem(app.config, "CDG_BIC", "")
    with app.app_context():
        with pytest.raises(SepaFileError, match="dans le passé"):
            build_debit_file(
                dt.date(2026, 1, 1), today=dt.date(2026, 2, 1), created_by="", config=app.config
            )
        with pytest.raises(SepaFileError, match="CDG_IBAN, CDG_BIC"):
            build_debit_file(COLLECT, today=dt.date(2026, 2, 1), created_by="", config=app.config)


def test_signed_mandate_gives_facturx_payment_means_59(app, db_ctx, creditor):
    from facturx import get_xml_from_pdf

    from app.einvoicing.facturx import facturx_pdf

    with db_ctx() as session:
        collectivity = factories.make_collectivity(session, siret="21690244800019")
        _mandate(session, collectivity)
        invoice_id = _issue(collectivity.id, "120.00").id
    with app.app_context():
        data, _ = facturx_pdf(invoice_id)
    _, xml = get_xml_from_pdf(data, check_xsd=True)
    assert b"<ram:TypeCode>59</ram:TypeCode>" in xml
    assert f"CDG-{collectivity.id:06d}".encode() in xml


def test_accounting_adds_a_mandate_with_french_errors_then_downloads_the_file(
    app, db_ctx, users, login, creditor
):
    web = login(users.comptabilite)
    page = web.get("/comptabilite/sepa/").get_data(as_text=True)
    assert "Mandats SEPA" in page and "Aucun mandat." in page
    form_url = "/comptabilite/sepa/mandat/nouveau"
    data = {
        "collectivity_id": str(users.collectivity_a.id),
        "umr": "CDG69-2026-0001",
        "signed_on": "",
        "iban": "FR76 3000 6000 0112 3456 7890 188",
        "bic": "AGRIFRPP",
        "debtor_name": "Commune A",
        "status": "signe",
    }
    response = web.post_form(form_url, data)
    assert response.status_code == 400
    text = response.get_data(as_text=True)
    assert "IBAN invalide : la clé de contrôle est fausse." in text
    assert 'value="CDG69-2026-0001"' in text  # the form is shown again as typed
    response = web.post_form(form_url, {**data, "iban": IBAN})
    assert "Un mandat signé doit porter sa date de signature." in response.get_data(as_text=True)
    with db_ctx() as session:
        assert session.scalar(select(func.count(SepaMandate.id))) == 0
    response = web.post_form(
        form_url, {**data, "iban": "fr76 3000 6000 0112 3456 7890 189", "signed_on": "01/12/2025"}
    )
    assert response.status_code == 302
    with db_ctx() as session:
        mandate = session.scalar(select(SepaMandate))
        assert mandate.iban == IBAN and mandate.signed_on == dt.date(2025, 12, 1)
        mandate_id = mandate.id
        invoice_number = _issue(users.collectivity_a.id, "168.00").number
    assert "FR76 3000 6000 0112 3456 7890 189" in web.get("/comptabilite/sepa/").get_data(
        as_text=True
    )
    edit = web.get(f"/comptabilite/sepa/mandat/{mandate_id}")
    assert edit.status_code == 200 and "CDG69-2026-0001" in edit.get_data(as_text=True)
    assert web.get("/comptabilite/sepa/mandat/999999").status_code == 404

    preview = web.get("/comptabilite/sepa/prelevements?date=20/02/2026").get_data(as_text=True)
    assert invoice_number in preview and "FRST" in preview
    from app.core import clock

    on = clock.today() + dt.timedelta(days=40)
    choose = f"/comptabilite/sepa/prelevements?date={on:%d/%m/%Y}"
    download = web.post_form(
        "/comptabilite/sepa/prelevements/fichier",
        {"date": on.strftime("%d/%m/%Y")},
        form_url=choose,
    )
    assert download.status_code == 200
    assert download.headers["Content-Type"].startswith("application/xml")
    assert invoice_number.encode() in download.data and b"<SeqTp>FRST</SeqTp>" in download.data
    again = web.post_form(
        "/comptabilite/sepa/prelevements/fichier",
        {"date": on.strftime("%d/%m/%Y")},
        form_url="/comptabilite/sepa/mandat/nouveau",
        follow_redirects=True,
    )
    assert "Aucune facture à prélever à cette date." in again.get_data(as_text=True)


def test_employer_sees_its_mandate_status_on_invoices_and_no_accounting_screen(
    db_ctx, users, login
):
    web_b = login(users.primary_b)
    assert "Aucun mandat de prélèvement : contactez le service comptabilité du CDG" in web_b.get(
        "/portail/factures/"
    ).get_data(as_text=True)
    with db_ctx() as session:
        _mandate(session, users.collectivity_a)
    web = login(users.primary_a)
    page = web.get("/portail/factures/").get_data(as_text=True)
    assert "Prélèvement SEPA : mandat signé le 01/12/2025, IBAN FR76 **** **** 0189" in page
    assert IBAN not in page
    # B still has none (A's mandate is not visible to B).
    assert "Aucun mandat de prélèvement" in web_b.get("/portail/factures/").get_data(as_text=True)
    for url in ("/comptabilite/sepa/", "/comptabilite/sepa/prelevements"):
        assert web.get(url).status_code in (302, 403)


def test_demo_data_gives_one_signed_and_one_pending_mandate(app, db_ctx):
    from app.demo import load_demo

    with db_ctx() as session:
        summary = load_demo(session, scale=20, seed=3)
        assert summary.get("mandats SEPA") == 2
        statuses = sorted(m.status.name for m in session.scalars(select(SepaMandate)))
        assert statuses == ["en_attente", "signe"]


def test_mandate_form_refuses_malformed_inputs_in_french_without_a_500(app, db_ctx, users, login):
    web = login(users.comptabilite)
    form_url = "/comptabilite/sepa/mandat/nouveau"
    good = {
        "collectivity_id": str(users.collectivity_a.id),
        "umr": "CDG69-2026-0002",
        "signed_on": "01/12/2025",
        "iban": IBAN,
        "bic": "AGRIFRPP",
        "debtor_name": "Commune A",
        "status": "signe",
    }
    cases = [
        ({"iban": "FR76 ABCD"}, "IBAN invalide : la clé de contrôle est fausse."),
        ({"iban": "x" * 10_000}, "Le champ ne peut pas contenir plus de 50 caractères."),
        ({"signed_on": ""}, "Un mandat signé doit porter sa date de signature."),
        (
            {"signed_on": "32/13/2026"},
            "Date impossible : « 32/13/2026 » n'existe pas au calendrier.",
        ),
        ({"signed_on": "9" * 5000}, "Date invalide : format attendu JJ/MM/AAAA."),
        ({"umr": "R" * 5000}, "Le champ ne peut pas contenir plus de 35 caractères."),
        ({"debtor_name": "N" * 5000}, "Le champ ne peut pas contenir plus de 70 caractères."),
        ({"bic": "B" * 5000}, "Le champ ne peut pas contenir plus de 15 caractères."),
        ({"collectivity_id": "abc"}, "Choisissez la collectivité."),
        ({"collectivity_id": "9" * 40}, "Choisissez la collectivité."),
        ({"status": "inconnu"}, "N'est pas un choix valide."),
    ]
    for change, expected in cases:
        response = web.post_form(form_url, {**good, **change})
        page = text(response)
        assert response.status_code == 400, (change, response.status_code)
        assert expected in page, (change, page[-2000:])
        for english in ("Field cannot be longer", "Not a valid", "Invalid Choice", "This field"):
            assert english not in page, (change, english)
    with db_ctx() as session:
        assert session.scalar(select(func.count(SepaMandate.id))) == 0


def test_mandate_form_searches_collectivities_when_there_are_thousands(
    app, db_ctx, users, login, monkeypatch
):
    from app.payments import views

    with db_ctx() as session:
        tassin = factories.make_collectivity(session, name="Commune de Tassin-la-Demi-Lune")
        factories.make_collectivity(session, name="Commune de Vaulx")
        tassin_id, siret = tassin.id, tassin.siret
    web = login(users.comptabilite)
    form_url = "/comptabilite/sepa/mandat/nouveau"
    small = text(web.get(form_url))
    assert "Commune de Vaulx" in small and "my_select2" in small
    # Beyond the full-list threshold (5 000 collectivities in production), the page holds no
    # option and select2 asks the server as the user types.
    monkeypatch.setattr(views, "FULL_LIST_MAX", 1)
    page = text(web.get(form_url))
    assert "Commune de Vaulx" not in page
    assert 'data-ajax--url="/comptabilite/sepa/collectivites"' in page
    found = web.get("/comptabilite/sepa/collectivites?q=tassin").get_json()
    assert found == {
        "results": [{"id": tassin_id, "text": f"Commune de Tassin-la-Demi-Lune ({siret})"}]
    }
    by_siret = web.get(f"/comptabilite/sepa/collectivites?q={siret[:9]}").get_json()
    assert [r["id"] for r in by_siret["results"]] == [tassin_id]
    assert web.get("/comptabilite/sepa/collectivites?q=t").get_json() == {"results": []}
    assert web.get("/comptabilite/sepa/collectivites?q=" + "%" * 500).status_code == 200
    # A refused form keeps the collectivity chosen (the only option in the page).
    response = web.post_form(
        form_url,
        {
            "collectivity_id": str(tassin_id),
            "umr": "CDG-TASSIN",
            "signed_on": "",
            "iban": IBAN,
            "bic": "AGRIFRPP",
            "debtor_name": "Tassin",
            "status": "signe",
        },
    )
    assert response.status_code == 400
    assert f'<option selected value="{tassin_id}">' in text(response) or (
        f'value="{tassin_id}" selected' in text(response)
    )
    assert login(users.primary_a).get("/comptabilite/sepa/collectivites?q=tassin").status_code in (
        302,
        403,
    )


def test_demo_data_imports_one_statement_with_exact_partial_and_unmatched_lines(app, db_ctx):
    from app.demo import load_demo
    from app.payments.models import BankStatement, BankStatementLine, MatchOutcome

    with db_ctx() as session:
        summary = load_demo(session, scale=20, seed=3)
        assert summary.get("relevés bancaires") == 1
        statement = session.scalar(select(BankStatement))
        assert (statement.line_count, statement.matched_count, statement.unmatched_count) == (
            3,
            2,
            1,
        )
        outcomes = [
            line.outcome
            for line in session.scalars(
                select(BankStatementLine).order_by(BankStatementLine.line_no)
            )
        ]
        assert outcomes == [MatchOutcome.exact, MatchOutcome.partial, MatchOutcome.unmatched]
