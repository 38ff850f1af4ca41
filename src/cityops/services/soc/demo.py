"""SOC demo data for Đắk Lắk: monitored servers, a year of detections, quarantine, counters.

Everything goes through the SOC service's own functions (asset creation, bundled-rule sync,
the detection recorder that raises alert-center alerts, quarantine, ingest counters), so the
demo exercises the real path. Deterministic (fixed seed, times relative to the load time) and
idempotent: each part is skipped when it was loaded before.

The category mix follows the provincial SOC's report (1,533 alerts: 145 malware, 1,130
application vulnerabilities, 5 exploitation attempts, 253 abnormal server behaviours), scaled
down to about a fifth so that the load stays fast.
"""

from __future__ import annotations

import random
import shutil
import tempfile
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from cityops.kernel.orgs import agency_by_code
from cityops.kernel.permissions import SYSTEM
from cityops.services.soc import demo_history
from cityops.services.soc.assets import AssetInput, create_asset
from cityops.services.soc.categories import categorise
from cityops.services.soc.models import SocAsset, SocIngestCounter, SocQuarantine, SocRule
from cityops.services.soc.rules_store import BUNDLED_DIR, sync_bundled
from cityops.services.soc.service import minute_of, quarantine

SEED = 6606

# (hostname, address, agency code, criticality, role: web / windows / linux / dns / mail)
ASSETS: tuple[tuple[str, str, str, str, str], ...] = (
    ("daklak.gov.vn", "10.66.1.10", "VP-UBND-TINH", "critical", "web"),
    ("dichvucong.daklak.gov.vn", "10.66.1.20", "TTPVHCC-TINH", "critical", "web"),
    ("motcua.daklak.gov.vn", "10.66.1.21", "TTPVHCC-TINH", "high", "web"),
    ("qlvb.daklak.gov.vn", "10.66.1.30", "VP-UBND-TINH", "high", "windows"),
    ("mail.daklak.gov.vn", "10.66.1.40", "SO-KHCN", "high", "mail"),
    ("ns1.daklak.gov.vn", "10.66.1.53", "SO-KHCN", "critical", "dns"),
    ("ns2.daklak.gov.vn", "10.66.2.53", "SO-KHCN", "critical", "dns"),
    ("dc01.daklak.local", "10.66.3.10", "SO-KHCN", "critical", "windows"),
    ("soyte.daklak.gov.vn", "10.66.4.10", "SO-YT", "medium", "web"),
    ("sogddt.daklak.gov.vn", "10.66.4.20", "SO-GDDT", "medium", "web"),
    ("sotaichinh.daklak.gov.vn", "10.66.4.30", "SO-TC", "medium", "web"),
    ("stnmt-gis.daklak.gov.vn", "10.66.4.40", "SO-NNMT", "medium", "linux"),
    ("ketoan-srv.so-tc.daklak.local", "10.66.5.31", "SO-TC", "high", "windows"),
    ("ubnd-24133-srv01", "10.66.24.133", "UBND-24133", "medium", "linux"),
    ("ubnd-24121-srv01", "10.66.24.121", "UBND-24121", "medium", "windows"),
    ("ubnd-22015-srv01", "10.66.22.15", "UBND-22015", "low", "linux"),
)
# Bundled SigmaHQ rules the demo fires, by the kind of server they fit. Only these are synced
# (compiling all ~2,800 bundled rules takes far longer than a demo load should).
RULES: dict[str, tuple[str, ...]] = {
    "web": (
        "web/webserver_generic/web_sql_injection_in_access_logs.yml",
        "web/webserver_generic/web_path_traversal_exploitation_attempt.yml",
        "web/webserver_generic/web_xss_in_access_logs.yml",
        "web/webserver_generic/web_java_payload_in_access_logs.yml",
        "web/webserver_generic/web_jndi_exploit.yml",
        "web/webserver_generic/web_susp_useragents.yml",
        "web/webserver_generic/web_source_code_enumeration.yml",
        "web/webserver_generic/web_win_webshells_in_access_logs.yml",
        "web/product/apache/web_apache_threading_error.yml",
        "web/proxy_generic/proxy_ua_hacktool.yml",
    ),
    "linux": (
        "linux/builtin/sshd/lnx_sshd_susp_ssh.yml",
        "linux/builtin/lnx_shell_susp_rev_shells.yml",
        "linux/builtin/lnx_privileged_user_creation.yml",
        "linux/builtin/cron/lnx_cron_crontab_file_modification.yml",
        "linux/builtin/lnx_clear_syslog.yml",
        "linux/process_creation/proc_creation_lnx_base64_execution.yml",
        "linux/file_event/file_event_lnx_wget_download_file_in_tmp_dir.yml",
        "linux/builtin/clamav/lnx_clamav_relevant_message.yml",
    ),
    "windows": (
        "windows/builtin/win_alert_mimikatz_keywords.yml",
        "windows/builtin/windefend/win_defender_malware_detected_amsi_source.yml",
        "windows/builtin/windefend/win_defender_real_time_protection_disabled.yml",
        "windows/builtin/ntlm/win_susp_ntlm_brute_force.yml",
        "windows/builtin/security/win_security_meterpreter_or_cobaltstrike_getsystem_service_install.yml",
        "windows/process_creation/proc_creation_win_webshell_susp_process_spawned_from_webserver.yml",
    ),
    "dns": ("windows/builtin/dns_server/win_dns_server_failed_dns_zone_transfer.yml",
            "linux/builtin/syslog/lnx_syslog_susp_named.yml"),
    "mail": ("windows/file/file_event/file_event_win_exchange_webshell_drop_suspicious.yml",
             "windows/builtin/msexchange/win_exchange_transportagent_failed.yml"),
}
# A few lines as the quarantine really receives them (the last shows that raw text is escaped).
QUARANTINE = (
    ("syslog:udp", "<13>Nov 29 08:1", "truncated syslog frame: no timestamp or host"),
    ("http:integrator", '{"Event": {"System": {"Computer": "qlvb", ', "invalid JSON: "
     "Expecting property name enclosed in double quotes"),
    ("syslog:tcp", "<999>1 2025-11-29T08:00:00Z ns1 named - - - zone transfer",
     "PRI 999 is outside 0-191"),
    ("file:alerts.json", '["not", "an", "event"]', "an event must be a JSON object"),
    ("http:integrator", "<script>alert('xss')</script>", "invalid JSON: Expecting value"),
)
SOURCES = {"syslog:udp": 1800, "syslog:tcp": 600, "http:integrator": 240}  # events a minute


