"""REST resources of the workforce (CONTRACT.md §2): agent, work_position, contract."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import g, request
from flask_appbuilder.models.filters import BaseFilter
from flask_appbuilder.models.sqla.interface import SQLAInterface
from marshmallow import Schema, fields
from sqlalchemy import select

from app.accounts import services as account_services
from app.core.views import AppModelRestApi
from app.extensions import db
from app.referential import services as referential_services
from app.referential.models import Collectivity, ContractType
from app.rules.errors import DomainError
from app.security import Res
from app.tenancy import TenantViolation, current_scope
from app.workforce import agents as agent_services
from app.workforce import positions as position_services
from app.workforce.models import Agent, AgentAssignment, Contract, WorkPosition


class _RiskPrecisionSchema(Schema):
    radiation_category = fields.String(allow_none=True)
    caces_categories = fields.String(allow_none=True)
    description = fields.String(allow_none=True)


class _RisksSchema(Schema):
    """The risks of a position as the API takes them: codes, and precisions by code."""

    risks = fields.List(fields.String(), allow_none=True)
    risk_precisions = fields.Dict(
        keys=fields.String(), values=fields.Nested(_RiskPrecisionSchema), allow_none=True
    )


class _SecondaryAccountsSchema(Schema):
    secondary_account_ids = fields.List(fields.Integer(strict=True), allow_none=True)


class AgentNameFilter(BaseFilter):
    """``(col:search_name,opr:nom,value:gerard)``: the agents list's name search (GÉRARD, by
    birth or usage name, then first name; case and accents ignored)."""

    name = agent_services.NAME_SEARCH_LABEL
    arg_name = "nom"

    def apply(self, query: Any, value: Any) -> Any:
        return query.filter(agent_services.name_clause(str(value)))


class AgentApi(AppModelRestApi):
    resource_name = "agent"
    datamodel = SQLAInterface(Agent)
    class_permission_name = Res.AGENT
    show_title = "Agent"
    label_columns = {
        "civility": "Civilité",
        "first_name": "Prénom",
        "birth_name": "Nom de naissance",
        "usage_name": "Nom d'usage",
        "birth_date": "Date de naissance",
        "ins": "INS",
        "validated": "Validé par le CDG",
        "secondary_account_ids": "Comptes secondaires",
        "status": "Statut",
        "service": "Service",
        "search_name": agent_services.NAME_SEARCH_LABEL,
    }
    list_columns = [
        "id",
        "collectivity_id",
        "civility",
        "first_name",
        "birth_name",
        "usage_name",
        "birth_date",
        "ins",
        "validated",
        "secondary_account_ids",
    ]
    show_columns = [*list_columns, "status", "service"]
    # CONTRACT.md §2: staff give the agent's collectivity; an employer's is his own (another
    # one is answered 404). An agent never changes collectivity through the API.
    edit_columns = [
        "civility",
        "first_name",
        "birth_name",
        "usage_name",
        "birth_date",
        "ins",
        "status",
        "service",
    ]
    add_columns = ["collectivity_id", *edit_columns]
    search_columns = [
        "birth_name",
        "usage_name",
        "first_name",
        "ins",
        "collectivity_id",
        "search_name",
    ]
    search_filters = {"search_name": [AgentNameFilter]}
    order_columns = ["birth_name", "first_name", "birth_date", "search_name"]

    def payload(self) -> Any:
        """``secondary_account_ids`` is written through the delegation service (primary account)."""
        data = request.get_json(silent=True)
        g.agent_secondary_ids = None
        if not isinstance(data, dict) or "secondary_account_ids" not in data:
            return data
        data = dict(data)
        loaded = _SecondaryAccountsSchema().load(
            {"secondary_account_ids": data.pop("secondary_account_ids")}
        )
        g.agent_secondary_ids = loaded["secondary_account_ids"] or []
        return data

    def _refused(self, error: Exception) -> Any:
        if isinstance(error, account_services.PrimaryOnly):
            self.datamodel.session.rollback()
            return self.response(403, message=error.message)
        return super()._refused(error)

    @staticmethod
    def _assign_secondary_accounts(agent: Agent) -> None:
        user_ids = g.pop("agent_secondary_ids", None)
        if user_ids is not None:
            db.session.add(agent)
            db.session.flush()
            account_services.set_agent_secondary_accounts(agent.id, user_ids)

    def _init_model_schemas(self) -> None:
        super()._init_model_schemas()
        # Employers never give their collectivity: it is the one they work for.
        self.add_model_schema.fields["collectivity_id"].required = False

    def pre_add(self, item: Agent) -> None:
        scope = current_scope()
        if scope.is_employer:
            if item.collectivity_id not in (None, scope.collectivity_id):
                raise TenantViolation()
            item.collectivity_id = scope.collectivity_id
        elif not item.collectivity_id:
            raise DomainError("Précisez la collectivité de l'agent (collectivity_id).")
        elif db.session.get(Collectivity, item.collectivity_id) is None:
            raise TenantViolation()
        agent_services.create_agent(item, None)
        if scope.is_secondary:
            db.session.add(
                AgentAssignment(
                    agent=item,
                    user_id=scope.secondary_user_id,
                    collectivity_id=item.collectivity_id,
                )
            )
        self._assign_secondary_accounts(item)

    def put_headless(self, pk: Any) -> Any:
        """Employer changes to a validated agent are staged, as on the screen."""
        item = self.datamodel.get(pk, self._base_filters)
        if not item:
            return self.response_404()
        old = {name: getattr(item, name) for name in agent_services.PERSON_FIELDS}
        response = None
        original_pre_update = self.pre_update

        def pre_update(agent: Agent) -> None:
            new_values = {name: getattr(agent, name) for name in agent_services.PERSON_FIELDS}
            for name, value in old.items():
                setattr(agent, name, value)
            agent_services.update_agent(agent, new_values)
            self._assign_secondary_accounts(agent)

        self.pre_update = pre_update  # type: ignore[method-assign]
        try:
            response = super().put_headless(pk)
        finally:
            self.pre_update = original_pre_update  # type: ignore[method-assign]
        return response

    def pre_delete(self, item: Agent) -> None:
        agent_services.delete_agent(item)


class WorkPositionApi(AppModelRestApi):
    """Positions with ``risks`` as a list of risk codes and the ``follow_up`` in force today."""

    resource_name = "work_position"
    datamodel = SQLAInterface(WorkPosition)
    class_permission_name = Res.WORK_POSITION
    show_title = "Poste de travail"
    label_columns = {
        "label": "Intitulé du poste",
        "pcs_code": "Code PCS",
        "risks": "Risques",
        "follow_up": "Suivi médical",
        "closed": "Fermé",
        "is_closed": "Fermé",
    }
    list_columns = ["id", "collectivity_id", "label", "pcs_code", "risks", "follow_up", "closed"]
    show_columns = list_columns
    add_columns = ["label", "pcs_code", "collectivity_id"]
    edit_columns = ["label", "pcs_code"]
    search_columns = ["label", "pcs_code", "collectivity_id", "is_closed"]
    order_columns = ["label", "pcs_code"]

    def payload(self) -> Any:
        data = dict(request.get_json(silent=True) or {})
        risks = _RisksSchema().load(
            {"risks": data.pop("risks", None), "risk_precisions": data.pop("risk_precisions", None)}
        )
        g.position_risks = (risks["risks"], risks["risk_precisions"] or {})
        return data

    def _init_model_schemas(self) -> None:
        super()._init_model_schemas()
        # Employers never give their collectivity: it is the one they work for.
        self.add_model_schema.fields["collectivity_id"].required = False

    def pre_add(self, item: WorkPosition) -> None:
        self._prepare(item)

    def pre_update(self, item: WorkPosition) -> None:
        self._prepare(item)

    def _prepare(self, item: WorkPosition) -> None:
        scope = current_scope()
        if scope.is_employer:
            item.collectivity_id = scope.collectivity_id
        if not item.collectivity_id:
            raise DomainError("Précisez la collectivité du poste (collectivity_id).")
        position_services.prepare_position(item, item.label, item.pcs_code)
        codes, details = g.get("position_risks", (None, {}))
        if codes is not None:
            if not isinstance(codes, list):
                raise DomainError("« risks » doit être une liste de codes de risques.")
            inputs = [
                position_services.RiskInput(
                    code=str(code),
                    radiation_category=(details.get(code) or {}).get("radiation_category"),
                    caces_categories=(details.get(code) or {}).get("caces_categories"),
                    description=(details.get(code) or {}).get("description"),
                )
                for code in codes
            ]
            position_services.apply_risks(item, inputs)

    def pre_delete(self, item: WorkPosition) -> None:
        if position_services.held_by_present_agent(item.id):
            raise DomainError(
                "Ce poste est attribué à un agent présent : il ne peut pas être supprimé."
            )
        if position_services.ever_held(item.id):
            raise DomainError(
                "Ce poste figure dans la carrière d'agents : clôturez-le plutôt que de le supprimer."
            )


class ContractSchema(Schema):
    """CONTRACT.md §2 ``contract``: the contract type as its code."""

    id = fields.Integer()
    agent_id = fields.Integer()
    work_position_id = fields.Integer()
    contract_type = fields.Function(lambda contract: contract.contract_type.code)
    start_date = fields.Date()
    end_date = fields.Date(allow_none=True)


class ContractDetailSchema(ContractSchema):
    pass


class ContractApi(AppModelRestApi):
    resource_name = "contract"
    datamodel = SQLAInterface(Contract)
    class_permission_name = Res.CONTRACT
    show_title = "Contrat"
    label_columns = {
        "agent_id": "Agent",
        "work_position_id": "Poste de travail",
        "contract_type_id": "Type de contrat",
        "contract_type_code": "Code du type de contrat",
        "start_date": "Début",
        "end_date": "Fin",
    }
    list_columns = [
        "id",
        "agent_id",
        "work_position_id",
        "contract_type_code",
        "start_date",
        "end_date",
    ]
    show_columns = list_columns
    list_model_schema = ContractSchema()
    show_model_schema = ContractDetailSchema()
    add_columns = ["agent_id", "work_position_id", "contract_type_id", "start_date", "end_date"]
    edit_columns = ["work_position_id", "contract_type_id", "start_date", "end_date"]
    search_columns = ["agent_id", "work_position_id", "start_date", "end_date"]
    order_columns = ["start_date", "end_date"]

    @staticmethod
    def _contract_type_id(payload: dict[str, Any], fallback: int | None) -> int | None:
        value = payload.get("contract_type")
        if value is None:
            return fallback
        code = referential_services.reference_code(ContractType, value, "contract_type")
        return db.session.scalar(select(ContractType.id).where(ContractType.code == code))

    def post_headless(self) -> Any:
        payload = request.get_json(silent=True)
        if not isinstance(payload, dict):
            return self.response_400(message="Request is not JSON")
        try:
            agent = db.session.get(Agent, int(payload.get("agent_id") or 0))
            if agent is None:
                raise TenantViolation()
            data = agent_services.ContractInput(
                work_position_id=int(payload.get("work_position_id") or 0),
                contract_type_id=self._contract_type_id(payload, payload.get("contract_type_id"))
                or 0,
                start_date=_date(payload.get("start_date")),
                end_date=_date(payload.get("end_date")) if payload.get("end_date") else None,
            )
            contract = agent_services.add_contract(agent, data)
            self._commit()
        except (DomainError, ValueError, TypeError) as error:
            return self._refused(
                error if isinstance(error, DomainError) else DomainError("Valeurs invalides.")
            )
        return self.response(201, id=contract.id, result=self.show_model_schema.dump(contract))

    def put_headless(self, pk: Any) -> Any:
        contract = self.datamodel.get(pk, self._base_filters)
        if contract is None:
            return self.response_404()
        payload = request.get_json(silent=True)
        if not isinstance(payload, dict):
            return self.response_400(message="Request is not JSON")
        try:
            data = agent_services.ContractInput(
                work_position_id=int(payload.get("work_position_id", contract.work_position_id)),
                contract_type_id=self._contract_type_id(
                    payload, payload.get("contract_type_id", contract.contract_type_id)
                )
                or 0,
                start_date=_date(payload["start_date"])
                if "start_date" in payload
                else contract.start_date,
                end_date=_date(payload["end_date"])
                if payload.get("end_date")
                else (None if "end_date" in payload else contract.end_date),
            )
            agent_services.update_contract(contract, data)
            self._commit()
        except (DomainError, ValueError, TypeError) as error:
            return self._refused(
                error if isinstance(error, DomainError) else DomainError("Valeurs invalides.")
            )
        return self.response(200, result=self.show_model_schema.dump(contract))


def _date(value: Any) -> dt.date:
    if isinstance(value, str):
        return dt.date.fromisoformat(value)
    raise ValueError(value)
