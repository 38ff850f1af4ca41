"""The public CAP 1.2 feed and the alert-center statistics.

Statistics are checked against counts computed independently with plain SQL over the
``alerts`` table, and on a small handmade set where the means can be worked out by hand.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit
from xml.etree import ElementTree as ET

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import bindparam, select, text
from test_alert_api import agency_ids, created, transition
from test_alert_engine import NOW, local, new_alert, principal_of, run

from cityops.alerts import service, stats
from cityops.alerts.models import Alert
from cityops.alerts.policies import ensure_default_policies
from cityops.alerts.vocab import CAP_SEVERITY
from cityops.kernel.auth import User
from cityops.kernel.context import AppContext
from cityops.kernel.db import UTCDateTime
from cityops.kernel.orgs import Agency
from cityops.kernel.permissions import SYSTEM

Headers = Callable[[str], dict[str, str]]
CAP = "{urn:oasis:names:tc:emergency:cap:1.2}"
ATOM = "{http://www.w3.org/2005/Atom}"
FEED = "/cap/alerts.atom"
CAP_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+07:00$")
# Element order the CAP 1.2 schema prescribes (xs:sequence), for the elements we emit.
CAP_ALERT_ORDER = ("identifier", "sender", "sent", "status", "msgType", "source", "scope",
                   "restriction", "addresses", "code", "note", "references", "incidents",
                   "info")
CAP_INFO_ORDER = ("language", "category", "event", "responseType", "urgency", "severity",
                  "certainty", "audience", "eventCode", "effective", "onset", "expires",
                  "senderName", "headline", "description", "instruction", "web", "contact",
                  "parameter", "resource", "area")
CAP_AREA_ORDER = ("areaDesc", "polygon", "circle", "geocode", "altitude", "ceiling")


# -- CAP helpers ------------------------------------------------------------------------------

def local_tags(element: ET.Element, namespace: str = CAP) -> list[str]:
    return [child.tag.removeprefix(namespace) for child in element]


def assert_schema_order(element: ET.Element, order: tuple[str, ...]) -> None:
    tags = local_tags(element)
    assert set(tags) <= set(order), f"unexpected CAP elements: {set(tags) - set(order)}"
    positions = [order.index(tag) for tag in tags]
    assert positions == sorted(positions), f"CAP elements out of schema order: {tags}"


def public_ids(ctx: AppContext) -> set[int]:
    with ctx.db.session() as session:
        return set(session.scalars(select(Alert.id).where(Alert.is_public.is_(True))))


def feed(client: TestClient) -> ET.Element:
    response = client.get(FEED)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/atom+xml")
    root = ET.fromstring(response.content)
    assert root.tag == f"{ATOM}feed"
    return root


def entry_id(entry: ET.Element) -> int:
    found = re.fullmatch(r"urn:cityops:alert:(\d+)", entry.findtext(f"{ATOM}id") or "")
    assert found, "entry id is not urn:cityops:alert:<id>"
    return int(found.group(1))


def entry_ids(root: ET.Element) -> list[int]:
    return [entry_id(entry) for entry in root.iter(f"{ATOM}entry")]


def cap_message(client: TestClient, path: str) -> ET.Element:
    response = client.get(path)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/cap+xml")
    assert response.content.startswith(b"<?xml")
    root = ET.fromstring(response.content)
    assert root.tag == f"{CAP}alert"
    return root


def cap_of(client: TestClient, alert_id: int) -> ET.Element:
    return cap_message(client, f"/cap/alerts/{alert_id}.xml")


def check_cap(root: ET.Element, alert: Alert) -> None:
    assert_schema_order(root, CAP_ALERT_ORDER)
    identifier = root.findtext(f"{CAP}identifier") or ""
    assert identifier and not re.search(r"[\s,<&]", identifier)
    assert root.findtext(f"{CAP}sender") == "ioc.daklak.gov.vn"
    assert CAP_TIME.match(root.findtext(f"{CAP}sent") or "")
    assert root.findtext(f"{CAP}status") == "Actual"
    assert root.findtext(f"{CAP}msgType") in ("Alert", "Update", "Cancel")
    assert root.findtext(f"{CAP}scope") == "Public"
    infos = root.findall(f"{CAP}info")
    languages = ["vi-VN", "en-US"] if alert.title_en else ["vi-VN"]
    assert [i.findtext(f"{CAP}language") for i in infos] == languages
    for info in infos:
        assert_schema_order(info, CAP_INFO_ORDER)
        assert info.findtext(f"{CAP}category") == alert.category
        assert info.findtext(f"{CAP}urgency") == alert.urgency
        assert info.findtext(f"{CAP}severity") == CAP_SEVERITY[alert.severity]
        assert info.findtext(f"{CAP}certainty") == alert.certainty
        assert CAP_TIME.match(info.findtext(f"{CAP}effective") or "")
        assert (info.findtext(f"{CAP}web") or "").endswith(f"/cap/alerts/{alert.id}.xml")
        for area in info.findall(f"{CAP}area"):
            assert_schema_order(area, CAP_AREA_ORDER)
            assert area.findtext(f"{CAP}areaDesc")
    assert infos[0].findtext(f"{CAP}headline") == alert.title


def stored(ctx: AppContext, alert_id: int) -> Alert:
    with ctx.db.session() as session:
        alert = session.get(Alert, alert_id)
        assert alert is not None
        return alert


# -- the feed ---------------------------------------------------------------------------------

def test_feed_lists_exactly_the_public_alerts(client: TestClient, demo_ctx: AppContext) -> None:
    expected = public_ids(demo_ctx)
    assert expected, "the demo has public alerts"
    root = feed(client)
    assert sorted(entry_ids(root)) == sorted(expected)
    assert CAP_TIME.match(root.findtext(f"{ATOM}updated") or "")
    self_link = root.find(f"{ATOM}link")
    assert self_link is not None and self_link.get("rel") == "self"
    for entry in root.iter(f"{ATOM}entry"):
        links = entry.findall(f"{ATOM}link")
        assert len(links) == 1
        assert links[0].get("rel") == "alternate"
        assert links[0].get("type") == "application/cap+xml"
        assert entry.findtext(f"{ATOM}title")
        assert CAP_TIME.match(entry.findtext(f"{ATOM}updated") or "")


def test_each_entry_links_a_valid_cap_message(client: TestClient, demo_ctx: AppContext) -> None:
    root = feed(client)
    for entry in root.iter(f"{ATOM}entry"):
        alert_id = entry_id(entry)
        href = entry.find(f"{ATOM}link").get("href")  # type: ignore[union-attr]
        assert href is not None
        path = urlsplit(href).path
        assert path == f"/cap/alerts/{alert_id}.xml"
        check_cap(cap_message(client, path), stored(demo_ctx, alert_id))


def test_private_and_unknown_alerts_have_no_cap_message(client: TestClient,
                                                        demo_ctx: AppContext) -> None:
    with demo_ctx.db.session() as session:
        private = session.scalar(select(Alert.id).where(Alert.is_public.is_(False)).limit(1))
    assert private is not None
    assert client.get(f"/cap/alerts/{private}.xml").status_code == 404
    assert client.get("/cap/alerts/987654.xml").status_code == 404


def test_cap_follows_the_alert(client: TestClient, auth_headers: Headers,
                               demo_ctx: AppContext) -> None:
    operator = auth_headers("operator")
    alert_id = created(client, operator, dedupe_key="cap-1", is_public=True, lat=12.68,
                       lon=108.04, title="Cháy <lớn> & khói tại chợ Buôn Ma Thuột",
                       title_en="Fire <large> & smoke at the Buôn Ma Thuột market",
                       category="Fire", severity="critical", urgency="Immediate",
                       certainty="Observed", description="Khói lan rộng")
    private = created(client, operator, dedupe_key="cap-private")
    assert alert_id in entry_ids(feed(client))
    assert private not in entry_ids(feed(client))

    first = cap_of(client, alert_id)
    check_cap(first, stored(demo_ctx, alert_id))
    assert first.findtext(f"{CAP}msgType") == "Alert"
    info = first.find(f"{CAP}info")
    assert info is not None
    assert info.findtext(f"{CAP}severity") == "Extreme"
    assert info.findtext(f"{CAP}description") == "Khói lan rộng"
    assert info.findtext(f"{CAP}area/{CAP}circle") == "12.68000,108.04000 0.5"

    created_again = client.post("/api/v1/alerts", headers=operator, json={
        "dedupe_key": "cap-1", "service": "environment", "title": "x", "severity": "critical",
        "category": "Fire", "agency_code": "SO-NNMT"})
    assert created_again.status_code == 200
    assert cap_of(client, alert_id).findtext(f"{CAP}msgType") == "Update"
    assert transition(client, operator, alert_id, "resolved").status_code == 200
    assert cap_of(client, alert_id).findtext(f"{CAP}msgType") == "Cancel"


# -- statistics against plain SQL -------------------------------------------------------------

TICKET_SQL = """
SELECT {group} COUNT(*) AS sent,
       SUM(CASE WHEN a.ticket_checked_at IS NOT NULL THEN 1 ELSE 0 END) AS checked,
       SUM(CASE WHEN a.ticket_answered_at IS NOT NULL THEN 1 ELSE 0 END) AS answered,
       SUM(CASE WHEN a.ticket_answered_at IS NOT NULL AND (a.ticket_due_at IS NULL
                     OR a.ticket_answered_at <= a.ticket_due_at) THEN 1 ELSE 0 END)
           AS answered_on_time,
       SUM(CASE WHEN a.ticket_answered_at > a.ticket_due_at THEN 1 ELSE 0 END) AS answered_late,
       SUM(CASE WHEN a.ticket_answered_at IS NULL AND a.ticket_due_at < :now
                THEN 1 ELSE 0 END) AS overdue_unanswered
