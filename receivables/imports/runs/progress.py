"""The progress of a large import, told to the page while the import's own transaction is
still open: counts go to :class:`ImportProgress` through a database connection of their
own (autocommit), at most every ``INTERVAL`` seconds.

Only on PostgreSQL: SQLite has one writer at a time, and the import holds it until it
commits, so there the bar moves by stage only."""

from __future__ import annotations

import logging
import time

from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
from django.db.backends.base.base import BaseDatabaseWrapper

from receivables.models import ImportProgress

logger = logging.getLogger(__name__)
INTERVAL = 0.5  # seconds between two writes
UPSERT = (
    "INSERT INTO receivables_importprogress (run_id, done, updated_at) VALUES (%s, %s, now()) "
    "ON CONFLICT (run_id) DO UPDATE SET done = EXCLUDED.done, updated_at = now()"
)
DELETE = "DELETE FROM receivables_importprogress WHERE run_id = %s"


class ProgressReporter:
    """Call it with the number of rows written; ``close()`` when the import ends."""

    def __init__(self, run_id: int, *, interval: float = INTERVAL) -> None:
        self.run_id = run_id
        self.interval = interval
        self._last = 0.0
        self._connection: BaseDatabaseWrapper | None = None
        self.enabled = connections[DEFAULT_DB_ALIAS].vendor == "postgresql"

    def __call__(self, done: int) -> None:
        now = time.monotonic()
        if not self.enabled or now - self._last < self.interval:
            return
        self._last = now
        try:
            if self._connection is None:
                self._connection = connections.create_connection(DEFAULT_DB_ALIAS)
            connection = self._connection
            with connection.cursor() as cursor:
                cursor.execute(UPSERT, [self.run_id, done])
        except DatabaseError:  # a progress bar is never worth failing an import
            logger.warning("Progress of import run %s not recorded", self.run_id, exc_info=True)
            self.enabled = False

    def close(self) -> None:
        """The import has ended: its progress row goes (on the same connection, so the
        removal is committed whatever becomes of the import's transaction)."""
        if self._connection is None:
            return
        try:
            with self._connection.cursor() as cursor:
                cursor.execute(DELETE, [self.run_id])
        except DatabaseError:
            logger.warning("Progress of import run %s not removed", self.run_id, exc_info=True)
        finally:
            self._connection.close()
            self._connection = None


def rows_written(run_id: int) -> int | None:
    """What the task writing run ``run_id`` last reported, if anything."""
    return ImportProgress.objects.filter(run_id=run_id).values_list("done", flat=True).first()
