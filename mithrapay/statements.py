"""Statements the ORM compiles once per process, then runs with each request's values.

On the busiest paths (the public catalog, placing an order) building and
compiling a queryset costs more than the database takes to run it. A
:class:`Statement` is the SQL and parameters the ORM compiled for a queryset
of ``.values()``, with the column converters it would apply; callers keep
one per shape (an ``lru_cache`` keyed by database alias and whatever changes
the SQL text, such as a filter's presence or a ``LIMIT``) and run it with
:meth:`Statement.rows`.

A value that changes between requests of one shape (an id, a date) is
compiled as a sentinel parameter and swapped for the real value at run time:
the sentinels below are distinct from every real parameter (ids are
positive, no stored date or time is in year 1, no stored text holds NUL
characters).

:func:`insert_all` does the same for ``bulk_create``: the INSERT is compiled
once per model and number of rows, and each call only works out the values.
"""

import datetime
import json
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from django.db import connections, router
from django.db.models import AutoField, Model, QuerySet
from django.db.models.sql import InsertQuery, UpdateQuery

ID_SENTINEL = -(2**62)
DATE_SENTINEL = datetime.date(1, 2, 3)
TIME_SENTINEL = datetime.datetime(1, 2, 3, 4, 5, 6, tzinfo=datetime.UTC)
TEXT_SENTINEL = "\x00sentinel\x00"
STATEMENTS_KEPT = 512


def id_sentinels(count: int) -> list[int]:
    """``count`` distinct id sentinels, for an ``IN (…)`` of that length."""
    return [ID_SENTINEL - n for n in range(count)]


