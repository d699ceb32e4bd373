"""Benchmark: drafting in a reporting regime - every report occurrence drafted when it opens, the DOCX made lazily.

Run from the repository root:

    python bench/bench_drafts.py                # writes docs/benchmarks.md, "Drafts in a reporting regime"
    python bench/bench_drafts.py --repeat 1 --no-write

What is measured (medians of wall-clock and CPU seconds of this process; the machine and date are written with
the figures):

1. A regime of 4 units x 5 monthly reports over 3.5 years (01/07/2022 - 31/12/2025: 840 report occurrences, each
   drafted when it opens; each report covers the 19 others, the plan language's default), simulated whole with
   everyone on time. As shipped: the Markdown draft made at once, the DOCX kept as the draft's content and
   rendered when first read (engine.reports.stored). Baseline in the same run: the same simulation rendering every
   DOCX at once, as the tick did before. A third run replaces the drafts with a stand-in: the tick's own cost.
2. The seed plan (kh-28-khcn-2022) over its whole life, with its real drafts, as bench_tick measures it.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_tick import OUT_DIR, SEED, SEED_SPAN, machine, run_simulation, stub_documents, timed  # noqa: E402
from bench.report import write_section  # noqa: E402
from engine.language.plan import Plan, load_plan  # noqa: E402

SECTION = "## Drafts in a reporting regime"
UNITS = ("so-tu-phap", "so-noi-vu", "so-tai-chinh", "so-xay-dung")
REGIME_SPAN = (date(2022, 7, 1), date(2025, 12, 31))


def regime_text(units: tuple[str, ...] = UNITS, reports: int = 5) -> str:
    """The YAML of a reporting regime: each unit sends `reports` monthly reports to the province (due on the
    15th-19th, data cut off on the 14th, Decree 09/2019)."""
    out = ["plan:", "  number: 9/KH-UBND", "  title: Chế độ báo cáo định kỳ của các sở (thử tải)",
           "  issuer: {name: Ủy ban nhân dân tỉnh Thử nghiệm}", "  issued_on: 01/07/2022",
           f"  period: {{start: {REGIME_SPAN[0]:%d/%m/%Y}, end: {REGIME_SPAN[1]:%d/%m/%Y}}}", "units:",
           "  ubnd-tinh: {name: Ủy ban nhân dân tỉnh, notify: [ubnd-tinh]}",
           *(f"  {u}: {{name: Sở {u[3:].replace('-', ' ').title()}, notify: [{u}]}}" for u in units),
           "defaults:", "  escalation: {after_days: 1, every_days: 7, max_times: 2, to: [ubnd-tinh]}", "steps:"]
    for u in units:
        for j in range(reports):
            out += [f"  - id: bao-cao-{u}-{j + 1}", "    kind: report", f"    title: Báo cáo chuyên đề {j + 1} của {u}",
                    f"    owner: {u}", "    recipient: ubnd-tinh", f"    timing: {{monthly: {15 + j}}}"]
    return "\n".join(out) + "\n"


def regime_plan() -> Plan:
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    path = OUT_DIR / "drafts-regime.yaml"
    path.write_text(regime_text(), encoding="utf-8")
    return load_plan(path)


def eager_documents(plan: Any, session: Any, step: Any, row: Any, today: date) -> dict[str, bytes]:
    """The drafts as the tick made them before: the Markdown and the rendered DOCX, at once."""
    from engine.reports.drafts import draft, render, window_of

    d = draft(plan, session, step, window_of(plan, step, row.key, row.due_on, row.opens_on), today, row.due_on)
    return {"md": render(d, "md"), "docx": render(d, "docx", today)}


def measure(repeat: int, eager_repeat: int) -> dict[str, Any]:
    plan = regime_plan()
    lazy = timed(lambda: run_simulation(plan, REGIME_SPAN), repeat)
    stub = timed(lambda: run_simulation(plan, REGIME_SPAN, stub_documents), repeat)
    eager = timed(lambda: run_simulation(plan, REGIME_SPAN, eager_documents), eager_repeat, warm=False)
    seed = timed(lambda: run_simulation(load_plan(SEED), SEED_SPAN), repeat)
    return {"lazy": lazy, "stub": stub, "eager": eager, "seed": seed}


def _row(name: str, run: tuple[list[float], list[float], Any], base_cpu: float, target: str = "") -> str:
    wall, cpu, _ = run
    return (f"| {name} | {statistics.median(wall):.2f} | {statistics.median(cpu):.2f} | "
            f"{statistics.median(cpu) / base_cpu:.2f}x | {target} |")


def section(r: dict[str, Any], repeat: int, eager_repeat: int) -> str:
    counts = r["lazy"][2]
    eager_cpu = statistics.median(r["eager"][1])
    lazy_cpu, seed_cpu = statistics.median(r["lazy"][1]), statistics.median(r["seed"][1])
    return "\n".join([
        SECTION, "",
        f"`python bench/bench_drafts.py` - {date.today():%Y-%m-%d}, {machine()}. Medians of {repeat} runs after a "
        f"warm-up run ({eager_repeat} for the eager baseline, which takes minutes); wall-clock and CPU seconds of "
        "this process. The machine is shared: when wall time is well above CPU time, the difference is time spent "
        "waiting for a core, and CPU time itself is inflated by the other work.", "",
        f"A reporting regime of 4 units x 5 monthly reports, 01/07/2022 - 31/12/2025 (`bench/out/drafts-regime.yaml`): "
        f"{counts['occurrences']} report occurrences, {counts['drafts']} drafted when they open, each report covering "
        f"the 19 others (the default), {counts['notices']} queued notices; everyone on time.", "",
        "| run | wall (s) | CPU (s) | vs eager (CPU) | target |", "|---|---:|---:|---:|---|",
        _row("as shipped: Markdown at once, DOCX rendered when first read", r["lazy"], eager_cpu,
             f"< 3 s: {'yes' if lazy_cpu < 3 else 'no'}"),
        _row("baseline: every DOCX rendered at once (the tick before)", r["eager"], eager_cpu),
        _row("the tick alone: drafts replaced by a stand-in", r["stub"], eager_cpu), "",
        "| run | wall (s) | CPU (s) | target |", "|---|---:|---:|---|",
        f"| the seed plan's whole life, real drafts (kh-28-khcn-2022, {SEED_SPAN[0]:%d/%m/%Y} - "
        f"{SEED_SPAN[1]:%d/%m/%Y}) | {statistics.median(r['seed'][0]):.2f} | {seed_cpu:.2f} | < 2 s: "
        f"{'yes' if seed_cpu < 2 else 'no'} |", "",
        "- What made drafting cheap: (1) the DOCX row keeps the draft's content (compressed JSON, ~1 ms to write) and "
        "the DOCX is rendered on its first read - by the drafts server, for a notice's attachment - then kept; "
        "(2) a draft reads from the store only what its window can show: the occurrences not finished before the "
        "window, and the last one finished before it per step (one windowed query), instead of every occurrence of "
        "every covered step since the plan began, which made each draft slower than the one before; (3) the drafts "
        "a tick makes on one day are made in one pass, after the tick's changes, and share one read of the store "
        "(every step, every owner: here 161 reads for 840 drafts) and each covered step's facts and section "
        "(3,220 built for 15,960 shown) - with each step's tally and summary row, each table's Markdown and each "
        "block's JSON in the DOCX's content, made once for all the drafts that show them.",
        "- The eager baseline already reads only the window (2); the code before both changes took about 200 s of "
        "CPU for this regime (one run on 2026-12-01, load average 7-8: not comparable run for run).",
        f"- Where the time goes: the tick's own work is {statistics.median(r['stub'][1]):.2f} s of the "
        f"{lazy_cpu:.2f} s ({statistics.median(r['stub'][1]) / lazy_cpu:.0%}); the drafts add "
        f"{(lazy_cpu - statistics.median(r['stub'][1])) / max(counts['drafts'], 1) * 1000:.2f} ms each - their "
        "summary table, the assembly of 19 sections in Markdown and in the DOCX's content, compressed.",
    ])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--eager-repeat", type=int, default=1)
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args(argv)
    r = measure(args.repeat, args.eager_repeat)
    text = section(r, args.repeat, args.eager_repeat)
    print(text)
    if not args.no_write:
        write_section(SECTION, text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
