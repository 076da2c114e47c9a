"""Example 8, async style: the three ways, awaited — with no Qt at all.

Plain ``asyncio.run``: threadworker needs no Qt to run workers.
"""

import asyncio

from threadworker import FunctionWorker, create_worker, thread_worker


def my_function(arg1: str, arg2: int | None = None) -> str:
    return f"{arg1} {arg2}"


async def main() -> None:
    decorated = thread_worker(my_function)
    results = await asyncio.gather(
        decorated("hello", arg2=42),
        create_worker(my_function, "hello", arg2=42),
        FunctionWorker(my_function, "hello", arg2=42),
    )
    for way, value in zip(("decorator", "create_worker", "FunctionWorker"), results, strict=True):
        print(f"{way:>14}: returned {value!r}")


asyncio.run(main())
