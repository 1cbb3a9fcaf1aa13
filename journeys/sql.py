"""Database access shared by the journeys' services and selectors."""

from __future__ import annotations

from django.db import connection


def bulk_cursor(*, binary: bool = False):
    """A cursor for the set-based statements with array parameters.

    On PostgreSQL: a server-side-binding psycopg cursor on Django's connection (same transaction,
    still logged by Django). The project's default cursor binds on the client, which turns every
    array into an escaped text literal in Python: about 15 ms per batch of 500 events. With
    ``binary``, results come in binary (psycopg's C loaders: no text timestamps parsed in
    Python). Elsewhere: Django's usual cursor.
    """
    if connection.vendor != "postgresql":
        return connection.cursor()
    import psycopg

    connection.ensure_connection()
    cursor = psycopg.Cursor(connection.connection)
    if binary:
        cursor.format = psycopg.pq.Format.BINARY
    return connection._prepare_cursor(cursor)
