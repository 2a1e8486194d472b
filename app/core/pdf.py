"""The one PDF loader of the application: ``new_pdf()`` returns an fpdf2 document with the
vendored DejaVu Sans fonts (app/core/fonts/, licence in app/core/fonts/LICENSE) registered as
the family ``DejaVu`` (styles "" and "B"). Visit sheets, invoices and reports use it: no PDF
depends on the system's fonts, and the fonts are embedded (subset) in every PDF, as PDF/A
(Factur-X) requires.

Speed (issue 14: 5 000 invoice PDFs in under 60 s): fpdf2's ``add_font`` parses the whole
TrueType file for every document (about 50 ms per style for DejaVu's 6 000 glyphs) and its
output subsets the full font again. Here the fonts are parsed once per process:

- the vendored font is first reduced in memory to the scripts a French public body prints
  (Latin with its extensions, punctuation, currency, arrows, maths, shapes, check and ballot
  boxes: ``UNICODE_RANGES``), once;
- fpdf2's parsed font object (metrics, character map, widths) is built once per style and
  copied into each document with a fresh per-document state (its own fontTools object read
  lazily from the reduced bytes, since fpdf2's output subsetting changes it in place, and its
  own subset map).

- fpdf2's output subsets the font of every document with fontTools (about 20 ms per style
  even for a small font): the subset is padded with the glyphs every French document uses
  (``COMMON_TEXT``) and kept in a small per-process cache keyed by the glyph set, so documents
  that print only common characters (nearly all) reuse the same embedded subset; a document
  with a rarer character gets its own subset (cached too). fpdf2 reaches fontTools through
  ``fpdf.output.ftsubset``: that name is pointed at a shim whose ``Subsetter`` does the caching
  for the fonts of this module only (``EmbeddedFont``) and is fontTools' own for any other
  (fpdf2 is pinned in requirements.txt: re-check this on an upgrade;
  tests/unit/test_pdf_fonts.py renders and re-reads such PDFs).

A character outside the ranges prints as the font's « missing glyph » box (fpdf2 logs it).
"""

from __future__ import annotations

import copy
import string
import threading
import types
import zlib
from functools import cache
from io import BytesIO
from pathlib import Path
from typing import Any, BinaryIO

FONT_DIR = Path(__file__).resolve().parent / "fonts"
FAMILY = "DejaVu"
FONT_FILES = {"": FONT_DIR / "DejaVuSans.ttf", "B": FONT_DIR / "DejaVuSans-Bold.ttf"}

# What the PDFs may print (code point ranges, inclusive).
UNICODE_RANGES: tuple[tuple[int, int], ...] = (
    (0x0020, 0x007E),  # Basic Latin
    (0x00A0, 0x024F),  # Latin-1 Supplement, Latin Extended-A and -B
    (0x02B0, 0x02FF),  # spacing modifier letters
    (0x0300, 0x036F),  # combining diacritical marks
    (0x1E00, 0x1EFF),  # Latin Extended Additional (Vietnamese, ...)
    (0x2000, 0x206F),  # general punctuation (dashes, quotes, narrow no-break space, ...)
    (0x2070, 0x209F),  # superscripts and subscripts
    (0x20A0, 0x20CF),  # currency symbols (€)
    (0x2100, 0x214F),  # letter-like symbols (n°, ™)
    (0x2150, 0x218F),  # number forms
    (0x2190, 0x21FF),  # arrows
    (0x2200, 0x22FF),  # mathematical operators (≤, ≥)
    (0x25A0, 0x25FF),  # geometric shapes (■, □, ●)
    (0x2610, 0x2612),  # ballot boxes (☐, ☑, ☒)
    (0x2713, 0x2718),  # check and cross marks (✓, ✗)
    (0xFB00, 0xFB06),  # ligatures (ﬁ, ﬂ)
)


# Printed by (nearly) every document: the embedded subset always holds them (see above).
COMMON_TEXT = (
    string.printable.strip()
    + " \u00a0\u202fàâäçéèêëîïôöùûüÿæœÀÂÄÇÉÈÊËÎÏÔÖÙÛÜŸÆŒ«»°€–—‘’“”…•·×÷±²³½¼¾§©®™№"
)
_SUBSET_CACHE_SIZE = 64


_subsets: dict[tuple[str, frozenset[str]], tuple[bytes, dict[str, int]]] = {}
_subsets_lock = threading.Lock()


