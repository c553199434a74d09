"""Reading a REFI-QDA project (``.qdpx``), the exchange format NVivo, ATLAS.ti and MAXQDA
export coded qualitative data in, without trusting it.

A ``.qdpx`` file is a ZIP archive holding ``project.qde`` (XML in the namespace
``urn:QDA-XML:project:1.0``) and, under ``sources/``, the texts of the sources. Before
anything is parsed the archive is checked against :mod:`analysis.clean.limits` (file size,
number of entries, unpacked sizes, read with a bound so an entry that lies about its size
is caught); the XML is parsed by lxml with no DTD, no entity expansion and no network (a
document declaring a DTD or an entity is refused), must have ``Project`` in the REFI-QDA
namespace as its root and must validate against the REFI-QDA project schema (the
consortium's ``Project.xsd``, version 1.0, MIT licence, kept beside this module as
``refi_qda_project.xsd``), so every element and attribute read below has been checked.

:func:`open_qdpx` returns a :class:`QdaProject` (users are not kept: a user is a person)
or raises :class:`~analysis.clean.returns.FileRejected` with a reason that names no value
read from the file. Problems of one source (its text missing from the archive, not UTF-8,
held outside the archive) are recorded on the source, not raised: the caller decides.
Which sources belong to the programme, and which selections are usable, is decided in
:mod:`analysis.clean.fieldwork`.
"""

from __future__ import annotations

import io
import re
import zipfile
import zlib
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from lxml import etree

from analysis.clean import limits
from analysis.clean.returns import FileRejected

NS = "urn:QDA-XML:project:1.0"
_Q = "{" + NS + "}"
SCHEMA_FILE = Path(__file__).with_name("refi_qda_project.xsd")
SELECTION_KINDS = ("PlainTextSelection", "PictureSelection", "PDFSelection", "AudioSelection",
                   "TranscriptSelection",
                   "VideoSelection")  # fmt: skip
_VALUE_TAGS = ("TextValue", "BooleanValue", "IntegerValue", "FloatValue", "DateValue",
               "DateTimeValue")  # fmt: skip
_DTD = re.compile(rb"<!\s*(?:DOCTYPE|ENTITY)", re.IGNORECASE)
_SCHEMA_PHRASES = {
    "SCHEMAV_CVC_COMPLEX_TYPE_4": "a required attribute is missing",
    "SCHEMAV_CVC_COMPLEX_TYPE_3_2_1": "an attribute the schema does not allow",
    "SCHEMAV_CVC_COMPLEX_TYPE_3_2_2": "an attribute the schema does not allow",
    "SCHEMAV_ELEMENT_CONTENT": "an element missing or not allowed here",
    "SCHEMAV_CVC_DATATYPE_VALID_1_2_1": "a value of the wrong type (a number, GUID or date)",
    "SCHEMAV_CVC_PATTERN_VALID": "a value of the wrong form (a GUID or colour)",
    "SCHEMAV_CVC_ATTRIBUTE_3": "an attribute value of the wrong type",
    "SCHEMAV_CVC_ENUMERATION_VALID": "a value not in the schema's list",
}


@dataclass(frozen=True)
class QdaCode:
    """One code of the codebook: its name, the names of its ancestors (outermost first)
    and whether it may be applied."""

    guid: str
    name: str
    ancestors: tuple[str, ...]
    codable: bool


@dataclass
class QdaSelection:
    """One selection of a source (``number`` counts every selection of the project from 1,
    in document order); positions only for text selections."""

    number: int
    guid: str
    kind: str
    start: int | None
    end: int | None
    code_guids: tuple[str, ...]


@dataclass
class QdaSource:
    """One source (``number`` counts the sources from 1, in document order). ``text`` is
    the plain text of a text source; ``problem`` says why it could not be had."""

    number: int
    guid: str
    kind: str
    text: str | None
    problem: str | None
    variables: dict[str, list[str]] = field(default_factory=dict)
    selections: list[QdaSelection] = field(default_factory=list)


@dataclass
class QdaCase:
    """One case: its variable values and the sources it groups."""

    guid: str
    variables: dict[str, list[str]]
    source_guids: tuple[str, ...]


@dataclass
class QdaProject:
    """What the reader takes from a project; see the module docstring."""

    origin: str
    codes: dict[str, QdaCode]
    cases: list[QdaCase]
    sources: list[QdaSource]
    notes: list[str] = field(default_factory=list)

    @property
    def selections(self) -> list[QdaSelection]:
        """Every selection, in order."""
        return [s for src in self.sources for s in src.selections]


