"""SigmaHQ regression cases through the CLI: each must give exactly pySigma+SQLite's count."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cityops.services.soc.engine.cli import app

DATA = Path(__file__).parent / "data"
CASES = [json.loads(line) for line in (DATA / "regression" / "cases.jsonl").open(encoding="utf-8")]

# Cases known not to pass yet: rule_id -> concrete reason. Each becomes a strict xfail, so a fix
# turns it into a failure until it is removed from here.
KNOWN_FAILURES: dict[str, str] = {}

_results: dict[str, bool] = {}


def _params() -> list[object]:
    out = []
    for case in CASES:
        marks = []
        if case["rule_id"] in KNOWN_FAILURES:
            marks.append(pytest.mark.xfail(strict=True, reason=KNOWN_FAILURES[case["rule_id"]]))
        out.append(pytest.param(case, id=case["rule_id"], marks=marks))
    return out


def run_case(case: dict[str, object]) -> tuple[int, dict[str, object]]:
    args = ["match", "--rules", str(DATA / str(case["rule_path"]))]
    args += ["--events", str(DATA / str(case["events_file"])), "--pipeline", "windows", "--json"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    lines = [json.loads(x) for x in result.stdout.splitlines() if x.strip()]
    summary = lines[-1]["summary"]
    matches = [x for x in lines[:-1] if "rule_id" in x]
    assert all(m["rule_id"] == case["rule_id"] for m in matches)
    assert summary["matches"] == len(matches)
    return len(matches), summary


def test_cases_copied() -> None:
    assert len(CASES) == 123
    assert (DATA / "LICENSE.Detection.Rules.md").is_file()


@pytest.mark.parametrize("case", _params())
def test_regression_case(case: dict[str, object]) -> None:
    count, summary = run_case(case)
    assert summary["rules_failed"] == 0
    assert summary["rules_loaded"] == 1
    assert summary["malformed"] == 0
    assert summary["events"] == case["n_events"]
    ok = count == case["reference_match_count"]
    _results[str(case["rule_id"])] = ok
    assert ok, f"{count} matches, reference {case['reference_match_count']}"


def test_zz_pass_rate(capsys: pytest.CaptureFixture[str]) -> None:
    """Runs last in file order; cases not run in this session (e.g. -k) are run here."""
    for case in CASES:
        if case["rule_id"] not in _results:
            count, _ = run_case(case)
            _results[case["rule_id"]] = count == case["reference_match_count"]
    passed = sum(_results.values())
    with capsys.disabled():
        print(f"\nSigma regression pass rate: {passed}/{len(CASES)}")
    failing = {k for k, ok in _results.items() if not ok}
    assert failing == set(KNOWN_FAILURES), "KNOWN_FAILURES is out of date"
