"""A binary answer (a PDF) that a provider produced, held until the client has it.

An adapter of a method whose MethodSpec.media_type is not JSON returns {"document": Document}.
The whole document is in hand before the adapter returns, so a provider failing halfway
through is an ordinary fault (the router fails over and the ledger row is right); only then
is the call recorded and the document streamed to the client in chunks.

The bytes live in a SpooledTemporaryFile: small documents stay in memory, larger ones go to
a temporary file, and none may grow past the method's output limit.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from typing import IO

# How much of a document is kept in memory before it spills to a temporary file.
MEMORY_BYTES = 1024 * 1024
# What one body message to the client carries.
CHUNK_BYTES = 64 * 1024


class DocumentTooLarge(Exception):
    """The document grew past its limit; what was written is discarded."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        super().__init__(f"the document is larger than {limit} bytes")


class Document:
    """Bytes of one media type, written once, then read (streamed) once and closed."""

    def __init__(self, media_type: str, *, max_bytes: int, filename: str = "document") -> None:
        self.media_type = media_type
        self.max_bytes = max_bytes
        self.filename = filename
        self.size = 0
        self._file: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=MEMORY_BYTES)  # noqa: SIM115

    def write(self, data: bytes) -> int:
        """Append bytes; DocumentTooLarge (and the document closed) past max_bytes."""
        if self.size + len(data) > self.max_bytes:
            self.close()
            raise DocumentTooLarge(self.max_bytes)
        written = self._file.write(data)
        self.size += len(data)
        return written

    def head(self, count: int) -> bytes:
        """The first `count` bytes (to check a vendor's answer is what it claims to be)."""
        position = self._file.tell()
        self._file.seek(0)
        try:
            return self._file.read(count)
        finally:
            self._file.seek(position)

    def open(self) -> IO[bytes]:
        """The file, at its start, for a response class that reads and closes it itself."""
        self._file.seek(0)
        return self._file

    def chunks(self, size: int = CHUNK_BYTES) -> Iterator[bytes]:
        """The bytes from the start, `size` at a time."""
        self._file.seek(0)
        while chunk := self._file.read(size):
            yield chunk

    def close(self) -> None:
        self._file.close()

    @property
    def closed(self) -> bool:
        return self._file.closed

    # Writers such as WeasyPrint's write_pdf(target=...) take any file-like object.
    def flush(self) -> None:
        pass

    def tell(self) -> int:
        return self.size
