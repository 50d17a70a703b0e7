"""Reading a returned scorecard: only its one sheet, bounded (an edge: zip and XML).

A returned card is the agent's file, so it is read as hostile: the package is
checked for zip bombs, macros and external links first; then only the parts a
card needs are parsed, each under a size cap, streaming (``iterparse``, each
element cleared when read): the workbook's sheet list, the scorecard sheet's
cells (at most :data:`MAX_CELLS`, in the first :data:`MAX_ROWS` rows and
:data:`MAX_COLUMNS` columns) and the shared strings those cells use. Nothing
else of the file is unpacked, however many sheets it holds. Defined names and
cached formula values are not read: what the card says is decided by its seal
and the ledger (:mod:`kpi.core.seal`, :func:`kpi.ledger.returned_cards.check_card`).
"""

from __future__ import annotations

import io
import posixpath
import re
import zipfile
import zlib
from pathlib import Path
from typing import NamedTuple
from xml.etree import ElementTree

from kpi.core import seal as sealing
from kpi.core.errors import InputError, InputProblem

MAX_PART = 4 << 20           # bytes of the sheet, workbook or shared strings part a card may have
MAX_CELLS = 2000             # cells with a value (a card has about 120)
MAX_ROWS, MAX_COLUMNS = 300, 26
CARD_SHEETS = ("考核表", "Scorecard")
MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
PACKAGE_REL = "{http://schemas.openxmlformats.org/package/2006/relationships}"
_REF = re.compile(r"^([A-Z]{1,3})([0-9]{1,7})$")


class Cell(NamedTuple):
    kind: str       # s (text) | n (number) | f (formula) | b (boolean) | e (error)
    value: str      # the text, the number as stored, the formula text


class ReturnedCard(NamedTuple):
    """What an agent sent back: the sheet's cells by A1 reference (the seal column apart), the
    seal column's claim (None if the card carries no seal) and tags per row number."""

    file: str
    sheet: str
    cells: dict[str, Cell]
    claim: sealing.Claim | None
    tags: dict[int, dict[str, tuple[str, str]]]
    names: dict[str, str] = {}   # kpi_* defined name → its formula text (checked, never trusted)

    @property
    def agent_id(self) -> str:
        return self.claim.agent_id if self.claim else ""

    @property
    def period(self) -> str:
        return self.claim.period if self.claim else ""

    @property
    def revision(self) -> int | None:
        return self.claim.revision if self.claim else None

    def slot(self, role: str) -> tuple[str, str]:
        """(A1 reference, text) of the cell tagged as the answer slot ``role`` ("" if none)."""
        for row, entries in self.tags.items():
            for column, (name, _) in entries.items():
                if name == role:
                    ref = f"{column}{row}"
                    found = self.cells.get(ref)
                    return ref, found.value.strip() if found else ""
        return "", ""


def problem(path: Path, code: str) -> InputError:
    return InputError([InputProblem("", "", path.name, "", code)])


STRICT_NAMESPACE = b"http://purl.oclc.org/ooxml/"  # ISO 29500 Strict: Excel's "Strict Open XML Spreadsheet"


def hazard(archive: zipfile.ZipFile) -> str | None:
    """Why a workbook package must not be read: macros or links to other workbooks, or saved
    as Strict Open XML (openpyxl finds no sheet in one, so its rows would read as missing);
    a message key."""
    names = [info.filename for info in archive.infolist()]
    lowered = [name.lower() for name in names]
    if any(name.endswith("vbaproject.bin") or name.endswith(".bin") and "vba" in name for name in lowered):
        return "workbook_macros"
    if any(name.startswith("xl/externallinks/") for name in lowered):
        return "workbook_external_links"
    if "[Content_Types].xml" in names:
        info = archive.getinfo("[Content_Types].xml")
        if info.file_size <= MAX_PART:
            types = archive.read(info).decode("utf-8", "replace").lower()
            if "macroenabled" in types or "vbaproject" in types:
                return "workbook_macros"
            if "externallink" in types:
                return "workbook_external_links"
    if "_rels/.rels" in names:
        info = archive.getinfo("_rels/.rels")
        if info.file_size <= MAX_PART and STRICT_NAMESPACE in archive.read(info):
            return "workbook_strict"
    return None


