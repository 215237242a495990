"""The Persian catalogue is complete, compiled and current."""

import shutil
import subprocess
import sys
from pathlib import Path

import polib
import pytest

BASE_DIR = Path(__file__).resolve().parents[2]
PO = BASE_DIR / "locale" / "fa" / "LC_MESSAGES" / "django.po"
MO = PO.with_suffix(".mo")
SOURCE_DIRS = (
    "mithrapay",
    "accounts",
    "catalog",
    "orders",
    "payments",
    "blog",
    "templates",
)


def test_every_persian_message_is_translated():
    catalogue = polib.pofile(str(PO))

    assert catalogue.untranslated_entries() == []
    assert catalogue.fuzzy_entries() == []


def _translations(catalogue) -> dict:
    """(context, msgid) → the translation, or the tuple of plural forms."""
    return {
        (entry.msgctxt, entry.msgid): (
            tuple(entry.msgstr_plural[i] for i in sorted(entry.msgstr_plural))
            if entry.msgid_plural
            else entry.msgstr
        )
        for entry in catalogue
        if entry.msgid
    }


def test_compiled_catalogue_matches_the_source():
    source = _translations(polib.pofile(str(PO)))
    compiled = _translations(polib.mofile(str(MO)))

    assert any(isinstance(value, tuple) for value in source.values())
    assert compiled == source


def test_catalogue_holds_every_marked_string(tmp_path):
    """Extracting the messages again finds nothing the catalogue lacks.

    Needs GNU gettext's xgettext (CI installs it); a fresh laptop skips.
    """
    if shutil.which("xgettext") is None:
        pytest.skip("needs GNU gettext (xgettext)")
    for name in SOURCE_DIRS:
        if (BASE_DIR / name).exists():
            shutil.copytree(
                BASE_DIR / name,
                tmp_path / name,
                ignore=shutil.ignore_patterns("tests", "__pycache__"),
            )
    (tmp_path / "locale").mkdir()

    subprocess.run(
        [
            sys.executable,
            "-m",
            "django",
            "makemessages",
            "--locale",
            "fa",
            "--no-location",
        ],
        cwd=tmp_path,
        check=True,
        capture_output=True,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(BASE_DIR)},
    )

    fresh = polib.pofile(str(tmp_path / "locale" / "fa" / "LC_MESSAGES" / "django.po"))
    assert len(fresh) > 10
    committed = {(e.msgctxt, e.msgid) for e in polib.pofile(str(PO))}
    missing = {(e.msgctxt, e.msgid) for e in fresh} - committed
    assert missing == set(), "run `make messages` and translate the new strings"
