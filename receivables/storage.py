"""Where files that no URL serves are kept."""

from __future__ import annotations

import os

from django.conf import settings
from django.core.files.storage import FileSystemStorage


class PrivateStorage(FileSystemStorage):
    """Files no URL serves (``settings.PRIVATE_STORAGE_ROOT``, outside ``MEDIA_ROOT``):
    imported files are read back only through a view that checks the user's rights.
    The location is read from the settings on each use, so tests can move it."""

    def __init__(self) -> None:
        super().__init__(base_url=None)

    @property
    def base_location(self) -> str:
        return str(settings.PRIVATE_STORAGE_ROOT)

    @property
    def location(self) -> str:
        return os.path.abspath(self.base_location)

    def url(self, name: str | None) -> str:
        raise ValueError("Private files have no URL; serve them through a view.")