def read(path: str | Path, data: bytes | None = None) -> ReturnedCard:
    """The returned card at ``path`` (or its package ``data``, decrypted in memory); raises
    InputError when it cannot be one kpi wrote."""
    path = Path(path)
    try:
        with zipfile.ZipFile(path if data is None else io.BytesIO(data)) as archive:
            found = hazard(archive)
            if found:
                raise problem(path, found)
            title, member, names = _sheet_part(archive, path)
            cells = _cells(archive, member, path)
            texts = _shared_strings(archive, {int(v) for k, v in cells.values() if k == "i"}, path)
    except InputError:
        raise
    except (zipfile.BadZipFile, OSError, KeyError, ValueError, EOFError, NotImplementedError, zlib.error):
        raise problem(path, "not_scorecard") from None
    except ElementTree.ParseError:
        raise problem(path, "not_scorecard") from None
    resolved = {ref: Cell("s", texts.get(int(value), "")) if kind == "i" else Cell(kind, value)
                for ref, (kind, value) in cells.items()}
    seal_column = _column_letters(sealing.COLUMN)
    claim, tags = None, {}
    for ref in [r for r in resolved if _REF.match(r).group(1) == seal_column]:
        cell = resolved.pop(ref)
        row = int(_REF.match(ref).group(2))
        text = cell.value if cell.kind == "s" else ""
        if row == 1:
            claim, text = sealing.read_claim(text)
        tags[row] = sealing.row_entries(text)
    return ReturnedCard(path.name, title, resolved, claim, tags, names)


def _column_letters(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _limited(archive: zipfile.ZipFile, member: str, path: Path):
    info = archive.getinfo(member)
    if info.file_size > MAX_PART:
        raise problem(path, "card_too_large")
    return archive.open(info)


def _sheet_part(archive: zipfile.ZipFile, path: Path) -> tuple[str, str, dict[str, str]]:
    """(title, part name) of the scorecard sheet (the one named like a card's, else the first)
    and the workbook's ``kpi_*`` defined names."""
    sheets, names = [], {}
    with _limited(archive, "xl/workbook.xml", path) as stream:
        for _, element in ElementTree.iterparse(stream):
            if element.tag == f"{MAIN}sheet":
                sheets.append((element.get("name", ""), element.get(f"{REL}id", "")))
            elif element.tag == f"{MAIN}definedName" and element.get("name", "").startswith("kpi_"):
                names[element.get("name")] = element.text or ""
            if len(sheets) + len(names) > 512:
                raise problem(path, "card_too_large")
            element.clear()
    if not sheets:
        raise problem(path, "not_scorecard")
    targets = {}
    with _limited(archive, "xl/_rels/workbook.xml.rels", path) as stream:
        for _, element in ElementTree.iterparse(stream):
            if element.tag == f"{PACKAGE_REL}Relationship":
                targets[element.get("Id")] = element.get("Target", "")
            element.clear()
    title, rel = next((s for s in sheets if s[0] in CARD_SHEETS), sheets[0])
    target = targets.get(rel, "")
    member = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join("xl", target))
    return title, member, names


def _cells(archive: zipfile.ZipFile, member: str, path: Path) -> dict[str, tuple[str, str]]:
    """A1 reference → (kind, value) of the sheet's cells with a value; shared strings as (i, index)."""
    cells: dict[str, tuple[str, str]] = {}
    with _limited(archive, member, path) as stream:
        for _, element in ElementTree.iterparse(stream):
            if element.tag != f"{MAIN}c":
                if element.tag == f"{MAIN}row":
                    element.clear()
                continue
            ref = element.get("r", "")
            match = _REF.match(ref)
            kind = element.get("t", "n")
            formula = element.find(f"{MAIN}f")
            value = element.find(f"{MAIN}v")
            inline = element.find(f"{MAIN}is")
            element.clear()
            if match is None:
                raise problem(path, "not_scorecard")
            if formula is not None:
                found = ("f", formula.text or "")
            elif kind == "inlineStr" and inline is not None:
                found = ("s", "".join(t.text or "" for t in inline.iter(f"{MAIN}t")))
            elif value is None or value.text is None:
                continue
            elif kind == "s":
                found = ("i", value.text)
            elif kind in ("str", "b", "e"):
                found = ("s" if kind == "str" else kind, value.text)
            else:
                found = ("n", value.text)
            row, column = int(match.group(2)), _column_index(match.group(1))
            if row > MAX_ROWS or column >= MAX_COLUMNS or len(cells) >= MAX_CELLS:
                raise problem(path, "card_too_large")
            cells[ref] = found
    return cells


def _column_index(letters: str) -> int:
    index = 0
    for letter in letters:
        index = index * 26 + ord(letter) - 64
    return index - 1


def _shared_strings(archive: zipfile.ZipFile, wanted: set[int], path: Path) -> dict[int, str]:
    """The shared strings at the indexes ``wanted`` (the others are read past, not kept)."""
    if not wanted:
        return {}
    texts, index = {}, 0
    last = max(wanted)
    with _limited(archive, "xl/sharedStrings.xml", path) as stream:
        for _, element in ElementTree.iterparse(stream):
            if element.tag != f"{MAIN}si":
                continue
            if index in wanted:   # plain text, or the runs of rich text (phonetic runs are not the text)
                runs = [element.find(f"{MAIN}t")] + [run.find(f"{MAIN}t") for run in element.findall(f"{MAIN}r")]
                texts[index] = "".join(t.text or "" for t in runs if t is not None)
            element.clear()
            index += 1
            if index > last:
                break
    return texts