@dataclass(frozen=True)
class Statement:
    sql: str
    params: tuple
    names: tuple[str, ...]
    # (position, converters, expression) of every column that needs one.
    converters: tuple

    @classmethod
    def of(
        cls, queryset: QuerySet, using: str, *, shared_json: tuple[str, ...] = ()
    ) -> "Statement":
        """The compiled form of ``queryset`` (a ``.values()`` queryset) on
        database ``using``. A locking queryset must be compiled inside a
        transaction, as Django requires of running one.

        The JSON columns named in ``shared_json`` hold few distinct texts
        repeated across rows (a short list of names); each text is decoded
        once per process and the decoded value is shared by every row that
        has it, so callers must not change it.
        """
        compiler = queryset.query.get_compiler(using=using)
        sql, params = compiler.as_sql()
        query = queryset.query
        # The column names as ``.values()`` names them.
        names = (
            tuple(query.selected)
            if query.selected
            else tuple(
                (*query.extra_select, *query.values_select, *query.annotation_select)
            )
        )
        fields = [column[0] for column in compiler.select[: compiler.col_count]]
        converters = {
            position: (tuple(functions), expression)
            for position, (functions, expression) in compiler.get_converters(
                fields
            ).items()
        }
        for name in shared_json:
            position = names.index(name)
            converters[position] = ((_shared_json,), converters[position][1])
        return cls(
            sql,
            tuple(params),
            names,
            tuple(
                (position, functions, expression)
                for position, (functions, expression) in sorted(converters.items())
            ),
        )

    @classmethod
    def counting(cls, queryset: QuerySet, using: str) -> "Statement":
        """``COUNT(*)`` over ``queryset``'s FROM and WHERE, as column ``n``.

        ``queryset`` must select one column (``.values("pk")``) and have no
        ordering or limit; its compiled SQL then starts with its own FROM, so
        the count reads the same tables and indexes without a derived table
        around it.
        """
        ids = cls.of(queryset.order_by().values("pk"), using)
        _select, _from, tables_and_conditions = ids.sql.partition(" FROM ")
        # The ORM's own compiled SQL; every value stays a parameter.
        count_sql = "SELECT COUNT(*) FROM " + tables_and_conditions  # noqa: S608
        return cls(count_sql, ids.params, ("n",), ())

    @classmethod
    def updating(cls, queryset: QuerySet, values: dict, using: str) -> "Statement":
        """The ``UPDATE`` that ``queryset.update(**values)`` runs, compiled;
        run it with :meth:`run`. For a model without parents: the update of
        a child model's parent rows is a second statement."""
        query = queryset.query.chain(UpdateQuery)
        query.add_update_values(values)
        query.clear_select_clause()
        sql, params = query.get_compiler(using=using).as_sql()
        return cls(sql, tuple(params), (), ())

    def run(self, using: str, *, swap=None) -> int:
        """Run a statement that returns no rows; the number of rows it
        changed."""
        _rows, rowcount = execute(
            connections[using], self.sql, self._params(swap), fetch=False
        )
        return rowcount

    def run_later(self, using: str, *, swap=None) -> None:
        """Run a statement whose answer nobody reads: inside a transaction
        on MariaDB it goes with the transaction's next statement or its
        ``COMMIT`` (:func:`execute_later`)."""
        execute_later(connections[using], self.sql, self._params(swap))

    def rows_after_commit(
        self, using: str, callback: Callable[[list[dict]], None], *, swap=None
    ) -> None:
        """Once the open transaction on ``using`` commits, ``callback`` with
        the rows the statement reads then, as :meth:`rows` gives them; on
        MariaDB the read goes in the ``COMMIT``'s round trip. Outside a
        transaction, now."""
        connection = connections[using]
        params = self._params(swap)
        if _runs_direct(connection, "read_after_commit"):
            connection.read_after_commit(
                self.sql, params, lambda fetched: callback(self._dicts(fetched, using))
            )
        else:
            connection.on_commit(lambda: callback(self.rows(using, swap=swap)))

    def _params(self, swap) -> list:
        if not swap:
            return list(self.params)
        return [
            swap.get(p, p) if type(p) in (int, str, datetime.date) else p
            for p in self.params
        ]

    def rows(
        self, using: str, *, extra_sql="", extra_params=(), swap=None
    ) -> list[dict]:
        """Run the statement with the sentinels in ``swap`` replaced by their
        values; each row as the dict ``.values()`` would give."""
        fetched, _rowcount = execute(
            connections[using],
            self.sql + extra_sql,
            [*self._params(swap), *extra_params],
            fetch=True,
        )
        return self._dicts(fetched, using)

    def _dicts(self, fetched, using: str) -> list[dict]:
        connection = connections[using]
        rows = []
        for values in fetched:
            values = list(values)
            for position, functions, expression in self.converters:
                value = values[position]
                for function in functions:
                    value = function(value, expression, connection)
                values[position] = value
            rows.append(dict(zip(self.names, values, strict=True)))
        return rows


def execute(connection, sql: str, params, *, fetch: bool):
    """Run one compiled statement on ``connection``: ``(rows, rowcount)``,
    rows ``None`` unless ``fetch``.

    Through the backend's ``run_statement`` where it has one (MariaDB,
    ``mithrapay.db.mysql``), unless something watches the queries (``DEBUG``,
    a test counting them, an execute wrapper such as the replica tests'); then,
    and on every other backend, through Django's cursor, which logs them.
    """
    if _runs_direct(connection, "run_statement"):
        return connection.run_statement(sql, params, fetch=fetch)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return (cursor.fetchall() if fetch else None), cursor.rowcount


def rows_together(using: str, reads: list[tuple["Statement", dict | None]]) -> list:
    """The rows of each ``(statement, swap)`` of ``reads``, as
    :meth:`Statement.rows` gives them, run in order: on MariaDB, with
    nothing watching the queries, all in one round trip (the backend's
    ``run_statements``); elsewhere one after another."""
    connection = connections[using]
    if not _runs_direct(connection, "run_statements"):
        return [statement.rows(using, swap=swap) for statement, swap in reads]
    answers = connection.run_statements(
        [(statement.sql, statement._params(swap)) for statement, swap in reads]
    )
    return [
        statement._dicts(fetched, using)
        for (statement, _swap), (fetched, _rowcount) in zip(reads, answers, strict=True)
    ]


