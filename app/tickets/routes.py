"""GET routes: read, render, answer, through the cache."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.routing import Route

from app.cache import cached
from app.tickets import actions, queries, views


@cached()
async def home(request: Request) -> str:
    return await views.home_page(request)


@cached()
async def ticket_list(request: Request) -> str:
    return await views.tickets_page(request)


@cached()
async def ticket_detail(request: Request) -> str:
    ticket_id = request.path_params["ticket_id"]
    async with views.database(request).session() as session:
        ticket = await queries.get_ticket(session, ticket_id)
    if ticket is None:
        raise HTTPException(404, "No ticket has this id; it may have been deleted.")
    return await views.ticket_page(request, ticket)


@cached()
async def counts(request: Request) -> str:
    return str(await views.counts_fragment(request))


@cached()
async def ticket_list_fragment(request: Request) -> str:
    return await views.list_fragment(request)


@cached()
async def ticket_fragment(request: Request) -> str:
    async with views.database(request).session() as session:
        ticket = await queries.get_ticket(session, request.path_params["ticket_id"])
    return await views.ticket_view(ticket)


@cached()
async def status_legend(request: Request) -> str:
    return str(await views.legend_fragment())


routes = [
    Route("/", home, methods=["GET"], name="home"),
    Route("/tickets", ticket_list, methods=["GET"], name="tickets"),
    Route("/tickets", actions.create_ticket, methods=["POST"], name="ticket_create"),
    Route("/tickets/{ticket_id}", ticket_detail, methods=["GET"], name="ticket"),
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
    Route("/fragments/counts", counts, methods=["GET"], name="counts_fragment"),
    Route("/fragments/tickets", ticket_list_fragment, methods=["GET"], name="list_fragment"),
    Route(
        "/fragments/tickets/{ticket_id}", ticket_fragment, methods=["GET"], name="ticket_fragment"
    ),
    Route("/fragments/status-legend", status_legend, methods=["GET"], name="legend_fragment"),
]
