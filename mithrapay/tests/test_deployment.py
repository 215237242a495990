"""The Compose file follows the Compose specification; the image's build
step loads the production settings."""

import json
import os
import shlex
import subprocess
import sys
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


def dockerfile_collectstatic_environment() -> dict[str, str]:
    """The variables the Dockerfile's ``collectstatic`` step sets."""
    text = (BASE_DIR / "Dockerfile").read_text().replace("\\\n", " ")
    step = next(line for line in text.splitlines() if "manage.py collectstatic" in line)
    words = shlex.split(step.removeprefix("RUN"))
    return dict(word.split("=", 1) for word in words if "=" in word)


def test_the_docker_build_step_loads_the_production_settings(tmp_path):
    """The image runs ``collectstatic`` at build time under production
    settings, which refuse to load without every required secret."""
    environment = dockerfile_collectstatic_environment()
    environment["DATABASE_URL"] = f"sqlite:///{tmp_path / 'build.sqlite3'}"

    result = subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--no-input", "--dry-run"],
        cwd=BASE_DIR,
        env={"PATH": os.environ["PATH"], "APP_ENV": "production", **environment},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode == 0, result.stderr
