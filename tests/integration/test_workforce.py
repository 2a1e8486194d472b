"""Workforce screens and REST (SPEC C1-C4, C6): positions, agents, careers, exits, sync."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from app.core import clock
from app.referential.models import ContractType
from app.workforce.models import (
    Agent,
    ChangeStatus,
    Contract,
    Headcount,
    StagedAgentChange,
    WorkPosition,
)
from tests.isolation import make_agent
from tests.util import text


def _position(session, collectivity, label="AGENT D'ENTRETIEN", pcs="684a", risks=()):
    from app.workforce import positions as services

    position = WorkPosition(collectivity_id=collectivity.id, pcs_code=pcs)
    position.set_label(label)
    session.add(position)
    session.flush()
    services.apply_risks(position, [services.RiskInput(code) for code in risks])
    session.flush()
    return position


def _contract(session, agent, position, start=dt.date(2020, 1, 1), end=None, kind="titulaire"):
    contract_type = session.scalar(select(ContractType).where(ContractType.code == kind))
    contract = Contract(
        agent_id=agent.id,
        collectivity_id=agent.collectivity_id,
        work_position_id=position.id,
        contract_type_id=contract_type.id,
        start_date=start,
        end_date=end,
    )
    session.add(contract)
    session.flush()
    return contract


def _position_form(**overrides):
    data = {"label": "Électricien de maintenance", "pcs_code": "633a", "risks": []}
    data.update(overrides)
    return data


# -- Positions ---------------------------------------------------------------------------------


def test_a_position_badge_follows_the_rule_in_force_on_the_day(login, users, db_ctx, monkeypatch):
    """DOMAIN.md §8 example 5, through the screen: « Électrique » is SIR on 30/09/2025 and SI
    with « attestation requise » from 01/10/2025."""
    with db_ctx() as session:
        _position(session, users.collectivity_a, "ÉLECTRICIEN", "633a", ["electrique"])
        _position(session, users.collectivity_a, "VEILLEUR DE NUIT", "534a", ["nuit"])
        _position(session, users.collectivity_a, "PEINTRE", "632j", ["nuit", "plomb"])
        _position(session, users.collectivity_a, "SECRÉTAIRE", "545a", [])
    web = login(users.primary_a)

    def badges() -> dict[str, str]:
        import re

        page = text(web.get("/postes/"))
        rows = re.findall(
            r"<strong>([^<]+)</strong>.*?medprev-badge[^>]*>(\w+)</span>(.{0,200})", page, re.S
        )
        return {
            label: level
            + (" +attestation" if "attestation requise" in rest.split("</td>")[0] else "")
            for label, level, rest in rows
        }

    monkeypatch.setattr(clock, "today", lambda: dt.date(2025, 9, 30))
    before = badges()
    monkeypatch.setattr(clock, "today", lambda: dt.date(2025, 10, 1))
    after = badges()
    assert before["ÉLECTRICIEN"] == "SIR"
    assert after["ÉLECTRICIEN"] == "SI +attestation"
    assert after["VEILLEUR DE NUIT"] == "SIA"
    assert after["PEINTRE"] == "SIR"
    assert after["SECRÉTAIRE"] == "SI"


def test_the_live_badge_is_computed_by_the_server(login, users):
    web = login(users.primary_a)
    assert web.get("/postes/suivi?risques=nuit,plomb").get_json()["level"] == "SIR"
    caces = web.get("/postes/suivi?risques=caces").get_json()
    assert caces == {"level": "SI", "certificate": True, "reasons": caces["reasons"]}


def test_declaring_a_position_with_a_known_pcs_lists_the_similar_ones_first(login, users, db_ctx):
    with db_ctx() as session:
        _position(session, users.collectivity_a, "MANUTENTIONNAIRE", "451a", ["charges_55kg"])
        closed = _position(session, users.collectivity_a, "MAGASINIER", "451a")
        closed.is_closed = True
    web = login(users.primary_a)
    first = web.post_form(
        "/postes/nouveau",
        _position_form(
            label="Manutentionnaire polyvalent",
            pcs_code="451A",
            risks=["caces"],
            caces_categories=["R489"],
        ),
    )
    page = text(first)
    assert "Nous avons détecté un ou plusieurs poste(s) similaire(s)" in page
    assert "MANUTENTIONNAIRE" in page and "MAGASINIER" in page and "Réactiver ce poste" in page
    with db_ctx() as session:
        assert (
            session.scalar(
                select(func.count(WorkPosition.id)).where(
                    WorkPosition.collectivity_id == users.collectivity_a.id
                )
            )
            == 2
        )
    confirmed = web.post_form(
        "/postes/nouveau",
        _position_form(
            label="Manutentionnaire polyvalent",
            pcs_code="451A",
            risks=["caces"],
            caces_categories=["R489"],
            confirm="1",
        ),
    )
    assert confirmed.status_code == 302
    with db_ctx() as session:
        created = session.scalar(
            select(WorkPosition).where(WorkPosition.label == "Manutentionnaire polyvalent")
        )
        assert created.pcs_code == "451a" and created.risk_codes == ["caces"]
        assert created.risk_links[0].caces_categories == "R489"


def test_a_risk_needing_a_precision_is_refused_without_it(login, users, db_ctx):
    web = login(users.primary_a)
    for risk, message in (
        ("rayonnements", "Précisez la catégorie (A, B ou aptitude INB)"),
        ("caces", "Sélectionnez un ou plusieurs véhicules"),
        ("autre", "Décrivez l'autre risque."),
    ):
        response = web.post_form(
            "/postes/nouveau", _position_form(label=f"Poste {risk}", risks=[risk])
        )
        assert message in text(response), risk
        assert f"Poste {risk}" in text(response), "what the user typed is kept"
    ok = web.post_form(
        "/postes/nouveau",
        _position_form(
            label="Radiologue", pcs_code="344a", risks=["rayonnements"], precision_rayonnements="A"
        ),
    )
    assert ok.status_code == 302
    with db_ctx() as session:
        assert (
            session.scalar(
                select(func.count(WorkPosition.id)).where(WorkPosition.label.like("Poste %"))
            )
            == 0
        )


def test_a_bad_pcs_code_and_a_duplicate_are_refused_in_french(login, users, db_ctx):
    with db_ctx() as session:
        _position(session, users.collectivity_a, "JARDINIER", "631a")
    web = login(users.primary_a)
    bad = web.post_form("/postes/nouveau", _position_form(pcs_code="12ab"))
    assert "Le code PCS doit comporter 3 chiffres et une lettre" in text(bad)
    duplicate = web.post_form(
        "/postes/nouveau", _position_form(label="jardinier", pcs_code="631a", confirm="1")
    )
    assert "existe déjà" in text(duplicate)


def test_a_held_position_cannot_be_edited_nor_deleted_and_a_former_one_is_closed(
    login, users, db_ctx
):
    with db_ctx() as session:
        held = _position(session, users.collectivity_a, "CUISINIER", "636d")
        former = _position(session, users.collectivity_a, "PLONGEUR", "684a")
        unused = _position(session, users.collectivity_a, "LINGÈRE", "684a")
        agent = make_agent(session, users.collectivity_a)
        _contract(session, agent, held)
        _contract(session, agent, former, start=dt.date(2019, 1, 1), end=dt.date(2019, 12, 31))
    web = login(users.primary_a)
    edit = web.post_form(
        f"/postes/{held.id}/modifier",
        _position_form(label="Chef cuisinier", pcs_code="636d"),
        form_url="/postes/",
    )
    assert edit.status_code == 302
    delete = web.post_form(f"/postes/{held.id}/supprimer", {}, form_url="/postes/")
    assert "ne peut pas être supprimé" in text(web.get(delete.headers["Location"]))
    web.post_form(f"/postes/{former.id}/supprimer", {}, form_url="/postes/")
    web.post_form(f"/postes/{unused.id}/supprimer", {}, form_url="/postes/")
    with db_ctx() as session:
        assert session.get(WorkPosition, held.id).label == "CUISINIER"
        assert session.get(WorkPosition, former.id).is_closed
        assert session.get(WorkPosition, unused.id) is None
    closed_page = text(web.get("/postes/?clotures=1"))
    assert "PLONGEUR" in closed_page and "Réactiver" in closed_page


# -- Agents ------------------------------------------------------------------------------------


def _agent_form(position_id, contract_type_id, **overrides):
    data = {
        "civility": "madame",
        "first_name": "Hélène",
        "birth_name": "Lefèvre",
        "usage_name": "",
        "birth_date": "12/05/1985",
        "ins": "",
        "status": "titulaire",
        "service": "Petite enfance",
        "work_position_id": position_id,
        "contract_type_id": contract_type_id,
        "start_date": "01/09/2024",
        "end_date": "",
    }
    data.update(overrides)
    return data


def _ids(db_ctx, users):
    with db_ctx() as session:
        position = _position(session, users.collectivity_a, "AUXILIAIRE DE PUÉRICULTURE", "526c")
        contract_type = session.scalar(select(ContractType).where(ContractType.code == "cdi"))
        return position.id, contract_type.id


def test_an_agent_created_by_an_employer_waits_for_validation_then_changes_are_staged(
    login, users, db_ctx
):
    position_id, contract_type_id = _ids(db_ctx, users)
    employer = login(users.primary_a)
    created = employer.post_form("/effectif/nouveau", _agent_form(position_id, contract_type_id))
    assert created.status_code == 302
    with db_ctx() as session:
        agent = session.scalar(select(Agent).where(Agent.birth_name == "LEFÈVRE"))
        assert agent.validated_at is None and agent.created_by_employer
        assert [c.work_position_id for c in agent.contracts] == [position_id]
    assert "À valider par le CDG" in text(employer.get("/effectif/"))

    staff = login(users.secretariat)
    staff.post_form("/synchronisation/valider", {"ids": [agent.id]}, form_url="/synchronisation/")
    with db_ctx() as session:
        assert session.get(Agent, agent.id).validated_at is not None

    # Once validated, the employer changes only names and INS, and those wait for the sync.
    refused = employer.post_form(
        f"/effectif/{agent.id}/modifier",
        {
            **_agent_form(position_id, contract_type_id),
            "service": "Voirie",
            "birth_date": "12/05/1985",
            "civility": "madame",
            "first_name": "Hélène",
            "birth_name": "Lefèvre",
        },
    )
    assert refused.status_code == 302, "fields other than names and INS are not offered nor taken"
    with db_ctx() as session:
        assert session.get(Agent, agent.id).service == "Petite enfance"
        assert (
            session.scalar(
                select(func.count(StagedAgentChange.id)).where(
                    StagedAgentChange.agent_id == agent.id
                )
            )
            == 0
        )
    staged = employer.post_form(
        f"/effectif/{agent.id}/modifier",
        {
            "civility": "madame",
            "first_name": "Hélène",
            "birth_name": "Lefèvre",
            "usage_name": "Martin",
            "birth_date": "12/05/1985",
            "ins": "",
        },
    )
    assert staged.status_code == 302
    with db_ctx() as session:
        unchanged = session.get(Agent, agent.id)
        assert unchanged.usage_name is None, "the agent keeps its value until the sync"
        [change] = session.scalars(
            select(StagedAgentChange).where(StagedAgentChange.agent_id == agent.id)
        )
        assert (change.field, change.new_value, change.status) == (
            "usage_name",
            "MARTIN",
            ChangeStatus.en_attente,
        )
    listing = employer.get("/effectif/").get_data(as_text=True)
    assert "row-pending-sync" in listing and "En attente de synchronisation" in listing

    staff.post_form(
        "/synchronisation/appliquer", {"ids": [change.id]}, form_url="/synchronisation/"
    )
    with db_ctx() as session:
        assert session.get(Agent, agent.id).usage_name == "MARTIN"
        assert session.get(StagedAgentChange, change.id).status is ChangeStatus.appliquee


def test_a_staged_change_conflicting_with_a_staff_edit_is_not_applied(app, db_ctx, users):
    from app.workforce import agents as services

    with db_ctx() as session:
        agent = make_agent(
            session, users.collectivity_a, validated_at=dt.datetime.now(dt.UTC), first_name="Paul"
        )
        change = StagedAgentChange(
            agent_id=agent.id,
            collectivity_id=agent.collectivity_id,
            field="first_name",
            old_value="Paul",
            new_value="Pierre",
        )
        session.add(change)
        session.flush()
        agent.first_name = "Paulo"  # a staff edit in between
    with db_ctx():
        result = services.apply_staged_changes()
    assert (result.applied, result.conflicts) == (0, 1)
    with db_ctx() as session:
        assert session.get(Agent, agent.id).first_name == "Paulo"
        assert session.get(StagedAgentChange, change.id).status is ChangeStatus.conflit


def test_an_employer_cannot_delete_a_validated_agent(login, users, db_ctx):
    with db_ctx() as session:
        agent = make_agent(session, users.collectivity_a, validated_at=dt.datetime.now(dt.UTC))
        pending = make_agent(session, users.collectivity_a)
    web = login(users.primary_a)
    refused = web.post_form(f"/effectif/{agent.id}/supprimer", {}, form_url="/compte/moi/")
    assert "ne peut pas être supprimé" in text(web.get(refused.headers["Location"]))
    web.post_form(f"/effectif/{pending.id}/supprimer", {}, form_url="/compte/moi/")
    with db_ctx() as session:
        assert session.get(Agent, agent.id) is not None
        assert session.get(Agent, pending.id) is None


def test_bad_agent_input_is_refused_in_french_and_kept(login, users, db_ctx):
    position_id, contract_type_id = _ids(db_ctx, users)
    web = login(users.primary_a)
    wrong_key = web.post_form(
        "/effectif/nouveau", _agent_form(position_id, contract_type_id, ins="N285056912345612")
    )
    assert "La clé du NIR est incorrecte." in text(wrong_key) or "INS" in text(wrong_key)
    assert "Lefèvre" in text(wrong_key)
    impossible = web.post_form(
        "/effectif/nouveau", _agent_form(position_id, contract_type_id, birth_date="31/02/1985")
    )
    assert "Date impossible : « 31/02/1985 » n'existe pas au calendrier." in text(impossible)
    before_birth = web.post_form(
        "/effectif/nouveau", _agent_form(position_id, contract_type_id, start_date="01/01/1990")
    )
    assert "précède les 14 ans" in text(before_birth)
    end_before_start = web.post_form(
        "/effectif/nouveau", _agent_form(position_id, contract_type_id, end_date="01/01/2024")
    )
    assert "La date de fin ne peut pas précéder la date de début." in text(end_before_start)
    with db_ctx() as session:
        assert (
            session.scalar(select(func.count(Agent.id)).where(Agent.birth_name == "LEFÈVRE")) == 0
        )


# -- Careers and exits -------------------------------------------------------------------------


def test_a_running_contract_keeps_its_position_close_it_and_open_a_new_one(login, users, db_ctx):
    with db_ctx() as session:
        first = _position(session, users.collectivity_a, "ATSEM", "526e")
        second = _position(session, users.collectivity_a, "ANIMATEUR", "434g")
        agent = make_agent(session, users.collectivity_a, validated_at=dt.datetime.now(dt.UTC))
        contract = _contract(session, agent, first, start=dt.date(2021, 9, 1))
        contract_type_id = contract.contract_type_id
    web = login(users.primary_a)
    form = {
        "work_position_id": second.id,
        "contract_type_id": contract_type_id,
        "start_date": "01/09/2021",
        "end_date": "",
    }
    refused = web.post_form(f"/effectif/{agent.id}/contrats/{contract.id}/modifier", form)
    assert "Vous ne pouvez pas modifier le poste d'un contrat en cours" in text(refused)
    closed = web.post_form(
        f"/effectif/{agent.id}/contrats/{contract.id}/modifier",
        {**form, "work_position_id": first.id, "end_date": "31/08/2025"},
    )
    assert closed.status_code == 302
    opened = web.post_form(
        f"/effectif/{agent.id}/contrats/nouveau", {**form, "start_date": "01/09/2025"}
    )
    assert opened.status_code == 302
    with db_ctx() as session:
        career = session.scalars(
            select(Contract).where(Contract.agent_id == agent.id).order_by(Contract.start_date)
        ).all()
        assert [(c.work_position_id, c.end_date) for c in career] == [
            (first.id, dt.date(2025, 8, 31)),
            (second.id, None),
        ]


def test_an_exit_closes_every_running_contract_and_the_agent_leaves_the_active_list_after_the_date(
    login, users, db_ctx, monkeypatch
):
    monkeypatch.setattr(clock, "today", lambda: dt.date(2026, 3, 1))
    with db_ctx() as session:
        position = _position(session, users.collectivity_a, "ÉDUCATEUR SPORTIF", "424a")
        other = _position(session, users.collectivity_a, "SURVEILLANT DE BAIGNADE", "424a")
        agent = make_agent(session, users.collectivity_a, birth_name="SORTANT")
        _contract(session, agent, position, start=dt.date(2018, 1, 1))
        _contract(session, agent, other, start=dt.date(2022, 6, 1))
    web = login(users.primary_a)
    page = text(web.get(f"/effectif/{agent.id}/sortie"))
    assert "ÉDUCATEUR SPORTIF" in page and "SURVEILLANT DE BAIGNADE" in page
    too_early = web.post_form(f"/effectif/{agent.id}/sortie", {"exit_date": "01/01/2020"})
    assert "La date de sortie précède l'entrée" in text(too_early)
    assert (
        web.post_form(f"/effectif/{agent.id}/sortie", {"exit_date": "31/03/2026"}).status_code
        == 302
    )
    with db_ctx() as session:
        assert {
            c.end_date
            for c in session.scalars(select(Contract).where(Contract.agent_id == agent.id))
        } == {dt.date(2026, 3, 31)}
    assert "SORTANT" in text(web.get("/effectif/"))
    monkeypatch.setattr(clock, "today", lambda: dt.date(2026, 4, 1))
    assert "SORTANT" not in text(web.get("/effectif/"))
    assert "SORTANT" in text(web.get("/effectif/?onglet=tous"))


def test_an_agent_without_a_current_position_is_shown_in_yellow(login, users, db_ctx):
    with db_ctx() as session:
        make_agent(session, users.collectivity_a, birth_name="SANSPOSTE")
    page = login(users.primary_a).get("/effectif/?onglet=tous").get_data(as_text=True)
    row = page.split("SANSPOSTE")[0].rsplit("<tr", 1)[1]
    assert "row-no-position" in row


def test_the_agent_list_searches_by_name_position_and_service(login, users, db_ctx):
    with db_ctx() as session:
        gardener = _position(session, users.collectivity_a, "JARDINIER", "631a")
        cook = _position(session, users.collectivity_a, "CUISINIER", "636d")
        _contract(
            session,
            make_agent(session, users.collectivity_a, birth_name="DUPONT", service="Espaces verts"),
            gardener,
        )
        _contract(
            session,
            make_agent(session, users.collectivity_a, birth_name="MARTIN", service="Restauration"),
            cook,
        )
    web = login(users.primary_a)
    assert "DUPONT" in text(web.get("/effectif/?nom=dup")) and "MARTIN" not in text(
        web.get("/effectif/?nom=dup")
    )
    by_position = text(web.get("/effectif/?poste=cuisin"))
    assert "MARTIN" in by_position and "DUPONT" not in by_position
    by_service = text(web.get("/effectif/?service=espaces"))
    assert "DUPONT" in by_service and "MARTIN" not in by_service


@pytest.mark.parametrize("who", ["primary_a", "secretariat"])
def test_agent_and_position_lists_run_a_constant_number_of_queries(
    login, users, db_ctx, count_queries, who
):
    web = login(getattr(users, who))
    counts: dict[str, list[int]] = {
        "/effectif/?psize=100": [],
        "/effectif/?onglet=tous&psize=100": [],
        "/postes/?psize=100": [],
    }
    for total in (5, 50):
        with db_ctx() as session:
            existing = session.scalar(
                select(func.count(Agent.id)).where(Agent.collectivity_id == users.collectivity_a.id)
            )
            for index in range(existing, total):
                position = _position(
                    session,
                    users.collectivity_a,
                    f"POSTE {index}",
                    "684a",
                    ["nuit"] if index % 2 else [],
                )
                agent = make_agent(session, users.collectivity_a)
                _contract(session, agent, position)
                session.add(
                    StagedAgentChange(
                        agent_id=agent.id,
                        collectivity_id=agent.collectivity_id,
                        field="first_name",
                        old_value="a",
                        new_value="b",
                    )
                )
        for url in counts:
            web.get(url)
            with count_queries() as counter:
                assert web.get(url).status_code == 200
            counts[url].append(counter.count)
    for url, (small, large) in counts.items():
        assert small == large, (url, small, large)
        assert large <= 14, (url, large)


def test_headcounts_by_year_and_the_current_active_headcount(login, users, db_ctx):
    with db_ctx() as session:
        session.add(
            Headcount(
                collectivity_id=users.collectivity_a.id,
                year=2024,
                headcount=118,
                permanent_headcount=102,
            )
        )
        session.add(Headcount(collectivity_id=users.collectivity_b.id, year=2024, headcount=999))
        position = _position(session, users.collectivity_a, "RÉGISSEUR", "545b")
        _contract(session, make_agent(session, users.collectivity_a), position)
    page = text(login(users.primary_a).get("/effectifs/list/"))
    assert "118" in page and "102" in page and "999" not in page
    assert "Effectif en activité aujourd'hui (agents ayant un contrat en cours) : 1" in " ".join(
        page.split()
    ).replace("<strong>", "").replace("</strong>", "")


# -- REST --------------------------------------------------------------------------------------


def test_rest_work_position_agent_and_contract(api_login, users, db_ctx):
    api = api_login(users.primary_a)
    created = api.post(
        "/api/v1/work_position/",
        json={"label": "Soudeur", "pcs_code": "624d", "risks": ["cmr", "nuit"]},
    )
    assert created.status_code == 201, created.get_json()
    position_id = created.get_json()["id"]
    shown = api.get(f"/api/v1/work_position/{position_id}").get_json()["result"]
    assert (
        shown["risks"] == ["cmr", "nuit"]
        and shown["follow_up"] == "SIR"
        and shown["closed"] is False
    )
    assert shown["collectivity_id"] == users.collectivity_a.id

    agent = api.post(
        "/api/v1/agent/",
        json={
            "civility": "monsieur",
            "first_name": "Yann",
            "birth_name": "Le Goff",
            "birth_date": "1990-04-02",
        },
    )
    assert agent.status_code == 201, agent.get_json()
    agent_id = agent.get_json()["id"]
    assert api.get(f"/api/v1/agent/{agent_id}").get_json()["result"]["validated"] is False

    contract = api.post(
        "/api/v1/contract/",
        json={
            "agent_id": agent_id,
            "work_position_id": position_id,
            "contract_type": "cdd",
            "start_date": "2025-01-06",
        },
    )
    assert contract.status_code == 201, contract.get_json()
    body = api.get(f"/api/v1/contract/{contract.get_json()['id']}").get_json()["result"]
    assert body == {
        "id": contract.get_json()["id"],
        "agent_id": agent_id,
        "work_position_id": position_id,
        "contract_type": "cdd",
        "start_date": "2025-01-06",
        "end_date": None,
    }

    with db_ctx() as session:
        foreign_position = _position(session, users.collectivity_b, "POSTE B", "684a")
    forged = api.post(
        "/api/v1/contract/",
        json={
            "agent_id": agent_id,
            "work_position_id": foreign_position.id,
            "contract_type": "cdd",
            "start_date": "2025-01-06",
        },
    )
    assert forged.status_code in (400, 404)
    assert api.get(f"/api/v1/work_position/{foreign_position.id}").status_code == 404
    bad = api.post("/api/v1/work_position/", json={"label": "X", "pcs_code": "999"})
    assert bad.status_code == 400 and "code PCS" in bad.get_json()["message"]
