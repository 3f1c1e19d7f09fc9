"""Fault injection: latency, errors on a path (n times), 429 with Retry-After, hanging pages, bad auth,
and lost answers (the server did the work, then the answer never arrived)."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field


@dataclass
class Fault:
    path: str  # regular expression, full match against the path without the /emby prefix
    status: int | None = None
    retry_after: str | None = None
    hang_seconds: float | None = None
    delay_seconds: float = 0.0
    times: int | None = 1  # None = every matching request
    method: str | None = None
    query: dict[str, str] = field(default_factory=dict)  # case-insensitive names, exact values
    hits: int = 0
    # Run the handler first (the change is committed), then hang or fail: the client sees a timeout
    # or an error for a request that did happen, as after a dropped connection or a proxy timeout.
    after_commit: bool = False

    async def wait(self) -> None:
        """Hang, then the added delay, as the rule asks, before the answer (or the injected error)."""
        if self.hang_seconds:
            await asyncio.sleep(self.hang_seconds)
        if self.delay_seconds:
            await asyncio.sleep(self.delay_seconds)

    def matches(self, method: str, path: str, query: dict[str, str]) -> bool:
        if self.times is not None and self.times <= 0:
            return False
        if self.method and self.method.upper() != method.upper():
            return False
        if not re.fullmatch(self.path, path):
            return False
        return all(query.get(k.lower()) == v for k, v in self.query.items())


@dataclass
class Faults:
    latency_seconds: float = 0.0
    reject_auth: bool = False
    rules: list[Fault] = field(default_factory=list)

    def add(self, fault: Fault) -> Fault:
        self.rules.append(fault)
        return fault

    def fail(
        self, path: str, *, status: int = 500, times: int | None = 1, query: dict[str, str] | None = None
    ) -> Fault:
        return self.add(Fault(path, status=status, times=times, query=query or {}))

    def throttle(self, path: str, *, retry_after: float | str = 1, times: int | None = 1) -> Fault:
        return self.add(Fault(path, status=429, retry_after=str(retry_after), times=times))

    def hang(
        self, path: str, *, seconds: float = 3600, times: int | None = 1, query: dict[str, str] | None = None
    ) -> Fault:
        return self.add(Fault(path, hang_seconds=seconds, times=times, query=query or {}))

    def lose_answer(
        self, path: str, *, method: str = "POST", seconds: float = 3600, times: int | None = 1
    ) -> Fault:
        """Do the request, then hang for `seconds`: the client times out on work that was done."""
        return self.add(Fault(path, method=method, hang_seconds=seconds, times=times, after_commit=True))

    def slow(self, path: str, *, seconds: float, times: int | None = None) -> Fault:
        return self.add(Fault(path, delay_seconds=seconds, times=times))

    def take(self, method: str, path: str, query: dict[str, str]) -> Fault | None:
        """The first rule matching this request, its remaining count decremented."""
        for fault in self.rules:
            if fault.matches(method, path, query):
                if fault.times is not None:
                    fault.times -= 1
                fault.hits += 1
                return fault
        return None

    def clear(self) -> None:
        self.rules.clear()
        self.latency_seconds = 0.0
        self.reject_auth = False
