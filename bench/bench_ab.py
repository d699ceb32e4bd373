"""Benchmark: this checkout against an earlier revision, on the simulations issue 12 sets targets for.

Run from the repository root:

    python bench/bench_ab.py 5d23b03              # writes docs/benchmarks.md, "This checkout against ..."
    python bench/bench_ab.py 5d23b03 --rounds 3 --no-write

Why: on a shared machine the same run's CPU time moves by a third from one minute to the next, so figures taken on
different days cannot show a change of 10%. Here both revisions run in the same session, interleaved (base, this,
base, this, ...), each run in a process of its own after a warm-up run in that process, so that a slow minute
slows both; the medians and their ratio are reported. Beside them, two counts that do not depend on the machine:
the Python function calls (cProfile) and the SQL statements of one run of each.

The earlier revision is checked out in a temporary git worktree (removed at the end). What is run, in both:
1. the drafts regime of bench_drafts (4 units x 5 monthly reports, 01/07/2022 - 31/12/2025, every report drafted
   when it opens), and the same with drafts replaced by the stand-in (the tick's own cost);
2. the 60-unit regime of bench_tick over its first year (01/01/2022 - 31/12/2022), the same two ways.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_tick import machine  # noqa: E402
from bench.report import write_section  # noqa: E402

RUNS = {  # name: (what is simulated, drafts)
    "4x5, drafts": ("4x5", True),
    "4x5, stand-in": ("4x5", False),
    "60 units, 1 year, drafts": ("60", True),
    "60 units, 1 year, stand-in": ("60", False),
}

# Run in a revision's own checkout (its bench and engine on sys.path): one warm-up run, then one measured.
CHILD = """
import collections, cProfile, json, pstats, sys, time
from datetime import date
sys.path.insert(0, sys.argv[1])
from sqlalchemy import event
from sqlalchemy.engine import Engine
from bench.bench_drafts import REGIME_SPAN, regime_plan
from bench.bench_tick import regime_plan as units_plan, run_simulation, stub_documents
from engine.language.plan import load_plan
regime, drafts, counted = sys.argv[2], sys.argv[3] == "1", sys.argv[4] == "1"
plan, span = ((regime_plan(), REGIME_SPAN) if regime == "4x5"
              else (load_plan(units_plan(60)), (date(2022, 1, 1), date(2022, 12, 31))))
docs = None if drafts else stub_documents
run_simulation(plan, span, docs)
statements = collections.Counter()
if counted:
    event.listen(Engine, "before_cursor_execute", lambda *a: statements.update(["n"]))
    profile = cProfile.Profile()
    profile.enable()
cpu, wall = time.process_time(), time.perf_counter()
counts = run_simulation(plan, span, docs)
cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
out = {"cpu": cpu, "wall": wall, **counts}
if counted:
    profile.disable()
    out.update(calls=pstats.Stats(profile).total_calls, statements=statements["n"])
print(json.dumps(out))
"""

SECTION_PREFIX = "## This checkout against an earlier revision"


def _run(checkout: Path, regime: str, drafts: bool, counted: bool = False) -> dict:
    env = {**os.environ, "PYTHONPATH": str(checkout)}
    done = subprocess.run([sys.executable, "-c", CHILD, str(checkout), regime, "1" if drafts else "0",
                           "1" if counted else "0"], cwd=checkout, env=env, capture_output=True, text=True,
                          check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def _head(checkout: Path) -> str:
    return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=checkout, capture_output=True, text=True,
                          check=True).stdout.strip()


def measure(base: Path, rounds: int) -> dict[str, dict[str, list[dict]]]:
    out: dict[str, dict[str, list[dict]]] = {name: {"base": [], "this": []} for name in RUNS}
    for name, (regime, drafts) in RUNS.items():  # the counts, once each
        for side, checkout in (("base", base), ("this", ROOT)):
            out[name][side].append(_run(checkout, regime, drafts, counted=True))
    for _ in range(rounds):
        for name, (regime, drafts) in RUNS.items():
            for side, checkout in (("base", base), ("this", ROOT)):
                out[name][side].append(_run(checkout, regime, drafts))
    return out


def section(results: dict[str, dict[str, list[dict]]], base_rev: str, this_rev: str, rounds: int) -> str:
    lines = [f"{SECTION_PREFIX}", "",
             f"`python bench/bench_ab.py {base_rev}` - {date.today().isoformat()}, {machine()}. This checkout "
             f"({this_rev}, with any uncommitted change) against {base_rev}, run in turn in the same session: "
             f"{rounds} rounds, each run a process of its own after a warm-up run; medians of CPU seconds. The "
             "function calls (cProfile) and SQL statements are counted in one more run of each; they do not depend "
             "on the machine.", "",
             "| simulation | base CPU (s) | this CPU (s) | this / base | base: calls, statements | this: calls, "
             "statements | calls: this / base |", "|---|---:|---:|---:|---:|---:|---:|"]
    for name, sides in results.items():
        timed = {side: [r["cpu"] for r in runs if "calls" not in r] for side, runs in sides.items()}
        counted = {side: next(r for r in runs if "calls" in r) for side, runs in sides.items()}
        b, t = statistics.median(timed["base"]), statistics.median(timed["this"])
        cb, ct = counted["base"], counted["this"]
        lines.append(f"| {name} | {b:.2f} | {t:.2f} | {t / b:.2f} | {cb['calls']:,}, {cb['statements']:,} | "
                     f"{ct['calls']:,}, {ct['statements']:,} | {ct['calls'] / cb['calls']:.2f} |")
    first = next(iter(results.values()))["this"][0]
    lines += ["", f"The drafts regime: {first['occurrences']:,} occurrences, {first['drafts']:,} drafts, "
              f"{first['notices']:,} notices in each run; both revisions store the same counts."]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("base", help="the earlier revision (a commit, a tag, a branch)")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="kehoach-ab-") as tmp:
        base = Path(tmp) / "base"
        subprocess.run(["git", "worktree", "add", "--detach", "--quiet", str(base), args.base], cwd=ROOT,
                       check=True)
        try:
            results = measure(base, args.rounds)
            base_rev = _head(base)
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(base)], cwd=ROOT, check=False)
    for name, sides in results.items():
        counts = {side: {k: runs[0][k] for k in ("occurrences", "events", "notices", "drafts")}
                  for side, runs in sides.items()}
        if counts["base"] != counts["this"]:
            print(f"{name}: the revisions store different counts: {counts}", file=sys.stderr)
            return 1
    text = section(results, base_rev, _head(ROOT), args.rounds)
    print(text)
    if not args.no_write:
        write_section(SECTION_PREFIX, text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
