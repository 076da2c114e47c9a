"""Example 11: a generator on a dask cluster — streamed, steered, stopped.

``executor=client`` with a generator function runs the generator in a dask
task; its values stream home in order (a generator far ahead waits at its
``yield``), and ``send``/``pause``/``resume``/``quit`` reach it over there.
This starts a two-worker ``LocalCluster`` on loopback; a ``Client`` of a real
cluster works the same. Needs ``pip install 'threadworker[dask]'``.
"""

import asyncio
import itertools
import os
import signal
import time
from collections.abc import Generator

from dask.distributed import Client, LocalCluster

from threadworker import WorkerProcessDied, create_worker


def scaled(start: int) -> Generator[tuple[int, int], int, None]:
    """Yield (dask worker's pid, value) every 10 ms; a value sent in sets the step."""
    value, step = start, 1
    try:
        while True:
            sent = yield os.getpid(), value
            step = sent if sent is not None else step
            value += step
            time.sleep(0.01)
    finally:  # runs on the dask worker when quit
        print("the generator's finally ran", flush=True)


async def main(client: Client) -> None:
    worker = create_worker(scaled, 0, _executor=client)
    values: list[int] = []
    worker.yielded.connect(lambda item: values.append(item[1]))
    worker.start()
    pid, first = await worker.yielded  # the next value
    print(f"first value {first} from pid {pid} (this one is {os.getpid()})")
    await worker.send(10)  # confirmed once the generator received it
    await worker.pause()  # held at its yield: nothing is yielded while paused
    paused_at = len(values)
    await asyncio.sleep(0.2)
    print("yielded while paused:", len(values) - paused_at)
    await worker.resume()
    await worker.yielded
    await worker.quit()  # closed at its next yield; the dask task ends
    steps = {b - a for a, b in itertools.pairwise(values)}
    print(f"{len(values)} values, in order: {values == sorted(values)}, steps {sorted(steps)}")

    # A dask worker that dies takes the generator with it: the worker ends errored.
    doomed = create_worker(scaled, 0, _executor=client)
    doomed.start()
    pid, _ = await doomed.yielded
    os.kill(pid, signal.SIGKILL)
    try:
        await doomed
    except WorkerProcessDied as exc:
        print("killed dask worker:", exc)


if __name__ == "__main__":  # dask's worker processes import this module
    with (
        LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None) as cluster,
        Client(cluster) as client,
    ):
        asyncio.run(main(client))
