"""Loads N collectivities and reports the staff list page time and its SQL query count."""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import Counter, fresh_app, measure  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, nargs="+", default=[100, 1000, 10000])
    args = parser.parse_args()

    from app import roles
    from app.demo import fake_siret
    from app.extensions import db
    from app.referential.models import (
        Collectivity,
        CollectivityKind,
        Contact,
        ContactFunction,
        TariffCategory,
    )
    from tests.factories import PASSWORD, make_user

    app = fresh_app()
    with app.app_context():
        make_user(db.session, roles.SECRETARIAT, username="bench")
        db.session.commit()
    loaded = 0
    rng = random.Random(1)
    print(f"database: {app.config['SQLALCHEMY_DATABASE_URI'].split(':')[0]}")
    for target in sorted(args.rows):
        with app.app_context():
            db.session.info["skip_audit"] = True
            for index in range(loaded, target):
                collectivity = Collectivity(
                    name=f"Commune {index:06d}",
                    kind=CollectivityKind.commune,
                    siret=fake_siret(rng),
                    category=TariffCategory.affiliee,
                    membership_number=f"B{index:06d}",
                    main_city="Lyon",
                )
                collectivity.siren = collectivity.siret[:9]
                collectivity.contacts.append(Contact(function=ContactFunction.rh, last_name="RH"))
                db.session.add(collectivity)
                if index % 1000 == 999:
                    db.session.flush()
            db.session.commit()
            engine = db.engine
        loaded = target
        client = app.test_client()
        client.post("/login/", data={"username": "bench", "password": PASSWORD})
        for url in ("/collectivityview/list/", "/collectivityview/list/?_flt_0_name=Commune%2000"):
            client.get(url)
            counter = Counter(engine)
            client.get(url)
            queries = counter.count
            figures = measure(lambda url=url, client=client: client.get(url))
            print(
                f"{target:>7} collectivities  {url:<50} {queries:>3} queries  "
                f"median {figures['median_ms']:.1f} ms  p95 {figures['p95_ms']:.1f} ms"
            )


if __name__ == "__main__":
    main()
