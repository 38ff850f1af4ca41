"""CSV and XLSX exports of the statistics table: the same rows the chart page shows."""

from __future__ import annotations

import csv
import io
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font

from cityops.services.field_reports.stats import Row
from cityops.web.i18n import gettext as _


def headers() -> list[str]:
    return [_("Code"), _("Name"), _("Reports"), _("Resolved"), _("Resolved on time"),
            _("On-time rate (%)"), _("Overdue, still open"), _("Mean hours to resolve"),
            _("Ratings"), _("Mean rating"), _("Rated 4 or 5 (%)"), _("Reopened"),
            _("Reopen rate (%)")]


def table(rows: list[Row]) -> list[list[Any]]:
    """One line per group; None where a figure has no denominator (no data, not zero)."""
    out = []
    for row in rows:
        f = row.figures
        out.append([row.key, row.name, f.volume, f.resolved, f.resolved_on_time,
                    f.on_time_rate, f.overdue_open, f.mean_hours_to_resolve, len(f.ratings),
                    f.mean_rating, f.satisfied_share, f.reopened, f.reopen_rate])
    return out


def to_csv(rows: list[Row]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(headers())
    for line in table(rows):
        writer.writerow(["" if v is None else v for v in line])
    # The byte-order mark makes Excel read the file as UTF-8 (Vietnamese names).
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def to_xlsx(rows: list[Row], sheet_title: str) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    # Excel refuses sheet titles over 31 characters or with []:*?/\ .
    sheet.title = "".join(c for c in sheet_title if c not in "[]:*?/\\")[:31] or "stats"
    sheet.append(headers())
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for line in table(rows):
        sheet.append(line)
    sheet.freeze_panes = "A2"
    sheet.column_dimensions["B"].width = 40
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
