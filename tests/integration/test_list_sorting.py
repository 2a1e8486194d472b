"""Sortable headers and paging on the lists that lacked them (issue 10): the agents list (name,
birth date, position, start date, both ways, page after page), the staged changes waiting for
the sync, the secondary accounts; and the audit log's filter by French record names."""

from __future__ import annotations

import csv
import datetime as dt
import html
import io
import json
import re

import pytest

from app.workforce.models import ChangeStatus, StagedAgentChange
from tests import factories
from tests.integration.test_workforce import _contract, _position
from tests.isolation import make_agent

# (birth name, first name, birth date, position, contract start)
AGENTS = [
    ("GUÉRIN", "Anne", dt.date(1990, 5, 1), "MAÇON", dt.date(2021, 3, 1)),
    ("GÉRARD", "Paul", dt.date(1975, 1, 9), "ÉLECTRICIEN", dt.date(2015, 9, 1)),
    ("DUPONT", "Marc", dt.date(1982, 7, 14), "AGENT D'ENTRETIEN", dt.date(2019, 1, 1)),
    ("ARNAUD", "Lise", dt.date(2001, 2, 2), "JARDINIER", dt.date(2024, 6, 1)),
    ("MARTIN", "Zoé", dt.date(1968, 11, 30), "BIBLIOTHÉCAIRE", dt.date(2010, 4, 15)),
]


@pytest.fixture
def agents(db_ctx, users):
    with db_ctx() as session:
        for birth_name, first_name, born, label, start in AGENTS:
            agent = make_agent(
                session,
                users.collectivity_a,
                birth_name=birth_name,
                first_name=first_name,
                birth_date=born,
            )
            _contract(session, agent, _position(session, users.collectivity_a, label), start=start)
        # Without a current position (« Tous » only): last whatever the direction.
        retired = make_agent(session, users.collectivity_a, birth_name="BERNARD", first_name="Yves")
        _contract(
            session,
            retired,
            _position(session, users.collectivity_a, "ANCIEN POSTE"),
            start=dt.date(2000, 1, 1),
            end=dt.date(2020, 12, 31),
        )


def _names(page: str) -> list[str]:
    """The agents' names in the order the list shows them."""
    return re.findall(r'href="/effectif/\d+">([^<]+)</a>', page)


def _surnames(page: str) -> list[str]:
    return [name.split()[0] for name in _names(page)]


def test_the_agents_list_sorts_by_each_header_both_ways(login, users, agents):
    web = login(users.primary_a)
    page = web.get("/effectif/").get_data(as_text=True)
    assert _surnames(page) == ["ARNAUD", "DUPONT", "GÉRARD", "GUÉRIN", "MARTIN"]
    assert 'aria-sort="ascending"' in page
    for key in ("naissance", "poste", "debut"):
        assert f'href="/effectif/?tri={key}&amp;ordre=asc&amp;page=1"' in page, key
    by_birth = _surnames(web.get("/effectif/?tri=naissance").get_data(as_text=True))
    assert by_birth == ["MARTIN", "GÉRARD", "DUPONT", "GUÉRIN", "ARNAUD"]
    youngest = _surnames(web.get("/effectif/?tri=naissance&ordre=desc").get_data(as_text=True))
    assert youngest == list(reversed(by_birth))
    by_position = _surnames(web.get("/effectif/?tri=poste").get_data(as_text=True))
    # AGENT D'ENTRETIEN, BIBLIOTHÉCAIRE, ÉLECTRICIEN (with the E), JARDINIER, MAÇON.
    assert by_position == ["DUPONT", "MARTIN", "GÉRARD", "ARNAUD", "GUÉRIN"]
    by_start = _surnames(web.get("/effectif/?tri=debut&ordre=desc").get_data(as_text=True))
    assert by_start == ["ARNAUD", "GUÉRIN", "DUPONT", "GÉRARD", "MARTIN"]
    by_name_desc = _surnames(web.get("/effectif/?tri=nom&ordre=desc").get_data(as_text=True))
    assert by_name_desc == ["MARTIN", "GUÉRIN", "GÉRARD", "DUPONT", "ARNAUD"]


