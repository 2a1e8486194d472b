"""Security stamps: a session or an API token belongs to one state of one account.

An integer id alone is not an identity: a deleted account's id could name another one, and a
signed cookie or a JWT stays valid after logout. Every account has a random ``security_stamp``
(``AccountSecurity``). The session stores it beside the user id at login; access and refresh
tokens carry it as the ``stamp`` claim. Loading the user of a request (cookie or token) requires
the stamp to match, in the same query that loads the user. The stamp changes when the password,
the ``active`` flag or the roles change (a flush hook on ``User``, whatever code changed them),
and at logout; a deleted account takes its row with it. Every session and token of the account
then stops working at once, in every worker, and after a restart, with no deny-list to keep.
"""

from __future__ import annotations

import hmac
from typing import Any

from flask import has_request_context, session
from flask_appbuilder.security.sqla.models import Group, User
from sqlalchemy import event, inspect, select
from sqlalchemy.orm import Session, joinedload

from app.accounts.models import AccountSecurity, PasswordHistory, new_security_stamp

SESSION_KEY = "_stamp"
REVOKED = (
    "Ce jeton n'est plus valable (déconnexion, mot de passe ou droits modifiés, compte "
    "désactivé ou supprimé) : reconnectez-vous."
)
CLAIM = "stamp"


def _session() -> Any:
    from app.extensions import db

    return db.session


def stamp_of(user_id: int) -> str:
    """The account's current stamp; an account without a security row gets one (committed)."""
    db_session = _session()
    security = db_session.get(AccountSecurity, user_id)
    if security is None:
        security = AccountSecurity(user_id=user_id, security_stamp=new_security_stamp())
        db_session.add(security)
        db_session.commit()
    return security.security_stamp


def rotate(user_id: int) -> None:
    """A new stamp: every session and token of the account stops working."""
    db_session = _session()
    security = db_session.get(AccountSecurity, user_id)
    if security is None:
        db_session.add(AccountSecurity(user_id=user_id, security_stamp=new_security_stamp()))
    else:
        security.security_stamp = new_security_stamp()


def stamped_user(user_id: Any, stamp: Any) -> Any:
    """The active user with this id whose stamp is ``stamp`` (one query), or None."""
    try:
        pk = int(user_id)
    except (TypeError, ValueError):
        return None
    if not isinstance(stamp, str) or not stamp or not 0 < pk < 2**63:
        return None
    from app.tenancy import loading_user

    # Roles and groups (with their roles) come in the same statement: the permission checks of
    # the request read them. No tenant table is read, so the tenancy hook is told not to
    # resolve the request's scope meanwhile (it would ask Flask-Login for this very user).
    with loading_user():
        row = (
            _session()
            .execute(
                select(User, AccountSecurity.security_stamp)
                .join(AccountSecurity, AccountSecurity.user_id == User.id)
                .where(User.id == pk)
                .options(
                    joinedload(User.roles),
                    joinedload(User.groups).joinedload(Group.roles),
                )
            )
            .unique()
            .first()
        )
    if row is None or not hmac.compare_digest(row[1], stamp):
        return None
    user = row[0]
    return user if user.is_active else None


def keep_current_session(user_id: int) -> None:
    """After the holder changed his own password: this session goes on, the others end."""
    if has_request_context():
        session[SESSION_KEY] = stamp_of(user_id)


# ----------------------------------------------------------------------------------------------
# Hooks
# ----------------------------------------------------------------------------------------------

_WATCHED = ("password", "active", "roles")


@event.listens_for(Session, "before_flush")
def _rotate_on_change(db_session: Session, flush_context: Any, instances: Any) -> None:
    changed = [
        obj
        for obj in db_session.dirty
        if isinstance(obj, User)
        and any(inspect(obj).attrs[name].history.has_changes() for name in _WATCHED)
    ]
    if not changed:
        return
    pending = {obj.user_id: obj for obj in db_session.new if isinstance(obj, AccountSecurity)}
    with db_session.no_autoflush:
        for user in changed:
            security = pending.get(user.id) or db_session.get(AccountSecurity, user.id)
            if security is None:
                db_session.add(AccountSecurity(user_id=user.id))
            else:
                security.security_stamp = new_security_stamp()
            if inspect(user).attrs.password.history.has_changes() and user.password:
                # The password history (refused as a new password) is kept whatever the path.
                db_session.add(PasswordHistory(user_id=user.id, password_hash=user.password))


def _on_login(sender: Any, user: Any, **extra: Any) -> None:
    session[SESSION_KEY] = stamp_of(user.id)


def _on_logout(sender: Any, user: Any, **extra: Any) -> None:
    session.pop(SESSION_KEY, None)
    if user is not None and getattr(user, "is_authenticated", False):
        rotate(user.id)
        _session().commit()


def install(app: Any, jwt_manager: Any) -> None:
    """Connect the login / logout signals and the JWT claim (called by the security manager)."""
    from flask_login import user_logged_in, user_logged_out

    app = getattr(app, "_get_current_object", lambda: app)()
    user_logged_in.connect(_on_login, app)
    user_logged_out.connect(_on_logout, app)

    @jwt_manager.additional_claims_loader
    def _claims(identity: Any) -> dict[str, str]:
        return {CLAIM: stamp_of(int(identity))}

    @jwt_manager.user_lookup_error_loader
    def _revoked(_jwt_header: Any, _jwt_data: Any) -> Any:
        from flask import jsonify

        return jsonify(message=REVOKED), 401


def user_from_session(user_id: Any) -> Any:
    return stamped_user(user_id, session.get(SESSION_KEY))


def user_from_token(jwt_data: dict[str, Any]) -> Any:
    return stamped_user(jwt_data.get("sub"), jwt_data.get(CLAIM))


__all__ = [
    "CLAIM",
    "SESSION_KEY",
    "install",
    "keep_current_session",
    "rotate",
    "stamp_of",
    "stamped_user",
    "user_from_session",
    "user_from_token",
]
