"""django-q2 tasks for formal-notice letters: adapters taking ids, calling services.

Approving a letter queues :func:`render_approved_letter` after commit
(``reminders.letters.workflow.letter_approve``). How many letters render at once is bounded by the
cluster's worker count (``Q_WORKERS``): each worker process renders one letter at a time
with its own shared FontConfiguration (core/pdf.py).
"""

from __future__ import annotations

import logging

from core.audit import audited_task
from reminders.letters.workflow import letter_store_pdf

logger = logging.getLogger(__name__)


@audited_task
def render_approved_letter(reminder_id: int) -> str | None:
    """Render and store an approved letter's PDF, once. Returns the file's SHA-256, or
    None when it was already stored or the letter was cancelled meanwhile; an error
    propagates so that django-q2 records the failure and retries."""
    digest = letter_store_pdf(reminder_id=reminder_id)
    if digest:
        logger.info("Letter %s stored, SHA-256 %s", reminder_id, digest)
    return digest
