"""Core demo data: three sites, one session live now, and a login for each role (each made only when missing)."""

from __future__ import annotations

from datetime import timedelta

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from livebot.appkeys import CONFIG, DATABASE
from livebot.auth import store
from livebot.auth.models import User
from livebot.schedule.models import Channel, LiveSession, SessionSite, Site
from livebot.storage.base import utcnow

DEMO_USERS = (
    ("admin", "admin", "管理员", "livebot-admin"),
    ("producer", "producer", "王导播", "livebot-producer"),
    ("advisor", "advisor", "李营养师", "livebot-advisor"),
    ("advisor2", "advisor", "张营养师", "livebot-advisor"),
    ("marketing", "marketing", "陈市场", "livebot-marketing"),
)

DEMO_SITES = (
    dict(slug="beijing-studio", name="北京演播厅", role="studio", location="北京市朝阳区", latitude=39.92, longitude=116.46,
         lower_third="北京演播厅 · 主会场"),
    dict(slug="qiqihar-factory", name="齐齐哈尔工厂", role="factory", location="黑龙江省齐齐哈尔市", latitude=47.35,
         longitude=123.92, lower_third="齐齐哈尔工厂 · 湿法工艺生产线"),
    dict(slug="shuangcheng-farm", name="双城牧场", role="farm", location="黑龙江省哈尔滨市双城区", latitude=45.38,
         longitude=126.31, lower_third="双城牧场 · 自有牧场"),
)

DEMO_CHANNELS = (
    ("demo-relay", "douyin-room-7731", "douyin", "抖音直播间"),
    ("demo-relay", "ks-room-5520", "kuaishou", "快手直播间"),
    ("demo-relay", "channels-live", "channels", "视频号直播"),
    ("demo-relay", "bili-room-2233", "bilibili", "B站直播间"),
    ("demo-relay", "taobao-live-88", "taobao", "淘宝直播"),
    ("demo-relay", "wecom-parents-1", "wecom", "宝妈交流群 1"),
)


async def seed_core(app: web.Application) -> list[str]:
    """Seed what is missing, so a second start on the same ``--data-dir`` resumes its data."""
    db = app[DATABASE]
    async with db.sessions() as session:
        have_users = set(await session.scalars(select(User.username)))
    for username, role, display, password in DEMO_USERS:
        if username not in have_users:
            await store.add_user(db, username, password, role, display)
    async with db.sessions() as session:
        have_sites = set(await session.scalars(select(Site.slug)))
        session.add_all(Site(**fields) for fields in DEMO_SITES if fields["slug"] not in have_sites)
        await session.commit()
        if await session.scalar(select(LiveSession.id).where(LiveSession.status == "live").limit(1)) is None:
            await add_live_session(session)
        count = len((await session.scalars(select(Site))).all())
    base = app[CONFIG].server.base_url
    lines = [f"  控制台 / web:      {base}/login", f"  健康检查 / health: {base}/healthz", f"  站点 / sites: {count}", "  登录 / logins:"]
    lines += [f"    {role:<10} {username} / {password}" for username, role, _, password in DEMO_USERS]
    return lines


async def add_live_session(session: AsyncSession) -> None:
    """A session live since 20 minutes ago on every demo site, with the demo relay's channels routed to it."""
    now = utcnow()
    sites = list((await session.scalars(select(Site).where(Site.slug.in_([s["slug"] for s in DEMO_SITES]))
                                        .order_by(Site.id))).all())
    live = LiveSession(
        title="北境臻护 · 从牧场到罐的 2 小时",
        theme="奶源",
        planned_start=now - timedelta(minutes=20),
        planned_end=now + timedelta(minutes=100),
        status="live",
        started_at=now - timedelta(minutes=20),
        status_changed_by="producer",
        status_changed_at=now - timedelta(minutes=20),
    )
    session.add(live)
    await session.flush()
    session.add_all(SessionSite(session_id=live.id, site_id=s.id) for s in sites)
    session.add_all(
        Channel(session_id=live.id, source_id=src, channel=ch, platform=pf, label=label, site_id=sites[0].id)
        for src, ch, pf, label in DEMO_CHANNELS
    )
    await session.commit()
