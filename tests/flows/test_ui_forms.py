"""The forms as an official meets them: the link of a notice opened in headless Chromium (Debian's chromium
and chromium-driver, driven by selenium), against a real `prefect server start` with its UI and a `kehoach serve`
that runs what the form submits.

KEHOACH_UPDATE_SCREENSHOTS=1 writes the screenshots shown in the README to docs/.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from engine.state.db import open_store, session_factory
from engine.state.models import ConfirmationRecord, OccurrenceRecord
from flows.links import ConfirmLinks, ExtendLinks
from tests.conftest import PLANS, ROOT
from tests.flows.conftest import free_port, prefect_env, spawn, stop, wait_until
from tests.flows.test_serve import final_state

CHROMIUM, CHROMEDRIVER = shutil.which("chromium"), shutil.which("chromedriver")
if not (CHROMIUM and CHROMEDRIVER):
    pytest.skip("needs Debian's chromium and chromium-driver (apt-get install chromium chromium-driver)",
                allow_module_level=True)
webdriver = pytest.importorskip("selenium.webdriver", reason="needs selenium (pip install '.[test]')")
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

PLAN = "kh-28-khcn-2022"
PAGE_TIMEOUT = 60  # seconds for the single-page app to draw what is waited for
RUN_TIMEOUT = 120  # seconds for a submitted run to be picked up, run and shown
SCREENSHOTS = ROOT / "docs"
WENT_WRONG = "//*[contains(@class, 'p-toast__card')][contains(normalize-space(), 'went wrong')]"
TZ = ZoneInfo("Asia/Ho_Chi_Minh")
SERVE = [sys.executable, "-c", "from engine.cli.app import main; main()", "serve"]
FIELD = ("//div[contains(concat(' ', @class, ' '), ' schema-form-property ')]"
         "[.//span[@class='schema-form-property__label' and normalize-space()='{}']]")
INPUT = ".p-label__body input, .p-label__body textarea, .p-label__body select"
DONE_QT = "Đã tổ chức hội nghị quán triệt Đề án tới toàn thể công chức, viên chức."
DONE_REPORT = "Đã gửi báo cáo kết quả năm 2023 tới Sở Nội vụ."


@pytest.fixture(scope="module")
def served(prefect_server, tmp_path_factory):
    """`kehoach serve` of a folder holding only the seed plan (its tick and its 22 forms), with its store."""
    tmp = tmp_path_factory.mktemp("ui-forms")
    (tmp / "plans").mkdir()
    shutil.copy(PLANS / f"{PLAN}.yaml", tmp / "plans")
    shutil.copytree(PLANS / "agencies", tmp / "plans" / "agencies")

    def ready(api: str) -> bool:
        return bool(ConfirmLinks(api_url=api)(PLAN, "tong-ket", "2025") and ExtendLinks(api_url=api)(
            PLAN, "tong-ket", "2025"))

    with serving(prefect_server, tmp, ready) as url:
        yield url, tmp / "serve.log"


@contextmanager
def serving(prefect_server: str, tmp: Path, ready: Callable[[str], bool]) -> Iterator[str]:
    """`kehoach serve` of the folder `tmp/plans` with a store in `tmp`, until its forms are `ready`; the store's
    URL. The runner polls every second, so a submitted form runs at once."""
    url = f"sqlite:///{tmp / 'state.db'}"
    env = prefect_env(tmp / "prefect-home", prefect_server)
    env["PREFECT_RUNNER_POLL_FREQUENCY"] = "1"
    log = open(tmp / "serve.log", "wb")  # noqa: SIM115 - open while the server runs
    # The drafts on a port of their own: 4201, the default, may be taken by a `kehoach serve` on this machine.
    proc = spawn([*SERVE, str(tmp / "plans"), "--db", url, "--drafts-port", str(free_port())],
                 death_signal=signal.SIGKILL, cwd=tmp, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        def registered():
            assert proc.poll() is None, (tmp / "serve.log").read_text()
            return b"Ctrl+C" in (tmp / "serve.log").read_bytes() and ready(prefect_server)

        wait_until(registered, 120, "kehoach serve to register the forms", every=0.5)
        yield url
    finally:
        stop(proc)
        log.close()


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium in Vietnamese (a date picker reads dd/mm/yyyy where Debian's chromium-l10n is)."""
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    profile = tempfile.mkdtemp(prefix="kehoach-chromium-")
    # No sandbox: CI runs as root. The background-networking flags keep Chromium from calling out of this
    # closed machine at every start; a fresh profile keeps runs independent.
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run", "--lang=vi",
                "--window-size=1280,1500", f"--user-data-dir={profile}"):
        options.add_argument(arg)
    options.add_experimental_option("prefs", {"intl.accept_languages": "vi-VN,vi"})
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    language = {"LANGUAGE": "vi", "LANG": "vi_VN.UTF-8"}  # Chromium on Linux takes its language from these
    service = webdriver.ChromeService(CHROMEDRIVER, env={**os.environ, **language})
    driver = webdriver.Chrome(service=service, options=options)
    driver.date_order = _date_order(driver)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def _date_order(driver) -> str:
    """How the date picker takes typed digits in this browser's language: 'dmy' or 'mdy'."""
    driver.get("data:text/html,<input type=date id=d>")
    driver.find_element(By.ID, "d").send_keys("01022003")
    return "dmy" if driver.find_element(By.ID, "d").get_attribute("value") == "2003-02-01" else "mdy"


