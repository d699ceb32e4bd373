"""A district confirms its own report from the notice it got: in a provincial reporting regime (each district
its own occurrence of the monthly report), the link of the district's e-mail opens the form with the period and
the district filled in, and what it submits is recorded for that district only - in headless Chromium against a
real `prefect server start` and a `kehoach serve` of the province's plan.

KEHOACH_UPDATE_SCREENSHOTS=1 writes the screenshot to docs/ (xac-nhan-don-vi.png).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
from datetime import date, datetime

import pytest

from engine.state.db import open_store, session_factory
from flows.links import ConfirmLinks
from tests.conftest import PLANS
from tests.flows.conftest import prefect_env, spawn, stop, wait_until
from tests.flows.test_ui_forms import (  # noqa: F401 - `browser` is a fixture used here
    SERVE,
    TZ,
    browser,
    confirmations,
    field,
    fill,
    open_form,
    screenshot,
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
    plans = tmp / "plans"
    plans.mkdir()
    shutil.copy(PLANS / "ninh-binh" / FILE, plans)
    shutil.copytree(PLANS / "ninh-binh" / "agencies", plans / "agencies")
    url = f"sqlite:///{tmp / 'state.db'}"
    env = prefect_env(tmp / "prefect-home", prefect_server)
    env["PREFECT_RUNNER_POLL_FREQUENCY"] = "1"
    log = open(tmp / "serve.log", "wb")  # noqa: SIM115 - open while the server runs
    proc = spawn([*SERVE, str(plans), "--db", url], death_signal=signal.SIGKILL, cwd=tmp, env=env, stdout=log,
                 stderr=subprocess.STDOUT)
    try:
        def registered():
            assert proc.poll() is None, (tmp / "serve.log").read_text()
            return b"Ctrl+C" in (tmp / "serve.log").read_bytes() and ConfirmLinks(api_url=prefect_server)(
                PLAN, "bao-cao-thang-huyen", "2025-02@ubnd-gia-vien")

        wait_until(registered, 120, "kehoach serve to register the forms", every=0.5)
        yield url
    finally:
        stop(proc)
        log.close()


def district_link(url: str, tmp_path, unit: str) -> str:
    """Tick the plan on the day the February report opens, deliver on the first working day after Tết to a
    loopback SMTP server (an address per tag), and take the confirmation link from the e-mail `unit` got."""
    from engine.language.plan import load_plan
    from engine.runtime.tick import tick
    from notifiers.delivery import deliver_outbox
    from tests.notifiers.conftest import write_channels
    from tests.notifiers.receivers import SmtpReceiver

    plan = load_plan(PLANS / "ninh-binh" / FILE)
    sessions = session_factory(open_store(url))
    tick(plan, sessions, datetime.combine(OPENS, datetime.min.time().replace(hour=7, minute=30), tzinfo=TZ))
    with SmtpReceiver() as smtp:
        path = write_channels(tmp_path / "channels.txt", {t: smtp.url(f"{t}@ninhbinh.gov.vn") for t in TAGS})
        os.environ["KEHOACH_NOTIFY_MIN_INTERVAL"] = "0"
        try:
            deliver_outbox(sessions, datetime.combine(SENT, datetime.min.time().replace(hour=7, minute=35),
                                                      tzinfo=TZ), path, link=ConfirmLinks())
        finally:
            os.environ.pop("KEHOACH_NOTIFY_MIN_INTERVAL", None)
        mails = [m for m in smtp.messages if m["To"].addresses[0].addr_spec == f"{unit}@ninhbinh.gov.vn"]
    assert len(mails) == 1, [m["Subject"] for m in mails]  # one notice for its own occurrence
    body = mails[0].get_body(preferencelist=("plain",)).get_content().replace("\r\n", "\n")  # with its draft attached
    found = re.search(r"Xác nhận hoàn thành \(mở trên trình duyệt\): (\S+)", body)
    assert found, body
    return found.group(1)


def test_a_district_confirms_its_own_monthly_report_from_its_email(served, browser, prefect_api, tmp_path):
    link = district_link(served, tmp_path, "ubnd-gia-vien")
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