def _sync_rules(ctx: Any, now: datetime) -> int:
    """Sync the chosen bundled rules through ``sync_bundled`` on a copy of just those files,
    laid out as in the bundled folder so that each rule's source path stays the same."""
    with tempfile.TemporaryDirectory(prefix="cityops-soc-demo-") as tmp:
        for paths in RULES.values():
            for relative in paths:
                source = BUNDLED_DIR / relative
                if source.is_file():  # a rule dropped from the curated set is just skipped
                    target = Path(tmp) / relative
                    target.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(source, target)
        with ctx.uow(SYSTEM) as uow:
            added = sync_bundled(uow, now, Path(tmp)).added
            uow.commit()
    return added


def _demo_rules(ctx: Any) -> list[demo_history.DemoRule]:
    role_of = {Path(p).name: role for role, paths in RULES.items() for p in paths}
    rules = []
    with ctx.db.session() as session:
        for row in session.scalars(select(SocRule).order_by(SocRule.rule_id)):
            role = role_of.get(Path(row.source_path).name)
            if role is None or row.origin != "bundled":
                continue
            category = categorise(row.rule_id, row.tags, row.product, row.category, row.service,
                                  row.title)
            rules.append(demo_history.DemoRule(row.rule_id, row.title, row.level, tuple(row.tags),
                                  row.author, category, role))
    return rules


def _load_assets(ctx: Any, now: datetime) -> int:
    created = 0
    with ctx.uow(SYSTEM) as uow:
        have = set(uow.session.scalars(select(SocAsset.hostname)))
        for hostname, ip, agency, criticality, role in ASSETS:
            if hostname in have or agency_by_code(uow.session, agency) is None:
                continue
            create_asset(uow, AssetInput(agency_code=agency, hostname=hostname, ip=ip,
                                         criticality=criticality,
                                         notes=f"Máy chủ demo ({role})"), now)
            created += 1
        uow.commit()
    return created


def _load_ingest(ctx: Any, rng: random.Random, now: datetime, hours: int = 6) -> int:
    """Per-minute counters for the last hours and a few quarantined lines.

    The counter rows are written in bulk, in the shape ``service.add_counts`` gives them (one
    row per source and UTC minute): adding 1,080 rows one statement pair at a time would make
    the demo slow for nothing. Quarantine rows go through ``service.quarantine``.
    """
    with ctx.uow(SYSTEM) as uow:
        session = uow.session
        if session.scalar(select(func.count()).select_from(SocIngestCounter)
                          .where(SocIngestCounter.minute >= now - timedelta(hours=hours))):
            return 0
        rows = []
        for minutes_ago in range(hours * 60, 0, -1):
            minute = minute_of(now - timedelta(minutes=minutes_ago))
            for source, rate in SOURCES.items():
                received = max(0, int(rng.gauss(rate, rate * 0.2)))
                quarantined = rng.randint(1, 3) if rng.random() < 0.04 else 0
                # A short burst an hour ago overflowed the UDP receiver's queue.
                dropped = rng.randint(50, 400) if source == "syslog:udp" and \
                    55 <= minutes_ago <= 58 else 0
                rows.append(SocIngestCounter(source=source, minute=minute, received=received,
                                             parsed=received - quarantined,
                                             quarantined=quarantined, dropped=dropped))
        session.add_all(rows)
        if session.scalar(select(func.count()).select_from(SocQuarantine)) == 0:
            for index, (source, raw, reason) in enumerate(QUARANTINE):
                quarantine(session, source, raw, reason,
                           now - timedelta(minutes=7 + 31 * index), 16 * 1024)
        uow.commit()
    return len(rows)


def load_demo(ctx: Any) -> dict[str, int]:
    rng = random.Random(SEED)
    now = ctx.clock()
    rules = _sync_rules(ctx, now)
    assets = _load_assets(ctx, now)
    picks = demo_history.DemoCatalog(_demo_rules(ctx), ASSETS)
    return {"rules": rules, "assets": assets,
            "detections": demo_history.load_detections(ctx, rng, picks, now),
            "ingest counters": _load_ingest(ctx, rng, now)}
