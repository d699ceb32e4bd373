"""A district confirms its own report from the notice it got: in a provincial reporting regime (each district
its own occurrence of the monthly report), the link of the district's e-mail opens the form with the period and
the district filled in, and what it submits is recorded for that district only - in headless Chromium against a
real `prefect server start` and a `kehoach serve` of the province's plan.

KEHOACH_UPDATE_SCREENSHOTS=1 writes the screenshot to docs/ (xac-nhan-don-vi.png).
"""

from __future__ import annotations

import shutil
from datetime import date

import pytest

from flows.links import ConfirmLinks
from tests.conftest import PLANS
from tests.flows.test_ui_forms import (  # noqa: F401 - `browser` is a fixture used here
    browser,
    confirmations,
    field,
    fill,
    mailed_link,
    open_form,
    screenshot,
    serving,
    shown,
    submit,
)

PLAN = "kh-35-ubnd-ninh-binh-2025"
FILE = "kh-35-ubnd-tinh-ninh-binh-2025.yaml"
TAGS = ("ubnd-tinh", "vp-ubnd-tinh", "so-noi-vu", "ubnd-nho-quan", "ubnd-gia-vien", "ubnd-hoa-lu")
OPENS = date(2025, 1, 31)  # the districts' February report opens (due 14/02/2025), during Tết:
SENT = date(2025, 2, 3)  # notices wait for the first working day after it
DONE = "Đã gửi báo cáo tình hình cải cách hành chính tháng 2/2025 tới Sở Nội vụ."


@pytest.fixture(scope="module")
def served(prefect_server, tmp_path_factory):
    """`kehoach serve` of a folder holding the province's plan alone (its districts' plans left out)."""
    tmp = tmp_path_factory.mktemp("ui-unit-forms")
    (tmp / "plans").mkdir()
    shutil.copy(PLANS / "ninh-binh" / FILE, tmp / "plans")
    shutil.copytree(PLANS / "ninh-binh" / "agencies", tmp / "plans" / "agencies")
    with serving(prefect_server, tmp, lambda api: bool(ConfirmLinks(api_url=api)(
            PLAN, "bao-cao-thang-huyen", "2025-02@ubnd-gia-vien"))) as url:
        yield url


def test_a_district_confirms_its_own_monthly_report_from_its_email(served, browser, prefect_api, tmp_path):  # noqa: F811
    link = mailed_link(PLANS / "ninh-binh" / FILE, served, tmp_path, OPENS, SENT, TAGS, "ninhbinh.gov.vn",
                       "ubnd-gia-vien")  # its one e-mail: the report to make, its draft attached
    assert link.startswith(ConfirmLinks()(PLAN, "bao-cao-thang-huyen", "2025-02@ubnd-gia-vien").split("?")[0])

    titles = open_form(browser, link)
    assert titles == ["Lần thực hiện", "Đơn vị chủ trì", "Người xác nhận", "Ngày hoàn thành", "Kết quả thực hiện"]
    assert field(browser, "Lần thực hiện").get_attribute("value") == "tháng 2/2025"  # from the link
    assert field(browser, "Đơn vị chủ trì").get_attribute("value") == "Ủy ban nhân dân huyện Gia Viễn"
    fill(browser, {"Người xác nhận": "Phạm Thị Hoa", "Ngày hoàn thành": date(2025, 2, 12),
                   "Kết quả thực hiện": DONE})
    screenshot(browser, "xac-nhan-don-vi.png", tmp_path)
    run = submit(browser)
    shown(browser, run, "Đã ghi nhận", "hoàn thành ngày 12/02/2025, đúng hạn", "completed")
    (rec,) = confirmations(served)
    assert (rec.step_id, rec.occurrence_key, rec.by, rec.done_on, rec.result) == (
        "bao-cao-thang-huyen", "2025-02@ubnd-gia-vien", "Phạm Thị Hoa", date(2025, 2, 12), DONE)
