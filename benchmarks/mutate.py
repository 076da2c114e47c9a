"""Mutation testing: plant one small bug at a time in a core module; do the tests notice?

Each *mutant* is the module with one change — a comparison flipped or moved by
one, a condition negated, ``and``/``or`` swapped, a ``not`` dropped, a
constant moved by one, a statement dropped (a call such as a re-check or an
``Event.set()``, a state assignment, an early ``return``, a ``raise``, a
``continue``/``break``), a returned value replaced by ``None``, ``+``/``-``
swapped, ``popleft`` made ``pop``. Each mutant runs against the fast test files
that cover its module (:data:`TESTS`), in a private copy of the package
(``PYTHONPATH``), never in the source tree. A mutant is *killed* when the tests
fail, error or time out; a *survivor* shows a bug the tests would let through
(or an equivalent change: read them).

Too many mutants for a shared machine: ``--per-module`` samples that many per
module with a fixed seed, so runs are comparable. Results are cached in
``build/mutation/cache.json`` by the mutant's text, the package and the test
files, so an interrupted run resumes and a re-run after new tests re-runs only
the modules whose tests changed.

Usage::

    python benchmarks/mutate.py [--modules _channel _latch] [--per-module 40]
        [--seed 12] [--jobs 1] [--list] [--show ID] [--only ID]

(``make mutation``; ``MUTATION_ARGS="--per-module 20"`` for a shorter run.)
"""

from __future__ import annotations

import argparse
import ast
import concurrent.futures
import copy
import dataclasses
import hashlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "src" / "threadworker"
OUT = ROOT / "build" / "mutation"

#: Module → the fast test files that cover it (missing files are skipped).
TESTS: dict[str, list[str]] = {
    "_channel": ["test_channel.py", "test_generator_worker.py"],
    "_latch": ["test_latch.py", "test_signal.py", "test_worker.py"],
    "_stepper": ["test_stepper.py", "test_generator_worker.py"],
    "_dispatch": ["test_dispatch.py", "test_worker.py"],
    "_signal": ["test_signal.py", "test_worker.py"],
    # _signal's code, since the split (issue 13).
    "_signal_instance": ["test_signal.py", "test_worker.py"],
    "_signal_iterator": ["test_signal.py", "test_generator_worker.py"],
    "_slot": ["test_signal.py", "test_worker.py"],
    "_generator_worker": ["test_generator_worker.py"],
    "_generator_pump": ["test_generator_worker.py"],
    "_worker": ["test_worker.py"],
    # _worker's code, since the split (issue 13).
    "_worker_start": ["test_worker.py"],
    "_worker_delivery": ["test_worker.py"],
    "_function_worker": ["test_worker.py"],
}

_NEGATED: dict[type[ast.cmpop], type[ast.cmpop]] = {
    ast.Eq: ast.NotEq,
    ast.NotEq: ast.Eq,
    ast.Lt: ast.GtE,
    ast.GtE: ast.Lt,
    ast.Gt: ast.LtE,
    ast.LtE: ast.Gt,
    ast.Is: ast.IsNot,
    ast.IsNot: ast.Is,
    ast.In: ast.NotIn,
    ast.NotIn: ast.In,
}
# Off by one at the boundary: ``<`` where ``<=`` was meant, and so on.
_BOUNDARY: dict[type[ast.cmpop], type[ast.cmpop]] = {
    ast.Lt: ast.LtE,
    ast.LtE: ast.Lt,
    ast.Gt: ast.GtE,
    ast.GtE: ast.Gt,
}
_BINOPS: dict[type[ast.operator], type[ast.operator]] = {
    ast.Add: ast.Sub,
    ast.Sub: ast.Add,
    ast.FloorDiv: ast.Mult,
    ast.Mult: ast.FloorDiv,
}
_SKIP_PRAGMAS = ("pragma: no cover", "pragma: no mutate")


