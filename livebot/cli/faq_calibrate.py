"""``livebot faq calibrate``: refit FAQ confidence from a session's advisor actions, print before/after.

Labels come from the console's question cards of one session (``--session ID``: answered
with an entry, answered with a free text, dismissed) or from a JSON-lines file of recorded
labels (``--labels FILE``: ``{"text", "action", "faq_id"}``, action one of
``answered``/``free_answer``/``dismissed``). See ``livebot.faq.recalibrate``.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import IO, Any

from livebot.cli.options import add_config_option, config_from_args
from livebot.config import Config
from livebot.errors import ValidationError
from livebot.faq.evaluation import read_cases
from livebot.faq.kb import load_kb, sample_kb_path
from livebot.faq.recalibrate import LabelError, Recalibration, cases_from_labels, recalibrate


def register(actions: argparse._SubParsersAction) -> None:
    """Add ``faq calibrate``."""
    calibrate = actions.add_parser("calibrate", help="refit FAQ confidence from advisors' actions in a session")
    calibrate.add_argument("--kb", default=str(sample_kb_path()), help="knowledge base (.toml, .json or .csv)")
    source = calibrate.add_mutually_exclusive_group(required=True)
    source.add_argument("--session", type=int, help="stream session id: its answered and dismissed question cards")
    source.add_argument("--labels", help='JSON lines {"text", "action", "faq_id"}')
    add_config_option(calibrate)
    calibrate.set_defaults(func=run_calibrate)


def run_calibrate(args: argparse.Namespace, stdout: IO[str] | None = None) -> int:
    """Print the before/after figures, refit constants and proposed aliases."""
    out = stdout or sys.stdout
    entries = load_kb(args.kb)
    if args.labels:
        labels = read_cases(args.labels, ("text", "action"))
    else:
        if args.session <= 0:
            raise ValidationError("--session", "应为正整数")
        labels = asyncio.run(session_labels(config_from_args(args), args.session))
    try:
        result = recalibrate(entries, cases_from_labels(labels, entries))
    except LabelError as err:
        raise ValidationError("labels", str(err)) from err
    out.write(format_recalibration(result))
    return 0


async def session_labels(config: Config, session_id: int) -> list[dict[str, Any]]:
    """Advisor actions of one session as labels: every asker's wording of each closed card."""
    from sqlalchemy import select

    from livebot.console.models import QuestionCard
    from livebot.storage.engine import Database

    db = Database.open(config.database.url)
    try:
        async with db.sessions() as session:
            cards = (await session.scalars(
                select(QuestionCard).where(QuestionCard.session_id == session_id,
                                           QuestionCard.status.in_(("answered", "dismissed")))
            )).all()
    finally:
        await db.close()
    labels = []
    for card in cards:
        if card.status == "dismissed":
            action, faq_id = "dismissed", None
        else:
            action, faq_id = ("answered", card.faq_id) if card.faq_id else ("free_answer", None)
        texts = [card.text, *(str(asker.get("text") or "") for asker in card.askers or [] if isinstance(asker, dict))]
        labels += [{"text": text, "action": action, "faq_id": faq_id} for text in dict.fromkeys(texts) if text.strip()]
    return labels


def format_recalibration(result: Recalibration) -> str:
    """Before/after on the held-back labels, then what to apply."""
    rows = [("top-1", "top1"), ("top-3", "top3"), ("abstention", "abstention"), ("question F1", "qd_f1")]
    lines = [
        f"labels: {result.fitted_on} fitted on, {result.held_back} held back",
        f"{'held back':<22} before   after",
        f"{'log-loss (lower=better)':<22} {result.log_loss_before:.4f}   {result.log_loss_after:.4f}",
        *(f"{label:<22} {getattr(result.before, key):.3f}    {getattr(result.after, key):.3f}" for label, key in rows),
        f"CALIBRATION = ({', '.join(f'{w:.2f}' for w in result.weights)})",
        f"CALIBRATION_BIAS = {result.bias:.2f}",
        f"proposed aliases: {len(result.aliases)}",
        *(f"  {entry_id}\t{text}" for entry_id, text in result.aliases),
    ]
    return "\n".join(lines) + "\n"
