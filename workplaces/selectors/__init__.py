"""Reads of the workplaces' pages: the customer list and page (customers.py), the
finance dashboard and the sales rep's view (dashboard.py)."""
