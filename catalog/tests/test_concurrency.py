"""Concurrent imports on the real MariaDB: real threads, real transactions."""

import threading

import pytest
from django.db import connection

from catalog import services
from catalog.models import CodeBatch, DigitalCode
from catalog.tests.factories import VariantFactory, code_lines

pytestmark = [pytest.mark.mariadb, pytest.mark.django_db(transaction=True)]


def _run_together(variant, files: list[str]) -> tuple[list, list]:
    barrier = threading.Barrier(len(files))
    summaries, errors = [], []

    def work(data):
        try:
            barrier.wait()
            summaries.append(services.code_import(variant=variant, data=data))
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(data,)) for data in files]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return summaries, errors


def test_concurrent_imports_of_overlapping_files_leave_no_duplicate():
    variant = VariantFactory()
    files = [code_lines(3000, start=n * 1000) for n in range(4)]
    distinct = len({line for data in files for line in data.splitlines()})

    summaries, errors = _run_together(variant, files)

    assert errors == []
    assert len(summaries) == 4
    assert DigitalCode.objects.count() == distinct
    assert DigitalCode.objects.values("digest").distinct().count() == distinct
    assert sum(s.imported for s in summaries) == distinct
    assert sum(s.rejected for s in summaries) == 4 * 3000 - distinct
    batches = CodeBatch.objects.all()
    assert sum(b.imported_count for b in batches) == distinct
    for batch in batches:
        assert batch.codes.count() == batch.imported_count


def test_concurrent_imports_of_the_same_file_import_it_once():
    variant = VariantFactory()
    data = code_lines(2000)

    summaries, errors = _run_together(variant, [data] * 3)

    assert errors == []
    assert sorted(s.imported for s in summaries) == [0, 0, 2000]
    assert DigitalCode.objects.count() == 2000