@dataclass(frozen=True)
class Mutant:
    """One change to one module: replace a byte range of its source."""

    module: str
    line: int
    kind: str
    description: str
    start: int  # byte offsets into the UTF-8 source
    end: int
    replacement: str
    variant: int = 0  # tells apart mutants of the same kind at the same place

    @property
    def id(self) -> str:
        suffix = f"+{self.variant}" if self.variant else ""
        return f"{self.module}:{self.line}:{self.kind}:{self.start}{suffix}"

    def apply(self, source: bytes) -> bytes:
        return source[: self.start] + self.replacement.encode() + source[self.end :]


class _Finder(ast.NodeVisitor):
    """Walks one module and records every mutation site."""

    def __init__(self, module: str, source: bytes) -> None:
        self.module = module
        self.source = source
        self.lines = source.decode().splitlines()
        self.line_starts = [0]
        for raw in source.splitlines(keepends=True):
            self.line_starts.append(self.line_starts[-1] + len(raw))
        self.found: list[Mutant] = []
        self.function = ""  # the function being walked

    # -- recording -----------------------------------------------------------------
    def _span(self, node: ast.AST) -> tuple[int, int]:
        start = self.line_starts[node.lineno - 1] + node.col_offset  # type: ignore[attr-defined]
        assert node.end_lineno is not None  # type: ignore[attr-defined]
        assert node.end_col_offset is not None  # type: ignore[attr-defined]
        end = self.line_starts[node.end_lineno - 1] + node.end_col_offset  # type: ignore[attr-defined]
        return start, end

    def _add(self, node: ast.AST, kind: str, replacement: str, description: str) -> None:
        start, end = self._span(node)
        line: int = node.lineno  # type: ignore[attr-defined]
        self.found.append(Mutant(self.module, line, kind, description, start, end, replacement))

    def _expr(self, node: ast.expr, kind: str, new: ast.expr, description: str) -> None:
        self._add(node, kind, f"({ast.unparse(new)})", description)

    # -- what is not mutated -----------------------------------------------------------
    def _skipped(self, node: ast.AST) -> bool:
        line = self.lines[node.lineno - 1]  # type: ignore[attr-defined]
        return any(pragma in line for pragma in _SKIP_PRAGMAS)

    def generic_visit(self, node: ast.AST) -> None:
        for field, value in ast.iter_fields(node):
            if field in ("annotation", "returns", "decorator_list", "type_params"):
                continue  # types and decorators are not behaviour
            children = value if isinstance(value, list) else [value]
            for child in children:
                if isinstance(child, ast.AST):
                    self.visit(child)

    def visit(self, node: ast.AST) -> None:
        if isinstance(node, ast.stmt | ast.excepthandler) and self._skipped(node):
            return
        super().visit(node)

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        outer, self.function = self.function, node.name
        self.generic_visit(node)
        self.function = outer

    def visit_If(self, node: ast.If) -> None:
        if isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            return
        self._negate_condition(node.test)
        # The guard gone: its body always runs (a dropped re-check, a missing test).
        self._expr(node.test, "always", ast.Constant(True), "the condition always holds")
        self.generic_visit(node)

    def visit_While(self, node: ast.While) -> None:
        self._negate_condition(node.test)
        self.generic_visit(node)

    def visit_IfExp(self, node: ast.IfExp) -> None:
        self._negate_condition(node.test)
        self.generic_visit(node)

    def visit_Assert(self, node: ast.Assert) -> None:
        pass  # asserts narrow types for mypy: dropping one changes nothing real

    def visit_JoinedStr(self, node: ast.JoinedStr) -> None:
        pass  # message text

    def visit_Assign(self, node: ast.Assign) -> None:
        if any(isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets):
            return
        # An attribute never set in __init__ fails at once: a mutant nobody learns from.
        state = all(isinstance(t, ast.Attribute | ast.Subscript) for t in node.targets)
        if state and self.function != "__init__":
            self._drop(node, "drop the assignment")
        self.generic_visit(node)

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        if isinstance(node.target, ast.Attribute | ast.Subscript):
            self._drop(node, "drop the update")
        if isinstance(node.op, ast.Add | ast.Sub):
            other = "-=" if isinstance(node.op, ast.Add) else "+="
            start, end = self._span(node)
            text = self.source[start:end].decode()
            old = "+=" if isinstance(node.op, ast.Add) else "-="
            self._add(node, "augop", text.replace(old, other, 1), f"{old} -> {other}")
        self.generic_visit(node)

    # -- statements ---------------------------------------------------------------------
    def _drop(self, node: ast.stmt, description: str) -> None:
        self._add(node, "drop", "pass", description)

    def visit_Expr(self, node: ast.Expr) -> None:
        if isinstance(node.value, ast.Constant):
            return  # a docstring
        if isinstance(node.value, ast.Call | ast.Await | ast.YieldFrom | ast.Yield):
            self._drop(node, "drop the call")
        self.generic_visit(node)

    def visit_Return(self, node: ast.Return) -> None:
        if node.value is None or (
            isinstance(node.value, ast.Constant) and node.value.value is None
        ):
            self._drop(node, "drop the early return")
        elif not isinstance(node.value, ast.Constant):
            self._add(node, "return", "return None", "return None instead")
        self.generic_visit(node)

    def visit_Raise(self, node: ast.Raise) -> None:
        self._drop(node, "drop the raise")
        # The exception's own construction (message text) is not behaviour.

    def visit_Continue(self, node: ast.Continue) -> None:
        self._drop(node, "drop the continue")

    def visit_Break(self, node: ast.Break) -> None:
        self._drop(node, "drop the break")

    # -- expressions --------------------------------------------------------------------
    def _negate_condition(self, test: ast.expr) -> None:
        # Comparisons, ``not`` and and/or have their own, finer mutations.
        if not isinstance(test, ast.Compare | ast.BoolOp | ast.UnaryOp):
            self._expr(test, "negate", ast.UnaryOp(ast.Not(), test), "negate the condition")

    def visit_Compare(self, node: ast.Compare) -> None:
        for index, op in enumerate(node.ops):
            for table, kind in ((_NEGATED, "compare"), (_BOUNDARY, "boundary")):
                swapped = table.get(type(op))
                if swapped is None:
                    continue
                new = copy.copy(node)
                new.ops = [*node.ops[:index], swapped(), *node.ops[index + 1 :]]
                description = f"{_op_text(op)} -> {_op_text(swapped())}"
                self._expr(node, kind, new, description)
        self.generic_visit(node)

    def visit_BoolOp(self, node: ast.BoolOp) -> None:
        other = ast.Or() if isinstance(node.op, ast.And) else ast.And()
        names = ("and", "or") if isinstance(node.op, ast.And) else ("or", "and")
        self._expr(node, "boolop", ast.BoolOp(other, node.values), "{} -> {}".format(*names))
        self.generic_visit(node)

    def visit_UnaryOp(self, node: ast.UnaryOp) -> None:
        if isinstance(node.op, ast.Not):
            self._expr(node, "not", node.operand, "drop the not")
        self.generic_visit(node)

    def visit_BinOp(self, node: ast.BinOp) -> None:
        swapped = _BINOPS.get(type(node.op))
        if swapped is not None:
            description = f"{type(node.op).__name__} -> {swapped.__name__}"
            self._expr(node, "binop", ast.BinOp(node.left, swapped(), node.right), description)
        self.generic_visit(node)

    def visit_Constant(self, node: ast.Constant) -> None:
        value = node.value
        if isinstance(value, bool):
            self._expr(node, "const", ast.Constant(not value), f"{value} -> {not value}")
        elif isinstance(value, int):
            self._expr(node, "const", ast.Constant(value + 1), f"{value} -> {value + 1}")
            if value > 1:
                self._expr(node, "const", ast.Constant(value - 1), f"{value} -> {value - 1}")

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if node.attr == "popleft":
            new = ast.Attribute(node.value, "pop", node.ctx)
            self._expr(node, "order", new, "popleft -> pop")
        self.generic_visit(node)


