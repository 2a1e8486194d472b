"""Chorus Pro deposit batches (issue 18): the Factur-X files of issued invoices, a manifest, and
when the API is configured, the deposit of each file (``urllib``, no extra dependency)."""

from __future__ import annotations

import base64
import io
import json
import urllib.error
import urllib.request
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from app.billing.models import Invoice, InvoiceStatus
from app.core.spreadsheet import csv_bytes
from app.referential.models import Collectivity

MANIFEST_NAME = "manifeste.csv"
MANIFEST_HEADER = [
    "numero_facture",
    "siret_destinataire",
    "code_service",
    "numero_engagement",
    "montant",
    "fichier",
]
# Chorus Pro « syntaxe du flux » of a Factur-X EN 16931 file.
FLOW_SYNTAX = "IN_DP_E2_CII_FACTURX"
DEPOSITABLE = (InvoiceStatus.emise, InvoiceStatus.partiellement_payee, InvoiceStatus.payee)


@dataclass(frozen=True)
class Blocked:
    number: str
    reason: str


@dataclass
class Selection:
    ready: list[Invoice] = field(default_factory=list)
    blocked: list[Blocked] = field(default_factory=list)


def blocking_reason(invoice: Invoice, collectivity: Collectivity, requires_service: bool) -> str:
    """Why an invoice cannot be deposited, in French ("" when it can)."""
    if invoice.status not in DEPOSITABLE:
        return "Pièce annulée : elle n'est pas déposée sur Chorus Pro."
    siret = (collectivity.siret or "").strip()
    if len(siret) != 14 or not siret.isdigit():
        return "SIRET du destinataire manquant ou invalide (14 chiffres attendus)."
    if requires_service and not (collectivity.chorus_service_code or "").strip():
        return (
            "Code service Chorus Pro exigé par le destinataire mais non renseigné "
            "(« Mes coordonnées » ou fiche de la collectivité)."
        )
    return ""


def select_invoices(
    invoices: Sequence[Invoice], requires_service: Mapping[int, bool] | None = None
) -> Selection:
    """Split the chosen invoices into ready and blocked (``invoice.collectivity`` loaded).

    ``requires_service``: collectivity id -> whether its Chorus Pro structure requires a
    service code (from the Chorus Pro directory; unknown: not required)."""
    requires_service = requires_service or {}
    selection = Selection()
    for invoice in invoices:
        reason = blocking_reason(
            invoice, invoice.collectivity, requires_service.get(invoice.collectivity_id, False)
        )
        if reason:
            selection.blocked.append(Blocked(invoice.number, reason))
        else:
            selection.ready.append(invoice)
    return selection


def manifest_csv(rows: Sequence[Mapping[str, str]]) -> bytes:
    """The batch's manifest, through the neutralising writer like every CSV of the app."""
    header = list(MANIFEST_HEADER)
    return csv_bytes(header, [[row.get(name, "") for name in header] for row in rows])


def manifest_row(invoice: Invoice, file_name: str) -> dict[str, str]:
    collectivity = invoice.collectivity
    amount: Decimal = abs(invoice.total)
    return {
        "numero_facture": invoice.number,
        "siret_destinataire": collectivity.siret,
        "code_service": collectivity.chorus_service_code or "",
        "numero_engagement": collectivity.chorus_engagement_number or "",
        "montant": f"{amount:.2f}".replace(".", ","),
        "fichier": file_name,
    }


def batch_zip(files: Sequence[tuple[str, bytes]], rows: Sequence[Mapping[str, str]]) -> bytes:
    """The downloadable batch: every Factur-X file plus the manifest."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files:
            archive.writestr(name, data)
        archive.writestr(MANIFEST_NAME, manifest_csv(rows))
    return out.getvalue()


class ChorusError(Exception):
    """A deposit refused or the endpoint unreachable (French message)."""


@dataclass(frozen=True)
class ChorusSettings:
    url: str
    token: str
    login: str = ""
    password: str = ""
    timeout: float = 20.0

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> ChorusSettings | None:
        url = str(config.get("CHORUS_API_URL") or "").strip()
        token = str(config.get("CHORUS_API_TOKEN") or "").strip()
        if not url or not token:
            return None
        return cls(
            url=url.rstrip("/"),
            token=token,
            login=str(config.get("CHORUS_LOGIN") or ""),
            password=str(config.get("CHORUS_PASSWORD") or ""),
            timeout=float(config.get("CHORUS_TIMEOUT") or 20),
        )


def deposit_file(settings: ChorusSettings, file_name: str, data: bytes) -> str:
    """Send one Factur-X file (« déposer flux »); returns the deposit identifier."""
    body = json.dumps(
        {
            "fichierFlux": base64.b64encode(data).decode("ascii"),
            "nomFichier": file_name,
            "syntaxeFlux": FLOW_SYNTAX,
            "avecSignature": False,
        }
    ).encode("utf-8")
    headers = {
        "Content-Type": "application/json;charset=utf-8",
        "Accept": "application/json",
        "Authorization": f"Bearer {settings.token}",
    }
    if settings.login:
        account = f"{settings.login}:{settings.password}".encode()
        headers["cpro-account"] = base64.b64encode(account).decode("ascii")
    request = urllib.request.Request(
        f"{settings.url}/factures/v1/deposer/flux", data=body, headers=headers, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=settings.timeout) as response:  # noqa: S310
            payload = json.loads(response.read().decode("utf-8") or "{}")
    except urllib.error.HTTPError as err:
        raise ChorusError(f"Chorus Pro a refusé le dépôt (HTTP {err.code}).") from err
    except (urllib.error.URLError, TimeoutError, OSError) as err:
        raise ChorusError("Chorus Pro est injoignable : le lot reste téléchargeable.") from err
    except ValueError as err:
        raise ChorusError("Réponse illisible de Chorus Pro.") from err
    if str(payload.get("codeRetour", "0")) not in ("0", "") or not payload.get("numeroFluxDepot"):
        label = payload.get("libelle") or "dépôt refusé"
        raise ChorusError(f"Chorus Pro a refusé le dépôt : {label}.")
    return str(payload["numeroFluxDepot"])
