"""The permission matrix's world (one row of every kind, for each person), shared."""

from tests.test_permission_matrix import no_pdf_rendering, world  # noqa: F401
