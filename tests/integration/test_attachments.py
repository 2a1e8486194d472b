"""Attachments of visit requests (SPEC E1: 5 PDFs of 1 MB at most, checked by content, with
their nature; a dispense needs the attestation de suivi) and their scoped downloads."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import encode_multipart

from app.visits.consultation_models import MedicalAccess
from app.visits.models import VisitRequest, VisitRequestAttachment
from tests.integration import test_visit_requests as requests_tests
from tests.unit.test_files import make_pdf
from tests.util import text

# The fixtures of the visit-request tests: A's agents with a position, B's, a plage, the clock.
API = requests_tests.API
setup = requests_tests.setup
mails = requests_tests.mails
frozen_clock = requests_tests.frozen_clock

PORTAL = "/portail/demandes-de-visite"
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00" + b"\x00" * 4000


def _url(agent):
    return f"{PORTAL}/agent/{agent.id}/nouvelle"


def _files(*items):
    """(content, name) pairs -> the ``pieces`` part of the form, fresh streams each time."""
    return [(io.BytesIO(content), name) for content, name in items]


def _count(db_ctx, model):
    with db_ctx() as session:
        return session.scalar(select(func.count()).select_from(model))


def _stored_files(app) -> list[Path]:
    root = Path(app.config["UPLOAD_DIR"])
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def multipart(client, url, data, headers=None):
    """POST ``data`` as multipart/form-data encoded in memory (the test client would spool a
    large body to a temporary file it never closes)."""
    fields = MultiDict()
    for key, value in data.items():
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, tuple):
                item = FileStorage(item[0], filename=item[1], content_type="application/pdf")
            fields.add(key, item)
    boundary, body = encode_multipart(fields)
    return client.post(
        url,
        data=body,
        headers=headers or {},
        content_type=f"multipart/form-data; boundary={boundary}",
    )


def _post(web, agent, pieces, natures, **fields):
    data = {"visit_type": "periodique", **fields, "pieces": pieces, "natures": natures}
    data["csrf_token"] = web.csrf_token(_url(agent))
    return multipart(web, _url(agent), data)


@pytest.fixture
def uploads(app):
    """The files under UPLOAD_DIR before the test (others' tests may have left some)."""
    return set(_stored_files(app))


def _new_files(app, before):
    return [p for p in _stored_files(app) if p not in before]


def test_an_employer_attaches_pdfs_with_their_nature_and_downloads_them(
    login, users, db_ctx, setup, app, uploads
):
    web = login(users.primary_a)
    form = web.get(_url(setup["agent"]))
    page = text(form)
    assert "Pièces jointes" in page and "5 fichiers PDF au plus, de 1 Mo chacun" in page
    assert "Attestation de suivi" in page and "Autorisation de conduite" in page
    created = _post(
        web,
        setup["agent"],
        _files((make_pdf("planning"), "Planning été.pdf"), (make_pdf("poste"), "fiche.pdf")),
        ["planning", "fiche_poste"],
    )
    assert created.status_code == 302, text(created)
    shown = text(web.get(created.headers["Location"]))
    assert "Planning_ete.pdf" in shown and "Fiche de poste" in shown
    with db_ctx() as session:
        rows = session.scalars(select(VisitRequestAttachment).order_by("id")).all()
        assert [(r.filename, r.nature.code) for r in rows] == [
            ("Planning_ete.pdf", "planning"),
            ("fiche.pdf", "fiche_poste"),
        ]
        first = rows[0]
        # Stored outside the web root under a random name, never the user's.
        assert "Planning" not in first.stored_path and first.stored_path.endswith(".pdf")
    assert len(_new_files(app, uploads)) == 2
    link = f"{PORTAL}/{first.visit_request_id}/pieces-jointes/{first.id}"
    download = web.get(link)
    assert download.status_code == 200 and download.data.startswith(b"%PDF")
    assert download.headers["Content-Disposition"].startswith("attachment;")
    assert "Planning_ete.pdf" in download.headers["Content-Disposition"]
    assert "no-store" in download.headers["Cache-Control"]
    staff = login(users.secretariat)
    queue_link = f"/demandes-de-visite/{first.visit_request_id}/pieces-jointes/{first.id}"
    assert staff.get(queue_link).status_code == 200
    # Another collectivity, a secondary account that does not manage the agent: not found.
    assert login(users.primary_b).get(link).status_code == 404
    assert login(users.secondary_a).get(link).status_code == 404


def test_a_forged_attachment_id_is_not_found(login, api_login, users, db_ctx, setup):
    web = login(users.primary_a)
    _post(web, setup["agent"], _files((make_pdf(), "a.pdf")), ["planning"])
    _post(web, setup["managed"], [], [])
    with db_ctx() as session:
        piece = session.scalar(select(VisitRequestAttachment))
        other = session.scalar(
            select(VisitRequest.id).where(VisitRequest.id != piece.visit_request_id)
        )
    assert web.get(f"{PORTAL}/{other}/pieces-jointes/{piece.id}").status_code == 404
    assert web.get(f"{PORTAL}/{piece.visit_request_id}/pieces-jointes/999999").status_code == 404
    api = api_login(users.primary_a)
    assert api.get(f"{API}{other}/attachment/{piece.id}").status_code == 404
    assert api.get(f"{API}{piece.visit_request_id}/attachment/{piece.id}").status_code == 200


@pytest.mark.parametrize(
    ("pieces", "natures", "message"),
    [
        (
            [(make_pdf(str(n)), f"p{n}.pdf") for n in range(6)],
            ["planning"] * 6,
            "5 pièces jointes au plus par demande",
        ),
        (
            [(b"%PDF-1.4\n" + b"0" * int(1.2 * 1024 * 1024), "scan.pdf")],
            ["justificatif"],
            "Le fichier « scan.pdf » dépasse 1 Mo",
        ),
        (
            [(EXE, "attestation.pdf")],
            ["attestation_suivi"],
            "Le fichier « attestation.pdf » n'est pas un PDF valide",
        ),
        ([(make_pdf(), "sans-nature.pdf")], [""], "Choisissez la nature de la pièce jointe"),
    ],
    ids=["sixth-file", "1.2-MB", "renamed-exe", "no-nature"],
)
def test_bad_attachments_are_refused_in_french_and_nothing_is_written(
    login, users, db_ctx, setup, app, uploads, pieces, natures, message
):
    web = login(users.primary_a)
    refused = _post(
        web, setup["agent"], _files(*pieces), natures, information="Pas le mercredi matin"
    )
    assert refused.status_code == 200
    page = text(refused)
    assert message in page
    assert "Pas le mercredi matin" in page  # what was typed is kept
    assert _count(db_ctx, VisitRequest) == 0 and _count(db_ctx, VisitRequestAttachment) == 0
    # Nothing stored as an attachment (valid files are only kept for the form shown again).
    assert [p for p in _new_files(app, uploads) if p.parent.name != "attente"] == []


def test_a_body_over_the_limit_is_refused_unread_with_a_french_message_on_the_form(
    login, users, db_ctx, setup, app, uploads
):
    web = login(users.primary_a)
    big = [(b"%PDF-1.4\n" + b"0" * (1024 * 1024), f"p{n}.pdf") for n in range(6)]
    refused = _post(web, setup["agent"], _files(*big), ["planning"] * 6)
    assert refused.status_code == 303
    assert refused.headers["Location"].endswith(_url(setup["agent"]))
    page = text(web.get(refused.headers["Location"]))
    assert "Les fichiers envoyés dépassent la taille autorisée" in page
    assert "Demande de rendez-vous" in page  # the form again, not an error page
    assert _count(db_ctx, VisitRequest) == 0 and _new_files(app, uploads) == []


def test_a_dispense_requires_the_attached_attestation_de_suivi(
    login,
    users,
    db_ctx,
    setup,
    mails,  # noqa: F811
):
    web = login(users.primary_a)
    fields = {"visit_type": "embauche", "dispense": "y"}
    refused = _post(
        web, setup["agent"], _files((make_pdf(), "planning.pdf")), ["planning"], **fields
    )
    assert refused.status_code == 200
    assert "nécessite la dernière attestation de suivi du salarié : joignez-la" in text(refused)
    assert _count(db_ctx, VisitRequest) == 0
    created = _post(
        web,
        setup["agent"],
        _files((make_pdf("attestation"), "attestation.pdf")),
        ["attestation_suivi"],
        attestation_on="15/01/2026",
        **fields,
    )
    assert created.status_code == 302, text(created)
    shown = text(web.get(created.headers["Location"]))
    assert "Demande de dispense d'embauche" in shown and "attestation.pdf" in shown
    assert "15/01/2026" in shown


def test_the_api_takes_attachments_as_multipart_and_lists_them(api_login, users, db_ctx, setup):
    api = api_login(users.primary_a)
    payload = {
        "agent_id": setup["agent"].id,
        "visit_type": "embauche",
        "details": {"dispense": True},
    }
    refused = api.post(API, json=payload)
    assert refused.status_code == 400
    assert "joignez-la en pièce jointe" in refused.get_json()["message"]
    response = multipart(
        api.client,
        API,
        {
            "payload": json.dumps(payload),
            "files": [(io.BytesIO(make_pdf()), "attestation.pdf")],
            "natures": ["Attestation de suivi"],  # a code or its French label
        },
        api.headers,
    )
    assert response.status_code == 201, response.get_json()
    result = api.get(f"{API}{response.get_json()['id']}").get_json()["result"]
    assert [(p["nature"], p["filename"]) for p in result["attachments"]] == [
        ("attestation_suivi", "attestation.pdf")
    ]
    piece = result["attachments"][0]["id"]
    download = api.get(f"{API}{result['id']}/attachment/{piece}")
    assert download.status_code == 200 and download.mimetype == "application/pdf"
    assert (
        api_login(users.primary_b).get(f"{API}{result['id']}/attachment/{piece}").status_code == 404
    )
    bad = multipart(
        api.client,
        API,
        {
            "payload": json.dumps({**payload, "details": {}}),
            "files": [(io.BytesIO(EXE), "x.pdf")],
            "natures": ["planning"],
        },
        api.headers,
    )
    assert bad.status_code == 400 and "n'est pas un PDF valide" in bad.get_json()["message"]


def test_reading_an_attached_medical_opinion_is_logged(login, users, db_ctx, setup):
    web = login(users.primary_a)
    _post(web, setup["agent"], _files((make_pdf("avis"), "avis.pdf")), ["avis_medical"])
    with db_ctx() as session:
        piece = session.scalar(select(VisitRequestAttachment))
    before = _count(db_ctx, MedicalAccess)
    staff = login(users.sante)
    url = f"/demandes-de-visite/{piece.visit_request_id}/pieces-jointes/{piece.id}"
    assert staff.get(url).status_code in (200, 403)
    assert (
        web.get(f"{PORTAL}/{piece.visit_request_id}/pieces-jointes/{piece.id}").status_code == 200
    )
    with db_ctx() as session:
        entries = session.scalars(select(MedicalAccess).order_by(MedicalAccess.id)).all()[before:]
        assert entries and "Pièce jointe « Avis médical »" in entries[-1].what
        assert entries[-1].username == users.primary_a.username


def test_valid_files_are_kept_when_the_form_is_refused_for_another_field(
    login, users, db_ctx, setup, app, uploads
):
    web = login(users.primary_a)
    fields = {"visit_type": "embauche", "dispense": "y"}
    refused = _post(
        web,
        setup["agent"],
        _files((make_pdf("planning"), "planning.pdf"), (EXE, "virus.pdf")),
        ["planning", "justificatif"],
        **fields,
    )
    page = refused.get_data(as_text=True)
    assert refused.status_code == 200
    assert "n'est pas un PDF valide" in text(refused)
    tokens = re.findall(r'name="kept" value="([^"]+)"', page)
    assert len(tokens) == 1 and "planning.pdf – Planning" in text(refused)
    assert "virus.pdf" not in re.sub(r"« virus.pdf »", "", text(refused))
    # The kept file comes back with the form; a forged token reopens nothing.
    created = _post(
        web,
        setup["agent"],
        _files((make_pdf("attestation"), "attestation.pdf")),
        ["attestation_suivi"],
        kept=[tokens[0], tokens[0][:-4] + "AAAA"],
        **fields,
    )
    assert created.status_code == 302, text(created)
    with db_ctx() as session:
        names = sorted(session.scalars(select(VisitRequestAttachment.filename)))
    assert names == ["attestation.pdf", "planning.pdf"]
    assert [p for p in _new_files(app, uploads) if p.parent.name == "attente"] == []


def test_a_kept_file_token_is_bound_to_its_user(app, users):
    from app.core import files

    with app.test_request_context():
        token = files.stage(make_pdf(), "a.pdf", users.primary_a.id, nature="planning")
        assert files.unstage(token, users.secondary_a.id) is None
        assert files.unstage(token + "x", users.primary_a.id) is None
        kept = files.unstage(token, users.primary_a.id)
        assert kept is not None and kept.filename == "a.pdf"
        files.delete(kept.path)


def test_the_api_refuses_a_body_over_the_limit_unread_in_french(api_login, users, db_ctx, setup):
    api = api_login(users.primary_a)
    big = [(io.BytesIO(b"%PDF-1.4\n" + b"0" * (1024 * 1024)), f"p{n}.pdf") for n in range(6)]
    response = multipart(api.client, API, {"payload": "{}", "files": big}, api.headers)
    assert response.status_code == 413
    assert "dépassent la taille autorisée" in response.get_json()["message"]
    assert _count(db_ctx, VisitRequest) == 0