@cache
def project_schema() -> etree.XMLSchema:
    """The REFI-QDA project schema (parsed once)."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    return etree.XMLSchema(etree.parse(str(SCHEMA_FILE), parser))


def _reject(reason: str) -> FileRejected:
    return FileRejected(reason)


def _member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int, what: str) -> bytes:
    """An entry's bytes, read with a bound (a header may understate the size)."""
    if info.file_size > limit:
        raise _reject(f"{what} unpacks to {limits.megabytes(info.file_size)}, over the limit "
                      f"of {limits.megabytes(limit)}")  # fmt: skip
    try:
        with zf.open(info) as f:
            data = f.read(limit + 1)
    except RuntimeError:
        raise _reject(
            f"{what} is encrypted: ask for the project exported without a password"
        ) from None
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError, NotImplementedError) as exc:
        raise _reject(
            f"damaged archive: {what} cannot be unpacked ({type(exc).__name__})"
        ) from None
    if len(data) > limit:
        raise _reject(f"{what} unpacks to more than {limits.megabytes(limit)} (its archive "
                      "entry understates its size)")  # fmt: skip
    return data


def _parse_xml(data: bytes) -> etree._Element:
    if _DTD.search(data):
        raise _reject("project.qde declares a DTD or entities, which a REFI-QDA project never "
                      "needs: refused (entity expansion can exhaust the machine)")  # fmt: skip
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                             huge_tree=False, remove_comments=True, remove_pis=True)  # fmt: skip
    try:
        tree = etree.parse(io.BytesIO(data), parser)
    except etree.XMLSyntaxError as exc:
        line = exc.lineno if exc.lineno else "?"
        raise _reject(f"project.qde is not well-formed XML (first error at line {line})") from None
    if tree.docinfo.doctype or tree.docinfo.internalDTD is not None:
        raise _reject("project.qde declares a DTD or entities: refused")
    root = tree.getroot()
    if root.tag != _Q + "Project":
        raise _reject(f"project.qde is not a REFI-QDA project: its root element is not Project "
                      f"in the {NS} namespace")  # fmt: skip
    return root


def _readable_path(root: etree._Element, path: str) -> str:
    """An error's element as ``Project/Sources/TextSource[3]/PlainTextSelection[2]``
    (element names and positions only)."""
    try:
        found = root.getroottree().xpath(path) if path else []
    except etree.XPathError:
        found = []
    if not found or not isinstance(found[0], etree._Element):
        return "?"
    el, parts = found[0], []
    while el is not None:
        parent = el.getparent()
        name = etree.QName(el).localname
        if parent is not None:
            same = [c for c in parent if c.tag == el.tag]
            if len(same) > 1:
                name += f"[{same.index(el) + 1}]"
        parts.append(name)
        el = parent
    return "/".join(reversed(parts))


def _check_schema(root: etree._Element) -> None:
    schema = project_schema()
    if schema.validate(root):
        return
    errors = list(schema.error_log)
    first = errors[0]
    what = _SCHEMA_PHRASES.get(first.type_name, first.type_name.lower())
    path = _readable_path(root, first.path or "")
    raise _reject(
        f"project.qde does not follow the REFI-QDA project schema ({NS}): {len(errors)} "
        f"problem(s), the first at line {first.line} ({path}): {what}"
    )


def _codes(root: etree._Element) -> dict[str, QdaCode]:
    out: dict[str, QdaCode] = {}

    def walk(parent: etree._Element, ancestors: tuple[str, ...]) -> None:
        for el in parent.iterchildren(_Q + "Code"):
            code = QdaCode(el.get("guid").strip("{}").lower(), el.get("name"), ancestors,
                           el.get("isCodable") in ("true", "1"))  # fmt: skip
            out[code.guid] = code
            walk(el, (*ancestors, code.name))

    codes = root.find(f"{_Q}CodeBook/{_Q}Codes")
    if codes is not None:
        walk(codes, ())
    return out


def _guid(el: etree._Element, attr: str = "guid") -> str:
    return (el.get(attr) or "").strip("{}").lower()


