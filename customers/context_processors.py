from django.http import HttpRequest

from core import access


def roles(request: HttpRequest) -> dict:
    """What the pages may offer: ``may.EDIT_LEDGER`` and the like (core/access.py, the
    only answer to "may this user do X"), and the user's ``roles``, which pick the
    workplace links of the menu (a sales rep's "My clients")."""
    user = getattr(request, "user", None)
    if user is None:
        return {}
    return {"may": access.Permissions(user), "roles": access.roles(user)}
