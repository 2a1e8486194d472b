"""Identities that cannot be inherited and sessions that can be revoked (issue 8, findings 1-2),
passwords that are not common nor reused (finding 9), password links that are throttled and
protected by a secret the holder chose (finding 8)."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect, text

from app import roles
from app.accounts import services
from app.accounts.models import AccountSecurity, SecurityQuestion
from app.core.mail import outbox_entries
from app.extensions import metadata
from app.models import User
from tests import factories
from tests.util import text as page_text

NEW_PASSWORD = "Hortensia-Bleu-42"


def _login_api(app, username, password=factories.PASSWORD):
    raw = app.test_client()
    response = raw.post(
        "/api/v1/security/login",
        json={"username": username, "password": password, "provider": "db", "refresh": True},
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    tokens = response.get_json()
    return raw, tokens["access_token"], tokens["refresh_token"]


def _bearer(token):
    return {"Authorization": f"Bearer {token}"}


def _signed_in(response) -> bool:
    return response.status_code == 200


def _replay(app, web):
    """A fresh client holding a copy of ``web``'s session cookie (a stolen cookie)."""
    thief = app.test_client()
    thief.set_cookie("session", web.get_cookie("session").value)
    return thief


# ----------------------------------------------------------------------------------------------
# Finding 1: ids are never reused, and an id alone is not an identity
# ----------------------------------------------------------------------------------------------


def test_deleting_the_newest_user_never_frees_its_id(db_ctx):
    with db_ctx() as session:
        first = factories.make_user(session, roles.SECRETARIAT)
        freed = first.id
    with db_ctx() as session:
        session.delete(session.get(User, freed))
    with db_ctx() as session:
        second = factories.make_user(session, roles.SECRETARIAT)
        assert second.id > freed


def test_every_table_with_its_own_integer_key_never_reuses_ids(app, db_ctx):
    with db_ctx() as session:
        dialect = session.get_bind().dialect.name
        tables = [
            table
            for table in metadata.sorted_tables
            if len(table.primary_key.columns) == 1
            and not list(table.primary_key.columns)[0].foreign_keys
            and list(table.primary_key.columns)[0].type.python_type is int
            # A natural key (invoice_sequence.year) is no generated id.
            and list(table.primary_key.columns)[0].autoincrement is not False
        ]
        assert len(tables) > 30
        reused = []
        for table in tables:
            key = list(table.primary_key.columns)[0].name
            if dialect == "sqlite":
                sql = session.execute(
                    text("SELECT sql FROM sqlite_master WHERE type='table' AND name=:n"),
                    {"n": table.name},
                ).scalar()
                if "AUTOINCREMENT" not in sql.upper():
                    reused.append(table.name)
            else:
                columns = inspect(session.get_bind()).get_columns(table.name)
                column = next(c for c in columns if c["name"] == key)
                if "nextval" not in str(column.get("default") or "") and not column.get("identity"):
                    reused.append(table.name)
    assert reused == []


def test_a_deleted_accounts_cookie_and_tokens_never_act_as_a_new_account_with_its_id(
    app, users, login, db_ctx
):
    web = login(users.secondary_a)
    _, access, refresh = _login_api(app, users.secondary_a.username)
    old_id = users.secondary_a.id
    with db_ctx() as session:
        session.delete(session.get(User, old_id))
    # The worst case: a Secrétariat account created with the freed id (forced here; ids are
    # never reused, see above).
    with db_ctx() as session:
        factories.make_user_with_id(session, old_id, roles.SECRETARIAT, "secretariat.nouveau")
    raw = app.test_client()
    assert raw.get("/api/v1/agent/", headers=_bearer(access)).status_code == 401
    assert raw.post("/api/v1/security/refresh", headers=_bearer(refresh)).status_code == 401
    assert not _signed_in(_replay(app, web).get("/compte/moi/"))


# ----------------------------------------------------------------------------------------------
# Finding 2: logout, password change, deactivation and role change revoke at once
# ----------------------------------------------------------------------------------------------


