"""Sentiment corrections: the API (valid, bad label, unknown message, duplicate, hostile text, roles) and the export
that ``livebot.sentiment.learned`` trains on."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from livebot.appkeys import DATABASE
from livebot.sentiment import learned
from livebot.sentiment.model import SentimentModel
from tests.engagement.support import ev, insert_events, make_show
from tests.support import bearer, login

HOSTILE = "<script>alert('x')</script>\u202e违禁\u202c控制\x07字符😀𠮷"


async def show_with_messages(client: Any, texts: list[str], label: str = "neutral") -> tuple[int, list[int]]:
    db = client.app[DATABASE]
    show = await make_show(db)
    events = [ev(60 + i, user=f"u{i}", text=text, label=label, score=0.0) for i, text in enumerate(texts)]
    return show.session_id, await insert_events(db, show.session_id, events)


def path(session_id: int, suffix: str = "") -> str:
    return f"/api/v1/engagement/sessions/{session_id}/sentiment/corrections{suffix}"


async def test_a_correction_is_stored_listed_and_a_second_one_replaces_it(client: Any) -> None:
    session_id, ids = await show_with_messages(client, ["主播这是演的吧", "还行"])
    headers = await bearer(client, "advisor")
    resp = await client.post(path(session_id), json={"message_id": ids[0], "label": "negative"}, headers=headers)
    assert resp.status == 200, await resp.text()
    body = await resp.json()
    assert body["text"] == "主播这是演的吧" and body["model_label"] == "neutral" and body["label"] == "negative"
    assert body["corrected_by"] not in ("", "unknown")
    again = await client.post(path(session_id), json={"message_id": ids[0], "label": "positive"}, headers=headers)
    assert again.status == 200
    listed = (await (await client.get(path(session_id), headers=headers)).json())["corrections"]
    assert [(c["message_id"], c["label"]) for c in listed] == [(ids[0], "positive")]


async def test_bad_label_and_malformed_bodies_are_refused_in_chinese(client: Any) -> None:
    session_id, ids = await show_with_messages(client, ["好"])
    headers = await bearer(client, "marketing")
    for body in ({"message_id": ids[0], "label": "angry"}, {"message_id": ids[0], "label": ["negative"]},
                 {"message_id": ids[0]}, {"message_id": "1", "label": "negative"}, {"message_id": True, "label": "negative"},
                 {"message_id": -1, "label": "negative"}, [1, 2], {"message_id": ids[0], "label": "x" * 100_000}):
        resp = await client.post(path(session_id), json=body, headers=headers)
        assert resp.status == 400, body
        assert any("\u4e00" <= ch <= "\u9fff" for ch in (await resp.text())), body
    nested = "[" * 5000 + "]" * 5000
    resp = await client.post(path(session_id), data=nested, headers={**headers, "Content-Type": "application/json"})
    assert resp.status == 400
    resp = await client.post(path(session_id), data="{not json", headers={**headers, "Content-Type": "application/json"})
    assert resp.status == 400
    assert (await (await client.get(path(session_id), headers=headers)).json())["corrections"] == []


async def test_unknown_message_other_sessions_message_and_unknown_session_are_404(client: Any) -> None:
    session_id, ids = await show_with_messages(client, ["好"])
    other_id, other_ids = await show_with_messages(client, ["别的场次"])
    headers = await bearer(client, "advisor")
    for sid, mid in ((session_id, ids[0] + 10_000), (session_id, other_ids[0]), (other_id + 1000, ids[0])):
        resp = await client.post(path(sid), json={"message_id": mid, "label": "negative"}, headers=headers)
        assert resp.status == 404, (sid, mid)
    assert (await client.get(path(other_id + 1000), headers=headers)).status == 404


async def test_hostile_text_snapshot_round_trips_as_data(client: Any) -> None:
    session_id, ids = await show_with_messages(client, [HOSTILE])
    headers = await bearer(client, "admin")
    resp = await client.post(path(session_id), json={"message_id": ids[0], "label": "negative"}, headers=headers)
    assert resp.status == 200 and (await resp.json())["text"] == HOSTILE
    lines = (await (await client.get(path(session_id, ".jsonl"), headers=headers)).read()).decode("utf-8").splitlines()
    assert [json.loads(line) for line in lines] == [{"text": HOSTILE, "label": "negative"}]


async def test_roles_other_than_advisor_marketing_admin_are_denied(client: Any) -> None:
    session_id, ids = await show_with_messages(client, ["好"])
    body = {"message_id": ids[0], "label": "negative"}
    assert (await client.post(path(session_id), json=body)).status == 401
    for role in ("producer", "trace", "metrics"):
        headers = await bearer(client, role)
        assert (await client.post(path(session_id), json=body, headers=headers)).status == 403, role
        assert (await client.get(path(session_id, ".jsonl"), headers=headers)).status == 403, role
    assert (await client.get(path(session_id))).status == 401


async def test_browser_session_needs_csrf(client: Any) -> None:
    session_id, ids = await show_with_messages(client, ["好"])
    csrf = await login(client, "marketing")
    body = {"message_id": ids[0], "label": "negative"}
    assert (await client.post(path(session_id), json=body)).status in (400, 403)
    assert (await client.post(path(session_id), json=body, headers={"X-CSRF-Token": csrf})).status == 200


async def test_exported_corrections_train_the_learned_model(client: Any, tmp_path: Path) -> None:
    texts = ["主播这是演的吧，托也太多了", "客服三天不回消息", "宝宝喝了一个月长了两斤"]
    wanted = ["negative", "negative", "positive"]
    session_id, ids = await show_with_messages(client, texts)
    headers = await bearer(client, "advisor")
    for mid, label in zip(ids, wanted, strict=True):
        assert (await client.post(path(session_id), json={"message_id": mid, "label": label}, headers=headers)).status == 200
    exported = tmp_path / "corrections.jsonl"
    exported.write_bytes(await (await client.get(path(session_id, ".jsonl"), headers=headers)).read())
    assert learned.read_labelled([str(exported)]) == list(zip(texts, wanted, strict=True))
    out = tmp_path / "weights.json"
    assert learned.main([str(out), str(exported)]) == 0
    model = SentimentModel(learned=learned.LearnedSentiment(json.loads(out.read_text(encoding="utf-8"))["weights"]))
    assert [model.analyze(text).label for text in texts] == wanted


async def test_report_page_lists_messages_escaped_with_the_correction_control(client: Any) -> None:
    session_id, ids = await show_with_messages(client, [HOSTILE, "还行"])
    await login(client, "marketing")
    html = await (await client.get(f"/reports/sessions/{session_id}")).text()
    section = html.split('id="sentiment-messages"', 1)[1]
    assert "评论情感" in section and section.count(">标错了<") == 2 and f'data-message-id="{ids[0]}"' in section
    assert "<script>alert" not in html and "&lt;script&gt;alert" in section
    assert "/static/engagement/corrections.js" in html
