"""The in-process bus: publishing is a local fan-out, nothing leaves the process."""

from __future__ import annotations

from collections.abc import Sequence

from livebot.bus.base import Bus, Message


class MemoryBus(Bus):
    async def publish(self, topic: str, message: Message) -> None:
        self.metrics.topic(topic).published.inc()
        self.dispatch(topic, message)

    async def publish_many(self, topic: str, messages: Sequence[Message]) -> None:
        if messages:
            self.metrics.topic(topic).published.inc(len(messages))
            self.dispatch_many(topic, list(messages))
