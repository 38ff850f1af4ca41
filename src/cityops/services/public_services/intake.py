"""Turning one incoming dossier (API item, file row, connector item) into checked values.

Every intake path goes through :func:`normalise`, so the three paths accept the same
values and report the same problems. Only the fields present are returned: a partial
record updates what it carries and leaves the rest alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from cityops.kernel.text import fold

LOCAL = ZoneInfo("Asia/Ho_Chi_Minh")
MAX_CODE_LENGTH = 80

SCALAR_FIELDS = (
    "procedure_code", "receiving_agency_code", "processing_agency_code", "channel",
    "applicant_type", "received_at", "appointment_at", "state", "state_at", "payment_online",
    "digitised", "e_result", "has_feedback", "has_complaint", "supplement_count",
)
BOOL_FIELDS = ("payment_online", "digitised", "e_result", "has_feedback", "has_complaint")
DATETIME_FIELDS = ("received_at", "appointment_at", "state_at")
# The fields a file row or connector item can map to (lists are API/connector JSON only).
FLAT_FIELDS = ("code", *SCALAR_FIELDS)
LIST_FIELDS = ("history", "supplements", "apologies")

_TRUE = {"1", "true", "yes", "y", "x", "co", "dung", "t"}
_FALSE = {"0", "false", "no", "n", "khong", "sai", "f", ""}
_CHANNELS = {"1": 1, "2": 2, "3": 3, "truc tiep": 1, "in person": 1, "truc tuyen": 2,
             "online": 2, "buu chinh": 3, "buu chinh cong ich": 3, "postal": 3}
_APPLICANTS = {"citizen": "citizen", "cong dan": "citizen", "ca nhan": "citizen",
               "business": "business", "doanh nghiep": "business",
               "organisation": "organisation", "organization": "organisation",
               "to chuc": "organisation"}
_DATE_FORMATS = ("%d/%m/%Y %H:%M:%S", "%d/%m/%Y %H:%M", "%d/%m/%Y", "%Y-%m-%d %H:%M:%S",
                 "%Y-%m-%d %H:%M", "%Y-%m-%d", "%d-%m-%Y %H:%M", "%d-%m-%Y")


class ValueProblem(ValueError):
    pass


@dataclass(frozen=True)
class Problem:
    field: str
    problem: str


@dataclass(frozen=True)
class HistoryItem:
    state: int
    at: datetime
    note: str = ""


@dataclass(frozen=True)
class SupplementItem:
    requested_at: datetime
    completed_at: datetime | None = None
    note: str = ""


@dataclass(frozen=True)
class ApologyItem:
    issued_at: datetime
    new_appointment_at: datetime
    reason: str = ""


@dataclass
class DossierRecord:
    code: str
    values: dict[str, Any] = field(default_factory=dict)
    history: list[HistoryItem] = field(default_factory=list)
    supplements: list[SupplementItem] = field(default_factory=list)
    apologies: list[ApologyItem] = field(default_factory=list)

    def latest_change(self) -> datetime | None:
        times = [h.at for h in self.history]
        if "state_at" in self.values:
            times.append(self.values["state_at"])
        return max(times) if times else None


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def parse_datetime(value: Any) -> datetime:
    """ISO 8601 or Vietnamese dd/mm/yyyy [HH:MM]; a time without offset is local (UTC+7)."""
    if isinstance(value, datetime):
        found = value
    elif isinstance(value, date):
        found = datetime.combine(value, time())
    elif isinstance(value, str):
        text = value.strip()
        try:
            found = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            for fmt in _DATE_FORMATS:
                try:
                    found = datetime.strptime(text, fmt)
                    break
                except ValueError:
                    continue
            else:
                raise ValueProblem(
                    f"{text[:40]!r} is not a date/time (use 2026-03-05T08:30 or 05/03/2026 08:30)"
                ) from None
    else:
        raise ValueProblem("expected a date/time")
    if found.tzinfo is None:
        found = found.replace(tzinfo=LOCAL)
    return found


def parse_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    key = fold(str(value))
    if key in _TRUE:
        return True
    if key in _FALSE:
        return False
    raise ValueProblem(f"{str(value)[:40]!r} is not yes/no (use 1/0, true/false, có/không)")


def parse_int(value: Any, low: int, high: int) -> int:
    if isinstance(value, bool):
        raise ValueProblem("expected a whole number")
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    try:
        number = int(str(value).strip())
    except ValueError:
        raise ValueProblem(f"{str(value)[:40]!r} is not a whole number") from None
    if not low <= number <= high:
        raise ValueProblem(f"{number} is outside {low}–{high}")
    return number


def parse_channel(value: Any) -> int:
    key = fold(str(int(value) if isinstance(value, float) else value))
    if key not in _CHANNELS:
        raise ValueProblem(f"{str(value)[:40]!r} is not a channel (1 in person, 2 online, "
                           "3 postal)")
    return _CHANNELS[key]


def parse_applicant(value: Any) -> str:
    key = fold(str(value))
    if key not in _APPLICANTS:
        raise ValueProblem(f"{str(value)[:40]!r} is not an applicant type "
                           "(citizen, business, organisation)")
    return _APPLICANTS[key]


def _text(value: Any, limit: int) -> str:
    text = str(int(value) if isinstance(value, float) and value.is_integer() else value).strip()
    if len(text) > limit:
        raise ValueProblem(f"longer than {limit} characters")
    return text


def _scalar(name: str, value: Any) -> Any:
    if name in DATETIME_FIELDS:
        return parse_datetime(value)
    if name in BOOL_FIELDS:
        return parse_bool(value)
    if name == "channel":
        return parse_channel(value)
    if name == "applicant_type":
        return parse_applicant(value)
    if name == "state":
        return parse_int(value, 1, 10)
    if name == "supplement_count":
        return parse_int(value, 0, 1000)
    return _text(value, 60)


def _list(raw: Any, name: str, problems: list[Problem]) -> list[dict[str, Any]]:
    if _blank(raw):
        return []
    if not isinstance(raw, list) or not all(isinstance(i, dict) for i in raw):
        problems.append(Problem(name, "must be a list of objects"))
        return []
    return raw


def _items(raw: dict[str, Any], problems: list[Problem], record: DossierRecord) -> None:
    for i, item in enumerate(_list(raw.get("history"), "history", problems)):
        try:
            record.history.append(HistoryItem(parse_int(item.get("state"), 1, 10),
                                              parse_datetime(item.get("at")),
                                              _text(item.get("note") or "", 500)))
        except ValueProblem as exc:
            problems.append(Problem(f"history[{i}]", str(exc)))
    for i, item in enumerate(_list(raw.get("supplements"), "supplements", problems)):
        try:
            done = item.get("completed_at")
            record.supplements.append(SupplementItem(
                parse_datetime(item.get("requested_at")),
                None if _blank(done) else parse_datetime(done),
                _text(item.get("note") or "", 500)))
        except ValueProblem as exc:
            problems.append(Problem(f"supplements[{i}]", str(exc)))
    for i, item in enumerate(_list(raw.get("apologies"), "apologies", problems)):
        try:
            record.apologies.append(ApologyItem(parse_datetime(item.get("issued_at")),
                                                parse_datetime(item.get("new_appointment_at")),
                                                _text(item.get("reason") or "", 2000)))
        except ValueProblem as exc:
            problems.append(Problem(f"apologies[{i}]", str(exc)))


def normalise(raw: Any) -> tuple[DossierRecord | None, list[Problem]]:
    """Checked values of one incoming dossier, or the problems that stop it."""
    if not isinstance(raw, dict):
        return None, [Problem("", "each dossier must be a JSON object")]
    problems: list[Problem] = []
    code_raw = raw.get("code")
    code = "" if _blank(code_raw) else str(code_raw).strip()
    if not code:
        problems.append(Problem("code", "the dossier code is missing"))
    elif len(code) > MAX_CODE_LENGTH:
        problems.append(Problem("code", f"longer than {MAX_CODE_LENGTH} characters"))
    record = DossierRecord(code=code)
    unknown = sorted(set(raw) - set(FLAT_FIELDS) - set(LIST_FIELDS))
    for name in unknown:
        problems.append(Problem(str(name)[:60], "unknown field"))
    for name in SCALAR_FIELDS:
        if name not in raw or _blank(raw[name]):
            continue
        try:
            record.values[name] = _scalar(name, raw[name])
        except ValueProblem as exc:
            problems.append(Problem(name, str(exc)))
    _items(raw, problems, record)
    for item in record.supplements:
        if item.completed_at is not None and item.completed_at < item.requested_at:
            problems.append(Problem("supplements", "completed before it was requested"))
    received = record.values.get("received_at")
    appointment = record.values.get("appointment_at")
    if received and appointment and appointment < received:
        problems.append(Problem("appointment_at", "the appointment is before the reception"))
    return (None if problems else record), problems
