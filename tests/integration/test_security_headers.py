"""Security headers, cookie flags, French 429 answers, and pages free of inline script.

The Content-Security-Policy allows scripts from this origin only, so no page may carry an inline
``<script>`` or an ``on...=`` handler: the pages are crawled as every role, from the menu down to
the show, add and edit screens they link to.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from app import roles
from app.core.headers import CONTENT_SECURITY_POLICY
from config import TestConfig, secure_cookies
from tests import isolation

EXPECTED = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


def _assert_security_headers(response):
    for name, value in EXPECTED.items():
        assert response.headers.get(name) == value, (name, response.request.path)


def test_the_policy_allows_scripts_from_this_origin_only():
    directives = dict(
        (part.split()[0], part.split()[1:]) for part in CONTENT_SECURITY_POLICY.split("; ")
    )
    assert directives["default-src"] == ["'self'"]
    assert directives["script-src"] == ["'self'"]
    assert directives["object-src"] == ["'none'"]
    assert directives["base-uri"] == ["'self'"]
    assert directives["frame-ancestors"] == ["'none'"]
    assert directives["form-action"] == ["'self'"]
    assert directives["style-src-elem"] == ["'self'"]
    assert "'unsafe-inline'" not in " ".join(
        " ".join(v) for k, v in directives.items() if k != "style-src"
    )
    assert "'unsafe-eval'" not in CONTENT_SECURITY_POLICY


def test_a_public_page_has_every_header_and_may_be_cached(client):
    response = client.get("/compte/mot-de-passe-oublie")
    assert response.status_code == 200
    _assert_security_headers(response)
    assert "no-store" not in response.headers.get("Cache-Control", "")
    # The login form is marked no-cache by Flask-AppBuilder itself; it still has every header.
    _assert_security_headers(client.get("/login/"))


def test_an_authenticated_page_is_never_stored(login, users):
    web = login(users.secretariat)
    for url in ("/", "/collectivityview/list/", "/plages/"):
        response = web.get(url)
        assert response.status_code == 200, url
        _assert_security_headers(response)
        assert response.headers["Cache-Control"] == "no-store", url


def test_static_files_keep_their_caching_for_an_authenticated_user(login, users):
    web = login(users.secretariat)
    for url in ("/static/js/medprev.js", "/static/appbuilder/js/ab.js"):
        response = web.get(url)
        assert response.status_code == 200, url
        assert "no-store" not in response.headers.get("Cache-Control", ""), url
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert "javascript" in response.headers["Content-Type"]
        response.close()


def test_api_answers_have_every_header_and_tokens_are_never_stored(app, api_login, users):
    api = api_login(users.admin)
    response = api.get("/api/v1/collectivity/")
    assert response.status_code == 200
    _assert_security_headers(response)
    assert response.headers["Cache-Control"] == "no-store"

    anonymous = app.test_client()
    token = anonymous.post(
        "/api/v1/security/login",
        json={"username": users.admin.username, "password": "x", "provider": "db"},
    )
    assert token.status_code == 401
    _assert_security_headers(token)
    assert token.headers["Cache-Control"] == "no-store"


# ----------------------------------------------------------------------------------------------
# Cookies
# ----------------------------------------------------------------------------------------------


def test_cookies_are_secure_only_with_an_https_public_url(monkeypatch):
    monkeypatch.delenv("SESSION_COOKIE_SECURE", raising=False)
    assert secure_cookies("https://medecineprev.cdg.fr") is True
    assert secure_cookies("HTTPS://medecineprev.cdg.fr/") is True
    assert secure_cookies("http://127.0.0.1:5000") is False
    monkeypatch.setenv("SESSION_COOKIE_SECURE", "true")
    assert secure_cookies("http://127.0.0.1:5000") is True


def _session_cookie(response):
    cookies = [c for c in response.headers.getlist("Set-Cookie") if c.startswith("session=")]
    assert cookies, "no session cookie"
    return cookies[0]


def test_an_https_public_url_puts_the_secure_flag_on_cookies(app):
    from app import create_app

    secure = create_app(
        TestConfig,
        SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"],
        OUTBOX_DIR=app.config["OUTBOX_DIR"],
        PUBLIC_URL="https://medecineprev.cdg.fr",
    )
    assert secure.config["SESSION_COOKIE_SECURE"] is True
    assert secure.config["REMEMBER_COOKIE_SECURE"] is True
    cookie = _session_cookie(secure.test_client().get("/login/"))
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_an_http_public_url_keeps_cookies_usable_without_tls(client):
    cookie = _session_cookie(client.get("/login/"))
    assert "Secure" not in cookie
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


# ----------------------------------------------------------------------------------------------
# Throttled logins answer in French
# ----------------------------------------------------------------------------------------------

TOO_MANY = "Trop de tentatives : réessayez dans quelques instants."


def test_a_throttled_api_login_answers_json_in_french(throttled_app):
    client = throttled_app.test_client()
    response = None
    for _ in range(12):
        response = client.post(
            "/api/v1/security/login", json={"username": "x", "password": "y", "provider": "db"}
        )
    assert response.status_code == 429
    assert response.is_json
    assert response.get_json() == {"message": TOO_MANY}
    _assert_security_headers(response)


def test_a_throttled_web_login_shows_a_french_page(throttled_app):
    client = throttled_app.test_client()
    token = client.csrf_token()
    response = None
    for _ in range(12):
        response = client.post(
            "/login/", data={"username": "x", "password": "y", "csrf_token": token}
        )
    assert response.status_code == 429
    assert response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert "Erreur 429" in page and "Trop de tentatives" in page
    _assert_security_headers(response)


# ----------------------------------------------------------------------------------------------
# No inline script in any page
# ----------------------------------------------------------------------------------------------


class _InlineCode(HTMLParser):
    """Collects inline scripts, inline event handlers, javascript: links and links."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = dict(attrs)
        if tag == "script" and not names.get("src"):
            self.problems.append(f"<script> without src (line {self.getpos()[0]})")
        for name, value in attrs:
            if name.startswith("on"):
                self.problems.append(f"<{tag} {name}=...> (line {self.getpos()[0]})")
            if name in ("href", "src", "action", "formaction") and (
                value or ""
            ).strip().lower().startswith("javascript:"):
                self.problems.append(f"<{tag} {name}=javascript:...>")
        if tag == "a" and names.get("href"):
            self.links.append(names["href"] or "")


