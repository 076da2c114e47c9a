"""The package's layout: layers, imports only downward, no cycles, small modules, lean processes.

The layers are stated in ``src/threadworker/__init__.py``. Imports are read
from the source (``ast``), imports inside functions included; those under
``if TYPE_CHECKING:`` never run and are exempt.
"""

from __future__ import annotations

import ast
import asyncio
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import threadworker
from threadworker import create_worker

if TYPE_CHECKING:
    from threadworker import _napari, _qt
    from threadworker._upper_layers import HostAdapter, QtBridge

    # mypy checks that the modules found by name fit the Protocols they are used through.
    _bridge: QtBridge = _qt
    _adapter: HostAdapter = _napari

SRC = Path(threadworker.__file__).parent
PACKAGE = "threadworker"

#: Lowest first; a module may import from its own layer and those below.
LAYERS: dict[str, set[str]] = {
    "core": {
        "_callables",
        "_channel",
        "_current",
        "_exceptions",
        "_latch",
        "_portable_error",
        "_progress_counts",
        "_byte_budget",
        "_segment_ring",
        "_shared_memory",
        "_sizes",
        "_stepper",
        "_upper_layers",
        "_warnings",
    },
    "signals": {"_signal", "_signal_instance", "_signal_iterator", "_slot", "_worker_signals"},
    "placements": {
        "_dask_async_executor",
        "_dask_job",
        "_dask_task",
        "_executors",
        "_pipe_reader",
        "_pool",
        "_process_child",
        "_process_job",
        "_process_pool",
        "_remote_worker",
        "_salvage",
        "_worker_process",
    },
    "runtime": {"_dispatch", "_scope", "_thread_loop", "_worker_scope"},
    "workers": {
        "_exclusive",
        "_factory",
        "_function_worker",
        "_future",
        "_generator_pump",
        "_generator_worker",
        "_main_thread",
        "_policy",
        "_progress",
        "_run_in_executor",
        "_run_in_process",
        "_run_in_thread",
        "_run_on_dask",
        "_runner",
        "_worker",
        "_worker_delivery",
        "_worker_start",
    },
    # The top: Qt, and the pytest plugin (which drives Qt's loop when Qt is in use).
    "qt": {"_napari", "_qt", "_qt_calls", "_qt_timer", "_qthread_worker", "qt", "testing"},
    "package": {"__init__"},
}
#: What a worker process may load: the child side and the core under it.
CHILD_SIDE = {"__init__", "_process_child", "_remote_worker"} | LAYERS["core"]
MAX_LINES = 400
#: Modules allowed over MAX_LINES, with the reason (keep it short).
TOO_BIG_FOR_NOW: dict[str, str] = {}
QT_MODULES = ("qtpy", "PyQt5", "PyQt6", "PySide2", "PySide6", "qasync")


def _is_type_checking(test: ast.expr) -> bool:
    name = test.id if isinstance(test, ast.Name) else getattr(test, "attr", None)
    return name == "TYPE_CHECKING"


def imports_of(path: Path) -> tuple[set[str], set[str]]:
    """(package modules *path* imports at run time, other top-level modules it imports)."""
    ours: set[str] = set()
    others: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for statement in node.orelse:
                visit(statement)
            return
        if isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level == 1:
                ours.update([module.split(".")[0]] if module else [a.name for a in node.names])
            elif module == PACKAGE or module.startswith(PACKAGE + "."):
                names = [a.name for a in node.names] if module == PACKAGE else [module]
                ours.update(name.removeprefix(PACKAGE + ".").split(".")[0] for name in names)
            else:
                others.add(module.split(".")[0])
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith(PACKAGE + "."):
                    ours.add(alias.name.removeprefix(PACKAGE + ".").split(".")[0])
                else:
                    others.add(alias.name.split(".")[0])
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(path.read_text(encoding="utf-8")))
    return ours, others


def modules() -> dict[str, Path]:
    return {path.stem: path for path in sorted(SRC.glob("*.py"))}


def layer_of(module: str) -> int:
    for index, members in enumerate(LAYERS.values()):
        if module in members:
            return index
    raise AssertionError(f"{module} is in no layer: add it to LAYERS and to __init__'s docstring")


def test_every_module_is_in_one_layer() -> None:
    listed = [module for members in LAYERS.values() for module in members]
    assert len(listed) == len(set(listed))
    assert set(listed) == set(modules())


def test_the_layers_are_stated_in_the_package_docstring() -> None:
    doc = threadworker.__doc__ or ""
    for name, members in LAYERS.items():
        if name == "package":
            continue
        assert name in doc
        for module in members:
            assert module in doc, f"{module} is not in the layers of __init__'s docstring"


def test_imports_only_go_down() -> None:
    upward = []
    for module, path in modules().items():
        for target in imports_of(path)[0]:
            if target in modules() and layer_of(target) > layer_of(module):
                upward.append(
                    f"{module} ({layer_of(module)}) imports {target} ({layer_of(target)})"
                )
    assert upward == []


