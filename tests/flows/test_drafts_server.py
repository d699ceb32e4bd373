"""The drafts server: a stored DOCX reachable by the link in its Prefect artifact, and nothing else."""

from __future__ import annotations

import urllib.error
import urllib.request
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from engine.reports.artifacts import document_url, draft_artifacts, draft_records
from engine.state.db import open_store, session_factory
from engine.state.models import DocumentRecord
from engine.tick import tick
from flows import drafts_server


@pytest.fixture
def served(seed_plan, store):
    sessions = session_factory(open_store(store))
    tick(seed_plan, sessions, datetime(2023, 10, 16, 7, 30, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh")))  # report opens
    server = drafts_server.start(sessions, "127.0.0.1", 0)
    yield sessions, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def get(url: str) -> tuple[int, dict, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), b""


def test_the_artifact_links_the_docx_and_the_link_serves_it(seed_plan, served):
    sessions, base = served
    with sessions() as s:
        docs = draft_records(s, seed_plan.id, {("bao-cao-hang-nam", "2023")})
        docx = next(d for d in docs if d.format == "docx")
    ((key, text, description),) = draft_artifacts(seed_plan, docs, base)
    url = document_url(base, docx)
    assert f"[du-thao-kh-28-khcn-2022-bao-cao-hang-nam-2023.docx]({url})" in text
    assert description == "Dự thảo báo cáo: Báo cáo kết quả hằng năm gửi Sở Nội vụ (năm 2023) - Kế hoạch số 28/KH-KHCN"
    status, headers, body = get(url)
    with sessions() as s:  # the DOCX was rendered on its first download, and kept
        stored = s.get(DocumentRecord, docx.id).content
    assert status == 200 and body == stored and body[:2] == b"PK" and get(url)[2] == body
    assert headers["Content-Disposition"] == ("attachment; filename*=UTF-8''"
                                              "du-thao-kh-28-khcn-2022-bao-cao-hang-nam-2023.docx")


def test_nothing_but_a_stored_draft_under_its_own_name(seed_plan, served):
    sessions, base = served
    with sessions() as s:
        first = s.scalars(select(DocumentRecord)).first()
    for path in (f"/du-thao/{first.id}/khac.docx", "/du-thao/999999/x.docx", "/", "/du-thao/",
                 f"/du-thao/{first.id}/../../etc/passwd", "/etc/passwd"):
        assert get(base + path)[0] == 404, path
