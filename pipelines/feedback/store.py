"""Where ratings live: a SQLAlchemy database (SQLite in the user's data folder unless a URL is given).

Durability: every write is one transaction, committed before the caller answers. SQLite runs in WAL mode
with synchronous=FULL, so a commit has reached the disk (fsync of the WAL) before it returns: it survives
the process being killed and also a power loss. (synchronous=NORMAL with WAL would survive `kill -9` too,
since the WAL write is in the OS's hands, but could lose the last commits on a power loss or OS crash.)
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, create_engine, delete, event, func, insert, select, update
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, IntegrityError, NoSuchModuleError, SQLAlchemyError

from pipelines.feedback.schema import UPGRADES, VERSION, pictures, ratings, schema_version
from zoo.errors import AtelierError

log = logging.getLogger("atelier")
URL_VARIABLE = "ATELIER_FEEDBACK_DB"
KEEP_UNRATED = timedelta(days=7)  # a picture nobody rated is forgotten after this long
PRUNE_EVERY_SECONDS = 3600
ID_PATTERN = re.compile(r"[0-9a-f]{32}")


class FeedbackUnavailable(AtelierError):
    """The feedback database cannot be opened or written."""


def picture_id(png: bytes) -> str:
    """A picture's stable id: the first 32 hex digits of its PNG file's SHA-256."""
    return hashlib.sha256(png).hexdigest()[:32]


def data_folder() -> Path:
    """The user's data folder for Atelier (e.g. ~/.local/share/atelier on Linux)."""
    from platformdirs import user_data_dir

    return Path(user_data_dir("atelier", appauthor=False))


def default_url() -> str:
    return os.environ.get(URL_VARIABLE) or f"sqlite:///{data_folder() / 'feedback.db'}"


@dataclass(frozen=True)
class Made:
    """A picture Atelier wrote, with how it was made."""

    png: bytes
    request: str
    prompt: str
    model: str | None
    settings: dict
    receipt: list[dict] | None

    @property
    def id(self) -> str:
        return picture_id(self.png)


@dataclass(frozen=True)
class Rated:
    """One rating with its picture's record (the PNG bytes left out)."""

    picture_id: str
    rating: str
    note: str
    wrong: list[str]
    user: str | None
    rated_at: datetime
    request: str
    prompt: str
    model: str | None
    settings: dict
    receipt: list[dict] | None


