"""E-mails of an employer's booking and cancellation (SPEC A6): to the collectivity's
convocation contact and to the secretariat, once, and only when the action went through."""

from __future__ import annotations

from app.core.mail import outbox_entries
from tests.integration import test_planning as planning_tests
from tests.integration.test_planning import _book

# The planning tests' fixtures: a frozen clock, an office, plages, an agent of A.
frozen_clock = planning_tests.frozen_clock
setup = planning_tests.setup

SECRETARIAT = "secretariat@medecineprev.local"


def test_a_booking_mails_the_convocation_contact_and_the_secretariat_once(
    app, api_login, users, setup
):
    app.config["SECRETARIAT_EMAIL"] = SECRETARIAT
    api = api_login(users.primary_a)
    assert _book(api, setup["reserved_a"], setup["agent"]).status_code == 201
    # A double submit is refused and sends nothing more.
    assert _book(api, setup["reserved_a"], setup["agent"]).status_code == 400
    with app.app_context():
        mails = outbox_entries()
    assert sorted(mail.to for mail in mails) == ["convocations@a.fr", SECRETARIAT]
    for mail in mails:
        assert mail.subject.startswith("Rendez-vous réservé – ")
        for detail in ("DURAND Léa", "09/03/2026", "08:00", "Cabinet de Tassin", "Périodique"):
            assert detail in mail.body, detail


def test_an_employer_cancellation_mails_both_with_its_outcome(app, api_login, users, setup):
    app.config["SECRETARIAT_EMAIL"] = SECRETARIAT
    api = api_login(users.primary_a)
    booked = _book(api, setup["reserved_a"], setup["agent"]).get_json()
    assert api.post(f"/api/v1/appointment/{booked['id']}/cancel").status_code == 200
    with app.app_context():
        cancelled = [m for m in outbox_entries() if m.subject.startswith("Rendez-vous annulé")]
    assert sorted(mail.to for mail in cancelled) == ["convocations@a.fr", SECRETARIAT]
    assert all("Annulé (absence justifiée)" in mail.body for mail in cancelled)


def test_a_secretariat_booking_sends_no_employer_notice(app, api_login, users, setup):
    api = api_login(users.secretariat)
    assert _book(api, setup["reserved_a"], setup["agent"]).status_code == 201
    with app.app_context():
        assert outbox_entries() == []
