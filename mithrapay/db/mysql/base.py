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

Inside a transaction, a statement whose answer the caller does not read
(:meth:`DatabaseWrapper.queue_statement`) waits on the connection and goes
to MariaDB with the transaction's next statement, or with its ``COMMIT``, as
one multi-statement query: one round trip for several statements. The
``START TRANSACTION`` that opens an ``atomic`` block waits the same way for
the block's first statement, and a read that must see the committed data
(:meth:`DatabaseWrapper.read_after_commit`) rides after the ``COMMIT`` in the
same query. Statements that need nothing from each other's answers go
together too (:meth:`DatabaseWrapper.run_statements`). MariaDB runs the
statements of one query in order and stops at the first that fails; its
error is raised by the statement or the commit they went with, and a failed
commit rolls the whole transaction back. Under
the checkout load a round trip cost the machine about as much as 3 % of the
checkout's throughput (the Performance section of the README).
"""

import time
from collections.abc import Callable
from dataclasses import dataclass

from django.db import IntegrityError
from django.db.backends.mysql import base
from django.db.backends.utils import debug_transaction
from django.utils.asyncio import async_unsafe

ALIVE_FOR = 1.0


@dataclass
class _Read:
    """A read sent after a ``COMMIT``; ``rows`` once MariaDB answered it."""

    query: bytes
    rows: tuple | None = None


class CursorWrapper(base.CursorWrapper):
    """Django's MySQL cursor, sending the connection's waiting statements
    before its own (so every statement reaches MariaDB in the order the
    application ran it)."""

    def __init__(self, cursor, wrapper: "DatabaseWrapper"):
        super().__init__(cursor)
        self.wrapper = wrapper

    def execute(self, query, args=None):
        self.wrapper.send_queued()
        return super().execute(query, args)

    def executemany(self, query, args):
        self.wrapper.send_queued()
        return super().executemany(query, args)


class DatabaseWrapper(base.DatabaseWrapper):
    # time.monotonic() when the connection was opened or last answered a ping.
    alive_at: float | None = None

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Statements of the open transaction not yet sent, each as MariaDB
        # is sent it, and the reads that go after its COMMIT.
        self.queued: list[bytes] = []
        self.reads_after_commit: list[_Read] = []

    def connect(self):
        super().connect()
        self.alive_at = time.monotonic()

    def close(self):
        self.alive_at = None
        self.queued = []
        self.reads_after_commit = []
        super().close()

    def create_cursor(self, name=None):
        return CursorWrapper(self.connection.cursor(), self)

    def is_usable(self):
        usable = super().is_usable()
        if usable:
            self.alive_at = time.monotonic()
        return usable

    def _start_transaction_under_autocommit(self):
        # Django calls this when an outermost atomic block starts, in place
        # of turning autocommit off; its commit() or rollback() then ends the
        # transaction, and turning autocommit on again finds it on (mysqlclient
        # reads that from the server's last answer and sends nothing). The
        # START TRANSACTION goes with the block's first statement.
        with debug_transaction(self, "BEGIN"):
            self.queued.append(b"START TRANSACTION")

    def _commit(self):
        if self.connection is None or not (self.queued or self.reads_after_commit):
            return super()._commit()
        statements = [*self.queued, b"COMMIT"]
        reads = self.reads_after_commit
        self.queued = []
        self.reads_after_commit = []
        with debug_transaction(self, "COMMIT"), self.wrap_database_errors:
            self._send(statements, fetch=False, answered=0, reads=reads)
        return None

    def _rollback(self):
        # What never reached MariaDB needs no undoing; a START TRANSACTION
        # still waiting leaves the ROLLBACK nothing to do.
        self.queued = []
        self.reads_after_commit = []
        super()._rollback()

    def queue_statement(self, sql: str, params: list) -> None:
        """Run a statement whose answer nobody reads (its rows, the number
        of rows it changed): inside a transaction it goes with the
        transaction's next statement or its ``COMMIT``, and an error it
        raises is raised there; outside one, it runs now."""
        if not self.in_atomic_block:
            self.run_statement(sql, params, fetch=False)
            return
        self._check_open_transaction()
        with self.wrap_database_errors:
            self.queued.append(self._render(sql, params))

    def read_after_commit(
        self, sql: str, params: list, callback: Callable[[tuple], None]
    ) -> None:
        """Once the open transaction commits, ``callback(rows)`` with the rows
        ``sql`` reads then (as ``run_statement(fetch=True)`` gives them), as
        ``on_commit`` would run it: the read goes in the ``COMMIT``'s round
        trip, and runs on its own if it could not (a commit with nothing
        sent through this connection's ``COMMIT``, a read that failed).
        Outside a transaction, the read and the callback run now."""
        if not self.in_atomic_block:
            callback(self.run_statement(sql, params, fetch=True)[0])
            return
        self._check_open_transaction()
        with self.wrap_database_errors:
            read = _Read(self._render(sql, params))
        self.reads_after_commit.append(read)

        def deliver() -> None:
            if read.rows is None:
                read.rows = self.run_statement(sql, params, fetch=True)[0]
            callback(read.rows)

        self.on_commit(deliver)

    def send_queued(self) -> None:
        """Send the statements waiting for the transaction's next one."""
        if self.queued and self.connection is not None:
            statements = self.queued
            self.queued = []
            with self.wrap_database_errors:
                self._send(statements, fetch=False, answered=0)

    def _check_open_transaction(self) -> None:
        # What run_statement checks, for a statement that waits: the thread,
        # a transaction broken by an earlier error, its connection.
        self.validate_thread_sharing()
        self.validate_no_broken_transaction()
        self.ensure_connection()

    def _render(self, sql: str, params) -> bytes:
        """``sql`` with ``params`` quoted by the driver's own ``literal()``,
        as its cursor quotes them."""
        driver = self.connection
        try:
            return sql.encode(driver.encoding) % tuple(map(driver.literal, params))
        except TypeError as error:
            # A placeholder without its value, as the driver's cursor says.
            raise self.Database.ProgrammingError(str(error)) from error

    def _send(self, statements: list[bytes], *, fetch: bool, answered=1, reads=()):
        """One round trip: ``statements`` in one query, then ``reads``.
        ``(rows, rowcount)`` of each of the last ``answered`` statements;
        each read gets its rows, or keeps none when it or one before it
        failed."""
        driver = self.connection
        first_answered = len(statements) - answered
        answers = []
        try:
            driver.query(b";".join([*statements, *(read.query for read in reads)]))
            for index in range(len(statements)):
                # Moving on raises the next statement's error; every answer
                # arrives whole (as the driver's cursor stores them), and a
                # statement without rows has no result.
                if index:
                    driver.next_result()
                result = driver.store_result()
                if index >= first_answered:
                    rows = result.fetch_row(0) if fetch and result is not None else ()
                    answers.append(((rows if fetch else None), driver.affected_rows()))
        except self.Database.OperationalError as error:
            if error.args[0] in base.CursorWrapper.codes_for_integrityerror:
                raise IntegrityError(*error.args) from error
            raise
        for read in reads:
            try:
                driver.next_result()
                result = driver.store_result()
            except self.Database.Error:
                # MariaDB ran nothing after the failed read; each read left
                # runs again on its own when its callback is due.
                break
            read.rows = result.fetch_row(0) if result is not None else ()
        return answers

    @async_unsafe
    def run_statements(self, queries: list[tuple[str, list]]) -> list[tuple]:
        """Run several statements in one round trip, in order; the
        ``(rows, rowcount)`` of each. MariaDB stops at the first that fails,
        and its error is raised; the checks and errors are
        :meth:`run_statement`'s."""
        self.close_if_health_check_failed()
        self.ensure_connection()
        self.validate_thread_sharing()
        self.validate_no_broken_transaction()
        with self.wrap_database_errors:
            statements = [*self.queued, *(self._render(*query) for query in queries)]
            self.queued = []
            return self._send(statements, fetch=True, answered=len(queries))

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
            statements = [*self.queued, self._render(sql, params)]
            self.queued = []
            return self._send(statements, fetch=fetch)[0]

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
