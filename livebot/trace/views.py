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
from livebot.trace.digitallink import LOT_PATTERN, digital_link_path, gtin14, valid_lot
from livebot.trace.errors import BadCode
from livebot.trace.keys import SCANS, SUMMARY_CACHE, TRACE_SETTINGS
from livebot.trace.reply import promise_label
from livebot.web.fastlane import fast_answer

routes = web.RouteTableDef()
CORS = {"Access-Control-Allow-Origin": "*", "Access-Control-Expose-Headers": "Link"}
JSON_HEADERS = CIMultiDictProxy(CIMultiDict(
    {"Content-Type": "application/json", "Cache-Control": "public, max-age=30", "Vary": "Accept", **CORS}))
"""Built once: a cached JSON answer is the stored bytes plus these headers, nothing computed per request."""
PAGE_HEADERS = CIMultiDictProxy(CIMultiDict({"Content-Type": "text/html; charset=utf-8"}))
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


def cached_answer(request: web.Request) -> web.Response | None:
    """The fast lane's answer (:mod:`livebot.web.fastlane`) for a lot whose summary is cached: the
    JSON as stored, or the page once rendered; None for everything else (link sets, ``linkType``,
    misses, errors: the full handler answers those)."""
    accept = request.headers.get("Accept", "")
    if request.query_string or LINKSET in accept:
        return None
    match = request.match_info
    lot = match["lot"]
    entry = request.app[SUMMARY_CACHE].peek(lot)
    if entry is None or not entry.found or entry.gtin != match["gtin"] or not LOT_PATTERN.fullmatch(lot):
        return None
    if "application/json" in accept and "text/html" not in accept:
        body, headers = entry.json, JSON_HEADERS
    elif entry.page is not None:
        body, headers = entry.page, PAGE_HEADERS
    else:
        return None
    count_scan(request, lot)
    return web.Response(body=body, headers=headers)


@routes.get("/01/{gtin}/10/{lot}")
@routes.get("/01/{gtin}/10/{lot}/21/{serial}")
@anonymous
@fast_answer(cached_answer)
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
    # gs1:pip, gs1:defaultLink, no linkType, or one this resolver does not have: the default link,
    # rendered once per cached summary (the page is the same for everyone) and dropped with it
    if entry.page is None:
        entry.page = aiohttp_jinja2.render_string("trace/batch.html", request, page(entry.summary or {}, request)).encode()
    return web.Response(body=entry.page, headers=PAGE_HEADERS)


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
        "journey": journey_steps(s),
        "gap": GAP,
        "promise": promise_label(s["promise_minutes"]),
        "temps": temperatures(s),
        "sparkline": sparkline(values),
        "settings": request.app[TRACE_SETTINGS],
    }


GAP = "暂无数据"


def stamp(value: str | None) -> str:
    """A display-zone ISO time as 11月24日 12:57 (the page says the zone once: 北京时间)."""
    if not value:
        return ""
    moment = datetime.fromisoformat(value)
    return f"{moment.month}月{moment.day}日 {moment:%H:%M}"


def checks(item: dict[str, Any]) -> str:
    """"检验 1/1 项合格" for an ingredient or feed lot, "" when it has no results."""
    if not item["inspections_total"]:
        return "检验结果：暂无数据"
    names = "、".join(i["item"] for i in item["inspections"][:3])
    return f"检验 {item['inspections_passed']}/{item['inspections_total']} 项合格（{names}）"


def herd_lines(herd: dict[str, Any]) -> list[str]:
    facts = [herd["farm"], f"{herd['size']} 头" if herd["size"] is not None else "", herd["breed"]]
    lines = ["，".join(f for f in facts if f) or "牛群信息：暂无数据"]
    lines.append(f"饲喂方案：{herd['feed_plan']}" if herd["feed_plan"] else "饲喂方案：暂无数据")
    if herd["milking_group"]:
        lines.append(f"挤奶组：{herd['milking_group']}（生乳批次 {herd['raw_lot']}）")
    if herd["withheld_ok"] is True:
        lines.append(f"挤奶时治疗期牛只 {herd['treated_count']} 头，均已隔离，奶未混入本批" if herd["treated_count"]
                     else "挤奶时无治疗期牛只")
    elif herd["withheld_ok"] is False:
        lines.append(f"挤奶时治疗期牛只 {herd['treated_count']} 头，其中有未列入隔离名单的牛只")
    else:
        lines.append("治疗期牛只隔离记录：暂无数据")
    return lines


def span(low: float, high: float, unit: str) -> str:
    return f"{low:g}{unit}" if low == high else f"{low:g}–{high:g}{unit}"


def storage(warehouse: dict[str, Any]) -> str:
    conditions = []
    if warehouse["temperature_min"] is not None:
        conditions.append("温度 " + span(warehouse["temperature_min"], warehouse["temperature_max"], " °C"))
    if warehouse["humidity_min"] is not None:
        conditions.append("相对湿度 " + span(warehouse["humidity_min"], warehouse["humidity_max"], "%"))
    return "储存条件：" + ("，".join(conditions) if conditions else GAP)


def shipped_from(shipment: dict[str, Any]) -> str:
    parts = [f"自 {shipment['from']}"] if shipment["from"] else []
    if shipment["quantity"] is not None and shipment["uom"] == "H87":
        parts.append(f"{shipment['quantity']:g} 罐")
    return " · ".join(parts)


def journey_steps(s: dict[str, Any]) -> list[dict[str, Any]]:
    """The whole chain, herd to shipment, as timeline steps; a step without data is a gap, never filled in."""
    def step(label: str, time: str | None, title: str, lines: list[str]) -> dict[str, Any]:
        return {"label": label, "time": stamp(time), "title": title, "lines": lines, "gap": not title and not lines}

    herds = [step("牧场牛群", None, h["name"] or h["herd"], herd_lines(h)) for h in s["herds"]] or [step("牧场牛群", None, "", [])]
    feed = [step("饲料", f["received_at"], f"{f['name'] or '饲料'} · 批次 {f['lot']}",
                 [" · ".join(x for x in (f["supplier"], f["origin"] and f"产地 {f['origin']}") if x), checks(f)]) for f in s["feed"]]
    milk = step("挤奶", s["milking_end"] or s["milking_start"], " · ".join(x for x in (s["farm"], s["raw_lot"] and f"生乳批次 {s['raw_lot']}") if x), [])
    ingredients = [f"{i['name'] or '配料'} · 批次 {i['lot']}" + "".join(f" · {x}" for x in (i["supplier"], i["origin"] and f"产地 {i['origin']}") if x)
                   + f" · {checks(i)}" for i in s["ingredients"]]
    made = step("生产", s["processing_start"], " · ".join(x for x in (s["plant"], s["line"] and f"生产线 {s['line']}") if x), [])
    packing = s["packing"]
    packed = step("包装", None, "", [])
    if packing:
        packed = step("包装", packing["at"], f"包装线 {packing['line']}" if packing["line"] else (packing["place"] or ""), [])
    warehouse = s["warehouse"]
    stored = step("入库", None, "", [])
    if warehouse:
        stored = step("入库", warehouse["at"], warehouse["name"] or "", [storage(warehouse)])
    shipments = [step("发货", x["at"], f"发往{x['region']}" if x["region"] else "发货（区域：暂无数据）", [shipped_from(x)])
                 for x in s["shipments"]] or [step("发货", None, "", [])]
    return [*herds, *(feed or [step("饲料", None, "", [])]), milk,
            step("配料", None, f"{len(ingredients)} 种配料" if ingredients else "", ingredients), made, packed, stored, *shipments]


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
