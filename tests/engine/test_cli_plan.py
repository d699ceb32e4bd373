"""The plan commands of the `kehoach` CLI: validate, show, graph, schema - in-process and as the installed command."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
import yaml_rs
from jsonschema import Draft202012Validator

from engine.language.graph import predecessors
from engine.language.plan import PlanLoader, plan_paths
from tests.conftest import PLANS, ROOT, SEED
from tests.conftest import run_cli as run

CDS = PLANS / "kh-15-ubnd-phu-binh-2024.yaml"
ISO = re.compile(r"^\d{4}-\d{2}-\d{2}$")
ALL_PLANS = plan_paths([PLANS])




BROKEN_PLAN = """\
plan:
  number: 1/KH-X
  title: Kế hoạch lỗi
  issuer: {name: Sở X}
  issued_on: 01/01/2024
  period: {start: 01/01/2024, end: 31/12/2024}
units:
  vp: {name: Văn phòng}
steps:
  - id: a
    kind: disseminate
    title: Quán triệt
    owner: vp
    audience: [vp]
    timing: {due: 31/02/2024}
  - id: c
    kind: report
    title: Báo cáo
    owner: vp
    recipient: vp
    depends_on: [b]
    timing: {yearly: "15/12"}
"""


class TestValidate:
    def test_shipped_plans_are_valid_exit_0(self, capsys):
        code, out, err = run(capsys, "validate", PLANS)
        assert code == 0, err
        assert out == ""
        assert err == f"{len(ALL_PLANS)} tệp hợp lệ.\n"  # said in Vietnamese only

    def test_agency_file_alone_is_valid(self, capsys):
        code, _, err = run(capsys, "validate", PLANS / "agencies" / "ubnd-huyen-phu-binh.yaml")
        assert code == 0, err

    def test_invalid_plan_exit_1_lists_every_problem(self, capsys, tmp_path):
        bad = tmp_path / "bad.yaml"
        bad.write_text(BROKEN_PLAN, encoding="utf-8")
        code, out, err = run(capsys, "validate", bad, SEED)
        assert code == 1
        lines = out.splitlines()
        assert len(lines) == 2  # the bad date and the unknown step, reported together
        assert all(re.match(r"^\S*bad\.yaml:\d+:\d+: ", line) for line in lines), lines
        assert any("31/02/2024" in line for line in lines)
        assert any("không có bước 'b'" in line for line in lines)
        assert "1 tệp hợp lệ, 1 tệp có lỗi" in err

    def test_missing_file_exit_2(self, capsys, tmp_path):
        code, out, err = run(capsys, "validate", tmp_path / "khong-co.yaml")
        assert code == 2
        assert err.strip() == f"kehoach: không tìm thấy tệp/thư mục: {tmp_path / 'khong-co.yaml'}"

    @pytest.mark.parametrize("command", [("validate",), ("run",), ("serve",),
                                         ("channels", "check", "--channels", ROOT / "docs" / "channels.example.yaml")])
    def test_a_folder_without_plans_is_not_a_success(self, capsys, tmp_path, monkeypatch, command):
        for name in ("SMTP_PASSWORD", "TELEGRAM_TOKEN", "TEAMS_WORKFLOW", "TEAMS_SIGNATURE", "PORTAL_API_KEY",
                     "ZALO_REFRESH_TOKEN", "ZALO_SECRET_KEY"):
            monkeypatch.setenv(name, "x-123456")
        (tmp_path / "ghi-chu.txt").write_text("không phải kế hoạch\n")
        code, out, err = run(capsys, *command, tmp_path)
        assert (code, out) == (2, "")
        assert err.strip() == f"kehoach: không có tệp kế hoạch (*.yaml, *.yml) trong thư mục {tmp_path}"

    def test_usage_errors_exit_2_without_traceback(self, capsys):
        for args in (("show", SEED, "--format", "xml"), ("khong-co-lenh",), ("validate",)):
            code, _, err = run(capsys, *args)
            assert code == 2, args
            assert "Traceback" not in err


class TestShowJson:
    @pytest.mark.parametrize("path", ALL_PLANS, ids=lambda p: p.stem)
    def test_every_step_and_occurrence_with_iso_dates(self, capsys, path):
        code, out, err = run(capsys, "show", path, "--format", "json")
        assert code == 0, err
        doc = json.loads(out)
        plan = PlanLoader().load(path)
        assert doc["plan"]["number"] == plan.meta.number
        assert [s["id"] for s in doc["steps"]] == [s.id for s in plan.steps]
        for row, step in zip(doc["steps"], plan.steps):
            assert (row["kind"], row["owner"]) == (step.kind, step.owner)
            assert [o["key"] for o in row["occurrences"]] == [o.key for o in plan.occurrences(step.id)]
            for occ in row["occurrences"]:
                assert ISO.match(occ["due"]) and ISO.match(occ["opens"]) and ISO.match(occ["nominal_due"])
                assert all(ISO.match(r) for r in occ["reminders"])
                assert all(r < occ["due"] for r in occ["reminders"])

    def test_values_for_known_occurrences(self, capsys):
        _, out, _ = run(capsys, "show", CDS, "--format", "json")
        steps = {s["id"]: s for s in json.loads(out)["steps"]}
        (dti,) = steps["dti-2024"]["occurrences"]
        assert (dti["key"], dti["nominal_due"], dti["due"]) == ("once", "2025-01-31", "2025-01-24")
        assert "2025-01-20" in dti["reminders"]
        assert steps["cung-cap-so-lieu"]["on_demand"] and steps["cung-cap-so-lieu"]["occurrences"] == []
        assert steps["dieu-chinh-nhiem-vu"]["occurrences"][0]["projected"] is True


    def test_a_child_plan_names_its_parent_and_the_parent_steps_it_carries_out(self, capsys):
        _, out, _ = run(capsys, "show", PLANS / "ninh-binh" / "kh-12-ubnd-nho-quan-2025.yaml", "--format", "json")
        doc = json.loads(out)
        assert doc["plan"]["parent_plan"] == {"id": "kh-35-ubnd-ninh-binh-2025", "unit": "ubnd-nho-quan",
                                              "number": "35/KH-UBND", "date": "2025-01-10",
                                              "issuer": "UBND tỉnh Ninh Bình"}
        carried = {s["id"]: s.get("carries_out") for s in doc["steps"]}
        assert carried["bao-cao-quy"] == "bao-cao-quy-huyen" and carried["trien-khai"] is None
        _, out, _ = run(capsys, "show", SEED, "--format", "json")
        parent = json.loads(out)["plan"]["parent_plan"]  # a parent plan not run here: what the file says of it
        assert parent["number"] == "42/KH-UBND" and "id" not in parent


class TestShowTable:
    def test_dates_are_written_dd_mm_yyyy(self, capsys):
        code, out, err = run(capsys, "show", SEED)
        assert code == 0, err
        assert "Kế hoạch số 28/KH-KHCN" in out
        assert "16/03/2022 - 31/12/2025" in out
        assert "18/03/2022" in out  # quán triệt: due 18/03/2022
        assert not re.search(r"\b\d{4}-\d{2}-\d{2}\b", out), "no ISO dates in the table"

    def test_every_step_appears(self, capsys):
        _, out, _ = run(capsys, "show", CDS)
        plan = PlanLoader().load(CDS)
        for step in plan.steps:
            assert step.id in out
        assert "03/02/2025" in out  # the January 2025 commune report, moved past Tết

    @pytest.mark.parametrize("path", ALL_PLANS, ids=lambda p: p.stem)
    def test_an_80_column_terminal_gets_whole_lines_and_whole_ids(self, capsys, monkeypatch, path):
        monkeypatch.setenv("COLUMNS", "80")
        _, out, _ = run(capsys, "show", path)
        lines = out.splitlines()
        assert max(len(line.rstrip()) for line in lines) <= 80
        words = {w for line in lines for w in line.split()}
        plan = PlanLoader().load(path)
        for step in plan.steps:  # each id whole on one line, never folded mid-word
            assert {step.id, step.owner} <= words, step.id
        # Each occurrence named as people name it ('quý II/2023'), never by its key; whole when it fits its column.
        from engine.language.periods import occurrence_label

        labels = {occurrence_label(o.key) for cal in plan.calendar.values() for o in cal.occurrences}
        texts = {" ".join(line.split()) for line in lines}
        assert all(any(label in t for t in texts) for label in labels if len(label) <= 13)
        keys = {o.key for cal in plan.calendar.values() for o in cal.occurrences if "-" in o.key}
        assert keys and not keys & words and "once" not in words

    def test_the_table_takes_a_wider_terminal(self, capsys, monkeypatch):
        monkeypatch.setenv("COLUMNS", "132")
        _, out, _ = run(capsys, "show", SEED)
        assert max(len(line) for line in out.splitlines()) > 80


def _expected_edges(path: Path) -> set[tuple[str, str]]:
    plan = PlanLoader().load(path)
    return {(dep, s.id) for s in plan.steps for dep in predecessors(s)}


class TestGraph:
    @pytest.mark.parametrize("path", ALL_PLANS, ids=lambda p: p.stem)
    def test_dot_has_every_step_and_edge(self, capsys, path):
        code, out, err = run(capsys, "graph", path, "--format", "dot")
        assert code == 0, err
        assert out.startswith("digraph ") and out.rstrip().endswith("}")
        nodes = set(re.findall(r'^\s*"([^"]+)" \[label=', out, re.M))
        edges = set(re.findall(r'^\s*"([^"]+)" -> "([^"]+)"', out, re.M))
        plan = PlanLoader().load(path)
        assert nodes == {s.id for s in plan.steps}
        assert edges == _expected_edges(path)
        assert edges, "the shipped plans all have dependencies"

    @pytest.mark.parametrize("path", ALL_PLANS, ids=lambda p: p.stem)
    def test_mermaid_has_every_step_and_edge(self, capsys, path):
        code, out, err = run(capsys, "graph", path, "--format", "mermaid")
        assert code == 0, err
        assert out.startswith("flowchart LR")
        node = lambda step_id: "s_" + step_id.replace("-", "_")  # noqa: E731
        nodes = set(re.findall(r"^\s*(s_\w+)\[", out, re.M))
        edges = set(re.findall(r"^\s*(s_\w+) -->(?:\|[^|]*\|)? (s_\w+)$", out, re.M))
        plan = PlanLoader().load(path)
        assert nodes == {node(s.id) for s in plan.steps}
        assert edges == {(node(a), node(b)) for a, b in _expected_edges(path)}

    def test_after_edges_carry_their_delay(self, capsys):
        _, out, _ = run(capsys, "graph", SEED, "--format", "dot")
        assert '"quan-triet" -> "dang-website" [label="+10 ngày làm việc"];' in out


class TestSchema:
    @pytest.mark.parametrize("flag", [(), ("--agency",)], ids=["plan", "agency"])
    def test_prints_a_valid_json_schema(self, capsys, flag):
        code, out, err = run(capsys, "schema", *flag)
        assert code == 0, err
        schema = json.loads(out)
        Draft202012Validator.check_schema(schema)
        assert schema["$schema"].endswith("2020-12/schema")

    def test_shipped_files_satisfy_the_printed_schema(self, capsys):
        _, plan_out, _ = run(capsys, "schema")
        _, agency_out, _ = run(capsys, "schema", "--agency")
        plan_schema = Draft202012Validator(json.loads(plan_out))
        agency_schema = Draft202012Validator(json.loads(agency_out))
        for path in ALL_PLANS:
            data = yaml_rs.loads(path.read_text(encoding="utf-8"))
            assert not list(plan_schema.iter_errors(data)), path
        for path in sorted((PLANS / "agencies").glob("*.yaml")):
            data = yaml_rs.loads(path.read_text(encoding="utf-8"))
            assert not list(agency_schema.iter_errors(data)), path

    def test_write_refreshes_both_files(self, capsys, tmp_path):
        code, _, err = run(capsys, "schema", "--write", tmp_path)
        assert code == 0
        assert sorted(p.name for p in tmp_path.iterdir()) == ["agency.schema.json", "plan.schema.json"]
        assert "đã ghi" in err

    @pytest.mark.parametrize("target, message", [
        ("khong-co", "không tồn tại"), ("tep.txt", "không phải là thư mục")])
    def test_write_to_a_missing_folder_or_a_file_is_a_usage_error(self, capsys, tmp_path, target, message):
        (tmp_path / "tep.txt").write_text("x")
        code, out, err = run(capsys, "schema", "--write", tmp_path / target)
        assert (code, out) == (2, "")
        assert err.strip() == (f"kehoach: --write {tmp_path / target}: {message} - chỉ thư mục sẽ chứa các lược đồ "
                               "(ví dụ plan_definitions)")
        assert sorted(p.name for p in tmp_path.iterdir()) == ["tep.txt"]


class TestHelp:
    def test_top_level_help_is_vietnamese(self, capsys):
        code, out, _ = run(capsys, "--help")
        assert code == 0
        for phrase in ("Kế hoạch của cơ quan nhà nước", "Kiểm tra kế hoạch", "Xem mọi bước", "sơ đồ phụ thuộc"):
            assert phrase in out

    @pytest.mark.parametrize(
        ("command", "phrase"),
        [
            ("validate", "Tệp hoặc thư mục kế hoạch"),
            ("show", "ngày mở, hạn, ngày nhắc"),
            ("graph", "Mermaid hoặc Graphviz dot"),
            ("schema", "Lược đồ của tệp cơ quan"),
        ],
    )
    def test_command_help_is_vietnamese(self, capsys, command, phrase):
        code, out, _ = run(capsys, command, "--help")
        assert code == 0
        assert phrase in " ".join(out.split())  # help text is wrapped


    COMMANDS = ["validate", "show", "graph", "schema", "run", "status", "confirm", "extend", "request", "simulate",
                "skip", "serve", "deploy", "outbox", "deliver", "report", "calendar", "channels", "channels check"]

    @pytest.mark.parametrize("command", ["", *COMMANDS])
    def test_click_s_own_words_are_vietnamese_too_at_80_columns(self, capsys, monkeypatch, command):
        """Headings, the usage line, the marks after an option's help and the kinds of values (engine.cli.help)."""
        monkeypatch.setenv("COLUMNS", "80")
        code, out, _ = run(capsys, *command.split(), "--help")
        assert code == 0
        assert out.startswith(f"Cách dùng: kehoach {command} [TÙY CHỌN]".replace("  ", " "))
        assert "\nTùy chọn:\n" in out and "  --help" in out and "Xem hướng dẫn này." in out
        english = re.compile(r"Usage|Options|Arguments|Commands|\[OPTIONS\]|required|default:|env var|Show this|"
                             r"<(str|int|path|list)|<=x|\b(?:files?|folders?|step id|forms?|stop)\b")
        assert not english.search(out), english.search(out)
        assert max(len(line) for line in out.splitlines()) <= 80

    def test_arguments_are_named_as_officials_name_them(self, capsys, monkeypatch):
        monkeypatch.setenv("COLUMNS", "80")
        _, out, _ = run(capsys, "confirm", "--help")
        assert out.splitlines()[0] == "Cách dùng: kehoach confirm [TÙY CHỌN] {KẾ_HOẠCH} {BƯỚC}"
        rows = [" ".join(line.split()) for line in out.splitlines()]
        assert "BƯỚC <chữ> Mã bước. [bắt buộc]" in rows
        assert "--by <chữ> Họ tên người xác nhận. [bắt buộc]" in rows
        _, out, _ = run(capsys, "outbox", "--help")
        assert "[mặc định: 200; từ 1 đến 100000]" in " ".join(out.split())


