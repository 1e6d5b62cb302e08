"""Progress reporting that stages accept without depending on a terminal library.

Long-running stage functions take ``track``; entry points pass a rich progress bar,
tests pass nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Protocol, TypeVar

T = TypeVar("T")


class Track(Protocol):
    def __call__(
        self, items: Iterable[T], description: str, total: int | None = None
    ) -> Iterable[T]: ...


def no_track(items: Iterable[T], description: str, total: int | None = None) -> Iterator[T]:
    """The default: iterate without reporting."""
    yield from items
