"""The feedback database's tables and how each version of the schema is reached from the one before.

The version lives in the database itself (table `schema_version`); opening a database runs the upgrades
it lacks, in one transaction each, so an old file (or an empty PostgreSQL database) upgrades itself.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import (
    JSON,
    Column,
    Connection,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
)

metadata = MetaData()

schema_version = Table("schema_version", metadata, Column("version", Integer, nullable=False))

# every picture Atelier wrote while feedback was on, so that it can be rated by file or by id (even after a
# restart); unrated ones are deleted after a while (store.KEEP_UNRATED)
pictures = Table(
    "pictures",
    metadata,
    Column("id", String(32), primary_key=True),  # the first 32 hex digits of the PNG file's SHA-256
    Column("made_at", DateTime(timezone=True), nullable=False),
    Column("png", LargeBinary, nullable=False),
    Column("request", Text, nullable=False),
    Column("prompt", Text, nullable=False),
    Column("model", String(200)),
    Column("settings", JSON, nullable=False),
    Column("receipt", JSON),  # None: the picture has no receipt (edits, styles)
)

# one rating per picture: rating it again replaces the row
ratings = Table(
    "ratings",
    metadata,
    Column("picture_id", String(32), ForeignKey("pictures.id", ondelete="CASCADE"), primary_key=True),
    Column("rating", String(4), nullable=False),  # "up" or "down"
    Column("note", Text, nullable=False),
    Column("wrong", JSON, nullable=False),  # the receipt's attribute names the person marked wrong
    Column("user", String(200)),  # only with --auth
    Column("rated_at", DateTime(timezone=True), nullable=False),
)

made_at_index = Index("pictures_made_at", pictures.c.made_at)


def _create_tables(connection: Connection) -> None:
    for table in (pictures, ratings):
        table.create(connection)


def _index_made_at(connection: Connection) -> None:
    """Pruning unrated pictures looks them up by age. (A database made fresh has the index from version 1 on,
    as it belongs to the table; one made at version 1 gets it here.)"""
    made_at_index.create(connection, checkfirst=True)


# UPGRADES[n] takes a database from version n to n + 1
UPGRADES: list[Callable[[Connection], None]] = [_create_tables, _index_made_at]
VERSION = len(UPGRADES)
