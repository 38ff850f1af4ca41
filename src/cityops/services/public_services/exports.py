"""Every dashboard table as rows, and those rows as an XLSX workbook or a CSV file.

The pages and the downloads build their tables with the same functions, so a download
always says what the page shows.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from starlette.responses import Response

from cityops.kernel.errors import Invalid
from cityops.services.public_services import dashboard_labels as labels
from cityops.services.public_services.dashboard import RankedAgency, Tally
from cityops.services.public_services.intake import LOCAL
from cityops.services.public_services.models import Dossier
from cityops.services.public_services.scores import Scores
from cityops.web.i18n import gettext as _

FORMATS = {"csv": "text/csv; charset=utf-8",
           "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
Table = tuple[list[str], list[list[Any]]]
WIDTH_SAMPLE = 300  # rows looked at to size the columns


def _pct(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def _tally_columns(tally: Tally) -> list[Any]:
    f, c = tally.figures, tally.counts
    return [f.received, f.early, f.on_time, f.late, c.in_term + c.due_soon, f.overdue,
            c.paused, c.cancelled, _pct(tally.scores.component("online_submission").rate),
            _pct(tally.scores.on_time_rate), tally.scores.total]


def _tally_headers() -> list[str]:
    return [_("Dossiers received"), _("Finished early"), _("Finished on time"), _("Finished late"),
            _("In progress, within term"), _("In progress, overdue"), _("Paused"),
            _("Refused or withdrawn"), _("Online share (%)"), _("On-time rate (%)"),
            _("766 score (of 82)")]


def agencies_table(ranked: Sequence[RankedAgency]) -> Table:
    headers = [_("Rank"), _("Agency code"), _("Agency"), *_tally_headers()]
    rows = [[r.rank, r.agency.code, r.agency.name, *_tally_columns(r.tally)] for r in ranked]
    return headers, rows


def months_table(months: Sequence[tuple[int, Tally]]) -> Table:
    headers = [_("Month"), *_tally_headers()]
    rows = [[f"{m // 100}-{m % 100:02d}", *_tally_columns(t)] for m, t in months]
    return headers, rows


def scores_table(scores: Scores) -> Table:
    headers = [_("Group"), _("Indicator"), _("Formula"), _("Rate (%)"), _("Points"),
               _("Maximum")]
    rows = [[_(g.label), _(c.label), _(c.formula), _pct(c.rate), c.points, c.maximum]
            for g in scores.groups for c in g.components]
    rows.append([_("Total (computed parts)"), "", "", None, scores.total, 82.0])
    return headers, rows


def report_table(lines: dict[str, dict[str, Any]]) -> Table:
    names = {"tickets_checked": _("Warning tickets checked / sent"),
             "overdue_processed": _("Overdue dossiers processed / all overdue"),
             "overdue_online_received": _("Overdue online submissions received / all")}
    headers = [_("Report line"), _("Count"), _("Of"), _("Rate (%)")]
    rows = [[names.get(k, k), v["part"], v["whole"], v["percent"]] for k, v in lines.items()]
    return headers, rows


def dossiers_table(dossiers: Sequence[Dossier]) -> Table:
    def local(value: Any) -> str:
        return "" if value is None else value.astimezone(LOCAL).strftime("%Y-%m-%d %H:%M")

    headers = [_("Dossier code"), _("Procedure code"), _("Procedure"), _("Agency code"),
               _("Channel"), _("Received at"), _("Appointment date"), _("Due"),
               _("Finished at"), _("State"), _("Classification"), _("Supplement requests")]
    rows = [[d.code, d.procedure.code, d.procedure.name, d.processing_agency.code,
             labels.channel(d.channel), local(d.received_at), local(d.appointment_at),
             local(d.due_at), local(d.end_at), labels.state(d.state), labels.outcome(d.outcome),
             d.supplement_requests] for d in dossiers]
    return headers, rows


def _csv(table: Table) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(table[0])
    for row in table[1]:
        writer.writerow(["" if v is None else v for v in row])
    # The byte-order mark makes Excel read the file as UTF-8 (Vietnamese names).
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def _xlsx(table: Table, title: str) -> bytes:
    # Write-only mode streams rows: a year of dossiers is tens of thousands of them.
    book = Workbook(write_only=True)
    sheet = book.create_sheet(title[:31])  # Excel's limit on sheet names
    sample = [table[0], *table[1][:WIDTH_SAMPLE]]
    for index in range(len(table[0])):
        longest = max(len(str(row[index])) if row[index] is not None else 0 for row in sample)
        sheet.column_dimensions[get_column_letter(index + 1)].width = min(60, max(8, longest + 2))
    sheet.freeze_panes = "A2"
    bold = Font(bold=True)
    header = []
    for value in table[0]:
        cell = WriteOnlyCell(sheet, value=value)
        cell.font = bold
        header.append(cell)
    sheet.append(header)
    for row in table[1]:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def download(table: Table, fmt: str, name: str) -> Response:
    """The table as a file named ``<name>.<fmt>``."""
    if fmt not in FORMATS:
        raise Invalid("the format must be csv or xlsx")
    body = _csv(table) if fmt == "csv" else _xlsx(table, name)
    return Response(body, media_type=FORMATS[fmt], headers={
        "Content-Disposition": f'attachment; filename="{name}.{fmt}"'})
