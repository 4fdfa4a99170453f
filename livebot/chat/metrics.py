"""Prometheus metrics of the ingest, registered in the app's own registry."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class IngestMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        registry = registry if registry is not None else CollectorRegistry()
        self.accepted = Counter("livebot_chat_events_accepted", "Chat events stored", ["source"], registry=registry)
        self.duplicates = Counter(
            "livebot_chat_events_duplicates", "Chat events already stored (same source and id)", ["source"], registry=registry
        )
        self.rejected = Counter(
            "livebot_chat_events_rejected", "Chat requests or events refused, by reason", ["source", "reason"], registry=registry
        )
        self.flagged = Counter("livebot_chat_events_flagged", "Chat events flagged by moderation", ["flag"], registry=registry)
        self.batch_events = Histogram(
            "livebot_chat_writer_batch_events", "Events per group commit", registry=registry,
            buckets=(1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000),
        )
        self.commit_seconds = Histogram(
            "livebot_chat_writer_commit_seconds", "Time to insert and commit one batch", registry=registry,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
        )
        self.queue_events = Gauge("livebot_chat_writer_queue_events", "Events waiting for the writer", registry=registry)