def execute_later(connection, sql: str, params) -> None:
    """Run a compiled statement whose answer nobody reads (its rows, the
    number of rows it changed) on ``connection``.

    On MariaDB inside a transaction, and with nothing watching the queries,
    the backend's ``queue_statement`` keeps it until the transaction's next
    statement or its ``COMMIT`` and sends them together, in one round trip;
    an error it raises is raised there. Everywhere else it runs now, as
    :func:`execute` runs it.
    """
    if _runs_direct(connection, "queue_statement"):
        connection.queue_statement(sql, params)
    else:
        execute(connection, sql, params, fetch=False)


def _runs_direct(connection, method: str) -> bool:
    """Whether ``connection`` has the backend's ``method`` and nothing
    watches its queries (``DEBUG``, a test counting them, an execute wrapper
    such as the replica tests'), which only Django's cursor reports to."""
    return (
        hasattr(connection, method)
        and not connection.queries_logged
        and not connection.execute_wrappers
    )


@lru_cache(maxsize=1024)
def _decoded_json(text: str):
    return json.loads(text)


def _shared_json(value, _expression, _connection):
    # A JSONField column as the database hands it over: text, or NULL.
    return None if value is None else _decoded_json(value)


def stored_columns(model: type[Model], *, prefix: str = "") -> tuple[str, ...]:
    """The ``.values()`` names of every stored field of ``model``, each
    after ``prefix`` (``"product__"`` to read a related product's)."""
    return tuple(prefix + field.name for field in model._meta.concrete_fields)


def from_row(model: type[Model], row: dict, using: str, *, prefix: str = ""):
    """The ``model`` instance the ORM would build from a row that holds
    :func:`stored_columns` with that ``prefix``."""
    fields = model._meta.concrete_fields
    return model.from_db(
        using,
        [field.attname for field in fields],
        [row[prefix + field.name] for field in fields],
    )


def saved_as(model: type[Model], field_name: str, value, using: str):
    """``value`` as the driver is given it for ``model.field_name`` (its
    ``get_db_prep_save``): the key or value of a swap for that column."""
    field = model._meta.get_field(field_name)
    return field.get_db_prep_save(value, connection=connections[using])


def date_swap(using: str, value: datetime.date) -> dict:
    """The compiled :data:`DATE_SENTINEL` and ``value``, as the database
    driver is given dates, so a statement compiled on an earlier day
    compares with ``value``."""
    ops = connections[using].ops
    return {ops.adapt_datefield_value(DATE_SENTINEL): ops.adapt_datefield_value(value)}


# --- Inserts ------------------------------------------------------------------------


@dataclass(frozen=True)
class _Insert:
    sql: str
    fields: tuple
    returning: tuple
    converters: tuple


# (model, database, rows) -> the compiled INSERT, or None where the ORM's own
# bulk_create must run (a field with its own placeholder, a backend that
# cannot return the new rows' keys from one INSERT).
_inserts: dict[tuple, _Insert | None] = {}


def insert_all(objs: list[Model], *, using: str | None = None) -> list[Model]:
    """``bulk_create(objs)`` for new rows of one model (primary keys unset),
    through the INSERT the ORM compiled for that model and number of rows.

    Each object gets its primary key and its ``auto_now_add`` values, and is
    marked saved, as ``bulk_create`` leaves it; like ``bulk_create``, no
    signal is sent. The first compile checks that the values this function
    gives the driver are the ones the ORM's compiler gave; where a shape
    cannot be compiled, an object has its primary key set or a value is an
    expression, ``bulk_create`` runs.
    """
    if not objs:
        return objs
    using, insert, params = _prepared_insert(objs, using)
    if params is None:
        return type(objs[0])._default_manager.using(using).bulk_create(objs)
    connection = connections[using]
    rows, _rowcount = execute(
        connection, insert.sql, params, fetch=bool(insert.returning)
    )
    return _saved(insert, objs, rows, connection)


