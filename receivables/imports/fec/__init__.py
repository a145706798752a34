"""The FEC import: reading the file (``reading``), importing its customer accounts
(``importer``) and turning its lettering into allocations (``lettering``)."""

from receivables.imports.fec.importer import FecImporter, FecPlan, FecRow
from receivables.imports.fec.reading import is_sales_journal, line_key, parse_fec_date, read_fec

__all__ = [
    "FecImporter",
    "FecPlan",
    "FecRow",
    "is_sales_journal",
    "line_key",
    "parse_fec_date",
    "read_fec",
]
