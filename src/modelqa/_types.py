"""Small shared types (layer L0)."""

from __future__ import annotations

from typing import Protocol


class Progress(Protocol):
    """Progress callback protocol. The engine and the trainer call it; the CLI
    implements it with a rich progress bar, tests and the quiet mode with NullProgress."""

    def start(self, total: int, description: str) -> None: ...

    def advance(self, n: int = 1) -> None: ...

    def finish(self) -> None: ...

    def log(self, message: str) -> None: ...


class NullProgress:
    """Progress that shows nothing (quiet mode, library use)."""

    def start(self, total: int, description: str) -> None:
        pass

    def advance(self, n: int = 1) -> None:
        pass

    def finish(self) -> None:
        pass

    def log(self, message: str) -> None:
        pass
