"""Example 8, callback style: three equivalent ways to make a worker.

``@thread_worker``, ``create_worker`` and ``FunctionWorker(...)`` build the
same worker; ``create_worker`` also picks ``GeneratorWorker`` for
generator functions.
"""

from _common import ensure_display

ensure_display()

from qtpy.QtCore import QCoreApplication  # noqa: E402

from threadworker import FunctionWorker, create_worker, thread_worker  # noqa: E402


def my_function(arg1: str, arg2: int | None = None) -> str:
    return f"{arg1} {arg2}"


app = QCoreApplication([])
decorated = thread_worker(my_function)
workers = {
    "decorator": decorated("hello", arg2=42),
    "create_worker": create_worker(my_function, "hello", arg2=42),
    "FunctionWorker": FunctionWorker(my_function, "hello", arg2=42),
}
left = [len(workers)]


def report(way: str, value: str) -> None:
    print(f"{way:>14}: {type(workers[way]).__name__} returned {value!r}")
    left[0] -= 1
    if left[0] == 0:
        app.quit()


for way, worker in workers.items():
    worker.returned.connect(lambda value, way=way: report(way, value))
    worker.start()
app.exec()