def test_an_agent_without_a_current_position_comes_last_both_ways(login, users, agents):
    web = login(users.primary_a)
    for order in ("asc", "desc"):
        page = web.get(f"/effectif/?onglet=tous&tri=poste&ordre={order}").get_data(as_text=True)
        assert _surnames(page)[-1] == "BERNARD", order
    # Sorted by start date, his line shows (and sorts by) his last contract's start.
    page = web.get("/effectif/?onglet=tous&tri=debut").get_data(as_text=True)
    assert _surnames(page)[0] == "BERNARD"


def test_pages_follow_the_chosen_order_without_overlap(login, users, agents):
    web = login(users.primary_a)
    seen = []
    for number in (1, 2, 3):
        page = web.get(f"/effectif/?tri=naissance&ordre=desc&psize=2&page={number}")
        seen += _surnames(page.get_data(as_text=True))
    assert seen == ["ARNAUD", "GUÉRIN", "DUPONT", "GÉRARD", "MARTIN"]
    # A search keeps the order; the search form keeps the sort.
    page = web.get("/effectif/?tri=naissance&nom=g").get_data(as_text=True)
    assert _surnames(page) == ["GÉRARD", "GUÉRIN"]
    assert '<input type="hidden" name="tri" value="naissance">' in page


def test_the_agents_export_follows_the_sort(login, users, agents):
    web = login(users.primary_a)
    body = web.get("/effectif/export/csv?tri=naissance").get_data().decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(body), delimiter=";"))
    header, lines = rows[0], rows[1:]
    column = next(i for i, title in enumerate(header) if "naissance" in title.lower())
    born = [dt.datetime.strptime(line[column], "%d/%m/%Y").date() for line in lines]
    assert born == sorted(born) and len(born) == 5


def test_staff_sort_agents_of_every_collectivity(login, users, agents, db_ctx):
    with db_ctx() as session:
        other = make_agent(
            session,
            users.collectivity_b,
            birth_name="ZOLA",
            first_name="Émile",
            birth_date=dt.date(1940, 4, 2),
        )
        _contract(session, other, _position(session, users.collectivity_b, "POSTE B"))
    page = login(users.secretariat).get("/effectif/?tri=naissance").get_data(as_text=True)
    assert _surnames(page)[:2] == ["ZOLA", "MARTIN"]


# -- Staged changes -----------------------------------------------------------------------------


@pytest.fixture
def changes(db_ctx, users):
    with db_ctx() as session:
        for index, name in enumerate(["MOREL", "ABADIE", "ÉTIENNE", "LEBLANC"]):
            agent = make_agent(session, users.collectivity_a, birth_name=name, first_name="Jo")
            session.add(
                StagedAgentChange(
                    agent_id=agent.id,
                    collectivity_id=users.collectivity_a.id,
                    field=["first_name", "usage_name", "ins", "birth_name"][index],
                    old_value="Jo",
                    new_value=f"Nouveau{index}",
                    status=ChangeStatus.en_attente,
                    created_at=dt.datetime(2026, 3, 1, 8, 0, tzinfo=dt.UTC)
                    + dt.timedelta(hours=index),
                )
            )


def _change_rows(page: str) -> list[str]:
    table = page.split("medprev-staged-changes")[1].split("</table>")[0]
    return re.findall(r'<tr class="row-pending-sync">.*?<td>([^<]+)</td>', table)


def test_staged_changes_sort_and_page(login, users, changes):
    web = login(users.secretariat)
    page = web.get("/synchronisation/").get_data(as_text=True)
    # Oldest first by default, as the sync applies them.
    assert [n.split()[0] for n in _change_rows(page)] == ["MOREL", "ABADIE", "ÉTIENNE", "LEBLANC"]
    by_agent = _change_rows(web.get("/synchronisation/?tri=agent").get_data(as_text=True))
    assert [n.split()[0] for n in by_agent] == ["ABADIE", "ÉTIENNE", "LEBLANC", "MOREL"]
    newest = _change_rows(web.get("/synchronisation/?tri=date&ordre=desc").get_data(as_text=True))
    assert [n.split()[0] for n in newest] == ["LEBLANC", "ÉTIENNE", "ABADIE", "MOREL"]
    second = web.get("/synchronisation/?tri=agent&psize=3&page=2").get_data(as_text=True)
    assert [n.split()[0] for n in _change_rows(second)] == ["MOREL"]
    assert (
        "4 résultat(s)" in second
        and 'href="/synchronisation/?tri=agent&amp;psize=3&amp;page=1"' in second
    )