def test_there_is_no_import_cycle() -> None:
    graph = {m: imports_of(p)[0] & set(modules()) - {"__init__"} for m, p in modules().items()}
    del graph["__init__"]  # the top: it imports everything, nothing imports it
    state: dict[str, str] = {}
    cycles: list[list[str]] = []

    def walk(module: str, path: list[str]) -> None:
        state[module] = "open"
        for target in sorted(graph[module]):
            if state.get(target) == "open":
                cycles.append([*path[path.index(target) :], target])
            elif target not in state:
                walk(target, [*path, target])
        state[module] = "done"

    for module in sorted(graph):
        if module not in state:
            walk(module, [module])
    assert cycles == []


def test_only_the_qt_layer_imports_qt() -> None:
    found = {
        module: sorted(imports_of(path)[1] & set(QT_MODULES))
        for module, path in modules().items()
        if module not in LAYERS["qt"]
    }
    assert {module: names for module, names in found.items() if names} == {}


#: The one read of asyncio's private state (Python 3.11-3.13 only, main thread:
#: see _thread_loop's docstring); nowhere else, so 3.14+ needs no code change.
PRIVATE_ASYNCIO_READS = {("_thread_loop", "_local"), ("_thread_loop", "_loop")}


def asyncio_private_names() -> set[str]:
    """The ``_private`` attributes of asyncio's loops, futures, tasks and policy."""
    loop = asyncio.new_event_loop()
    try:
        objects = (loop, loop.create_future(), asyncio.get_event_loop_policy(), asyncio.Task)
        return {
            name
            for obj in objects
            for name in {*dir(obj), *getattr(obj, "__dict__", {})}
            if name.startswith("_") and not name.startswith("__")
        }
    finally:
        loop.close()


def test_no_private_asyncio_state_is_touched() -> None:
    # ``asyncio._name`` only if asyncio exports it (``_get_running_loop`` is in
    # ``asyncio.__all__``: the hook for loops written outside asyncio); no
    # ``loop._attribute``; no private asyncio attribute read by name (``getattr``
    # on anything but ``self``) except the one read allowed above.
    private = asyncio_private_names()
    found = []
    for module, path in modules().items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.attr.startswith("_")
                and not node.attr.startswith("__")
                and (
                    (node.value.id == "asyncio" and node.attr not in asyncio.__all__)
                    or node.value.id.endswith("loop")
                )
            ):
                found.append(f"{module}:{node.lineno}: {ast.unparse(node)}")
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in {"getattr", "hasattr", "setattr"}
                and len(node.args) >= 2
                and not (isinstance(node.args[0], ast.Name) and node.args[0].id == "self")
                and isinstance(node.args[1], ast.Constant)
                and node.args[1].value in private
                and (module, node.args[1].value) not in PRIVATE_ASYNCIO_READS
            ):
                found.append(f"{module}:{node.lineno}: {ast.unparse(node)}")
    assert found == []


def test_modules_are_small() -> None:
    sizes = {m: len(p.read_text(encoding="utf-8").splitlines()) for m, p in modules().items()}
    too_big = {m: n for m, n in sizes.items() if n > MAX_LINES and m not in TOO_BIG_FOR_NOW}
    assert too_big == {}
    # An exception that is no longer needed is dropped.
    assert {m for m in TOO_BIG_FOR_NOW if sizes.get(m, 0) <= MAX_LINES} == set()


def test_the_lazy_public_names_match_all() -> None:
    # A worker process loads public names on first use, through this table.
    table = threadworker._PUBLIC_MODULES
    assert set(table) == set(threadworker.__all__)
    for name, module in table.items():
        assert getattr(sys.modules[f"{PACKAGE}{module}"], name) is getattr(threadworker, name)


async def test_a_worker_process_loads_only_the_child_side() -> None:
    # builtins.eval as the job: its module imports nothing, so what the process
    # holds is what threadworker loaded to run it.
    worker = create_worker(eval, "sorted(__import__('sys').modules)", _executor="process")
    loaded: list[str] = await asyncio.wait_for(worker, 30)
    ours = {name.removeprefix(PACKAGE + ".") for name in loaded if name.startswith(PACKAGE + ".")}
    assert PACKAGE in loaded
    assert ours <= CHILD_SIDE
    assert len(ours) + 1 <= len(modules()) // 2
    assert "asyncio" not in loaded
    assert [name for name in loaded if name.split(".")[0] in QT_MODULES] == []


def test_a_public_name_loads_on_first_use_in_a_worker_process() -> None:
    # What a job's own module does there: ``from threadworker import ...``.
    code = (
        "import multiprocessing.process as p, sys\n"
        "me = p.current_process(); me.name, me._inheriting = 'threadworker-process', True\n"
        "import threadworker\n"
        "del me._inheriting\n"
        "assert 'threadworker._worker' not in sys.modules and 'asyncio' not in sys.modules\n"
        "from threadworker import thread_worker, progress\n"
        "assert callable(thread_worker) and callable(progress)\n"
        "assert 'threadworker._worker' in sys.modules\n"
        "try:\n"
        "    threadworker.no_such_name\n"
        "except AttributeError as exc:\n"
        "    print(exc)\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "module 'threadworker' has no attribute 'no_such_name'"
