"""File imports (invoices, payments) shared machinery.

An import is read, then validated as a whole (every error of every row is collected
with its line number), and only written, in one transaction, when the whole file is
clean: a finance team fixes the file once instead of discovering errors one by one, and
a bad file never leaves half an import behind.
"""

from receivables.imports.errors import ImportFileError, RowError
from receivables.imports.reader import Table, read_table

__all__ = ["ImportFileError", "RowError", "Table", "read_table"]
