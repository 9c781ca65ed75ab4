"""GET routes: read, render, answer, through the cache."""

from __future__ import annotations

from starlette.requests import Request
from starlette.routing import Route

from app.cache import cached
from app.tickets import actions, views


@cached()
async def home(request: Request) -> str:
    return await views.home_page(request)


@cached()
async def tickets(request: Request) -> str:
    return await views.tickets_page(request)


@cached()
async def ticket(request: Request) -> str:
    return await views.ticket_page(request, request.path_params["ticket_id"])


# The sources of live fragments: what a page re-fetches when their tags move.


@cached()
async def counts_source(request: Request) -> str:
    return str(await views.counts(request))


@cached()
async def list_source(request: Request) -> str:
    return str(await views.ticket_list(request))


@cached()
async def ticket_source(request: Request) -> str:
    return await views.ticket_source(request, request.path_params["ticket_id"])


@cached()
async def legend_source(request: Request) -> str:
    return str(await views.legend())


routes = [
    Route("/", home, methods=["GET"], name="home"),
    Route("/tickets", tickets, methods=["GET"], name="tickets"),
    Route("/tickets", actions.create_ticket, methods=["POST"], name="ticket_create"),
    Route("/tickets/{ticket_id}", ticket, methods=["GET"], name="ticket"),
    Route(
        "/tickets/{ticket_id}/update",
        actions.update_ticket,
        methods=["POST"],
        name="ticket_update",
    ),
    Route(
        "/tickets/{ticket_id}/delete",
        actions.delete_ticket,
        methods=["POST"],
        name="ticket_delete",
    ),
    Route("/fragments/counts", counts_source, methods=["GET"], name="counts_source"),
    Route("/fragments/tickets", list_source, methods=["GET"], name="list_source"),
    Route("/fragments/tickets/{ticket_id}", ticket_source, methods=["GET"], name="ticket_source"),
    Route("/fragments/status-legend", legend_source, methods=["GET"], name="legend_source"),
]