def _installed_kehoach() -> str:
    found = shutil.which("kehoach") or str(Path(sys.executable).parent / "kehoach")
    assert Path(found).exists(), "the kehoach command is not installed (pip install -e .)"
    return found


class TestInstalledCommand:
    """The console script, as a user runs it: a real process, real exit codes, UTF-8 output."""

    def test_validate_and_show_as_a_subprocess(self, tmp_path):
        exe = _installed_kehoach()
        ok = subprocess.run([exe, "validate", str(PLANS)], capture_output=True, text=True, cwd=ROOT, timeout=120)
        assert ok.returncode == 0, ok.stderr
        assert "hợp lệ" in ok.stderr

        shown = subprocess.run([exe, "show", str(CDS), "--format", "json"], capture_output=True, text=True,
                               encoding="utf-8", cwd=ROOT, timeout=120)
        assert shown.returncode == 0, shown.stderr
        doc = json.loads(shown.stdout)
        assert doc["plan"]["issuer"] == "Ủy ban nhân dân huyện Phú Bình"
        assert date.fromisoformat(doc["plan"]["period"]["end"]) == date(2025, 12, 31)

        bad = tmp_path / "bad.yaml"
        bad.write_text(BROKEN_PLAN, encoding="utf-8")
        failed = subprocess.run([exe, "validate", str(bad)], capture_output=True, text=True, cwd=ROOT, timeout=120)
        assert failed.returncode == 1
        assert "Traceback" not in failed.stderr
        missing = subprocess.run([exe, "validate", str(tmp_path / "x.yaml")], capture_output=True, text=True,
                                 cwd=ROOT, timeout=120)
        assert missing.returncode == 2
