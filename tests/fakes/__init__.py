"""Faithful fakes of remote platforms: real aiohttp servers on 127.0.0.1 speaking the real protocol.

Each fake is a small class with ``await fake.start()`` / ``await fake.close()``, the URLs to
configure livebot with, and lists recording what it received, so any test (sources, replies,
the advisor console) can reuse it:

- :class:`tests.fakes.bilibili.FakeBilibili` — live open platform HTTP API and danmaku websocket.
- :class:`tests.fakes.wecom.FakeWecom` — WeCom ``gettoken``, 微信客服 ``kf/sync_msg`` /
  ``kf/send_msg`` / ``kf/customer/batchget``, group robots, and a helper to post encrypted
  callbacks.
"""
