"""Progress bars on standard error, shown only when it is a terminal."""

from __future__ import annotations

from typing import Iterable, Iterator, Optional, TypeVar

T = TypeVar("T")


def progress(items: Iterable[T], total: Optional[int] = None, desc: str = "", unit: str = "image") -> Iterator[T]:
    import tqdm

    return iter(tqdm.tqdm(items, total=total, desc=desc, unit=unit, disable=None, leave=False, mininterval=0.5))
