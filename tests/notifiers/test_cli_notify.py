"""The notification commands: channels check, validate --channels, outbox, deliver."""

from __future__ import annotations

import json
import re
from datetime import date

import pytest

from engine.cli.app import main
from tests.conftest import PLANS, SEED
from tests.notifiers.conftest import DAY1_TAGS, SEED_TAGS, closed_port, write_channels
from tests.notifiers.test_delivery import every_tag_to


def kehoach(capsys, *args) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as info:
        main([str(a) for a in args])
    out, err = capsys.readouterr()
    return info.value.code or 0, out, err


class TestChannelsCheck:
    def test_lists_tags_services_masked_and_the_units_using_them(self, tmp_path, capsys, monkeypatch):
        monkeypatch.setenv("HOOK_PW", "Hook-Secret-123")
        path = write_channels(tmp_path / "c.txt", {t: f"json://kehoach:${{HOOK_PW}}@127.0.0.1:9/{t}" for t in SEED_TAGS})
        code, out, err = kehoach(capsys, "channels", "check", "--channels", path, SEED)
        assert code == 0, out + err
        assert "Hook-Secret-123" not in out + err
        block = out.split("Nhãn van-phong:")[1].split("\n\n")[0]
        assert "JSON: json://kehoach:***@127.0.0.1:9/van-phong" in block
        assert "kh-28-khcn-2022: van-phong (Văn phòng Sở," in block
        assert "nguoi-dan-doanh-nghiep" in out  # a unit with no tag is pointed out

    def test_a_tag_the_plan_uses_but_the_file_lacks_is_reported_where_it_is_written(self, tmp_path, capsys):
        tags = [t for t in SEED_TAGS if t != "mttq"]
        path = write_channels(tmp_path / "c.txt", {t: f"json://127.0.0.1:9/{t}" for t in tags})
        code, out, err = kehoach(capsys, "channels", "check", "--channels", path, PLANS / SEED.name)
        assert code == 1
        (line,) = [ln for ln in out.splitlines() if "'mttq'" in ln]
        m = re.search(r"(\S+so-khcn-thai-nguyen\.yaml):(\d+):(\d+): units\.mttq-tinh\.notify\[0\]", line)
        agency = (PLANS / "agencies" / "so-khcn-thai-nguyen.yaml").read_text(encoding="utf-8").splitlines()
        assert m and agency[int(m[2]) - 1][int(m[3]) - 1:].startswith("mttq")
        assert "phoi-hop-mttq" in line

    def test_the_environment_names_the_file_and_without_one_it_is_a_usage_error(self, tmp_path, capsys, monkeypatch):
        assert kehoach(capsys, "channels", "check")[0] == 2
        monkeypatch.setenv("KEHOACH_CHANNELS", str(write_channels(tmp_path / "c.txt", {"a": "json://127.0.0.1:9/"})))
        code, out, _ = kehoach(capsys, "channels", "check")
        assert code == 0 and "Nhãn a:" in out

    def test_an_unloadable_entry_fails_the_check(self, tmp_path, capsys):
        path = write_channels(tmp_path / "c.txt", "a=json://127.0.0.1:9/\nb=nosuch://x\n")
        code, out, _ = kehoach(capsys, "channels", "check", "--channels", path)
        assert code == 1 and "Cảnh báo tệp kênh" in out


class TestValidate:
    def test_validate_reports_missing_tags_when_given_a_channels_file(self, tmp_path, capsys):
        path = write_channels(tmp_path / "c.txt", {"van-phong": "json://127.0.0.1:9/x"})
        code, out, _ = kehoach(capsys, "validate", SEED, "--channels", path)
        assert code == 1
        assert re.search(r"so-khcn-thai-nguyen\.yaml:\d+:\d+: units\.lanh-dao-so\.notify\[0\]: nhãn 'lanh-dao' của đơn vị lanh-dao-so "
                         r"không có trong tệp kênh \S*c\.txt - thông báo cho nhãn này nằm chờ trong hộp thư đi "
                         r"\(dùng ở kh-28-khcn-2022: ", out)
        assert kehoach(capsys, "validate", SEED)[0] == 0  # without the option, as before

    def test_validate_passes_with_a_complete_file(self, tmp_path, capsys):
        path = write_channels(tmp_path / "c.txt", {t: "json://127.0.0.1:9/x" for t in SEED_TAGS})
        assert kehoach(capsys, "validate", SEED, "--channels", path)[0] == 0