def wait(driver, condition, what: str, timeout: float = PAGE_TIMEOUT):
    """Wait for the page (never a fixed time); on a timeout, say what the page showed, keep a screenshot."""
    from selenium.common.exceptions import TimeoutException

    try:
        return WebDriverWait(driver, timeout, poll_frequency=0.2).until(condition)
    except TimeoutException:
        shot = Path(tempfile.mkdtemp(prefix="kehoach-ui-")) / "timeout.png"
        driver.save_screenshot(str(shot))
        text = driver.find_element(By.TAG_NAME, "body").text
        console = "\n".join(e["message"] for e in driver.get_log("browser"))
        raise AssertionError(f"timed out after {timeout} s waiting for {what} at {driver.current_url} "
                             f"(screenshot: {shot}); the page shows:\n{text[-3000:]}\n"
                             f"console:\n{console[-3000:]}") from None


def open_form(driver, url: str) -> list[str]:
    """Open a link, wait for the form, return its field titles (in order)."""
    driver.get(url)
    wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, ".schema-form-property__label"), "the form")
    wait(driver, lambda d: d.find_element(By.XPATH, "//button[@type='submit']").is_enabled(), "Submit")
    return [e.get_attribute("textContent").strip()
            for e in driver.find_elements(By.CSS_SELECTOR, ".schema-form-property__label")]


def field(driver, title: str):
    """The input of the form field titled `title`."""
    return driver.find_element(By.XPATH, FIELD.format(title)).find_element(By.CSS_SELECTOR, INPUT)


def fill(driver, values: dict[str, object]) -> None:
    """Type into the fields as a person does; dates through the date picker's segments."""
    for title, value in values.items():
        element = field(driver, title)
        if isinstance(value, date):
            order = {"dmy": "%d%m%Y", "mdy": "%m%d%Y"}[driver.date_order]
            element.send_keys(value.strftime(order))
            assert element.get_attribute("value") == value.isoformat(), title
        else:
            element.send_keys(str(value))


def click(driver, xpath: str, what: str) -> None:
    """Click a button once it is there and nothing covers it (pages fade in and out)."""
    from selenium.common.exceptions import (
        ElementClickInterceptedException,
        NoSuchElementException,
        StaleElementReferenceException,
    )

    def clicked(d) -> bool:
        try:
            d.find_element(By.XPATH, xpath).click()
        except (ElementClickInterceptedException, NoSuchElementException, StaleElementReferenceException):
            return False
        return True

    wait(driver, clicked, what)


