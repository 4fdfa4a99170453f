"""Report downloads: CSV (UTF-8 with BOM for Excel), JSON, an Excel workbook, a standalone HTML file.

Tables are declared once (:data:`TABLES`) and written by every format. Viewer-written text
(comments, questions, names) is data, never a formula: a cell starting with ``= + - @`` gets a
leading ``'`` (CSV injection), and control characters Excel cannot store are dropped.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import jinja2
import orjson
from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from livebot.engagement.names import GLOSSARY
from livebot.engagement.visuals import report_charts
from livebot.errors import ValidationError
from livebot.web.templating import PACKAGE_ROOT, add_filters, local_time, template_dirs

FORMATS = ("html", "csv", "json", "xlsx")
CONTENT_TYPES = {
    "html": "text/html; charset=utf-8", "csv": "text/csv; charset=utf-8", "json": "application/json",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@dataclass(frozen=True)
class Column:
    header: str
    key: str
    text: bool = False
    """Free text that may come from viewers (guarded against formulas)."""


@dataclass(frozen=True)
class Table:
    sheet: str
    rows: Callable[[Mapping[str, Any]], Sequence[Mapping[str, Any]]]
    columns: tuple[Column, ...]
    totals: tuple[str, ...] = ()
    """Columns summed in a 合计 row at the bottom."""


C = Column
FIGURE_COLUMNS = (
    C("评论数", "comments"), C("互动人数", "chatters"), C("UV", "visitors"), C("PV（进房）", "enters"), C("点赞", "likes"),
    C("礼物数", "gifts"), C("礼物价值（元）", "gift_value_yuan"), C("关注", "follows"), C("分享", "shares"),
    C("提问", "questions"), C("已回复", "answered"), C("首次响应中位数（秒）", "frt_median_s"), C("正面", "positive"),
    C("中性", "neutral"), C("负面", "negative"), C("情感均分", "sentiment_mean"), C("审核拦截", "hidden"),
    C("刷屏合并", "merged"),
)
ADDITIVE = ("comments", "enters", "likes", "gifts", "gift_value_yuan", "follows", "shares", "questions", "answered",
            "positive", "neutral", "negative", "hidden", "merged")
GROUP_COLUMNS = (
    C("评论数", "comments"), C("互动人数", "chatters"), C("人均评论", "messages_per_chatter"), C("UV", "visitors"),
    C("点赞", "likes"), C("礼物价值（元）", "gift_value_yuan"), C("提问", "questions"), C("已回复", "answered"),
    C("回复率", "answer_rate"), C("首次响应中位数（秒）", "frt_median_s"), C("首次响应 P90（秒）", "frt_p90_s"),
    C("正面占比", "positive_share"), C("负面占比", "negative_share"), C("情感均分", "sentiment_mean"),
)
VIEWER_COLUMNS = (C("峰值在线", "viewers_peak"), C("峰值时间", "peak_label"), C("平均在线", "viewers_avg"),
                  C("观看时长（人·分钟）", "watched_minutes"))


def topic(name: str) -> Callable[[Mapping[str, Any]], Sequence[Mapping[str, Any]]]:
    return lambda report: (report.get("topics") or {}).get(name) or []


TABLES: dict[str, Table] = {
    "minutes": Table("明细（分钟×平台×站点×段落）", lambda r: r["detail"], (
        C("时间", "label"), C("分钟（UTC）", "minute"), C("平台", "platform_name"), C("站点", "site", True),
        C("段落", "segment", True), C("在线（最新）", "viewers_latest"), C("在线（峰值）", "viewers_peak"), *FIGURE_COLUMNS,
    ), ADDITIVE),
    "totals": Table("每分钟合计", lambda r: r["minutes"], (
        C("时间", "label"), C("分钟（UTC）", "minute"), C("段落", "segment", True), C("站点", "site", True),
        C("在线", "viewers"), C("在线（峰值）", "viewers_peak"), *FIGURE_COLUMNS, C("扫码查询", "scans"),
    ), (*ADDITIVE, "scans")),
    "platforms": Table("平台", lambda r: r["platforms"], (
        C("平台", "name"), C("评论占比", "comment_share"), C("峰值在线", "viewers_peak"), C("平均在线", "viewers_avg"),
        C("最新在线", "viewers_latest"), *GROUP_COLUMNS,
    ), ("comments", "likes", "gift_value_yuan", "questions", "answered")),
    "segments": Table("段落", lambda r: r["segments"], (
        C("段落", "name", True), C("分钟数", "minutes"), *VIEWER_COLUMNS, C("在线增减", "viewers_change"), *GROUP_COLUMNS,
    )),
    "sites": Table("站点", lambda r: r["sites"], (
        C("站点", "name", True), C("分钟数", "minutes"), *VIEWER_COLUMNS, *GROUP_COLUMNS,
    )),
    "keywords": Table("热词", topic("keywords"), (C("热词", "term", True), C("提及评论数", "count"), C("权重", "weight"))),
    "faq": Table("知识库条目", topic("faq"), (
        C("条目 ID", "id", True), C("标准问题", "question", True), C("提问人次", "asks"), C("已回复", "answered"),
    )),
    "unanswered": Table("未回复问题", topic("unanswered"), (
        C("问题", "text", True), C("提问人次", "asks"), C("首次提问", "label"), C("状态", "status"),
    )),
    "comments": Table("重复最多的评论", topic("top_comments"), (C("评论", "text", True), C("发送次数", "sent"))),
    "advisors": Table("顾问", topic("advisors"), (
        C("顾问", "name", True), C("账号", "username", True), C("回复问题卡", "answered"), C("回复人次", "asks_answered"),
        C("首次响应中位数（秒）", "frt_median_s"), C("首次响应 P90（秒）", "frt_p90_s"), C("认领", "claims"),
        C("主动释放", "released"), C("认领超时", "expired"), C("忽略", "dismissed"), C("升级", "escalated"),
        C("新开跟进单", "cases_opened"), C("已解决跟进单", "cases_resolved"), C("超时跟进单", "cases_overdue"),
        C("合规拦截", "compliance_blocked"), C("合规提醒", "compliance_warned"), C("资深顾问放行", "compliance_overridden"),
    ), ("answered", "asks_answered", "claims", "released", "expired", "dismissed", "escalated", "cases_opened",
        "cases_resolved", "cases_overdue", "compliance_blocked", "compliance_warned", "compliance_overridden")),
    "compliance": Table("合规记录", lambda r: r.get("compliance") or [], (
        C("时间", "label"), C("渠道", "surface_label"), C("处理", "action_label"), C("结论", "verdict"), C("规则", "rules_text"),
        C("内容", "text", True), C("操作人", "who", True), C("理由", "reason", True),
    )),
    "commenters": Table("互动最多的观众", topic("top_commenters"), (
        C("排名", "rank"), C("观众", "name", True), C("平台", "platform"), C("评论数", "comments"),
    )),
}
CSV_TABLES = ("summary", *TABLES)


def summary_rows(report: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """(指标, 数值) pairs of the 概览 sheet."""
    s, session = report["summary"], report["session"]
    return [
        ("场次", session["title"]), ("主题", session["theme"]), ("开始", session["start_label"]),
        ("结束", session["end_label"]), ("时区", session["timezone"]), ("时长（分钟）", session["duration_minutes"]),
        ("峰值在线（PCU）", s["viewers_peak"]), ("峰值时间", s["peak_label"]), ("平均在线（ACU）", s["viewers_avg"]),
        ("最终在线", s["viewers_latest"]), ("观看时长（人·分钟）", s["watched_minutes"]), ("评论数", s["comments"]),
        ("互动人数", s["chatters"]), ("人均评论", s["messages_per_chatter"]), ("UV", s["visitors"]), ("PV（进房）", s["enters"]),
        ("点赞", s["likes"]), ("礼物数", s["gifts"]), ("礼物价值（元）", s["gift_value_yuan"]), ("新增关注", s["follows"]),
        ("分享", s["shares"]), ("提问", s["questions"]), ("已回复", s["answered"]), ("回复率", s["answer_rate"]),
        ("首次响应中位数（秒）", s["frt_median_s"]), ("首次响应 P90（秒）", s["frt_p90_s"]), ("正面占比", s["positive_share"]),
        ("中性占比", s["neutral_share"]), ("负面占比", s["negative_share"]), ("情感均分", s["sentiment_mean"]),
        ("审核拦截", s["hidden"]), ("刷屏合并", s["merged"]), ("扫码查询", s.get("scans")),
        ("生成时间（北京时间）", local_time(report["generated_at"], session["timezone"])),
    ]


def safe_text(value: Any) -> Any:
    """Inert text for spreadsheets: no formula, no control characters."""
    if not isinstance(value, str):
        return value
    value = ILLEGAL.sub("", value)
    return "'" + value if value.startswith(FORMULA_STARTS) else value


CARD_STATUS_NAMES = {"open": "待回答", "claimed": "已认领", "escalated": "已升级", "answered": "已回答", "dismissed": "已忽略"}
"""The advisor queue's card statuses as marketers read them in a spreadsheet."""


