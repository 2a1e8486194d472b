"""The hand-written lists sort by their column headers, choose their page size and number their
pages (app.core.paging.listing, templates/core/_list.html); their exports follow the sort."""

from __future__ import annotations

import csv
import io
import re

import pytest

from app.workforce.models import WorkPosition


def _positions(session, collectivity, count):
    for n in range(count):
        position = WorkPosition(collectivity_id=collectivity.id, pcs_code=f"{(n * 37) % 90 + 10}1a")
        position.set_label(f"Poste {n:03d}")
        session.add(position)
    session.flush()


def _listed(page):
    return re.findall(r"<strong>(Poste \d{3})</strong>", page)


def _codes(page):
    return re.findall(r"<td>(\d{3}a)</td>", page)


@pytest.fixture
def sixty(db_ctx, users):
    with db_ctx() as session:
        _positions(session, users.collectivity_a, 60)


def test_positions_sort_by_the_clicked_column_both_ways(login, users, sixty):
    web = login(users.primary_a)
    page = web.get("/postes/").get_data(as_text=True)
    assert 'href="/postes/?tri=pcs&amp;ordre=asc&amp;page=1"' in page, "no sortable header"
    by_label = _listed(page)
    assert by_label == sorted(by_label) and len(by_label) == 25
    ascending = _codes(web.get("/postes/?tri=pcs&psize=100").get_data(as_text=True))
    descending = _codes(web.get("/postes/?tri=pcs&ordre=desc&psize=100").get_data(as_text=True))
    assert len(ascending) == 60
    assert ascending == sorted(ascending)
    assert descending == sorted(ascending, reverse=True)
    # The export holds the rows in the order the list shows.
    body = web.get("/postes/export/csv?tri=pcs&ordre=desc").get_data().decode("utf-8-sig")
    exported = [row[2] for row in csv.reader(io.StringIO(body), delimiter=";")][1:]
    assert exported == descending


def test_positions_choose_their_page_size_and_number_their_pages(login, users, sixty):
    web = login(users.primary_a)
    first = web.get("/postes/").get_data(as_text=True)
    assert "Lignes par page" in first
    assert 'href="/postes/?psize=50&amp;page=1"' in first
    assert 'href="/postes/?page=3"' in first, "no link to the last page"
    fifty = web.get("/postes/?psize=50").get_data(as_text=True)
    assert len(_listed(fifty)) == 50
    last = web.get("/postes/?psize=50&page=2").get_data(as_text=True)
    assert len(_listed(last)) == 10
    assert not set(_listed(last)) & set(_listed(fifty)), "pages overlap"


@pytest.mark.parametrize(
    "args",
    [
        "tri=collectivite",
        "tri=id;drop",
        "ordre=sideways",
        "psize=abc",
        "psize=0",
        "page=-3",
        "page=99999999999",
        "psize=100000",
    ],
)
def test_odd_list_arguments_fall_back_to_the_defaults(login, users, sixty, args):
    web = login(users.primary_a)
    response = web.get(f"/postes/?{args}")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    if args.startswith(("tri", "ordre")):
        assert _listed(page) == sorted(_listed(page)) and len(_listed(page)) == 25
    if args == "psize=100000":
        assert len(_listed(page)) == 60, "the page size is capped at 100"