class TestOutboxAndDeliver:
    def test_outbox_shows_waiting_notices_then_deliver_sends_them(self, tmp_path, capsys, db_url, sessions,
                                                                   tick_days, http, monkeypatch):
        monkeypatch.setenv("COLUMNS", "200")  # a wide terminal: each row on one line
        tick_days(date(2022, 3, 16))
        code, out, _ = kehoach(capsys, "outbox", "--db", db_url)
        assert code == 0 and "chờ gửi (chưa có tệp kênh)" in out and "Tổng: 3 chờ gửi." in out
        path = write_channels(tmp_path / "c.txt", every_tag_to(http.url))
        code, out, _ = kehoach(capsys, "deliver", "--channels", path, "--db", db_url, "--at", "16/03/2022")
        assert code == 0 and "(2 thư): đã gửi 3" in out and len(http.payloads) == 2
        code, out, _ = kehoach(capsys, "outbox", "--db", db_url, "--format", "json")
        data = json.loads(out)
        assert data["counts"] == {"delivered": 3} and {n["tag"] for n in data["notices"]} == set(DAY1_TAGS)

    def test_a_simulation_leaves_nothing_a_later_delivery_would_send(self, tmp_path, capsys, db_url, http):
        assert kehoach(capsys, "simulate", SEED, "--from", "16/03/2022", "--to", "31/12/2023", "--db",
                       db_url)[0] == 0
        code, out, _ = kehoach(capsys, "outbox", "--db", db_url, "--format", "json")
        assert code == 0 and set(json.loads(out)["counts"]) == {"simulated"}
        path = write_channels(tmp_path / "c.txt", every_tag_to(http.url))
        code, out, _ = kehoach(capsys, "deliver", "--channels", path, "--db", db_url, "--at", "02/01/2024")
        assert code == 0 and http.payloads == []

    def test_failed_notices_are_listed_with_their_error_and_deliver_exits_1(self, tmp_path, capsys, db_url,
                                                                            sessions, tick_days, monkeypatch):
        monkeypatch.setenv("COLUMNS", "200")  # a wide terminal: each row on one line
        tick_days(date(2022, 3, 16))
        path = write_channels(tmp_path / "c.txt", {"van-phong": f"json://127.0.0.1:{closed_port()}/x",
                                                   "toan-so": f"json://127.0.0.1:{closed_port()}/y"})
        code, out, _ = kehoach(capsys, "deliver", "--channels", path, "--db", db_url, "--at", "16/03/2022")
        assert code == 1 and "lỗi 3" in out
        code, out, _ = kehoach(capsys, "outbox", "--failed", "--db", db_url)
        assert code == 0 and out.count("lỗi gửi") >= 3 and "Connection error" in out and "thử lại sau" in out


    def test_an_80_column_terminal_and_a_word_on_what_is_left_out(self, capsys, db_url, monkeypatch):
        kehoach(capsys, "simulate", SEED, "--from", "16/03/2022", "--to", "31/05/2022", "--db", db_url)
        monkeypatch.setenv("COLUMNS", "80")
        code, out, _ = kehoach(capsys, "outbox", "--limit", "10", "--db", db_url)
        data = json.loads(kehoach(capsys, "outbox", "--limit", "10", "--format", "json", "--db", db_url)[1])
        assert code == 0 and data["shown"] == 10 and data["total"] > 10
        lines = out.splitlines()
        assert max(len(line.rstrip()) for line in lines) <= 80
        assert f"Chỉ hiện 10 thông báo mới nhất trên {data['total']} (--limit N để xem nhiều hơn)." in lines
        words = {w for line in lines for w in line.split()}
        from engine.cli.tables import notice_words

        column = lines[1].index("Bước (lần)")  # the last column, read down as one text
        what = " ".join(" ".join(line[column:].split()) for line in lines[3:])
        for n in data["notices"]:  # ids whole; what the notice is in words, not its reason's key
            assert {n["step"], n["unit"], n["tag"], str(n["id"])} <= words, n
            assert notice_words(n["reason"], n["template"]) in what and n["reason"] not in words, n
        _, out, _ = kehoach(capsys, "outbox", "--db", db_url)
        assert "Chỉ hiện" not in out  # all of them

    def test_a_plan_the_store_has_not_run_is_refused_with_the_closest(self, capsys, db_url):
        kehoach(capsys, "simulate", SEED, "--from", "16/03/2022", "--to", "16/03/2022", "--db", db_url)
        code, out, _ = kehoach(capsys, "outbox", "--plan", "kh-28-khcn-2022", "--db", db_url)
        assert code == 0 and "Tổng: trống." not in out
        code, out, err = kehoach(capsys, "outbox", "--plan", "kh-28-khcn-202", "--db", db_url)
        assert (code, out) == (1, "")
        assert err.strip() == ("kehoach: kho dữ liệu không có kế hoạch 'kh-28-khcn-202' - ý bạn là 'kh-28-khcn-2022'?; "
                               "các kế hoạch trong kho: 'kh-28-khcn-2022'")

    @pytest.mark.parametrize("limit, bound", [("99999999999999999999", "nhỏ hơn hoặc bằng 100000"),
                                              ("0", "lớn hơn hoặc bằng 1"), ("-5", "lớn hơn hoặc bằng 1")])
    def test_a_limit_out_of_range_is_a_usage_error(self, capsys, db_url, limit, bound):
        kehoach(capsys, "simulate", SEED, "--from", "16/03/2022", "--to", "16/03/2022", "--db", db_url)
        code, out, err = kehoach(capsys, "outbox", "--limit", limit, "--db", db_url)
        assert (code, out) == (2, "") and "Traceback" not in err
        assert err.strip() == (f"kehoach outbox: giá trị của --limit không hợp lệ: phải {bound} "
                               "(xem kehoach outbox --help)")


def test_the_example_channels_file_covers_the_seed_plan(capsys, monkeypatch):
    from tests.conftest import ROOT

    for name in ("SMTP_PASSWORD", "TELEGRAM_TOKEN", "TEAMS_WORKFLOW", "TEAMS_SIGNATURE", "PORTAL_API_KEY",
                 "ZALO_REFRESH_TOKEN", "ZALO_SECRET_KEY"):
        monkeypatch.setenv(name, f"{name.lower()}-example-123")
    monkeypatch.setenv("TELEGRAM_TOKEN", "123456789:AAHexampleTokenValue")
    code, out, err = kehoach(capsys, "channels", "check", "--channels", ROOT / "docs" / "channels.example.yaml", SEED)
    assert code == 0, out + err
    assert "Telegram: tgram://" in out and "workflow://" in out and "smtp_password-example-123" not in out
    assert "Zalo: zalo://579745863508352884/2468013579086420975/7193850264173958026\n" in out
    assert "zalo_refresh_token-example-123" not in out and "zalo_secret_key-example-123" not in out