def cell(column: Column | None, value: Any) -> Any:
    if value is None:
        return ""
    if column is not None and column.key == "status" and isinstance(value, str):
        value = CARD_STATUS_NAMES.get(value, value)
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, list):
        value = "、".join(str(v) for v in value)
    return safe_text(value) if isinstance(value, str) else value


def table_matrix(report: Mapping[str, Any], name: str) -> list[list[Any]]:
    """Header and rows of one table (with its 合计 row when it has one)."""
    if name == "summary":
        return [["指标", "数值"], *[[k, cell(None, v)] for k, v in summary_rows(report)]]
    table = TABLES[name]
    rows = table.rows(report)
    out = [[c.header for c in table.columns]]
    out += [[cell(c, row.get(c.key)) for c in table.columns] for row in rows]
    if table.totals and rows:
        total_row: list[Any] = []
        for index, c in enumerate(table.columns):
            if c.key in table.totals:
                total = sum((row.get(c.key) or 0) for row in rows)
                total_row.append(round(total, 2) if isinstance(total, float) else total)
            else:
                total_row.append("合计" if index == 0 else "")
        out.append(total_row)
    return out


def to_csv(report: Mapping[str, Any], table: str = "minutes") -> bytes:
    """One table as CSV, UTF-8 with a BOM so Excel shows the Chinese."""
    if table not in CSV_TABLES:
        raise ValidationError("table", f"应为 {', '.join(CSV_TABLES)} 之一")
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(table_matrix(report, table))
    return "\ufeff".encode() + buffer.getvalue().encode("utf-8")


