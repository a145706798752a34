"""The import page's runs: recognising an uploaded file (``files``), driving the
importers from it (``kinds``) and the services recording each run (``services``)."""

from receivables.imports.runs.files import TABLE_KINDS, expected_columns
from receivables.imports.runs.services import (
    import_run_commit,
    import_run_confirm,
    import_run_create,
    import_run_map,
    import_run_preview,
    import_run_request_commit,
    is_large,
    is_spreadsheet,
    previous_import,
)

__all__ = [
    "TABLE_KINDS",
    "expected_columns",
    "import_run_commit",
    "import_run_confirm",
    "import_run_create",
    "import_run_map",
    "import_run_preview",
    "import_run_request_commit",
    "is_large",
    "is_spreadsheet",
    "previous_import",
]
