"""The filter's table of dot and separator lookalikes (src/path_check/lookalike.rs) is every
code point that Unicode compatibility normalization (NFKC) turns into dots or a separator
only, recomputed here from Python's own Unicode database."""

from __future__ import annotations

import re
import unicodedata

from processes import ROOT


def table() -> set[int]:
    source = (ROOT / "src" / "path_check" / "lookalike.rs").read_text()
    listed = re.search(r"pub const ALL: \[char; \d+\] = \[(.*?)\];", source, re.S)
    assert listed, "ALL not found"
    return {int(h, 16) for h in re.findall(r"\\u\{([0-9A-Fa-f]+)\}", listed.group(1))}


def test_the_lookalike_table_is_what_nfkc_says():
    derived = {
        cp
        for cp in range(0x80, 0x110000)
        if (n := unicodedata.normalize("NFKC", chr(cp))) != chr(cp) and n and set(n) <= set("./\\")
    }
    assert derived and table() == derived, sorted(map(hex, derived ^ table()))
