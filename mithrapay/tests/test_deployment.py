"""The Compose file follows the Compose specification."""

import json
from pathlib import Path

import jsonschema
import yaml

BASE_DIR = Path(__file__).resolve().parents[2]
SHARED_SCHEMA = BASE_DIR.parent / "shared" / "compose-spec.json"
BUNDLED_SCHEMA = BASE_DIR / "deploy" / "compose-spec.json"


def compose_schema() -> dict:
    path = SHARED_SCHEMA if SHARED_SCHEMA.is_file() else BUNDLED_SCHEMA
    return json.loads(path.read_text())


def load_compose() -> dict:
    return yaml.safe_load((BASE_DIR / "docker-compose.yml").read_text())


def test_docker_compose_validates_against_the_compose_schema():
    jsonschema.Draft7Validator(compose_schema()).validate(load_compose())


def test_compose_runs_the_whole_system_with_healthy_dependencies():
    services = load_compose()["services"]

    assert {"web", "worker", "beat", "db", "redis"} <= set(services)
    assert services["db"]["image"].startswith("mariadb:10.11")
    assert "healthcheck" in services["db"]
    assert "healthcheck" in services["redis"]
    depends = services["web"]["depends_on"]
    assert depends["db"]["condition"] == "service_healthy"
    assert depends["redis"]["condition"] == "service_healthy"
