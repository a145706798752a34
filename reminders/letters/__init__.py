"""Formal-notice letters ("mises en demeure"): what they say (context.py), the approval
workflow (workflow.py), the recovery file handed to collection (recovery.py), their pages
(views.py, urls.py, mounted at /letters/) and the rendering task (tasks.py).

The letter claims the customer's overdue invoices as of its date (not the disputed ones),
each with the late interest and the EUR 40 indemnity (receivables/interest.py), lists the
previous reminders sent, and gives the bank details.
"""
