"""Example 3, callback style: a custom error handler, and the default.

``my_handler`` deals with ``ValueError`` and re-raises anything else. A
re-raised error, or one nobody handles, goes to ``sys.excepthook`` on the GUI
thread (a traceback on stderr); the application keeps running either way.
"""

import sys

from _common import ensure_display

ensure_display()

from qtpy.QtWidgets import QApplication  # noqa: E402

from threadworker import thread_worker  # noqa: E402

app = QApplication([])
reported: list[str] = []
default_hook = sys.excepthook


def recording_hook(kind, exc, tb):  # type: ignore[no-untyped-def]
    reported.append(type(exc).__name__)
    default_hook(kind, exc, tb)


sys.excepthook = recording_hook


def my_handler(exc: BaseException) -> None:
    if isinstance(exc, ValueError):
        print(f"We had a minor problem {exc}")
    else:
        raise exc


@thread_worker(connect={"errored": my_handler})
def error_prone_function(kind: type[Exception]) -> None:
    raise kind("from the worker thread")


@thread_worker
def nobody_handles() -> None:
    raise RuntimeError("unhandled, reported by default")


left = [3]


def one_done() -> None:
    left[0] -= 1
    if left[0] == 0:
        print(f"reported to sys.excepthook: {sorted(reported)}; the app kept running")
        app.quit()


error_prone_function(ValueError).finished.connect(one_done)
error_prone_function(KeyError).finished.connect(one_done)
plain = nobody_handles()
plain.finished.connect(one_done)
plain.start()
app.exec()
