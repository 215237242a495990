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
"""

import time

from django.db.backends.mysql import base
from django.db.backends.utils import debug_transaction

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
