"""The home page: a greeting and the shortcuts the signed-in user can use."""

from __future__ import annotations

from typing import Any

from flask import g
from flask_appbuilder import IndexView, expose

from app.core.access import menu_item_visible


class HomeView(IndexView):
    route_base = ""
    index_template = "medprev/index.html"

    @expose("/")
    def index(self) -> Any:
        shortcuts: list[tuple[str, str, str]] = []
        user = g.user
        if user is not None and user.is_authenticated:
            menu = self.appbuilder.menu
            for category in menu.get_list():
                for item in category.childs or [category]:
                    if item.name == "-" or not item.get_url():
                        continue
                    if menu_item_visible(item):
                        shortcuts.append(
                            (item.label or item.name, item.get_url(), item.icon or "fa-angle-right")
                        )
        return self.render_template(
            self.index_template, appbuilder=self.appbuilder, shortcuts=shortcuts[:12]
        )