FROM alerts a LEFT JOIN agencies g ON g.id = a.agency_id
WHERE a.is_ticket = :yes {scope}
{group_by}
"""
FIGURES = ("sent", "checked", "answered", "answered_on_time", "answered_late",
           "overdue_unanswered")


def ticket_figures_sql(ctx: AppContext, now: datetime, *, by_agency: bool = False,
                       agency_scope: set[int] | None = None) -> dict[str, dict[str, int]]:
    """Ticket figures keyed by agency code ("*" for all), computed in SQL alone."""
    sql = TICKET_SQL.format(
        group="COALESCE(g.code, '—') AS code," if by_agency else "'*' AS code,",
        scope=f"AND a.agency_id IN ({','.join(map(str, sorted(agency_scope)))})"
        if agency_scope is not None else "",
        group_by="GROUP BY g.code" if by_agency else "")
    statement = text(sql).bindparams(bindparam("now", type_=UTCDateTime()),
                                     bindparam("yes"))
    with ctx.db.session() as session:
        rows = session.execute(statement, {"now": now, "yes": True}).mappings().all()
    return {row["code"]: {name: int(row[name] or 0) for name in FIGURES} for row in rows
            if row["sent"]}


def sql_counts(ctx: AppContext, column: str, agency_scope: set[int] | None = None
               ) -> dict[str, int]:
    where = f"WHERE agency_id IN ({','.join(map(str, sorted(agency_scope)))})" \
        if agency_scope is not None else ""
    with ctx.db.session() as session:
        rows = session.execute(text(
            f"SELECT {column}, COUNT(*) FROM alerts {where} GROUP BY {column}")).all()
    return {key: count for key, count in rows}


@pytest.fixture
def frozen(demo_ctx: AppContext) -> datetime:
    """Freeze the app's clock so that "overdue" means the same to the API and to SQL."""
    now = datetime.now(UTC).replace(microsecond=0)
    demo_ctx.clock = lambda: now
    return now


