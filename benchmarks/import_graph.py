"""Print threadworker's import graph, its cycles, its biggest modules and a worker process's load.

The graph comes from the source (``ast``), imports inside functions included;
imports under ``if TYPE_CHECKING:`` are listed apart and left out of the
cycles, as they never run. The process footprint is measured from inside a
real ``executor="process"`` worker: it reports its own ``sys.modules``.

Usage: ``python benchmarks/import_graph.py`` (rerun it after a change to the
package's layout and compare).
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

PACKAGE = "threadworker"
SRC = Path(__file__).resolve().parent.parent / "src" / PACKAGE

# Run in a fresh interpreter started with ``-c``: the worker process then
# imports no main module, so what it loads is threadworker's doing alone. The
# job is the built-in ``eval``, whose module (builtins) imports nothing.
PROBE = """
import asyncio, json, sys, time
from threadworker import create_worker

async def main():
    worker = create_worker(
        eval, "sorted(__import__('sys').modules)", _executor="process", _start_thread=False
    )
    worker.start()
    return await worker

print(json.dumps(asyncio.run(main())))
"""
# As a worker process starts: multiprocessing has named it and is unpickling
# its entry point (threadworker's __init__ checks exactly this).
IMPORT_TIME = """
import multiprocessing.process, pickle, sys, time
me = multiprocessing.process.current_process()
me.name, me._inheriting = "threadworker-process", True
start = time.perf_counter()
import threadworker._process_child
print(round((time.perf_counter() - start) * 1000, 1))
"""


def imports_of(path: Path) -> tuple[set[str], set[str]]:
    """The package modules *path* imports: (at run time, under TYPE_CHECKING only)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    run: set[str] = set()
    typing_only: set[str] = set()

    def visit(node: ast.AST, type_checking: bool) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.body:
                visit(child, True)
            for child in node.orelse:
                visit(child, type_checking)
            return
        found: list[str] = []
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            if node.module:
                found.append(node.module)
            else:
                found.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith(PACKAGE + "."):
            found.append((node.module or "").removeprefix(PACKAGE + "."))
        elif isinstance(node, ast.Import):
            found.extend(
                a.name.removeprefix(PACKAGE + ".")
                for a in node.names
                if a.name.startswith(PACKAGE + ".")
            )
        (typing_only if type_checking else run).update(name.split(".")[0] for name in found)
        for child in ast.iter_child_nodes(node):
            visit(child, type_checking)

    visit(tree, False)
    typing_only -= run
    return run, typing_only


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def graph() -> dict[str, tuple[set[str], set[str]]]:
    """Every module of the package and what it imports from the package."""
    return {path.stem: imports_of(path) for path in sorted(SRC.glob("*.py"))}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in edges.get(node, ()):
            if target not in index:
                connect(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1 or node in edges.get(node, ()):
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            connect(node)
    return found


def process_footprint() -> dict[str, object]:
    """What a worker process has loaded when its job runs, and the child side's import time."""
    out = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, check=True, timeout=120
    ).stdout
    modules: list[str] = json.loads(out.strip().splitlines()[-1])
    ours = sorted(m for m in modules if m == PACKAGE or m.startswith(PACKAGE + "."))
    times = []
    for _ in range(5):
        run = subprocess.run(
            [sys.executable, "-c", IMPORT_TIME], capture_output=True, text=True, check=True
        )
        times.append(float(run.stdout.strip()))
    return {
        "modules": len(modules),
        "threadworker modules": ours,
        "asyncio loaded": "asyncio" in modules,
        "qtpy loaded": "qtpy" in modules,
        "PyQt6 loaded": "PyQt6" in modules,
        "import ms (median of 5, fresh interpreter)": sorted(times)[len(times) // 2],
    }


def main() -> int:
    """Print the report."""
    modules = graph()
    sizes = {
        name: len((SRC / f"{name}.py").read_text(encoding="utf-8").splitlines()) for name in modules
    }
    print(f"modules: {len(modules)} ({sum(sizes.values())} lines)")
    print("\nimport graph (module -> package modules it imports; [typing only]):")
    for name, (run, typing_only) in modules.items():
        extra = f"  [{', '.join(sorted(typing_only))}]" if typing_only else ""
        print(f"  {name} -> {', '.join(sorted(run)) or '-'}{extra}")
    # The package's __init__ imports everything: it is the top, not part of a cycle.
    edges = {name: run for name, (run, _) in modules.items() if name != "__init__"}
    found = cycles(edges)
    print(f"\ncycles (imports inside functions count; TYPE_CHECKING ones do not): {len(found)}")
    for component in found:
        print(f"  {' <-> '.join(component)}")
    print("\nlargest modules (lines):")
    for name, lines in sorted(sizes.items(), key=lambda item: -item[1])[:10]:
        print(f"  {lines:5d}  {name}.py")
    print(f"  modules over 400 lines: {sum(lines > 400 for lines in sizes.values())}")
    footprint = process_footprint()
    ours = footprint["threadworker modules"]
    assert isinstance(ours, list)
    print("\ninside an executor='process' worker (job: builtins.eval):")
    print(f"  sys.modules: {footprint['modules']}")
    print(f"  threadworker modules: {len(ours)} of {len(modules)}: {', '.join(ours)}")
    for key in ("asyncio loaded", "qtpy loaded", "PyQt6 loaded"):
        print(f"  {key}: {footprint[key]}")
    key = "import ms (median of 5, fresh interpreter)"
    print(f"  import of threadworker._process_child as a worker starts, {key}: {footprint[key]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