def to_json(report: Mapping[str, Any]) -> bytes:
    return orjson.dumps(report, option=orjson.OPT_INDENT_2)


def to_xlsx(report: Mapping[str, Any]) -> bytes:
    """One sheet per table, plus 概览 (summary) first and 指标说明 (definitions) last."""
    book = Workbook()
    first = book.active
    assert first is not None
    book.remove(first)
    write_sheet(book, "概览", table_matrix(report, "summary"))
    for name, table in TABLES.items():
        write_sheet(book, sheet_title(table.sheet), table_matrix(report, name))
    write_sheet(book, "指标说明", [["指标", "定义"], *[[title, text] for _, title, text in GLOSSARY]])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def sheet_title(name: str) -> str:
    """Excel sheet names: at most 31 characters, none of []:*?/\\."""
    return re.sub(r"[\[\]:*?/\\]", "", name)[:31]


def write_sheet(book: Workbook, title: str, matrix: list[list[Any]]) -> None:
    sheet = book.create_sheet(title)
    for row in matrix:
        sheet.append(row)
    for cell_ in sheet[1]:
        cell_.font = Font(bold=True)
    for row in sheet.iter_rows(min_row=2):
        for item in row:
            if isinstance(item.value, str):
                item.data_type = "s"  # a text cell, even if it looks like a formula
    for index, header in enumerate(matrix[0], start=1):
        sheet.column_dimensions[get_column_letter(index)].width = max(10, min(40, len(str(header)) * 2 + 2))
    sheet.freeze_panes = "A2"


_env: jinja2.Environment | None = None


def file_env() -> jinja2.Environment:
    """Jinja for the downloadable file (no request: no login bar, no CSRF)."""
    global _env
    if _env is None:
        _env = add_filters(jinja2.Environment(loader=jinja2.FileSystemLoader(template_dirs()), autoescape=True,
                                              undefined=jinja2.StrictUndefined))
    return _env


def inline_css() -> str:
    static = PACKAGE_ROOT / "web" / "static"
    return "\n".join((static / name).read_text(encoding="utf-8") for name in ("app.css", "engagement/engagement.css"))


def to_html(report: Mapping[str, Any]) -> bytes:
    """A single self-contained HTML file: inline CSS and SVG, no script, no external reference."""
    template = file_env().get_template("engagement/report_file.html")
    html = template.render(report=report, charts=report_charts(report), glossary=GLOSSARY, css=inline_css(),
                           live=False)
    return html.encode("utf-8")


def render(report: Mapping[str, Any], fmt: str, table: str = "minutes") -> bytes:
    if fmt == "csv":
        return to_csv(report, table)
    if fmt == "json":
        return to_json(report)
    if fmt == "xlsx":
        return to_xlsx(report)
    if fmt == "html":
        return to_html(report)
    raise ValidationError("format", f"应为 {', '.join(FORMATS)} 之一")


def filename(report: Mapping[str, Any], fmt: str, table: str = "minutes") -> str:
    suffix = f"-{table}" if fmt == "csv" else ""
    return f"engagement-session-{report['session']['id']}{suffix}.{fmt}"
