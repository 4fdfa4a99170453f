"""Helpers for the schedule tests: producer clients and a few sites and sessions made through the API."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp.test_utils import TestClient

SITES = (
    {"slug": "beijing-studio", "name": "北京演播厅", "role": "studio", "location": "北京市朝阳区", "latitude": 39.92,
     "longitude": 116.46, "lower_third": "北京演播厅 · 主会场"},
    {"slug": "qiqihar-factory", "name": "齐齐哈尔工厂", "role": "factory", "location": "黑龙江省齐齐哈尔市",
     "lower_third": "齐齐哈尔工厂 · 湿法工艺生产线"},
    {"slug": "shuangcheng-farm", "name": "双城牧场", "role": "farm", "location": "黑龙江省哈尔滨市双城区",
     "lower_third": "双城牧场 · 自有牧场"},
)


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


class Api:
    """Small helpers over the JSON API for a producer token."""

    def __init__(self, client: TestClient, headers: dict[str, str]) -> None:
        self.client, self.headers = client, headers

    async def call(self, method: str, path: str, json: Any = None, status: int | None = None) -> Any:
        resp = await self.client.request(method, f"/api/v1/schedule{path}", json=json, headers=self.headers)
        body = await resp.json() if resp.status != 204 else None
        if status is not None:
            assert resp.status == status, (resp.status, body)
        return body

    async def sites(self) -> list[dict[str, Any]]:
        return [await self.call("POST", "/sites", dict(s), 201) for s in SITES]

    async def session(self, site_ids: list[int], start: datetime, minutes: int = 120, **extra: Any) -> dict[str, Any]:
        body = {"title": "北境臻护 · 奶源专场", "theme": "奶源", "planned_start": iso(start),
                "planned_end": iso(start + timedelta(minutes=minutes)), "site_ids": site_ids, **extra}
        return await self.call("POST", "/sessions", body, 201)


