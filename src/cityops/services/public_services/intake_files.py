"""Reading uploaded CSV and XLSX files of dossiers, suggesting a column mapping.

Files are checked before anything is stored: size, type (an XLSX is a ZIP; a binary file
renamed .csv is refused), text encoding (UTF-8, with or without BOM, or UTF-16 with a BOM;
anything else — typically Windows-1258 or TCVN3 exports — is refused with a message saying
how to save the file as UTF-8), and row count.
"""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from typing import Any

from cityops.kernel.errors import Invalid
from cityops.kernel.text import fold
from cityops.services.public_services.intake import FLAT_FIELDS

MAX_FILE_BYTES = 10 * 1024 * 1024
MAX_ROWS = 50_000
MAX_COLUMNS = 100

# Header names we recognise, folded (no diacritics, lower case), Vietnamese and English.
HEADER_ALIASES: dict[str, tuple[str, ...]] = {
    "code": ("ma ho so", "so ho so", "ma hs", "code", "dossier code", "dossier"),
    "procedure_code": ("ma thu tuc", "ma tthc", "thu tuc", "procedure code", "procedure"),
    "receiving_agency_code": ("don vi tiep nhan", "co quan tiep nhan", "noi tiep nhan",
                              "receiving agency", "receiving agency code"),
    "processing_agency_code": ("don vi xu ly", "co quan xu ly", "co quan giai quyet",
                               "don vi giai quyet", "processing agency",
                               "processing agency code"),
    "channel": ("kenh", "kenh nop", "hinh thuc nop", "channel"),
    "applicant_type": ("doi tuong", "loai doi tuong", "applicant", "applicant type"),
    "received_at": ("ngay tiep nhan", "thoi gian tiep nhan", "tiep nhan", "received",
                    "received at", "ngay nhan"),
    "appointment_at": ("ngay hen tra", "hen tra", "ngay hen tra ket qua", "appointment",
                       "appointment at", "appointment date"),
    "state": ("trang thai", "ma trang thai", "state", "status"),
    "state_at": ("thoi gian trang thai", "ngay trang thai", "ngay cap nhat", "state at",
                 "state time", "updated"),
    "payment_online": ("thanh toan truc tuyen", "thanh toan online", "online payment",
                       "payment online"),
    "digitised": ("so hoa", "da so hoa", "digitised", "digitized"),
    "e_result": ("tra ket qua dien tu", "ket qua dien tu", "e-result", "e result",
                 "electronic result"),
    "has_feedback": ("phan anh kien nghi", "pakn", "feedback"),
    "has_complaint": ("khieu nai", "complaint"),
    "supplement_count": ("so lan bo sung", "so lan yeu cau bo sung", "supplement requests",
                         "supplement count"),
}


def _decode(data: bytes) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    if b"\x00" in data[:4096]:
        raise Invalid("this is not a text CSV file (it contains binary data, or is UTF-16 "
                      "without a byte-order mark); export it again as CSV UTF-8")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise Invalid(f"the file is not UTF-8 (byte {exc.start}); it looks like a "
                      "Windows-1258/TCVN3 export — save it as “CSV UTF-8” and upload it again"
                      ) from None


def read_csv(data: bytes) -> tuple[list[str], list[list[Any]]]:
    if data.startswith(b"PK\x03\x04"):
        raise Invalid("this file is an XLSX/ZIP file renamed .csv; upload it as .xlsx")
    text = _decode(data)
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel  # type: ignore[assignment]
    try:
        rows = list(csv.reader(io.StringIO(text), dialect, strict=True))
    except csv.Error as exc:
        raise Invalid(f"the CSV file is malformed: {exc}") from None
    return _split(rows)


