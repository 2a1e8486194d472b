"""Agents searched by name ignoring case and accents, sorted as a French reader expects (issue 10),
on every screen and in the API, within the caller's scope."""

from __future__ import annotations

import datetime as dt
import re
import urllib.parse

from sqlalchemy import select

from app.workforce.importing import ImportKind, template_csv
from app.workforce.models import Agent
from tests.integration.test_workforce import _contract, _position
from tests.integration.test_workforce_imports import agent_line, make_position, upload
from tests.isolation import make_agent
from tests.util import text

AGENT_ROW = re.compile(r'data-agent="(\d+)"')


def _listed(web, **args) -> list[int]:
    """The agent ids of the « Effectif » list, in the order shown."""
    page = web.get("/effectif/?" + urllib.parse.urlencode({"onglet": "tous", **args}))
    assert page.status_code == 200
    return [int(agent_id) for agent_id in AGENT_ROW.findall(text(page))]


def _people(session, collectivity, *names) -> dict[str, int]:
    """Agents of a collectivity by « BIRTH[/USAGE] First » -> their ids."""
    ids = {}
    for name in names:
        last, first = name.rsplit(" ", 1)
        birth, _, usage = last.partition("/")
        agent = make_agent(
            session, collectivity, birth_name=birth, usage_name=usage or None, first_name=first
        )
        ids[name] = agent.id
    return ids


def test_gerard_finds_gerard_on_the_staff_list_whatever_case_and_accents(login, users, db_ctx):
    with db_ctx() as session:
        a = _people(session, users.collectivity_a, "GÉRARD Éric", "GUÉRIN Anne", "DUPONT Jean")
        b = _people(session, users.collectivity_b, "DUPUIS Zoé", "GERARDIN Paul", "MOREAU Léa")
    web = login(users.secretariat)
    assert _listed(web, nom="gerard") == [a["GÉRARD Éric"], b["GERARDIN Paul"]]
    assert _listed(web, nom="GÉRARD") == _listed(web, nom="Gérard") == _listed(web, nom="gerard")
    assert _listed(web, nom="guerin") == [a["GUÉRIN Anne"]]
    assert _listed(web, nom="DUP") == [a["DUPONT Jean"], b["DUPUIS Zoé"]]
    assert _listed(web, nom="gerard er") == [a["GÉRARD Éric"]], "then the first name"
    assert _listed(web, nom="xyz") == []
    page = text(web.get("/effectif/?nom=gerard"))
    assert "Nom (naissance ou d&#39;usage), puis prénom" in page or (
        "Nom (naissance ou d'usage), puis prénom" in page
    ), "the field says what it searches"


def test_a_married_name_and_the_birth_name_it_hides_both_find_the_agent(login, users, db_ctx):
    with db_ctx() as session:
        ids = _people(session, users.collectivity_a, "DUPONT/MARTIN Léa", "MARTINEZ Jean")
    web = login(users.secretariat)
    assert _listed(web, nom="dupont") == [ids["DUPONT/MARTIN Léa"]]
    assert _listed(web, nom="martin") == [ids["DUPONT/MARTIN Léa"], ids["MARTINEZ Jean"]]
    page = text(web.get("/effectif/?onglet=tous&nom=dupont"))
    assert "MARTIN Léa" in page, "shown under the usage name"


def test_lists_sort_by_the_name_shown_in_french_order(login, users, db_ctx):
    with db_ctx() as session:
        ids = _people(
            session,
            users.collectivity_a,
            "GÜNTHER Karl",
            "GUÉRIN Anne",
            "Gérard Zoé",
            "GÉRARD Éric",
            "ZOLA/ÉMILE Anne",
            "EMERY Paul",
            "ÉLIE Jean",
            "DUPONTEL Marc",
            "DUPONT Yves",
        )
    web = login(users.primary_a)
    assert _listed(web) == [
        ids[name]
        for name in (
            "DUPONT Yves",
            "DUPONTEL Marc",
            "ÉLIE Jean",
            "EMERY Paul",
            "ZOLA/ÉMILE Anne",  # shown as ÉMILE Anne: sorted with the E
            "GÉRARD Éric",
            "Gérard Zoé",
            "GUÉRIN Anne",
            "GÜNTHER Karl",
        )
    ]


