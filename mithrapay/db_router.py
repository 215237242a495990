"""Reads of the catalog and the blog from a MariaDB replica.

With ``DATABASE_REPLICA_URL`` set, the settings add a ``replica`` database
and install :class:`ReplicaRouter` and :class:`ReadOnlyRequestMiddleware`.
A query goes to the replica only when all of these hold:

* it reads a catalog or blog model (orders, payments and accounts always
  read the primary, which holds their locks and their latest state);
* it runs while serving a GET, HEAD or OPTIONS request, so a checkout, a
  staff edit, a Celery task or a command reads what it is about to write
  from the primary, never from a replica a few seconds behind;
* no transaction is open on the primary: a read inside ``atomic`` (and so
  every ``select_for_update``) sees the transaction's own writes and locks.

Every write goes to the primary.
"""

from contextvars import ContextVar

from django.db import DEFAULT_DB_ALIAS, connections

REPLICA = "replica"
REPLICA_APPS = frozenset({"catalog", "blog"})
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

_read_only_request: ContextVar[bool] = ContextVar("read_only_request", default=False)


class ReadOnlyRequestMiddleware:
    """Mark a GET, HEAD or OPTIONS request as one that may read the replica."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = _read_only_request.set(request.method in SAFE_METHODS)
        try:
            return self.get_response(request)
        finally:
            _read_only_request.reset(token)


def replica_reads_allowed() -> bool:
    return (
        _read_only_request.get() and not connections[DEFAULT_DB_ALIAS].in_atomic_block
    )


class ReplicaRouter:
    def db_for_read(self, model, **hints):
        instance = hints.get("instance")
        if instance is not None and instance._state.db:
            # Related rows come from where their object came from.
            return instance._state.db
        if model._meta.app_label in REPLICA_APPS and replica_reads_allowed():
            return REPLICA
        return DEFAULT_DB_ALIAS

    def db_for_write(self, model, **hints):
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1, obj2, **hints):
        # Both aliases hold the same data: the replica copies the primary.
        return True

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return db == DEFAULT_DB_ALIAS