def _op_text(op: ast.cmpop) -> str:
    return ast.unparse(ast.Compare(ast.Name("a"), [op], [ast.Name("b")]))[2:-2]


def find_mutants(module: str) -> list[Mutant]:
    """Every mutant of ``threadworker/<module>.py`` that still compiles."""
    source = (PACKAGE / f"{module}.py").read_bytes()
    finder = _Finder(module, source)
    finder.visit(ast.parse(source))
    valid: list[Mutant] = []
    seen: dict[str, int] = {}
    for mutant in finder.found:
        try:
            compile(mutant.apply(source), f"{module}.py", "exec")
        except SyntaxError:
            continue
        variant = seen.get(mutant.id, 0)
        seen[mutant.id] = variant + 1
        valid.append(dataclasses.replace(mutant, variant=variant))
    return valid


def sample(mutants: list[Mutant], count: int, seed: int) -> list[Mutant]:
    """*count* of *mutants*, the same ones for the same seed and source."""
    if count <= 0 or count >= len(mutants):
        return mutants
    picked = random.Random(seed).sample(range(len(mutants)), count)
    return [mutants[i] for i in sorted(picked)]


def show(mutant: Mutant) -> str:
    """The changed line(s), before and after."""
    source = (PACKAGE / f"{mutant.module}.py").read_bytes()
    first = source.rfind(b"\n", 0, mutant.start) + 1
    last = source.find(b"\n", mutant.end)
    before = source[first:last].decode()
    after = mutant.apply(source)[first : last + len(mutant.apply(source)) - len(source)]
    return f"- {before.strip()}\n+ {after.decode().strip()}"


