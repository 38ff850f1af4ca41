"""Category mapping as data, correlation matches → detections, the rules revision cache."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import yaml
from sqlalchemy import select

from cityops.alerts.models import Alert
from cityops.kernel.context import AppContext
from cityops.services.soc.categories import MAPPING_FILE, MappingError, categorise, parse_mapping
from cityops.services.soc.correlations import record_correlations
from cityops.services.soc.engine.correlation import CorrelationMatch
from cityops.services.soc.models import SocDetection
from cityops.services.soc.rules_store import create_custom, set_enabled
from cityops.services.soc.ruleset import current_ruleset
from cityops.services.soc.settings import SocSettings

T0 = datetime(2026, 11, 29, 8, 0, tzinfo=UTC).timestamp()


@pytest.mark.parametrize(("tags", "logsource", "expected"), [
    (["attack.s0002", "attack.credential-access"], {}, "malware"),
    (["attack.t1055.012"], {}, "malware"),  # sub-technique of process injection
    ([], {"service": "windefend"}, "malware"),
    (["cve.2021-44228", "attack.initial-access"], {}, "vulnerability"),
    ([], {"category": "webserver"}, "vulnerability"),
    (["attack.t1190"], {}, "exploitation"),
    ([], {"product": "opencanary"}, "exploitation"),
    (["attack.discovery", "attack.t1033"], {}, "abnormal"),
    (["car.2013-07-001"], {}, "other"),
    ([], {}, "other"),
])
def test_shipped_mapping(tags: list[str], logsource: dict[str, str], expected: str) -> None:
    assert categorise("any-id", tags, **logsource) == expected


def test_mapping_overrides_and_validation() -> None:
    doc = yaml.safe_load(MAPPING_FILE.read_text(encoding="utf-8"))
    doc["rules"] = {"rule-x": "malware"}
    mapping = parse_mapping(doc)
    assert mapping.categorise("rule-x", ["attack.discovery"], {}) == "malware"
    assert mapping.categorise("rule-y", ["attack.discovery"], {}) == "abnormal"
    for broken in ({**doc, "default": "spam"}, {**doc, "rules": {"r": "nope"}}, [1],
                   {**doc, "categories": {"malware": {"logsource": [{"vendor": "x"}]}}}):
        with pytest.raises(MappingError):
            parse_mapping(broken)


def test_correlation_matches_become_throttled_detections(demo_ctx: AppContext) -> None:
    def fired(at: float, user_host: str = "dc01") -> CorrelationMatch:
        return CorrelationMatch(
            rule_id="corr-brute-force", title="Many failed logons", level="high",
            tags=["attack.credential-access", "attack.t1110"],
            group={"Computer": user_host}, first_seen=at - 60, last_seen=at, count=12,
            event_indexes=(1, 2, 3), event_index_of_completion=3)

    now = datetime(2026, 11, 29, 8, 30, tzinfo=UTC)
    with demo_ctx.uow() as uow:
        report = record_correlations(uow, [fired(T0), fired(T0 + 120), fired(T0, "dc02")],
                                     source="test", now=now, settings=SocSettings(),
                                     authors={"corr-brute-force": "SOC team"})
        uow.commit()
    assert report.created == 2
    with demo_ctx.db.session() as session:
        rows = session.scalars(select(SocDetection)
                               .where(SocDetection.rule_id == "corr-brute-force")
                               .order_by(SocDetection.host)).all()
        assert [(r.host, r.count, r.kind) for r in rows] == [
            ("dc01", 2, "correlation"), ("dc02", 1, "correlation")]
        assert rows[0].soc_category == "abnormal" and rows[0].rule_author == "SOC team"
        assert rows[0].sample_event["group"] == {"Computer": "dc01"}
        alert = session.get(Alert, rows[0].alert_id)
        assert alert is not None and alert.occurrences == 2 and alert.severity == "major"


def test_engine_is_rebuilt_when_rules_change(demo_ctx: AppContext) -> None:
    rule = """
title: t
id: 7a7a7a7a-0000-4000-8000-000000000001
level: low
logsource: {product: windows, category: process_creation}
detection: {sel: {Image|endswith: 'x.exe'}, condition: sel}
"""
    now = datetime(2026, 11, 29, tzinfo=UTC)
    with demo_ctx.db.session() as session:
        before = current_ruleset(session)
        assert current_ruleset(session) is before  # cached while nothing changes
    with demo_ctx.uow() as uow:
        create_custom(uow, rule, now)
        uow.commit()
    with demo_ctx.db.session() as session:
        loaded = current_ruleset(session)
        assert loaded.revision > before.revision
        assert [r.rule_id for r in loaded.rules if r.rule_id not in before.categories] == [
            "7a7a7a7a-0000-4000-8000-000000000001"]
    with demo_ctx.uow() as uow:
        set_enabled(uow, "7a7a7a7a-0000-4000-8000-000000000001", False, now)
        uow.commit()
    with demo_ctx.db.session() as session:
        after = current_ruleset(session)
        assert {r.rule_id for r in after.rules} == {r.rule_id for r in before.rules}
