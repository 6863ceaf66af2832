"""Files that tell the test whether the code under test read them."""

from __future__ import annotations

import os
import threading
from pathlib import Path


class WatchedFile:
    """A named pipe: whoever opens it to read is seen (and handed a stylesheet)."""

    def __init__(self, directory: Path) -> None:
        self.path = directory / "secret.css"
        os.mkfifo(self.path)
        self.opened = threading.Event()
        self._thread = threading.Thread(target=self._feed, daemon=True)
        self._thread.start()

    def _feed(self) -> None:
        try:
            with self.path.open("w") as pipe:  # blocks until a reader opens the other end
                self.opened.set()
                pipe.write("p { content: 'SECRET-FROM-DISK' }")
        except BrokenPipeError:
            pass  # the reader was close() itself, which reads nothing

    def close(self) -> None:
        if not self.opened.is_set():  # unblock the feeder by opening the other end ourselves
            os.close(os.open(self.path, os.O_RDONLY | os.O_NONBLOCK))
        self._thread.join(timeout=5)
