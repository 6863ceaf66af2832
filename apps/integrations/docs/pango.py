"""Whether this machine can render PDFs: WeasyPrint is a pip package, but it loads Pango,
a system library pip does not install. `make run` checks once at start, so a missing Pango
is one line then rather than a failing docs.html_to_pdf later."""

from __future__ import annotations

import contextlib
import importlib
import io

PDF_RENDERER_MODULE = "weasyprint"
PANGO_MISSING = (
    "PDF rendering (docs.html_to_pdf) needs Pango, which is not installed: apt install "
    "libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 (macOS: brew install pango); "
    "every other method works."
)
HARFBUZZ_SUBSET_MISSING = (
    "PDF rendering works, but WeasyPrint logs a warning for every document until HarfBuzz's "
    "subsetting library is installed: apt install libharfbuzz-subset0."
)


def pdf_rendering_problem() -> str | None:
    """One line saying what to install for PDF rendering, or None when nothing is missing."""
    # On a missing library WeasyPrint prints a banner of its own before raising OSError.
    with contextlib.redirect_stdout(io.StringIO()):
        try:
            importlib.import_module(PDF_RENDERER_MODULE)
        except OSError:
            return PANGO_MISSING
    # Optional: without it WeasyPrint subsets fonts with fontTools, warning each time.
    libraries = importlib.import_module(f"{PDF_RENDERER_MODULE}.text.ffi")
    if getattr(libraries, "harfbuzz_subset", True) is None:
        return HARFBUZZ_SUBSET_MISSING
    return None
