"""Prometheus text exposition, kept by hand: a few counters and one latency histogram."""

from __future__ import annotations

import threading
from collections import defaultdict

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests: dict[tuple[str, str, int], int] = defaultdict(int)
        self.latency: dict[tuple[str, str], list[int]] = {}
        self.latency_sum: dict[tuple[str, str], float] = defaultdict(float)
        self.facts: dict[str, int] = defaultdict(int)

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        with self._lock:
            self.requests[(method, route, status)] += 1
            counts = self.latency.setdefault((method, route), [0] * (len(BUCKETS) + 1))
            for i, bound in enumerate(BUCKETS):
                if seconds <= bound:
                    counts[i] += 1
            counts[-1] += 1
            self.latency_sum[(method, route)] += seconds

    def facts_counted(self, recorded: int, already_recorded: int, rejected: int) -> None:
        with self._lock:
            self.facts["recorded"] += recorded
            self.facts["already_recorded"] += already_recorded
            self.facts["rejected"] += rejected

    def render(self, ledger_head: int | None, views_position: int | None) -> str:
        lines = ["# HELP ledger_http_requests_total HTTP requests answered, by route and status.",
                 "# TYPE ledger_http_requests_total counter"]
        with self._lock:
            for (method, route, status), n in sorted(self.requests.items()):
                lines.append(f'ledger_http_requests_total{{method="{method}",route="{route}",'
                             f'status="{status}"}} {n}')
            lines += ["# HELP ledger_http_request_duration_seconds Time to answer a request.",
                      "# TYPE ledger_http_request_duration_seconds histogram"]
            for (method, route), counts in sorted(self.latency.items()):
                labels = f'method="{method}",route="{route}"'
                for bound, n in zip(BUCKETS, counts, strict=False):
                    lines.append(f'ledger_http_request_duration_seconds_bucket{{{labels},le="{bound}"}} {n}')
                lines.append(f'ledger_http_request_duration_seconds_bucket{{{labels},le="+Inf"}} '
                             f'{counts[-1]}')
                lines.append(f"ledger_http_request_duration_seconds_sum{{{labels}}} "
                             f"{self.latency_sum[(method, route)]:.6f}")
                lines.append(f"ledger_http_request_duration_seconds_count{{{labels}}} {counts[-1]}")
            lines += ["# HELP ledger_facts_total Facts posted to this process, by outcome.",
                      "# TYPE ledger_facts_total counter"]
            for outcome in ("recorded", "already_recorded", "rejected"):
                lines.append(f'ledger_facts_total{{outcome="{outcome}"}} {self.facts[outcome]}')
        if ledger_head is not None and views_position is not None:
            lines += ["# HELP ledger_head_position The position of the ledger's last fact.",
                      "# TYPE ledger_head_position gauge", f"ledger_head_position {ledger_head}",
                      "# HELP ledger_projection_lag_facts Facts recorded but not yet in the views.",
                      "# TYPE ledger_projection_lag_facts gauge",
                      f"ledger_projection_lag_facts {max(ledger_head - views_position, 0)}"]
        return "\n".join(lines) + "\n"
