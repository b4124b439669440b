"""Load test of the example through its frontend (nginx -> api replicas -> PostgreSQL).

Each simulated user, with a short pause between requests:
- reads the item list (GET /api/items, the database read path), most often;
- creates an item (POST /api/items, the write path);
- asks which replica answers (GET /api/whoami, no database).

Every response names its replica in the X-Served-By header (set by the API); this file counts
them, so the report can show how requests spread over the replicas. Bounded three ways: users
(-u), time (-t) and requests (--max-requests: the run stops after that many).  At the end,
--summary-file gets requests, failures, throughput, p50/p95/p99 and the count per replica, all
taken from the final statistics (Locust's --csv files may miss the last requests).

    locust -f loadtest/locustfile.py --headless -u 20 -r 10 -t 30s --host http://127.0.0.1:8080 \\
        --max-requests 20000 --summary-file summary.json

`python loadtest/run.py` runs it for api=1 and api=3 with `stack stats --record` beside it and
draws the report.
"""

from __future__ import annotations

import json
import uuid
from collections import Counter
from typing import Any

import gevent
from locust import HttpUser, between, events, task
from locust.env import Environment

SERVED_BY: Counter[str] = Counter()
NO_HEADER = "(no X-Served-By)"
NO_RESPONSE = "(no response)"
_stopping = False


@events.init_command_line_parser.add_listener
def _options(parser: Any) -> None:
    parser.add_argument(
        "--summary-file", default="", help="Write the totals and the count per X-Served-By header here (JSON)."
    )
    parser.add_argument("--max-requests", type=int, default=0, help="Stop after this many requests (0: no bound).")


@events.request.add_listener
def _count(response: Any = None, exception: BaseException | None = None, **_: Any) -> None:
    global _stopping
    # One count per request, as Locust's own: its replica, or why none can be named.
    if response is not None and getattr(response, "status_code", 0):
        SERVED_BY[response.headers.get("X-Served-By") or NO_HEADER] += 1
    else:
        SERVED_BY[NO_RESPONSE] += 1
    environment = _environment
    if environment is None or environment.parsed_options is None or _stopping:
        return
    bound = int(getattr(environment.parsed_options, "max_requests", None) or 0)
    if bound and environment.stats.total.num_requests >= bound and environment.runner is not None:
        _stopping = True
        gevent.spawn(environment.runner.quit)  # as -t does when the time is up


_environment: Environment | None = None


@events.init.add_listener
def _remember(environment: Environment, **_: Any) -> None:
    global _environment
    _environment = environment


@events.quitting.add_listener
def _write_summary(environment: Environment, **_: Any) -> None:
    path = getattr(environment.parsed_options, "summary_file", "") if environment.parsed_options else ""
    if not path:
        return
    total = environment.stats.total
    summary = {
        "requests": total.num_requests,
        "failures": total.num_failures,
        "rps": total.total_rps,
        "p50_ms": total.get_response_time_percentile(0.5),
        "p95_ms": total.get_response_time_percentile(0.95),
        "p99_ms": total.get_response_time_percentile(0.99),
        "seconds": (total.last_request_timestamp or total.start_time) - total.start_time,
        "served_by": dict(SERVED_BY.most_common()),
    }
    with open(path, "w", encoding="utf-8") as out:
        json.dump(summary, out, indent=2)


class FrontendUser(HttpUser):
    """A visitor of the frontend, calling the API through nginx's /api/ path."""

    wait_time = between(0.05, 0.25)

    @task(6)
    def list_items(self) -> None:
        self.client.get("/api/items", name="GET /api/items")

    @task(2)
    def create_item(self) -> None:
        self.client.post("/api/items", json={"name": f"load {uuid.uuid4().hex[:12]}"}, name="POST /api/items")

    @task(2)
    def whoami(self) -> None:
        self.client.get("/api/whoami", name="GET /api/whoami")
