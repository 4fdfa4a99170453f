"""The in-process bus: publishing is a local fan-out, nothing leaves the process."""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

from livebot.bus.base import Bus, Message, Outgoing


class MemoryBus(Bus):
    async def publish(self, topic: str, message: Outgoing) -> None:
        self.metrics.topic(topic).published.inc()
        self.dispatch(topic, cast(Message, message))  # a typed shape is a dict at run time

    async def publish_many(self, topic: str, messages: Sequence[Outgoing]) -> None:
        if messages:
            self.metrics.topic(topic).published.inc(len(messages))
            self.dispatch_many(topic, cast(list[Message], list(messages)))
