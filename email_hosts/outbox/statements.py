"""
The outbox's two statements that run for every message, in SQL of their
own: Django's ORM costs more than the database's round trip for them, and
they decide how fast a request queues mail and a worker sends it (see the
outbox's figures in docs/performance.rst). Values go through each field's
own preparation, so they are stored exactly as the ORM would store them.
"""

from django.db import connections, router

from email_hosts.outbox.message_parts import PART_BYTES, in_parts, save_in_parts
from email_hosts.outbox.models import OutboxMessage


def insert(rows):
    """
    Insert ``rows`` (unsaved ``OutboxMessage`` objects), in order, in
    statements the database takes: none carries more than a part
    (``PART_BYTES``) of message bytes, and a message larger than that is
    saved alone, in parts.
    """
    meta = OutboxMessage._meta
    using = router.db_for_write(OutboxMessage)
    connection = connections[using]
    quote = connection.ops.quote_name
    fields = [field for field in meta.concrete_fields if not field.primary_key]
    columns = ", ".join(quote(field.column) for field in fields)
    placeholders = f"({', '.join('%s' for _field in fields)})"
    size = max(1, connection.ops.bulk_batch_size(fields, rows))
    with connection.cursor() as cursor:
        for batch in _batches(rows, size):
            if in_parts(batch[0].message):
                save_in_parts(batch[0], using=using)
                continue
            params = []
            for row in batch:
                params.extend(_prepared(row, fields, connection))
            cursor.execute(
                f"INSERT INTO {quote(meta.db_table)} ({columns}) VALUES"
                f" {', '.join(placeholders for _row in batch)}",
                params,
            )


def _prepared(row, fields, connection):
    """
    Yield the values of ``row`` for ``fields`` as the database takes them. A
    value two fields hold is prepared once: a message's pending recipients
    are its recipients when queued, and are encrypted once.
    """
    prepared = {}
    for field in fields:
        field.pre_save(row, add=True)  # created_at: auto_now_add.
        value = getattr(row, field.attname)
        key = (type(field), id(value))
        if key not in prepared:
            prepared[key] = field.get_db_prep_save(value, connection)
        yield prepared[key]


def _batches(rows, size):
    """
    Yield ``rows`` in lists of at most ``size`` whose messages add up to no
    more than a part, in order; a message larger than a part in a list of
    its own.
    """
    batch, message_bytes = [], 0
    for row in rows:
        length = len(row.message)
        if batch and (len(batch) == size or message_bytes + length > PART_BYTES):
            yield batch
            batch, message_bytes = [], 0
        batch.append(row)
        message_bytes += length
    if batch:
        yield batch


def update_claimed(claim, changes):
    """
    Write ``changes`` ({pk: {field: value}}) to the messages still claimed
    by ``claim``, in one UPDATE; return how many rows it wrote. In SQL of its
    own: the ORM's expressions for two rows at once cost a worker more than
    the relay's round trips.
    """
    meta = OutboxMessage._meta
    connection = connections[router.db_for_write(OutboxMessage)]
    quote = connection.ops.quote_name
    pk_column = quote(meta.pk.column)
    assignments, params = [], []
    for name in sorted(set().union(*changes.values())):
        field = meta.get_field(name)
        column = quote(field.column)
        cases = [
            (pk, field.get_db_prep_save(values[name], connection))
            for pk, values in changes.items()
            if name in values
        ]
        if len(changes) == 1:
            assignments.append(f"{column} = %s")
            params.append(cases[0][1])
            continue
        whens = " ".join("WHEN %s THEN %s" for _case in cases)
        assignments.append(f"{column} = CASE {pk_column} {whens} ELSE {column} END")
        params.extend(value for case in cases for value in case)
    keys = ", ".join("%s" for _pk in changes)
    sql = (
        f"UPDATE {quote(meta.db_table)} SET {', '.join(assignments)}"
        f" WHERE {pk_column} IN ({keys}) AND {quote('claimed_by')} = %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, *changes, claim])
        return cursor.rowcount
