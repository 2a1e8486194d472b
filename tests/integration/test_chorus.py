"""Chorus Pro deposit batches (issue 18): ZIP + manifest, deposit to a local fake server."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import threading
import zipfile
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from facturx import get_xml_from_pdf
from sqlalchemy import select

from app.billing.invoices import LineInput, issue_invoice
from app.einvoicing.models import ChorusDeposit
from tests import factories


def _issue(collectivity_id: int, amount: str = "1200.00"):
    return issue_invoice(
        collectivity_id=collectivity_id,
        label="Cotisations 2026",
        lines=[
            LineInput(
                label="Cotisation 2026",
                quantity=Decimal("12"),
                unit_price=Decimal("100.00"),
                amount=Decimal(amount),
                source="12 agents x 100,00 €",
            )
        ],
        run_key=None,
        issue_date=dt.date(2026, 1, 15),
    )


class _Fake(BaseHTTPRequestHandler):
    received: list[dict] = []
    fail = False

    def do_POST(self):  # noqa: N802
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).received.append(
            {"path": self.path, "auth": self.headers["Authorization"], **body}
        )
        if type(self).fail:
            self.send_response(503)
            self.end_headers()
            return
        payload = json.dumps({"codeRetour": 0, "numeroFluxDepot": f"DEP-{len(self.received)}"})
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(payload.encode())

    def log_message(self, *args):
        pass


@pytest.fixture
def fake_chorus():
    _Fake.received = []
    _Fake.fail = False
    server = HTTPServer(("127.0.0.1", 0), _Fake)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server, _Fake
    server.shutdown()
    server.server_close()


def _world(db_ctx):
    with db_ctx() as session:
        good = factories.make_collectivity(session, name="Commune de Bron", siret="21690029300017")
        good.chorus_service_code = "FIN01"
        good.chorus_engagement_number = "EJ-77"
        other = factories.make_collectivity(session, name="SIVU des Monts")
        first = _issue(good.id)
        second = _issue(other.id, amount="300.00")
        return good.id, other.id, first.id, second.id


def test_batch_without_configuration_is_a_zip_with_its_manifest(app, db_ctx):
    from app.einvoicing.service import batch_archive, create_batch

    good, _other, first, second = _world(db_ctx)
    with app.app_context():
        outcome = create_batch([first, second], created_by="compta", config=app.config)
        assert not outcome.blocked and not outcome.errors and outcome.batch.sent is False
        batch_id = outcome.batch.id
        from app.extensions import db

        db.session.commit()
        data, name = batch_archive(batch_id, app.config)
    assert name == f"chorus-lot-{batch_id}.zip"
    archive = zipfile.ZipFile(io.BytesIO(data))
    assert sorted(archive.namelist()) == [
        "facture-26000001-facturx.pdf",
        "facture-26000002-facturx.pdf",
        "manifeste.csv",
    ]
    rows = list(
        csv.DictReader(
            io.StringIO(archive.read("manifeste.csv").decode("utf-8-sig")), delimiter=";"
        )
    )
    assert rows[0] == {
        "numero_facture": "26000001",
        "siret_destinataire": "21690029300017",
        "code_service": "FIN01",
        "numero_engagement": "EJ-77",
        "montant": "1200,00",
        "fichier": "facture-26000001-facturx.pdf",
    }
    _, xml = get_xml_from_pdf(archive.read("facture-26000001-facturx.pdf"))
    assert b"FIN01" in xml


def test_missing_service_code_required_by_the_buyer_is_blocked_in_french(app, db_ctx):
    from app.einvoicing.service import create_batch

    good, other, first, second = _world(db_ctx)
    with app.app_context():
        outcome = create_batch(
            [first, second], created_by="compta", config=app.config, requires_service={other: True}
        )
        assert [d.invoice_id for d in outcome.batch.deposits] == [first]
    assert outcome.blocked[0].number == "26000002"
    assert "Code service Chorus Pro exigé" in outcome.blocked[0].reason


def test_configured_endpoint_records_each_deposit_identifier(app, db_ctx, fake_chorus):
    from app.einvoicing.service import create_batch

    server, handler = fake_chorus
    _good, _other, first, second = _world(db_ctx)
    config = {
        **app.config,
        "CHORUS_API_URL": f"http://127.0.0.1:{server.server_port}",
        "CHORUS_API_TOKEN": "jeton-test",
    }
    with app.app_context():
        outcome = create_batch([first, second], created_by="compta", config=config)
        deposits = [(d.status, d.deposit_identifier) for d in outcome.batch.deposits]
    assert deposits == [("deposee", "DEP-1"), ("deposee", "DEP-2")]
    assert handler.received[0]["path"] == "/factures/v1/deposer/flux"
    assert handler.received[0]["auth"] == "Bearer jeton-test"
    assert handler.received[0]["syntaxeFlux"] == "IN_DP_E2_CII_FACTURX"
    assert handler.received[0]["nomFichier"] == "facture-26000001-facturx.pdf"


def test_a_failing_endpoint_leaves_invoices_not_deposited_and_the_batch_downloadable(
    app, db_ctx, fake_chorus
):
    from app.einvoicing.service import batch_archive, create_batch
    from app.extensions import db

    server, handler = fake_chorus
    handler.fail = True
    _good, _other, first, _second = _world(db_ctx)
    config = {
        **app.config,
        "CHORUS_API_URL": f"http://127.0.0.1:{server.server_port}",
        "CHORUS_API_TOKEN": "jeton-test",
    }
    with app.app_context():
        outcome = create_batch([first], created_by="compta", config=config)
        db.session.commit()
        assert outcome.errors and "HTTP 503" in outcome.errors[0]
        deposit = db.session.scalar(select(ChorusDeposit))
        assert deposit.status == "echec" and deposit.deposit_identifier is None
        assert batch_archive(outcome.batch.id, config) is not None


def test_accounting_produces_a_batch_on_the_screen_and_downloads_it(
    db_ctx, users, login, count_queries
):
    with db_ctx() as session:
        users_a = session.get(type(users.collectivity_a), users.collectivity_a.id)
        users_a.chorus_service_code = "SRV-A"
        first = _issue(users.collectivity_a.id).id
        _issue(users.collectivity_b.id, amount="50.00")
    web = login(users.comptabilite)
    with count_queries() as listed:
        page = web.get("/comptabilite/chorus/")
    assert page.status_code == 200 and listed.count <= 8
    text = page.get_data(as_text=True)
    assert "Factures émises à déposer" in text and "SRV-A" in text
    assert "n'est pas configurée" in text
    screen = "/comptabilite/chorus/"
    empty = web.post_form("/comptabilite/chorus/lot", {}, form_url=screen, follow_redirects=True)
    assert "Sélectionnez au moins une facture émise." in empty.get_data(as_text=True)
    done = web.post_form(
        "/comptabilite/chorus/lot",
        {"invoice": [str(first)]},
        form_url=screen,
        follow_redirects=True,
    )
    body = done.get_data(as_text=True)
    with db_ctx() as session:
        batch_id = session.scalar(select(ChorusDeposit.batch_id))
    assert f"Lot {batch_id} créé (1 facture(s))" in body and "Télécharger le lot" in body
    archive = web.get(f"/comptabilite/chorus/lot/{batch_id}.zip")
    assert archive.status_code == 200
    assert "manifeste.csv" in zipfile.ZipFile(io.BytesIO(archive.data)).namelist()
    assert web.get(f"/comptabilite/chorus/lot/{batch_id + 99}.zip").status_code == 404
    # Direction reads invoices but produces no batch; employers never open the screen.
    assert login(users.direction).get("/comptabilite/chorus/").status_code in (302, 403)
    assert login(users.primary_a).get(f"/comptabilite/chorus/lot/{batch_id}.zip").status_code in (
        302,
        403,
    )


def test_employer_gives_its_service_code_in_my_details(db_ctx, users, login):
    from app.referential.models import Collectivity

    web = login(users.primary_a)
    page = web.get("/portail/coordonnees/").get_data(as_text=True)
    assert "Code service Chorus Pro" in page
    data = {
        "main_line1": "2 rue Neuve",
        "main_postcode": "69160",
        "main_city": "Tassin",
        "contact_last_name": "BLANC",
        "contact_first_name": "Anne",
        "contact_email": "convocations@tassin.fr",
        "chorus_service_code": "SERVICE-RH",
        "chorus_engagement_number": "EJ-9",
    }
    assert web.post_form("/portail/coordonnees/", data).status_code == 302
    with db_ctx() as session:
        collectivity = session.get(Collectivity, users.collectivity_a.id)
        assert collectivity.chorus_service_code == "SERVICE-RH"
        assert collectivity.chorus_engagement_number == "EJ-9"


def test_demo_data_gives_service_codes_and_one_recorded_batch(app, db_ctx):
    from app.demo import load_demo
    from app.einvoicing.models import ChorusBatch
    from app.referential.models import Collectivity

    with db_ctx() as session:
        summary = load_demo(session, scale=20, seed=3)
        assert summary.get("lots de dépôt Chorus Pro") == 1
        assert session.scalar(select(ChorusBatch).where(ChorusBatch.created_by == "demo"))
        coded = session.scalars(
            select(Collectivity).where(Collectivity.chorus_service_code.is_not(None))
        ).all()
        assert len(coded) == 3
        deposit = session.scalar(select(ChorusDeposit).where(ChorusDeposit.status == "deposee"))
        assert deposit.deposit_identifier == "CPP-DEMO-0001"
