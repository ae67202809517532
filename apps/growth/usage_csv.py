"""Usage snapshots from a CSV file: the rows ``usage_record_many`` takes, and its errors
told by the file's own line numbers."""

import csv
import io
from dataclasses import dataclass
from typing import IO

from apps.core.errors import ValidationFailed
from apps.growth.services import MAX_BATCH

COLUMNS = ("account", "product", "measured_at", "licensed_units", "used_units")
MAX_BYTES = 2 * 1024 * 1024


@dataclass(frozen=True)
class UsageCsv:
    """The rows of a file, and the line each row starts on (the header is line 1)."""

    rows: list[dict[str, str]]
    lines: list[int]


@dataclass(frozen=True)
class LineError:
    line: int | None
    field: str
    message: str


def _refuse(message: str) -> ValidationFailed:
    return ValidationFailed(message, {"file": [message]})


def usage_csv_read(upload: IO[bytes], *, name: str, size: int | None) -> UsageCsv:
    """Read an uploaded CSV (UTF-8, a header row naming ``COLUMNS``, at most ``MAX_BATCH``
    rows); raises ``ValidationFailed`` keyed "file" with what is wrong with it."""
    if not name.lower().endswith(".csv"):
        raise _refuse(f"“{name}” is not a CSV file: upload a .csv file.")
    if size is not None and size > MAX_BYTES:
        raise _refuse(f"The file is larger than {MAX_BYTES // (1024 * 1024)} MB.")
    raw = upload.read(MAX_BYTES + 1)
    if len(raw) > MAX_BYTES:
        raise _refuse(f"The file is larger than {MAX_BYTES // (1024 * 1024)} MB.")
    try:
        # utf-8-sig: spreadsheet programs often start a UTF-8 CSV with a byte order mark.
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _refuse(
            "The file cannot be read as UTF-8 text: is it a CSV file? (Save it from your "
            "spreadsheet as “CSV UTF-8”.)"
        ) from exc
    if "\x00" in text:
        raise _refuse("The file holds binary data, not CSV text.")
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
        if header is None or not any(cell.strip() for cell in header):
            raise _refuse("The file is empty: the first line names the columns.")
        names = [cell.strip().lower() for cell in header]
        missing = [column for column in COLUMNS if column not in names]
        if missing:
            raise _refuse(
                f"The header line lacks the column{'s' if len(missing) > 1 else ''} "
                f"{', '.join(missing)}; it needs {', '.join(COLUMNS)}, separated by commas."
            )
        position = {column: names.index(column) for column in COLUMNS}
        rows: list[dict[str, str]] = []
        lines: list[int] = []
        start = reader.line_num + 1
        for cells in reader:
            if any(cell.strip() for cell in cells):
                if len(rows) == MAX_BATCH:
                    raise _refuse(
                        f"The file has more than {MAX_BATCH} rows: split it into files of "
                        f"at most {MAX_BATCH}."
                    )
                rows.append(
                    {
                        column: cells[index].strip() if index < len(cells) else ""
                        for column, index in position.items()
                    }
                )
                lines.append(start)
            start = reader.line_num + 1
    except csv.Error as exc:
        raise _refuse(f"The file is not valid CSV (line {reader.line_num}): {exc}.") from exc
    if not rows:
        raise _refuse("The file has a header but no rows.")
    return UsageCsv(rows=rows, lines=lines)


def usage_csv_errors(parsed: UsageCsv, error: ValidationFailed) -> list[LineError]:
    """The service's errors ("<row>.<field>", rows from 0) by the file's line numbers,
    in line order; an error that names no row has no line."""
    found = []
    for key, messages in error.errors.items():
        row, _, field = key.partition(".")
        line = parsed.lines[int(row)] if row.isdigit() and int(row) < len(parsed.lines) else None
        if line is None:
            field = key if not row.isdigit() else field
        found.extend(LineError(line=line, field=field, message=message) for message in messages)
    order = {column: index for index, column in enumerate(COLUMNS)}
    return sorted(
        found,
        key=lambda e: (e.line is not None, e.line or 0, order.get(e.field, len(COLUMNS))),
    )
