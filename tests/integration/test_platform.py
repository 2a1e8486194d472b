"""Platform conventions: mail outbox, money and time storage, demo data, French catalogue, no CDN."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from pathlib import Path

from sqlalchemy import select

from app.core.mail import outbox_entries, send_mail
from app.extensions import db
from app.models import AuditLog, Collectivity, Convention, Mission, Tariff


def test_mail_leaves_only_when_the_transaction_commits(app, db_ctx, login, users):
    with app.app_context():
        send_mail("rh@commune.fr", "Annulé", "Ce message ne doit pas partir.")
        db.session.rollback()
        db.session.remove()
    with db_ctx():
        send_mail(
            "rh@commune.fr",
            "Convocation du 05/03/2026",
            "Madame, Monsieur,\nVotre agent est convoqué.",
        )
    with app.app_context():
        entries = outbox_entries()
    assert [e.subject for e in entries] == ["Convocation du 05/03/2026"]
    assert "Votre agent est convoqué." in entries[0].body
    page = login(users.admin).get("/courriels/").get_data(as_text=True)
    assert "Convocation du 05/03/2026" in page and "rh@commune.fr" in page


def test_money_and_rates_are_exact_decimals(db_ctx, users):
    with db_ctx() as session:
        tariff = Tariff(
            code="test_rate",
            key="",
            label="Taux",
            value=Decimal("0.0040875"),
            unit="%",
            valid_from=dt.date(2025, 1, 1),
        )
        mission = session.scalar(select(Mission).where(Mission.code == "msc"))
        convention = Convention(
            number="T-1",
            mission_id=mission.id,
            collectivity_id=users.collectivity_a.id,
            start_date=dt.date(2025, 1, 1),
            end_date=dt.date(2027, 12, 31),
            declared_payroll=Decimal("3000000.01"),
        )
        session.add_all([tariff, convention])
    with db_ctx() as session:
        assert session.scalar(select(Tariff.value).where(Tariff.code == "test_rate")) == Decimal(
            "0.0040875"
        )
        payrolls = session.scalars(
            select(Convention.declared_payroll)
            .where(Convention.declared_payroll.is_not(None))
            .order_by(Convention.declared_payroll)
        ).all()
        assert payrolls[-1] == Decimal("3000000.01")


def test_system_timestamps_are_aware_utc(db_ctx, users):
    with db_ctx() as session:
        collectivity = session.get(Collectivity, users.collectivity_a.id)
        assert collectivity.created_at.tzinfo is not None
        assert collectivity.created_at.utcoffset() == dt.timedelta(0)
        entry = session.scalars(select(AuditLog).order_by(AuditLog.id.desc())).first()
        assert entry.at.tzinfo is not None


def test_demo_data_is_deterministic_for_a_seed(app):
    from app.demo import load_demo

    snapshots = []
    for _ in range(2):
        with app.app_context():
            connection = db.engine.connect()
            transaction = connection.begin()
            db.session.remove()
            db.session.configure(bind=connection)
            try:
                load_demo(db.session, scale=300, seed=42)
                snapshots.append(
                    db.session.execute(
                        select(
                            Collectivity.name,
                            Collectivity.siret,
                            Collectivity.kind,
                            Collectivity.category,
                        ).order_by(Collectivity.membership_number)
                    ).all()
                )
            finally:
                db.session.remove()
                transaction.rollback()
                connection.close()
    assert snapshots[0] == snapshots[1]
    kinds = {row.kind.name for row in snapshots[0]}
    categories = {row.category.name for row in snapshots[0]}
    assert {"commune", "epci", "ccas", "syndicat", "departement", "region"} <= kinds
    assert categories == {"affiliee", "non_affiliee_800_plus", "non_affiliee_moins_800", "region"}


def _key(value):
    return tuple(value) if isinstance(value, (list, tuple)) else value


def test_compiled_french_catalogue_matches_its_source():
    from babel.messages.mofile import read_mo
    from babel.messages.pofile import read_po

    folder = Path(__file__).resolve().parents[2] / "app" / "translations" / "fr" / "LC_MESSAGES"
    with (
        open(folder / "messages.po", "rb") as source,
        open(folder / "messages.mo", "rb") as compiled,
    ):
        po = {_key(m.id): _key(m.string) for m in read_po(source) if m.id}
        mo = {_key(m.id): _key(m.string) for m in read_mo(compiled) if m.id}
    assert po == mo, "run: pybabel compile -d app/translations -D messages -l fr"
    assert all(po.values()), "every message has a French translation"


EXTERNAL = re.compile(r"""(?:src|href)\s*=\s*["'](?:https?:)?//(?!127\.0\.0\.1|localhost)""", re.I)


def test_no_page_loads_anything_from_a_third_party_server(login, users):
    web = login(users.admin)
    for url in (
        "/",
        "/collectivityview/list/",
        "/collectivityview/add",
        "/officeview/list/",
        "/auditlogview/list/",
        "/courriels/",
        "/users/list/",
        "/swagger/v1",
    ):
        page = web.get(url).get_data(as_text=True)
        assert not EXTERNAL.search(page), url
    static_root = Path(__file__).resolve().parents[2] / "app"
    for path in (
        list(static_root.rglob("*.html"))
        + list(static_root.rglob("*.js"))
        + list(static_root.rglob("*.css"))
    ):
        assert not re.search(
            r"https?://(?:fonts\.googleapis|www\.gstatic|cdn\.|cdnjs\.|unpkg\.)",
            path.read_text(encoding="utf-8"),
        ), path


def test_the_google_chart_page_of_flask_appbuilder_is_gone(login, users):
    web = login(users.admin)
    assert web.get("/userstatschartview/chart/").status_code == 404


def test_an_employer_sees_only_his_collectivity_in_the_staff_list(login, users):
    web = login(users.primary_a)
    page = web.get("/collectivityview/list/").get_data(as_text=True)
    assert "Commune A" in page and "Commune B" not in page
    assert web.get(f"/collectivityview/show/{users.collectivity_b.id}").status_code == 404


def test_mail_goes_through_smtp_when_a_server_is_configured(app, db_ctx, monkeypatch):
    import smtplib

    sent = []

    class FakeSMTP:
        def __init__(self, host, port, timeout):
            sent.append(("connect", host, port))

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def starttls(self):
            sent.append(("starttls",))

        def login(self, user, password):
            sent.append(("login", user))

        def send_message(self, message):
            sent.append(("send", message["To"], message["Subject"]))

    monkeypatch.setattr(smtplib, "SMTP", FakeSMTP)
    monkeypatch.setitem(app.config, "MAIL_SERVER", "smtp.cdg.example")
    monkeypatch.setitem(app.config, "MAIL_PORT", 587)
    monkeypatch.setitem(app.config, "MAIL_USERNAME", "medprev")
    with db_ctx():
        send_mail("rh@commune.fr", "Rappel", "Bonjour")
    assert sent == [
        ("connect", "smtp.cdg.example", 587),
        ("starttls",),
        ("login", "medprev"),
        ("send", "rh@commune.fr", "Rappel"),
    ]
    with app.app_context():
        assert outbox_entries() == [], "nothing written to the outbox when SMTP is used"