def _saved(insert: _Insert, objs: list[Model], rows, connection) -> list[Model]:
    """``objs`` given the values ``insert`` returned (``rows``) and marked
    saved, as ``bulk_create`` leaves them."""
    for obj, row in zip(objs, rows or [], strict=bool(insert.returning)):
        values = list(row)
        for position, functions, expression in insert.converters:
            for function in functions:
                values[position] = function(values[position], expression, connection)
        for field, value in zip(insert.returning, values, strict=True):
            setattr(obj, field.attname, value)
    for obj in objs:
        obj._state.adding = False
        obj._state.db = connection.alias
    return objs


def insert_with_parent(
    parent: Model, children: list[Model], field_name: str, *, using: str | None = None
) -> list[Model]:
    """Insert the new row ``parent``, then the new rows ``children`` (built
    without it) with their foreign key ``field_name`` pointing at it; the
    children, saved as :func:`insert_all` leaves them, each with ``parent``
    as its related object.

    On MariaDB, with nothing watching the queries, both INSERTs go in one
    round trip (the backend's ``run_statements``): the children's key to
    the parent is ``LAST_INSERT_ID()``, the id MariaDB gave the parent's
    row in the statement before. MariaDB stops at the first statement that
    fails, so no child is inserted without its parent. Elsewhere, and where
    :func:`insert_all` would fall back to ``bulk_create``, the parent is
    inserted first and the children after it.
    """
    model = type(parent)
    using = using or router.db_for_write(model)
    connection = connections[using]
    field = type(children[0])._meta.get_field(field_name) if children else None
    together = (
        field is not None
        and field.remote_field.model is model
        and _runs_direct(connection, "run_statements")
        and _children_together(parent, children, field, using, connection)
    )
    if not together:
        insert_all([parent], using=using)
        for child in children:
            setattr(child, field_name, parent)
        return insert_all(children, using=using)
    (parent_insert, parent_params), (sql, params, children_insert) = together
    (parent_rows, _), (children_rows, _) = connection.run_statements(
        [(parent_insert.sql, parent_params), (sql, params)]
    )
    _saved(parent_insert, [parent], parent_rows, connection)
    for child in children:
        setattr(child, field_name, parent)
    return _saved(children_insert, children, children_rows, connection)


def _children_together(parent, children, field, using, connection):
    """The parent's compiled INSERT and values, and the children's INSERT
    with ``LAST_INSERT_ID()`` for ``field`` and its values; None where
    either must go through :func:`insert_all` on its own."""
    parent_insert = _insert_for([parent], using)
    parent_params = (
        None
        if parent_insert is None or not parent_insert.returning
        else _insert_params(parent_insert, [parent], connection)
    )
    if parent_params is None:
        return None
    # The children's key is the compiled placeholder until MariaDB fills it
    # in; its values are dropped from the ones the driver is given.
    for child in children:
        setattr(child, field.attname, ID_SENTINEL)
    try:
        key = (type(children[0]), using, len(children), field.attname)
        if key in _inserts_under_parent:
            compiled = _inserts_under_parent[key]
        else:
            compiled = _compiled_under_parent(key, children, field)
        params = (
            None
            if compiled is None
            else _insert_params(compiled[0], children, connection)
        )
    finally:
        for child in children:
            setattr(child, field.attname, None)
    if params is None:
        return None
    children_insert, sql, width, position = compiled
    kept = [value for index, value in enumerate(params) if index % width != position]
    return (parent_insert, parent_params), (sql, kept, children_insert)


def _insert_for(objs: list[Model], using: str) -> _Insert | None:
    key = (type(objs[0]), using, len(objs))
    return _inserts[key] if key in _inserts else _compiled_insert(key, objs)


# (model, database, rows, key column) -> the children's compiled INSERT, its
# SQL with LAST_INSERT_ID() for the key column's placeholders, the values per
# row and the key's place among them; None where it cannot be rewritten.
_inserts_under_parent: dict[tuple, tuple | None] = {}