def test_an_employer_searches_only_his_agents_and_a_secondary_account_only_its_own(
    login, users, db_ctx
):
    from app.workforce.models import AgentAssignment

    with db_ctx() as session:
        a = _people(session, users.collectivity_a, "GÉRARD Anne", "GERARD Paul")
        b = _people(session, users.collectivity_b, "GÉRARD Bruno")
        session.add(
            AgentAssignment(
                agent_id=a["GERARD Paul"],
                user_id=users.secondary_a.id,
                collectivity_id=users.collectivity_a.id,
            )
        )
    assert _listed(login(users.primary_a), nom="gerard") == [a["GÉRARD Anne"], a["GERARD Paul"]]
    assert _listed(login(users.primary_b), nom="gerard") == [b["GÉRARD Bruno"]]
    assert _listed(login(users.secondary_a), nom="gerard") == [a["GERARD Paul"]]
    staff = _listed(login(users.secretariat), nom="gerard")
    assert staff == [a["GÉRARD Anne"], b["GÉRARD Bruno"], a["GERARD Paul"]]


def test_a_search_pages_through_both_names_in_list_order(login, users, db_ctx):
    """A page of a search merges the names shown and the hidden birth names: no row twice,
    none lost between pages, in the list's order."""
    with db_ctx() as session:
        names = [f"DUP{index:02d} Anne" for index in range(0, 14, 2)]
        names += [f"DUPRÉ/ZED{index:02d} Anne" for index in range(5)]  # shown as ZED..
        names += [f"DUP{index:02d}/DUPUIS{index:02d} Anne" for index in range(1, 14, 4)]
        names += ["MOREAU Paul", "DUMAS Léa"]
        ids = _people(session, users.collectivity_a, *names)
        expected = [
            agent.id
            for agent in session.scalars(
                select(Agent)
                .where(Agent.id.in_([ids[name] for name in names if "DUP" in name]))
                .order_by(Agent.search_name, Agent.id)
            )
        ]
    assert len(expected) == 16
    web = login(users.primary_a)
    pages = [_listed(web, nom="dup", psize=5, page=page) for page in (1, 2, 3, 4)]
    assert [len(page) for page in pages] == [5, 5, 5, 1]
    assert [agent_id for page in pages for agent_id in page] == expected


def test_the_active_agents_search_keeps_the_running_contracts_only(login, users, db_ctx):
    with db_ctx() as session:
        position = _position(session, users.collectivity_a)
        present = make_agent(session, users.collectivity_a, birth_name="GÉRARD", first_name="Ana")
        gone = make_agent(session, users.collectivity_a, birth_name="GÉRARD", first_name="Bob")
        _contract(session, present, position)
        _contract(session, gone, position, end=dt.date(2021, 1, 1))
    web = login(users.primary_a)
    assert _listed(web, onglet="actifs", nom="gerard") == [present.id]
    assert _listed(web, nom="gerard") == [present.id, gone.id]


def test_the_api_name_filter_ignores_case_and_accents_within_the_scope(api_login, users, db_ctx):
    with db_ctx() as session:
        a = _people(session, users.collectivity_a, "GÉRARD Anne", "DUPONT/GUÉRIN Léa", "ROY Luc")
        b = _people(session, users.collectivity_b, "GÉRARD Bruno")

    def found(user, value: str) -> list[int]:
        query = f"(filters:!((col:search_name,opr:nom,value:{value})),order_column:search_name,order_direction:asc)"
        response = api_login(user).get("/api/v1/agent/?q=" + urllib.parse.quote(query))
        assert response.status_code == 200, response.get_json()
        return [row["id"] for row in response.get_json()["result"]]

    assert found(users.primary_a, "gerard") == [a["GÉRARD Anne"]]
    assert found(users.primary_a, "dupont") == [a["DUPONT/GUÉRIN Léa"]]
    assert found(users.primary_b, "gerard") == [b["GÉRARD Bruno"]]
    assert found(users.secretariat, "gerard") == [a["GÉRARD Anne"], b["GÉRARD Bruno"]]
    assert found(users.secretariat, "'Guérin'") == [a["DUPONT/GUÉRIN Léa"]]


