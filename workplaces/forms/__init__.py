"""The workplaces' forms: the list filters (filters.py), the bank matching queue's actions
(bank.py), the import page's upload and column mapping (imports.py)."""

from workplaces.forms.filters import CustomerFilterForm, SalesFilterForm

__all__ = ["CustomerFilterForm", "SalesFilterForm"]
