"""Moderation at ingest: flood merging, spam and banned-word flags, per-user rate limits.

Nothing acknowledged is ever dropped or deleted: every event is stored as its own row, so
engagement counts every comment. Moderation only decides how consoles see it:

- **Flood merging.** A comment whose text (compared loosely: width, case, spaces,
  punctuation and long character runs ignored, so ``666``/``6666!``/``６６６`` match) repeats
  an earlier comment in the same session (or, unrouted, the same source channel) within
  ``merge_window_seconds`` — or the same user's own within ``user_merge_window_seconds`` — is
  *merged* into that first comment, the head: it is stored with ``hidden=True``,
  ``flags=["merged"]`` and ``merged_count=0``, and the head's ``merged_count`` (1 for a plain
  comment) is raised by one in the same transaction. So ``sum(merged_count)`` over a session
  equals its number of comments, and one visible row says "奶源是哪里的 ×12". The window is
  fixed from the head's time: a flood that lasts longer starts a new head each window.
- **Spam.** Links (``link``), contact details — mobile numbers, WeChat ids, QQ numbers —
  (``contact``), advertising phrases (``ad``) and the configured banned words
  (``banned_word``) are flagged and the event hidden from advisors.
- **Rate limit.** More than ``rate_limit_messages`` comments by one user within
  ``rate_limit_seconds`` are flagged ``rate_limited`` and hidden: a comment is, when the
  window ending or starting at its time holds more (by event time, so a burst delivered late
  or out of order is caught, and a late steady viewer is not).

Only comments are moderated; likes, gifts and viewer counts pass untouched. Time is the
events' own time, so replays and tests behave the same at any speed, and relays may deliver
late and interleaved: rate windows are sorted by event time, and a late comment never
replaces a newer flood head. The writer judges each batch inside a journal
(:meth:`Moderator.begin`) and keeps what it learnt only for stored events: when some events were
stored before (a relay's re-sent batch) it rolls back and judges only the new ones again, and when
the commit fails :meth:`Moderator.rollback` undoes every change of that batch. State is
in memory and per instance (several instances behind Redis merge floods per instance only).
"""

from __future__ import annotations

import functools
import re
import unicodedata
from bisect import bisect_left, bisect_right, insort
from collections.abc import Callable
from dataclasses import dataclass

from livebot.chat.event import ChatEvent
from livebot.chat.routing import Route
from livebot.chat.settings import ModerationSettings

MERGED = "merged"
TEXT_CACHE_SIZE = 50_000
LATE_SECONDS = 60.0
"""How late (in event time, behind the newest comment seen) a comment may arrive and still be
judged against complete windows and heads; older state is pruned."""
WINDOW_MAX = 256
"""At most this many times kept per viewer's rate window (a viewer past it is flagged anyway)."""
Key = tuple[str, str]
HeadTable = dict[tuple[str, ...], "Head"]

LINK = re.compile(
    r"https?://|www\.|\b[a-z0-9][a-z0-9-]{0,62}\.(?:com|cn|net|org|top|xyz|vip|shop|cc|me|io|info|ltd|club|site|link|tk)\b",
    re.IGNORECASE,
)
PHONE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")
WECHAT = re.compile(r"(?:微信|威信|薇信|v信|vx|wx|weixin|加v|\+v)[\s:：号是为]*[a-z][-_a-z0-9]{5,19}", re.IGNORECASE)
QQ = re.compile(r"(?:qq|扣扣|企鹅)[\s:：号群是为]*\d{5,11}", re.IGNORECASE)
DIGIT_GAPS = re.compile(r"(?<=\d)[\s\-－—.·]+(?=\d)")
LOOSE_DROP = re.compile(r"[\s\W_]+")
RUNS = re.compile(r"(.)\1{2,}")
ALNUM = re.compile(r"[0-9a-z]")
COMPAT = re.compile(r"[\u00a0-\u00bf\u2000-\u2bff\u3000\u3200-\u33ff\uf900-\ufaff\ufe10-\ufe6f\uff00-\uffef]")
"""Characters NFKC may change (full-width forms, circled and enclosed digits, ligatures ...)."""


@dataclass(frozen=True, slots=True)
class Verdict:
    hidden: bool = False
    flags: tuple[str, ...] = ()
    merged_into: Key | None = None


CLEAN = Verdict()


