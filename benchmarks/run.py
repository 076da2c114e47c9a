"""Run threadworker and its peers side by side; print ratios; save JSON.

Every (scenario, peer) pair runs in a fresh child process with a hard
timeout, so one peer's threads or memory never colour another's numbers.
Ratios are ``ours ÷ peer``, taken within one run on one machine: absolute
times on a shared 2-core machine drift between runs, ratios much less.

Usage: ``python benchmarks/run.py [--quick] [--only SCENARIO ...] [--out PATH]``
(``make bench`` / ``make bench-quick``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent

FULL = {
    "round_trips": 2000,
    "burst": 1000,
    "yields": 100_000,
    "stall_seconds": 2000,  # milliseconds of timer ticks
    "cpu_loop": 8_000_000,
    "control_rounds": 100,
    "quit_rounds": 100,
    "flood": 200_000,
    "scale_max": 1000,
    "scale_functions": 10_000,
    "process_round_trips": 2000,
    "process_yields": 300_000,
    "debounce_starts": 100,
    "timeout_rounds": 100,
    "frames_2mib": 2000,
    "frames_32mib": 100,
}
QUICK = {
    "round_trips": 500,
    "burst": 300,
    "yields": 30_000,
    "stall_seconds": 500,
    "cpu_loop": 2_000_000,
    "control_rounds": 20,
    "quit_rounds": 20,
    "flood": 10_000,
    "scale_max": 100,
    "scale_functions": 1000,
    "process_round_trips": 300,
    "process_yields": 50_000,
    "debounce_starts": 100,
    "timeout_rounds": 30,
    "frames_2mib": 500,
    "frames_32mib": 24,
}

#: Target ratio of 4 CPU-bound workers' total time, processes ÷ threads: the
#: ideal is 1/cores (they share one GIL as threads); 20 % slack for overheads.
PROCESS_SPEEDUP = round(1.2 / min(4, os.cpu_count() or 1), 2)

# (scenario, metric, ours, peer or None for an absolute target, target, how)
# how: "le" ratio (or value) must be <= target, "ge" >= target; "info" is reported only.
COMPARISONS: list[tuple[str, str, str, str | None, float | None, str]] = [
    ("round_trip", "seconds", "tw", "to_thread", 1.2, "le"),
    ("round_trip", "seconds", "tw_qt", "superqt", 0.15, "le"),
    ("round_trip", "seconds", "tw_qasync", "qasync_exec", None, "info"),
    ("round_trip", "seconds", "tw", "raw", None, "info"),
    ("burst", "seconds", "tw", "to_thread", 1.2, "le"),
    ("burst", "seconds", "tw_qt", "superqt", None, "info"),
    ("yield_throughput", "seconds", "tw", "superqt", 0.25, "le"),
    ("yield_throughput", "seconds", "tw_iter", "superqt", 0.25, "le"),
    ("yield_throughput", "seconds", "tw_qt", "superqt", 0.25, "le"),
    ("yield_throughput", "seconds", "tw", "raw", None, "info"),
    ("ui_stall_yield", "p99_gap_ms", "tw", None, 11.0, "le"),
    ("ui_stall_yield", "p99_gap_ms", "tw_qt", None, 11.0, "le"),
    ("ui_stall_yield", "p99_gap_ms", "tw_qt", "superqt", None, "info"),
    ("ui_stall_cpu", "p99_gap_ms", "tw_qt", "superqt", 1.0, "le"),
    ("ui_stall_cpu", "p99_gap_ms", "tw", "to_thread", None, "info"),
    ("control_latency", "pause_median_ms", "tw", None, 0.6, "le"),
    ("control_latency", "resume_median_ms", "tw", None, 0.5, "le"),
    ("control_latency", "quit_median_ms", "tw", None, 0.6, "le"),
    ("control_latency", "resume_median_ms", "tw_qt", "superqt", None, "info"),
    ("flood_memory", "rss_growth_mib", "tw", None, 10.0, "le"),
    ("flood_memory", "rss_growth_mib", "tw_qt", None, 10.0, "le"),
    ("flood_memory", "lost", "tw", None, 0.0, "le"),
    ("flood_memory", "rss_growth_mib", "tw", "superqt", None, "info"),
    # Beyond threads: 4 CPU-bound workers, and what a process costs.
    ("cpu_4_workers", "p99_gap_ms", "tw_process", "idle", 2.0, "le"),
    ("cpu_4_workers", "p99_gap_ms", "tw_thread", "idle", None, "info"),
    # Processes should finish ~cores times sooner (4 workers share min(4, cores) cores).
    ("cpu_4_workers", "seconds", "tw_process", "tw_thread", PROCESS_SPEEDUP, "le"),
    ("process_round_trip", "seconds", "tw_process", "pool_submit", 1.2, "le"),
    ("process_yields", "per_second", "tw_process", None, None, "info"),
    ("process_yields", "per_second", "tw_process", "tw_thread", None, "info"),
    # Policies (issue 15): a burst of 100 debounced starts runs the function once;
    # a timeout's worker ends within 10 ms of its limit on an idle loop.
    ("debounce_burst", "runs", "tw", None, 1.0, "le"),
    ("debounce_burst", "runs", "tw_qt", None, 1.0, "le"),
    ("timeout_latency", "p99_late_ms", "tw", None, 10.0, "le"),
    ("timeout_latency", "p99_late_ms", "tw_qasync", None, 10.0, "le"),
    ("timeout_latency", "p99_late_ms", "tw_qt", None, 10.0, "le"),
    # Big frames from a worker process: shared memory vs the forced pipe vs a thread
    # (issue 16). Frames/s, so "ge": ours must be at least target x the peer's.
    ("frames_2mib", "per_second", "tw_process", "tw_pipe", 5.0, "ge"),
    ("frames_2mib", "per_second", "tw_process", "tw_thread", 0.3, "ge"),
    ("frames_2mib", "mb_per_second", "tw_process", None, None, "info"),
    ("frames_2mib", "peak_rss_mib", "tw_process", None, None, "info"),
    ("frames_32mib", "per_second", "tw_process", "tw_pipe", 5.0, "ge"),
    ("frames_32mib", "per_second", "tw_process", "tw_thread", None, "info"),
    ("frames_32mib", "mb_per_second", "tw_process", None, None, "info"),
    ("frames_32mib", "peak_rss_mib", "tw_process", None, None, "info"),
    ("frames_32mib", "peak_rss_mib", "tw_pipe", None, None, "info"),
    # A generator on a dask cluster (issue 18), against one in a worker process.
    ("dask_yields", "per_second", "tw_dask", None, None, "info"),
    ("dask_yields", "per_second", "tw_dask", "tw_process", None, "info"),
]


def run_child(scenario: str, peer: str, sizes: dict[str, int], timeout: float) -> dict[str, Any]:
    code = (
        "import json, sys; sys.path.insert(0, sys.argv[1]); import scenarios; "
        "r = scenarios.SCENARIOS[sys.argv[2]][sys.argv[3]](json.loads(sys.argv[4])); "
        "print('RESULT ' + json.dumps(r))"
    )
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "QT_LOGGING_RULES": "qt.qpa.*=false"}
    started = time.perf_counter()
    try:
        proc = subprocess.run(
            [sys.executable, "-c", code, str(HERE), scenario, peer, json.dumps(sizes)],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=env,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout:g} s"}
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            result: dict[str, Any] = json.loads(line[len("RESULT ") :])
            result["wall_seconds"] = round(time.perf_counter() - started, 2)
            return result
    return {"error": (proc.stderr.strip().splitlines() or ["no output"])[-1]}


def median_result(results: list[dict[str, Any]]) -> dict[str, Any]:
    """Per-key medians of repeated runs (nested dicts too); errors win."""
    errors = [r["error"] for r in results if "error" in r]
    if errors:
        return {"error": errors[0]}
    out: dict[str, Any] = {}
    for key, first in results[0].items():
        values = [r[key] for r in results]
        if isinstance(first, dict):
            out[key] = median_result(values)
        elif isinstance(first, int | float):
            out[key] = statistics.median(values)
        else:
            out[key] = first
    return out


def versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for dist in ("threadworker", "superqt", "qasync", "PyQt6", "PySide6-Essentials", "qtpy"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            pass
    return out


def compare(results: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    rows = []
    for scenario, metric, ours, peer, target, how in COMPARISONS:
        mine = results.get(scenario, {}).get(ours, {}).get(metric)
        theirs = results.get(scenario, {}).get(peer, {}).get(metric) if peer else None
        if mine is None or (peer is not None and not theirs):
            value = None
        elif peer is None:
            value = float(mine)
        else:
            value = float(mine) / float(theirs)
        met = None if how == "info" or value is None or target is None else value <= target
        if how == "ge" and value is not None and target is not None:
            met = value >= target  # a rate: more is better
        rows.append(
            {
                "scenario": scenario,
                "metric": metric,
                "ours": ours,
                "peer": peer,
                "ours_value": mine,
                "peer_value": theirs,
                "ratio_or_value": value,
                "target": target,
                "how": how,
                "met": met,
            }
        )
    return rows


def fmt(value: object) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def print_table(rows: list[dict[str, Any]]) -> None:
    header = (
        f"{'scenario':<17} {'metric':<17} {'ours':<9} {'peer':<12} "
        f"{'ours':>9} {'peer':>9} {'ratio':>8}  target  met"
    )
    print(header)
    print("-" * len(header))
    for r in rows:
        sign = "≥" if r.get("how") == "ge" else "≤"
        target = "—" if r["target"] is None else f"{sign}{r['target']:g}"
        met = {True: "yes", False: "NO", None: ""}[r["met"]]
        print(
            f"{r['scenario']:<17} {r['metric']:<17} {r['ours']:<9} "
            f"{(r['peer'] or '(absolute)'):<12} "
            f"{fmt(r['ours_value']):>9} {fmt(r['peer_value']):>9} {fmt(r['ratio_or_value']):>8}  "
            f"{target:<6}  {met}"
        )


def markdown(rows: list[dict[str, Any]]) -> str:
    """The comparison rows as a Markdown table (for the README and docs)."""
    lines = [
        "| scenario | metric | ours | vs | ours | peer | ratio / value | target | met |",
        "|---|---|---|---|--:|--:|--:|---|---|",
    ]
    for r in rows:
        sign = "≥" if r.get("how") == "ge" else "≤"
        target = "" if r["target"] is None else f"{sign} {r['target']:g}"
        met = {True: "yes", False: "**no**", None: ""}[r["met"]]
        lines.append(
            f"| {r['scenario']} | {r['metric']} | {r['ours']} | {r['peer'] or '(absolute)'} "
            f"| {fmt(r['ours_value'])} | {fmt(r['peer_value'])} | {fmt(r['ratio_or_value'])} "
            f"| {target} | {met} |"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes: under a minute")
    parser.add_argument("--markdown", metavar="JSON", help="print a saved run as Markdown")
    parser.add_argument("--only", nargs="*", help="scenarios to run (default: all)")
    parser.add_argument("--out", help="JSON results path (default: benchmarks/results/...)")
    parser.add_argument(
        "--repeat", type=int, help="runs per pair, medians reported (default: 3; quick: 2)"
    )
    args = parser.parse_args()
    if args.markdown:
        print(markdown(json.loads(Path(args.markdown).read_text())["comparisons"]))
        return 0
    sys.path.insert(0, str(HERE))
    import scenarios

    sizes = QUICK if args.quick else FULL
    timeout = 60.0 if args.quick else 600.0
    chosen = args.only or list(scenarios.SCENARIOS)
    repeat = args.repeat or (2 if args.quick else 3)
    load_before = os.getloadavg()
    runs: dict[str, dict[str, list[dict[str, Any]]]] = {}
    results: dict[str, dict[str, Any]] = {}
    for scenario in chosen:
        runs[scenario] = {peer: [] for peer in scenarios.SCENARIOS[scenario]}
        # Peers interleaved, round after round: drift hits them all alike.
        for _ in range(repeat):
            for peer in scenarios.SCENARIOS[scenario]:
                runs[scenario][peer].append(run_child(scenario, peer, sizes, timeout))
        results[scenario] = {peer: median_result(r) for peer, r in runs[scenario].items()}
        for peer, result in results[scenario].items():
            shown = {k: (round(v, 4) if isinstance(v, float) else v) for k, v in result.items()}
            print(f"  {scenario:<17} {peer:<13} {shown}", flush=True)
    rows = compare(results)
    print()
    print_table(rows)
    command = "python benchmarks/run.py" + (" --quick" if args.quick else "")
    if args.repeat:
        command += f" --repeat {args.repeat}"
    if args.only:
        command += " --only " + " ".join(args.only)
    report = {
        "command": command,
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpu_count": os.cpu_count(),
            "platform": platform.platform(),
            "loadavg_before": load_before,
            "loadavg_after": os.getloadavg(),
        },
        "versions": versions(),
        "sizes": sizes,
        "repeat": repeat,
        "results": results,
        "runs": runs,
        "comparisons": rows,
    }
    out = (
        Path(args.out)
        if args.out
        else HERE / "results" / ("quick.json" if args.quick else "full.json")
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nsaved {out.relative_to(Path.cwd()) if out.is_relative_to(Path.cwd()) else out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
