"""Every link a role sees answers 200 for that role, and no page shows an English word (issue 10).

For each of the seven roles (employers with a collectivity, in the isolation world): the menu
links, then every link and form on each page reached from the menu, and the links of the first
row of each list. A GET link must answer 200 (after redirects); a POST form, a delete link and
a list action are not sent (they change data): the role must hold the permission of their
endpoint. The visible text of every page (not attributes, scripts or styles) is searched for
the English words Flask-AppBuilder would show.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import pytest

from app import roles
from tests import factories, isolation

# What Flask-AppBuilder, WTForms and Bootstrap show in English (capitalised as they show it).
ENGLISH_WORDS = (
    "Cancel",
    "OK",
    "Actions",
    "Save",
    "Edit",
    "Delete",
    "Search",
    "Add",
    "Show",
    "List",
    "Back",
    "Refresh",
    "Record",
    "Records",
    "Record Count",
    "Yes",
    "No",
    "Select",
    "Filter",
    "Filters",
    "Close",
    "Home",
    "Logout",
    "Login",
    "Submit",
    "Clear",
    "Next",
    "Previous",
    "User",
    "Users",
    "Role",
    "Roles",
    "Permissions",
    "Permission",
    "Name",
    "First Name",
    "Last Name",
    "Birth Date",
    "Created",
    "Changed",
    "Please",
    "Sort",
    "Starts with",
    "Ends with",
    "Contains",
    "Equal to",
    "Not Equal to",
    "Greater than",
    "Smaller than",
    "Relation",
    "Not Starts with",
    "General",
    "Detail",
    "Details",
    "Information",
    "Security",
    "Groups",
    "Views/Menus",
    "Menu",
    "This field is required",
    "Not a valid",
    "Invalid",
    "Are you sure",
    "Loading",
    "No records found",
    "No results",
    "Searching",
    "Choose",
)
ENGLISH = re.compile(r"(?<![\w'’-])(" + "|".join(map(re.escape, ENGLISH_WORDS)) + r")(?![\w'’-])")


class _Page(HTMLParser):
    """Visible text, links and forms of a page."""

    SKIPPED = {"script", "style", "template", "title", "noscript"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.text: list[str] = []
        self.links: list[str] = []
        self.menu_links: list[str] = []
        self.forms: list[tuple[str, str]] = []
        self._skip = 0
        self._navbar = 0
        self._depth_stack: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if tag in self.SKIPPED:
            self._skip += 1
        classes = values.get("class", "").split()
        if tag == "ul" and "navbar-nav" in classes and "navbar-right" not in classes:
            self._navbar = 1
        elif tag == "ul" and self._navbar:
            self._navbar += 1
        if tag == "a" and values.get("href"):
            self.links.append(values["href"])
            if self._navbar:
                self.menu_links.append(values["href"])
        if tag == "form":
            self.forms.append((values.get("action", ""), values.get("method", "get").lower()))
        if tag in ("button", "input") and values.get("formaction"):
            self.forms.append((values["formaction"], "post"))
        if tag == "input" and values.get("type") in ("submit", "button") and values.get("value"):
            self.text.append(values["value"])

    def handle_endtag(self, tag: str) -> None:
        if tag in self.SKIPPED and self._skip:
            self._skip -= 1
        if tag == "ul" and self._navbar:
            self._navbar -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.text.append(data)


def parse(body: str) -> _Page:
    page = _Page()
    page.feed(body)
    return page


def english_words(body: str) -> list[str]:
    text = " ".join(" ".join(parse(body).text).split())
    return sorted(set(ENGLISH.findall(text)))


def test_the_english_word_search_reads_the_visible_text_only():
    body = (
        '<html><head><title>Edit</title><script>var Cancel = "Delete";</script></head>'
        '<body><a href="/x" title="Show">Voir</a><button>Cancel</button>'
        "<p>Nom de naissance : Nothing-else Rolex</p></body></html>"
    )
    assert english_words(body) == ["Cancel"]


# Links not followed: logging out ends the walk, the API and static files are not screens.
NOT_SCREENS = re.compile(r"^/(logout|api/|static/|appbuilder/|swagger)")
# Links that change data when followed (FAB's delete link, list actions): permission only.
CHANGING = re.compile(r"/(delete|action|action_post|muldelete)(/|$)")
ROW_LINK = re.compile(r"/(show|edit)/[^/?#]+|/[a-z-]+/\d+(/|$)")


def _local(url: str, base: str) -> str | None:
    if not url or url.startswith(("#", "javascript:", "mailto:", "tel:", "data:")):
        return None
    parts = urlsplit(urljoin(base, url))
    if parts.netloc not in ("", "localhost"):
        return None
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    return path


def _permitted(app, user_id: int, url: str, method: str) -> bool:
    """Would the role be let through to this endpoint (the check its view makes)?"""
    from app.core.access import can
    from app.models import User

    adapter = app.url_map.bind("localhost")
    path = urlsplit(url).path
    try:
        endpoint, _ = adapter.match(path, method=method.upper())
    except Exception:  # noqa: BLE001 - an unknown URL or method is a broken link
        return False
    with app.test_request_context(path):
        from flask import g
        from flask_login import login_user

        from app.extensions import db

        user = db.session.get(User, user_id)
        login_user(user)
        g.user = user
        allowed = can(endpoint)
        db.session.remove()
        return allowed


@pytest.fixture
def world(db_ctx):
    with db_ctx() as session:
        world = isolation.build_world(session)
        staff = {
            role: factories.make_user(session, role)
            for role in (roles.ADMIN, roles.SECRETARIAT, roles.SANTE, roles.COMPTABILITE)
        }
        staff[roles.DIRECTION] = factories.make_user(session, roles.DIRECTION)
        staff[roles.EMPLOYER_PRIMARY] = world.primary_a
        staff[roles.EMPLOYER_SECONDARY] = world.secondary_a
        return {role: (user.id, user.username) for role, user in staff.items()}


def walk(app, web, user_id: int) -> tuple[list[str], dict[str, list[str]], list[str]]:
    """(menu links, English words per page, broken links 'page -> link: status')."""
    home = web.get("/", follow_redirects=True)
    assert home.status_code == 200
    menu = [u for u in (_local(h, "/") for h in parse(home.get_data(as_text=True)).menu_links) if u]
    # The home page's shortcuts and the account menu are links too.
    menu += [
        u
        for u in (_local(h, "/") for h in parse(home.get_data(as_text=True)).links)
        if u and u not in menu and not NOT_SCREENS.match(u)
    ]
    english: dict[str, list[str]] = {}
    broken: list[str] = []
    seen: dict[str, int] = {}

    def visit(url: str, origin: str) -> str | None:
        if url in seen:
            status = seen[url]
        else:
            response = web.get(url, follow_redirects=True)
            status = seen[url] = response.status_code
            if status == 200 and "text/html" in response.content_type:
                body = response.get_data(as_text=True)
                words = english_words(body)
                if words:
                    english[url] = words
                return body
        if status != 200:
            broken.append(f"{origin} -> {url}: {status}")
        return None

    def links_of(url: str, body: str) -> list[str]:
        page = parse(body)
        found = []
        for href in page.links:
            target = _local(href, url)
            if target is None or NOT_SCREENS.match(target):
                continue
            if CHANGING.search(urlsplit(target).path):
                if not _permitted(app, user_id, target, "post"):
                    broken.append(f"{url} -> {target}: not permitted")
                continue
            found.append(target)
        for action, method in page.forms:
            if not action and method == "post":
                continue  # a hidden form whose action a script sets (FAB's delete_form)
            target = _local(action, url) if action else urlsplit(url).path
            if target is None or NOT_SCREENS.match(target):
                continue
            if method == "post":
                if not _permitted(app, user_id, target, "post"):
                    broken.append(f"{url} -> form {target}: not permitted")
            else:
                found.append(target)
        return found

    for url in menu:
        body = visit(url, "menu")
        if body is None:
            continue
        rows_followed = 0
        for target in links_of(url, body):
            if target in seen:
                continue
            is_row = bool(ROW_LINK.search(urlsplit(target).path))
            if is_row and rows_followed >= 3:
                continue
            child = visit(target, url)
            if child is not None and is_row:
                rows_followed += 1
                for grandchild in links_of(target, child):
                    if grandchild not in seen and not ROW_LINK.search(urlsplit(grandchild).path):
                        visit(grandchild, target)
    return menu, english, broken


@pytest.mark.parametrize("role", roles.ALL_ROLES)
def test_every_link_a_role_sees_answers_and_speaks_french(app, login, world, role):
    user_id, username = world[role]
    web = login(username)
    menu, english, broken = walk(app, web, user_id)
    assert menu, "the role sees a menu"
    assert (broken, english) == ([], {}), "\n".join([*broken, *map(str, english.items())])
