"""How many bytes a value holds, measured cheaply, for bounds on what is in flight.

Only a value's own buffer is counted: ``len()`` of ``bytes``, ``bytearray``
and ``str``, ``.nbytes`` of arrays and memoryviews. Anything else counts as
nothing here; the item bounds (a count) keep those in check. Nothing is ever
pickled or walked to measure it: measuring must cost less than handing over.
"""

from __future__ import annotations

from typing import Any

__all__ = ["BARE_TYPES", "DEFAULT_MAX_BYTES_IN_FLIGHT", "payload_size"]

#: The default budget of ``configure(max_bytes_in_flight=...)``: 32 MiB.
DEFAULT_MAX_BYTES_IN_FLIGHT = 32 * 2**20

#: Types that never hold a buffer worth counting: answered without a lookup.
BARE_TYPES = frozenset({int, float, bool, complex, type(None), tuple, list, dict, set})


def payload_size(value: Any) -> int:
    """Return the bytes *value*'s own buffer holds (0 if it has none we can see)."""
    cls = type(value)
    if cls in BARE_TYPES:
        return 0
    if cls is bytes or cls is bytearray or cls is str:
        return len(value)
    nbytes = getattr(value, "nbytes", None)  # numpy arrays, memoryviews, torch...
    return nbytes if type(nbytes) is int else 0
