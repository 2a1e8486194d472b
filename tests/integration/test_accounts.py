"""Accounts (SPEC A3): first connection, password links, policy, lock-out, throttling, e-mail."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import select

from app import roles
from app.accounts import services
from app.accounts.models import AccountSecurity, PasswordToken, SecurityQuestion
from app.core.mail import outbox_entries
from app.core.types import utcnow
from app.models import User
from tests import factories
from tests.util import text

LINK_RE = re.compile(r"https?://[^\s]+/compte/mot-de-passe/([\w-]+)")


def _links(app) -> list[str]:
    with app.app_context():
        return [m.group(1) for entry in outbox_entries() for m in LINK_RE.finditer(entry.body)]


def _employer(db_ctx, question: bool = True, **kw):
    """An employer account; with ``question`` its holder has chosen « animal » / « Médor »."""
    with db_ctx() as session:
        collectivity = factories.make_collectivity(session)
        user = factories.make_user(session, roles.EMPLOYER_PRIMARY, collectivity=collectivity, **kw)
        if question:
            services.set_security_question(user.id, SecurityQuestion.animal, "Médor")
        return user, collectivity


def test_first_connection_sends_a_single_use_link_that_sets_a_valid_password(app, client, db_ctx):
    user, collectivity = _employer(db_ctx, question=False, username="rh.premiere")
    page = text(client.get("/login/"))
    assert "Première connexion" in page and "Mot de passe oublié" in page
    response = client.post_form(
        "/compte/premiere-connexion",
        {"username": "rh.premiere", "siret": collectivity.siret},
    )
    assert services.LINK_SENT in text(response)
    [token] = _links(app)
    with app.app_context():
        [entry] = outbox_entries()
    assert entry.to == user.email and "Première connexion" in entry.subject

    form_url = f"/compte/mot-de-passe/{token}"
    secret = {"question": "ami_enfance", "answer": "Bérénice"}
    weak = client.post_form(
        form_url, {"password": "motdepasse", "confirmation": "motdepasse", **secret}
    )
    assert "au moins 8 caractères, dont une majuscule" in text(weak)
    mismatch = client.post_form(
        form_url, {"password": "Nouveau-Pass1", "confirmation": "Nouveau-Pass2", **secret}
    )
    assert "différents" in text(mismatch)
    # The first password comes with the secret question the holder chooses (not the SIRET).
    page = text(client.get(form_url))
    assert "Question de sécurité" in page and "Numéro SIRET" not in page
    no_question = client.post_form(
        form_url, {"password": "Nouveau-Pass1", "confirmation": "Nouveau-Pass1"}
    )
    assert no_question.status_code == 200 and "Ce champ est obligatoire" in text(no_question)
    done = client.post_form(
        form_url, {"password": "Nouveau-Pass1", "confirmation": "Nouveau-Pass1", **secret}
    )
    assert done.status_code == 302
    with db_ctx() as session:
        assert session.get(AccountSecurity, user.id).security_question.name == "ami_enfance"

    again = client.get(form_url)
    assert again.status_code == 410 and "Ce lien n'est plus valable" in text(again)
    fresh = app.test_client()
    from tests.conftest import WebClient

    assert isinstance(client, WebClient)
    assert (
        fresh.post(
            "/api/v1/security/login",
            json={"username": "rh.premiere", "password": "Nouveau-Pass1", "provider": "db"},
        ).status_code
        == 200
    )


def test_answers_never_reveal_whether_an_identifier_exists(app, client, db_ctx):
    _employer(db_ctx, username="rh.existe")
    unknown = client.post_form(
        "/compte/mot-de-passe-oublie",
        {"username": "personne", "question": "animal", "answer": "123"},
    )
    wrong = client.post_form(
        "/compte/mot-de-passe-oublie",
        {"username": "rh.existe", "question": "animal", "answer": "mauvaise"},
    )
    wrong_question = client.post_form(
        "/compte/mot-de-passe-oublie",
        {"username": "rh.existe", "question": "nom_mere", "answer": "Médor"},
    )
    bodies = [text(r) for r in (unknown, wrong, wrong_question)]
    assert all(services.LINK_SENT in body for body in bodies)
    # Same page whatever the case (only the CSRF token differs).
    assert len({re.sub(r'value="[^"]*"', "", body) for body in bodies}) == 1
    assert _links(app) == []


def test_an_expired_link_is_refused(app, client, db_ctx):
    user, collectivity = _employer(db_ctx, username="rh.expire")
    client.post_form(
        "/compte/mot-de-passe-oublie",
        {"username": "rh.expire", "question": "animal", "answer": "médor "},
    )
    [token] = _links(app)
    with db_ctx() as session:
        for row in session.scalars(select(PasswordToken).where(PasswordToken.user_id == user.id)):
            row.expires_at = utcnow() - dt.timedelta(minutes=1)
    response = client.get(f"/compte/mot-de-passe/{token}")
    assert response.status_code == 410
    assert client.get("/compte/mot-de-passe/n-importe-quoi").status_code == 410


def test_a_user_cannot_change_his_own_email(login, users, db_ctx):
    web = login(users.primary_a)
    page = text(web.get("/compte/moi/"))
    assert users.primary_a.email in page and "ne pouvez pas la modifier" in page
    web.post_form(
        "/userinfoeditview/form",
        {"first_name": "Paul", "last_name": "Durand", "email": "autre@pirate.fr"},
    )
    with db_ctx() as session:
        user = session.get(User, users.primary_a.id)
        assert user.email == users.primary_a.email


def test_changing_the_password_asks_for_the_current_one(login, users, db_ctx, app):
    web = login(users.secretariat)
    wrong = web.post_form(
        "/compte/moi/mot-de-passe",
        {"current": "Faux-Pass1", "password": "Autre-Pass9", "confirmation": "Autre-Pass9"},
        form_url="/compte/moi/",
    )
    assert "Le mot de passe actuel est incorrect." in text(wrong)
    ok = web.post_form(
        "/compte/moi/mot-de-passe",
        {"current": factories.PASSWORD, "password": "Autre-Pass9", "confirmation": "Autre-Pass9"},
        form_url="/compte/moi/",
    )
    assert ok.status_code == 302
    raw = app.test_client()
    assert (
        raw.post(
            "/api/v1/security/login",
            json={
                "username": users.secretariat.username,
                "password": "Autre-Pass9",
                "provider": "db",
            },
        ).status_code
        == 200
    )


def test_the_security_question_can_be_changed_with_the_current_password(login, users, db_ctx):
    web = login(users.sante)
    refused = web.post_form(
        "/compte/moi/question",
        {"question": "animal", "answer": "Médor", "current": "Faux-Pass1"},
        form_url="/compte/moi/",
    )
    assert "Le mot de passe actuel est incorrect." in text(refused)
    accepted = web.post_form(
        "/compte/moi/question",
        {"question": "animal", "answer": "Médor", "current": factories.PASSWORD},
        form_url="/compte/moi/",
    )
    assert accepted.status_code == 302
    with db_ctx() as session:
        security = session.get(AccountSecurity, users.sante.id)
        assert security.security_question.name == "animal"
        assert "Médor" not in (security.security_answer_hash or "")


@pytest.mark.parametrize("channel", ["web", "api"])
def test_repeated_failures_lock_the_account_for_a_while(app, client, users, db_ctx, channel):
    username = users.comptabilite.username

    def attempt(password: str) -> bool:
        if channel == "web":
            response = client.post_form("/login/", {"username": username, "password": password})
            return "/login" not in response.headers.get("Location", "/login")
        response = app.test_client().post(
            "/api/v1/security/login",
            json={"username": username, "password": password, "provider": "db"},
        )
        return response.status_code == 200

    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        assert not attempt("Mauvais-Pass1")
    assert not attempt(factories.PASSWORD), (
        "the right password is refused while the account is locked"
    )
    if channel == "web":
        page = text(client.get("/login/"))
        assert "la connexion est suspendue" in page
    with db_ctx() as session:
        session.get(AccountSecurity, users.comptabilite.id).locked_until = utcnow() - dt.timedelta(
            seconds=1
        )
    assert attempt(factories.PASSWORD)


def test_the_web_login_and_the_api_login_are_throttled(throttled_app):
    client = throttled_app.test_client()
    statuses = [
        client.post(
            "/api/v1/security/login", json={"username": "x", "password": "y", "provider": "db"}
        ).status_code
        for _ in range(12)
    ]
    assert statuses[0] == 401 and statuses[-1] == 429
    token = client.csrf_token()
    web = [
        client.post(
            "/login/", data={"username": "x", "password": "y", "csrf_token": token}
        ).status_code
        for _ in range(12)
    ]
    assert web[0] == 302 and web[-1] == 429


def test_staff_open_a_primary_account_whose_holder_receives_a_link(app, login, users, db_ctx):
    web = login(users.secretariat)
    response = web.post_form(
        "/comptes-employeurs/nouveau/",
        {
            "collectivity_id": users.collectivity_b.id,
            "username": "drh.b",
            "last_name": "MARTIN",
            "first_name": "Léa",
            "email": "Drh.B@Commune-b.fr",
        },
    )
    assert response.status_code == 302
    assert len(_links(app)) == 1
    with db_ctx() as session:
        user = session.scalar(select(User).where(User.username == "drh.b"))
        assert user.email == "drh.b@commune-b.fr"
        assert [r.name for r in user.roles] == [roles.EMPLOYER_PRIMARY]
    page = text(web.get("/comptes-employeurs/list/"))
    assert "drh.b@commune-b.fr" in page and "Compte principal" in page
    duplicate = web.post_form(
        "/comptes-employeurs/nouveau/",
        {
            "collectivity_id": users.collectivity_b.id,
            "username": "drh.b2",
            "last_name": "X",
            "first_name": "Y",
            "email": "drh.b@commune-b.fr",
        },
    )
    assert "déjà utilisée" in text(duplicate)


def test_an_api_update_with_a_bad_value_is_a_french_422(api_login, users, db_ctx):
    from tests.isolation import make_agent

    with db_ctx() as session:
        agent = make_agent(session, users.collectivity_a)
    api = api_login(users.primary_a)
    response = api.put(f"/api/v1/agent/{agent.id}", json={"birth_date": "pas une date"})
    assert response.status_code == 422
    assert response.get_json()["message"]["birth_date"][0].startswith("Date invalide")
