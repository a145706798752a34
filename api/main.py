"""The API object: routes, authentication, errors as problem documents, the OpenAPI
document (``/api/v1/openapi.json``) and its interactive page (``/api/v1/docs``, Swagger
UI from the static files django-ninja ships: no CDN)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import NinjaAPI
from ninja.openapi.docs import Swagger

from api import problems
from api.pagination import BadCursor
from api.routes import followup, ledger

api = NinjaAPI(
    title="Relance API",
    version="1",
    description=(
        "The ledger of Relance (customers, invoices with their installment plans, credit "
        "notes, payments, the aged balance, disputes, promises, activities, reminders, "
        "imports) for invoicing and accounting software. Authenticate with a personal "
        "token from your preferences page: `Authorization: Bearer <token>`. Lists are "
        "paginated with an opaque `cursor` (`next_cursor` of the page before). Every "
        "POST takes an `Idempotency-Key` header. Errors are RFC 9457 problem documents."
    ),
    urls_namespace="api",
    docs=Swagger(settings={"persistAuthorization": False}),
    docs_url="/docs",
    openapi_url="/openapi.json",
)
problems.install(api)


@api.exception_handler(BadCursor)
def _bad_cursor(request: HttpRequest, exc: BadCursor) -> HttpResponse:
    return problems.validation_problem(
        [problems.field_error("cursor", _("This cursor was not given by this list."))]
    )


api.add_router("", ledger.router)
api.add_router("", followup.router)
