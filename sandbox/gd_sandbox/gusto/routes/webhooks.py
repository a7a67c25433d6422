"""Webhook routes (system token): subscriptions, their verification, and `/v1/events`.

Creating a subscription (or asking for a new token) POSTs the verification token to its URL
before the call answers, as Gusto does; deliveries themselves are sent by `webhooks.Webhooks`
when the admin routes change data (see `routes.admin`)."""

from __future__ import annotations

import hmac
from urllib.parse import urlsplit

from gd_sandbox.gusto.http_types import HttpError, Response, parse_json_object
from gd_sandbox.gusto.routes.base import Ctx, RouteSpec, SandboxState
from gd_sandbox.gusto.webhooks import SUBSCRIPTION_TYPES, Subscription

SUBSCRIPTIONS = "/v1/webhook_subscriptions"


def hmac_equal(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


def _subscription_body(ctx: Ctx, *, require_url: bool) -> tuple[str | None, list[str] | None]:
    body = parse_json_object(ctx.req)
    url = body.get("url")
    if url is None and require_url:
        raise HttpError(422, "invalid_attribute_value", "url is required", "url")
    if url is not None and (
        not isinstance(url, str) or urlsplit(url).scheme not in ("http", "https")
    ):
        raise HttpError(422, "invalid_attribute_value", "url must be an http(s) URL", "url")
    types = body.get("subscription_types")
    if types is None and require_url:
        raise HttpError(
            422,
            "invalid_attribute_value",
            "subscription_types is required",
            "subscription_types",
        )
    if types is not None:
        if not isinstance(types, list) or not types:
            raise HttpError(
                422,
                "invalid_attribute_value",
                "subscription_types must be a non-empty list",
                "subscription_types",
            )
        bad = [t for t in types if t not in SUBSCRIPTION_TYPES]
        if bad:
            raise HttpError(
                422,
                "invalid_attribute_value",
                f"Unknown subscription_types {bad}; allowed: {', '.join(SUBSCRIPTION_TYPES)}",
                "subscription_types",
            )
    return url, types


class WebhookRoutes:
    def __init__(self, state: SandboxState) -> None:
        self.state = state

    def routes(self) -> list[RouteSpec]:
        one = SUBSCRIPTIONS + "/{sub_id}"
        return [
            RouteSpec("GET", SUBSCRIPTIONS, self.list_subscriptions, "system"),
            RouteSpec("POST", SUBSCRIPTIONS, self.create_subscription, "system"),
            RouteSpec("GET", one, self.get_subscription, "system"),
            RouteSpec("PUT", one, self.update_subscription, "system"),
            RouteSpec("DELETE", one, self.delete_subscription, "system"),
            RouteSpec("PUT", one + "/verify", self.verify_subscription, "system"),
            RouteSpec(
                "GET",
                one + "/request_verification_token",
                self.request_verification_token,
                "system",
            ),
            RouteSpec("GET", "/v1/events", self.list_events, "system"),
        ]

    def _subscription(self, ctx: Ctx) -> Subscription:
        sub = self.state.webhooks.subscriptions.get(ctx.params["sub_id"])
        if sub is None or sub.status == "removed":
            raise HttpError(
                404, "not_found", f"Webhook subscription {ctx.params['sub_id']} not found"
            )
        return sub

    def list_subscriptions(self, ctx: Ctx) -> Response:
        subs = self.state.webhooks.subscriptions.values()
        return Response.json(200, [s.public() for s in subs if s.status != "removed"])

    def create_subscription(self, ctx: Ctx) -> Response:
        url, types = _subscription_body(ctx, require_url=True)
        assert url is not None and types is not None
        # The verification token is POSTed to the URL before this call answers.
        sub, _ = self.state.webhooks.create(url, types)
        return Response.json(201, sub.public())

    def get_subscription(self, ctx: Ctx) -> Response:
        return Response.json(200, self._subscription(ctx).public())

    def update_subscription(self, ctx: Ctx) -> Response:
        sub = self._subscription(ctx)
        url, types = _subscription_body(ctx, require_url=False)
        if url is not None and url != sub.url:
            # A new URL must be verified again before deliveries go there.
            sub.url = url
            sub.status = "pending"
        if types is not None:
            sub.subscription_types = types
        return Response.json(200, sub.public())

    def delete_subscription(self, ctx: Ctx) -> Response:
        self._subscription(ctx).status = "removed"
        return Response(204)

    def verify_subscription(self, ctx: Ctx) -> Response:
        sub = self._subscription(ctx)
        token = parse_json_object(ctx.req).get("verification_token")
        if not isinstance(token, str) or not hmac_equal(token, sub.verification_token):
            raise HttpError(
                422,
                "invalid_attribute_value",
                "verification_token does not match the token sent to the subscription URL",
                "verification_token",
            )
        sub.status = "verified"
        return Response.json(200, sub.public())

    def request_verification_token(self, ctx: Ctx) -> Response:
        sub = self._subscription(ctx)
        self.state.webhooks.send_verification_token(sub)
        return Response(200)

    def list_events(self, ctx: Ctx) -> Response:
        """Gusto's events feed: a cursor (``starting_after_uuid``) and ``limit``, no pages."""
        webhooks = self.state.webhooks
        with webhooks.lock:
            events = list(webhooks.events)
        after = ctx.req.arg("starting_after_uuid")
        if after:
            index = next((i for i, e in enumerate(events) if e["uuid"] == after), None)
            events = events[index + 1 :] if index is not None else []
        event_type = ctx.req.arg("event_type")
        if event_type:
            if event_type.endswith("*"):
                events = [e for e in events if e["event_type"].startswith(event_type[:-1])]
            else:
                events = [e for e in events if e["event_type"] == event_type]
        resource = ctx.req.arg("resource_uuid")
        if resource:
            events = [e for e in events if e["resource_uuid"] == resource]
        raw_limit = ctx.req.arg("limit") or "25"
        if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= 100:
            raise HttpError(422, "invalid_attribute_value", "limit must be 1-100", "limit")
        if ctx.req.arg("sort_order") == "desc":
            events.reverse()
        return Response.json(200, events[: int(raw_limit)])
