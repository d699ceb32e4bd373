"""Bad plans are refused with every problem located and explained: the broken-file corpus and the raw-data checks."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml_rs

from engine.cli.app import main
from engine.errors import PlanError
from engine.language.plan import PlanLoader, plan_paths
from engine.language.validation import (
    find_merge_keys,
    find_secrets,
    may_hold_secret,
    merge_key_findings,
    render_path,
)

INVALID = Path(__file__).resolve().parent / "invalid"
EXPECTED: dict[str, dict] = yaml_rs.loads((INVALID / "expected_errors.yaml").read_text(encoding="utf-8"))
CASES = sorted(EXPECTED)
# The rules the plan language issue asks the corpus to cover, each by the file that shows it.
REQUIRED = [
    "syntax-error", "tab-indentation", "duplicate-key", "empty-file", "top-level-list", "unknown-key",
    "wrong-type", "impossible-date", "deadline-outside-period", "unknown-kind", "unknown-dependency",
    "self-dependency", "cycle", "unknown-unit", "duplicate-step-id", "reminder-negative-days",
    "reminder-on-after-due", "recurrence-no-occurrence", "python-object-tag", "alias-bomb", "not-utf8",
    "password-in-url", "unknown-include", "problem-in-agency-file", "window-start-after-due",
    "from-outside-period", "until-outside-period", "invalid-timezone", "bad-id-pattern", "missing-required-field",
    "several-timing-forms", "misspelled-timing-key", "unknown-non-working-day", "escalation-unknown-unit",
    "covers-unknown-step", "merge-key",
]
SECRETS = ("Mat-Khau-2023", "abc123XYZ", "MatKhau123")


def validate(capsys, *args: str) -> tuple[int, str, str]:
    """Run `kehoach validate ARGS` in-process; return (exit code, stdout, stderr)."""
    with pytest.raises(SystemExit) as exit_info:
        main(["validate", *args])
    out, err = capsys.readouterr()
    return exit_info.value.code or 0, out, err


def matches(line: str, expected: str) -> bool:
    """An expected line ending in ' ...' is a prefix; any other must match exactly."""
    return line.startswith(expected[:-4]) if expected.endswith(" ...") else line == expected


class TestInvalidCorpus:
    def test_every_file_has_expected_problems_and_every_entry_a_file(self):
        files = {p.name for p in INVALID.glob("*.yaml")} - {"expected_errors.yaml"}
        folders = {p.name for p in INVALID.iterdir() if p.is_dir() and p.name != "agencies"}  # rules across files
        assert files | folders == set(EXPECTED)
        assert len(EXPECTED) >= 35
        assert all(EXPECTED[name]["problems"] and EXPECTED[name]["rule"] for name in EXPECTED)

    def test_the_rules_of_the_issue_are_all_covered(self):
        assert [r for r in REQUIRED if f"{r}.yaml" not in EXPECTED] == []

    @pytest.mark.parametrize("name", CASES)
    def test_validate_reports_exactly_the_expected_problems(self, name, capsys, monkeypatch):
        monkeypatch.chdir(INVALID)  # problems name files as the user typed them: relative to here
        code, out, err = validate(capsys, name)
        expected = EXPECTED[name]["problems"]
        lines = out.splitlines()
        assert code == 1, err
        assert len(lines) == len(expected), out
        for line, want in zip(lines, expected):
            assert matches(line, want), f"\n got: {line}\nwant: {want}"
        assert "Traceback" not in out + err

    @pytest.mark.parametrize("name", ["password-in-url.yaml", "token-in-url.yaml", "secret-in-agency-file.yaml"])
    def test_a_secret_is_never_printed(self, name, capsys, monkeypatch):
        monkeypatch.chdir(INVALID)
        code, out, err = validate(capsys, name)
        assert code == 1
        assert "không được ghi mật khẩu, mã truy cập vào tệp kế hoạch" in out
        assert not [s for s in SECRETS if s in out + err]

    def test_the_command_in_its_own_process_prints_the_same_lines(self):
        names = ["syntax-error.yaml", "python-object-tag.yaml", "cycle.yaml", "not-utf8.yaml", "alias-bomb.yaml"]
        done = subprocess.run(
            [sys.executable, "-c", "from engine.cli.app import main; main()", "validate", *names],
            capture_output=True, text=True, cwd=INVALID, timeout=120,
        )
        assert done.returncode == 1
        lines = done.stdout.splitlines()
        expected = [line for name in names for line in EXPECTED[name]["problems"]]
        assert len(lines) == len(expected)
        assert all(matches(line, want) for line, want in zip(lines, expected)), lines
        assert "Traceback" not in done.stderr

    def test_all_files_at_once_report_every_problem(self, capsys, monkeypatch):
        monkeypatch.chdir(INVALID)
        code, out, err = validate(capsys, *CASES)
        assert code == 1
        assert len(out.splitlines()) == sum(len(case["problems"]) for case in EXPECTED.values())
        assert f"0 tệp hợp lệ, {len(plan_paths([INVALID / c for c in CASES]))} tệp có lỗi" in err

    def test_a_missing_file_is_a_usage_error(self, capsys, tmp_path):
        code, out, err = validate(capsys, str(tmp_path / "khong-co.yaml"))
        assert code == 2
        assert "khong-co.yaml" in err and "Traceback" not in err


class TestSeveralProblems:
    """A plan is checked layer by layer, but one broken part does not hide the problems of the others."""

    def test_unrelated_problems_in_one_file_are_all_reported(self, monkeypatch):
        monkeypatch.chdir(INVALID)
        with pytest.raises(PlanError) as info:
            PlanLoader().load("several-problems.yaml")
        messages = [p.message for p in info.value.problems]
        assert len(messages) == 4
        assert "không có múi giờ 'Asia/Hanoi'" in messages[0]
        assert "không có đơn vị 'phong-truyen-thong'" in messages[1]
        assert "giá trị 'midterm' không hợp lệ" in messages[2]
        assert "không có bước 'bao-cao'" in messages[3]

    def test_a_step_that_fails_validation_still_counts_as_written(self, tmp_path):
        # 'so-ket' is broken; 'tong-ket' depending on it must not be told that 'so-ket' does not exist.
        text = (INVALID / "several-problems.yaml").read_text(encoding="utf-8").replace(", bao-cao]", "]")
        plan = tmp_path / "plan.yaml"
        plan.write_text(text, encoding="utf-8")
        with pytest.raises(PlanError) as info:
            PlanLoader().load(plan)
        assert not [p for p in info.value.problems if "không có bước" in p.message]

    def test_an_invalid_agency_file_does_not_make_its_units_unknown(self, tmp_path):
        (tmp_path / "agency.yaml").write_text(
            "agency: {name: Sở X}\nunits:\n  van-phong: {name: Văn phòng}\ndefaults: {opens_before_days: -1}\n",
            encoding="utf-8",
        )
        (tmp_path / "plan.yaml").write_text(
            "include: [agency.yaml]\nplan: {number: 1/KH, title: T, issued_on: 01/01/2023,"
            " period: {start: 01/01/2023, end: 31/12/2023}}\nsteps:\n  - {id: a, kind: review, level: final,"
            " title: A, owner: van-phong, timing: {due: 30/06/2023}}\n",
            encoding="utf-8",
        )
        with pytest.raises(PlanError) as info:
            PlanLoader().load(tmp_path / "plan.yaml")
        (problem,) = info.value.problems
        assert problem.file.endswith("agency.yaml") and "opens_before_days" in problem.path


class TestSecrets:
    @pytest.mark.parametrize("text", [
        "https://user:pw-S3cr3t@host/x",
        "Tài liệu tại ftp://vp:p@ss-9@files.example.vn/de-an.pdf",
        "mailto://van-phong:MatKhau-7@gmail.com",
        "https://host/x?token=tok-abc",
        "https://host/x?a=1&API_KEY=key-abc",
        # Hardening (issue 15, item 15): tokens without a '://user:password@' of their own.
        "Kênh tgram://123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5MatKhau/-1001234567890",
        "slack://xoxb-1234-5678-MatKhau90abc/#kehoach",
        "https://hooks.slack.com/services/T0000AAAA/B0000BBBB/MatKhauXXXXXXXXXXXXXXXX",
        "json://hooks.example.vn/kehoach?+X-Token=tok-abc",
        "Authorization: Bearer eyJhbGciOi.MatKhau",
        "postgresql://kehoach:S3cr3t/Pass@db.example.vn/kehoach",
    ])
    def test_a_password_or_token_in_an_address_is_found_at_the_value(self, text):
        (finding,) = find_secrets({"steps": [{"material": text}]})
        loc, message, at_key = finding
        assert loc == ("steps", 0, "material") and not at_key
        assert message.startswith("không được ghi mật khẩu, mã truy cập vào tệp kế hoạch: chỉ ghi tên để trỏ tới chúng")
        assert "***" in message
        assert not [part for part in ("S3cr3t", "p@ss", "MatKhau", "-abc") if part in message]

    @pytest.mark.parametrize("text", [
        "https://files.example.vn/de-an.pdf",
        "https://user@host/x",  # a user name alone is not a secret
        "Liên hệ vp@example.vn: 0208 3855 555",
        "ratio 1:2@3",
        "https://medium.com/@kehoach",
        "https://files.example.vn:8080/tai-lieu@2024",  # a port, not a password
        "https://khcn.example.vn/tin?author=van-phong",
        "họp lúc 08:30, 123456:1",
    ])
    def test_ordinary_text_and_addresses_pass(self, text):
        assert find_secrets({"material": text}) == []

    def test_every_string_is_searched_keys_included(self):
        data = {"units": {"a": {"notify": ["x", "smtp://u:p@h"]}}, "https://u:p@h": 1}
        locs = sorted((str(loc), at_key) for loc, _, at_key in find_secrets(data))
        assert locs == [("('https://u:p@h',)", True), ("('units', 'a', 'notify', 1)", False)]


class TestSecretPrecheck:
    """The whole-data walk is skipped only when the raw text cannot hold a secret."""

    def test_plain_text_needs_no_walk(self):
        assert not may_hold_secret("material: https://khcn.example.vn/tin-tuc\nowner: van-phong\n")

    def test_an_address_with_a_password_needs_the_walk(self):
        assert may_hold_secret("material: https://u:p@host/x\n")

    def test_an_escape_could_hide_one(self):
        # "\x40" is '@' once YAML has read the double-quoted string.
        assert may_hold_secret('material: "https://u:p\\x40host/x"\n')

    def test_an_escaped_secret_is_still_found(self, tmp_path):
        from engine.errors import PlanError
        from engine.language.plan import load_plan
        from tests.conftest import SEED

        text = SEED.read_text(encoding="utf-8").replace(
            "method: Hội nghị quán triệt", 'method: "https://u:secret\\x40host/x"')
        path = tmp_path / "plan.yaml"
        path.write_text(text, encoding="utf-8")
        (tmp_path / "agencies").mkdir()
        (tmp_path / "agencies" / "so-khcn-thai-nguyen.yaml").write_text(
            (SEED.parent / "agencies" / "so-khcn-thai-nguyen.yaml").read_text(encoding="utf-8"), encoding="utf-8")
        with pytest.raises(PlanError, match="không được ghi mật khẩu, mã truy cập vào tệp kế hoạch") as info:
            load_plan(path)
        assert "secret@" not in str(info.value)


class TestMergeKeys:
    def test_each_merge_key_is_reported_at_the_key(self):
        data = {"steps": [{"id": "a"}, {"<<": {"id": "a"}, "id": "b"}]}
        ((loc, message, at_key),) = merge_key_findings(find_merge_keys(data))
        assert loc == ("steps", 1, "<<") and at_key
        assert message.startswith("không dùng được khóa gộp YAML ('<<')")


class TestPaths:
    def test_steps_are_named_by_id_and_numeric_keys_are_keys(self):
        data = {"steps": [{"id": "quan-triet", "timing": {}}], "calendar": {"holidays": [{2023: "x"}]}}
        assert render_path(data, ("steps", 0, "timing")) == "steps.quan-triet.timing"
        assert render_path(data, ("calendar", "holidays", 0, 2023)) == "calendar.holidays[0].2023"