def test_logout_ends_the_cookie_the_access_token_and_the_refresh_token(app, users, login):
    web = login(users.primary_a)
    _, access, refresh = _login_api(app, users.primary_a.username)
    stolen = _replay(app, web)
    assert _signed_in(stolen.get("/compte/moi/"))
    web.get("/logout/")
    assert not _signed_in(stolen.get("/compte/moi/"))
    raw = app.test_client()
    assert raw.get("/api/v1/agent/", headers=_bearer(access)).status_code == 401
    assert raw.post("/api/v1/security/refresh", headers=_bearer(refresh)).status_code == 401
    # Signing in again works.
    assert _signed_in(login(users.primary_a).get("/compte/moi/"))


def test_a_password_change_ends_the_other_sessions_and_keeps_the_current_one(app, users, login):
    web = login(users.primary_a)
    other = login(users.primary_a)
    _, access, _ = _login_api(app, users.primary_a.username)
    response = web.post_form(
        "/compte/moi/mot-de-passe",
        {"current": factories.PASSWORD, "password": NEW_PASSWORD, "confirmation": NEW_PASSWORD},
        form_url="/compte/moi/",
    )
    assert response.status_code == 302
    current = web.get("/compte/moi/")
    assert _signed_in(current) and "Vos autres connexions" in page_text(current)
    assert not _signed_in(other.get("/compte/moi/"))
    assert app.test_client().get("/api/v1/agent/", headers=_bearer(access)).status_code == 401


def test_deactivating_a_secondary_account_ends_its_sessions(app, users, login, db_ctx):
    web = login(users.secondary_a)
    _, access, _ = _login_api(app, users.secondary_a.username)
    primary = login(users.primary_a)
    response = primary.post_form(
        f"/portail/comptes-secondaires/{users.secondary_a.id}",
        {"last_name": "SECOND", "first_name": "Compte"},
    )
    assert response.status_code == 302
    with db_ctx() as session:
        assert session.get(User, users.secondary_a.id).active is False
    assert not _signed_in(web.get("/compte/moi/"))
    assert app.test_client().get("/api/v1/agent/", headers=_bearer(access)).status_code == 401


def test_a_role_change_ends_the_sessions(app, users, login, db_ctx):
    web = login(users.direction)
    _, access, _ = _login_api(app, users.direction.username)
    with db_ctx() as session:
        user = session.get(User, users.direction.id)
        user.roles = [app.appbuilder.sm.find_role(roles.COMPTABILITE)]
    assert not _signed_in(web.get("/compte/moi/"))
    assert app.test_client().get("/api/v1/agent/", headers=_bearer(access)).status_code == 401


def test_a_token_without_stamp_or_with_a_forged_subject_is_refused(app, users):
    from flask_jwt_extended import create_access_token

    with app.test_request_context():
        forged = create_access_token(
            identity=str(users.admin.id), additional_claims={"stamp": "devine"}
        )
    response = app.test_client().get("/api/v1/agent/", headers=_bearer(forged))
    assert response.status_code == 401
    assert "reconnectez-vous" in response.get_json()["message"]


# ----------------------------------------------------------------------------------------------
# Finding 9: common and reused passwords
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("password", ["Password1!", "Azerty1!", "P@ssw0rd!", "Soleil2024!"])
def test_common_passwords_are_refused_even_dressed_up(users, login, password):
    web = login(users.primary_a)
    response = web.post_form(
        "/compte/moi/mot-de-passe",
        {"current": factories.PASSWORD, "password": password, "confirmation": password},
        form_url="/compte/moi/",
    )
    assert response.status_code == 200
    assert "fait partie des plus courants" in page_text(response)


def test_the_last_five_passwords_cannot_be_chosen_again(users, login, db_ctx):
    web = login(users.primary_a)
    history = [f"Hortensia-Bleu-{n}" for n in range(6)]

    def change(current, new):
        return web.post_form(
            "/compte/moi/mot-de-passe",
            {"current": current, "password": new, "confirmation": new},
            form_url="/compte/moi/",
        )

    assert change(factories.PASSWORD, history[0]).status_code == 302
    same = change(history[0], history[0])
    assert "déjà utilisé ce mot de passe" in page_text(same)
    for current, new in zip(history, history[1:], strict=False):
        assert change(current, new).status_code == 302
    # The current one and the four before it are refused; the sixth back is allowed again.
    for old in history[1:]:
        assert "déjà utilisé ce mot de passe" in page_text(change(history[-1], old))
    assert change(history[-1], history[0]).status_code == 302


