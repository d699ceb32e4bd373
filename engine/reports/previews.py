"""Drafts as people see them: a worked life of the seed plan (kh-28-khcn-2022) with what people wrote when they
confirmed, its drafts of every kind, rendered to PDF and PNG by LibreOffice; and the page-1 previews kept in docs/.

    python -m engine.reports.previews          # rewrite docs/preview-bao-cao.png, docs/preview-so-ket.png

The tests render the same drafts (tests/engine/test_reports_pdf.py) and fail when the previews are older than
the renderer's output would be: `docs/previews.json` holds a fingerprint of each previewed DOCX.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from io import BytesIO
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from engine.language.plan import Plan, load_plan
from engine.reports.drafts import render, requested_draft
from engine.runtime.people import confirm, extend, request
from engine.runtime.simulate import ConfirmPolicy, simulate, tick_time
from engine.state.db import open_store, session_factory

ROOT = Path(__file__).resolve().parents[2]
SEED = ROOT / "plan_definitions" / "kh-28-khcn-2022.yaml"
DOCS = ROOT / "docs"
FINGERPRINTS = DOCS / "previews.json"
PREVIEWS = {"bao-cao": "preview-bao-cao.png", "so-ket": "preview-so-ket.png"}
START, END = date(2022, 3, 15), date(2025, 12, 31)
BY = "Nguyễn Thị Hoa"  # who confirms: a working detail the drafts must not show


@dataclass(frozen=True)
class Done:
    """A confirmation a person makes by hand, before the simulated people would: what was done and its proof."""

    day: date
    step: str
    key: str | None
    result: str
    evidence: tuple[tuple[str, str], ...] = ()


# What the office wrote when confirming, in the seed plan's first two years.
DONE = (
    Done(date(2022, 3, 17), "quan-triet", None,
         "Tổ chức Hội nghị quán triệt Đề án số 02-ĐA/TU và Kế hoạch số 28/KH-KHCN tới toàn thể cán bộ, đảng viên, "
         "công chức, viên chức và người lao động của Sở",
         (("document_number", "01/BB-KHCN"), ("document_date", "17/3/2022"), ("date", "17/03/2022"),
          ("attendees", "52"), ("place", "Hội trường Sở"))),
    Done(date(2022, 3, 30), "dang-website", None,
         "Đăng tải toàn văn Đề án và Kế hoạch triển khai tại chuyên mục Tin hoạt động trên Trang thông tin điện tử "
         "của Sở", (("link", "https://khcn.thainguyen.gov.vn/tin-hoat-dong/de-an-02"),)),
    Done(date(2022, 6, 28), "quy-che-phoi-hop", None,
         "Ký kết Quy chế phối hợp công tác giữa Sở Khoa học và Công nghệ với Ủy ban MTTQ Việt Nam tỉnh trong giám "
         "sát, phản biện xã hội", (("document_number", "15/QC-KHCN"), ("document_date", "28/06/2022"))),
    Done(date(2023, 5, 24), "cung-cap-thong-tin", "2023-05",
         "Cung cấp 12 tin, bài và 03 văn bản chỉ đạo cho Cổng Thông tin điện tử tỉnh"),
    Done(date(2023, 6, 14), "nang-cao-nhan-thuc", "2023-H1",
         "Quán triệt Kết luận số 120-KL/TW tại hội nghị giao ban cơ quan; 100% phòng, đơn vị xây dựng kế hoạch "
         "thực hiện", (("document_number", "45/TB-KHCN"), ("document_date", "14/06/2023"))),
    Done(date(2023, 9, 19), "phoi-hop-mttq", "2023-Q3",
         "Phối hợp với Ủy ban MTTQ tỉnh giám sát việc thực hiện chính sách hỗ trợ doanh nghiệp đổi mới công nghệ; "
         "tiếp thu, giải quyết 03 kiến nghị sau giám sát"),
    Done(date(2023, 9, 28), "so-ket", None,
         "Tổ chức Hội nghị sơ kết 02 năm thực hiện Đề án; biểu dương 02 tập thể, 05 cá nhân",
         (("document_number", "85/BC-KHCN"), ("document_date", "28/09/2023"))),
)
EXTENSION = (date(2023, 9, 20), "so-ket", date(2023, 10, 20), "Chờ số liệu tổng hợp của các phòng, đơn vị thuộc Sở")
REQUEST = date(2024, 5, 2)  # Sở Nội vụ asks for a report


def seed_life(plan: Plan, sessions: Callable[[], Session], end: date = END, *, never_from: date | None = None,
              extension: bool = False, done: tuple[Done, ...] = DONE) -> None:
    """The seed plan lived from its start to `end` by the same tick code a live run uses: people confirm on the
    due day (from `never_from`, nobody confirms any more), some by hand first with what they did (`done`), the
    interim review's deadline extended (`extension`), a report requested on REQUEST."""
    events: list[tuple[date, Callable[[Session, Any], Any]]] = []
    for d in done:
        if never_from is None or d.day < never_from:
            events.append((d.day, lambda s, now, d=d: confirm(plan, s, d.step, by=BY, at=d.day, now=now, key=d.key,
                                                            evidence=dict(d.evidence), result=d.result)))
    if extension:
        on, step, to, why = EXTENSION
        events.append((on, lambda s, now: extend(plan, s, step, to=to, by="Giám đốc Sở", reason=why,
                                                 key=None, at=on, now=now)))
    events.append((REQUEST, lambda s, now: request(plan, s, "bao-cao-theo-yeu-cau", at=REQUEST, now=now,
                                                   by="Sở Nội vụ tỉnh Thái Nguyên")))
    day = START
    for when, act in sorted((e for e in events if e[0] <= end), key=lambda e: e[0]):
        _live(plan, sessions, day, when, never_from)
        with sessions() as session, session.begin():
            act(session, tick_time(plan, when))
        day = when
    _live(plan, sessions, day, end, never_from)