def read_xlsx(data: bytes) -> tuple[list[str], list[list[Any]]]:
    from openpyxl import load_workbook

    if not data.startswith(b"PK\x03\x04"):
        raise Invalid("this is not an XLSX file")
    try:
        sheet = load_workbook(io.BytesIO(data), data_only=True).worksheets[0]
    except Exception as exc:  # openpyxl raises many types for damaged files
        raise Invalid(f"the XLSX file cannot be read: {type(exc).__name__}") from None
    rows = [list(row) for row in sheet.iter_rows(values_only=True)]
    # A header cell merged over several columns heads each of them ("Thời gian" over
    # "Tiếp nhận" and "Hẹn trả"): fill the merge, then combine the two header rows.
    merged_header = False
    for area in sheet.merged_cells.ranges:
        if area.min_row == 1 and rows:
            value = rows[0][area.min_col - 1]
            for col in range(area.min_col, area.max_col + 1):
                rows[0][col - 1] = value
            merged_header = merged_header or area.max_col > area.min_col
    if merged_header and len(rows) > 1:
        top, sub = rows[0], rows[1]
        combined = [" ".join(str(v).strip() for v in (a, b) if v not in (None, ""))
                    if b not in (None, "") and a != b else a for a, b in zip(top, sub,
                                                                             strict=False)]
        rows = [combined, *rows[2:]]
    return _split(rows)


def _split(rows: list[list[Any]]) -> tuple[list[str], list[list[Any]]]:
    rows = [r for r in rows if any(v not in (None, "") for v in r)]
    if not rows:
        raise Invalid("the file has no rows")
    headers = [str(h).strip() if h is not None else "" for h in rows[0]]
    if len(headers) > MAX_COLUMNS:
        raise Invalid(f"the file has more than {MAX_COLUMNS} columns")
    if len(rows) - 1 > MAX_ROWS:
        raise Invalid(f"the file has {len(rows) - 1} rows; at most {MAX_ROWS} per upload")
    body = [[_jsonable(v) for v in r] for r in rows[1:]]
    return headers, body


def _jsonable(value: Any) -> Any:
    # Rows wait as JSON between upload and mapping; dates become ISO text.
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def read_upload(filename: str, data: bytes) -> tuple[str, list[str], list[list[Any]]]:
    if len(data) > MAX_FILE_BYTES:
        raise Invalid(f"the file is larger than {MAX_FILE_BYTES // 1_048_576} MB; split it")
    if not data:
        raise Invalid("the file is empty")
    name = filename.lower()
    if name.endswith(".xlsx"):
        return "xlsx", *read_xlsx(data)
    if name.endswith((".csv", ".txt")):
        return "csv", *read_csv(data)
    raise Invalid("upload a .csv or .xlsx file")


def _match(header: str) -> str | None:
    key = fold(header).replace("_", " ")
    for field, aliases in HEADER_ALIASES.items():
        if key == field.replace("_", " ") or key in aliases:
            return field
    # "Thời gian Tiếp nhận" (two header rows combined): try the last words.
    for field, aliases in HEADER_ALIASES.items():
        if any(key.endswith(" " + alias) for alias in aliases):
            return field
    return None


def suggest_mapping(headers: list[str]) -> dict[str, str]:
    """Our field → the header that holds it, for the headers we recognise."""
    mapping: dict[str, str] = {}
    for header in headers:
        field = _match(header)
        if field and field not in mapping:
            mapping[field] = header
    return mapping


def rows_to_records(headers: list[str], rows: list[list[Any]], mapping: dict[str, str]
                    ) -> list[dict[str, Any] | str]:
    """One record per row, or the row's problem (a row longer than the header row)."""
    unknown = sorted(set(mapping) - set(FLAT_FIELDS))
    if unknown:
        raise Invalid(f"unknown fields: {', '.join(unknown)}")
    missing = sorted(h for h in mapping.values() if h not in headers)
    if missing:
        raise Invalid(f"no such column: {', '.join(missing)}")
    if "code" not in mapping:
        raise Invalid("choose the column that holds the dossier code")
    index = {field: headers.index(header) for field, header in mapping.items()}
    width = len(headers)
    out: list[dict[str, Any] | str] = []
    for row in rows:
        if len(row) > width and any(v not in (None, "") for v in row[width:]):
            out.append(f"the row has {len(row)} cells but the header only {width} columns "
                       "(an unquoted comma or separator?)")
            continue
        out.append({field: (row[i] if i < len(row) else None) for field, i in index.items()})
    return out