def submit(driver, tries: int = 3) -> str:
    """Submit the form, follow the notice's "View run", return the run's id once its page shows.

    The UI says "Oops. Something went wrong." (or "Something went wrong trying to create a flow run") when the
    server answers 503 - on SQLite, when another writer holds
    the database (the runner and the server's services write too) - and nothing is created: then it is
    submitted again, as a person would.
    """
    form = driver.current_url
    for _ in range(tries):
        errors = len(driver.find_elements(By.XPATH, WENT_WRONG))
        click(driver, "//button[@type='submit']", "Submit")
        wait(driver, lambda d, seen=errors: d.current_url != form
             or len(d.find_elements(By.XPATH, WENT_WRONG)) > seen, "the run to be created")
        if driver.current_url != form:
            break
    # The notice's "View run" is clicked from script (in headless Chromium the page's fade-in covers it), and
    # again until the run's page shows: a click while the page still moves to the deployment is overridden.
    def on_the_run(d) -> bool:
        if "/runs/flow-run/" in d.current_url:
            return True
        for view in d.find_elements(By.XPATH, "//button[normalize-space()='View run']"):
            d.execute_script("arguments[0].click()", view)
        return False

    wait(driver, on_the_run, "the run's page (View run)")
    return driver.current_url.rstrip("/").rsplit("/", 1)[-1].split("?")[0]


def shown(driver, run_id: str, name: str, sentence: str, kind: str) -> None:
    """Wait for the run to end and its page to show the state (badge `name`, coloured as `kind`: completed,
    failed, cancelled) and the sentence, with no traceback."""
    final_state(run_id, RUN_TIMEOUT)
    badge = ".page-heading-flow-run__meta .state-badge"

    def showing(d) -> bool:
        badges = d.find_elements(By.CSS_SELECTOR, badge)
        body = d.find_element(By.TAG_NAME, "body").text
        return bool(badges) and badges[0].text.strip() == name and sentence in body

    wait(driver, showing, f"the run's page to show {name!r} and {sentence!r}", RUN_TIMEOUT)
    assert f"state--{kind}" in driver.find_element(By.CSS_SELECTOR, badge).get_attribute("class")
    assert "Traceback" not in driver.find_element(By.TAG_NAME, "body").text


def screenshot(driver, name: str, tmp_path: Path) -> None:
    """Keep what the page shows, without the UI's passing notices (e.g. "Oops" for a 503 of a busy server)."""
    for close in driver.find_elements(By.CSS_SELECTOR, ".p-toast__close-btn, .p-toast__close"):
        driver.execute_script("arguments[0].click()", close)
    wait(driver, lambda d: not d.find_elements(By.CSS_SELECTOR, ".p-toast__card"), "the notices to close")
    driver.save_screenshot(str(tmp_path / name))
    if os.environ.get("KEHOACH_UPDATE_SCREENSHOTS") == "1":
        shutil.copy(tmp_path / name, SCREENSHOTS / name)


def confirmations(url: str) -> list[ConfirmationRecord]:
    with session_factory(open_store(url))() as session:
        return list(session.scalars(select(ConfirmationRecord).order_by(ConfirmationRecord.id)))


def link_from_the_notice(url: str, tmp_path: Path, day: date, owner_tag: str) -> str:
    """The seed plan ticked and its notices delivered on `day` (see `mailed_link`): the link `owner_tag` got."""
    from tests.notifiers.conftest import SEED_TAGS

    return mailed_link(PLANS / f"{PLAN}.yaml", url, tmp_path, day, day, SEED_TAGS, "khcn.vn", owner_tag)


