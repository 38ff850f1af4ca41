"""One correlator per process and database, rebuilt when the rules or correlations change.

Correlation windows live in memory. The HTTP API and ``cityops soc receive`` feed the same
correlator within a process, but every web worker process holds its own windows: with several
workers, events of one group spread over them and a count may never reach its threshold there.
``cityops soc receive`` (one process) is the recommended single collector for correlation;
docs/soc.md says more. A rebuild (any rule or correlation change) starts with empty windows.
"""

from __future__ import annotations

import logging
import threading

from sqlalchemy.orm import Session

from cityops.services.soc.correlate import CorrelationError, Correlator
from cityops.services.soc.correlation_store import correlations_revision, load_enabled
from cityops.services.soc.rules_store import RuleRefused, rules_revision

log = logging.getLogger(__name__)
Revision = tuple[int, tuple[int, int, int]]

_lock = threading.Lock()
_current: dict[str, tuple[Revision, Correlator | None]] = {}


def _build(session: Session) -> Correlator | None:
    try:
        ruleset = load_enabled(session)
    except RuleRefused as exc:  # stored texts were valid once; report, never stop ingest
        log.error("stored correlation rules cannot be loaded: %s", exc)
        return None
    for where, why in ruleset.failed:
        log.warning("correlation rule skipped: %s: %s", where, why)
    try:
        return Correlator(ruleset=ruleset)
    except CorrelationError:
        return None  # none enabled (or none loads): nothing to feed


def shared_correlator(session: Session) -> Correlator | None:
    """The correlator for this database's current stored correlations, or None if there are
    none. Cheap when nothing changed: two small queries."""
    count, newest, versions = correlations_revision(session)
    if not count:
        return None
    key = str(session.get_bind().url)
    revision: Revision = (rules_revision(session), (count, newest, versions))
    cached = _current.get(key)
    if cached is not None and cached[0] == revision:
        return cached[1]
    with _lock:
        cached = _current.get(key)
        if cached is None or cached[0] != revision:
            if len(_current) >= 4:  # many databases only come and go in tests
                _current.pop(next(iter(_current)))
            cached = _current[key] = (revision, _build(session))
    return cached[1]
