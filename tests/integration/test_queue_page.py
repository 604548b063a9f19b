"""The retention queue in a real headless Chromium, against a real broker, Redis and worker.

A small simulated population runs through a worker; the test signs in with the token,
checks a day's ranking and a filter against the alerts topic, opens a customer's page with
its chart, records outcomes (in the page, and by a script with the bearer token), and finds
them in ``churnwatch scores export``. Requests without the token are refused.
"""

from __future__ import annotations

import asyncio
import csv
import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import redis.asyncio as aioredis
from playwright.sync_api import Browser, Page, expect

from policy.suppression import SuppressionReason
from schemas.outputs import Alert
from sim.simulate import simulate
from store.queue import QUEUE_DAYS_KEPT
from store.suppressions import SuppressionStore
from tests.fixtures.browser import run_elsewhere
from tests.fixtures.pipeline import (
    PipelineRun,
    RunTopics,
    WorkerProcess,
    create_topics,
    event_records,
    produce,
    read_topic,
)
from tests.fixtures.scenario import ALERTING_POLICY, wait_finished

pytestmark = pytest.mark.integration

TOKEN = "queue-test-token-" + "x" * 24
CUSTOMERS, DAYS, SEED = 200, 30, 5
SCREENSHOT_DIR_VARIABLE = "CHURNWATCH_SCREENSHOT_DIR"  # where to keep the screenshots (default: tmp)


def day_queue(alerts: list[Alert], day: str) -> list[Alert]:
    """What the page must show for a day: each customer's latest alert of it, by priority."""
    latest: dict[str, Alert] = {}
    for alert in alerts:
        if alert.event_time.date().isoformat() == day:
            held = latest.get(alert.customer_id)
            if held is None or alert.event_time >= held.event_time:
                latest[alert.customer_id] = alert
    return sorted(latest.values(), key=lambda alert: (-alert.priority, alert.customer_id))


def status_of(url: str, headers: dict[str, str] | None = None, body: bytes | None = None) -> int:
    request = urllib.request.Request(url, data=body, headers=headers or {}, method="POST" if body else "GET")
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


def shown_customers(page: Page) -> list[str]:
    return [str(row.get_attribute("data-customer")) for row in page.locator("#queue tbody tr").all()]


@pytest.fixture
def worker_run(
    kafka_bootstrap: str, redis_url: str, tmp_path: Path
) -> Iterator[tuple[PipelineRun, WorkerProcess]]:
    tag = f"queue-{uuid.uuid4().hex[:6]}"
    run = PipelineRun(
        kafka_bootstrap=kafka_bootstrap,
        redis_url=redis_url,
        inputs=RunTopics(tag),
        outputs=RunTopics(tag),
        group=f"cw-{tag}",
        key_prefix=f"k{uuid.uuid4().hex[:8]}",
        work_dir=tmp_path,
        extra_env={**ALERTING_POLICY, "CHURNWATCH_WEB_TOKEN": TOKEN},
    )
    asyncio.run(create_topics(kafka_bootstrap, run.inputs))
    events = list(simulate(CUSTOMERS, DAYS, seed=SEED, start=datetime(2026, 3, 2, tzinfo=UTC)))
    ends = asyncio.run(produce(kafka_bootstrap, event_records(run.inputs, events)))
    worker = run.start_worker("worker")
    try:
        wait_finished(ends, kafka_bootstrap, run, [worker])
        yield run, worker
    finally:
        worker.stop()


