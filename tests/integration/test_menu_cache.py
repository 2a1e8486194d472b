"""The navbar's menu is kept per identity (issue 9): a role change shows on the next request,
and one account's menu is never served to another."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import text

from app import roles
from tests import factories

MENU_LINK = re.compile(r'<a tabindex="-1" href="([^"]*)"')


def _menu(web: Any) -> set[str]:
    page = web.get("/compte/moi/")
    assert page.status_code == 200, page.status_code
    return set(MENU_LINK.findall(page.get_data(as_text=True)))


def _role_id(session: Any, name: str) -> int:
    from flask import current_app

    return int(current_app.appbuilder.sm.find_role(name).id)


def test_role_change_shows_in_the_menu_at_once(users: Any, login: Any, db_ctx: Any) -> None:
    accountant = _menu(login(users.comptabilite))
    web = login(users.secretariat)
    secretariat = _menu(web)
    assert secretariat != accountant
    assert _menu(web) == secretariat  # kept: the same menu on the next page

    # A role changed behind the application's back (its security stamp unchanged): the roles
    # are part of the key, so the very next page shows the new role's menu.
    with db_ctx() as session:
        session.execute(
            text("UPDATE ab_user_role SET role_id = :role WHERE user_id = :user"),
            {"role": _role_id(session, roles.COMPTABILITE), "user": users.secretariat.id},
        )
    assert _menu(web) == accountant

    # Through the application: the stamp rotates (the session ends) and the next login shows
    # the new role's menu, not the one kept for the old stamp.
    with db_ctx() as session:
        from app.models import User

        user = session.get(User, users.secretariat.id)
        user.roles = [session.get(type(user.roles[0]), _role_id(session, roles.SECRETARIAT))]
    assert web.get("/compte/moi/").status_code == 302
    assert _menu(login(users.secretariat)) == secretariat


def test_two_accounts_never_share_a_menu(users: Any, login: Any, db_ctx: Any) -> None:
    with db_ctx() as session:
        lone = factories.make_user(session, roles.EMPLOYER_PRIMARY)  # no collectivity yet
    staff, employer, without = login(users.secretariat), login(users.primary_a), login(lone)
    menus = {"staff": _menu(staff), "employer": _menu(employer), "without": _menu(without)}
    # Same role, but no collectivity: the portal's screens are not offered, the membership
    # wizard is (and only to him).
    assert "/adhesion/" in menus["without"] and "/adhesion/" not in menus["employer"]
    assert menus["without"] - {"/adhesion/"} < menus["employer"]
    assert menus["staff"] != menus["employer"]
    for _ in range(2):  # interleaved requests each get their own account's menu
        assert _menu(employer) == menus["employer"]
        assert _menu(without) == menus["without"]
        assert _menu(staff) == menus["staff"]

    # Given a collectivity, the same account (same stamp, same roles) sees the portal at once.
    with db_ctx() as session:
        from app.accounts.models import PortalMembership

        session.add(PortalMembership(user_id=lone.id, collectivity_id=users.collectivity_b.id))
    assert _menu(without) == menus["employer"]
