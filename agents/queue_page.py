"""The retention queue in a browser, on the worker's web server: thin views over ``web``.

``/queue`` (today's alerts, ranked and filtered), ``/queue/customer?id=`` (score history and
alerts), ``POST /queue/outcome`` (record a contact's outcome), ``/queue/login`` and the two
assets. Access rules are in ``web.access``; every read comes from Redis (``store.queue``),
never from the topics.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import datetime
from importlib import resources
from typing import Any

import faust
from faust.web import Request, Response, View

from policy.config import PolicyConfig
from policy.contact_outcomes import RecordedOutcome, suppression_for
from schemas.errors import StorageUnavailableError
from store.client import RedisClient
from store.contact_outcomes import ContactOutcomeStore
from store.progress import ProgressStore
from store.queue import QueueStore
from store.suppressions import SuppressionStore
from streams.metrics import PipelineMetrics
from web.access import CSRF_HEADER, SESSION_COOKIE, Credentials, QueueAccess, Verdict
from web.errors import OutcomeRequestError
from web.outcome_request import parse_outcome_request
from web.queue_view import (
    QueueFilter,
    event_time_day,
    parse_day,
    render_customer,
    render_login,
    render_queue,
)

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
ASSET_TYPES = {"queue.css": "text/css", "queue.js": "text/javascript"}  # both files are ASCII
MAX_BODY_BYTES = 4096


def _asset(name: str) -> bytes:
    return resources.files("web").joinpath("assets", name).read_bytes()


def _credentials(request: Request, with_csrf: bool = False) -> Credentials:
    return Credentials(
        authorization=request.headers.get("Authorization"),
        cookie=request.cookies.get(SESSION_COOKIE),
        host=request.headers.get("Host", ""),
        csrf=request.headers.get(CSRF_HEADER) if with_csrf else None,
    )


def register_queue_page(
    app: faust.App,
    access: QueueAccess,
    redis: RedisClient,
    key_prefix: str,
    consumer_group: str,
    partitions: int,
    policy: PolicyConfig,
    metrics: PipelineMetrics,
    clock: Callable[[], datetime],
) -> None:
    """Add the queue's views to the worker's web server."""
    queue = QueueStore(redis, key_prefix, consumer_group)
    progress = ProgressStore(redis, key_prefix, consumer_group)
    outcomes = ContactOutcomeStore(redis, key_prefix)
    suppressions = SuppressionStore(redis, key_prefix)
    groups = range(partitions)
    assets = {name: _asset(name) for name in ASSET_TYPES}

    def refused(view: View, verdict: Verdict) -> Response:
        metrics.queue_page_refused.labels(verdict.value).inc()
        if verdict is Verdict.NOT_LOOPBACK:
            return view.text("the queue page without a token answers loopback host names only", status=403)
        status = 403 if verdict is Verdict.NO_CSRF else 401
        return view.html(render_login(), status=status, headers=SECURITY_HEADERS)

    def unavailable(view: View, error: StorageUnavailableError) -> Response:
        return view.text(f"Redis is not answering: {error}", status=503, headers=SECURITY_HEADERS)

    @app.page("/queue")
    class QueuePage(View):
        """Today's (or ``?day=``'s) alerts, highest priority first, filtered by zone, tier, reason."""

        async def get(self, request: Request) -> Response:
            verdict = access.read(_credentials(request))
            if verdict is not Verdict.ALLOWED:
                return refused(self, verdict)
            query = dict(request.query)
            try:
                day = parse_day(query.get("day"))
                if day is None:
                    day = event_time_day(await progress.event_time_reached(groups))
                alerts = [] if day is None else await queue.day_alerts(groups, day)
                customer_ids = sorted({alert.customer_id for alert in alerts})
                recorded = await outcomes.latest(customer_ids)
                held = await suppressions.reasons(customer_ids)
            except StorageUnavailableError as error:
                return unavailable(self, error)
            page = render_queue(day, alerts, QueueFilter.from_query(query), recorded, held)
            return self.html(page, headers=SECURITY_HEADERS)

    @app.page("/queue/customer")
    class CustomerPage(View):
        """One customer's score history, alerts and recorded outcomes; the outcome buttons."""

        async def get(self, request: Request) -> Response:
            verdict = access.read(_credentials(request))
            if verdict is not Verdict.ALLOWED:
                return refused(self, verdict)
            customer_id = request.query.get("id", "")
            try:
                points, alerts = await queue.customer(customer_id) if customer_id else ([], [])
                if not points and not alerts:
                    return self.text("no such customer in the kept history", status=404)
                recent = await outcomes.recent(customer_id)
                held = (await suppressions.reasons([customer_id])).get(customer_id)
            except StorageUnavailableError as error:
                return unavailable(self, error)
            page = render_customer(
                customer_id,
                points,
                alerts,
                recent,
                held,
                access.csrf_value,
                policy.yellow_min_score,
                policy.red_min_score,
            )
            return self.html(page, headers=SECURITY_HEADERS)

    @app.page("/queue/outcome")
    class OutcomePage(View):
        """Record a contact's outcome; "do not contact" also suppresses the customer's alerts."""

        async def post(self, request: Request) -> Response:
            verdict = access.write(_credentials(request, with_csrf=True))
            if verdict is not Verdict.ALLOWED:
                return refused(self, verdict)
            body = await request.read()  # aiohttp caps bodies at 1 MiB
            try:
                if len(body) > MAX_BODY_BYTES:
                    raise OutcomeRequestError(
                        "body", f"{len(body)} bytes", f"must be at most {MAX_BODY_BYTES}"
                    )
                try:
                    decoded: Any = json.loads(body)
                except ValueError as error:
                    raise OutcomeRequestError("body", body[:40], "must be JSON") from error
                recorded = parse_outcome_request(decoded, clock())
            except OutcomeRequestError as error:
                return self.json({"error": str(error)}, status=400)
            try:
                points, alerts = await queue.customer(recorded.customer_id)
                if not points and not alerts:
                    return self.json({"error": "no such customer in the kept history"}, status=404)
                await _record(recorded)
            except StorageUnavailableError as error:
                return unavailable(self, error)
            metrics.contact_outcomes.labels(recorded.outcome.value).inc()
            return self.json({"recorded": recorded.outcome.value, "at": recorded.recorded_at.isoformat()})

    async def _record(recorded: RecordedOutcome) -> None:
        suppression = suppression_for(recorded)
        await asyncio.gather(
            outcomes.record(recorded),
            *([suppressions.add(suppression)] if suppression is not None else []),
        )

    @app.page("/queue/login")
    class LoginPage(View):
        """The token once, a session cookie after (``web.access``)."""

        async def get(self, request: Request) -> Response:
            return self.html(render_login(), headers=SECURITY_HEADERS)

        async def post(self, request: Request) -> Response:
            form = await request.post()
            submitted = form.get("token", "")
            if not isinstance(submitted, str) or not access.token_matches(submitted):
                metrics.queue_page_refused.labels(Verdict.WRONG_TOKEN.value).inc()
                return self.html(
                    render_login("That token is not right."), status=401, headers=SECURITY_HEADERS
                )
            headers = {
                **SECURITY_HEADERS,
                "Location": "/queue",
                "Set-Cookie": access.session_cookie(request.url.scheme == "https"),
            }
            return self.text("signed in", status=303, headers=headers)

    @app.page("/queue/assets/queue.css")
    class Stylesheet(View):
        async def get(self, request: Request) -> Response:
            return self.bytes(assets["queue.css"], content_type=ASSET_TYPES["queue.css"])

    @app.page("/queue/assets/queue.js")
    class Script(View):
        async def get(self, request: Request) -> Response:
            return self.bytes(assets["queue.js"], content_type=ASSET_TYPES["queue.js"])
