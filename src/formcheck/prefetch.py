"""Decode ahead of the pose model: a bounded background iterator (used by the one-worker pose
stage, :mod:`formcheck.pose`, and by each worker of :mod:`formcheck.pose_parallel`)."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from formcheck.video import Frame


#: Frames waiting, decoded, for the model (besides the one the decode thread is working on).
#: Decoding takes 4-8 ms a frame against the model's ~25, so one is enough to keep the model
#: busy (bench/pose_speed.py: stage / model time 1.04 at 720p, 1.09 at 1080p, 1.08 at 4K),
#: and each extra frame costs 6 MB at 1080p (bench/memory.py).
PREFETCH_FRAMES = 1

_END = object()


class Prefetch:
    """Iterate ``items`` in a background thread, at most ``depth`` items ahead.

    Decoding (PyAV, which releases the GIL) then overlaps with inference, so the pose stage
    runs at about the model's own speed.  Exceptions raised by the iterator are re-raised in
    the consuming thread; :meth:`close` stops the thread and closes the iterator (a video
    generator closes its file) from the thread that ran it.
    """

    def __init__(self, items: Iterable[Frame], depth: int = PREFETCH_FRAMES) -> None:
        self._it = iter(items)
        self._q: queue.Queue[object] = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="formcheck-decode",
                                        daemon=True)
        self._thread.start()

    def _put(self, item: object) -> bool:
        while not self._stop.is_set():
            try:
                self._q.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def _run(self) -> None:
        try:
            for item in self._it:
                if not self._put(item):
                    return
            self._put(_END)
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer
            self._put(exc)
        finally:
            close = getattr(self._it, "close", None)
            if close is not None:
                close()

    def __iter__(self) -> Iterator[Frame]:
        while True:
            item = self._q.get()
            if item is _END:
                return
            if isinstance(item, BaseException):
                raise item
            yield item  # type: ignore[misc]

    def close(self) -> None:
        self._stop.set()
        self._thread.join()

    def __enter__(self) -> Prefetch:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
