"""Jinja2 environment and the ``render`` helper every view uses."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.templating import Jinja2Templates
from jinja2 import ChoiceLoader, FileSystemLoader

from cityops.web import i18n
from cityops.web.deps import csrf_token

TEMPLATE_DIR = Path(__file__).parent / "templates"


def make_templates(extra_dirs: list[str]) -> Jinja2Templates:
    templates = Jinja2Templates(directory=str(TEMPLATE_DIR))
    env = templates.env
    env.loader = ChoiceLoader([FileSystemLoader(str(TEMPLATE_DIR)),
                               *(FileSystemLoader(d) for d in extra_dirs)])
    env.add_extension("jinja2.ext.i18n")
    env.install_gettext_callables(i18n.gettext, i18n.ngettext, newstyle=True)  # type: ignore[attr-defined]
    env.autoescape = True
    return templates


def _header_badges(request: Request, ctx: Any, principal: Any) -> list[dict[str, Any]]:
    if principal is None or principal.user_id is None:
        return []
    badges = []
    with ctx.db.session() as session:
        for manifest in ctx.registry:
            if manifest.header_badge is None:
                continue
            badge = manifest.header_badge(session, principal)
            if badge is not None:
                href, label, count = badge
                badges.append({"href": href, "label": i18n.gettext(label), "count": count})
    return badges


def render(request: Request, name: str, status_code: int = 200, **context: Any) -> Any:
    state = request.state
    ctx = request.app.state.ctx
    language = i18n.current_language.get()
    nav = [
        {"key": m.key, "title": m.title(language), "icon": m.icon, "path": m.nav_path}
        for m in ctx.registry if m.nav_path
    ]
    badges = _header_badges(request, ctx, getattr(state, "principal", None))
    base = {
        "header_badges": badges,
        "request": request,
        "user": getattr(state, "user", None),
        "principal": getattr(state, "principal", None),
        "lang": language,
        "languages": i18n.LANGUAGES,
        "csrf_token": csrf_token(request),
        "nav_services": nav,
        "settings": ctx.settings,
    }
    base.update(context)
    return request.app.state.templates.TemplateResponse(request, name, base,
                                                        status_code=status_code)
