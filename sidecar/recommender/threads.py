"""BLAS on one thread while scoring users.

Per-user products are small (a few thousand × 384); multi-threaded OpenBLAS spends more on waking
and syncing threads than on arithmetic, and on a busy 2-core box it was 6-10× slower than one thread.
"""

from __future__ import annotations

from contextlib import AbstractContextManager

from threadpoolctl import threadpool_limits


def single_threaded_blas() -> AbstractContextManager[object]:
    return threadpool_limits(limits=1, user_api="blas")
