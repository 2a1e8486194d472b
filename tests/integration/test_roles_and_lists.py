"""The permission matrix is what users get, and list pages run a constant number of queries."""

from __future__ import annotations

import pytest

from app import roles
from app.core.views import AppModelView
from app.security import MATRIX
from tests import factories


def _list_views(app):
    return [
        view
        for view in app.appbuilder.baseviews
        if isinstance(view, AppModelView) and view.class_permission_name in MATRIX
    ]


@pytest.mark.parametrize("role", roles.ALL_ROLES)
def test_each_role_reaches_exactly_the_screens_of_the_matrix(app, login, users, role):
    web = login(users.by_role(role))
    for view in _list_views(app):
        can_read = role == roles.ADMIN or "read" in MATRIX[view.class_permission_name].get(role, ())
        response = web.get(f"{view.route_base}/list/")
        assert response.status_code == (200 if can_read else 403), (role, view.route_base)
        can_add = role == roles.ADMIN or "write" in MATRIX[view.class_permission_name].get(role, ())
        if view.add_columns and "can_write" in view.base_permissions:
            response = web.get(f"{view.route_base}/add")
            assert response.status_code == (200 if can_add else 403), (role, view.route_base, "add")


def test_an_anonymous_visitor_is_sent_to_the_login_page(client):
    response = client.get("/collectivityview/list/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def _fill(session, rows: int) -> None:
    for _ in range(rows):
        collectivity = factories.make_collectivity(session)
        factories.make_contact(session, collectivity)
        professional = factories.make_professional(session)
        from app.referential.models import HealthTeamMember, HealthTeamRole

        session.add(
            HealthTeamMember(
                collectivity_id=collectivity.id,
                professional_id=professional.id,
                role=HealthTeamRole.medecin_referent,
            )
        )
        factories.make_office(session, served=[collectivity])
        primary = factories.make_user(session, roles.EMPLOYER_PRIMARY, collectivity=collectivity)
        factories.make_user(
            session, roles.EMPLOYER_SECONDARY, collectivity=collectivity, primary=primary
        )


LIST_URLS = [
    "/collectivityview/list/?psize_CollectivityView=100",
    "/contactview/list/?psize_ContactView=100",
    "/healthteamview/list/?psize_HealthTeamView=100",
    "/officeview/list/?psize_OfficeView=100",
    "/professionalview/list/?psize_ProfessionalView=100",
    "/auditlogview/list/?psize_AuditLogView=100",
    "/comptes-employeurs/list/?psize_EmployerAccountView=100",
    "/riskeffectview/list/?psize_RiskEffectView=100",
    "/tariffview/list/?psize_TariffView=100",
]


def test_list_pages_run_a_constant_number_of_queries(login, users, db_ctx, count_queries):
    web = login(users.admin)
    counts: dict[str, list[int]] = {url: [] for url in LIST_URLS}
    for total in (5, 50):
        with db_ctx() as session:
            _fill(session, total - (5 if total == 50 else 0))
        for url in LIST_URLS:
            web.get(url)  # warm up caches (menus, roles)
            with count_queries() as counter:
                response = web.get(url)
            assert response.status_code == 200
            counts[url].append(counter.count)
    for url, (small, large) in counts.items():
        assert small == large, f"{url}: {small} queries with 5 rows, {large} with 50"
        assert large <= 12, f"{url}: {large} queries"
