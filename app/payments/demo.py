"""Demo data of issue 18 (SEPA): one signed mandate (the first collectivity, whose employer
account is in the demo accounts file) and one awaiting signature."""

from __future__ import annotations

import datetime as dt
from typing import Any

from app.payments.models import MandateStatus, SepaMandate

DEMO_MANDATES = (
    ("FR7630006000011234567890189", "AGRIFRPP", MandateStatus.signe),
    ("FR7610107001011234567890129", "BREDFRPP", MandateStatus.en_attente),
)


def demo_sepa(context: Any) -> None:
    collectivities = list(context.collectivities[:2])
    for collectivity, (number, bic, status) in zip(collectivities, DEMO_MANDATES, strict=False):
        context.session.add(
            SepaMandate(
                collectivity_id=collectivity.id,
                umr=f"CDG-SEPA-{collectivity.id:06d}",
                signed_on=dt.date(2025, 12, 1) if status is MandateStatus.signe else None,
                iban=number,
                bic=bic,
                debtor_name=collectivity.name[:70],
                status=status,
            )
        )
    context.session.flush()
    context.summary["mandats SEPA"] = len(collectivities)
