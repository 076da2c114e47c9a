"""The public surface: ``__all__`` matches, and every public name is documented."""

from __future__ import annotations

import inspect

import threadworker


def test_all_lists_exactly_the_public_names() -> None:
    public = {
        name
        for name, value in vars(threadworker).items()
        if not name.startswith("_") and not inspect.ismodule(value)
    }
    assert set(threadworker.__all__) == public
    assert len(threadworker.__all__) == len(set(threadworker.__all__))


def test_every_public_name_and_method_has_a_docstring() -> None:
    missing = []
    for name in threadworker.__all__:
        obj = getattr(threadworker, name)
        if not inspect.getdoc(obj):
            missing.append(name)
        if inspect.isclass(obj):
            for attr, member in vars(obj).items():
                if attr.startswith("_") or not (callable(member) or isinstance(member, property)):
                    continue
                if not inspect.getdoc(member):
                    missing.append(f"{name}.{attr}")
    assert missing == []


def test_signals_are_declared_on_the_classes() -> None:
    for name in ("started", "finished", "returned", "errored", "warned", "aborted"):
        assert isinstance(getattr(threadworker.WorkerBase, name), threadworker.Signal)
    for name in ("yielded", "paused", "resumed"):
        assert isinstance(getattr(threadworker.GeneratorWorker, name), threadworker.Signal)


def test_package_is_typed() -> None:
    from importlib.resources import files

    assert files("threadworker").joinpath("py.typed").is_file()
