"""The guard every surface shares: the shipped rules plus the brand's, and the compliance log.

Surfaces call ``Guard.check`` (pure, microseconds) and ``Guard.record`` for anything that was
blocked, warned, held or overridden, so the session's compliance log tells marketing/legal
what happened and who decided.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import web

from livebot.compliance import store
from livebot.compliance.engine import SEVERITIES, Result, Rule, RuleSet, default_rules, load_rules
from livebot.compliance.models import BrandRule
from livebot.compliance.text import fold_text
from livebot.errors import ConfigError
from livebot.storage.engine import Database

logger = logging.getLogger(__name__)
GUARD: web.AppKey[Guard] = web.AppKey("compliance.guard")


@dataclass(frozen=True)
class ComplianceSettings:
    """The ``[compliance]`` config section."""

    senior_advisors: tuple[str, ...] = ()
    """Usernames of advisors who may approve or override a ``warn`` (admins always may)."""
    rules_file: str = ""
    """Another rule file instead of the shipped ``livebot/compliance/rules.toml`` (empty: shipped)."""

    def __post_init__(self) -> None:
        if any(not isinstance(name, str) or not name.strip() for name in self.senior_advisors):
            raise ConfigError("compliance.senior_advisors", "must be non-empty usernames")


class Guard:
    """Checks texts with the current rule set and writes the compliance log."""

    def __init__(self, db: Database, settings: ComplianceSettings) -> None:
        self.db = db
        self.settings = settings
        try:
            self.base = load_rules(_path(settings.rules_file)) if settings.rules_file else default_rules()
        except ValueError as err:
            raise ConfigError("compliance.rules_file", str(err)) from err
        self.rules = self.base

    def check(self, text: str) -> Result:
        return self.rules.check(text)

    def warm_up(self) -> None:
        """Load what the first check would (pinyin, the word list, OpenCC) before traffic arrives."""
        self.rules.check("提高免役力，比母汝還好，mianyili")

    def is_senior(self, username: str, role: str) -> bool:
        return role == "admin" or username in self.settings.senior_advisors

    async def reload_brand_rules(self) -> None:
        """Recompile the brand's active rules from the database on top of the shipped ones."""
        rows = await store.brand_rules(self.db, active_only=True)
        compiled = []
        for row in rows:
            try:
                compiled.append(brand_rule(row, self.base))
            except ValueError:
                logger.exception("compliance brand rule %s skipped", row.rule_id)
        self.rules = self.base.with_rules(compiled)

    async def record(self, surface: str, action: str, result: Result, text: str, **context: Any) -> None:
        """Log one decision; a logging failure never blocks the surface (it is logged itself)."""
        try:
            await store.log_event(self.db, surface=surface, action=action, result=result, text=text, **context)
        except Exception:
            logger.exception("compliance log write failed surface=%s action=%s", surface, action)

    async def screen(self, surface: str, text: str, **context: Any) -> Result:
        """Check a text going out unattended: log blocked and warned ones, return the result."""
        result = self.check(text)
        if result.verdict != "ok":
            await self.record(surface, "blocked" if result.blocked else "warned", result, text, **context)
        return result


def brand_rule(row: BrandRule, base: RuleSet) -> Rule:
    """A brand rule row as an engine rule: its terms and exceptions matched as folded literals."""
    if row.severity not in SEVERITIES:
        raise ValueError(f"brand rule {row.rule_id}: severity {row.severity!r}")
    terms = [fold_text(term, base.dodges) for term in row.terms if term.strip()]
    terms = [term for term in terms if term]
    if not terms:
        raise ValueError(f"brand rule {row.rule_id}: no terms")
    exceptions = [fold_text(term, base.dodges) for term in row.exceptions if term.strip()]
    alternation = "|".join(re.escape(term) for term in sorted(set(terms), key=len, reverse=True))
    return Rule(
        id=f"brand.{row.rule_id}",
        category=row.category,
        severity="block" if row.severity == "block" else "warn",
        explanation=row.explanation,
        rewording=row.rewording or "请改写为可核实的事实陈述。",
        patterns=(re.compile(alternation),),
        anchors=(frozenset(terms),),
        widths=(max(len(term) for term in terms),),
        unless_clause=tuple(re.compile(re.escape(term)) for term in exceptions if term),
        policy="brand",
        source="database",
    )


def _path(value: str) -> Path:
    return Path(value)


def finding_message(result: Result) -> str:
    """One line naming the first finding, its explanation and the suggested rewording."""
    first = result.findings[0]
    return f"合规{'拦截' if result.blocked else '提醒'}（{first.rule}）“{first.excerpt}”：{first.explanation} 建议改为：{first.rewording}"
