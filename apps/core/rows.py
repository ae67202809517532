"""Writing many rows with one statement, faster than ``QuerySet.bulk_update``.

``bulk_update`` builds a ``CASE WHEN id = … THEN …`` expression per field and row, which
costs more Python time than the database needs to apply it. On PostgreSQL,
``rows_update`` sends ``UPDATE … FROM (VALUES …)`` instead: one row of values per object,
each column cast to its field's type. Elsewhere (the embedded SQLite) it is
``bulk_update``.
"""

from collections.abc import Sequence

from django.db import connection, models


def rows_update(objs: Sequence[models.Model], fields: Sequence[str]) -> None:
    """Save ``fields`` of every object in ``objs`` (all of one model) in one statement."""
    if not objs:
        return
    model = type(objs[0])
    if connection.vendor != "postgresql":
        model.objects.bulk_update(objs, list(fields))
        return
    meta = model._meta
    columns = [meta.get_field(name) for name in fields]
    pk = meta.pk
    names = ", ".join(connection.ops.quote_name(f.column) for f in [pk, *columns])
    sets = ", ".join(
        f"{connection.ops.quote_name(f.column)} = "
        f"v.{connection.ops.quote_name(f.column)}::{f.cast_db_type(connection)}"
        for f in columns
    )
    row = "(" + ", ".join(["%s"] * (len(columns) + 1)) + ")"
    params: list = []
    for obj in objs:
        params.append(obj.pk)
        params += [f.get_db_prep_save(getattr(obj, f.attname), connection) for f in columns]
    table = connection.ops.quote_name(meta.db_table)
    quoted_pk = connection.ops.quote_name(pk.column)
    sql = (
        f"UPDATE {table} SET {sets} FROM (VALUES {', '.join([row] * len(objs))}) "
        f"AS v({names}) WHERE {table}.{quoted_pk} = v.{quoted_pk}::{pk.cast_db_type(connection)}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
