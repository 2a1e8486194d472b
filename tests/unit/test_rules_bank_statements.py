"""Bank statement parsing and payment matching (issue 18): pure functions."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from app.rules import bank_statements as bs
from app.rules.bank_statements import Candidate, Outcome, StatementLine, StatementRejected

D = Decimal


def camt(version: str, kind: str, entries: str) -> bytes:
    block, message = (
        ("Stmt", "BkToCstmrStmt") if kind == "053" else ("Ntfctn", "BkToCstmrDbtCdtNtfctn")
    )
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>'
        f'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.{kind}.001.{version}">'
        f"<{message}><GrpHdr><MsgId>M1</MsgId></GrpHdr><{block}><Id>S1</Id>{entries}"
        f"</{block}></{message}></Document>"
    ).encode()


def entry(
    amount: str,
    indicator: str = "CRDT",
    ref: str = "26000001",
    date: str = "2026-01-31",
    v8: bool = False,
    debtor: str = "Commune de Tassin",
) -> str:
    status = "<Sts><Cd>BOOK</Cd></Sts>" if v8 else "<Sts>BOOK</Sts>"
    party = (
        f"<Dbtr><Pty><Nm>{debtor}</Nm></Pty></Dbtr>" if v8 else f"<Dbtr><Nm>{debtor}</Nm></Dbtr>"
    )
    return (
        f'<Ntry><Amt Ccy="EUR">{amount}</Amt><CdtDbtInd>{indicator}</CdtDbtInd>{status}'
        f"<BookgDt><Dt>{date}</Dt></BookgDt><AddtlNtryInf>VIR TRESOR PUBLIC</AddtlNtryInf>"
        f"<NtryDtls><TxDtls><Refs><EndToEndId>NOTPROVIDED</EndToEndId></Refs>"
        f"<RltdPties>{party}</RltdPties><RmtInf><Ustrd>FACTURE {ref}</Ustrd></RmtInf>"
        f"</TxDtls></NtryDtls></Ntry>"
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1 234,56", "1234.56"),
        ("1\u00a0234,56", "1234.56"),
        ("1\u202f234,56 €", "1234.56"),
        ("1234.56", "1234.56"),
        ("1234,5", "1234.50"),
        ("1.234,56", "1234.56"),
        ("1,234.56", "1234.56"),
        ("980", "980.00"),
        ("+12,00", "12.00"),
    ],
)
def test_amounts_in_french_and_iso_forms(text, expected):
    assert bs.parse_amount(text) == D(expected)


@pytest.mark.parametrize("text", ["12,3,4", "12.345", "abc", "", "1 23,45", "12,345,6", "1,2.3"])
def test_illegible_amounts_are_refused(text):
    with pytest.raises(ValueError):
        bs.parse_amount(text)


def test_dates_french_and_iso_and_impossible_ones():
    assert bs.parse_date("31/01/2026") == dt.date(2026, 1, 31)
    assert bs.parse_date("2026-01-31") == dt.date(2026, 1, 31)
    assert bs.parse_date("2026-01-31T10:00:00+01:00") == dt.date(2026, 1, 31)
    for bad in ("32/13/2026", "31-01-2026", "2026/01/31", ""):
        with pytest.raises(ValueError):
            bs.parse_date(bad)


def test_csv_with_header_bom_semicolon_and_french_values():
    data = (
        "\ufeffdate;montant;référence;libellé\n"
        "31/01/2026;1 234,56;26000001;VIR COMMUNE DE TASSIN\n"
        "2026-02-01;980.00;;Facture 26000002\n"
    ).encode()
    parsed = bs.parse_statement(data, "paiements.csv")
    assert parsed.format == bs.CSV
    first, second = parsed.lines
    assert (first.line_no, first.booked_on, first.amount, first.reference) == (
        2,
        dt.date(2026, 1, 31),
        D("1234.56"),
        "26000001",
    )
    assert first.label == "VIR COMMUNE DE TASSIN"
    assert (second.line_no, second.amount, second.label) == (3, D("980.00"), "Facture 26000002")


def test_csv_cp1252_comma_separator_quoted_amount_and_no_header():
    data = '31/01/2026,"1 234,56",26000001,Régie de Tassin\n'.encode("cp1252")
    (line,) = bs.parse_statement(data, "p.csv").lines
    assert line.amount == D("1234.56") and line.label == "Régie de Tassin" and line.line_no == 1


def test_csv_malformed_lines_are_all_reported_in_french_and_nothing_is_returned():
    data = (
        "date;montant;référence;libellé\n"
        "31/01/2026;100,00;26000001;ok\n"
        "32/13/2026;100,00;26000002;date fausse\n"
        "31/01/2026;12,3,4;26000003;montant faux\n"
        "31/01/2026;-5,00;26000004;débit\n"
        "31/01/2026;;26000005;vide\n"
    ).encode()
    with pytest.raises(StatementRejected) as caught:
        bs.parse_statement(data, "p.csv")
    messages = [str(issue) for issue in caught.value.issues]
    assert messages == [
        "Ligne 3 : date illisible « 32/13/2026 » (JJ/MM/AAAA ou AAAA-MM-JJ attendu)",
        "Ligne 4 : montant illisible « 12,3,4 »",
        "Ligne 5 : montant « -5,00 » négatif ou nul : seuls les encaissements sont importés",
        "Ligne 6 : montant absent",
    ]
    assert "Aucun paiement n'a été enregistré" in caught.value.message


def test_csv_header_without_amount_and_empty_file():
    with pytest.raises(StatementRejected) as caught:
        bs.parse_statement("date;référence\n31/01/2026;x\n".encode(), "p.csv")
    assert str(caught.value.issues[0]) == "Ligne 1 : colonne « montant » absente de l'en-tête"
    with pytest.raises(StatementRejected) as caught:
        bs.parse_statement(b"\xef\xbb\xbf  \n", "p.csv")
    assert str(caught.value.issues[0]) == "Le fichier est vide."


@pytest.mark.parametrize(("version", "v8"), [("02", False), ("08", True), ("10", True)])
def test_camt053_keeps_only_credits_any_version(version, v8):
    data = camt(version, "053", entry("1234.56", v8=v8) + entry("50.00", "DBIT", v8=v8))
    parsed = bs.parse_statement(data, "releve.xml")
    assert parsed.format == bs.CAMT053 and parsed.skipped == 1
    (line,) = parsed.lines
    assert line.amount == D("1234.56") and line.booked_on == dt.date(2026, 1, 31)
    assert line.reference == "FACTURE 26000001" and line.debtor == "Commune de Tassin"
    assert line.label == "VIR TRESOR PUBLIC" and line.line_no == 1


def test_camt054_notification_and_batch_entry_split_by_transaction():
    txs = "".join(
        f'<TxDtls><AmtDtls><TxAmt><Amt Ccy="EUR">{amount}</Amt></TxAmt></AmtDtls>'
        f"<RmtInf><Strd><CdtrRefInf><Ref>{ref}</Ref></CdtrRefInf></Strd></RmtInf></TxDtls>"
        for amount, ref in (("100.00", "26000001"), ("200.00", "26000002"))
    )
    batch = (
        '<Ntry><Amt Ccy="EUR">300.00</Amt><CdtDbtInd>CRDT</CdtDbtInd>'
        f"<BookgDt><DtTm>2026-02-02T08:00:00</DtTm></BookgDt><NtryDtls>{txs}</NtryDtls></Ntry>"
    )
    parsed = bs.parse_statement(camt("08", "054", batch), "avis.xml")
    assert parsed.format == bs.CAMT054
    assert [(line.amount, line.reference) for line in parsed.lines] == [
        (D("100.00"), "26000001"),
        (D("200.00"), "26000002"),
    ]


def test_camt_refuses_entities_foreign_xml_and_bad_amounts():
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaa">]>'
        b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02">&a;</Document>'
    )
    with pytest.raises(StatementRejected) as caught:
        bs.parse_statement(bomb, "x.xml")
    assert "DTD" in caught.value.issues[0].message
    with pytest.raises(StatementRejected) as caught:
        bs.parse_statement(b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.008.001.02"/>')
    assert "n'est pas un relevé ISO 20022 camt.053 ou camt.054" in caught.value.issues[0].message
    with pytest.raises(StatementRejected) as caught:
        bs.parse_statement(camt("02", "053", entry("12,3,4")), "x.xml")
    assert str(caught.value.issues[0]) == "Écriture 1 : montant illisible « 12,3,4 »"
    with pytest.raises(StatementRejected):
        bs.parse_statement(b"<Document><unclosed></Document>", "x.xml")


def _line(amount: str, text: str = "", n: int = 1) -> StatementLine:
    return StatementLine(n, dt.date(2026, 1, 31), D(amount), text, "")


CANDIDATES = {
    "26000001": Candidate("26000001", D("100.00")),
    "26000002": Candidate("26000002", D("250.00")),
    "26000003": Candidate("26000003", D("0.00"), payable=False, status_label="annulée"),
}


def test_matching_exact_partial_overpayment():
    exact = bs.match_line(_line("100.00", "FACT 26000001"), CANDIDATES)
    assert (exact.outcome, exact.number, exact.applied, exact.excess) == (
        Outcome.exact,
        "26000001",
        D("100.00"),
        D("0.00"),
    )
    partial = bs.match_line(_line("40.00", "26000002"), CANDIDATES)
    assert partial.outcome is Outcome.partial and partial.applied == D("40.00")
    assert "reste dû 210,00" in partial.message
    over = bs.match_line(_line("130.00", "26000001"), CANDIDATES)
    assert (over.outcome, over.applied, over.excess) == (
        Outcome.overpayment,
        D("100.00"),
        D("30.00"),
    )
    assert "Trop-perçu de 30,00" in over.message


def test_matching_ambiguous_unknown_none_and_cancelled():
    ambiguous = bs.match_line(_line("100.00", "26000001 26000002"), CANDIDATES)
    assert ambiguous.outcome is Outcome.ambiguous and not ambiguous.matched
    assert ambiguous.message == (
        "Le paiement cite 2 factures (26000001, 26000002) : rapprochement manuel nécessaire."
    )
    unknown = bs.match_line(_line("100.00", "26009999"), CANDIDATES)
    assert unknown.outcome is Outcome.unmatched and "26009999 inconnue" in unknown.message
    # A longer number (an IBAN fragment, a SIRET) is not an invoice number.
    none = bs.match_line(_line("100.00", "SIRET 21690244400019"), CANDIDATES)
    assert none.outcome is Outcome.unmatched and "Aucun numéro" in none.message
    cancelled = bs.match_line(_line("100.00", "26000003"), CANDIDATES)
    assert cancelled.outcome is Outcome.unmatched and "annulée" in cancelled.message


def test_two_payments_of_one_invoice_see_what_the_first_left():
    lines = [_line("60.00", "26000001", 1), _line("60.00", "26000001", 2)]
    first, second = bs.match_lines(lines, CANDIDATES)
    assert first.outcome is Outcome.partial
    assert (second.outcome, second.applied, second.excess) == (
        Outcome.overpayment,
        D("40.00"),
        D("20.00"),
    )
    assert bs.cited_numbers(lines) == {"26000001"}