def inline_code(page: str) -> tuple[list[str], list[str]]:
    parser = _InlineCode()
    parser.feed(page)
    parser.close()
    return parser.problems, parser.links


def test_the_detector_finds_inline_code():
    problems, _ = inline_code(
        '<script>alert(1)</script><script src="/static/x.js"></script>'
        '<form onsubmit="return confirm()"><a href="javascript:void(0)">x</a></form>'
        "<p>Bonjour onclick=pas une balise</p>"
    )
    assert len(problems) == 3, problems


SKIPPED = re.compile(r"^/(logout|lang|static|back|appbuilder)\b|/(download|export|csv)\b")


def _pattern(path: str) -> str:
    return re.sub(r"\d+", "N", path)


def _crawl(web, start: list[str], limit: int = 150) -> dict[str, list[str]]:
    """GET pages from ``start`` and the links on them (one URL per path shape, two levels):
    the inline code found per URL, and under ``__rendered__`` the path shapes shown."""
    seen: set[str] = set()
    rendered: list[str] = []
    problems: dict[str, list[str]] = {}
    frontier = list(start)
    for _depth in range(3):
        following: list[str] = []
        for url in frontier:
            key = _pattern(urlsplit(url).path) + ("?" if urlsplit(url).query else "")
            if key in seen or len(seen) >= limit:
                continue
            seen.add(key)
            response = web.get(url)
            if response.status_code != 200 or response.mimetype != "text/html":
                continue
            rendered.append(key)
            found, links = inline_code(response.get_data(as_text=True))
            if found:
                problems[url] = found
            for link in links:
                parts = urlsplit(link)
                if parts.scheme or parts.netloc or not parts.path.startswith("/"):
                    continue
                # Sorting and paging links render the same templates as the page itself.
                if parts.query:
                    continue
                if SKIPPED.search(parts.path):
                    continue
                following.append(link)
        frontier = following
    problems["__rendered__"] = sorted(rendered)
    return problems


