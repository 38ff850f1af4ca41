"""`cityops soc match`: run Sigma rules over a JSON Lines file of events."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Annotated

import typer

from .compiler import load_rules
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
    """Print one line per (rule, event) match, then a summary; rule failures go to stderr."""
    if pipeline not in PIPELINES:
        raise typer.BadParameter(f"unknown pipeline {pipeline!r}; use one of {sorted(PIPELINES)}")
    start = time.perf_counter()
    compiled, failed = load_rules(list(rules))
    engine = Engine(compiled, pipeline)
    out = sys.stdout
    n_events = n_matches = malformed = 0
    with events.open(encoding="utf-8", errors="replace") as fh:
        for index, line in enumerate(fh):
            if not line.strip():
                continue
            n_events += 1
            try:
                event = json.loads(line)
                if not isinstance(event, dict):
                    raise ValueError("not an object")
                hits = engine.match(event)
            # Bad JSON or a shape the pipeline cannot read: count it and keep streaming.
            except (ValueError, TypeError, AttributeError, KeyError):
                malformed += 1
                continue
            for r in hits:
                n_matches += 1
                if as_json:
                    out.write(json.dumps({"rule_id": r.rule_id, "event_index": index}) + "\n")
                else:
                    out.write(f"{index}\t{r.rule_id}\t{r.title}\n")
    for where, why in failed:
        print(f"rule not compiled: {where}: {why}", file=sys.stderr)
    summary = {
        "events": n_events,
        "matches": n_matches,
        "malformed": malformed,
        "rules_loaded": len(compiled),
        "rules_failed": len(failed),
        "seconds": round(time.perf_counter() - start, 4),
    }
    out.write((json.dumps({"summary": summary}) if as_json else f"summary: {summary}") + "\n")