class TestQueuePageInABrowser:
    def test_ranked_queue_filter_customer_chart_and_outcomes_reach_the_export(
        self, worker_run: tuple[PipelineRun, WorkerProcess], browser: Browser, tmp_path: Path
    ) -> None:
        """Refused without the token; signed in, the busiest day's rows follow the alerts' priority,
        the zone filter keeps only that zone, a customer's page charts its scores, and outcomes
        recorded in the page and by a script appear in the export ("do not contact" suppresses)."""
        run, worker = worker_run
        base = f"http://127.0.0.1:{worker.web_port}"
        alerts = [
            Alert.model_validate_json(value)
            for *_, value in run_elsewhere(read_topic(run.kafka_bootstrap, run.outputs.alerts))
        ]
        # the page keeps the last QUEUE_DAYS_KEPT event-time days: the busiest of those
        last_day = max(alert.event_time for alert in alerts).date()
        kept_from = (last_day - timedelta(days=QUEUE_DAYS_KEPT - 1)).isoformat()
        by_day = Counter(day for alert in alerts if (day := alert.event_time.date().isoformat()) >= kept_from)
        busiest = max(sorted(by_day), key=lambda day: by_day[day])
        expected = day_queue(alerts, busiest)
        assert len(expected) >= 3, by_day

        assert status_of(f"{base}/queue") == 401
        assert status_of(f"{base}/queue", {"Authorization": "Bearer wrong"}) == 401
        assert status_of(f"{base}/queue/customer?id={expected[0].customer_id}") == 401
        assert status_of(f"{base}/queue/outcome", body=b"{}") == 401

        context = browser.new_context(viewport={"width": 1400, "height": 900})
        page = context.new_page()
        response = page.goto(f"{base}/queue")
        assert response is not None
        assert response.status == 401
        page.fill("input[name=token]", TOKEN)
        page.click("button[type=submit]")
        expect(page.locator("#queue-day")).to_be_visible()
        last_event_day = max(alert.event_time for alert in alerts).date().isoformat()
        assert page.locator("#queue-day").inner_text() >= last_event_day  # "today" is event time

        page.goto(f"{base}/queue?day={busiest}")
        assert shown_customers(page) == [alert.customer_id for alert in expected]
        first_row = page.locator("#queue tbody tr").first
        assert expected[0].recommended_action.text in first_row.inner_text()
        shots = Path(os.environ.get(SCREENSHOT_DIR_VARIABLE) or tmp_path)
        page.screenshot(path=str(shots / "retention-queue.png"))

        zone = expected[0].zone.value
        page.select_option("select[name=zone]", zone)  # the page applies a filter on change
        page.wait_for_url(f"**zone={zone}**")
        assert shown_customers(page) == [a.customer_id for a in expected if a.zone.value == zone]

        reached, stopped = expected[0].customer_id, expected[1].customer_id
        page.locator(f'#queue tbody tr[data-customer="{reached}"] a').first.click()
        expect(page.locator("#customer-id")).to_have_text(reached)
        expect(page.locator("#score-chart")).to_be_visible()
        assert page.locator("#score-chart circle").count() >= 1
        assert page.locator("#alerts tbody tr").count() == sum(a.customer_id == reached for a in alerts)

        refused = page.request.post(
            f"{base}/queue/outcome",
            data=json.dumps({"customer_id": reached, "outcome": "declined"}),
            headers={"Content-Type": "application/json"},
        )
        assert refused.status == 403  # the session cookie alone, without the page's CSRF value

        page.fill("#outcome-form input[name=note]", "took the bundle")
        page.click('button[data-outcome="offer_accepted"]')
        expect(page.locator("#outcomes")).to_contain_text("offer accepted")
        expect(page.locator("#outcomes")).to_contain_text("took the bundle")
        page.screenshot(path=str(shots / "retention-customer.png"), full_page=True)
        context.close()

        scripted = json.dumps({"customer_id": stopped, "outcome": "do_not_contact"}).encode()
        headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
        assert status_of(f"{base}/queue/outcome", headers, scripted) == 200
        assert worker.metrics()["churnwatch_contact_outcomes_total"] == 2.0

        async def suppressed() -> dict[str, SuppressionReason]:
            client = aioredis.Redis.from_url(run.redis_url)
            try:
                return await SuppressionStore(client, run.key_prefix).reasons([reached, stopped])
            finally:
                await client.aclose()

        assert run_elsewhere(suppressed()) == {stopped: SuppressionReason.DO_NOT_CONTACT}

        rows = export(run, tmp_path / "risk.csv")
        assert (rows[reached]["outcome"], rows[reached]["outcome_alert_id"]) == (
            "offer_accepted",
            alerts_of(alerts, reached)[-1].alert_id,
        )
        assert rows[reached]["outcome_at"]
        assert (rows[stopped]["outcome"], rows[stopped]["suppressed"]) == ("do_not_contact", "do_not_contact")


def alerts_of(alerts: list[Alert], customer_id: str) -> list[Alert]:
    return sorted((a for a in alerts if a.customer_id == customer_id), key=lambda a: a.event_time)


def export(run: PipelineRun, out: Path) -> dict[str, dict[str, str]]:
    """``churnwatch scores export`` against the run's topics and Redis, by customer."""
    env = run.env(0, "export")
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[2])
    result = subprocess.run(
        [sys.executable, "-c", "from cli.main import main; main()", "scores", "export", "--out", str(out)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    with out.open(newline="") as handle:
        return {row["customer_id"]: row for row in csv.DictReader(handle)}


class TestWorkerRefusesAnOpenQueue:
    def test_a_worker_listening_beyond_loopback_without_a_token_exits_with_one_line(
        self, kafka_bootstrap: str, redis_url: str, tmp_path: Path
    ) -> None:
        """Exit code 2 and one message naming the setting (echoed and logged, as other refusals),
        before anything is started."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("CHURNWATCH_")}
        env.update(
            CHURNWATCH_KAFKA_BOOTSTRAP=kafka_bootstrap,
            CHURNWATCH_REDIS_URL=redis_url,
            CHURNWATCH_WORKER__WEB_BIND="0.0.0.0",
            CHURNWATCH_WORKER__DATA_DIR=str(tmp_path / "data"),
            PYTHONPATH=str(Path(__file__).resolve().parents[2]),
        )
        result = subprocess.run(
            [sys.executable, "-c", "from cli.main import main; main()", "worker"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 2
        assert set(result.stderr.strip().splitlines()) == {
            "the web server listens on 0.0.0.0 without CHURNWATCH_WEB_TOKEN: set a token for the "
            "retention queue page, or CHURNWATCH_WORKER__WEB_BIND=127.0.0.1"
        }
