"""The step DAG: references checked, cycles named step by step, a topological order."""

from __future__ import annotations

from types import SimpleNamespace

from engine.language.graph import check_graph, find_cycles, topological_order
from engine.language.models.timing import After, AfterStep


def step(step_id: str, *deps: str, after: str | None = None, title: str = "") -> SimpleNamespace:
    timing = After(after=AfterStep(step=after, days=1)) if after else None
    return SimpleNamespace(id=step_id, depends_on=list(deps), timing=timing, title=title or step_id.upper())


class TestCycles:
    def test_a_cycle_is_named_from_its_first_step(self):
        findings, _ = check_graph([step("a", "b"), step("b", "c"), step("c", "a")])
        assert findings == [(("steps", 0, "depends_on"),
                             "vòng phụ thuộc: a -> b -> c -> a (mỗi bước chờ bước kế tiếp, nên không bước nào mở "
                             "được)")]

    def test_an_after_timing_counts_as_a_dependency(self):
        findings, _ = check_graph([step("a", after="b"), step("b", "a")])
        assert [m for _, m in findings] == ["vòng phụ thuộc: a -> b -> a (mỗi bước chờ bước kế tiếp, nên không bước "
                                            "nào mở được)"]

    def test_each_separate_cycle_is_reported(self):
        graph = {"a": ["b"], "b": ["a"], "c": ["d"], "d": ["e"], "e": ["c"], "f": ["a"]}
        assert find_cycles(graph) == [["a", "b", "a"], ["c", "d", "e", "c"]]

    def test_a_long_chain_does_not_hit_the_recursion_limit(self):
        graph = {f"s{i}": [f"s{i + 1}"] for i in range(5000)} | {"s5000": ["s0"]}
        (cycle,) = find_cycles(graph)
        assert len(cycle) == 5002 and cycle[0] == cycle[-1]


class TestReferences:
    def test_unknown_step_with_a_close_match(self):
        findings, _ = check_graph([step("quan-triet"), step("so-ket", "quan-tiet")])
        assert findings == [(("steps", 1, "depends_on", 0), "không có bước 'quan-tiet' - ý bạn là 'quan-triet'?")]

    def test_unknown_step_without_a_close_match_lists_the_ids(self):
        findings, _ = check_graph([step("a"), step("b", "zzz")])
        assert [m for _, m in findings] == ["không có bước 'zzz' (các mã bước: 'a', 'b')"]

    def test_steps_known_to_exist_are_not_unknown(self):
        # 'x' is written in the file but failed validation: the author is told about it once, not twice.
        findings, _ = check_graph([step("a", "x")], known_ids={"x"})
        assert findings == []

    def test_self_dependency(self):
        findings, _ = check_graph([step("a", "a")])
        assert [m for _, m in findings] == ["bước 'a' không thể phụ thuộc vào chính nó"]

    def test_duplicate_ids_name_the_earlier_step(self):
        findings, _ = check_graph([step("a", title="Quán triệt"), step("a", title="Đăng website")])
        assert findings == [(("steps", 1, "id"), "mã bước 'a' bị trùng: mỗi bước cần một mã riêng, mà bước trước đó "
                             "('Quán triệt') đã dùng mã này")]


class TestOrder:
    def test_predecessors_come_first_and_file_order_is_kept_among_equals(self):
        graph = {"c": ["a"], "b": [], "a": []}
        assert topological_order(graph) == ["a", "c", "b"]


def test_the_drawing_says_how_a_step_waits_and_cuts_titles_at_a_word():
    """Mermaid arrows of per-period dependencies say what is waited for: the same period, of how many owners,
    opening on its date anyway; node titles too long for a box end at a whole word with '…'."""
    from engine.language.graph import to_dot, to_mermaid
    from engine.language.plan import load_plan
    from tests.conftest import PLANS

    plan = load_plan(PLANS / "ninh-binh" / "kh-35-ubnd-tinh-ninh-binh-2025.yaml")
    drawn = to_mermaid(plan)
    assert 's_bao_cao_quy_huyen -->|"cùng kỳ, tất cả đơn vị, đến hạn vẫn mở"| s_tong_hop_quy' in drawn
    assert "<br/>Các huyện, thành phố báo cáo cải cách hành chính quý I, quý…<br/>" in drawn
    assert '"bao-cao-quy-huyen" -> "tong-hop-quy" [label="cùng kỳ, tất cả đơn vị, đến hạn vẫn mở"];' in to_dot(plan)
