"""`cityops soc import | rules test | rules sync | receive`, added to the engine's Typer app.

``register(app)`` is called at the bottom of ``engine/cli.py`` so that the engine package
stays free of database code.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Iterator
from itertools import islice
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from cityops.kernel.context import AppContext
from cityops.services.soc.correlate import CorrelationError, Correlator
from cityops.services.soc.service import BatchReport, EventItem, ingest_batch
from cityops.services.soc.settings import SocSettings, soc_settings

T = TypeVar("T")
rules_app = typer.Typer(help="Manage and test Sigma rules.", no_args_is_help=True)


def chunks(items: Iterable[T], size: int) -> Iterator[list[T]]:
    it = iter(items)
    while batch := list(islice(it, size)):
        yield batch


def ensure_rules(ctx: AppContext) -> int:
    from cityops.services.soc.rules_store import load_bundle_if_empty

    return load_bundle_if_empty(ctx)


def ingest_stream(ctx: AppContext, results: Iterable[EventItem], source: str,
                  settings: SocSettings, correlator: Correlator | None = None) -> BatchReport:
    """Store a stream in batches, one transaction each, so a long file commits as it goes."""
    total = BatchReport()
    offset = 0
    batches = chunks(results, settings.batch_size)
    while True:
        batch = next(batches, None)
        if batch is None and correlator is not None:
            correlator.finish()  # the last, empty batch stores what the open windows gave
        with ctx.uow() as uow:
            report = ingest_batch(uow, list(enumerate(batch or [], start=offset)),
                                  source=source, kind="auto", now=ctx.clock(),
                                  settings=settings, correlator=correlator)
            uow.commit()
        total.merge(report)
        if batch is None:
            return total
        offset += len(batch)


def settings_or_exit() -> SocSettings:
    from cityops.cli.common import fail
    from cityops.kernel.config import ConfigError

    try:
        return soc_settings()
    except ConfigError as exc:
        raise fail(str(exc), 2) from None


def load_correlator(paths: list[Path] | None) -> Correlator | None:
    from cityops.cli.common import fail

    if not paths:
        return None
    try:
        return Correlator(paths)
    except CorrelationError as exc:
        raise fail(f"correlation rules not usable: {exc}") from None


CorrelationOption = Annotated[list[Path] | None, typer.Option(
    "--correlations", help="Sigma correlation rules (file or folder) to run over the stream.")]


def _summary(report: BatchReport) -> dict[str, Any]:
    return {"events": report.accepted + report.quarantined, "accepted": report.accepted,
            "quarantined": report.quarantined, "matches": report.matches,
            "detections_created": report.detections.created,
            "detections_updated": report.detections.updated,
            "correlations": report.correlations,
            "alerts_raised": report.detections.alerts_raised}


def import_events(
    file: Annotated[Path, typer.Argument(help="JSONL, Wazuh alerts.json or Windows .evtx")],
    format: Annotated[str, typer.Option("--format", help="auto, jsonl, wazuh or evtx")] = "auto",
    correlations: CorrelationOption = None,
) -> None:
    """Import an event file: match it against the enabled rules, store detections and alerts."""
    from cityops.cli.common import fail, open_context
    from cityops.services.soc.ingest.files import IngestFileError, read_file

    settings = settings_or_exit()
    correlator = load_correlator(correlations)
    ctx = open_context()
    try:
        results = read_file(file, format, source=f"file:{file.name}"[:64])
    except IngestFileError as exc:
        raise fail(str(exc)) from None
    loaded = ensure_rules(ctx)
    if loaded:
        typer.echo(f"loaded {loaded} bundled rules", err=True)
    try:
        report = ingest_stream(ctx, results, f"file:{file.name}"[:64], settings, correlator)
    except IngestFileError as exc:  # a file that breaks down part-way (earlier batches kept)
        raise fail(str(exc)) from None
    typer.echo(json.dumps(_summary(report)))
    for item in report.refused[:20]:
        typer.echo(f"quarantined record {item['index']}: {item['reason']}", err=True)


@rules_app.command("test")
def rules_test(
    rule_file: Annotated[Path, typer.Argument(help="One Sigma rule file (YAML).")],
    events: Annotated[Path, typer.Option("--events", help="Events, one JSON object per line.")],
    kind: Annotated[str, typer.Option("--kind", help="Event kind for the normaliser.")] = "auto",
) -> None:
    """Say whether a rule compiles, then print its matches over the events (JSON Lines)."""
    from cityops.cli.common import fail
    from cityops.services.soc.engine import Engine
    from cityops.services.soc.engine.compiler import load_rules
    from cityops.services.soc.ingest.records import Quarantined, normalise

    if not rule_file.is_file():
        raise fail(f"{rule_file}: no such file")
    if not events.is_file():
        raise fail(f"{events}: no such file")
    compiled, failed = load_rules([rule_file])
    if failed or not compiled:
        reasons = "; ".join(why for _, why in failed) or "no rule in the file"
        typer.echo(json.dumps({"compiles": False, "reason": reasons}))
        raise typer.Exit(1)
    engine = Engine(compiled)
    n_events = n_matches = quarantined = 0
    with events.open(encoding="utf-8", errors="replace") as fh:
        for index, line in enumerate(fh):
            if not line.strip():
                continue
            n_events += 1
            out = normalise(line.rstrip("\n"), source="rules-test", kind=kind)
            if isinstance(out, Quarantined):
                quarantined += 1
                print(f"event {index} quarantined: {out.reason}", file=sys.stderr)
                continue
            for rule in engine.match_fields(out.sigma, out.logsource):
                n_matches += 1
                typer.echo(json.dumps({"rule_id": rule.rule_id, "event_index": index}))
    typer.echo(json.dumps({"summary": {
        "compiles": True, "rules": [r.rule_id for r in compiled], "events": n_events,
        "matches": n_matches, "quarantined": quarantined}}))


@rules_app.command("sync")
def rules_sync() -> None:
    """Add missing bundled SigmaHQ rules and update changed ones (keeps enable/disable choices
    and custom rules)."""
    from cityops.cli.common import open_context
    from cityops.services.soc.rules_store import sync_bundled

    ctx = open_context()
    with ctx.uow() as uow:
        report = sync_bundled(uow, ctx.clock())
        uow.commit()
    typer.echo(str(report))


def receive(
    host: Annotated[str | None, typer.Option(help="Listen address.")] = None,
    udp_port: Annotated[int | None, typer.Option(help="UDP port (0: off).")] = None,
    tcp_port: Annotated[int | None, typer.Option(help="TCP port (0: off).")] = None,
    seconds: Annotated[float | None, typer.Option(help="Stop after this long.")] = None,
    correlations: CorrelationOption = None,
) -> None:
    """Run the syslog receivers; store detections, alerts and counters until stopped."""
    import asyncio

    from cityops.cli.common import open_context
    from cityops.services.soc.receive import run_receivers

    settings = settings_or_exit()
    udp = settings.syslog_udp_port if udp_port is None else udp_port
    tcp = settings.syslog_tcp_port if tcp_port is None else tcp_port
    if not udp and not tcp:
        from cityops.cli.common import fail

        raise fail("both receivers are switched off (port 0); give --udp-port or --tcp-port")
    correlator = load_correlator(correlations)
    ctx = open_context()
    loaded = ensure_rules(ctx)
    if loaded:
        typer.echo(f"loaded {loaded} bundled rules", err=True)
    try:
        asyncio.run(run_receivers(
            ctx, settings, host=host or settings.syslog_host,
            udp_port=udp or None, tcp_port=tcp or None,
            seconds=seconds, announce=lambda text: typer.echo(text, err=True),
            correlator=correlator))
    except OSError as exc:  # port in use, permission denied for ports < 1024
        from cityops.cli.common import fail

        raise fail(f"cannot listen: {exc}") from None
    except KeyboardInterrupt:
        pass


def register(app: typer.Typer) -> None:
    app.command("import")(import_events)
    app.command("receive")(receive)
    app.add_typer(rules_app, name="rules")
