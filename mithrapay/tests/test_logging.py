import json
import logging
import logging.config

from django.conf import settings


def _format_with(formatter_name: str) -> str:
    """Format one record with a formatter built from the project's LOGGING."""
    config = dict(settings.LOGGING["formatters"][formatter_name])
    formatter = logging.config.DictConfigurator({}).configure_formatter(config)
    record = logging.LogRecord(
        "orders.services", logging.INFO, __file__, 1, "order paid %s", ("MP-1",), None
    )
    record.correlation_id = "req-1"
    record.order_id = 42
    return formatter.format(record)


def test_production_log_lines_are_one_json_object_with_the_request_id():
    line = _format_with("json")

    payload = json.loads(line)
    assert "\n" not in line
    assert payload["message"] == "order paid MP-1"
    assert payload["level"] == "INFO"
    assert payload["logger"] == "orders.services"
    assert payload["request_id"] == "req-1"
    assert payload["order_id"] == 42


def test_development_log_lines_are_readable_text_with_the_request_id():
    line = _format_with("text")

    assert "INFO [req-1] orders.services: order paid MP-1" in line