def mailed_link(plan_file: Path, url: str, tmp_path: Path, ticked: date, sent: date, tags: tuple[str, ...],
                domain: str, owner_tag: str) -> str:
    """Tick the plan on `ticked` in the served store, deliver its notices on `sent` to a loopback SMTP server
    with one address per tag (`<tag>@<domain>`), and take the form's address from the one e-mail the owner got
    (its text part: a report's notice carries its draft attached)."""
    import re

    from engine.language.plan import load_plan
    from engine.runtime.tick import tick
    from notifiers.delivery import deliver_outbox
    from tests.notifiers.conftest import write_channels
    from tests.notifiers.receivers import SmtpReceiver

    plan = load_plan(plan_file)
    sessions = session_factory(open_store(url))
    at_time = datetime.min.time()
    tick(plan, sessions, datetime.combine(ticked, at_time.replace(hour=7, minute=30), tzinfo=TZ))
    with SmtpReceiver() as smtp:
        path = write_channels(tmp_path / "channels.txt", {t: smtp.url(f"{t}@{domain}") for t in tags})
        os.environ["KEHOACH_NOTIFY_MIN_INTERVAL"] = "0"
        try:
            deliver_outbox(sessions, datetime.combine(sent, at_time.replace(hour=7, minute=35), tzinfo=TZ), path,
                           link=ConfirmLinks())
        finally:
            os.environ.pop("KEHOACH_NOTIFY_MIN_INTERVAL", None)
        mails = [m for m in smtp.messages if m["To"].addresses[0].addr_spec == f"{owner_tag}@{domain}"]
    assert len(mails) == 1, [m["Subject"] for m in mails]
    body = mails[0].get_body(preferencelist=("plain",)).get_content().replace("\r\n", "\n")
    found = re.search(r"Xác nhận hoàn thành \(mở trên trình duyệt\): (\S+)", body)
    assert found, body
    return found.group(1)


def test_confirm_quan_triet_from_its_link(served, browser, prefect_api, tmp_path):
    url, log = served
    link = link_from_the_notice(url, tmp_path, date(2022, 3, 16), "van-phong")  # the e-mail the owner got
    assert link == ConfirmLinks()(PLAN, "quan-triet", "once")

    # The form of exactly this step: its evidence, with Vietnamese titles; no "(Optional)", no "None" toggle.
    titles = open_form(browser, link)
    assert titles == ["Lần thực hiện", "Người xác nhận", "Ngày hoàn thành", "Ngày thực hiện",
                      "Số người tham dự", "Kết quả thực hiện"]
    form = browser.find_element(By.CSS_SELECTOR, ".flow-run-create-form-v2").text
    assert "(Optional)" not in form and "None" not in form
    assert "Kế hoạch số 28/KH-KHCN: Tổ chức quán triệt, triển khai Đề án" in form
    assert field(browser, "Lần thực hiện").get_attribute("value") == "lần duy nhất"  # from the link
    assert field(browser, "Ngày hoàn thành").get_attribute("type") == "date"
    assert field(browser, "Số người tham dự").get_attribute("type") == "number"

    # A number the form takes but the plan cannot: one Vietnamese sentence, nothing recorded.
    fill(browser, {"Người xác nhận": "Nguyễn Văn An", "Ngày hoàn thành": date(2022, 3, 18),
                   "Ngày thực hiện": date(2022, 3, 17), "Số người tham dự": 0, "Kết quả thực hiện": DONE_QT})
    run = submit(browser)
    shown(browser, run, "Chưa ghi nhận", "Số người tham dự phải là số nguyên từ 1 trở lên (đã nhập: 0).",
          "failed")
    assert confirmations(url) == []

    # Filled right: recorded, with its evidence and result.
    open_form(browser, link)
    fill(browser, {"Người xác nhận": "Nguyễn Văn An", "Ngày hoàn thành": date(2022, 3, 18),
                   "Ngày thực hiện": date(2022, 3, 17), "Số người tham dự": 45, "Kết quả thực hiện": DONE_QT})
    screenshot(browser, "xac-nhan-form.png", tmp_path)
    run = submit(browser)
    shown(browser, run, "Đã ghi nhận", "Đã ghi nhận lần duy nhất: hoàn thành ngày 18/03/2022, đúng hạn",
          "completed")
    (rec,) = confirmations(url)
    assert (rec.step_id, rec.occurrence_key, rec.by, rec.done_on, rec.source) == (
        "quan-triet", "once", "Nguyễn Văn An", date(2022, 3, 18), "prefect")
    assert rec.evidence == {"date": "17/03/2022", "attendees": "45"}
    assert rec.result == DONE_QT

    # The same link again: not recorded, and not shown as a green "Completed".
    open_form(browser, link)
    fill(browser, {"Người xác nhận": "Trần Thị Bình", "Ngày hoàn thành": date(2022, 3, 19),
                   "Ngày thực hiện": date(2022, 3, 19), "Số người tham dự": 50,
                   "Kết quả thực hiện": "Lần hai."})
    run = submit(browser)
    shown(browser, run, "Không ghi nhận", "Đã có xác nhận trước đó cho lần duy nhất: Nguyễn Văn An",
          "cancelled")
    assert final_state(run).is_cancelled()
    assert len(confirmations(url)) == 1, log.read_text()[-2000:]