def get_stats(client: TestClient, headers: dict[str, str], **params: Any) -> dict[str, Any]:
    response = client.get("/api/v1/alerts/stats", params=params, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def test_ticket_figures_match_sql(client: TestClient, auth_headers: Headers,
                                  demo_ctx: AppContext, frozen: datetime) -> None:
    figures = get_stats(client, auth_headers("operator"))
    totals = ticket_figures_sql(demo_ctx, frozen)["*"]
    assert totals["sent"] > 1000 and 0 < totals["answered_late"] < totals["answered"]
    assert figures["tickets"] == totals
    assert figures["tickets_by_agency"] == ticket_figures_sql(demo_ctx, frozen, by_agency=True)
    assert figures["total"] == sum(sql_counts(demo_ctx, "status").values())
    assert figures["by_status"] == sql_counts(demo_ctx, "status")
    assert figures["by_severity"] == sql_counts(demo_ctx, "severity")
    assert figures["by_service"] == sql_counts(demo_ctx, "service")


@pytest.mark.parametrize("breakdown", ["tickets_by_agency", "tickets_by_service",
                                       "tickets_by_month"])
def test_breakdowns_sum_to_the_totals(client: TestClient, auth_headers: Headers,
                                      frozen: datetime, breakdown: str) -> None:
    figures = get_stats(client, auth_headers("leader"))
    parts = figures[breakdown].values()
    assert {name: sum(part[name] for part in parts) for name in FIGURES} == figures["tickets"]
    for part in parts:
        assert part["answered"] == part["answered_on_time"] + part["answered_late"]
        assert part["checked"] <= part["sent"]


def _busiest_ticket_agency(ctx: AppContext) -> str:
    with ctx.db.session() as session:
        return session.execute(text(
            "SELECT g.code FROM alerts a JOIN agencies g ON g.id = a.agency_id "
            "WHERE a.is_ticket = :yes GROUP BY g.code ORDER BY COUNT(*) DESC, g.code LIMIT 1"),
            {"yes": True}).scalar_one()


def test_officers_stats_cover_only_their_agency(client: TestClient, auth_headers: Headers,
                                                demo_ctx: AppContext, frozen: datetime) -> None:
    code = _busiest_ticket_agency(demo_ctx)
    scope = agency_ids(demo_ctx, code)
    figures = get_stats(client, auth_headers(code.lower()))
    expected = ticket_figures_sql(demo_ctx, frozen, agency_scope=scope)["*"]
    assert expected["sent"] > 0
    assert figures["tickets"] == expected
    assert figures["total"] == sum(sql_counts(demo_ctx, "status", scope).values())
    with demo_ctx.db.session() as session:
        codes = set(session.scalars(select(Agency.code).where(Agency.id.in_(scope))))
    assert set(figures["by_agency"]) <= codes
    assert set(figures["tickets_by_agency"]) <= codes


def test_stats_filters(client: TestClient, auth_headers: Headers, demo_ctx: AppContext,
                       frozen: datetime) -> None:
    operator = auth_headers("operator")
    since = frozen - timedelta(days=30)
    recent = get_stats(client, operator, since=since.isoformat())
    with demo_ctx.db.session() as session:
        count = len(session.scalars(select(Alert.id).where(Alert.raised_at >= since)).all())
    assert recent["total"] == count
    services = get_stats(client, operator, service="environment")
    assert set(services["by_service"]) == {"environment"}
    naive = client.get("/api/v1/alerts/stats", params={"since": "2026-01-01T00:00:00"},
                       headers=operator)
    assert naive.status_code == 422
    assert client.get("/api/v1/alerts/stats").status_code == 401


# -- means on a handmade set ------------------------------------------------------------------

def add_agency(ctx: AppContext, code: str) -> None:
    with ctx.uow() as uow:
        agency = Agency(code=code, kind="department")
        agency.set_name(f"Cơ quan {code}")
        uow.session.add(agency)
        uow.session.flush()
        officer = User(username=code.lower(), password_hash="-", agency_id=agency.id)
        officer.set_roles({"officer"})
        uow.session.add(officer)
        uow.commit()


@pytest.fixture
def handmade(empty_ctx: AppContext) -> AppContext:
    """Four alerts raised at NOW with hand-picked acknowledge and resolve times.

    A-1 acked +10 min; A-2 acked +20, resolved +50 (major: 1440 min, on time); A-3 never
    acked; B-1 resolved straight from new at +300 (critical: 240 min, late; the resolve
    also counts as the acknowledgement).
    """
    with empty_ctx.uow() as uow:
        ensure_default_policies(uow.session)
        uow.commit()
    for code in ("A", "B"):
        add_agency(empty_ctx, code)

    def raised(key: str, agency: str, severity: str) -> int:
        return new_alert(empty_ctx, dedupe_key=key, agency_code=agency, severity=severity)

    def move(alert_id: int, to: str, minutes: int) -> None:
        run(empty_ctx, SYSTEM, service.transition, alert_id, to,
            now=NOW + timedelta(minutes=minutes))

    a1, a2 = raised("a-1", "A", "major"), raised("a-2", "A", "major")
    raised("a-3", "A", "major")
    b1 = raised("b-1", "B", "critical")
    move(a1, "acknowledged", 10)
    move(a2, "acknowledged", 20)
    move(a2, "resolved", 50)
    move(b1, "resolved", 300)
    return empty_ctx


def compute(ctx: AppContext, who: str | None = None, **filters: Any) -> stats.AlertStats:
    principal = principal_of(ctx, who) if who else SYSTEM
    with ctx.db.session() as session:
        return stats.compute(session, principal, now=NOW + timedelta(days=1), **filters)


def test_means_and_on_time_rate_province_wide(handmade: AppContext) -> None:
    figures = compute(handmade)
    assert figures.total == 4
    assert figures.mean_minutes_to_acknowledge == pytest.approx((10 + 20 + 300) / 3, abs=0.05)
    assert figures.mean_minutes_to_resolve == pytest.approx((50 + 300) / 2, abs=0.05)
    assert (figures.resolved_with_deadline, figures.resolved_on_time) == (2, 1)
    assert figures.on_time_rate == 50.0
    assert dict(figures.by_agency) == {"A": 3, "B": 1}
    assert dict(figures.by_status) == {"acknowledged": 1, "resolved": 2, "new": 1}


def test_means_for_an_officer(handmade: AppContext) -> None:
    figures = compute(handmade, "a")
    assert figures.total == 3
    assert figures.mean_minutes_to_acknowledge == 15.0
    assert figures.mean_minutes_to_resolve == 50.0
    assert figures.on_time_rate == 100.0


def test_empty_selection_has_no_means(handmade: AppContext) -> None:
    figures = compute(handmade, since=NOW + timedelta(minutes=1))
    assert figures.total == 0
    assert figures.mean_minutes_to_acknowledge is None
    assert figures.mean_minutes_to_resolve is None
    assert figures.on_time_rate is None
    assert figures.as_dict()["tickets"] == dict.fromkeys(FIGURES, 0)


def test_months_are_local(empty_ctx: AppContext) -> None:
    """An alert raised at 00:30 on 1 April in Đắk Lắk is an April alert (UTC says March)."""
    new_alert(empty_ctx, agency_code=None, now=local(2026, 4, 1, 0, 30))
    assert dict(compute(empty_ctx).by_month) == {"2026-04": 1}