def test_the_cli_refuses_a_common_password(cli):
    result = cli.invoke(
        args=[
            "users",
            "create",
            "--username",
            "commun",
            "--email",
            "commun@cdg.fr",
            "--password",
            "Azerty1!",
            "--role",
            roles.SECRETARIAT,
            "--first-name",
            "Com",
            "--last-name",
            "MUN",
        ]
    )
    assert result.exit_code != 0 and "plus courants" in result.output


# ----------------------------------------------------------------------------------------------
# Finding 8: a secret the holder chose, and throttled links
# ----------------------------------------------------------------------------------------------


def _account(db_ctx, question=True, **kw):
    with db_ctx() as session:
        collectivity = factories.make_collectivity(session)
        user = factories.make_user(session, roles.EMPLOYER_PRIMARY, collectivity=collectivity, **kw)
        if question:
            services.set_security_question(user.id, SecurityQuestion.animal, "Médor")
        return user, collectivity


def _mails(app, user):
    with app.app_context():
        return [entry for entry in outbox_entries() if entry.to == user.email]


def test_the_public_siret_is_no_longer_a_security_answer(app, client, db_ctx):
    user, collectivity = _account(db_ctx, question=False, username="rh.siret")
    with db_ctx():
        # An account of the previous version, whose « secret » was the SIRET.
        services.set_security_question(user.id, SecurityQuestion.siret, collectivity.siret)
    client.post_form(
        "/compte/mot-de-passe-oublie",
        {"username": "rh.siret", "question": "siret", "answer": collectivity.siret},
    )
    assert _mails(app, user) == []
    page = page_text(client.get("/compte/mot-de-passe-oublie"))
    assert "SIRET" not in page.split("Question de sécurité", 1)[1]
    # New accounts start without a question: the holder chooses one with his first password.
    with app.app_context():
        assert not services.has_chosen_question(user.id)


def test_first_connection_stops_once_the_holder_chose_his_secret(app, client, db_ctx):
    user, collectivity = _account(db_ctx, question=True, username="rh.deja")
    client.post_form(
        "/compte/premiere-connexion", {"username": "rh.deja", "siret": collectivity.siret}
    )
    assert _mails(app, user) == []


def test_an_account_gets_at_most_three_links_an_hour(app, client, db_ctx):
    user, _ = _account(db_ctx, username="rh.spam")
    for _ in range(5):
        response = client.post_form(
            "/compte/mot-de-passe-oublie",
            {"username": "rh.spam", "question": "animal", "answer": "Médor"},
        )
        assert services.LINK_SENT in page_text(response)
    assert len(_mails(app, user)) == services.LINKS_PER_HOUR


def test_wrong_answers_lock_the_account_like_wrong_passwords(app, client, login, db_ctx):
    user, _ = _account(db_ctx, username="rh.devine")
    for guess in ["Rex", "Milou", "Félix", "Idefix", "Pluto", "Snoopy"]:
        client.post_form(
            "/compte/mot-de-passe-oublie",
            {"username": "rh.devine", "question": "animal", "answer": guess},
        )
    with db_ctx() as session:
        assert session.get(AccountSecurity, user.id).locked_until is not None
    # Locked: even the right answer sends nothing, and the right password is refused.
    client.post_form(
        "/compte/mot-de-passe-oublie",
        {"username": "rh.devine", "question": "animal", "answer": "Médor"},
    )
    assert _mails(app, user) == []
    refused = app.test_client()
    response = refused.post(
        "/api/v1/security/login",
        json={"username": "rh.devine", "password": factories.PASSWORD, "provider": "db"},
    )
    assert response.status_code == 401


def test_link_requests_are_throttled_per_address(throttled_app):
    client = throttled_app.test_client()
    statuses = [
        client.post_form(
            "/compte/mot-de-passe-oublie",
            {"username": "personne", "question": "animal", "answer": "x"},
        ).status_code
        for _ in range(12)
    ]
    assert statuses[0] == 200 and statuses[-1] == 429
    first = [
        client.post_form(
            "/compte/premiere-connexion",
            {"username": "personne", "siret": "1"},
            form_url="/compte/mot-de-passe-oublie",
        ).status_code
        for _ in range(12)
    ]
    assert first[-1] == 429
    with throttled_app.app_context():
        from app.extensions import db

        db.session.remove()
