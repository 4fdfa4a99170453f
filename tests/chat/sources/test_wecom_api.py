"""The WeCom API client: access token cache and refresh, error classification."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import pytest

from livebot.chat.sources.wecom_api import WecomApi, WecomApiError
from tests.fakes.wecom import FakeWecom


@pytest.fixture
async def fake() -> AsyncIterator[FakeWecom]:
    server = await FakeWecom().start()
    yield server
    await server.close()


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client:
        yield client


async def test_token_is_cached_until_shortly_before_expiry(fake: FakeWecom, session: aiohttp.ClientSession) -> None:
    now = [1000.0]
    api = WecomApi(session, fake.corp_id, fake.secret, fake.api_base, clock=lambda: now[0])
    first = await api.access_token()
    now[0] += 7200 - 301
    assert await api.access_token() == first
    assert fake.gettoken_calls == 1
    now[0] += 2
    assert await api.access_token() != first
    assert fake.gettoken_calls == 2


async def test_concurrent_callers_share_one_gettoken(fake: FakeWecom, session: aiohttp.ClientSession) -> None:
    api = WecomApi(session, fake.corp_id, fake.secret, fake.api_base)
    tokens = await asyncio.gather(*(api.access_token() for _ in range(10)))
    assert len(set(tokens)) == 1
    assert fake.gettoken_calls == 1


async def test_expired_token_is_replaced_once_then_the_error_surfaces(fake: FakeWecom,
                                                                      session: aiohttp.ClientSession) -> None:
    api = WecomApi(session, fake.corp_id, fake.secret, fake.api_base)
    await api.access_token()
    for token in fake.access_tokens:
        fake.access_tokens[token] = 0.0  # expired on WeCom's side before our margin
    page = await api.sync_msg("", "", 10, fake.open_kfid)
    assert page["msg_list"] == [] and fake.gettoken_calls == 2
    fake.fail_next("/cgi-bin/gettoken", 40001)
    fake.access_tokens.clear()
    with pytest.raises(WecomApiError) as info:
        await api.sync_msg("", "", 10, fake.open_kfid)
    assert info.value.errcode == 40001 and not info.value.retryable


@pytest.mark.parametrize(("errcode", "status", "retryable"), [(-1, 200, True), (45009, 200, True),
                                                              (40058, 200, False), (0, 503, True), (0, 400, False)])
async def test_errors_are_classified(fake: FakeWecom, session: aiohttp.ClientSession, errcode: int, status: int,
                                     retryable: bool) -> None:
    api = WecomApi(session, fake.corp_id, fake.secret, fake.api_base)
    fake.fail_next("/cgi-bin/kf/sync_msg", errcode, status=status)
    with pytest.raises(WecomApiError) as info:
        await api.sync_msg("", "", 10, fake.open_kfid)
    assert info.value.retryable is retryable


async def test_wrong_corp_id_is_refused(fake: FakeWecom, session: aiohttp.ClientSession) -> None:
    api = WecomApi(session, "ww-wrong", fake.secret, fake.api_base)
    with pytest.raises(WecomApiError) as info:
        await api.access_token()
    assert info.value.errcode == 40013


async def test_nicknames_are_fetched_in_batches_of_100(fake: FakeWecom, session: aiohttp.ClientSession) -> None:
    ids = [f"wm{i:04d}" for i in range(150)]
    fake.customers.update({i: f"家长{i[-3:]}" for i in ids[::2]})
    api = WecomApi(session, fake.corp_id, fake.secret, fake.api_base)
    names = await api.nicknames(ids + ids[:5])
    assert names == {i: f"家长{i[-3:]}" for i in ids[::2]}
    assert sum(1 for _m, path in fake.requests if path.endswith("batchget")) == 2
