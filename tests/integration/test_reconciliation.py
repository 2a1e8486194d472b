"""Payment reconciliation (issue 18): a statement import marks invoices paid (CSV and camt.053),
partial payments and overpayments are kept, an ambiguous line is left for a manual match, a bad
file writes nothing, the same file twice imports nothing, accounting matches or ignores a line
by hand, and no employer reaches the screens."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from app.billing.invoices import LineInput, issue_invoice
from app.billing.models import Invoice, InvoiceStatus, Payment
from app.core.audit import AuditLog
from app.payments.models import BankStatement, BankStatementLine, MatchOutcome
from tests.util import text

D = Decimal
ISSUED = dt.date(2026, 1, 15)
URL = "/comptabilite/rapprochement/"


def _issue(collectivity_id: int, amount: str) -> Invoice:
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
        issue_date=ISSUED,
    )


def _invoices(db_ctx, collectivity_id: int, *amounts: str) -> list[str]:
    with db_ctx() as session:
        numbers = [_issue(collectivity_id, amount).number for amount in amounts]
        session.flush()
    return numbers


def _upload(web, data: bytes, name: str = "paiements.csv", **kw):
    return web.post_form(f"{URL}import", {"file": (io.BytesIO(data), name)}, form_url=URL, **kw)


def _state(db_ctx, number: str) -> tuple[InvoiceStatus, Decimal]:
    with db_ctx() as session:
        invoice = session.scalar(select(Invoice).where(Invoice.number == number))
        return invoice.status, invoice.remaining


def _counts(db_ctx) -> tuple[int, int, int]:
    with db_ctx() as session:
        return (
            session.scalar(select(func.count(BankStatement.id))),
            session.scalar(select(func.count(BankStatementLine.id))),
            session.scalar(select(func.count(Payment.id))),
        )


def test_csv_import_pays_exact_partial_keeps_overpayment_and_leaves_ambiguous_lines(
    db_ctx, users, login
):
    n1, n2, n3, n4 = _invoices(
        db_ctx, users.collectivity_a.id, "100.00", "250.00", "80.00", "60.00"
    )
    csv = (
        "date;montant;référence;libellé\n"
        f"31/01/2026;100,00;{n1};VIR COMMUNE A\n"
        f"2026-02-01;100.00;Facture {n2};acompte\n"
        f"01/02/2026;100,00;{n3};VIR COMMUNE A\n"
        f"02/02/2026;60,00;{n1} {n4};deux factures\n"
        "03/02/2026;30,00;LOYER;sans facture\n"
    ).encode("cp1252")
    web = login(users.comptabilite)
    response = _upload(web, csv, follow_redirects=True)
    page = text(response)
    assert response.status_code == 200
    assert "Relevé importé : 5 paiement(s), 3 rapproché(s), 2 à rapprocher manuellement." in page
    assert _state(db_ctx, n1) == (InvoiceStatus.payee, D("0.00"))
    assert _state(db_ctx, n2) == (InvoiceStatus.partiellement_payee, D("150.00"))
    assert _state(db_ctx, n3) == (InvoiceStatus.payee, D("0.00"))
    assert _state(db_ctx, n4) == (InvoiceStatus.emise, D("60.00"))
    assert "reste dû 150,00" in page
    assert f"Trop-perçu de 20,00 € sur la facture {n3}" in page or "Trop-perçu de 20,00" in page
    assert f"Le paiement cite 2 factures ({n1}, {n4}) : rapprochement manuel nécessaire." in page
    with db_ctx() as session:
        lines = {line.line_no: line for line in session.scalars(select(BankStatementLine))}
        assert lines[4].excess_amount == D("20.00") and lines[4].outcome is MatchOutcome.overpayment
        assert lines[4].payment_id is not None
        assert lines[5].invoice_id is None and lines[5].outcome is MatchOutcome.ambiguous
        assert lines[6].status.name == "non_rapprochee"
        # The overpayment is recorded up to what remained due: 80 paid, 20 kept on the line.
        paid = session.scalar(select(func.sum(Payment.amount)))
        assert paid == D("280.00")
    listing = text(web.get(URL))
    assert "paiements.csv" in listing and "CSV du comptable public" in listing
    # The employer's « Factures » shows what the statement settled.
    employer = text(login(users.primary_a).get("/portail/factures/"))
    assert 'aria-label="Payée"' in employer
    assert "Partiellement payée : reste 150,00" in employer


CAMT = """<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08">
 <BkToCstmrStmt><GrpHdr><MsgId>REL-1</MsgId><CreDtTm>2026-02-03T08:00:00</CreDtTm></GrpHdr>
  <Stmt><Id>1</Id>
   <Ntry><Amt Ccy="EUR">{amount}</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts>
    <BookgDt><Dt>2026-02-02</Dt></BookgDt>
    <NtryDtls><TxDtls><RltdPties><Dbtr><Pty><Nm>Commune A</Nm></Pty></Dbtr></RltdPties>
     <RmtInf><Ustrd>FACTURE {number}</Ustrd></RmtInf></TxDtls></NtryDtls></Ntry>
   <Ntry><Amt Ccy="EUR">45.00</Amt><CdtDbtInd>DBIT</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts>
    <BookgDt><Dt>2026-02-02</Dt></BookgDt></Ntry>
  </Stmt></BkToCstmrStmt></Document>"""


def test_camt053_import_marks_the_invoice_paid_and_the_same_file_twice_imports_nothing(
    db_ctx, users, login
):
    (number,) = _invoices(db_ctx, users.collectivity_a.id, "1234.56")
    data = CAMT.format(amount="1234.56", number=number).encode()
    web = login(users.comptabilite)
    page = text(_upload(web, data, "releve.xml", follow_redirects=True))
    assert "Relevé importé : 1 paiement(s), 1 rapproché(s), 0 à rapprocher" in page
    assert "Relevé camt.053" in page and "Commune A" in page
    assert _state(db_ctx, number) == (InvoiceStatus.payee, D("0.00"))
    before = _counts(db_ctx)
    assert before == (1, 1, 1)
    again = text(_upload(web, data, "copie-du-releve.xml", follow_redirects=True))
    assert "Ce relevé a déjà été importé le" in again
    assert "rien n'a été importé une seconde fois" in again
    assert _counts(db_ctx) == before


def test_a_malformed_line_writes_nothing_and_is_reported_by_line(db_ctx, users, login):
    (number,) = _invoices(db_ctx, users.collectivity_a.id, "100.00")
    csv = (
        "date;montant;référence;libellé\n"
        f"31/01/2026;100,00;{number};ok\n"
        "32/13/2026;10,00;x;date fausse\n"
        "31/01/2026;12,3,4;x;montant faux\n"
    ).encode()
    web = login(users.comptabilite)
    response = _upload(web, csv)
    page = text(response)
    assert response.status_code == 400
    assert "Le relevé n'a pas été importé : 2 erreurs. Aucun paiement n'a été enregistré." in page
    assert "Ligne 3 : date illisible « 32/13/2026 »" in page
    assert "Ligne 4 : montant illisible « 12,3,4 »" in page
    assert _counts(db_ctx) == (0, 0, 0)
    assert _state(db_ctx, number) == (InvoiceStatus.emise, D("100.00"))
    # A file that is no statement at all, an empty upload and a future date: French, no 500.
    assert "n'est pas un relevé ISO 20022" in text(
        _upload(web, b'<Document xmlns="urn:x"/>', "x.xml")
    )
    assert "Choisissez le fichier du relevé" in text(
        web.post_form(f"{URL}import", {}, form_url=URL)
    )
    future = f"31/12/2099;100,00;{number};futur\n".encode()
    assert "Ligne 1 : date 31/12/2099 dans le futur" in text(_upload(web, future))
    assert _counts(db_ctx) == (0, 0, 0)


def test_manual_match_and_ignore_with_reason_are_audited(db_ctx, users, login):
    (number,) = _invoices(db_ctx, users.collectivity_a.id, "90.00")
    csv = "31/01/2026;120,00;VIREMENT;sans référence\n31/01/2026;15,00;REMB;trop versé\n".encode()
    web = login(users.comptabilite)
    _upload(web, csv)
    with db_ctx() as session:
        first, second = session.scalars(
            select(BankStatementLine).order_by(BankStatementLine.line_no)
        ).all()
        first_id, second_id, statement_id = first.id, second.id, first.statement_id
    line_url = f"{URL}ligne/{first_id}"
    search = text(web.get(f"{line_url}?q={number[:4]}"))
    assert number in search and "Commune A" in search and "90,00" in search
    bad = web.post_form(line_url, {"invoice_number": "12,3,4"})
    assert bad.status_code == 400
    assert "Numéro de facture invalide : 8 chiffres" in text(bad)
    unknown = web.post_form(line_url, {"invoice_number": "99999999"})
    assert unknown.status_code == 400 and "Facture 99999999 introuvable." in text(unknown)
    done = web.post_form(line_url, {"invoice_number": number}, follow_redirects=True)
    assert f"Ligne 1 rapprochée de la facture {number}." in text(done)
    assert _state(db_ctx, number) == (InvoiceStatus.payee, D("0.00"))
    with db_ctx() as session:
        line = session.get(BankStatementLine, first_id)
        assert line.outcome is MatchOutcome.manual and line.excess_amount == D("30.00")
        statement = session.get(BankStatement, statement_id)
        assert (statement.matched_count, statement.unmatched_count) == (1, 1)
    # A line already matched cannot be matched again.
    twice = web.post_form(line_url, {"invoice_number": number}, form_url=URL)
    assert "Cette ligne est déjà traitée (rapprochée)." in text(twice)
    ignore_url = f"{URL}ligne/{second_id}/ignorer"
    empty = web.post_form(ignore_url, {"reason": " "}, form_url=f"{URL}ligne/{second_id}")
    assert empty.status_code == 400 and "Ce champ est obligatoire." in text(empty)
    huge = web.post_form(ignore_url, {"reason": "x" * 5000}, form_url=f"{URL}ligne/{second_id}")
    assert huge.status_code == 400 and "ne doit pas dépasser 400 caractères" in text(huge)
    ignored = web.post_form(
        ignore_url, {"reason": "Remboursement d'un trop-versé"}, form_url=f"{URL}ligne/{second_id}"
    )
    assert ignored.status_code == 302, text(ignored)[-3000:]
    page = text(web.get(f"{URL}releve/{statement_id}"))
    assert "Ignorée par" in page and "Remboursement d'un trop-versé" in page
    with db_ctx() as session:
        audited = session.scalars(
            select(AuditLog).where(AuditLog.table_name == "bank_statement_line")
        ).all()
        assert {entry.action for entry in audited} >= {"import", "update"}
        assert session.get(BankStatement, statement_id).unmatched_count == 0
    assert web.get(f"{URL}ligne/999999").status_code == 404
    assert web.get(f"{URL}releve/999999").status_code == 404


def test_employers_and_other_staff_cannot_reach_the_screens(db_ctx, users, login):
    _invoices(db_ctx, users.collectivity_a.id, "10.00")
    admin = login(users.admin)
    assert admin.get(URL).status_code == 200
    _upload(admin, b"31/01/2026;10,00;x;y\n")
    for user in (
        users.primary_a,
        users.secondary_a,
        users.primary_b,
        users.sante,
        users.secretariat,
    ):
        web = login(user)
        for url in (URL, f"{URL}releve/1", f"{URL}ligne/1"):
            assert web.get(url).status_code in (302, 403, 404), (user.username, url)
        refused = web.post(f"{URL}import", data={"file": (io.BytesIO(b"x"), "x.csv")})
        assert refused.status_code in (302, 400, 403, 404)
    assert _counts(db_ctx)[0] == 1


def test_statement_page_runs_a_constant_number_of_queries(db_ctx, users, login, count_queries):
    numbers = _invoices(db_ctx, users.collectivity_a.id, *(["10.00"] * 50))
    web = login(users.comptabilite)

    def _statement(count: int, day: int) -> int:
        rows = "".join(f"{day:02d}/01/2026;10,00;{n};x\n" for n in numbers[:count])
        _upload(web, rows.encode())
        with db_ctx() as session:
            return session.scalar(select(func.max(BankStatement.id)))

    small, large = _statement(5, 1), _statement(50, 2)
    counts = []
    for statement_id in (small, large):
        with count_queries() as counter:
            page = web.get(f"{URL}releve/{statement_id}")
        assert page.status_code == 200
        counts.append(counter.count)
    assert counts[0] == counts[1], counts
    with count_queries() as counter:
        assert web.get(URL).status_code == 200
    assert counter.count <= counts[0] + 2


@pytest.mark.committing
@pytest.mark.concurrency
def test_the_same_statement_sent_twice_at_the_same_moment_is_imported_once(
    app, db_ctx, users, login, monkeypatch
):
    """Two accountants (or a double click) send the same file at once. On PostgreSQL both pass
    the « already imported » check before either commits (the barrier holds them there): the
    unique digest lets one write and the other gets a French warning. SQLite serialises the two
    requests' writes (the second waits, then finds the file imported). Either way nothing is
    written twice and no one gets an error page."""
    import threading

    from app.payments import reconciliation

    (number,) = _invoices(db_ctx, users.collectivity_a.id, "321.00")
    data = CAMT.format(amount="321.00", number=number).encode()
    webs = [login(users.comptabilite), login(users.comptabilite)]
    barrier = threading.Barrier(2, timeout=5)
    parse = reconciliation.rules.parse_statement
    met: list = []

    def parse_together(*args, **kwargs):
        try:
            barrier.wait()  # both requests are past the digest check, neither has written
            met.append(True)
        except threading.BrokenBarrierError:
            pass  # SQLite: the other request waits for this one's write lock
        return parse(*args, **kwargs)

    monkeypatch.setattr(reconciliation.rules, "parse_statement", parse_together)
    responses: list = []
    errors: list = []

    def send(web) -> None:
        try:
            responses.append(_upload(web, data, "releve.xml", follow_redirects=True))
        except Exception as error:  # pragma: no cover - shown by the assertion
            errors.append(error)

    threads = [threading.Thread(target=send, args=(web,)) for web in webs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    assert sorted(r.status_code for r in responses) == [200, 200]
    pages = [text(r) for r in responses]
    assert sum("Relevé importé : 1 paiement(s)" in page for page in pages) == 1
    at_once = sum("importé au même moment depuis une autre session" in page for page in pages)
    after = sum("Ce relevé a déjà été importé le" in page for page in pages)
    assert at_once + after == 1
    with app.app_context():
        from app.extensions import db

        if db.engine.dialect.name == "postgresql":
            assert met == [True, True] and at_once == 1  # the race did happen
    assert _counts(db_ctx) == (1, 1, 1)
    assert _state(db_ctx, number) == (InvoiceStatus.payee, D("0.00"))