def _variable_values(el: etree._Element, names: dict[str, str]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for vv in el.iterchildren(_Q + "VariableValue"):
        ref = vv.find(_Q + "VariableRef")
        name = names.get(_guid(ref, "targetGUID")) if ref is not None else None
        value = next((c.text or "" for c in vv if etree.QName(c).localname in _VALUE_TAGS), "")
        out.setdefault(name or "", []).append(value.strip())
    return out


def _source_text(
    el: etree._Element, zf: zipfile.ZipFile, entries: dict[str, zipfile.ZipInfo], budget: list[int]
) -> tuple[str | None, str | None]:
    """The plain text of a text source and ``None``, or ``None`` and why not."""
    inline = el.find(_Q + "PlainTextContent")
    if inline is not None:
        return inline.text or "", None
    path = el.get("plainTextPath")
    if not path:
        return None, "a text source with neither PlainTextContent nor plainTextPath"
    if not path.startswith("internal://"):
        return None, ("its text is held outside the archive (relative or absolute path): only "
                      "texts inside the .qdpx are read")  # fmt: skip
    name = path[len("internal://") :]
    info = entries.get(f"sources/{name}".lower())
    if info is None or "/" in name or "\\" in name:
        return None, "its text (plainTextPath) is not in the archive's sources/ folder"
    data = _member(zf, info, budget[0], "the source texts together")
    budget[0] -= len(data)
    try:
        return data.decode("utf-8-sig"), None
    except UnicodeDecodeError:
        return None, "its text is not UTF-8 (REFI-QDA plain texts are UTF-8)"


def _selections(el: etree._Element, first: int) -> list[QdaSelection]:
    out = []
    for sel in el.iter(*(_Q + k for k in SELECTION_KINDS)):
        kind = etree.QName(sel).localname
        codes = tuple(_guid(ref, "targetGUID")
                      for ref in sel.iterfind(f"{_Q}Coding/{_Q}CodeRef"))  # fmt: skip
        start = int(sel.get("startPosition")) if kind == "PlainTextSelection" else None
        end = int(sel.get("endPosition")) if kind == "PlainTextSelection" else None
        out.append(QdaSelection(first + len(out), _guid(sel), kind, start, end, codes))
    return out


def open_qdpx(path: Path) -> QdaProject:
    """Read a ``.qdpx`` file; see the module docstring. Raises ``FileRejected``."""
    size = Path(path).stat().st_size
    if size > limits.MAX_QDPX_BYTES:
        raise _reject(f"project file is {limits.megabytes(size)}, over the limit of "
                      f"{limits.megabytes(limits.MAX_QDPX_BYTES)}")  # fmt: skip
    data = Path(path).read_bytes()
    if not data:
        raise _reject("empty file (0 bytes)")
    if not zipfile.is_zipfile(io.BytesIO(data)):
        raise _reject("not a ZIP archive: a .qdpx file is a ZIP holding project.qde (damaged, "
                      "cut short or another format?)")  # fmt: skip
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        infos = zf.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise _reject(
            f"damaged ZIP archive ({type(exc).__name__}): export the project again"
        ) from None
    if len(infos) > limits.MAX_QDPX_MEMBERS:
        raise _reject(f"the archive lists {len(infos)} entries, over the limit of "
                      f"{limits.MAX_QDPX_MEMBERS}")  # fmt: skip
    entries = {i.filename.lower(): i for i in infos if not i.is_dir()}
    notes: list[str] = []
    qde = entries.get("project.qde")
    if qde is None:
        roots = [i for n, i in entries.items() if "/" not in n and n.endswith(".qde")]
        if len(roots) != 1:
            raise _reject("no project.qde in the archive: not a REFI-QDA project export")
        qde = roots[0]
        notes.append("the project XML is not named project.qde as REFI-QDA requires (the "
                     "archive's only .qde file was read)")  # fmt: skip
    root = _parse_xml(_member(zf, qde, limits.MAX_QDPX_XML_BYTES, "project.qde"))
    _check_schema(root)

    codes = _codes(root)
    names = {_guid(v): v.get("name") for v in root.iterfind(f"{_Q}Variables/{_Q}Variable")}
    cases = [
        QdaCase(_guid(c), _variable_values(c, names),
                tuple(_guid(r, "targetGUID") for r in c.iterchildren(_Q + "SourceRef")))
        for c in root.iterfind(f"{_Q}Cases/{_Q}Case")
    ]  # fmt: skip
    sources: list[QdaSource] = []
    budget = [limits.MAX_QDPX_TEXT_BYTES]
    n_sel = 1
    src_parent = root.find(_Q + "Sources")
    for el in src_parent if src_parent is not None else []:
        kind = etree.QName(el).localname
        text, problem = (None, None)
        if kind == "TextSource":
            text, problem = _source_text(el, zf, entries, budget)
        src = QdaSource(len(sources) + 1, _guid(el), kind, text, problem,
                        _variable_values(el, names), _selections(el, n_sel))  # fmt: skip
        n_sel += len(src.selections)
        sources.append(src)
    n_notes = len(root.findall(f"{_Q}Notes/{_Q}Note"))
    if n_notes:
        notes.append(f"{n_notes} note(s) (memos) not read: they are free text about people")
    return QdaProject(root.get("origin") or "", codes, cases, sources, notes)
