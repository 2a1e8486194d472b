"""Schema from migrations only, roles and reference data seeded idempotently, CLI."""

from __future__ import annotations

from decimal import Decimal

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import func, select

from app import roles
from app.extensions import db, metadata
from app.models import (
    Collectivity,
    PortalMembership,
    Risk,
    RiskEffectRule,
    Role,
    StatutoryAct,
    Tariff,
    User,
)
from app.security import matrix_markdown


def test_migrations_produce_exactly_the_models_schema(app):
    with app.app_context(), db.engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "render_as_batch": True}
        )
        differences = compare_metadata(context, metadata)
    assert differences == []


def test_seed_roles_twice_gives_the_same_roles(cli, db_ctx):
    first = cli.invoke(args=["seed-roles"])
    second = cli.invoke(args=["seed-roles"])
    assert first.exit_code == 0 and second.exit_code == 0
    assert "aucun" in second.output
    with db_ctx() as session:
        names = set(session.scalars(select(Role.name)))
    assert set(roles.ALL_ROLES) <= names


def test_reference_data_is_complete_and_loading_it_again_adds_nothing(cli, db_ctx):
    result = cli.invoke(args=["seed-reference"])
    assert result.exit_code == 0
    assert "tarifs : 0 ajouté(s)" in result.output
    assert "risques : 0 ajouté(s)" in result.output
    with db_ctx() as session:
        assert session.scalar(select(func.count(Risk.id))) == 14
        assert session.scalar(select(func.count(StatutoryAct.id))) == 17
        electrical = session.scalars(
            select(RiskEffectRule)
            .join(Risk)
            .where(Risk.code == "electrique")
            .order_by(RiskEffectRule.valid_from.nulls_first())
        ).all()
        assert [rule.effect.name for rule in electrical] == ["SIR", "SI"]
        assert electrical[1].requires_certificate
        affiliated = session.scalars(
            select(Tariff)
            .where(Tariff.code == "medprev_unit_cost", Tariff.key == "affiliee")
            .order_by(Tariff.valid_from)
        ).all()
        assert [t.value for t in affiliated] == [Decimal("80"), Decimal("87")]


def test_the_permission_matrix_document_is_up_to_date():
    from pathlib import Path

    document = Path(__file__).resolve().parents[2] / "docs" / "permissions.md"
    assert document.read_text(encoding="utf-8") == matrix_markdown(), (
        "docs/permissions.md is stale: run `flask roles matrix > docs/permissions.md`"
    )


def test_users_create_links_an_employer_to_its_collectivity(cli, db_ctx):
    from tests.factories import PASSWORD, make_collectivity

    with db_ctx() as session:
        collectivity = make_collectivity(session)
    result = cli.invoke(
        args=[
            "users",
            "create",
            "--username",
            "rh-test",
            "--email",
            "rh@test.fr",
            "--password",
            PASSWORD,
            "--role",
            roles.EMPLOYER_PRIMARY,
            "--collectivity",
            collectivity.siret,
        ]
    )
    assert result.exit_code == 0, result.output
    result = cli.invoke(
        args=[
            "users",
            "create",
            "--username",
            "rh-test-2",
            "--email",
            "rh2@test.fr",
            "--password",
            PASSWORD,
            "--role",
            roles.EMPLOYER_SECONDARY,
            "--collectivity",
            collectivity.siret,
            "--primary",
            "rh-test",
        ]
    )
    assert result.exit_code == 0, result.output
    with db_ctx() as session:
        primary = session.scalar(select(User).where(User.username == "rh-test"))
        secondary = session.scalar(select(User).where(User.username == "rh-test-2"))
        memberships = {
            m.user_id: m
            for m in session.scalars(
                select(PortalMembership).where(PortalMembership.collectivity_id == collectivity.id)
            )
        }
        assert memberships[primary.id].primary_user_id is None
        assert memberships[secondary.id].primary_user_id == primary.id
        assert [r.name for r in secondary.roles] == [roles.EMPLOYER_SECONDARY]


def test_users_create_refuses_bad_input_in_french(cli, db_ctx):
    from tests.factories import PASSWORD

    weak = cli.invoke(
        args=[
            "users",
            "create",
            "--username",
            "x",
            "--email",
            "x@test.fr",
            "--password",
            "faible",
            "--role",
            roles.SECRETARIAT,
        ]
    )
    assert weak.exit_code == 1 and "au moins 8 caractères" in weak.output
    unknown = cli.invoke(
        args=[
            "users",
            "create",
            "--username",
            "y",
            "--email",
            "y@test.fr",
            "--password",
            PASSWORD,
            "--role",
            roles.EMPLOYER_PRIMARY,
            "--collectivity",
            "73282932000074",
        ]
    )
    assert unknown.exit_code == 1 and "Aucune collectivité" in unknown.output
    with db_ctx() as session:
        assert session.scalar(select(func.count(User.id)).where(User.username.in_(["x", "y"]))) == 0
        assert session.scalar(select(func.count(Collectivity.id))) == 0
