"""The operator's overview: the province map and the services' dashboard tiles."""

from __future__ import annotations

import logging

from babel.numbers import format_decimal
from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import func, select

from cityops.kernel.orgs import Agency, Area
from cityops.web import i18n
from cityops.web.deps import Ctx, Uow
from cityops.web.templating import render
from cityops.web.views.common import PagePrincipal

log = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)


def format_tile_value(value: object, language: str) -> str:
    """Numbers in the reader's convention (1.200 in Vietnamese, 1,200 in English); a tuple of
    numbers reads "a / b" (e.g. tickets checked / sent)."""
    locale = "vi_VN" if language == "vi" else "en_US"
    parts = value if isinstance(value, tuple) else (value,)
    return " / ".join(format_decimal(part, locale=locale) if isinstance(part, int | float)
                      else str(part) for part in parts)


@router.get("/overview")
def overview(request: Request, principal: PagePrincipal, uow: Uow, ctx: Ctx) -> Response:
    language = i18n.current_language.get()
    tiles = []
    for manifest in ctx.registry:
        for tile in manifest.tiles:
            try:
                value = tile.compute(ctx)
            except Exception:  # one broken tile must not take the overview down
                log.exception("tile %s.%s failed", manifest.key, tile.key)
                value = "—"
            tiles.append({"title": tile.title_en if language == "en" else tile.title_vi,
                          "value": format_tile_value(value, language),
                          "service": manifest.title(language)})
    counts = {
        "communes": uow.session.scalar(
            select(func.count()).select_from(Area).where(Area.level == "commune",
                                                         Area.valid_to.is_(None))),
        "agencies": uow.session.scalar(select(func.count()).select_from(Agency)),
    }
    return render(request, "overview.html", tiles=tiles, counts=counts)
