from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WorkplacesConfig(AppConfig):
    """The pages that combine the apps: the finance worklist, the sales rep's view, the
    customer page, the manager's reports and the demo data. Nothing imports it."""

    name = "workplaces"
    verbose_name = _("Workplaces")