@pytest.fixture
def world(db_ctx, users):
    """Rows in every table (agents, positions, plages, appointments...) for the pages to show,
    and the employer screens of the planning reached through them."""
    from app.planning.models import Appointment, Plage, PlageState

    with db_ctx() as session:
        world = isolation.build_world(session)
        common = session.scalar(
            select(Plage).where(Plage.state == PlageState.commune).order_by(Plage.id)
        )
        appointment = session.scalar(
            select(Appointment)
            .where(Appointment.agent_id == world.ids["agents"][0])
            .order_by(Appointment.id)
        )
        world.employer_pages = [
            f"/portail/consultations/plage/{common.id}/reserver",
            f"/portail/consultations/rendez-vous/{appointment.id}",
        ]
        return world


# Screens every role's crawl must have reached, so that the check is not vacuous.
REACHED = {
    roles.ADMIN: [
        "/collectivityview/list/",
        "/collectivityview/show/N",
        "/collectivityview/add",
        "/collectivityview/edit/N",
        "/plages/",
        "/plages/N",
    ],
    roles.SECRETARIAT: [
        "/collectivityview/list/",
        "/collectivityview/show/N",
        "/collectivityview/edit/N",
        "/plages/",
        "/plages/nouvelle",
        "/postes/",
        "/effectif/",
    ],
    roles.SANTE: ["/plages/"],
    roles.COMPTABILITE: ["/"],
    # Direction's home is its dashboard (« / » redirects there, SPEC H1).
    roles.DIRECTION: ["/tableau-de-bord/"],
    roles.EMPLOYER_PRIMARY: [
        "/portail/coordonnees/",
        "/portail/consultations/",
        "/postes/",
        "/postes/nouveau",
        "/effectif/",
        "/effectif/N",
        "/portail/consultations/plage/N/reserver",
        "/portail/consultations/rendez-vous/N",
    ],
    roles.EMPLOYER_SECONDARY: [
        "/portail/coordonnees/",
        "/portail/consultations/",
        "/portail/consultations/plage/N/reserver",
        "/portail/consultations/rendez-vous/N",
    ],
}


@pytest.mark.parametrize("role", sorted(REACHED))
def test_no_page_carries_inline_script_or_handler(login, users, world, role):
    user = {
        roles.EMPLOYER_PRIMARY: world.primary_a,
        roles.EMPLOYER_SECONDARY: world.secondary_a,
    }.get(role) or users.by_role(role)
    web = login(user)
    start = [
        "/",
        "/collectivityview/list/?_flt_0_name=Commune",  # a list with an active search filter
        "/portail/coordonnees/",
        "/plages/",
        "/portail/consultations/",
    ]
    if role in roles.EMPLOYER_ROLES:
        start += world.employer_pages
    report = _crawl(web, start)
    visited = report.pop("__rendered__")
    assert report == {}, report
    missing = [url for url in REACHED[role] if url not in visited]
    assert missing == [], f"{role}: crawl did not reach {missing} (visited {visited})"


def test_anonymous_pages_carry_no_inline_script(client):
    for url in ("/login/", "/compte/mot-de-passe-oublie", "/page-qui-n-existe-pas"):
        response = client.get(url)
        problems, _ = inline_code(response.get_data(as_text=True))
        assert problems == [], (url, problems)


def test_the_swagger_page_starts_from_a_static_file(login, users):
    page = login(users.admin).get("/swagger/v1").get_data(as_text=True)
    problems, _ = inline_code(page)
    assert problems == []
    assert 'data-openapi-url="/api/v1/_openapi"' in page
    assert "/static/js/swagger-init.js" in page