def _compiled_under_parent(key: tuple, children: list[Model], field) -> tuple | None:
    _model, using, rows, _attname = key
    _inserts_under_parent[key] = None
    insert = _insert_for(children, using)
    if insert is None or field not in insert.fields:
        return None
    width = len(insert.fields)
    position = insert.fields.index(field)
    parts = insert.sql.split("%s")
    if "%%" in insert.sql or len(parts) != rows * width + 1:
        return None
    sql = parts[0]
    for index, part in enumerate(parts[1:]):
        sql += ("LAST_INSERT_ID()" if index % width == position else "%s") + part
    _inserts_under_parent[key] = (insert, sql, width, position)
    return _inserts_under_parent[key]


def insert_later(objs: list[Model], *, using: str | None = None) -> None:
    """Insert new rows of one model whose keys nobody reads: as
    :func:`insert_all`, but through :func:`execute_later`, so inside a
    transaction on MariaDB the INSERT goes with the transaction's next
    statement or its ``COMMIT``. Nothing is read back into the objects:
    they keep no primary key and are not marked saved, except where
    ``bulk_create`` inserts them instead, which sets both."""
    if not objs:
        return
    using, insert, params = _prepared_insert(objs, using)
    if params is None:
        type(objs[0])._default_manager.using(using).bulk_create(objs)
        return
    execute_later(connections[using], insert.sql, params)


def _prepared_insert(objs: list[Model], using: str | None) -> tuple:
    """``(using, insert, params)`` for new rows ``objs`` of one model: the
    database they go to, their compiled INSERT and its values; ``params``
    is None where ``bulk_create`` must insert them."""
    using = using or router.db_for_write(type(objs[0]))
    insert = _insert_for(objs, using)
    params = (
        None if insert is None else _insert_params(insert, objs, connections[using])
    )
    return using, insert, params


def _insert_params(insert: _Insert, objs: list[Model], connection) -> list | None:
    """The values of ``insert`` for ``objs``, as the driver is given them;
    None where ``bulk_create`` must insert them (a primary key set, a value
    that is an expression)."""
    if any(obj.pk is not None for obj in objs):
        return None
    params = []
    for obj in objs:
        obj._prepare_related_fields_for_save(operation_name="bulk_create")
        for field in insert.fields:
            value = field.pre_save(obj, add=True)
            if hasattr(value, "resolve_expression"):
                return None
            params.append(field.get_db_prep_save(value, connection=connection))
    return params


def _compiled_insert(key: tuple, objs: list[Model]) -> _Insert | None:
    """Compile ``key``'s INSERT from ``objs`` and keep it; None (kept too)
    where ``bulk_create`` must serve the shape."""
    model, using, _rows = key
    connection = connections[using]
    fields = tuple(
        field
        for field in model._meta.concrete_fields
        if not field.generated and not isinstance(field, AutoField)
    )
    _inserts[key] = None
    if not connection.features.can_return_rows_from_bulk_insert or any(
        hasattr(field, "get_placeholder") for field in fields
    ):
        return None
    for obj in objs:
        obj._prepare_related_fields_for_save(operation_name="bulk_create")
    query = InsertQuery(model)
    query.insert_values(fields, objs)
    compiler = query.get_compiler(using=using)
    compiler.returning_fields = model._meta.db_returning_fields
    statements = compiler.as_sql()
    # The compiler's pre_save has set every auto_now_add value on the objects;
    # the values insert_all gives must be exactly the compiler's.
    ours = [
        field.get_db_prep_save(getattr(obj, field.attname), connection=connection)
        for obj in objs
        for field in fields
    ]
    if len(statements) != 1 or list(statements[0][1]) != ours:
        return None
    returning = tuple(model._meta.db_returning_fields)
    columns = [field.get_col(model._meta.db_table) for field in returning]
    _inserts[key] = _Insert(
        statements[0][0],
        fields,
        returning,
        tuple(
            (position, tuple(functions), expression)
            for position, (functions, expression) in compiler.get_converters(
                columns
            ).items()
        ),
    )
    return _inserts[key]