def test_the_booking_drop_down_lists_agents_in_french_order_with_their_birth_names(
    login, users, db_ctx
):
    with db_ctx() as session:
        from app.planning.models import Plage, PlageNature, PlageState
        from tests import factories

        office = factories.make_office(session, served=[users.collectivity_a])
        doctor = factories.make_professional(session)
        position = _position(session, users.collectivity_a, "JARDINIER", "631a")
        names = ("GUÉRIN Anne", "DUPONT/GÉRARD Léa", "GÜNTHER Karl", "ABEL Marc")
        for name in names:
            last, first = name.split(" ")
            birth, _, usage = last.partition("/")
            agent = make_agent(
                session,
                users.collectivity_a,
                birth_name=birth,
                usage_name=usage or None,
                first_name=first,
            )
            _contract(session, agent, position)
        make_agent(session, users.collectivity_b, birth_name="GÉRARD", first_name="Bruno")
        starts = dt.datetime.combine(dt.date.today() + dt.timedelta(days=7), dt.time(9))
        plage = Plage(
            office_id=office.id,
            professional_id=doctor.id,
            starts_at=starts,
            ends_at=starts + dt.timedelta(hours=1),
            appointment_minutes=20,
            nature=PlageNature.medecin,
            state=PlageState.reservee,
            reserved_for_id=users.collectivity_a.id,
        )
        session.add(plage)
        session.flush()
    page = text(login(users.primary_a).get(f"/portail/consultations/plage/{plage.id}/reserver"))
    options = re.findall(r'<option[^>]*value="\d+"[^>]*>([^<]+)</option>', page)
    assert [option.split(" – ")[0] for option in options] == [
        "ABEL Marc",
        "GÉRARD Léa (née DUPONT)",
        "GUÉRIN Anne",
        "GÜNTHER Karl",
    ]
    assert "Bruno" not in page


def test_the_name_keys_follow_a_rename_and_the_staged_sync(login, users, db_ctx):
    from app.workforce import agents as agent_services

    with db_ctx() as session:
        agent = make_agent(session, users.collectivity_a, birth_name="DUPONT", first_name="Léa")
        agent_id = agent.id
    web = login(users.secretariat)
    assert _listed(web, nom="dupont") == [agent_id]
    with db_ctx() as session:
        agent = session.get(Agent, agent_id)
        agent_services.update_agent(agent, {"usage_name": "Guérin-Gérard"})
    assert _listed(web, nom="guerin gerard") == [agent_id]
    assert _listed(web, nom="dupont") == [agent_id], "the birth name still finds her"
    with db_ctx() as session:
        agent = session.get(Agent, agent_id)
        assert (agent.search_name, agent.search_alt_name) == ("guerin gerard lea", "dupont lea")
        agent.usage_name = None
        agent.birth_name = "ÉLIE"
    assert _listed(web, nom="dupont") == []
    assert _listed(web, nom="elie") == [agent_id]
    with db_ctx() as session:
        assert session.get(Agent, agent_id).search_alt_name is None


def test_imported_agents_are_found_by_their_folded_names(login, users, db_ctx):
    with db_ctx() as session:
        make_position(session, users.collectivity_a)
    content = template_csv(
        ImportKind.agents,
        [
            agent_line("Éric", "Gérard", born="01/02/1981"),
            agent_line("Zoé", "Dupont", usage="Guérin", born="03/04/1990"),
        ],
    )
    web = login(users.primary_a)
    assert "Import réussi" in text(upload(web, "agents", content))
    with db_ctx() as session:
        keys = {
            row.first_name: (row.search_name, row.search_alt_name)
            for row in session.execute(
                select(Agent.first_name, Agent.search_name, Agent.search_alt_name)
            )
        }
    assert keys == {"Éric": ("gerard eric", None), "Zoé": ("guerin zoe", "dupont zoe")}
    assert len(_listed(web, nom="gerard")) == 1
    assert len(_listed(web, nom="dupont zo")) == 1


def test_a_search_counted_beyond_its_cap_says_so_and_an_exact_count_is_never_short(
    login, users, db_ctx, monkeypatch
):
    """A searched list is counted up to SEARCH_COUNT_CAP (500; 3 here): at the cap the figure is
    exact (both halves of a name search, the name shown and the birth name a usage name hides,
    are counted), beyond it the pager says « plus de 3 résultats »; the whole list keeps its cap."""
    from app.workforce import agents as agent_services

    monkeypatch.setattr(agent_services, "SEARCH_COUNT_CAP", 3)
    with db_ctx() as session:
        _people(session, users.collectivity_a, "DUPONT Jean", "DUPUIS Zoé", "DUPRÉ/MARTIN Léa")
        _people(session, users.collectivity_a, "DURAND Paul")
    web = login(users.secretariat)
    page = text(web.get("/effectif/?onglet=tous&nom=dup"))
    assert "3 résultat(s)" in page and "plus de" not in page
    with db_ctx() as session:
        _people(session, users.collectivity_a, "DUPRAT/MOREAU Anne")
    page = text(web.get("/effectif/?onglet=tous&nom=dup"))
    assert "plus de 3 résultats : précisez la recherche" in page
    assert "4 résultat(s)" not in page
    whole = text(web.get("/effectif/?onglet=tous"))
    assert "5 résultat(s)" in whole and "plus de" not in whole
