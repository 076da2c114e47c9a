"""The counting part of a progress bar, with nothing else: no signals, no asyncio.

A worker process counts with it too (``_process_child.ProgressRelay``), so it
lives in the lowest layer, apart from the home side's ``ProgressBar``.
"""

from __future__ import annotations

__all__ = ["ProgressCounts"]


class ProgressCounts:
    """The counting part of a progress bar: ``n`` steps done of ``total``, a ``desc``.

    ``total == 0`` means indeterminate (a busy indicator). Subclasses decide
    who hears of a change.
    """

    def __init__(self, *, total: int = 0, desc: str = "") -> None:
        self.n = 0
        self.total = total
        self.desc = desc

    def update(self, n: int = 1) -> None:
        """Advance by *n* steps; past ``total`` the bar turns indeterminate."""
        self.n += n
        if self.total and self.n > self.total:
            self.total = 0
        self._changed(reset=False)

    def reset(self, *, total: int | None = None, desc: str | None = None) -> None:
        """Start over at 0, optionally with a new ``total`` and ``desc``."""
        self.n = 0
        if total is not None:
            self.total = total
        if desc is not None:
            self.desc = desc
        self._changed(reset=True)

    def _changed(self, *, reset: bool) -> None:
        raise NotImplementedError
