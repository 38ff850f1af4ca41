"""Atom feeds (RFC 4287) of published reports: per commune, per category and per report.

A citizen "follows" a report by subscribing to its feed (every public timeline step is an
entry). Entries are built from ``public.public_view`` only, so no contact detail, hidden name or
internal note can reach a feed; ElementTree escapes all text.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from xml.etree import ElementTree as ET

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import select

from cityops.kernel.errors import NotFound
from cityops.kernel.orgs import Area
from cityops.services.field_reports import portal
from cityops.services.field_reports.media import N_
from cityops.services.field_reports.models import Category
from cityops.services.field_reports.public import public_view
from cityops.services.field_reports.views_labels import state_label
from cityops.web import i18n
from cityops.web.deps import Ctx, Uow

router = APIRouter(include_in_schema=False)
ATOM = "http://www.w3.org/2005/Atom"
FEED_LIMIT = 50
ATOM_TYPE = "application/atom+xml; charset=utf-8"


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, f"{{{ATOM}}}{tag}", attrs)
    if text is not None:
        element.text = text
    return element


def _state_label(state: str | None) -> str:
    return state_label(state or "")


def build_feed(*, feed_id: str, title: str, link: str, entries: list[dict[str, Any]],
               updated: datetime) -> bytes:
    """``entries``: dicts with id, title, link, updated (ISO), summary."""
    ET.register_namespace("", ATOM)
    feed = ET.Element(f"{{{ATOM}}}feed")
    _sub(feed, "id", feed_id)
    _sub(feed, "title", title)
    _sub(feed, "updated", max([e["updated"] for e in entries], default=updated.isoformat()))
    _sub(feed, "link", href=link, rel="alternate", type="text/html")
    _sub(_sub(feed, "author"), "name", "CityOps — IOC Đắk Lắk")
    for item in entries:
        entry = _sub(feed, "entry")
        _sub(entry, "id", item["id"])
        _sub(entry, "title", item["title"])
        _sub(entry, "updated", item["updated"])
        _sub(entry, "link", href=item["link"], rel="alternate", type="text/html")
        _sub(entry, "summary", item["summary"], type="text")
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(feed, encoding="utf-8")


def _report_entries(base: str, views: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"id": f"{base}/phan-anh/{v['code']}", "link": f"{base}/phan-anh/{v['code']}",
             "title": f"[{_state_label(v['state'])}] {v['category_name']} — "
                      f"{v['area'] or v['address'] or v['code']}",
             "updated": v["updated_at"],
             "summary": v["description"] + (f"\n\n{v['result']}" if v["result"] else "")}
            for v in views]


def _feed_response(body: bytes) -> Response:
    return Response(body, media_type=ATOM_TYPE, headers={"Cache-Control": "public, max-age=300"})


def _list_feed(request: Request, uow: Uow, ctx: Ctx, f: portal.PublicFilter, title: str,
               page: str) -> Response:
    language = i18n.current_language.get()
    base = ctx.settings.base_url.rstrip("/")
    views = [public_view(r, language) for r in portal.public_list(uow.session, f, FEED_LIMIT)]
    return _feed_response(build_feed(feed_id=f"{base}{request.url.path}", title=title,
                                     link=f"{base}{page}",
                                     entries=_report_entries(base, views),
                                     updated=ctx.clock()))


@router.get("/phan-anh/feed/xa/{area_code}.atom")
def commune_feed(request: Request, uow: Uow, ctx: Ctx, area_code: str) -> Response:
    area = uow.session.scalar(select(Area).where(Area.code == area_code[:16],
                                                 Area.level == "commune"))
    if area is None:
        raise NotFound(N_("no commune with this code"))
    title = i18n.gettext(N_("Field reports — %(place)s")) % {"place": area.name}
    return _list_feed(request, uow, ctx, portal.PublicFilter(area=area.code), title,
                      f"/phan-anh/danh-sach?area={area.code}")


@router.get("/phan-anh/feed/linh-vuc/{category_code}.atom")
def category_feed(request: Request, uow: Uow, ctx: Ctx, category_code: str) -> Response:
    category = uow.session.scalar(select(Category).where(Category.code == category_code[:40]))
    if category is None or category.is_private:
        raise NotFound(N_("no public category with this code"))
    language = i18n.current_language.get()
    title = i18n.gettext(N_("Field reports — %(place)s")) % {"place": category.name(language)}
    return _list_feed(request, uow, ctx, portal.PublicFilter(category=category.code), title,
                      f"/phan-anh/danh-sach?category={category.code}")


@router.get("/phan-anh/feed/{code}.atom")
def report_feed(request: Request, uow: Uow, ctx: Ctx, code: str) -> Response:
    """One report's public timeline: subscribing to it is how a citizen follows a report."""
    language = i18n.current_language.get()
    report = portal.public_report(uow.session, code[:20])
    view = public_view(report, language)
    base = ctx.settings.base_url.rstrip("/")
    link = f"{base}/phan-anh/{view['code']}"
    entries = [{"id": f"{link}#{index}", "link": link, "updated": step["at"],
                "title": f"{view['code']}: {_state_label(step['state'] or view['state'])}",
                "summary": step["text"] or view["description"]}
               for index, step in enumerate(view["timeline"], start=1)]
    title = i18n.gettext(N_("Field report %(code)s")) % {"code": view["code"]}
    return _feed_response(build_feed(feed_id=link, title=title, link=link,
                                     entries=list(reversed(entries)),
                                     updated=datetime.now(UTC)))
