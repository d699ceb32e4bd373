"""Reports in the owner's name: in a reporting regime a department that is a body of its own (a unit with
`issuer:`) drafts its report under its own header, addressed to the step's recipient - not under the header of
the plan's issuer, which receives the reports. Checked on the Draft, and on paper (LibreOffice)."""

from __future__ import annotations

from datetime import date

import pytest

from engine.plan import load_plan
from engine.reports.drafts import draft, render, window_of
from engine.reports.previews import soffice, to_pdf
from engine.state.db import scratch_store, session_factory
from engine.state.store import occurrences_of
from engine.tick import tick
from tests.engine.pdf_pages import pages
from tests.engine.state_helpers import at, no_documents

# The reproducer: the province's People's Committee sets the regime, the Department of Justice reports
# to the Department of Home Affairs, which compiles the province's report.
REGIME = """\
plan:
  id: che-do-bao-cao-cchc-2024
  number: 35/KH-UBND
  title: Chế độ báo cáo cải cách hành chính năm 2024
  issuer:
    name: Ủy ban nhân dân tỉnh Thái Nguyên
    place: Thái Nguyên
    collective: ỦY BAN NHÂN DÂN
    signer_authority: KT.
    head_title: CHỦ TỊCH
    signer_title: PHÓ CHỦ TỊCH
  issued_on: 10/01/2024
  period: {start: 10/01/2024, end: 31/12/2024}
units:
  so-noi-vu: {name: Sở Nội vụ tỉnh Thái Nguyên, abbreviation: SNV}
  so-tu-phap:
    name: Sở Tư pháp
    issuer:
      name: Sở Tư pháp
      parent: UBND tỉnh Thái Nguyên
      abbreviation: STP
      place: Thái Nguyên
      signer_authority: KT.
      head_title: GIÁM ĐỐC
      signer_title: PHÓ GIÁM ĐỐC
  van-phong: {name: Văn phòng UBND tỉnh, abbreviation: VP}
steps:
  - id: bao-cao-stp
    kind: report
    title: Sở Tư pháp báo cáo kết quả cải cách hành chính năm 2024
    owner: so-tu-phap
    recipient: so-noi-vu
    timing: {yearly: "15/11"}
  - id: so-ket-stp
    kind: review
    level: interim
    title: Sơ kết 6 tháng cải cách hành chính tại Sở Tư pháp
    owner: so-tu-phap
    timing: {due: 28/06/2024}
  - id: bao-cao-tinh
    kind: report
    title: Báo cáo kết quả cải cách hành chính của tỉnh năm 2024
    owner: van-phong
    recipient: so-noi-vu
    timing: {yearly: "01/12"}
"""
DAY = date(2024, 11, 20)


@pytest.fixture(scope="module")
def drafts(tmp_path_factory):
    """The draft of each step, as the tick makes it when the step's occurrence opens."""
    path = tmp_path_factory.mktemp("regime") / "che-do.yaml"
    path.write_text(REGIME, encoding="utf-8")
    plan = load_plan(path)
    sessions = session_factory(scratch_store())
    tick(plan, sessions, at(DAY), documents=no_documents)
    out = {}
    with sessions() as session:
        for row in occurrences_of(session, plan.id):
            step = plan.step_by_id[row.step_id]
            out[row.step_id] = draft(plan, session, step, window_of(plan, step, row.key, row.due_on, row.opens_on),
                                     DAY, row.due_on)
    return out


class TestTheOwnersHeader:
    def test_a_department_reports_under_its_own_header_to_the_recipient(self, drafts):
        d = drafts["bao-cao-stp"]
        assert (d.parent, d.issuer, d.number) == ("UBND tỉnh Thái Nguyên", "Sở Tư pháp", "Số: .../BC-STP")
        assert d.addressee == "Kính gửi: Sở Nội vụ tỉnh Thái Nguyên"
        assert d.signer == ("KT. GIÁM ĐỐC", "PHÓ GIÁM ĐỐC")
        assert d.receivers == ["Như trên;", "Lưu: VT."]
        opening = next(b.text for b in d.blocks if b.text.startswith("Thực hiện Kế hoạch số"))
        assert "của Ủy ban nhân dân tỉnh Thái Nguyên về chế độ báo cáo" in opening
        assert ", Sở Tư pháp báo cáo kết quả thực hiện Kế hoạch năm 2024" in opening
        assert d.blocks[-1].text.endswith("năm 2024 của Sở Tư pháp./.")

    def test_its_review_is_addressed_to_the_plans_issuer(self, drafts):
        d = drafts["so-ket-stp"]
        assert (d.issuer, d.number) == ("Sở Tư pháp", "Số: .../BC-STP")
        assert d.addressee == "Kính gửi: Ủy ban nhân dân tỉnh Thái Nguyên"
        assert d.receivers == ["Như trên;", "Lưu: VT."]

    def test_a_unit_of_the_issuer_drafts_for_the_issuer(self, drafts):
        d = drafts["bao-cao-tinh"]
        assert (d.parent, d.issuer, d.number) == (None, "Ủy ban nhân dân tỉnh Thái Nguyên", "Số: .../BC-UBND")
        assert d.signer == ("TM. ỦY BAN NHÂN DÂN", "KT. CHỦ TỊCH", "PHÓ CHỦ TỊCH")
        assert d.receivers == ["Như trên;", "Lưu: VT, VP."]

    def test_the_markdown_shows_the_owners_header(self, drafts):
        text = render(drafts["bao-cao-stp"], "md").decode("utf-8")
        assert text.index("UBND TỈNH THÁI NGUYÊN") < text.index("**SỞ TƯ PHÁP**") < text.index("Kính gửi: Sở Nội vụ")
        assert "ỦY BAN NHÂN DÂN TỈNH" not in text


def test_on_paper_the_department_heads_its_own_report(drafts, tmp_path):
    if soffice() is None:
        pytest.skip("LibreOffice (soffice) is not installed")
    d = drafts["bao-cao-stp"]
    pdf = to_pdf({"stp": render(d, "docx", DAY)}, tmp_path)["stp"]
    doc = pages(pdf)
    first, last = doc[0].lines, doc[-1].texts
    texts = [line.text for line in first]
    assert texts[:2] == ["UBND TỈNH THÁI NGUYÊN", "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"]
    at = {line.text: line for line in first}
    # the issuing body sits left of the national title, its name under the parent body
    assert at["SỞ TƯ PHÁP"].x1 < at["CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"].x0
    assert at["UBND TỈNH THÁI NGUYÊN"].y1 <= at["SỞ TƯ PHÁP"].y0
    assert {"Số: .../BC-STP", "Kính gửi: Sở Nội vụ tỉnh Thái Nguyên"} <= set(texts)
    assert not [t for page in doc for t in page.texts if "ỦY BAN NHÂN DÂN" in t]  # the receiver's header
    assert {"KT. GIÁM ĐỐC", "PHÓ GIÁM ĐỐC", "- Như trên;", "- Lưu: VT."} <= set(last)