class FeedbackStore:
    def __init__(self, url: str | None = None, synchronous: str = "FULL"):
        """`synchronous`: SQLite's setting; FULL survives a power loss, NORMAL only a killed process."""
        self.url = url or default_url()
        self.engine = _engine(self.url, synchronous)
        self._pruned_at = 0.0
        self._prune_lock = threading.Lock()
        try:
            self._upgrade()
            self.prune()
        except SQLAlchemyError as e:
            self.engine.dispose()
            raise FeedbackUnavailable(
                f"The feedback database {self.location} cannot be opened ({_reason(e)}); "
                "give another with --feedback-db, or turn ratings off with --no-feedback."
            ) from None

    @property
    def location(self) -> str:
        """Where the ratings are, for the person who runs the server (never shown on the page)."""
        url = make_url(self.url)
        if url.get_backend_name() == "sqlite":
            return url.database or "(in memory)"
        return url.render_as_string(hide_password=True)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def _upgrade(self) -> None:
        with self.engine.begin() as c:
            schema_version.create(c, checkfirst=True)
            version = c.execute(select(schema_version.c.version)).scalar()
            if version is None:
                c.execute(insert(schema_version).values(version=0))
                version = 0
            if version > VERSION:
                raise FeedbackUnavailable(
                    f"The feedback database {self.location} was written by a newer Atelier (schema version "
                    f"{version}; this one knows up to {VERSION}); update Atelier or give another database."
                )
            for step in range(version, VERSION):
                UPGRADES[step](c)
                c.execute(update(schema_version).values(version=step + 1))

    def version(self) -> int:
        with self.engine.connect() as c:
            return int(c.execute(select(schema_version.c.version)).scalar_one())

    def remember(self, made: list[Made]) -> list[str]:
        """Records pictures Atelier wrote (a picture already known keeps its first record); their ids."""
        rows = {m.id: m for m in made}
        now = _now()
        for attempt in range(2):  # another process may record the same picture at the same moment
            try:
                with self.engine.begin() as c:
                    known = set(c.execute(select(pictures.c.id).where(pictures.c.id.in_(rows))).scalars())
                    new = [_picture_row(i, m, now) for i, m in rows.items() if i not in known]
                    if new:
                        c.execute(insert(pictures), new)
                break
            except IntegrityError:
                if attempt:
                    raise
        if time.monotonic() - self._pruned_at > PRUNE_EVERY_SECONDS:
            self.prune()
        return [m.id for m in made]

    def remember_files(self, paths: list[str], parameters: list[dict], receipts: list | None = None) -> None:
        """Records the PNG files Atelier just wrote. A database that fails here is logged, never fatal: the
        pictures are still served (they cannot be rated)."""
        try:
            made = [
                _made(Path(p).read_bytes(), params, receipts[i] if receipts else None)
                for i, (p, params) in enumerate(zip(paths, parameters))
            ]
            self.remember(made)
        except (OSError, SQLAlchemyError) as e:
            log.warning("pictures not recorded for rating: %s", type(e).__name__)

    def picture(self, picture_id: str) -> dict | None:
        """The record of a picture Atelier made (without its bytes), or None."""
        columns = [c for c in pictures.c if c.name != "png"]
        with self.engine.connect() as c:
            row = c.execute(select(*columns).where(pictures.c.id == picture_id)).mappings().first()
        return dict(row) if row else None

    def rate(self, picture_id: str, rating: str, note: str, wrong: list[str], user: str | None) -> str:
        """Stores (or replaces) the rating of a known picture; committed when this returns."""
        values = dict(rating=rating, note=note, wrong=wrong, user=user, rated_at=_now())
        for attempt in range(2):  # two raters of one new picture at once: the second one updates
            try:
                with self.engine.begin() as c:
                    changed = c.execute(update(ratings).where(ratings.c.picture_id == picture_id).values(**values))
                    if not changed.rowcount:
                        c.execute(insert(ratings).values(picture_id=picture_id, **values))
                return picture_id
            except IntegrityError:
                if attempt or self.picture(picture_id) is None:
                    raise
        return picture_id

    def rated(self) -> list[Rated]:
        """Every rating with its picture's record, oldest first."""
        columns = [c for c in pictures.c if c.name not in ("png", "id", "made_at")]
        query = select(ratings, *columns).join(pictures, pictures.c.id == ratings.c.picture_id)
        with self.engine.connect() as c:
            rows = c.execute(query.order_by(ratings.c.rated_at, ratings.c.picture_id)).mappings().all()
        return [Rated(**dict(row)) for row in rows]

    def pictures_rated(self, rating: str | None = None) -> Iterator[tuple[Rated, bytes]]:
        """(rating, PNG bytes) of every rated picture, or of those rated `rating`, oldest first."""
        for rated in self.rated():
            if rating is None or rated.rating == rating:
                with self.engine.connect() as c:
                    png = c.execute(select(pictures.c.png).where(pictures.c.id == rated.picture_id)).scalar_one()
                yield rated, png

    def count(self) -> int:
        with self.engine.connect() as c:
            return int(c.execute(select(func.count()).select_from(ratings)).scalar_one())

    def prune(self) -> int:
        """Forgets pictures nobody rated within KEEP_UNRATED; how many."""
        with self._prune_lock:
            self._pruned_at = time.monotonic()
            rated = select(ratings.c.picture_id)
            old = (pictures.c.made_at < _now() - KEEP_UNRATED) & pictures.c.id.not_in(rated)
            with self.engine.begin() as c:
                return c.execute(delete(pictures).where(old)).rowcount

    def close(self) -> None:
        self.engine.dispose()


def _now() -> datetime:
    return datetime.now(UTC)


def _made(png: bytes, params: dict, receipt: list[dict] | None) -> Made:
    prompt = str(params.get("prompt") or "")
    model = params.get("model")
    return Made(
        png, str(params.get("request") or prompt), prompt, model if isinstance(model, str) else None, params, receipt
    )


def _picture_row(picture_id: str, made: Made, now: datetime) -> dict:
    return dict(
        id=picture_id,
        made_at=now,
        png=made.png,
        request=made.request,
        prompt=made.prompt,
        model=made.model,
        settings=made.settings,
        receipt=made.receipt,
    )


def _engine(url: str, synchronous: str) -> Engine:
    try:
        parsed = make_url(url)
        if parsed.get_backend_name() != "sqlite":
            return create_engine(parsed, pool_pre_ping=True)
    except (ArgumentError, NoSuchModuleError, ImportError, ValueError):
        raise FeedbackUnavailable(
            "--feedback-db takes a SQLAlchemy URL such as sqlite:////home/me/feedback.db or "
            "postgresql+psycopg://user@host/atelier (with its driver installed)."
        ) from None
    if parsed.database and parsed.database != ":memory:":
        try:
            Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise FeedbackUnavailable(
                f"The folder for the feedback database {parsed.database} cannot be made ({e.strerror})."
            ) from None
    engine = create_engine(parsed, connect_args={"timeout": 30})
    event.listen(engine, "connect", lambda connection, _: _sqlite_settings(connection, synchronous))
    # BEGIN IMMEDIATE: a transaction takes the write lock at its start, so writers queue (busy timeout)
    # instead of failing when a read turns into a write
    event.listen(engine, "begin", lambda connection: connection.exec_driver_sql("BEGIN IMMEDIATE"))
    return engine


def _sqlite_settings(dbapi_connection, synchronous: str) -> None:
    dbapi_connection.isolation_level = None  # SQLAlchemy's "begin" event says BEGIN, not pysqlite
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA synchronous={'NORMAL' if synchronous == 'NORMAL' else 'FULL'}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _reason(error: SQLAlchemyError) -> str:
    """The database's own short reason (e.g. 'file is not a database'), without the SQL."""
    original = getattr(error, "orig", None)
    return str(original or type(error).__name__).splitlines()[0][:200]
