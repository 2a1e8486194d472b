"""E-mail links follow HOST and PORT when PUBLIC_URL is not set (README « Another port »)."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from types import ModuleType

import pytest

from config import public_url

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, "http://127.0.0.1:5000"),
        ({"PORT": "8080"}, "http://127.0.0.1:8080"),
        ({"HOST": "192.0.2.7", "PORT": "8080"}, "http://192.0.2.7:8080"),
        ({"HOST": "0.0.0.0", "PORT": "8080"}, "http://127.0.0.1:8080"),
        ({"HOST": "::1", "PORT": "8080"}, "http://[::1]:8080"),
        (
            {"HOST": "192.0.2.7", "PORT": "8080", "PUBLIC_URL": "https://mp.cdg.fr"},
            "https://mp.cdg.fr",
        ),
        ({"HOST": "", "PORT": "", "PUBLIC_URL": ""}, "http://127.0.0.1:5000"),
    ],
)
def test_the_public_url_defaults_to_host_and_port(environ, expected):
    assert public_url(environ) == expected


def _fresh_config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, **environ: str) -> ModuleType:
    """config.py read again as at a start-up with this environment (the imported one is kept)."""
    monkeypatch.delenv("PUBLIC_URL", raising=False)
    monkeypatch.setenv("INSTANCE_DIR", str(tmp_path / "instance"))
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    spec = importlib.util.spec_from_file_location("config_at_startup", ROOT / "config.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_password_email_links_to_the_host_and_port_served(app, monkeypatch, tmp_path):
    from app import create_app, roles
    from app.accounts import services
    from app.core.mail import outbox_entries
    from tests import factories

    config = _fresh_config(monkeypatch, tmp_path, HOST="192.0.2.7", PORT="8080")
    assert config.Config.PUBLIC_URL == "http://192.0.2.7:8080"
    other_port = create_app(
        config.TestConfig,
        SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"],
        OUTBOX_DIR=str(tmp_path / "outbox"),
    )
    with other_port.app_context():
        from app.extensions import db

        try:
            user = factories.make_user(db.session, roles.SECRETARIAT)
            with other_port.test_request_context():
                token = services.issue_password_link(user, "mot_de_passe_oublie")
            db.session.commit()  # mail is delivered at the commit (inside the test's transaction)
            [entry] = outbox_entries()
        finally:
            db.session.remove()
    links = re.findall(r"https?://\S+", entry.body)
    assert f"http://192.0.2.7:8080/compte/mot-de-passe/{token}" in links