def test_confirm_the_2023_report_from_its_link(served, browser, prefect_api, tmp_path):
    url, _ = served
    link = ConfirmLinks()(PLAN, "bao-cao-hang-nam", "2023")
    titles = open_form(browser, link)
    assert titles == ["Lần thực hiện", "Người xác nhận", "Ngày hoàn thành", "Số văn bản", "Kết quả thực hiện"]
    assert field(browser, "Lần thực hiện").get_attribute("value") == "năm 2023"

    # The name left blank: said in Vietnamese on the run's page.
    fill(browser, {"Ngày hoàn thành": date(2023, 10, 30), "Số văn bản": "123/BC-KHCN",
                   "Kết quả thực hiện": DONE_REPORT})
    run = submit(browser)
    shown(browser, run, "Chưa ghi nhận", "Còn thiếu họ tên người xác nhận.", "failed")
    screenshot(browser, "xac-nhan-loi.png", tmp_path)
    assert not [r for r in confirmations(url) if r.step_id == "bao-cao-hang-nam"]

    open_form(browser, link)
    fill(browser, {"Người xác nhận": "Trần Thị Bình", "Ngày hoàn thành": date(2023, 10, 30),
                   "Số văn bản": "123/BC-KHCN", "Kết quả thực hiện": DONE_REPORT})
    run = submit(browser)
    shown(browser, run, "Đã ghi nhận", "Đã ghi nhận năm 2023: hoàn thành ngày 30/10/2023, đúng hạn",
          "completed")
    (rec,) = [r for r in confirmations(url) if r.step_id == "bao-cao-hang-nam"]
    assert (rec.occurrence_key, rec.by, rec.result) == ("2023", "Trần Thị Bình", DONE_REPORT)
    assert rec.evidence == {"document_number": "123/BC-KHCN"}


def test_extend_the_2024_report_from_its_link(served, browser, prefect_api, tmp_path):
    url, _ = served
    link = ExtendLinks()(PLAN, "bao-cao-hang-nam", "2024")
    titles = open_form(browser, link)
    assert titles == ["Lần thực hiện", "Hạn mới", "Người quyết định gia hạn", "Lý do gia hạn"]
    new_due = datetime.now(TZ).date() + timedelta(days=30)
    fill(browser, {"Hạn mới": new_due, "Người quyết định gia hạn": "Giám đốc Sở",
                   "Lý do gia hạn": "Chờ số liệu tổng hợp của các phòng."})
    screenshot(browser, "gia-han-form.png", tmp_path)
    run = submit(browser)
    shown(browser, run, "Đã gia hạn",
          f"Đã gia hạn năm 2024 đến ngày {new_due:%d/%m/%Y} (hạn ban đầu 31/10/2024)", "completed")
    with session_factory(open_store(url))() as session:
        row = session.scalars(select(OccurrenceRecord).where(OccurrenceRecord.step_id == "bao-cao-hang-nam",
                                                             OccurrenceRecord.key == "2024")).one()
    assert (row.due_on, row.original_due_on) == (new_due, date(2024, 10, 31))


def test_the_ui_is_served_by_the_test_server(prefect_server):
    """The test server has its UI on (tests/flows/conftest.py), calling this server's API, not port 4200."""
    with urllib.request.urlopen(prefect_server.removesuffix("/api") + "/ui-settings", timeout=10) as answer:
        assert json.load(answer)["api_url"] == prefect_server
