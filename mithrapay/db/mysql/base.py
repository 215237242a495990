"""MariaDB through Django's MySQL backend, with a lighter health check and
one statement fewer per transaction.

With ``CONN_HEALTH_CHECKS`` Django pings a kept connection before the first
query of every request: one more round trip to MariaDB per request, on a
connection that, under load, answered a query a few milliseconds earlier.
This backend skips the ping when the connection was opened or last answered
a ping less than ``ALIVE_FOR`` seconds ago, and pings as Django does
otherwise, so a connection the server dropped while it sat idle (its
``wait_timeout``, a restart during a quiet spell) is still replaced before a
request uses it.

Known limit: a connection the server drops within ``ALIVE_FOR`` seconds of
its last check (a restart of MariaDB under load) fails the one request that
uses it next with 503 ``service_unavailable``; Django then closes it at the
end of that request and the worker's next request connects afresh.

Django opens an ``atomic`` block's transaction by turning the session's
autocommit off (``SET autocommit=0``) and turns it back on after the
``COMMIT`` or ``ROLLBACK``: three round trips to MariaDB around the block's
own statements. This backend opens the block with ``START TRANSACTION``
instead, which leaves the session in autocommit, so the ``COMMIT`` or
``ROLLBACK`` that ends the transaction is all that follows: two. The
isolation level, savepoints and row locks are the same in both.

Known limit: a statement that commits implicitly (DDL, ``LOCK TABLES``)
inside an ``atomic`` block ends the transaction in both cases, but after it
the rest of the block runs statement by statement in autocommit, where with
``SET autocommit=0`` it would run in a new transaction. MariaDB cannot roll
DDL back either way, and Django runs no migration inside one transaction on
MariaDB; the application runs no DDL in a block.

:meth:`DatabaseWrapper.run_statement` runs the precompiled statements of
``mithrapay.statements`` (the catalog's reads, a checkout's locks and
inserts) straight on the driver's connection, with the checks and error
translation of Django's cursor but without its two wrapper layers and the
driver's cursor, which together cost about half of a short statement's
time in Python.
"""

import time

from django.db import IntegrityError
from django.db.backends.mysql import base
from django.db.backends.utils import debug_transaction
from django.utils.asyncio import async_unsafe

ALIVE_FOR = 1.0


class DatabaseWrapper(base.DatabaseWrapper):
    # time.monotonic() when the connection was opened or last answered a ping.
    alive_at: float | None = None

    def connect(self):
        super().connect()
        self.alive_at = time.monotonic()

    def close(self):
        self.alive_at = None
        super().close()

    def is_usable(self):
        usable = super().is_usable()
        if usable:
            self.alive_at = time.monotonic()
        return usable

    def _start_transaction_under_autocommit(self):
        # Django calls this when an outermost atomic block starts, in place
        # of turning autocommit off; its commit() or rollback() then ends the
        # transaction, and turning autocommit on again finds it on (mysqlclient
        # reads that from the server's last answer and sends nothing).
        with debug_transaction(self, "BEGIN"), self.wrap_database_errors:
            self.connection.query("START TRANSACTION")

    @async_unsafe
    def run_statement(self, sql: str, params: list, *, fetch: bool):
        """Run one statement; ``(rows, rowcount)``, rows ``None`` unless
        ``fetch``.

        What ``cursor()`` and ``execute()`` check first is checked here too:
        the health check, the connection, the thread, a transaction broken by
        an earlier error. Parameters are quoted by the driver's own
        ``literal()``, as its cursor quotes them, and the rows are the ones
        its cursor would fetch. Driver errors become Django's, and the error
        codes Django's MySQL cursor reads as integrity errors are read so.
        Nothing is logged: callers go through Django's cursor when queries
        are logged (``DEBUG``, a test counting them) or an execute wrapper is
        installed.
        """
        self.close_if_health_check_failed()
        self.ensure_connection()
        self.validate_thread_sharing()
        self.validate_no_broken_transaction()
        with self.wrap_database_errors:
            driver = self.connection
            try:
                query = sql.encode(driver.encoding) % tuple(map(driver.literal, params))
            except TypeError as error:
                # A placeholder without its value, as the driver's cursor says.
                raise self.Database.ProgrammingError(str(error)) from error
            try:
                driver.query(query)
            except self.Database.OperationalError as error:
                if error.args[0] in base.CursorWrapper.codes_for_integrityerror:
                    raise IntegrityError(*error.args) from error
                raise
            # Every row arrives with the answer (the driver's default cursor
            # stores results the same way); a statement without rows has no
            # result.
            result = driver.store_result()
            rows = result.fetch_row(0) if fetch and result is not None else ()
            return (rows if fetch else None), driver.affected_rows()

    def close_if_health_check_failed(self):
        if (
            self.connection is not None
            and self.health_check_enabled
            and not self.health_check_done
            and self.alive_at is not None
            and time.monotonic() - self.alive_at < ALIVE_FOR
        ):
            self.health_check_done = True
            return
        super().close_if_health_check_failed()
