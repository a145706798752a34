from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PortalConfig(AppConfig):
    """The customer's own page: no login, reached by a signed link (customers/portal_links.py).
    It sits beside workplaces and never imports it."""

    name = "portal"
    verbose_name = _("Customer's page")
