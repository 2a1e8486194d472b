"""Invoices, credit notes and payments (SPEC F7, DOMAIN.md §7): numbering, PDFs, screens, API."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from app.billing.invoices import (
    AlreadyIssued,
    LineInput,
    credit_note,
    issue_invoice,
    record_payment,
)
from app.billing.models import Invoice, InvoiceKind, InvoiceStatus, Payment
from app.rules.errors import DomainError
from tests import factories

D = Decimal


def _line(
    amount: str = "34632.00", label: str = "Cotisation médecine préventive 2026"
) -> LineInput:
    return LineInput(
        label=label,
        quantity=D("333"),
        unit_price=D("104.00"),
        amount=D(amount),
        source="333 agents déclarés au 01/01/2026 x 104,00 € — tarif MEDPREV 2025-2027 "
        "non affiliée < 800",
    )


def _issue(
    collectivity_id: int,
    *,
    on: dt.date = dt.date(2026, 1, 15),
    key: str | None = None,
    amount: str = "34632.00",
    label: str = "Cotisations 2026",
) -> Invoice:
    return issue_invoice(
        collectivity_id=collectivity_id,
        label=label,
        lines=[_line(amount)],
        run_key=key,
        issue_date=on,
    )


# ----------------------------------------------------------------------------------------------
# Numbering
# ----------------------------------------------------------------------------------------------


def test_numbers_are_gapless_per_year_and_due_in_30_days(db_ctx):
    with db_ctx() as session:
        collectivity = factories.make_collectivity(session)
        first = _issue(collectivity.id)
        second = _issue(collectivity.id, on=dt.date(2026, 12, 31))
        next_year = _issue(collectivity.id, on=dt.date(2027, 1, 2))
        third = _issue(collectivity.id, on=dt.date(2026, 6, 1))
        assert [first.number, second.number, third.number] == ["26000001", "26000002", "26000003"]
        assert next_year.number == "27000001"
        assert first.due_date == dt.date(2026, 2, 14)
        assert first.total == D("34632.00")
        assert first.lines[0].source.startswith("333 agents déclarés au 01/01/2026")


def test_same_run_key_twice_is_refused_and_leaves_no_hole(db_ctx):
    with db_ctx() as session:
        collectivity = factories.make_collectivity(session)
        _issue(collectivity.id, key=f"contributions:2026:{collectivity.id}")
        with pytest.raises(AlreadyIssued) as error:
            _issue(collectivity.id, key=f"contributions:2026:{collectivity.id}")
        assert "déjà été émise" in error.value.message
        again = _issue(collectivity.id, key=f"absences:2026-S1:{collectivity.id}")
        assert again.number == "26000002"


def test_a_rolled_back_invoice_gives_its_number_back(db_ctx):
    with db_ctx() as session:
        collectivity = factories.make_collectivity(session)
        _issue(collectivity.id)
        nested = session.begin_nested()
        _issue(collectivity.id)
        nested.rollback()
        assert _issue(collectivity.id).number == "26000002"


def test_a_batch_draws_consecutive_numbers_and_refuses_an_existing_key(db_ctx):
    from app.billing.invoices import InvoiceInput, issue_invoices

    with db_ctx() as session:
        first = factories.make_collectivity(session)
        second = factories.make_collectivity(session)
        _issue(first.id)
        batch = issue_invoices(
            [
                InvoiceInput(
                    first.id, "Cotisations 2026", [_line()], f"contributions:2026:{first.id}"
                ),
                InvoiceInput(
                    second.id, "Cotisations 2026", [_line()], f"contributions:2026:{second.id}"
                ),
            ],
            issue_date=dt.date(2026, 3, 2),
        )
        assert [i.number for i in batch] == ["26000002", "26000003"]
        assert batch[1].lines[0].collectivity_id == second.id
        with pytest.raises(AlreadyIssued):
            issue_invoices(
                [InvoiceInput(second.id, "X", [_line()], f"contributions:2026:{second.id}")],
                issue_date=dt.date(2026, 3, 2),
            )
        assert _issue(second.id).number == "26000004"


def test_an_empty_or_negative_invoice_is_refused(db_ctx):
    with db_ctx() as session:
        collectivity = factories.make_collectivity(session)
        with pytest.raises(DomainError, match="au moins une ligne"):
            issue_invoice(
                collectivity_id=collectivity.id,
                label="X",
                lines=[],
                run_key=None,
                issue_date=dt.date(2026, 1, 1),
            )
        with pytest.raises(DomainError, match="émettez un avoir"):
            _issue(collectivity.id, amount="-10.00")
        assert session.scalar(select(func.count(Invoice.id))) == 0


# ----------------------------------------------------------------------------------------------
# Credit notes and payments
# ----------------------------------------------------------------------------------------------


def test_credit_note_has_its_own_number_negative_lines_and_a_link(db_ctx):
    with db_ctx() as session:
        collectivity = factories.make_collectivity(session)
        invoice = _issue(collectivity.id, amount="1000.00")
        note = credit_note(
            invoice.id,
            amount=D("400.00"),
            reason="Effectif corrigé",
            issue_date=dt.date(2026, 2, 1),
        )
        assert note.number == "26000002"
        assert note.kind is InvoiceKind.avoir
        assert note.credit_for_id == invoice.id
        assert note.total == D("-400.00")
        assert [line.amount for line in note.lines] == [D("-400.00")]
        assert invoice.remaining == D("600.00")
        assert invoice.status is InvoiceStatus.emise


def test_credit_note_above_the_remaining_amount_is_refused_in_french(db_ctx):
    with db_ctx() as session:
        collectivity = factories.make_collectivity(session)
        invoice = _issue(collectivity.id, amount="1000.00")
        record_payment(invoice.id, D("700.00"), dt.date(2026, 1, 20), "VIR 123")
        with pytest.raises(DomainError) as error:
            credit_note(invoice.id, amount=D("300.01"), reason="Erreur")
        assert "dépasse le reste dû" in error.value.message
        assert session.scalar(select(func.count(Invoice.id))) == 1


def test_full_credit_cancels_and_payment_on_a_cancelled_invoice_is_refused(db_ctx):
    with db_ctx() as session:
        collectivity = factories.make_collectivity(session)
        invoice = _issue(collectivity.id, amount="250.00")
        credit_note(invoice.id, amount=D("250.00"), reason="Facture émise à tort")
        assert invoice.status is InvoiceStatus.annulee
        with pytest.raises(DomainError) as error:
            record_payment(invoice.id, D("10.00"), dt.date(2026, 1, 20))
        assert "annulée" in error.value.message
        assert session.scalar(select(func.count(Payment.id))) == 0


def test_partial_then_full_payment(db_ctx):
    with db_ctx() as session:
        collectivity = factories.make_collectivity(session)
        invoice = _issue(collectivity.id, amount="1000.00")
        record_payment(invoice.id, D("400.00"), dt.date(2026, 1, 20), "VIR 1")
        assert invoice.status is InvoiceStatus.partiellement_payee
        with pytest.raises(DomainError, match="dépasse le reste dû"):
            record_payment(invoice.id, D("600.01"), dt.date(2026, 1, 21))
        record_payment(invoice.id, D("600.00"), dt.date(2026, 1, 21), "VIR 2")
        assert invoice.status is InvoiceStatus.payee
        assert invoice.paid_amount == D("1000.00")


@pytest.mark.committing
def test_two_threads_issuing_at_once_draw_gapless_distinct_numbers(app, db_ctx):
    import threading

    from app.core.sqlite import write_transactions
    from app.extensions import db

    per_thread = 15
    with db_ctx() as session:
        collectivity_id = factories.make_collectivity(session, name="Commune Concurrente").id
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def worker(index: int) -> None:
        try:
            with app.app_context(), write_transactions():
                barrier.wait()
                for n in range(per_thread):
                    _issue(collectivity_id, key=f"test:{index}:{n}", on=dt.date(2026, 3, 1))
                    db.session.commit()
                barrier.wait()
                # The same keys again from the other side: refused, nothing drawn.
                for n in range(3):
                    try:
                        _issue(collectivity_id, key=f"test:{1 - index}:{n}", on=dt.date(2026, 3, 1))
                    except AlreadyIssued:
                        db.session.rollback()
                db.session.remove()
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    with db_ctx() as session:
        numbers = sorted(session.scalars(select(Invoice.number)))
    assert numbers == [f"26{n:06d}" for n in range(1, 2 * per_thread + 1)]


# ----------------------------------------------------------------------------------------------
# PDF
# ----------------------------------------------------------------------------------------------


def _pdf_text(data: bytes) -> str:
    import io

    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(data))
    return "\n".join(page.extract_text() for page in reader.pages)


def test_invoice_pdf_is_french_with_billing_address_fallback_and_statement(app, db_ctx):
    from app.billing.invoice_pdf import invoice_pdf

    with db_ctx() as session:
        collectivity = factories.make_collectivity(
            session, name="Commune de Tassin", siret="21690244800019"
        )
        invoice = _issue(collectivity.id, key=f"contributions:2026:{collectivity.id}")
        invoice_id = invoice.id
    with app.app_context():
        data, filename = invoice_pdf(invoice_id)
    assert filename == "facture-26000001.pdf"
    text = " ".join(_pdf_text(data).split())
    assert "Facture n° 26000001" in text
    assert "Adresse de facturation" in text and "1 place de la Mairie" in text  # main address
    assert "SIRET : 21690244800019" in text
    assert "333 agents déclarés au 01/01/2026 x 104,00 €" in text
    assert "Total à payer 34 632,00 €" in text
    assert "Date d'échéance 14/02/2026" in text
    assert "TVA non applicable" in text and "TVA 20" not in text
    assert "Bordereau d'appel à cotisation" in text
    assert "Total appelé 34 632,00 €" in text


def test_credit_note_pdf_names_the_invoice_and_a_configured_vat_line(app, db_ctx):
    from app.billing.invoice_pdf import invoice_pdf

    with db_ctx() as session:
        collectivity = factories.make_collectivity(
            session,
            billing_line1="Service financier",
            billing_postcode="69001",
            billing_city="Lyon",
        )
        invoice = _issue(collectivity.id, amount="120.00", label="Prestations adhérent")
        note_id = credit_note(invoice.id, amount=D("20.00"), reason="Visite annulée").id
    with app.app_context():
        data, _ = invoice_pdf(note_id)
        app.config["INVOICE_VAT_RATE"] = "20"
        try:
            vat, _ = invoice_pdf(invoice.id)
        finally:
            app.config["INVOICE_VAT_RATE"] = ""
    text = " ".join(_pdf_text(data).split())
    assert "Avoir n° 26000002" in text
    assert "Facture d'origine n° 26000001" in text
    assert "Motif Visite annulée" in text
    assert "-20,00 €" in text
    assert "Service financier" in text
    assert "Bordereau" not in text
    vat_text = " ".join(_pdf_text(vat).split())
    assert "TVA 20 %" in vat_text and "Total TTC 120,00 €" in vat_text


# ----------------------------------------------------------------------------------------------
# Employer « Factures », API, accounting screens
# ----------------------------------------------------------------------------------------------


def _employer_invoices(db_ctx, users):
    with db_ctx():
        a = users.collectivity_a.id
        paid = _issue(a, on=dt.date(2026, 3, 16), label="Cotisations", amount="11077.19")
        record_payment(paid.id, D("11077.19"), dt.date(2026, 3, 30))
        unpaid = _issue(a, on=dt.date(2026, 5, 25), label="Prestations adhérent", amount="168.00")
        note = credit_note(paid.id, amount=D("0.01"), reason="x") if False else None
        other = _issue(users.collectivity_b.id, label="Facture de B MARQUEURB", amount="84.00")
        return paid.id, unpaid.id, other.id, note


def test_employer_list_like_the_seed_with_search_and_constant_queries(
    db_ctx, users, login, count_queries
):
    paid_id, unpaid_id, other_id, _ = _employer_invoices(db_ctx, users)
    web = login(users.primary_a)
    page = web.get("/portail/factures/").get_data(as_text=True)
    assert "Facture : 26000001" in page and "16/03/2026" in page and "15/04/2026" in page
    assert "11\u00a0077,19\u00a0€" in page and "✓" in page and "✗" in page
    assert "MARQUEURB" not in page
    assert f"/portail/factures/{unpaid_id}/pdf" in page
    to_pay = web.get("/portail/factures/?nature=a_regler").get_data(as_text=True)
    assert "Prestations adhérent" in to_pay and "Cotisations" not in to_pay.split("<tbody>")[1]
    by_number = web.get("/portail/factures/?numero=26000001").get_data(as_text=True)
    assert "Facture : 26000001" in by_number and "Facture : 26000002" not in by_number
    with count_queries() as few:
        web.get("/portail/factures/")
    with db_ctx():
        for n in range(10):
            _issue(users.collectivity_a.id, on=dt.date(2026, 6, 1 + n))
    with count_queries() as many:
        web.get("/portail/factures/")
    assert many.count == few.count
    pdf = web.get(f"/portail/factures/{paid_id}/pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    assert web.get(f"/portail/factures/{other_id}/pdf").status_code == 404


def test_a_secondary_account_sees_no_invoice(db_ctx, users, login, api_login):
    paid_id, *_ = _employer_invoices(db_ctx, users)
    web = login(users.secondary_a)
    assert web.get("/portail/factures/").status_code in (302, 403)
    assert web.get(f"/portail/factures/{paid_id}/pdf").status_code in (302, 403, 404)
    api = api_login(users.secondary_a)
    listed = api.get("/api/v1/invoice/")
    assert listed.status_code in (200, 403)
    if listed.status_code == 200:
        assert listed.get_json()["count"] == 0
    assert api.get(f"/api/v1/invoice/{paid_id}/pdf").status_code in (403, 404)


def test_api_invoice_with_lines_and_pdf_read_only(db_ctx, users, api_login, count_queries):
    paid_id, unpaid_id, other_id, _ = _employer_invoices(db_ctx, users)
    api = api_login(users.primary_a)
    listed = api.get("/api/v1/invoice/").get_json()
    assert listed["count"] == 2
    row = next(r for r in listed["result"] if r["id"] == paid_id)
    assert row["number"] == "26000001" and row["paid"] is True and row["kind"] == "facture"
    assert row["total"] == "11077.19"
    assert row["lines"][0]["source"].startswith("333 agents déclarés")
    shown = api.get(f"/api/v1/invoice/{unpaid_id}").get_json()["result"]
    assert shown["due_date"] == "2026-06-24" and shown["paid"] is False
    assert shown["lines"][0]["quantity"] == "333.00"
    pdf = api.get(f"/api/v1/invoice/{paid_id}/pdf")
    assert pdf.status_code == 200 and pdf.headers["Content-Type"] == "application/pdf"
    assert api.get(f"/api/v1/invoice/{other_id}").status_code == 404
    assert api.get(f"/api/v1/invoice/{other_id}/pdf").status_code == 404
    assert api.put(f"/api/v1/invoice/{paid_id}", json={"total": "1.00"}).status_code in (
        403,
        404,
        405,
    )
    assert api.delete(f"/api/v1/invoice/{paid_id}").status_code in (403, 404, 405)
    assert api.post("/api/v1/invoice/", json={"label": "x"}).status_code in (403, 404, 405)
    with count_queries() as few:
        api.get("/api/v1/invoice/")
    with db_ctx():
        for n in range(5):
            _issue(users.collectivity_a.id, on=dt.date(2026, 7, 1 + n))
    with count_queries() as many:
        api.get("/api/v1/invoice/")
    assert many.count == few.count


def test_accounting_records_a_payment_and_a_credit_note_with_french_errors(db_ctx, users, login):
    paid_id, unpaid_id, other_id, _ = _employer_invoices(db_ctx, users)
    web = login(users.comptabilite)
    listing = web.get("/comptabilite/factures/").get_data(as_text=True)
    assert "26000001" in listing and "MARQUEURB" in listing
    show_url = f"/comptabilite/factures/{unpaid_id}"
    page = web.get(show_url).get_data(as_text=True)
    assert "333 agents déclarés au 01/01/2026" in page
    token = web.csrf_token(show_url)
    too_much = web.post_form(
        f"{show_url}/reglement", {"amount": "200,00", "paid_on": "01/06/2026"}, form_url=show_url
    )
    assert too_much.status_code == 400
    assert "dépasse le reste dû" in too_much.get_data(as_text=True)
    ok = web.post_form(
        f"{show_url}/reglement",
        {"amount": "100,00", "paid_on": "01/06/2026", "reference": "VIR-42"},
        form_url=show_url,
    )
    assert ok.status_code == 302
    above = web.post_form(
        f"{show_url}/avoir", {"amount": "68,01", "reason": "Erreur"}, form_url=show_url
    )
    assert above.status_code == 400 and "dépasse le reste dû" in above.get_data(as_text=True)
    credit = web.post_form(
        f"{show_url}/avoir", {"amount": "68,00", "reason": "Visite annulée"}, form_url=show_url
    )
    assert credit.status_code == 302
    with db_ctx() as session:
        invoice = session.get(Invoice, unpaid_id)
        assert invoice.status is InvoiceStatus.payee  # 100 paid + 68 credited
        assert (
            session.scalar(select(func.count(Invoice.id)).where(Invoice.kind == InvoiceKind.avoir))
            == 1
        )
    # A cancelled invoice refuses a payment, in French.
    with db_ctx():
        cancelled = _issue(users.collectivity_a.id, amount="50.00")
        credit_note(cancelled.id, amount=D("50.00"), reason="Annulation")
        cancelled_id = cancelled.id
    url = f"/comptabilite/factures/{cancelled_id}"
    refused = web.post(
        f"{url}/reglement", data={"amount": "10,00", "paid_on": "01/06/2026", "csrf_token": token}
    )
    assert refused.status_code == 400 and "est annulée" in refused.get_data(as_text=True)
    bad = web.post(
        f"{url}/reglement", data={"amount": "abc", "paid_on": "31/02/2026", "csrf_token": token}
    )
    assert bad.status_code == 400
    overdue = web.get("/comptabilite/factures/en-retard").get_data(as_text=True)
    assert "Factures échues non réglées" in overdue


def test_employers_and_direction_cannot_write_on_the_accounting_screens(db_ctx, users, login):
    paid_id, unpaid_id, *_ = _employer_invoices(db_ctx, users)
    employer = login(users.primary_a)
    assert employer.get("/comptabilite/factures/").status_code in (302, 403)
    direction = login(users.direction)
    assert direction.get(f"/comptabilite/factures/{unpaid_id}").status_code == 200
    # The screen shows no form to Direction; the POST itself is refused, nothing written.
    response = direction.post(
        f"/comptabilite/factures/{unpaid_id}/reglement",
        data={"amount": "10,00", "paid_on": "01/06/2026"},
    )
    assert response.status_code in (302, 400, 403)
    assert "Enregistrer le règlement" not in direction.get(
        f"/comptabilite/factures/{unpaid_id}"
    ).get_data(as_text=True)
    with db_ctx() as session:
        assert session.scalar(select(func.count(Payment.id))) == 1