# -- Secondary accounts ---------------------------------------------------------------------------


def test_secondary_accounts_sort_and_page(login, users, db_ctx):
    from app.models import User

    with db_ctx() as session:
        for last_name, active in (("ÉMERY", True), ("BLANC", False), ("DAVID", True)):
            user = factories.make_user(
                session,
                "Employeur secondaire",
                collectivity=users.collectivity_a,
                primary=users.primary_a,
                username=f"sec-{last_name.lower()}",
            )
            user = session.get(User, user.id)
            user.last_name, user.active = last_name, active
    web = login(users.primary_a)

    def listed(url: str) -> list[str]:
        page = web.get(url).get_data(as_text=True)
        table = page.split("medprev-secondaries")[1].split("</table>")[0]
        return [
            name
            for name in re.findall(r"<td>(\S+) Prénom</td>", table)
            if not name.startswith("NOM")
        ]

    assert listed("/portail/comptes-secondaires/") == ["BLANC", "DAVID", "ÉMERY"]
    assert listed("/portail/comptes-secondaires/?tri=nom&ordre=desc") == ["ÉMERY", "DAVID", "BLANC"]
    assert listed("/portail/comptes-secondaires/?tri=actif")[-1] == "BLANC"
    assert listed("/portail/comptes-secondaires/?tri=nom&psize=2&page=2")[-1] == "ÉMERY"


# -- Audit log -----------------------------------------------------------------------------------


def test_the_audit_log_filter_offers_french_record_names(login, users, db_ctx):
    with db_ctx() as session:
        make_agent(session, users.collectivity_a, marker="AUDIT")
        _position(session, users.collectivity_a, "POSTE AUDITÉ")
    web = login(users.admin)
    page = web.get("/auditlogview/list/").get_data(as_text=True)
    fields = json.loads(html.unescape(re.search(r"data-form-fields='([^']*)'", page).group(1)))
    options = {
        value: html.unescape(label)
        for value, label in re.findall(
            r'<option value="([a-z_]+)">([^<]+)</option>', fields["table_name"]
        )
    }
    filters = json.loads(html.unescape(re.search(r"data-search-filters='([^']*)'", page).group(1)))
    assert filters["table_name"] == filters["action"] == ["Égal à", "Différent de"]
    assert options.get("agent") == "Agent"
    assert options.get("visit_request") and options["visit_request"] != "visit_request"
    assert options.get("work_position") and "_" not in options["work_position"]
    assert not [label for label in options.values() if re.fullmatch(r"[a-z]+(_[a-z]+)+", label)]
    # Choosing « Agent » keeps the agents' entries only.
    filtered = web.get("/auditlogview/list/?_flt_0_table_name=agent").get_data(as_text=True)
    assert "Agent" in filtered and "Poste de travail" not in filtered.split("<tbody")[1]


def test_a_sorted_agents_page_runs_a_constant_number_of_statements(
    login, users, agents, db_ctx, count_queries
):
    web = login(users.primary_a)
    urls = [f"/effectif/?tri={key}&ordre=desc" for key in ("naissance", "poste", "debut")]

    def counts() -> list[int]:
        measured = []
        for url in urls:
            web.get(url)  # warm-up (menus, caches)
            with count_queries() as counter:
                assert web.get(url).status_code == 200
            measured.append(counter.count)
        return measured

    few = counts()
    with db_ctx() as session:
        for n in range(20):
            agent = make_agent(session, users.collectivity_a, birth_name=f"AJOUT{n}")
            _contract(session, agent, _position(session, users.collectivity_a, f"POSTE {n}"))
    assert counts() == few
