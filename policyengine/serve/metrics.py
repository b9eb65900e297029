"""Prometheus text metrics: decisions, cache hits and misses, request latency, reloads."""

from __future__ import annotations

import bisect
from typing import TYPE_CHECKING, Any

from policyengine.engine.decision_log import DecisionLog

if TYPE_CHECKING:
    from policyengine.engine.reload import ReloadingEngine

BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0)


class Metrics:
    """Counters kept by the app (one process: each worker has its own, as Prometheus expects)."""

    def __init__(self) -> None:
        self.decisions = 0
        self.requests: dict[tuple[str, int], int] = {}
        self.buckets: dict[str, list[int]] = {}
        self.sums: dict[str, float] = {}

    def observe_request(self, route: str, status: int, seconds: float) -> None:
        key = (route, status)
        self.requests[key] = self.requests.get(key, 0) + 1
        counts = self.buckets.get(route)
        if counts is None:
            counts = self.buckets[route] = [0] * (len(BUCKETS) + 1)
            self.sums[route] = 0.0
        counts[bisect.bisect_left(BUCKETS, seconds)] += 1
        self.sums[route] += seconds

    def render(self, holder: ReloadingEngine) -> str:
        engine = holder.engine
        lines = [
            "# HELP policyengine_decisions_total Decisions answered (JSON API and Trino requests).",
            "# TYPE policyengine_decisions_total counter",
            f"policyengine_decisions_total {self.decisions}",
            "# HELP policyengine_cache_hits_total Decision cache hits of the engine in force.",
            "# TYPE policyengine_cache_hits_total counter",
            f"policyengine_cache_hits_total {engine.cache_hits}",
            "# HELP policyengine_cache_misses_total Decision cache misses of the engine in force.",
            "# TYPE policyengine_cache_misses_total counter",
            f"policyengine_cache_misses_total {engine.cache_misses}",
            "# HELP policyengine_reloads_total Successful bundle reloads.",
            "# TYPE policyengine_reloads_total counter",
            f"policyengine_reloads_total {holder.reloads}",
            "# HELP policyengine_reload_errors_total Failed reloads (the last good bundle stayed in force).",
            "# TYPE policyengine_reload_errors_total counter",
            f"policyengine_reload_errors_total {holder.reload_errors}",
            "# HELP policyengine_bundle_info The bundle in force.",
            "# TYPE policyengine_bundle_info gauge",
            f'policyengine_bundle_info{{bundle_version="{holder.bundle_version}"}} 1',
        ]
        status_of = holder.status  # a bundle poller's, when there is one
        poller = status_of() if status_of is not None else None
        if poller is not None:
            lines += _bundle_lines(poller)
        dlog = holder.decision_log
        if isinstance(dlog, DecisionLog):  # a plain DecisionSink keeps no counts
            stats = dlog.stats()
            lines += ["# HELP policyengine_decision_log_dropped_total Decision log lines dropped "
                      "(queue or disk full).",
                      "# TYPE policyengine_decision_log_dropped_total counter",
                      f"policyengine_decision_log_dropped_total {stats['dropped']}",
                      "# TYPE policyengine_decision_log_written_total counter",
                      f"policyengine_decision_log_written_total {stats['written']}"]
        lines += ["# HELP policyengine_requests_total HTTP requests by route and status.",
                  "# TYPE policyengine_requests_total counter"]
        for (route, status), n in sorted(self.requests.items()):
            lines.append(f'policyengine_requests_total{{route="{route}",status="{status}"}} {n}')
        lines += ["# HELP policyengine_request_seconds Request latency in the app.",
                  "# TYPE policyengine_request_seconds histogram"]
        for route, counts in sorted(self.buckets.items()):
            running = 0
            for bound, n in zip((*BUCKETS, float("inf")), counts, strict=True):
                running += n
                le = "+Inf" if bound == float("inf") else repr(bound)
                lines.append(f'policyengine_request_seconds_bucket{{route="{route}",le="{le}"}} {running}')
            lines.append(f'policyengine_request_seconds_sum{{route="{route}"}} {self.sums[route]:.6f}')
            lines.append(f'policyengine_request_seconds_count{{route="{route}"}} {running}')
        return "\n".join(lines) + "\n"


def _seconds(iso: str | None) -> float:
    import datetime as dt

    return dt.datetime.fromisoformat(iso).timestamp() if iso else 0.0


def _bundle_lines(status: dict[str, Any]) -> list[str]:
    """A bundle poller's state: the sequence in force, the last success and error (Unix seconds,
    0 for never), fetch errors, and whether the bundle in force expired (everything denied)."""
    sequence = status.get("bundle_sequence")
    return [
        "# HELP policyengine_bundle_sequence The sequence number of the bundle in force.",
        "# TYPE policyengine_bundle_sequence gauge",
        f"policyengine_bundle_sequence {sequence if sequence is not None else -1}",
        "# HELP policyengine_bundle_last_success_timestamp_seconds Last poll that found the source "
        "answering (unchanged or a new bundle accepted).",
        "# TYPE policyengine_bundle_last_success_timestamp_seconds gauge",
        f"policyengine_bundle_last_success_timestamp_seconds {_seconds(status.get('last_success')):.0f}",
        "# HELP policyengine_bundle_last_error_timestamp_seconds Last poll or bundle refused.",
        "# TYPE policyengine_bundle_last_error_timestamp_seconds gauge",
        f"policyengine_bundle_last_error_timestamp_seconds {_seconds(status.get('last_error_at')):.0f}",
        "# HELP policyengine_bundle_fetch_errors_total Polls that could not reach the bundle source.",
        "# TYPE policyengine_bundle_fetch_errors_total counter",
        f"policyengine_bundle_fetch_errors_total {status.get('fetch_errors', 0)}",
        "# HELP policyengine_bundle_expired 1 when the bundle in force expired and everything is denied.",
        "# TYPE policyengine_bundle_expired gauge",
        f"policyengine_bundle_expired {1 if status.get('bundle_expired') else 0}",
    ]