@dataclass(slots=True)
class Head:
    key: Key
    ts: float


def restore_head(table: HeadTable, name: tuple[str, ...], previous: Head | None) -> None:
    """Undo a new head: the previous one (or none) heads ``name`` again."""
    if previous is None:
        table.pop(name, None)
    else:
        table[name] = previous


def fold(text: str) -> str:
    """Full-width to half-width, compatibility forms unified, lower-cased."""
    if COMPAT.search(text):
        text = unicodedata.normalize("NFKC", text)
    return text.casefold()


def detection_text(folded: str) -> str:
    """Digits joined across spaces and dashes (``138 0013-8000``): what the spam rules read."""
    return DIGIT_GAPS.sub("", folded)


def fingerprint(folded: str) -> str:
    """The loose form two comments must share to be merged."""
    loose = RUNS.sub(r"\1\1\1", LOOSE_DROP.sub("", folded))
    return loose or folded.strip()


class Moderator:
    """Judges each comment; one instance per app, called from the ingest's hot path."""

    def __init__(self, settings: ModerationSettings) -> None:
        self.settings = settings
        self.word_flags = {fold(w): "ad" for w in settings.ad_words if w.strip()}
        self.word_flags.update({fold(w): "banned_word" for w in settings.banned_words})
        alternatives = sorted(self.word_flags, key=len, reverse=True)
        self.word_pattern = re.compile("|".join(map(re.escape, alternatives))) if alternatives else None
        self.heads: HeadTable = {}
        self.user_heads: HeadTable = {}
        self.recent: dict[Key, list[float]] = {}
        """Each viewer's comment times, sorted, within the rate window plus ``LATE_SECONDS``."""
        self.latest = 0.0
        self.calls = 0
        self.journal: list[Callable[[], None]] | None = None
        """Undo steps of the batch being judged (None: not journaling)."""
        self.journal_latest = 0.0
        self.by_text: dict[str, tuple[tuple[str, ...], str]] = {}
        """Spam flags and fingerprint per text: chat repeats itself, so most comments are a lookup."""

    def begin(self) -> None:
        """Journal every change from now on, until :meth:`commit` or :meth:`rollback`."""
        self.journal = []
        self.journal_latest = self.latest

    def commit(self) -> None:
        """The judged events are stored: keep what was learnt (and prune, if due)."""
        self.journal = None
        self.maybe_prune()

    def rollback(self) -> None:
        """The judged events were not stored: undo every change since :meth:`begin`, newest first."""
        journal, self.journal = self.journal or [], None
        for undo in reversed(journal):
            undo()
        self.latest = self.journal_latest

    def judge(self, event: ChatEvent, route: Route) -> Verdict:
        """How ``event`` is shown: plain, flagged and hidden, or merged into an earlier comment.

        Judging remembers the event: journal it (:meth:`begin`) unless it is known to be stored."""
        if not self.settings.enabled or event.kind != "comment" or not event.text:
            return CLEAN
        ts = event.ts.timestamp()
        self.latest = max(self.latest, ts)
        self.calls += 1
        if self.journal is None:  # a journaled batch prunes on commit: pruning cannot be undone
            self.maybe_prune()
        known = self.by_text.get(event.text)
        if known is None:
            folded = fold(event.text)
            known = (tuple(self.content_flags(folded)), fingerprint(folded))
            if len(self.by_text) >= TEXT_CACHE_SIZE:
                self.by_text.clear()
            self.by_text[event.text] = known
        flags, print_ = known
        if self.rate_limited(event, ts):
            flags += ("rate_limited",)
        if flags:
            return Verdict(hidden=True, flags=flags)
        return self.merge(event, route, ts, print_)

    def maybe_prune(self) -> None:
        if self.calls >= 4096 or len(self.heads) + len(self.user_heads) > self.settings.max_tracked_keys:
            self.calls = 0
            self.prune()

    def content_flags(self, folded: str) -> list[str]:
        """Spam and banned-word flags for one folded text (empty for ordinary chat)."""
        flags: list[str] = []
        probe = folded
        if ALNUM.search(folded):  # links and contact details need ASCII letters or digits; most chat has none
            probe = detection_text(folded)
            if self.settings.flag_links and LINK.search(probe):
                flags.append("link")
            if self.settings.flag_contacts and (PHONE.search(probe) or WECHAT.search(probe) or QQ.search(probe)):
                flags.append("contact")
        if self.word_pattern is not None:
            for found in self.word_pattern.findall(probe):
                flag = self.word_flags[found]
                if flag not in flags:
                    flags.append(flag)
        return flags

    def rate_limited(self, event: ChatEvent, ts: float) -> bool:
        limit = self.settings.rate_limit_messages
        if not limit or not event.user.id:
            return False
        key = (event.source, event.user.id)
        window = self.recent.pop(key, None)  # re-inserted: the dict stays in order of last activity
        created = window is None
        if window is None:
            window = []
        self.recent[key] = window
        insort(window, ts)
        expired = bisect_left(window, window[-1] - self.settings.rate_limit_seconds - LATE_SECONDS)
        trimmed = window[: max(expired, len(window) - WINDOW_MAX)]
        del window[: len(trimmed)]
        if self.journal is not None:
            self.journal.append(functools.partial(self.restore_window, key, ts, trimmed, created))
        span = self.settings.rate_limit_seconds
        at = bisect_left(window, ts)
        before = bisect_right(window, ts) - bisect_left(window, ts - span)  # the window ending at ts
        after = bisect_right(window, ts + span) - at  # and the one starting at ts (events that came before it)
        return max(before, after) > limit

    def restore_window(self, key: Key, ts: float, trimmed: list[float], created: bool) -> None:
        """Undo a comment in a rate window: its time removed, the times it trimmed put back."""
        window = self.recent.get(key)
        if window is None:
            return
        at = bisect_left(window, ts)
        if at < len(window) and window[at] == ts:
            del window[at]
        window[:0] = trimmed
        if created and not window:
            del self.recent[key]

    def merge(self, event: ChatEvent, route: Route, ts: float, print_: str) -> Verdict:
        scope = str(route.session_id) if route.session_id is not None else f"{event.source}\x1f{event.channel}"
        user_key = (scope, event.source, event.user.id, print_) if event.user.id else None
        cross_key = (scope, print_)
        own = (event.source, event.id)
        if user_key is not None:
            head = self.user_heads.get(user_key)
            if head is not None and abs(ts - head.ts) <= self.settings.user_merge_window_seconds and head.key != own:
                return Verdict(hidden=True, flags=(MERGED,), merged_into=head.key)
        head = self.heads.get(cross_key)
        if head is not None and abs(ts - head.ts) <= self.settings.merge_window_seconds and head.key != own:
            return Verdict(hidden=True, flags=(MERGED,), merged_into=head.key)
        self.become_head(self.heads, cross_key, own, ts)
        if user_key is not None:
            self.become_head(self.user_heads, user_key, own, ts)
        return CLEAN

    def become_head(self, table: HeadTable, name: tuple[str, ...], own: Key, ts: float) -> None:
        """``own`` heads the floods of ``name`` from now, unless a newer head is there (a late comment)."""
        previous = table.get(name)
        if previous is not None and previous.ts > ts:
            return
        if self.journal is not None:
            self.journal.append(functools.partial(restore_head, table, name, previous))
        table.pop(name, None)  # re-inserted: the dicts stay in time order, so pruning stops early
        table[name] = Head(own, ts)

    def prune(self) -> None:
        """Forget heads and rate windows that can no longer match (bounded memory).

        The tables are kept in order of last update, which is time order for chat arriving in
        order, so this looks only at the expired entries at the front instead of all 200,000+
        (a comment arriving late may keep an expired neighbour a little longer; it can no
        longer match either way, since matching checks the time).
        """
        horizon = max(self.settings.merge_window_seconds, self.settings.user_merge_window_seconds) + LATE_SECONDS
        oldest = self.latest - horizon
        for table in (self.heads, self.user_heads):
            expired = []
            for name, head in table.items():
                if head.ts >= oldest:
                    break
                expired.append(name)
            for name in expired:
                del table[name]
        rate_oldest = self.latest - self.settings.rate_limit_seconds - LATE_SECONDS
        idle = []
        for name, window in self.recent.items():
            if window and window[-1] >= rate_oldest:
                break
            idle.append(name)
        for name in idle:
            del self.recent[name]
        overflow = len(self.heads) + len(self.user_heads) - self.settings.max_tracked_keys
        if overflow > 0:
            self.heads.clear()
            self.user_heads.clear()
