"""Keras's progress bar for ``fit`` / ``evaluate`` (``keras/src/utils/progbar.py``), as
``numpy_rnn.training`` draws it."""
from __future__ import annotations

import sys
import time
from typing import TextIO

__all__ = ["ProgressBar"]


class ProgressBar:
    """Keras's progress bar for ``fit``: ``12/29 ━━━━━━━━ 1s 33ms/step - loss: 1.2345``.

    ``verbose=1``: on a terminal the line is redrawn after each batch (at most every
    ``interval`` seconds, always at the end); elsewhere only the final line of each epoch is
    written.  ``verbose=2``: one line per epoch, ``29/29 - 1s - 33ms/step - loss: 1.2345``.
    """

    def __init__(self, target: int, verbose: int = 1, stream: TextIO | None = None,
                 width: int = 20, interval: float = 0.05) -> None:
        self.target, self.verbose, self.width, self.interval = target, verbose, width, interval
        self.stream = stream if stream is not None else sys.stdout
        isatty = getattr(self.stream, "isatty", None)
        self.dynamic = bool(isatty and isatty())
        self._start = time.time()
        self._last = 0.0
        self._prev_width = 0

    @staticmethod
    def _value(value: float) -> str:
        return f"{value:.4f}" if abs(value) > 1e-3 else f"{value:.4e}"

    @staticmethod
    def _per_step(seconds: float) -> str:
        if seconds >= 1 or seconds == 0:
            return f"{seconds:.0f}s/step"
        if seconds >= 1e-3:
            return f"{seconds * 1e3:.0f}ms/step"
        return f"{seconds * 1e6:.0f}us/step"

    def update(self, current: int, logs: dict[str, float], finalize: bool = False) -> None:
        """Show ``current`` of ``target`` steps and ``logs`` (name -> value, shown as is)."""
        if self.verbose not in (1, 2):
            return
        now = time.time()
        if not finalize and (self.verbose == 2 or not self.dynamic
                             or now - self._last < self.interval):
            return
        self._last = now
        elapsed = now - self._start
        per_step = elapsed / current if current else 0.0
        metrics = "".join(f" - {k}: {self._value(val)}" for k, val in logs.items())
        count = f"{current:{len(str(self.target))}d}/{self.target}"
        if self.verbose == 2:
            self.stream.write(f"{count} - {elapsed:.0f}s - {self._per_step(per_step)}{metrics}\n")
            self.stream.flush()
            return
        done = int(self.width * current / self.target) if self.target else self.width
        if finalize:
            timing = f"{elapsed:.0f}s"
        else:
            eta = per_step * (self.target - current)
            timing = (f"{eta // 3600:.0f}:{eta % 3600 // 60:02.0f}:{eta % 60:02.0f}" if eta > 3600
                      else f"{eta // 60:.0f}:{eta % 60:02.0f}" if eta > 60 else f"{eta:.0f}s")
        if self.dynamic:  # bold count, green done / grey rest, as Keras draws it
            bar = (f"\x1b[1m{count}\x1b[0m \x1b[32m{'━' * done}\x1b[0m"
                   f"\x1b[37m{'━' * (self.width - done)}\x1b[0m")
            plain = len(count) + 1 + self.width
        else:
            bar = f"{count} {'━' * done}{'─' * (self.width - done)}"
            plain = len(bar)
        text = f" {timing} {self._per_step(per_step)}{metrics}"
        width = plain + len(text)
        line = bar + text + " " * max(0, self._prev_width - width)
        self._prev_width = width
        self.stream.write(("\r" if self.dynamic else "") + line + ("\n" if finalize else ""))
        self.stream.flush()
