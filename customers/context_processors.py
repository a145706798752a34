from django.http import HttpRequest

from core import access


def roles(request: HttpRequest) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {
        "is_finance": access.is_finance(user),
        "is_manager": access.is_manager(user),
        "is_sales": access.is_sales(user),
        "can_edit_ledger": access.can_edit_ledger(user),
        "can_export": access.can_export(user),
    }
