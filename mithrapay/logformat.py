"""The JSON log line, shared by the app's loggers and gunicorn's access log.

Both write one JSON object per line with ``time``, ``level``, ``logger`` and
``message``; an access line adds the request's fields, so the two streams
can be shipped and queried together. Query strings are never logged: a
client may put what it should not in one.
"""

from collections.abc import Mapping

from pythonjsonlogger.json import JsonFormatter

JSON_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"
RENAMED_FIELDS = {"asctime": "time", "levelname": "level", "name": "logger"}

# Log field: gunicorn's access-log atom.
ACCESS_FIELDS = {
    "remote_addr": "h",
    "method": "m",
    "path": "U",
    "status": "s",
    "bytes": "B",
    "duration_ms": "M",
    "user_agent": "a",
    "request_id": "{x-request-id}o",
}


class AccessFormatter(JsonFormatter):
    """gunicorn's access line as JSON, its atoms as fields."""

    def add_fields(self, log_record, record, message_dict):
        super().add_fields(log_record, record, message_dict)
        atoms = record.args if isinstance(record.args, Mapping) else {}
        for field, atom in ACCESS_FIELDS.items():
            value = atoms.get(atom)
            log_record[field] = None if value == "-" else value
