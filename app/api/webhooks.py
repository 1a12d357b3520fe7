"""/webhooks: live events POSTed to an integrator's URL, signed, retried, each attempt kept."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec
from litestar import Controller, delete, get, post
from litestar.params import JSONBody, Parameter
from litestar.status_codes import HTTP_201_CREATED, HTTP_204_NO_CONTENT
from msgspec import Meta

from app.api.access import ADMIN
from app.api.deps import ServicesDep, dependencies
from app.api.errors import error_responses
from app.db.webhook_models import Webhook, WebhookDelivery
from app.json_types import JsonObject


class WebhookBody(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    url: Annotated[str, Meta(description="http:// or https:// URL the events are POSTed to")]
    types: Annotated[list[str], Meta(
        description="Event types to send (see GET /events); empty: every type")] = []
    secret: Annotated[str, Meta(
        description="16 to 200 characters: the key of X-Chargeplan-Signature, "
        "sha256=<hex HMAC-SHA256 of the body>")]


class WebhookView(msgspec.Struct, kw_only=True):
    id: Annotated[int, Meta(description="The webhook's id")]
    url: Annotated[str, Meta(description="Where the events are POSTed")]
    types: Annotated[list[str], Meta(description="Event types sent; empty: every type")]
    enabled: Annotated[bool, Meta(description="Whether events are being sent")]
    created_at: Annotated[datetime, Meta(description="ISO 8601, UTC")]


class AttemptView(msgspec.Struct, kw_only=True):
    at: Annotated[str, Meta(description="When the attempt ended, ISO 8601, UTC")]
    status: Annotated[int | None, Meta(description="HTTP status; null when no answer")]
    error: Annotated[str | None, Meta(description="Why the attempt failed; null if it did not")]


class DeliveryView(msgspec.Struct, kw_only=True):
    id: Annotated[int, Meta(description="The delivery's id (X-Chargeplan-Delivery)")]
    event_id: Annotated[int, Meta(description="The event's id (as in GET /events)")]
    event_type: Annotated[str, Meta(description="The event's type")]
    state: Annotated[str, Meta(description="pending (being tried), delivered, or failed "
                                           "(every attempt failed)")]
    attempts: Annotated[int, Meta(description="POSTs made so far")]
    last_status: Annotated[int | None, Meta(description="HTTP status of the last attempt")]
    last_error: Annotated[str | None, Meta(description="Why the last attempt failed")]
    attempt_log: Annotated[list[AttemptView], Meta(description="Every attempt, oldest first")]
    created_at: Annotated[datetime, Meta(description="When the event was taken, UTC")]
    next_attempt_at: Annotated[datetime | None, Meta(
        description="When the next attempt is due; null when done")]
    delivered_at: Annotated[datetime | None, Meta(
        description="When the receiver accepted it; null until then")]
    body: Annotated[JsonObject, Meta(description="The event exactly as POSTed")]


def webhook_view(hook: Webhook) -> WebhookView:
    return WebhookView(id=hook.id, url=hook.url, types=list(hook.types), enabled=hook.enabled,
                       created_at=hook.created_at)


def delivery_view(row: WebhookDelivery) -> DeliveryView:
    return DeliveryView(
        id=row.id, event_id=row.event_id, event_type=row.event_type, state=row.state,
        attempts=row.attempts, last_status=row.last_status, last_error=row.last_error,
        attempt_log=[AttemptView(at=a["at"], status=a.get("status"), error=a.get("error"))
                     for a in row.attempt_log],
        created_at=row.created_at, next_attempt_at=row.next_attempt_at,
        delivered_at=row.delivered_at, body=msgspec.json.decode(row.body))


WebhookId = Annotated[int, Parameter(ge=1, le=2**31 - 1, description="The webhook's id")]


class WebhookController(Controller):
    path = "/webhooks"
    tags = ["events"]
    dependencies = dependencies

    @post("/", opt=ADMIN, summary="Register a webhook", status_code=HTTP_201_CREATED,
          responses=error_responses())
    async def create(self, services: ServicesDep, data: JSONBody[WebhookBody]) -> WebhookView:
        return webhook_view(await services.webhooks.create(data.url, data.types, data.secret))

    @get("/", opt=ADMIN, summary="List webhooks (their secrets are never shown)")
    async def list_webhooks(self, services: ServicesDep) -> list[WebhookView]:
        return [webhook_view(h) for h in await services.webhooks.list_all()]

    @get("/{webhook_id:int}", opt=ADMIN, summary="One webhook", responses=error_responses(404))
    async def one(self, services: ServicesDep, webhook_id: WebhookId) -> WebhookView:
        return webhook_view(await services.webhooks.get(webhook_id))

    @delete("/{webhook_id:int}", opt=ADMIN, summary="Remove a webhook and its deliveries",
            status_code=HTTP_204_NO_CONTENT, responses=error_responses(404))
    async def remove(self, services: ServicesDep, webhook_id: WebhookId) -> None:
        await services.webhooks.delete(webhook_id)

    @get("/{webhook_id:int}/deliveries", opt=ADMIN, responses=error_responses(404),
         summary="Deliveries of a webhook, newest first, with every attempt")
    async def deliveries(
        self, services: ServicesDep, webhook_id: WebhookId,
        limit: Annotated[int, Parameter(ge=1, le=1000, description="How many")] = 100,
    ) -> list[DeliveryView]:
        return [delivery_view(r) for r in await services.webhooks.deliveries(webhook_id, limit)]
