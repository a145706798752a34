from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ApiConfig(AppConfig):
    """The versioned JSON API (/api/v1/, django-ninja): the same services and the same
    visibility as the pages, for invoicing and accounting software."""

    name = "api"
    verbose_name = _("API")
