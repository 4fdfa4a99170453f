"""The public GS1 Digital Link resolver (``/01/{gtin}/10/{lot}``) and can-code redirect (``/c/{code}``).

People get a mobile page in Simplified Chinese; machines asking ``Accept: application/json``
get the batch summary. The page is public, so every value is escaped by the template.
``?linkType=all`` (or ``Accept: application/linkset+json``) answers the GS1 Digital Link link set
(RFC 9264 JSON); ``linkType`` picks one of its links; scripts on other origins may read it (CORS).
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from typing import Any
from urllib.parse import quote

import aiohttp_jinja2
import orjson
from aiohttp import web
from multidict import CIMultiDict, CIMultiDictProxy

from livebot.appkeys import CONFIG, DATABASE
from livebot.auth.access import anonymous, public
from livebot.trace import facts
from livebot.trace.digitallink import digital_link_path, gtin14, valid_lot
from livebot.trace.errors import BadCode
from livebot.trace.keys import SCANS, SUMMARY_CACHE, TRACE_SETTINGS
from livebot.trace.reply import promise_label

routes = web.RouteTableDef()
CORS = {"Access-Control-Allow-Origin": "*", "Access-Control-Expose-Headers": "Link"}
JSON_HEADERS = CIMultiDictProxy(CIMultiDict(
    {"Content-Type": "application/json", "Cache-Control": "public, max-age=30", "Vary": "Accept", **CORS}))
"""Built once: a cached JSON answer is the stored bytes plus these headers, nothing computed per request."""
LINKSET = "application/linkset+json"
GS1_VOC = "https://gs1.org/voc/"
PREFLIGHT = {**CORS, "Access-Control-Allow-Methods": "GET, HEAD, OPTIONS", "Access-Control-Allow-Headers": "Accept",
             "Access-Control-Max-Age": "86400"}


@lru_cache(maxsize=4096)
def checked_gtin(value: str) -> str:
    """``gtin14`` remembered for the GTINs seen (few); a wrong one raises each time (not cached)."""
    return gtin14(value)


def wants_json(request: web.Request) -> bool:
    accept = request.headers.get("Accept", "")
    return "application/json" in accept and "text/html" not in accept


def problem(request: web.Request, status: int, message: str, field: str | None = None) -> web.Response:
    """An error as JSON for machines or as a small Chinese page for people."""
    if wants_json(request):
        body: dict[str, Any] = {"error": message}
        if field:
            body["field"] = field
        return web.Response(body=orjson.dumps(body), status=status, content_type="application/json", headers=CORS)
    response = aiohttp_jinja2.render_template("trace/not_found.html", request, {"status": status, "message": message})
    response.set_status(status)
    return response


def count_scan(request: web.Request, lot: str) -> None:
    """One lookup of a known batch, by a salted digest of the client (never stored) and the region header if set."""
    headers = request.headers
    region_header = request.app[TRACE_SETTINGS].scan_region_header
    client = f"{request.remote}|{headers.get('User-Agent', '')}"
    request.app[SCANS].record(lot, client, headers.get(region_header, "") if region_header else "")


@routes.get("/01/{gtin}/10/{lot}")
@routes.get("/01/{gtin}/10/{lot}/21/{serial}")
@anonymous
async def resolve(request: web.Request) -> web.Response:
    """A can's code: the batch page (the serial, when present, does not change the answer).

    Anonymous: the answer is the same for everyone, so no session or token is read (no cookie
    decryption, no Set-Cookie, no database lookup for a stray ``Authorization`` header). A
    cached answer is served without awaiting anything; misses of one burst load together.
    """
    match = request.match_info
    try:
        gtin = checked_gtin(match["gtin"])
        lot = valid_lot(match["lot"])
    except BadCode as err:
        return problem(request, 400, code_problem(err), err.field)
    cache = request.app[SUMMARY_CACHE]
    entry = cache.peek(lot) or await cache.get(lot)
    if not entry.found or entry.gtin != gtin:
        return problem(request, 404, "未找到该批次，请核对罐底的批次号", "lot")
    count_scan(request, lot)
    kind = requested_link_type(request)
    if kind == "all":
        return linkset_response(request, gtin, lot, entry.summary or {})
    if kind == "traceability" or wants_json(request):
        return web.Response(body=entry.json, headers=JSON_HEADERS)
    # gs1:pip, gs1:defaultLink, no linkType, or one this resolver does not have: the default link
    return aiohttp_jinja2.render_template("trace/batch.html", request, page(entry.summary or {}, request))


@routes.options("/01/{gtin}/10/{lot}")
@routes.options("/01/{gtin}/10/{lot}/21/{serial}")
@anonymous
async def preflight(request: web.Request) -> web.Response:
    """CORS preflight for scripts on other origins (the scan page's) reading the resolver."""
    return web.Response(status=204, headers=PREFLIGHT)


def requested_link_type(request: web.Request) -> str | None:
    """``all`` for the link set (``?linkType=all`` or ``Accept: application/linkset+json``), else the
    short name of ``?linkType`` (``gs1:pip`` / ``https://gs1.org/voc/pip`` -> ``pip``), else None."""
    if LINKSET in request.headers.get("Accept", ""):
        return "all"
    if not request.query_string:
        return None
    value = request.query.get("linkType", "")
    return value.removeprefix("gs1:").removeprefix(GS1_VOC) or None


def linkset(base: str, gtin: str, lot: str, summary: dict[str, Any]) -> dict[str, Any]:
    """The GS1 Digital Link link set of one lot (RFC 9264 ``application/linkset+json``)."""
    anchor = f"{base}{digital_link_path(gtin, lot)}"
    title = " ".join(part for part in (summary.get("product_name"), lot) if part) or lot
    page_link = {"href": anchor, "title": f"{title} 批次溯源", "type": "text/html", "hreflang": ["zh-CN"]}
    return {"linkset": [{
        "anchor": anchor,
        f"{GS1_VOC}defaultLink": [page_link],
        f"{GS1_VOC}pip": [page_link],
        f"{GS1_VOC}traceability": [{"href": f"{anchor}?linkType=gs1:traceability", "title": f"{title} 溯源数据 (JSON)",
                                    "type": "application/json"}],
        f"{GS1_VOC}epcis": [{"href": f"{base}/api/v1/trace/events?lot={quote(lot, safe='')}", "title": "EPCIS 2.0 events (role trace)",
                             "type": "application/ld+json"}],
    }]}


def linkset_response(request: web.Request, gtin: str, lot: str, summary: dict[str, Any]) -> web.Response:
    base = request.app[CONFIG].server.public_url.rstrip("/") or f"{request.scheme}://{request.host}"
    body = orjson.dumps(linkset(base, gtin, lot, summary))
    return web.Response(body=body, content_type=LINKSET, headers={**CORS, "Cache-Control": "public, max-age=30", "Vary": "Accept"})


@routes.get("/c/{code}")
@public
async def can_code(request: web.Request) -> web.Response:
    db = request.app[DATABASE]
    lot = await facts.find_lot(db, request.match_info["code"][:64])
    summary = await facts.batch_summary(db, lot, request.app[TRACE_SETTINGS]) if lot else None
    if summary is None or not summary.get("gtin"):
        return problem(request, 404, "未找到该罐码对应的批次，请核对后重试", "code")
    raise web.HTTPFound(digital_link_path(summary["gtin"], summary["lot"]))


def code_problem(err: BadCode) -> str:
    """What a shopper reads for a code that cannot be right (the trace API keeps its precise English)."""
    if "check digit" in err.problem:
        return "商品码（GTIN）校验位错误，请核对罐身条码下方的数字"
    if err.field == "gtin" or "GTIN" in err.problem or "digits" in err.problem:
        return "无法识别的商品码：GTIN 应为 8、12、13 或 14 位数字"
    if err.field == "lot":
        return "无法识别的批次号：应为 1–20 位字母、数字或常用符号，请核对罐底的批次号"
    return "无法识别的商品码或批次号"


def clock(value: str | None) -> str:
    return datetime.fromisoformat(value).strftime("%H:%M") if value else "—"


def day(value: str | None) -> str:
    return datetime.fromisoformat(value).strftime("%m月%d日") if value else ""


def page(summary: dict[str, Any], request: web.Request) -> dict[str, Any]:
    """What the template shows: the summary plus the chain as ready-made Chinese steps."""
    s = summary
    milked = s["milking_end"] or s["milking_start"]

    def after(value: str | None) -> str:
        if not value or not milked:
            return ""
        minutes = int((datetime.fromisoformat(value) - datetime.fromisoformat(milked)).total_seconds() // 60)
        return f"+{minutes} 分钟" if minutes >= 0 else ""

    steps = [
        {"label": "挤奶完成", "time": clock(milked), "day": day(milked), "offset": "", "where": s["farm"],
         "detail": f"奶仓 {s['tank']}" if s["tank"] else ""},
        {"label": "冷却", "time": clock(s["cooled_at"]), "day": "", "offset": after(s["cooled_at"]), "where": s["farm"],
         "detail": f"降至 {s['cooling_temp_c']:g} °C" if s["cooling_temp_c"] is not None else ""},
        {"label": "离开牧场", "time": clock(s["departed_at"]), "day": "", "offset": after(s["departed_at"]), "where": s["farm"],
         "detail": f"冷链奶罐车 {s['truck']}" if s["truck"] else ""},
        {"label": "到达工厂", "time": clock(s["arrived_at"]), "day": "", "offset": after(s["arrived_at"]), "where": s["plant"], "detail": ""},
        {"label": "进入生产", "time": clock(s["processing_start"]), "day": "", "offset": after(s["processing_start"]),
         "where": s["plant"], "detail": f"生产线 {s['line']}" if s["line"] else ""},
    ]
    values = [r["value"] for r in s["readings"]]
    return {
        "s": s,
        "steps": steps,
        "promise": promise_label(s["promise_minutes"]),
        "temps": temperatures(s),
        "sparkline": sparkline(values),
        "settings": request.app[TRACE_SETTINGS],
    }


def temperatures(s: dict[str, Any]) -> dict[str, Any] | None:
    """Milking and cold-chain temperatures kept apart, and a "≤ limit" claim only when every reading keeps it.

    Readings up to cooling are the milk as it leaves the cow (≈ 35 °C, not a cold-chain fault);
    readings after cooling until processing starts are transport and storage. Without a known
    cooling time nothing is split and the range is shown as plain readings.
    """
    readings = [(datetime.fromisoformat(r["at"]), float(r["value"])) for r in s["readings"] if r.get("at")]
    if not readings:
        return None
    cooled = datetime.fromisoformat(s["cooled_at"]) if s.get("cooled_at") else None
    until = datetime.fromisoformat(s["processing_start"]) if s.get("processing_start") else None
    if cooled is None:
        milking, chain = [], [v for _, v in readings]
    else:
        milking = [v for at, v in readings if at < cooled]
        chain = [v for at, v in readings if at >= cooled and (until is None or at <= until)]
    limit = float(s["coldchain_max_c"])
    kept = bool(chain) and max(chain) <= limit and not s.get("coldchain_excursions")
    return {
        "milking": {"min": min(milking), "max": max(milking)} if milking else None,
        "chain": {"min": min(chain), "max": max(chain)} if chain else None,
        "split": cooled is not None,
        "kept": kept,
        "limit": limit,
        "breaks": max(int(s.get("coldchain_excursions") or 0), 1 if chain and max(chain) > limit else 0),
    }


def sparkline(values: list[float], width: int = 300, height: int = 60) -> str:
    """SVG polyline points for the temperature series (numbers only, safe in an attribute)."""
    if len(values) < 2:
        return ""
    low, high = min(values), max(values)
    span = (high - low) or 1.0
    step = width / (len(values) - 1)
    return " ".join(f"{i * step:.1f},{height - (v - low) / span * (height - 8) - 4:.1f}" for i, v in enumerate(values))
