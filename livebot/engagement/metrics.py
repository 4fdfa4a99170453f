"""Prometheus figures for operations: rates and latencies, never anything about a person."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class EngagementMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        registry = registry or CollectorRegistry()
        self.events = Counter("livebot_engagement_events", "Stored chat events seen by engagement, by platform and kind",
                              ["platform", "kind"], registry=registry)
        self.likes = Counter("livebot_engagement_likes", "Likes reported by platforms", ["platform"], registry=registry)
        self.gift_value = Counter("livebot_engagement_gift_value_fen", "Gift value reported by platforms (fen)",
                                  ["platform"], registry=registry)
        self.viewers = Gauge("livebot_engagement_viewers", "Latest concurrent viewers a platform reported", ["platform"],
                             registry=registry)
        self.first_response = Histogram(
            "livebot_engagement_first_response_seconds", "Time from a viewer's question to its first answer",
            buckets=(10, 30, 60, 120, 300, 600, 1800, 3600), registry=registry)
        self.recomputed = Counter("livebot_engagement_minutes_recomputed", "Minute buckets recomputed for live figures",
                                  registry=registry)
        self.flush_seconds = Histogram("livebot_engagement_flush_seconds", "Time one live-figures flush took",
                                       buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10), registry=registry)
        self.reports = Counter("livebot_engagement_reports", "Session reports generated", ["trigger", "outcome"],
                               registry=registry)
        self.robot = Counter("livebot_engagement_robot_messages", "Report summaries sent to WeCom group robots",
                             ["outcome"], registry=registry)
