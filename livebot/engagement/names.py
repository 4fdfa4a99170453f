"""Chinese names marketing reads: platforms, figures, and each figure's definition (the help)."""

from __future__ import annotations

PLATFORM_NAMES = {
    "douyin": "抖音", "kuaishou": "快手", "channels": "视频号", "bilibili": "B站", "taobao": "淘宝直播",
    "wecom": "企业微信群", "web": "网页", "other": "其他",
}
NOT_ON_AIR = "未在播（开播前/结束后）"
NO_SITE = "未指定站点"


def platform_name(platform: str) -> str:
    return PLATFORM_NAMES.get(platform, platform)


GLOSSARY: tuple[tuple[str, str, str], ...] = (
    # (key, name shown, definition)
    ("viewers_peak", "峰值在线（PCU / Max viewers）",
     "同时在线人数的最高值：每分钟把各平台该分钟内上报的最高在线数相加（某平台该分钟没有上报时沿用它上一次的数值），取全场最大值。"),
    ("peak_time", "峰值时间（Peak time）", "达到峰值在线的那一分钟，按场次所在时区显示。"),
    ("viewers_avg", "平均在线（ACU / Average viewers）",
     "每分钟各平台最新在线数之和的平均值，从第一次收到在线人数开始计算。"),
    ("viewers_latest", "当前/最终在线", "最后一分钟各平台最新在线数之和。"),
    ("watched_minutes", "观看时长（人·分钟，Watched minutes）",
     "每分钟在线人数之和，即“在线人数 × 1 分钟”的累计，是平台观看时长的估算值。"),
    ("comments", "评论数（Messages）",
     "观众发出的评论/弹幕条数。含被合并的刷屏重复（观众确实发了），不含被审核拦截的垃圾信息。"),
    ("chatters", "互动人数（Chatters）", "发过至少一条计入评论的不同观众数（按平台 + 用户 ID 去重）。"),
    ("messages_per_chatter", "人均评论（Messages per chatter）", "评论数 ÷ 互动人数。"),
    ("visitors", "UV（独立访客）",
     "有任何记录的不同观众数：进入直播间、评论、点赞、送礼、关注、分享。平台只推送部分进场事件，故为下限。"),
    ("enters", "PV（进房次数）", "平台推送的“进入直播间”事件次数。"),
    ("likes", "点赞数", "点赞事件的点赞数之和（平台合并推送的按合并数计）。"),
    ("gifts", "礼物数", "礼物事件的礼物个数之和。"),
    ("gift_value", "礼物价值（元）", "平台上报的礼物价值之和，按 分 → 元 换算。"),
    ("follows", "新增关注", "关注事件次数。"),
    ("shares", "分享次数", "分享事件次数。"),
    ("questions", "提问数", "进入营养顾问工作台的提问次数（同一问题多人问按人次计；被判定为非问题而忽略的不计）。"),
    ("answered", "已回复", "已有首次回复的提问次数；回复率 = 已回复 ÷ 提问数。"),
    ("frt_median_s", "首次响应时间中位数（First response time, median）",
     "从观众提问到营养顾问首次回复的时间（Chatwoot 的 first response time），取中位数，单位秒；只统计已回复的提问。"),
    ("frt_p90_s", "首次响应时间 P90",
     "90% 的已回复提问在此时间内得到首次回复（最近秩法：排序后第 ⌈0.9n⌉ 个）。"),
    ("sentiment", "情感分布", "计入的评论中正面 / 中性 / 负面的占比（词典情感模型）；平均分在 -1（负面）到 1（正面）之间。"),
    ("hidden", "审核拦截", "被审核隐藏的垃圾信息条数：链接、联系方式、广告、违禁词、发言过快。"),
    ("merged", "刷屏合并", "与前一条相同、被合并显示的重复评论条数（已计入评论数）。"),
    ("segment", "段落 / 站点归属",
     "每条互动按其发生时刻归到当时正在播出的段落和主画面站点（以导播台实际切换记录为准，不是计划时间）。"),
    ("minute", "分钟与时区", "按 UTC 整分钟统计，页面按场次设定的时区显示。"),
    ("top_comments", "重复最多的评论",
     "各平台不提供单条评论的点赞数，因此这里列出被发送次数最多的评论文本（含刷屏合并的重复），而非“点赞最多”。"),
    ("keywords", "热词", "评论分词后按 TF-IDF 排序：TF 为提及该词的评论条数，IDF 取该词在通用中文语料中的信息量；已去除口头语等停用词。"),
    ("unanswered", "未回复的问题", "营养顾问工作台中仍为待处理、已认领或已升级、尚无回复的问题卡片，按提问人次排序。"),
    ("faq", "被问最多的知识库条目", "提问所对应的知识库条目（回复所用条目，否则为系统首选推荐），按提问人次排序。"),
)