# -- running ------------------------------------------------------------------------------


def _digest(*parts: bytes) -> str:
    hasher = hashlib.sha256()
    for part in parts:
        hasher.update(hashlib.sha256(part).digest())
    return hasher.hexdigest()[:24]


def _package_digest() -> bytes:
    files = sorted(PACKAGE.glob("*.py"))
    return _digest(*(f.name.encode() + f.read_bytes() for f in files)).encode()


def tests_of(module: str, base: Path) -> list[str]:
    """The existing test files for *module*, as pytest arguments."""
    return [f"tests/{name}" for name in TESTS[module] if (base / "tests" / name).exists()]


def _tests_digest(module: str, base: Path) -> bytes:
    names = [*tests_of(module, base), "tests/conftest.py", "pyproject.toml"]
    return _digest(*((base / name).read_bytes() for name in names)).encode()


class Sandbox:
    """A private copy of the package, and of the tests, that mutants are written into.

    The tests are copied too, so editing them while a run goes on changes nothing.
    """

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="threadworker-mutation-"))
        ignore = shutil.ignore_patterns("__pycache__", ".hypothesis")
        shutil.copytree(PACKAGE, self.root / "threadworker", ignore=ignore)
        shutil.copytree(ROOT / "tests", self.root / "tests", ignore=ignore)
        shutil.copy2(ROOT / "pyproject.toml", self.root / "pyproject.toml")

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            PYTHONPATH=str(self.root),  # ahead of the editable install's path
            PYTHONDONTWRITEBYTECODE="1",  # a same-size mutant in the same second: stale .pyc
            QT_API=env.get("QT_API", "pyqt6"),
            PYTEST_QT_API=env.get("QT_API", "pyqt6"),
            QT_QPA_PLATFORM="offscreen",
        )
        return env

    def write(self, module: str, text: bytes) -> None:
        (self.root / "threadworker" / f"{module}.py").write_bytes(text)

    def restore(self, module: str) -> None:
        shutil.copy2(PACKAGE / f"{module}.py", self.root / "threadworker" / f"{module}.py")

    def check_imported_from_here(self) -> None:
        out = subprocess.run(
            [sys.executable, "-c", "import threadworker; print(threadworker.__file__)"],
            env=self.env(),
            cwd=self.root,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        if not out.startswith(str(self.root)):
            raise SystemExit(f"the tests would import {out}, not the sandbox copy")

    def remove(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


def run_tests(sandbox: Sandbox, files: list[str], timeout: float) -> tuple[str, float, str]:
    """Run *files* against the sandbox: (status, seconds, first failure)."""
    command = [
        sys.executable,
        "-m",
        "pytest",
        *files,
        "-x",
        "-q",
        "--no-header",
        "-p",
        "no:randomly",
        f"--timeout={max(10, int(timeout))}",
    ]
    began = time.monotonic()
    process = subprocess.Popen(
        command,
        cwd=sandbox.root,
        env=sandbox.env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its worker processes go with it on a timeout
    )
    try:
        output, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        return "timeout", time.monotonic() - began, ""
    seconds = time.monotonic() - began
    failures = (line for line in output.splitlines() if line.startswith(("FAILED", "ERROR")))
    failure = next(failures, "")
    if process.returncode == 0:
        return "survived", seconds, ""
    if process.returncode in (1, 2, 3):  # failed, interrupted (collection), internal error
        return "killed", seconds, failure or output.strip().splitlines()[-1:][0]
    return f"error (pytest exit {process.returncode})", seconds, output[-2000:]


@dataclass
class Result:
    """What happened to one mutant."""

    id: str
    module: str
    line: int
    kind: str
    description: str
    status: str
    seconds: float
    failure: str
    change: str


class Cache:
    """Results by mutant text, package and tests: a re-run skips what it knows."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.lock = threading.Lock()
        self.data: dict[str, dict[str, object]] = {}
        if path.exists():
            self.data = json.loads(path.read_text())

    def get(self, key: str) -> dict[str, object] | None:
        with self.lock:
            return self.data.get(key)

    def put(self, key: str, value: dict[str, object]) -> None:
        with self.lock:
            self.data[key] = value
            self.path.parent.mkdir(parents=True, exist_ok=True)
            temporary = self.path.with_suffix(".tmp")
            temporary.write_text(json.dumps(self.data, indent=1, sort_keys=True))
            temporary.replace(self.path)


def _key(mutant: Mutant, package: bytes, tests: bytes) -> str:
    """Changes with the mutant, the package's other modules, and the tests."""
    source = (PACKAGE / f"{mutant.module}.py").read_bytes()
    return _digest(mutant.apply(source), package, tests)


def evaluate(
    mutants: list[Mutant], jobs: int, cache: Cache, factor: float, log: bool = True
) -> Iterator[Result]:
    """Run every mutant (cached ones are not re-run); yield results as they come."""
    package = _package_digest()
    baseline: dict[str, float] = {}
    sandboxes: list[Sandbox] = [Sandbox() for _ in range(jobs)]
    free = list(sandboxes)
    free_lock = threading.Lock()
    sandboxes[0].check_imported_from_here()
    try:
        modules = sorted({m.module for m in mutants})
        for module in modules:
            todo = [m for m in mutants if m.module == module]
            tests = _tests_digest(module, sandboxes[0].root)
            if all(cache.get(_key(m, package, tests)) for m in todo):
                continue
            # The unmutated tests must pass; their time sets the per-mutant bound.
            files = tests_of(module, sandboxes[0].root)
            status, seconds, failure = run_tests(sandboxes[0], files, 600)
            if status != "survived":
                raise SystemExit(f"the tests of {module} fail unmutated: {failure}")
            baseline[module] = seconds
            if log:
                print(f"{module}: tests take {seconds:.1f}s unmutated", flush=True)

        def one(mutant: Mutant) -> Result:
            key = _key(mutant, package, _tests_digest(mutant.module, sandboxes[0].root))
            cached = cache.get(key)
            if cached is not None:
                return Result(**{**cached, "id": mutant.id})  # type: ignore[arg-type]
            with free_lock:
                sandbox = free.pop()
            try:
                source = (PACKAGE / f"{mutant.module}.py").read_bytes()
                sandbox.write(mutant.module, mutant.apply(source))
                timeout = factor * baseline[mutant.module] + 10
                files = tests_of(mutant.module, sandbox.root)
                status, seconds, failure = run_tests(sandbox, files, timeout)
            finally:
                sandbox.restore(mutant.module)
                with free_lock:
                    free.append(sandbox)
            result = Result(
                mutant.id,
                mutant.module,
                mutant.line,
                mutant.kind,
                mutant.description,
                status,
                round(seconds, 2),
                failure,
                show(mutant),
            )
            cache.put(key, asdict(result))
            return result

        with concurrent.futures.ThreadPoolExecutor(jobs) as pool:
            for done, result in enumerate(pool.map(one, mutants), 1):
                if log:
                    mark = "." if result.status != "survived" else "S"
                    print(
                        f"[{done}/{len(mutants)}] {mark} {result.id} {result.description}",
                        flush=True,
                    )
                yield result
    finally:
        for sandbox in sandboxes:
            sandbox.remove()


def report(results: list[Result]) -> str:
    """A table of kill rates per module, then every survivor."""
    lines = [f"{'module':<20}{'mutants':>8}{'killed':>8}{'timeout':>8}{'survived':>9}{'rate':>8}"]
    for module in sorted({r.module for r in results}, key=list(TESTS).index):
        mine = [r for r in results if r.module == module]
        lines.append(_row(module, mine))
    lines.append(_row("total", results))
    lines.append("")
    lines.append("survivors:")
    for r in results:
        if r.status == "survived":
            lines.append(f"  {r.id}  {r.description}")
            lines.extend(f"      {text}" for text in r.change.splitlines())
    return "\n".join(lines)


def _row(name: str, results: list[Result]) -> str:
    killed = sum(r.status == "killed" for r in results)
    timeouts = sum(r.status == "timeout" for r in results)
    survived = sum(r.status == "survived" for r in results)
    rate = (killed + timeouts) / len(results) if results else 0.0
    return f"{name:<20}{len(results):>8}{killed:>8}{timeouts:>8}{survived:>9}{rate:>8.1%}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--modules", nargs="+", default=list(TESTS), choices=list(TESTS))
    parser.add_argument("--per-module", type=int, default=30, help="0: every mutant")
    parser.add_argument("--seed", type=int, default=12)
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--timeout-factor", type=float, default=3.0)
    parser.add_argument("--cache", type=Path, default=OUT / "cache.json")
    parser.add_argument("--list", action="store_true", help="list the mutants, run nothing")
    parser.add_argument("--show", metavar="ID", help="show one mutant's change")
    parser.add_argument("--only", metavar="ID", nargs="+", help="run just these mutants")
    parser.add_argument(
        "--tests",
        metavar="FILE",
        nargs="+",
        help="run these test files (names in tests/) for every module instead of TESTS",
    )
    args = parser.parse_args()
    if args.tests:
        for module in TESTS:
            TESTS[module] = args.tests

    chosen: list[Mutant] = []
    for module in args.modules:
        every = find_mutants(module)
        picked = sample(every, args.per_module, args.seed)
        chosen.extend(picked)
        if args.list:
            print(f"{module}: {len(picked)} of {len(every)} mutants")
    if args.only or args.show:
        wanted = set(args.only or [args.show])
        chosen = [m for module in args.modules for m in find_mutants(module) if m.id in wanted]
    if args.list or args.show:
        for mutant in chosen:
            print(f"{mutant.id}  {mutant.description}\n{show(mutant)}")
        return

    results = list(evaluate(chosen, args.jobs, Cache(args.cache), args.timeout_factor))
    text = report(results)
    print(text)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "report.txt").write_text(text + "\n")
    (OUT / "results.json").write_text(json.dumps([asdict(r) for r in results], indent=1))


if __name__ == "__main__":
    main()
