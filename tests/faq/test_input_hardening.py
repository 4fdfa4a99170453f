"""Bad input on the knowledge-base API, pages and files: clear errors, nothing half-stored.

Complements test_kb_pages.py, test_import_cli.py and test_learning.py: entry ids with NUL
characters in the URL (PostgreSQL cannot even compare them), JSON nested past the parser's
recursion limit, lone UTF-16 surrogates, oversized forms, a repeated create, viewer phrasings
on the review page, and spreadsheet formulas in the CSV export.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from urllib.parse import urlencode

import pytest
from aiohttp.test_utils import TestClient

from livebot.appkeys import DATABASE
from livebot.cli import main
from livebot.cli.faq_kb import read_entries
from livebot.faq import kb, learning, store
from livebot.faq.errors import KnowledgeBaseError
from livebot.faq.kb import FaqEntry, dump_csv, parse_csv
from tests.faq.test_import_cli import config_for, entries_in, write
from tests.faq.test_kb_pages import ENTRY, form, seed
from tests.support import bearer, login

NUL_IDS = ["milk%00source", "%00", "a%00%27%3B%20DROP%20TABLE%20faq_entries%3B--"]
NESTED = b'{"id": "deep", "question": "q", "answer": "a", "tags": ' + b"[" * 5000 + b"]" * 5000 + b"}"
FORMULAS = ["=HYPERLINK(\"http://evil.example\",\"点我\")", "+1 厉害", "-2 差评", "@SUM(A1:A9)", "'=已转义", "''+两个撇号"]


@pytest.mark.parametrize("entry_id", NUL_IDS)
async def test_ids_with_nul_are_not_found_everywhere(client: TestClient, entry_id: str) -> None:
    await seed(client)
    headers = await bearer(client, "advisor")
    for method, path in (("GET", f"/api/v1/faq/entries/{entry_id}"), ("GET", f"/api/v1/faq/entries/{entry_id}/history"),
                         ("DELETE", f"/api/v1/faq/entries/{entry_id}")):
        resp = await client.request(method, path, headers=headers)
        assert resp.status == 404, (method, path, await resp.text())
    put = await client.put(f"/api/v1/faq/entries/{entry_id}", json={**ENTRY, "version": 1}, headers=headers)
    assert put.status in (400, 404)
    csrf = await login(client, "advisor")
    for path in (f"/faq/{entry_id}", f"/faq/{entry_id}/history"):
        assert (await client.get(path)).status == 404, path
    for path in (f"/faq/{entry_id}", f"/faq/{entry_id}/delete"):
        resp = await client.post(path, data=form(csrf, version="1"))
        assert resp.status == 404, path
    assert [e.id for e in await store.active_entries(client.app[DATABASE])] == ["milk-source"]


async def test_json_nested_past_the_recursion_limit_is_400(client: TestClient) -> None:
    await seed(client)
    headers = {**await bearer(client, "advisor"), "Content-Type": "application/json"}
    for method, path in (("POST", "/api/v1/faq/entries"), ("PUT", "/api/v1/faq/entries/milk-source")):
        resp = await client.request(method, path, data=io.BytesIO(NESTED), headers=headers)
        assert resp.status == 400, (path, await resp.text())
        assert (await resp.json())["field"] == "body"
    assert [e.id for e in await store.active_entries(client.app[DATABASE])] == ["milk-source"]


@pytest.mark.parametrize(("field", "value"), [
    ("question", '"奶源\\ud800来自哪里？"'),
    ("answer", '"来自\\udc00牧场"'),
    ("aliases", '["奶源在哪\\ud83d"]'),
    ("tags", '["\\udfff"]'),
])
async def test_lone_surrogates_are_400_naming_the_field(client: TestClient, field: str, value: str) -> None:
    headers = {**await bearer(client, "advisor"), "Content-Type": "application/json"}
    body = ('{"id": "surrogate", "question": "奶源来自哪里？", "answer": "自有牧场。", "aliases": [], "tags": [], '
            f'"{field}": {value}}}')
    resp = await client.post("/api/v1/faq/entries", data=body.encode(), headers=headers)
    assert resp.status == 400, await resp.text()
    assert (await resp.json())["field"] == field
    assert await store.active_entries(client.app[DATABASE]) == []


async def test_oversized_form_is_413_and_stores_nothing(client: TestClient) -> None:
    csrf = await login(client, "advisor")
    body = urlencode(form(csrf, id="big", answer="长" * 600_000)).encode()
    resp = await client.post("/faq/new", data=io.BytesIO(body), headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert resp.status == 413
    assert await store.active_entries(client.app[DATABASE]) == []
    ok = await client.post("/faq/new", data=form(csrf, id="small"), allow_redirects=False)
    assert ok.status == 303


async def test_creating_the_same_entry_twice_stores_it_once(client: TestClient) -> None:
    headers = await bearer(client, "advisor")
    first = await client.post("/api/v1/faq/entries", json=ENTRY, headers=headers)
    again = await client.post("/api/v1/faq/entries", json=ENTRY, headers=headers)
    assert (first.status, again.status) == (201, 409)
    assert (await again.json())["error"]
    assert len(await store.history(client.app[DATABASE], ENTRY["id"])) == 1


async def test_viewer_phrasings_are_escaped_on_the_review_page(client: TestClient) -> None:
    await seed(client)
    phrasing = "<script>alert('x')</script>奶源到底是哪里的😀"
    proposal = await learning.propose_alias(client.app[DATABASE], "milk-source", phrasing, "李营养师")
    assert proposal is not None and proposal.phrasing == phrasing
    await login(client, "advisor")
    html = await (await client.get("/faq/review")).text()
    assert "<script>alert('x')</script>" not in html
    assert "&lt;script&gt;alert(" in html and "奶源到底是哪里的😀" in html


def test_csv_export_guards_formulas_and_round_trips() -> None:
    entry = FaqEntry(id="formula", question=FORMULAS[0], aliases=tuple(FORMULAS[1:]), answer=FORMULAS[2], tags=("@标签",))
    text = dump_csv([entry])
    [row] = list(csv.reader(io.StringIO(text)))[1:]
    assert row[1].startswith("'=HYPERLINK") and row[2].startswith("'+1 厉害") and row[3] == "'-2 差评"
    assert row[4] == "'@标签"
    assert not any(cell.startswith(("=", "+", "-", "@", "\t")) for cell in row)
    assert parse_csv(text) == [entry]
    aliases_first = FaqEntry(id="alias-first", question="奶源？", aliases=("=1+1", "普通"), answer="答", tags=())
    assert parse_csv(dump_csv([aliases_first])) == [aliases_first]


def test_csv_typed_in_a_spreadsheet_with_an_apostrophe_keeps_the_text() -> None:
    typed = "id,question,aliases,answer,tags,needs_human\nq1,'=不是公式,,'+8 段,,false\n"
    [entry] = parse_csv(typed)
    assert (entry.question, entry.answer) == ("=不是公式", "+8 段")


@pytest.mark.parametrize(("text", "field"), [
    ('[[faq]]\nid = "a"\nquestion = "奶源\\u0000？"\nanswer = "x"\n', "question"),
    ('[[faq]]\nid = "a"\nquestion = "奶源？"\nanswer = "' + "长" * 5000 + '"\n', "answer"),
    ('[[faq]]\nid = "a"\nquestion = "奶源？"\naliases = ["\\u202e反转"]\nanswer = "x"\n', "aliases"),
])
def test_import_of_unstorable_or_oversized_entries_names_the_field(tmp_path: Path, database_url: str,
                                                                    capsys: pytest.CaptureFixture[str],
                                                                    text: str, field: str) -> None:
    path = write(tmp_path, "kb.toml", text)
    with pytest.raises(KnowledgeBaseError) as info:
        read_entries(str(path))
    assert info.value.field == field
    config = config_for(tmp_path, database_url)
    assert main(["faq", "import", str(path), "--config", str(config)]) == 1
    assert field in capsys.readouterr().err
    assert entries_in(database_url) == []


def test_import_of_binary_garbage_is_explained(tmp_path: Path, database_url: str,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    config = config_for(tmp_path, database_url)
    for name, data in (("kb.toml", b"\x00\xff\xfe\x80garbage"), ("kb.csv", "奶源".encode("gbk")),
                       ("kb.json", b'{"faq": ' + b"[" * 5000 + b"]" * 5000 + b"}"),
                       ("deep.toml", b"[[faq]]\nid = " + b"[" * 5000 + b"]" * 5000 + b"\n")):
        path = write(tmp_path, name, data)
        assert main(["faq", "import", str(path), "--config", str(config)]) == 1, name
        err = capsys.readouterr().err
        assert err.startswith("livebot: error:") and "Traceback" not in err, (name, err)
    assert entries_in(database_url) == []
    assert kb.FIELDS[0] == "id"
