import pytest
from django.db import connection

pytestmark = [pytest.mark.django_db, pytest.mark.mariadb]


def test_every_table_is_utf8mb4_unicode_ci():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_name, table_collation FROM information_schema.tables "
            "WHERE table_schema = DATABASE()"
        )
        collations = dict(cursor.fetchall())

    assert "accounts_user" in collations
    assert set(collations.values()) == {"utf8mb4_unicode_ci"}


def test_connection_is_strict_and_read_committed():
    with connection.cursor() as cursor:
        cursor.execute("SELECT @@SESSION.sql_mode, @@SESSION.tx_isolation")
        sql_mode, isolation = cursor.fetchone()

    assert "STRICT_TRANS_TABLES" in sql_mode
    assert isolation == "READ-COMMITTED"


def test_connection_speaks_utf8mb4():
    with connection.cursor() as cursor:
        cursor.execute("SELECT @@character_set_connection, %s", ["مهرپی 🎁"])
        charset, echoed = cursor.fetchone()

    assert charset == "utf8mb4"
    assert echoed == "مهرپی 🎁"
