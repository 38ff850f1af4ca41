"""Bundle sync: new bundled rules are added, changed ones get a new version, while enable /
disable choices and custom rules stay as the analysts left them."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from cityops.kernel.context import AppContext
from cityops.services.soc.models import SocRule
from cityops.services.soc.rules_store import (
    BUNDLED_DIR,
    create_custom,
    set_enabled,
    sync_bundled,
)

CUSTOM_ID = "7d3c1f0e-1111-4a5b-9c8d-000000000042"
CUSTOM = f"""
title: Our own rule
id: {CUSTOM_ID}
level: low
logsource: {{product: linux, category: process_creation}}
detection:
  sel: {{Image|endswith: '/nc'}}
  condition: sel
"""


def copy_rules(target: Path, count: int) -> list[Path]:
    target.mkdir(exist_ok=True)
    copied = []
    for path in sorted((BUNDLED_DIR / "linux").rglob("*.yml"))[:count]:
        copied.append(Path(shutil.copy(path, target / path.name)))
    return copied


def rule_of(ctx: AppContext, path: Path) -> SocRule:
    with ctx.db.session() as session:
        rule = session.scalar(select(SocRule).where(SocRule.source_path == path.name))
        assert rule is not None
        session.expunge(rule)
        return rule


def test_changed_bundled_rule_gets_a_new_version_and_keeps_its_choice(
        empty_ctx: AppContext, tmp_path: Path) -> None:
    bundle = tmp_path / "bundle"
    first = copy_rules(bundle, 3)[0]
    with empty_ctx.uow() as uow:
        assert sync_bundled(uow, empty_ctx.clock(), bundle).added == 3
        uow.commit()
    with empty_ctx.uow() as uow:
        create_custom(uow, CUSTOM, empty_ctx.clock())
        set_enabled(uow, rule_of(empty_ctx, first).rule_id, False, empty_ctx.clock())
        uow.commit()
    before = rule_of(empty_ctx, first)
    # A new release of the bundle: the first rule's level and title changed.
    text = first.read_text(encoding="utf-8")
    first.write_text(text.replace(f"title: {before.title}", "title: Renamed upstream"),
                     encoding="utf-8")
    # And a bundled file now carries the custom rule's id: the custom rule must win.
    (bundle / "clash.yml").write_text(CUSTOM.replace("Our own rule", "Upstream's rule"),
                                      encoding="utf-8")
    with empty_ctx.uow() as uow:
        report = sync_bundled(uow, empty_ctx.clock(), bundle)
        uow.commit()
    assert (report.added, report.updated, report.unchanged) == (0, 1, 2)
    assert report.skipped_custom == [CUSTOM_ID]
    after = rule_of(empty_ctx, first)
    assert after.title == "Renamed upstream"
    assert after.version == before.version + 1
    assert after.enabled is False  # the analyst's choice survives the update
    with empty_ctx.db.session() as session:
        custom = session.scalar(select(SocRule).where(SocRule.rule_id == CUSTOM_ID))
        assert custom is not None and custom.title == "Our own rule"
        assert custom.origin == "custom" and custom.version == 1
        stored = session.scalar(select(SocRule).where(SocRule.rule_id == after.rule_id))
        assert stored is not None
        assert [v.change for v in stored.versions] == ["bundled", "disabled", "bundle update"]
        assert stored.versions[-1].enabled is False
    with empty_ctx.uow() as uow:  # nothing changed since: a no-op
        again = sync_bundled(uow, empty_ctx.clock(), bundle)
    assert (again.added, again.updated) == (0, 0)


def test_cli_rules_sync_reports_what_it_did(empty_ctx: AppContext, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    from cityops.cli import app
    from cityops.services.soc import rules_store

    bundle = tmp_path / "bundle"
    copy_rules(bundle, 2)
    monkeypatch.setattr(rules_store, "BUNDLED_DIR", bundle)
    env = {"CITYOPS_DATABASE_URL": empty_ctx.settings.database_url, "CITYOPS_ENV": "test",
           "CITYOPS_SECRET_KEY": empty_ctx.settings.secret_key}
    result = CliRunner().invoke(app, ["soc", "rules", "sync"], env=env)
    assert result.exit_code == 0, result.output
    assert "added: 2, updated: 0" in result.output
    result = CliRunner().invoke(app, ["soc", "rules", "sync"], env=env)
    assert "added: 0, updated: 0, unchanged: 2" in result.output
