"""A lock-free cached property.

``functools.cached_property`` takes a lock on every first access in Python 3.11 (removed in
3.12); over hundreds of thousands of certificate fields that lock is most of the cost. Our
values are immutable and computing one twice is harmless, so no lock is needed.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any, Generic, TypeVar, overload

__all__ = ["cached", "remembered"]

T = TypeVar("T")


class cached(Generic[T]):
    def __init__(self, func: Callable[[Any], T]) -> None:
        self.func = func
        self.name = func.__name__
        self.__doc__ = func.__doc__

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, instance: None, owner: type | None = None) -> cached[T]: ...

    @overload
    def __get__(self, instance: object, owner: type | None = None) -> T: ...

    def __get__(self, instance: object | None, owner: type | None = None) -> T | cached[T]:
        if instance is None:
            return self
        value = self.func(instance)
        instance.__dict__[self.name] = value
        return value


def remembered(owner: object, key: Hashable, compute: Callable[[], T]) -> T:
    """``compute()``, kept in ``owner``'s ``__dict__`` under ``key`` (an immutable owner: a
    certificate's well-formedness or profile checks are worked out once, not per
    verification). Computing twice in a race is harmless."""
    memo: dict[Hashable, Any] = owner.__dict__.setdefault("_remembered", {})
    try:
        value: T = memo[key]
    except KeyError:
        value = memo[key] = compute()
    return value