def _live(plan: Plan, sessions: Callable[[], Session], start: date, end: date, never_from: date | None) -> None:
    if never_from is None or end < never_from:
        simulate(plan, sessions, start, end, ConfirmPolicy.parse("on-time"))
        return
    if start < never_from:
        simulate(plan, sessions, start, never_from, ConfirmPolicy.parse("on-time"))
        start = never_from
    simulate(plan, sessions, start, end, ConfirmPolicy.parse("never"))


# The drafts of each kind: (store, step, period, the day it is drafted).
KINDS: dict[str, tuple[str, str | None, str | None, date]] = {
    "bao-cao": ("lived", None, "2023", date(2023, 10, 25)),
    "so-ket": ("lived", "so-ket", None, date(2023, 9, 29)),
    "tong-ket": ("lived", "tong-ket", None, date(2025, 9, 30)),
    "theo-yeu-cau": ("lived", "bao-cao-theo-yeu-cau", "yc-2024-05-02", date(2024, 5, 9)),
    "qua-han": ("late", None, "2023", date(2023, 10, 25)),
}


def stores(plan: Plan, folder: Path, names: set[str] | None = None) -> dict[str, Callable[[], Session]]:
    """The stores the drafts are made from: 'lived' (on time, with results, a request) and 'late' (nobody
    confirms from July 2023, the interim review extended)."""
    out = {}
    for name in sorted(names or {"lived", "late"}):
        sessions = session_factory(open_store(f"sqlite:///{folder / f'{name}.db'}"))
        if name == "lived":
            seed_life(plan, sessions, date(2025, 9, 30))
        else:
            seed_life(plan, sessions, date(2023, 10, 25), never_from=date(2023, 7, 1), extension=True)
        out[name] = sessions
    return out


def drafts(plan: Plan, folder: Path, kinds: tuple[str, ...] = tuple(KINDS)) -> dict[str, Any]:
    """The Draft of each kind, drafted from stores made in `folder`."""
    made = stores(plan, folder, {KINDS[k][0] for k in kinds})
    out = {}
    for kind in kinds:
        store, step, period, today = KINDS[kind]
        with made[store]() as session:
            out[kind] = requested_draft(plan, session, step, period, today)
    return out


def docx_of(draft: Any) -> bytes:
    return render(draft, "docx", draft.meta["as_of"])


def fingerprint(docx: bytes) -> str:
    """A digest of a DOCX's parts (the zip's own timestamps left out): equal when LibreOffice would draw the
    same pages."""
    digest = hashlib.sha256()
    with zipfile.ZipFile(BytesIO(docx)) as z:
        for name in sorted(z.namelist()):
            digest.update(name.encode() + b"\0" + z.read(name))
    return digest.hexdigest()


def soffice() -> str | None:
    """The LibreOffice program, if installed."""
    return shutil.which("soffice") or shutil.which("libreoffice")


def to_pdf(documents: dict[str, bytes], folder: Path) -> dict[str, Path]:
    """Render DOCX documents to PDF with one headless LibreOffice run (its own profile in `folder`, so it
    neither needs a writable HOME nor meets another LibreOffice's lock).

    Raises:
        RuntimeError: LibreOffice is missing or made no PDF.
    """
    program = soffice()
    if program is None:
        raise RuntimeError("LibreOffice (soffice) is not installed: apt-get install libreoffice-writer-nogui")
    folder.mkdir(parents=True, exist_ok=True)
    sources = []
    for name, data in documents.items():
        path = folder / f"{name}.docx"
        path.write_bytes(data)
        sources.append(str(path))
    env = {**os.environ, "HOME": str(folder)}
    run = subprocess.run([program, f"-env:UserInstallation=file://{folder / 'lo-profile'}", "--headless",
                          "--convert-to", "pdf", "--outdir", str(folder), *sources],
                         env=env, capture_output=True, text=True, timeout=300)
    out = {name: folder / f"{name}.pdf" for name in documents}
    missing = [str(p) for p in out.values() if not p.exists()]
    if missing:
        raise RuntimeError(f"LibreOffice made no PDF for {', '.join(missing)}: {run.stderr.strip()[-500:]}")
    return out


def page_png(pdf: Path, target: Path, page: int = 1, dpi: int = 80) -> Path:
    """One page of a PDF as a PNG (poppler's pdftoppm)."""
    stem = target.with_suffix("")
    subprocess.run(["pdftoppm", "-png", "-r", str(dpi), "-f", str(page), "-l", str(page), "-singlefile", str(pdf),
                    str(stem)], check=True, capture_output=True)
    return target


def main(argv: list[str] | None = None) -> int:
    """Rewrite the page-1 previews in docs/ and their fingerprints."""
    plan = load_plan(SEED)
    with tempfile.TemporaryDirectory() as tmp:
        made = drafts(plan, Path(tmp), tuple(PREVIEWS))
        documents = {kind: docx_of(d) for kind, d in made.items()}
        pdfs = to_pdf(documents, Path(tmp) / "pdf")
        for kind, png in PREVIEWS.items():
            page_png(pdfs[kind], DOCS / png)
            print(f"wrote {DOCS / png}")
    FINGERPRINTS.write_text(json.dumps({kind: {"png": PREVIEWS[kind], "docx": fingerprint(documents[kind])}
                                        for kind in PREVIEWS}, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {FINGERPRINTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
