"""Workforce screens (SPEC C1-C6): positions, agents (« En activité » / « Tous »), careers,
exits, validation and synchronisation by the CDG, headcounts."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

from flask import abort, current_app, flash, jsonify, redirect, request, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_appbuilder.security.decorators import has_access
from sqlalchemy import func, or_, select
from sqlalchemy.orm import selectinload

from app.core import clock, paging
from app.core.exports import export_links, export_response
from app.core.views import DELETE, READ, WRITE, AppModelView, run_service
from app.extensions import db
from app.referential.models import Civility, Collectivity, ContractType, PcsCode, Risk
from app.rules.errors import DomainError
from app.rules.follow_up import follow_up
from app.rules.formatting import fold
from app.rules.names import name_key
from app.security import Res
from app.tenancy import TenantViolation, current_scope
from app.workforce import agents as agent_services
from app.workforce import exports as workforce_exports
from app.workforce import positions as position_services
from app.workforce.forms import (
    CACES_CATEGORIES,
    AgentCreateForm,
    AgentForm,
    ExitForm,
    FirstContractForm,
)
from app.workforce.models import (
    Agent,
    AgentAssignment,
    AgentStatus,
    ChangeStatus,
    Contract,
    Headcount,
    RadiationCategory,
    StagedAgentChange,
    WorkPosition,
)
from app.workforce.positions import RiskInput

PAGE_SIZE = 25


def _page_args() -> tuple[int, int]:
    asked = paging.listing(default_size=PAGE_SIZE)
    return asked.page, asked.size


def _collectivity_name() -> Any:
    return (
        select(Collectivity.name)
        .where(Collectivity.id == WorkPosition.collectivity_id)
        .scalar_subquery()
    )


# The sortable columns of « Postes de travail » (``?tri=...&ordre=desc``), each ending on the id.
POSITION_SORTS: dict[str, Any] = {
    "libelle": (WorkPosition.label_key, WorkPosition.id),
    "pcs": (WorkPosition.pcs_code, WorkPosition.label_key, WorkPosition.id),
    "collectivite": (_collectivity_name(), WorkPosition.label_key, WorkPosition.id),
}


def collectivity_choices() -> list[tuple[int, str]]:
    """Sorted as a French reader expects (« Écully » with the E, rules.names)."""
    rows = db.session.execute(select(Collectivity.id, Collectivity.name))
    return sorted(((row.id, row.name) for row in rows), key=lambda row: (name_key(row[1]), row[0]))


def _requested_collectivity() -> int | None:
    """Staff pick a collectivity; employers always work on their own (the scope)."""
    scope = current_scope()
    if scope.is_employer:
        return scope.collectivity_id
    raw = request.values.get("collectivity_id") or request.values.get("collectivity")
    if not raw or not raw.isdigit():
        return None
    return db.session.scalar(select(Collectivity.id).where(Collectivity.id == int(raw)))


def _get_or_404(model: Any, pk: int) -> Any:
    item = db.session.get(model, pk)
    if item is None:
        abort(404)
    return item


# ----------------------------------------------------------------------------------------------
# Work positions
# ----------------------------------------------------------------------------------------------


def _risk_inputs() -> list[RiskInput]:
    form = request.form
    return [
        RiskInput(
            code=code,
            radiation_category=form.get("precision_rayonnements") or None
            if code == "rayonnements"
            else None,
            caces_categories=", ".join(form.getlist("caces_categories")) or None
            if code == "caces"
            else None,
            description=form.get("description_autre") or None if code == "autre" else None,
        )
        for code in form.getlist("risks")
    ]


class PositionsView(BaseView):
    """« Postes de travail »: declare positions with their risks; the badge shows SI/SIA/SIR."""

    route_base = "/postes"
    default_view = "index"
    class_permission_name = Res.WORK_POSITION
    method_permission_name = {
        "index": READ,
        "export": READ,
        "follow_up_badge": READ,
        "new": WRITE,
        "edit": WRITE,
        "close": WRITE,
        "reopen": WRITE,
        "remove": DELETE,
    }

    def _risks(self) -> list[Risk]:
        return list(db.session.scalars(select(Risk).order_by(Risk.sort_order)))

    def _list_query(self) -> tuple[Any, Any, bool, str, int | None]:
        """(ordered statement, unordered statement, closed tab, search text, collectivity):
        the list as the request asks for it (its sort too), without paging; its exports run
        the same one."""
        closed = request.args.get("clotures") == "1"
        text = (request.args.get("q") or "").strip()
        collectivity_id = _requested_collectivity()
        query = select(WorkPosition).where(WorkPosition.is_closed.is_(closed))
        if collectivity_id and not current_scope().is_employer:
            query = query.where(WorkPosition.collectivity_id == collectivity_id)
        if text:
            query = query.where(
                or_(
                    WorkPosition.label_key.contains(fold(text)),
                    WorkPosition.pcs_code == text.lower(),
                )
            )
        ordered = query.order_by(*self._listing().order_by(POSITION_SORTS))
        return ordered, query, closed, text, collectivity_id

    @staticmethod
    def _listing() -> paging.Listing:
        sorts = [
            k for k in POSITION_SORTS if k != "collectivite" or not current_scope().is_employer
        ]
        return paging.listing(sorts, "libelle", default_size=PAGE_SIZE)

    @expose("/")
    @has_access
    def index(self) -> Any:
        ordered, query, closed, text, collectivity_id = self._list_query()
        page, size = _page_args()
        total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
        positions = list(
            db.session.scalars(
                ordered.options(selectinload(WorkPosition.collectivity))
                .limit(size)
                .offset((page - 1) * size)
            )
        )
        held = position_services.present_agent_counts([p.id for p in positions])
        effects = position_services.risk_effects()
        today = clock.today()
        rows = [(p, follow_up(p.risk_codes, effects, today), held.get(p.id, 0)) for p in positions]
        return self.render_template(
            "workforce/positions.html",
            title="Postes de travail clôturés" if closed else "Postes de travail",
            rows=rows,
            closed=closed,
            q=text,
            page=page,
            pages=max(1, math.ceil(total / size)),
            total=total,
            listing=self._listing(),
            staff=not current_scope().is_employer,
            collectivities=collectivity_choices() if not current_scope().is_employer else [],
            collectivity_id=collectivity_id,
            can_write=self.appbuilder.sm.has_access("can_write", Res.WORK_POSITION),
            can_delete=self.appbuilder.sm.has_access("can_delete", Res.WORK_POSITION),
            export_links=export_links("PositionsView.export"),
        )

    @expose("/export/<fmt>")
    @has_access
    def export(self, fmt: str) -> Any:
        """The list as CSV or XLSX: same tab, collectivity and search, every row."""
        ordered = self._list_query()[0]
        export = workforce_exports.positions_export(staff=not current_scope().is_employer)
        return export_response(fmt, export, workforce_exports.positions_statement(ordered))

    @expose("/suivi")
    @has_access
    def follow_up_badge(self) -> Any:
        """The badge of the ticked risks, computed by the rule in force today (live in the form)."""
        codes = [c for c in request.args.get("risques", "").split(",") if c]
        known = {r.code for r in self._risks()}
        result = follow_up(
            [c for c in codes if c in known], position_services.risk_effects(), clock.today()
        )
        return jsonify(
            level=result.level.value,
            certificate=result.certificate_required,
            reasons=list(result.reasons),
        )

    def _form_page(
        self, form: Any, position: WorkPosition | None, similar: list[WorkPosition] | None = None
    ) -> Any:
        selected = (
            {r.code: r for r in _risk_inputs()}
            if request.method == "POST"
            else (
                {
                    link.risk.code: RiskInput(
                        link.risk.code,
                        link.radiation_category.name if link.radiation_category else None,
                        link.caces_categories,
                        link.description,
                    )
                    for link in position.risk_links
                }
                if position
                else {}
            )
        )
        effects = position_services.risk_effects()
        badge = follow_up(list(selected), effects, clock.today())
        return self.render_template(
            "workforce/position_form.html",
            title="Modifier le poste de travail" if position else "Déclarer un poste de travail",
            form=form,
            position=position,
            risks=self._risks(),
            selected=selected,
            radiation_categories=list(RadiationCategory),
            caces_categories=CACES_CATEGORIES,
            badge_result=badge,
            similar=similar,
            pcs_codes=list(
                db.session.execute(select(PcsCode.code, PcsCode.label).order_by(PcsCode.code))
            ),
            staff=not current_scope().is_employer,
        )

    def _save(self, form: Any, position: WorkPosition, is_new: bool) -> bool:
        def action() -> None:
            position_services.prepare_position(position, form.label.data, form.pcs_code.data)
            if is_new:
                collectivity_id = _requested_collectivity()
                if not collectivity_id:
                    raise DomainError("Choisissez la collectivité du poste.")
                position.collectivity_id = collectivity_id
                db.session.add(position)
            position_services.apply_risks(position, _risk_inputs())
            position_services.check_precisions(position)

        return run_service(action, form)

    @expose("/nouveau", methods=["GET", "POST"])
    @has_access
    def new(self) -> Any:
        from app.workforce.forms import PositionForm

        form = PositionForm()
        form.collectivity_id.choices = (
            collectivity_choices() if not current_scope().is_employer else []
        )
        if request.method == "POST" and form.validate_on_submit():
            similar = position_services.similar_positions(
                form.pcs_code.data, _requested_collectivity()
            )
            if similar and request.form.get("confirm") != "1":
                flash(
                    "Nous avons détecté un ou plusieurs poste(s) similaire(s) listé(s) ci-dessous. "
                    "Si vous souhaitez tout de même poursuivre, cliquez sur « Continuer ». "
                    "Sinon, cliquez sur « Annuler ».",
                    "warning",
                )
                return self._form_page(form, None, similar)
            position = WorkPosition()
            if self._save(form, position, is_new=True):
                flash("Poste de travail enregistré.", "success")
                return redirect(url_for("PositionsView.index"))
        return self._form_page(form, None)

    @expose("/<int:position_id>/modifier", methods=["GET", "POST"])
    @has_access
    def edit(self, position_id: int) -> Any:
        from app.workforce.forms import PositionForm

        position = _get_or_404(WorkPosition, position_id)
        form = PositionForm(obj=position)
        form.collectivity_id.choices = []
        if position_services.held_by_present_agent(position.id):
            flash("Ce poste est occupé par un agent : il ne peut plus être modifié.", "warning")
            return redirect(url_for("PositionsView.index"))
        if request.method == "POST" and form.validate_on_submit():
            if self._save(form, position, is_new=False):
                flash("Poste de travail modifié.", "success")
                return redirect(url_for("PositionsView.index"))
            position = _get_or_404(WorkPosition, position_id)
        return self._form_page(form, position)

    def _lifecycle(self, position_id: int, action: Any, message: str) -> Any:
        position = _get_or_404(WorkPosition, position_id)
        ran = run_service(lambda: action(position))
        if ran:
            flash(ran.result if isinstance(ran.result, str) else message, "success")
        return redirect(request.referrer or url_for("PositionsView.index"))

    @expose("/<int:position_id>/cloturer", methods=["POST"])
    @has_access
    def close(self, position_id: int) -> Any:
        return self._lifecycle(position_id, position_services.close_position, "Poste clôturé.")

    @expose("/<int:position_id>/reactiver", methods=["POST"])
    @has_access
    def reopen(self, position_id: int) -> Any:
        return self._lifecycle(position_id, position_services.reopen_position, "Poste réactivé.")

    @expose("/<int:position_id>/supprimer", methods=["POST"])
    @has_access
    def remove(self, position_id: int) -> Any:
        return self._lifecycle(position_id, position_services.delete_position, "Poste supprimé.")


# ----------------------------------------------------------------------------------------------
# Agents
# ----------------------------------------------------------------------------------------------


def _position_choices(collectivity_id: int | None) -> list[tuple[int, str]]:
    query = select(WorkPosition).where(WorkPosition.is_closed.is_(False))
    if collectivity_id:
        query = query.where(WorkPosition.collectivity_id == collectivity_id)
    return [
        (p.id, f"{p.label} – {p.pcs_code}")
        for p in db.session.scalars(query.order_by(WorkPosition.label_key))
    ]


def _contract_input(form: Any) -> agent_services.ContractInput:
    return agent_services.ContractInput(
        form.work_position_id.data,
        form.contract_type_id.data,
        form.start_date.data,
        form.end_date.data,
    )


def _contract_type_choices() -> list[tuple[int, str]]:
    return [
        (t.id, t.label)
        for t in db.session.scalars(select(ContractType).order_by(ContractType.sort_order))
    ]


# The sortable columns of « Effectif » (``?tri=...&ordre=desc``): what each header shows.
AGENT_SORTS = ("nom", "naissance", "poste", "debut")


def sorted_agents(query: Any, listing: paging.Listing, today: dt.date) -> Any:
    """The list's statement as sorted by the user: the column shown, then the name shown (French
    collation key) and the id, so that pages never overlap; an agent without the value (no
    current position) comes last whatever the direction.

    The position and start date are read from the agent's sort keys (``Agent.list_position``,
    ``Agent.list_start``: what his line shows of the shown contract, kept at each contract flush
    and by the nightly ``sync``), each with an index per direction, so that a page walks an index
    instead of aggregating every contract (issue 10: 315 / 237 ms at 200 000 agents)."""
    if listing.sort not in ("naissance", "poste", "debut"):
        names = agent_services.NAME_ORDER
        return query.order_by(*(c.desc() if listing.descending else c.asc() for c in names))
    key: Any = {
        "naissance": Agent.birth_date,
        "poste": Agent.list_position,
        "debut": Agent.list_start,
    }[listing.sort]
    direction = key.desc() if listing.descending else key.asc()
    return query.order_by(direction.nulls_last(), *(c.asc() for c in agent_services.NAME_ORDER))


class AgentsView(BaseView):
    """« Effectif »: the agents « En activité » and « Tous », their careers and exits."""

    route_base = "/effectif"
    default_view = "index"
    class_permission_name = Res.AGENT
    method_permission_name = {
        "index": READ,
        "export": READ,
        "detail": READ,
        "new": WRITE,
        "edit": WRITE,
        "exit": WRITE,
        "new_contract": WRITE,
        "edit_contract": WRITE,
        "remove": DELETE,
    }
    TABS = {"actifs": "En activité", "tous": "Tous", "a_valider": "À valider"}

    def _list_query(self) -> tuple[Any, dict[str, Any]]:
        """The statement of the list as the request asks for it (tab, filters, order), without
        paging: the page and its exports (``export``) run the same one."""
        tab = request.args.get("onglet", "actifs")
        tab = tab if tab in self.TABS else "actifs"
        name = (request.args.get("nom") or "").strip()
        position = (request.args.get("poste") or "").strip()
        service = (request.args.get("service") or "").strip()
        collectivity_id = _requested_collectivity()
        today = clock.today()
        query = select(Agent)
        if tab == "actifs":
            query = query.where(agent_services.active_clause(today))
        elif tab == "a_valider":
            query = query.where(Agent.validated_at.is_(None))
        if collectivity_id and not current_scope().is_employer:
            query = query.where(Agent.collectivity_id == collectivity_id)
        if name:
            query = query.where(agent_services.name_clause(name))
        if position:
            query = query.where(agent_services.position_clause(fold(position)))
        if service:
            query = query.where(func.lower(Agent.service).contains(service.lower()))
        listing = self._listing()
        ordered = sorted_agents(query, listing, today)
        state = {
            "tab": tab,
            "filters": {"nom": name, "poste": position, "service": service},
            "collectivity_id": collectivity_id,
            "today": today,
            "unordered": query,
            "listing": listing,
        }
        return ordered, state

    @staticmethod
    def _listing() -> paging.Listing:
        return paging.listing(AGENT_SORTS, "nom", default_size=PAGE_SIZE)

    @expose("/")
    @has_access
    def index(self) -> Any:
        ordered, state = self._list_query()
        tab, collectivity_id, today = state["tab"], state["collectivity_id"], state["today"]
        name, position, service = (state["filters"][k] for k in ("nom", "poste", "service"))
        listing = state["listing"]
        page, size = listing.page, listing.size
        cap = agent_services.count_cap(any(state["filters"].values()))
        total = agent_services.capped_count(state["unordered"], name, cap)
        if listing.sort == "nom" and not listing.descending:
            # The default order walks the name index (searched: its two halves, issue 9).
            statement = agent_services.page_statement(
                state["unordered"], name, listing.offset, size
            )
        else:
            statement = ordered.limit(size).offset(listing.offset)
        agents = list(
            db.session.scalars(
                statement.options(selectinload(Agent.contracts), selectinload(Agent.staged_changes))
            )
        )
        return self.render_template(
            "workforce/agents.html",
            title="Effectif",
            agents=agents,
            tab=tab,
            tabs=self.TABS,
            filters={"nom": name, "poste": position, "service": service},
            page=page,
            pages=max(1, math.ceil(min(total, cap) / size)),
            total=total,
            listing=listing,
            total_capped=total > cap,
            count_cap=cap,
            today=today,
            staff=not current_scope().is_employer,
            collectivities=collectivity_choices() if not current_scope().is_employer else [],
            collectivity_id=collectivity_id,
            can_write=self.appbuilder.sm.has_access("can_write", Res.AGENT),
            can_validate=self.appbuilder.sm.has_access("can_write", Res.AGENT_VALIDATION),
            export_links=export_links("AgentsView.export"),
        )

    @expose("/export/<fmt>")
    @has_access
    def export(self, fmt: str) -> Any:
        """The list as CSV or XLSX: same tab, collectivity, filters and order, every row."""
        ordered = self._list_query()[0]
        export = workforce_exports.agents_export(staff=not current_scope().is_employer)
        return export_response(fmt, export, ordered)  # plain rows: see agents_export(sql=...)

    @expose("/nouveau", methods=["GET", "POST"])
    @has_access
    def new(self) -> Any:
        form = AgentCreateForm()
        staff = not current_scope().is_employer
        form.collectivity_id.choices = collectivity_choices() if staff else []
        collectivity_id = _requested_collectivity()
        form.work_position_id.choices = _position_choices(collectivity_id)
        form.contract_type_id.choices = _contract_type_choices()
        if request.method == "POST" and form.validate_on_submit():
            agent = Agent()

            def action() -> None:
                if not collectivity_id:
                    raise DomainError("Choisissez la collectivité de l'agent.")
                agent.collectivity_id = collectivity_id
                self._fill(agent, form)
                contract = agent_services.ContractInput(
                    work_position_id=form.work_position_id.data,
                    contract_type_id=form.contract_type_id.data,
                    start_date=form.start_date.data,
                    end_date=form.end_date.data,
                )
                agent_services.create_agent(agent, contract)
                scope = current_scope()
                if scope.is_secondary:
                    db.session.add(
                        AgentAssignment(
                            agent=agent,
                            user_id=scope.secondary_user_id,
                            collectivity_id=agent.collectivity_id,
                        )
                    )

            if run_service(action, form):
                flash(
                    "Agent enregistré : il sera validé par le Centre de Gestion."
                    if not staff
                    else "Agent enregistré.",
                    "success",
                )
                return redirect(url_for("AgentsView.detail", agent_id=agent.id))
        return self.render_template(
            "workforce/agent_form.html",
            title="Ajouter un nouvel agent",
            form=form,
            agent=None,
            staff=staff,
            restricted=False,
        )

    @staticmethod
    def _fill(agent: Agent, form: Any) -> None:
        agent.civility = form.civility.data and Civility[form.civility.data]
        agent.first_name = form.first_name.data
        agent.birth_name = form.birth_name.data
        agent.usage_name = form.usage_name.data
        agent.birth_date = form.birth_date.data
        agent.ins = form.ins.data
        agent.status = AgentStatus[form.status.data] if form.status.data else None
        agent.service = (form.service.data or "").strip() or None

    @expose("/<int:agent_id>")
    @has_access
    def detail(self, agent_id: int) -> Any:
        agent = _get_or_404(Agent, agent_id)
        today = clock.today()
        effects = position_services.risk_effects()
        careers = [
            (c, follow_up(c.work_position.risk_codes, effects, today)) for c in agent.contracts
        ]
        return self.render_template(
            "workforce/agent_detail.html",
            title=agent.full_name,
            agent=agent,
            careers=careers,
            today=today,
            staged=sorted(agent.staged_changes, key=lambda c: c.id, reverse=True),
            can_write=self.appbuilder.sm.has_access("can_write", Res.AGENT),
            can_delete=self.appbuilder.sm.has_access("can_delete", Res.AGENT)
            and not (current_scope().is_employer and agent.validated),
        )

    @expose("/<int:agent_id>/modifier", methods=["GET", "POST"])
    @has_access
    def edit(self, agent_id: int) -> Any:
        agent = _get_or_404(Agent, agent_id)
        restricted = current_scope().is_employer and agent.validated
        form = AgentForm(obj=agent) if request.method == "GET" else AgentForm()
        if request.method == "GET":
            form.civility.data = agent.civility.name
            form.status.data = agent.status.name if agent.status else ""
        form.collectivity_id.choices = []
        if request.method == "POST" and form.validate_on_submit():
            staged: list[int] = []

            def action() -> None:
                values = {
                    "first_name": form.first_name.data,
                    "birth_name": form.birth_name.data,
                    "usage_name": form.usage_name.data,
                    "ins": form.ins.data,
                }
                if not restricted:
                    values.update(
                        civility=Civility[form.civility.data],
                        birth_date=form.birth_date.data,
                        status=AgentStatus[form.status.data] if form.status.data else None,
                        service=(form.service.data or "").strip() or None,
                    )
                staged.append(agent_services.update_agent(agent, values))

            if run_service(action, form):
                flash(
                    "Modifications enregistrées : elles apparaissent en vert, en attente de synchronisation."
                    if staged and staged[0]
                    else "Agent modifié.",
                    "success",
                )
                return redirect(url_for("AgentsView.detail", agent_id=agent_id))
            agent = _get_or_404(Agent, agent_id)
        return self.render_template(
            "workforce/agent_form.html",
            title="Modifier l'agent",
            form=form,
            agent=agent,
            staff=False,
            restricted=restricted,
        )

    @expose("/<int:agent_id>/sortie", methods=["GET", "POST"])
    @has_access
    def exit(self, agent_id: int) -> Any:
        from app.visits.requests import exit_warning, pending_requests

        agent = _get_or_404(Agent, agent_id)
        form = ExitForm()
        pending = pending_requests(agent.id)
        if request.method == "POST" and form.validate_on_submit():
            if run_service(lambda: agent_services.exit_agent(agent, form.exit_date.data), form):
                flash("Date de fin enregistrée sur les contrats en cours.", "success")
                if pending and form.exit_date.data <= clock.today():
                    flash(f"{len(pending)} demande(s) de visite en attente annulée(s).", "info")
                return redirect(url_for("AgentsView.detail", agent_id=agent_id))
            agent = _get_or_404(Agent, agent_id)
        return self.render_template(
            "workforce/exit_form.html",
            title="Sortie de l'effectif",
            form=form,
            agent=agent,
            open_contracts=agent_services.running_contracts(agent),
            pending_warning=exit_warning(pending),
        )

    def _contract_page(self, agent: Agent, form: Any, contract: Contract | None) -> Any:
        return self.render_template(
            "workforce/contract_form.html",
            title="Modifier le contrat" if contract else "Nouveau contrat",
            form=form,
            agent=agent,
            contract=contract,
        )

    @expose("/<int:agent_id>/contrats/nouveau", methods=["GET", "POST"])
    @has_access
    def new_contract(self, agent_id: int) -> Any:
        agent = _get_or_404(Agent, agent_id)
        form = FirstContractForm()
        form.work_position_id.choices = _position_choices(agent.collectivity_id)
        form.contract_type_id.choices = _contract_type_choices()
        if request.method == "POST" and form.validate_on_submit():
            data = _contract_input(form)
            if run_service(lambda: agent_services.add_contract(agent, data), form):
                flash("Contrat ajouté à la carrière.", "success")
                return redirect(url_for("AgentsView.detail", agent_id=agent_id))
            agent = _get_or_404(Agent, agent_id)
        return self._contract_page(agent, form, None)

    @expose("/<int:agent_id>/contrats/<int:contract_id>/modifier", methods=["GET", "POST"])
    @has_access
    def edit_contract(self, agent_id: int, contract_id: int) -> Any:
        agent = _get_or_404(Agent, agent_id)
        contract = _get_or_404(Contract, contract_id)
        if contract.agent_id != agent.id:
            abort(404)
        form = FirstContractForm(obj=contract) if request.method == "GET" else FirstContractForm()
        choices = _position_choices(agent.collectivity_id)
        if contract.work_position_id not in {c for c, _ in choices}:
            choices.append((contract.work_position_id, str(contract.work_position)))
        form.work_position_id.choices = choices
        form.contract_type_id.choices = _contract_type_choices()
        if request.method == "POST" and form.validate_on_submit():
            data = _contract_input(form)
            if run_service(lambda: agent_services.update_contract(contract, data), form):
                flash("Contrat modifié.", "success")
                return redirect(url_for("AgentsView.detail", agent_id=agent_id))
            agent = _get_or_404(Agent, agent_id)
            contract = _get_or_404(Contract, contract_id)
        return self._contract_page(agent, form, contract)

    @expose("/<int:agent_id>/supprimer", methods=["POST"])
    @has_access
    def remove(self, agent_id: int) -> Any:
        agent = _get_or_404(Agent, agent_id)
        if not run_service(lambda: agent_services.delete_agent(agent)):
            return redirect(url_for("AgentsView.detail", agent_id=agent_id))
        flash("Agent supprimé.", "success")
        return redirect(url_for("AgentsView.index"))


# The sortable columns of the staged changes waiting for the sync (``?tri=...&ordre=desc``).
CHANGE_SORTS: dict[str, Any] = {
    "date": (StagedAgentChange.created_at, StagedAgentChange.id),
    "agent": (Agent.search_name, StagedAgentChange.id),
    "champ": (StagedAgentChange.field, StagedAgentChange.id),
}


class AgentValidationView(BaseView):
    """CDG staff: validate new agents and apply (or refuse) the employers' staged changes,
    through the service the nightly sync calls."""

    route_base = "/synchronisation"
    default_view = "index"
    class_permission_name = Res.AGENT_VALIDATION
    method_permission_name = {"index": READ, "validate": WRITE, "apply": WRITE, "reject": WRITE}

    @expose("/")
    @has_access
    def index(self) -> Any:
        pending_agents = list(
            db.session.scalars(
                select(Agent)
                .where(Agent.validated_at.is_(None))
                .order_by(Agent.collectivity_id, *agent_services.NAME_ORDER)
                .limit(500)
            )
        )
        listing = paging.listing(CHANGE_SORTS, "date", default_size=50)
        pending = select(StagedAgentChange).where(
            StagedAgentChange.status == ChangeStatus.en_attente
        )
        total = db.session.scalar(pending.with_only_columns(func.count(StagedAgentChange.id))) or 0
        if listing.sort == "agent":
            pending = pending.join(Agent, Agent.id == StagedAgentChange.agent_id)
        changes = list(
            db.session.scalars(
                pending.options(selectinload(StagedAgentChange.agent))
                .order_by(*listing.order_by(CHANGE_SORTS))
                .limit(listing.size)
                .offset(listing.offset)
            )
        )
        recent = list(
            db.session.scalars(
                select(StagedAgentChange)
                .where(StagedAgentChange.status != ChangeStatus.en_attente)
                .options(selectinload(StagedAgentChange.agent))
                .order_by(StagedAgentChange.processed_at.desc())
                .limit(50)
            )
        )
        return self.render_template(
            "workforce/synchronisation.html",
            title="Validation et synchronisation",
            pending_agents=pending_agents,
            changes=changes,
            listing=listing,
            page=listing.page,
            pages=listing.pages(total),
            total=total,
            recent=recent,
        )

    def _ids(self) -> list[int]:
        return [int(v) for v in request.form.getlist("ids") if v.isdigit()]

    @expose("/valider", methods=["POST"])
    @has_access
    def validate(self) -> Any:
        agents = list(db.session.scalars(select(Agent).where(Agent.id.in_(self._ids()))))
        count = agent_services.validate_agents(agents)
        db.session.commit()
        flash(f"{count} agent(s) validé(s).", "success")
        return redirect(url_for("AgentValidationView.index"))

    @expose("/appliquer", methods=["POST"])
    @has_access
    def apply(self) -> Any:
        result = agent_services.apply_staged_changes(self._ids() or None)
        db.session.commit()
        flash(
            f"{result.applied} modification(s) appliquée(s), {result.conflicts} en conflit.",
            "success",
        )
        return redirect(url_for("AgentValidationView.index"))

    @expose("/refuser", methods=["POST"])
    @has_access
    def reject(self) -> Any:
        count = agent_services.reject_staged_changes(self._ids())
        db.session.commit()
        flash(f"{count} modification(s) refusée(s).", "success")
        return redirect(url_for("AgentValidationView.index"))


class HeadcountView(AppModelView):
    """« Effectifs »: the headcounts declared year by year (SPEC C6)."""

    route_base = "/effectifs"
    datamodel = SQLAInterface(Headcount)
    class_permission_name = Res.HEADCOUNT
    list_title = "Effectifs déclarés"
    show_title = "Effectif déclaré"
    add_title = "Saisir un effectif"
    edit_title = "Modifier un effectif"
    list_columns = [
        "collectivity",
        "year",
        "headcount",
        "permanent_headcount",
        "payroll",
        "declared_on",
        "lock_state",
    ]
    add_columns = [
        "collectivity",
        "year",
        "headcount",
        "permanent_headcount",
        "payroll",
        "declared_on",
        "note",
    ]
    edit_columns = add_columns
    show_columns = [*add_columns, "validated_by", "lock_state", "reopened_reason"]
    search_columns = ["year"]
    order_columns = ["year"]
    base_order = ("year", "desc")
    label_columns = {
        "collectivity": "Collectivité",
        "year": "Année",
        "headcount": "Effectif au 1er janvier",
        "permanent_headcount": "Effectif permanent au 31/12 N-1",
        "payroll": "Masse salariale",
        "declared_on": "Déclaré le",
        "note": "Observation",
        "validated_by": "Validée par",
        "lock_state": "Modification",
        "reopened_reason": "Motif de réouverture",
    }
    list_template = "workforce/headcount_list.html"
    show_template = "billing/declaration_show.html"  # the staff's « Rouvrir » button
    # Staff reopen a locked declaration with a reason (SPEC F1; app/billing/declarations.py).
    method_permission_name = {**AppModelView.method_permission_name, "reopen": WRITE}

    @expose("/<int:pk>/rouvrir", methods=["GET", "POST"])
    @has_access
    def reopen(self, pk: int) -> Any:
        from app.billing import declarations as declaration_services

        if current_scope().is_employer:
            abort(404)
        row = db.session.get(Headcount, pk)
        if row is None:
            abort(404)
        error = None
        if request.method == "POST":
            try:
                declaration_services.reopen(pk, request.form.get("reason", ""))
            except TenantViolation:
                db.session.rollback()
                abort(404)
            except DomainError as refused:
                db.session.rollback()
                error = refused.message
            else:
                db.session.commit()
                flash(f"Déclaration {row.year} rouverte : l'employeur peut la modifier.", "success")
                return redirect(url_for("HeadcountView.list"))
        return self.render_template(
            "billing/declaration_reopen.html", row=row, error=error, title="Rouvrir"
        )

    def _get_list_widget(self, filters: Any, **kwargs: Any) -> Any:
        from app.core.views import _hide_columns

        widgets = super()._get_list_widget(filters, **kwargs)
        if current_scope().is_secondary:  # the payroll is the primary account's (declaration)
            _hide_columns(widgets["list"].template_args, {"payroll"}, by_index=False)
        return widgets

    def _get_show_widget(self, pk: Any, item: Any, widgets: Any = None, **kwargs: Any) -> Any:
        from app.core.views import _hide_columns

        widgets = super()._get_show_widget(pk, item, widgets, **kwargs)
        if current_scope().is_secondary:
            _hide_columns(widgets["show"].template_args, {"payroll"}, by_index=True)
        return widgets

    def pre_add(self, item: Headcount) -> None:
        self._check(item)

    def pre_update(self, item: Headcount) -> None:
        self._check(item)

    @staticmethod
    def _check(item: Headcount) -> None:
        from app.rules.errors import FieldError

        if item.year < 2000 or item.year > clock.today().year + 1:
            raise FieldError("Année invalide.", "year")
        if item.headcount < 0 or (item.permanent_headcount or 0) < 0:
            raise FieldError("Un effectif ne peut pas être négatif.", "headcount")
        if item.payroll is not None and item.payroll < 0:
            raise FieldError("La masse salariale ne peut pas être négative.", "payroll")

    def render_template(self, template: str, **kwargs: Any) -> Any:
        today = clock.today()
        kwargs.setdefault(
            "can_reopen",
            not current_scope().is_employer
            and bool(self.appbuilder.sm.has_access(f"can_{WRITE}", self.class_permission_name)),
        )
        kwargs.setdefault(
            "current_headcount",
            db.session.scalar(
                select(func.count(Agent.id)).where(agent_services.active_clause(today))
            ),
        )
        return super().render_template(template, **kwargs)


class ImportsView(BaseView):
    """« Importer »: positions, agents and end of contracts by file (SSTRN, CONTRACT.md §3)."""

    route_base = "/imports"
    default_view = "index"
    class_permission_name = Res.IMPORT
    method_permission_name = {"index": READ, "template": READ, "upload": WRITE}

    def _page(self, report: Any = None, kind: str | None = None, result: Any = None) -> Any:
        from app.workforce.imports import KIND_LABELS

        staff = not current_scope().is_employer
        return self.render_template(
            "workforce/imports.html",
            title="Importer des données",
            kinds=KIND_LABELS,
            report=report,
            current=kind,
            result=result,
            staff=staff,
            collectivities=collectivity_choices() if staff else [],
            collectivity_id=_requested_collectivity(),
            max_mb=current_app.config["IMPORT_MAX_BYTES"] // (1024 * 1024),
        )

    @expose("/")
    @has_access
    def index(self) -> Any:
        return self._page()

    @expose("/modele/<kind>")
    @has_access
    def template(self, kind: str) -> Any:
        from flask import Response

        from app.workforce.importing import ImportKind
        from app.workforce.imports import example_template, exits_template

        try:
            import_kind = ImportKind(kind)
        except ValueError:
            abort(404)
        if import_kind is ImportKind.exits:
            collectivity_id = _requested_collectivity()
            if not collectivity_id:
                flash(
                    "Choisissez d'abord la collectivité dont vous voulez les contrats en cours.",
                    "warning",
                )
                return redirect(url_for("ImportsView.index"))
            content = exits_template(collectivity_id)
        else:
            content = example_template(import_kind)
        filename = {
            "positions": "modele_postes.csv",
            "agents": "modele_salaries.csv",
            "exits": "fins_de_contrats.csv",
        }[kind]
        return Response(
            content,
            mimetype="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{filename}"'},
        )

    @expose("/<kind>", methods=["POST"])
    @has_access
    def upload(self, kind: str) -> Any:
        from app.workforce.importing import ImportKind, ImportRejected
        from app.workforce.imports import run_import

        try:
            import_kind = ImportKind(kind)
        except ValueError:
            abort(404)
        upload = request.files.get("file")
        collectivity_id = _requested_collectivity()
        if upload is None or not upload.filename:
            flash("Choisissez un fichier à importer.", "danger")
            return self._page(kind=kind)
        if not collectivity_id:
            flash("Choisissez la collectivité concernée.", "danger")
            return self._page(kind=kind)
        try:
            result = run_import(import_kind, upload.read(), upload.filename, collectivity_id)
        except ImportRejected as rejected:
            db.session.rollback()
            return self._page(report=rejected, kind=kind)
        except TenantViolation:
            db.session.rollback()
            abort(404)
        db.session.commit()
        flash(result.message, "success")
        return self._page(kind=kind, result=result)
