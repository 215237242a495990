"""Reading a supplier's code file: CSV or plain text, one code per line.

Columns, in this order when the file has no header: ``code``, then optional
``pin``, ``serial`` and ``expires_at`` (an ISO date, ``2027-12-31``). A first
row naming a ``code`` column is a header and may order the columns freely.
Commas, semicolons or tabs separate columns; blank lines are skipped.

:func:`parse` validates every row before anything is written and reports all
bad rows at once, by row number (the line of the file, counting a header).
"""

import csv
import datetime
import io
from dataclasses import dataclass

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from catalog import vault
from catalog.errors import CodeFileEmpty, CodeFileEncoding, CodeFileError

CODE_MIN_LENGTH = 4
CODE_MAX_LENGTH = 100
# The end of a code kept in plaintext for staff to tell codes apart.
SUFFIX_MAX_LENGTH = 4
PIN_MAX_LENGTH = 32
SERIAL_MAX_LENGTH = 64
COLUMNS = ("code", "pin", "serial", "expires_at")
HEADER_ALIASES = {"codes": "code", "expiry": "expires_at", "expires": "expires_at"}
# Bad rows listed in one error; the count says how many there were in all.
MAX_REPORTED_ROWS = 50

BAD_HEADER = _("The header names unknown or repeated columns.")
BAD_CSV = _("The row is not valid CSV.")


@dataclass(frozen=True)
class CodeRow:
    row: int
    code: str
    pin: str
    serial: str
    expires_at: datetime.date | None

    @property
    def normalized(self) -> str:
        return vault.normalize(self.code)


def shown_suffix(normalized: str) -> str:
    """The end of a normalised code that the table keeps in plaintext and
    the admin shows: at most four characters and at most a third of the
    code, so neither the admin nor a dump of the table holds a short code
    whole (a 4-character code shows 1, a 6-character one 2)."""
    length = min(SUFFIX_MAX_LENGTH, len(normalized) // 3)
    return normalized[len(normalized) - length :]


def decode(data: bytes | str) -> str:
    if isinstance(data, str):
        return data
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise CodeFileEncoding() from None


def _delimiter(text: str) -> str:
    for line in text.splitlines():
        if line.strip():
            for candidate in ("\t", ";", ","):
                if candidate in line:
                    return candidate
            break
    return ","


def _header(cells: list[str]) -> list[str] | None:
    """The column names when ``cells`` is a header row (it names a ``code``
    column), else ``None``."""
    names = [cell.strip().lower() for cell in cells]
    names = [HEADER_ALIASES.get(name, name) for name in names]
    if "code" not in names:
        return None
    return names


def _printable(value: str) -> bool:
    return value.isprintable()


def _check_code(code: str) -> list:
    normalized = vault.normalize(code)
    if not normalized:
        return [_("The code is empty.")]
    if not _printable(code):
        return [_("The code holds characters that cannot be printed.")]
    if not CODE_MIN_LENGTH <= len(normalized) <= CODE_MAX_LENGTH:
        return [
            _("A code has between %(min)d and %(max)d characters.")
            % {"min": CODE_MIN_LENGTH, "max": CODE_MAX_LENGTH}
        ]
    return []


def _check_extra(value: str, label, limit: int) -> list:
    if len(value) > limit or not _printable(value):
        return [
            _("The %(field)s has more than %(max)d characters or unprintable ones.")
            % {"field": label, "max": limit}
        ]
    return []


def _expiry(value: str, today: datetime.date) -> tuple[datetime.date | None, list]:
    if not value:
        return None, []
    try:
        date = datetime.date.fromisoformat(value)
    except ValueError:
        return None, [_("The expiry is not a date like 2027-12-31.")]
    if date < today:
        return None, [_("The code expired on %(date)s.") % {"date": value}]
    return date, []


def _row(number: int, cells: list[str], columns: list[str], today) -> tuple:
    errors: list = []
    if len(cells) > len(columns):
        errors.append(
            _("The row has %(count)d columns; at most %(max)d are read.")
            % {"count": len(cells), "max": len(columns)}
        )
    values = dict(zip(columns, (cell.strip() for cell in cells), strict=False))
    code = values.get("code", "")
    pin = values.get("pin", "")
    serial = values.get("serial", "")
    errors += _check_code(code)
    errors += _check_extra(pin, _("PIN"), PIN_MAX_LENGTH)
    errors += _check_extra(serial, _("serial"), SERIAL_MAX_LENGTH)
    expires_at, expiry_errors = _expiry(values.get("expires_at", ""), today)
    errors += expiry_errors
    return CodeRow(number, code, pin, serial, expires_at), errors


def parse(data: bytes | str) -> list[CodeRow]:
    """Every code row of ``data``; raises a :class:`CodeFileError` naming the
    bad rows, or :class:`CodeFileEmpty` when there is no code at all."""
    text = decode(data)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text))
    today = timezone.localdate()
    columns = list(COLUMNS)
    rows: list[CodeRow] = []
    errors: dict[str, list] = {}
    first = True
    try:
        for cells in reader:
            number = reader.line_num
            if not any(cell.strip() for cell in cells):
                continue
            if first:
                first = False
                header = _header(cells)
                if header is not None:
                    unknown = [name for name in header if name not in COLUMNS]
                    if unknown or len(set(header)) != len(header):
                        raise CodeFileError(
                            fields={"rows": {str(number): [str(BAD_HEADER)]}}
                        )
                    columns = header
                    continue
            row, row_errors = _row(number, cells, columns, today)
            if row_errors:
                errors[str(number)] = [str(message) for message in row_errors]
            else:
                rows.append(row)
    except csv.Error:
        raise CodeFileError(
            fields={"rows": {str(reader.line_num): [str(BAD_CSV)]}}
        ) from None

    if errors:
        reported = dict(list(errors.items())[:MAX_REPORTED_ROWS])
        raise CodeFileError(
            ngettext(
                "%(count)d row cannot be imported.",
                "%(count)d rows cannot be imported.",
                len(errors),
            )
            % {"count": len(errors)},
            fields={"rows": reported},
        )
    if not rows:
        raise CodeFileEmpty()
    return rows
