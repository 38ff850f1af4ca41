"""`cityops soc match`: run Sigma rules over a JSON Lines file of events."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Annotated

import typer

from .correlation import CorrelationEngine, CorrelationMatch
from .correlation_loader import load_ruleset
from .matcher import Engine
from .pipelines import PIPELINES

app = typer.Typer(help="Sigma detection engine (in-process).", no_args_is_help=True)


@app.callback()
def _group() -> None:
    """Keep `match` a sub-command even while it is the only one."""


@app.command("match")
def match(
    rules: Annotated[list[Path], typer.Option("--rules", help="Rule file or folder (recursive).")],
    events: Annotated[Path, typer.Option("--events", help="Events, one JSON object per line.")],
    pipeline: Annotated[str, typer.Option("--pipeline", help="windows, linux or ecs.")] = "windows",
    as_json: Annotated[bool, typer.Option("--json", help="JSON Lines output.")] = False,
) -> None:
    """Print one line per (rule, event) match, then a summary; rule failures go to stderr.

    Correlation rules in the same files and folders are run too: a correlation match is printed
    with the correlation's id and the index of the event that completed it. Rules referred to by
    a correlation without ``generate: true`` are not printed themselves (Sigma semantics).
    """
    if pipeline not in PIPELINES:
        raise typer.BadParameter(f"unknown pipeline {pipeline!r}; use one of {sorted(PIPELINES)}")
    start = time.perf_counter()
    ruleset = load_ruleset(list(rules))
    engine = Engine(ruleset.base, pipeline)
    correlator = CorrelationEngine(ruleset.correlations)
    quiet = ruleset.quiet_rule_ids
    out = sys.stdout
    n_events = n_matches = n_correlated = malformed = 0

    def emit(rule_id: str, title: str, index: int | None) -> None:
        nonlocal n_matches
        n_matches += 1
        if as_json:
            out.write(json.dumps({"rule_id": rule_id, "event_index": index}) + "\n")
        else:
            out.write(f"{index}\t{rule_id}\t{title}\n")

    def emit_correlations(found: list[CorrelationMatch]) -> None:
        nonlocal n_correlated
        for m in found:
            n_correlated += 1
            if m.rule_id not in quiet:
                emit(m.rule_id, m.title, m.event_index_of_completion)

    with events.open(encoding="utf-8", errors="replace") as fh:
        for index, line in enumerate(fh):
            if not line.strip():
                continue
            n_events += 1
            try:
                event = json.loads(line)
                if not isinstance(event, dict):
                    raise ValueError("not an object")
                fields, keys = engine.pipeline(event)
                hits = engine.match_fields(fields, keys)
            # Bad JSON or a shape the pipeline cannot read: count it and keep streaming.
            except (ValueError, TypeError, AttributeError, KeyError):
                malformed += 1
                continue
            for r in hits:
                if r.rule_id not in quiet:
                    emit(r.rule_id, r.title, index)
            # Only events a correlation listens to move its clock: reading the timestamp of
            # every event would cost more than the correlations themselves.
            if any(correlator.referenced(r.rule_id) for r in hits):
                emit_correlations(correlator.observe(hits, fields, index))
    emit_correlations(correlator.flush())
    for where, why in ruleset.failed:
        print(f"rule not compiled: {where}: {why}", file=sys.stderr)
    stats = correlator.stats()
    summary = {
        "events": n_events,
        "matches": n_matches,
        "malformed": malformed,
        "rules_loaded": len(ruleset.base) + len(ruleset.correlations),
        "rules_failed": len(ruleset.failed),
        "correlation_rules": len(ruleset.correlations),
        "correlation_matches": n_correlated,
        "correlation_evictions": stats["evictions"],
        "correlation_late_events": stats["late"],
        "seconds": round(time.perf_counter() - start, 4),
    }
    out.write((json.dumps({"summary": summary}) if as_json else f"summary: {summary}") + "\n")


# The SOC service adds its database-backed commands (import, receive, rules) from its own module.
from cityops.services.soc.cli_service import register  # noqa: E402

register(app)