@cache
def _machinery() -> Any:
    """The fontTools subclasses (imported on first use: fontTools is slow to import)."""
    from fontTools import subset as ftsubset
    from fontTools.ttLib import TTFont

    class EmbeddedFont(TTFont):  # type: ignore[misc]
        """The per-document fontTools font of a registered style: once subset by the shim
        below, it answers fpdf2's glyph ids and writes its bytes from the shared subset."""

        style = ""
        cached: tuple[bytes, dict[str, int]] | None = None

        def getGlyphID(self, glyphName: str) -> int:  # noqa: N802, N803 - fontTools' names
            if self.cached is not None:
                return self.cached[1][glyphName]
            return int(super().getGlyphID(glyphName))

        def save(self, file: str | BinaryIO, reorderTables: bool | None = True) -> None:  # noqa: N803
            if self.cached is not None and not isinstance(file, str):
                file.write(self.cached[0])
                return
            super().save(file, reorderTables)

    class CachingSubsetter(ftsubset.Subsetter):  # type: ignore[misc]
        def subset(self, font: Any) -> None:
            if not isinstance(font, EmbeddedFont):
                super().subset(font)
                return
            wanted = set(self.glyph_names_requested) | _common_glyphs(font.style)
            key = (font.style, frozenset(wanted))
            cached = _subsets.get(key)
            if cached is None:
                self.glyph_names_requested = wanted
                super().subset(font)
                output = BytesIO()
                TTFont.save(font, output)
                ids = {name: index for index, name in enumerate(font.getGlyphOrder())}
                cached = (output.getvalue(), ids)
                _remember_stream(cached[0])
                with _subsets_lock:
                    if len(_subsets) >= _SUBSET_CACHE_SIZE:
                        _subsets.pop(next(iter(_subsets)))
                    _subsets[key] = cached
            font.cached = cached

    shim = types.SimpleNamespace(Options=ftsubset.Options, Subsetter=CachingSubsetter)
    return types.SimpleNamespace(EmbeddedFont=EmbeddedFont, shim=shim, ftsubset=ftsubset)


def _install_shim() -> Any:
    import fpdf.output
    import fpdf.syntax

    machinery = _machinery()
    if fpdf.output.ftsubset is not machinery.shim:
        fpdf.output.ftsubset = machinery.shim
    if fpdf.syntax.zlib is not _zlib_shim:
        fpdf.syntax.zlib = _zlib_shim
    return machinery


# fpdf2 compresses the embedded font file of every document again (zlib, a few milliseconds
# for a subset): the compressed bytes of the cached subsets are kept, keyed by the subset's
# bytes (the same input gives the same output: the PDFs are unchanged). Any other stream is
# compressed as before.
_compressed: dict[bytes, bytes] = {}
_compressed_sizes: set[int] = set()


def _compress(data: bytes | bytearray, level: int = -1) -> bytes:
    size = len(data)
    if size in _compressed_sizes and level == -1:
        key = bytes(data)
        hit = _compressed.get(key)
        if hit is None:
            hit = zlib.compress(key, level)
            with _subsets_lock:
                _compressed[key] = hit
        return hit
    return zlib.compress(data, level=level)


def _remember_stream(data: bytes) -> None:
    """A cached subset's bytes: their compression is cached too (bounded like the subsets)."""
    with _subsets_lock:
        if len(_compressed_sizes) >= _SUBSET_CACHE_SIZE:
            _compressed.clear()
            _compressed_sizes.clear()
        _compressed_sizes.add(len(data))


_zlib_shim = types.SimpleNamespace(compress=_compress)


@cache
def _common_glyphs(style: str) -> frozenset[str]:
    cmap = _parsed(style).cmap
    return frozenset(cmap[ord(char)] for char in COMMON_TEXT if ord(char) in cmap)


def new_pdf(**kwargs: Any) -> Any:
    """An ``fpdf.FPDF(**kwargs)`` with the ``DejaVu`` family ("" and "B") registered."""
    from fpdf import FPDF

    pdf = FPDF(**kwargs)
    register_fonts(pdf)
    return pdf


def register_fonts(pdf: Any) -> None:
    """Register the ``DejaVu`` family on an fpdf2 document (parsed once per process)."""
    from fpdf.fonts import SubsetMap

    machinery = _install_shim()
    for style in FONT_FILES:
        font = copy.copy(_parsed(style))
        font.i = len(pdf.fonts) + 1
        font.ttfont = machinery.EmbeddedFont(
            BytesIO(_reduced(style)), recalcTimestamp=False, lazy=True
        )
        font.ttfont.style = style
        font.subset = SubsetMap(font)
        font.missing_glyphs = []
        font.biggest_size_pt = 0
        font._hbfont = None
        font.color_font = None
        pdf.fonts[font.fontkey] = font


@cache
def _reduced(style: str) -> bytes:
    """The vendored font reduced to ``UNICODE_RANGES`` (TrueType bytes), once per process."""
    from fontTools import subset as ftsubset
    from fontTools.ttLib import TTFont

    options = ftsubset.Options(notdef_outline=True, recommended_glyphs=True, glyph_names=True)
    options.layout_features = []  # fpdf2 does no shaping here: drop GSUB/GPOS lookups
    options.hinting = False
    options.drop_tables += ["FFTM"]  # FontForge's timestamp: fontTools cannot subset it
    subsetter = ftsubset.Subsetter(options)
    subsetter.populate(
        unicodes=[code for first, last in UNICODE_RANGES for code in range(first, last + 1)]
    )
    font = TTFont(FONT_FILES[style], recalcTimestamp=False)
    subsetter.subset(font)
    output = BytesIO()
    font.save(output)
    return output.getvalue()


@cache
def _parsed(style: str) -> Any:
    """fpdf2's parsed font (metrics, character map, widths) of a style, once per process."""
    from fpdf import FPDF
    from fpdf.fonts import TTFFont

    return TTFFont(FPDF(), BytesIO(_reduced(style)), f"{FAMILY.lower()}{style}", style)
