"""Writing REFI-QDA projects (``.qdpx``) byte for byte the same on every run.

:func:`qdpx_bytes` builds one project: ``project.qde`` (namespace
``urn:QDA-XML:project:1.0``, valid against the REFI-QDA project schema) with a user, the
codebook (one parent code per realist group, not codable, the codes under it), the
variables, one case per source carrying the site, evaluation year and participant role
(as NVivo exports case classifications), and the text sources with their ``source_type``
and ``visit`` variables and their coded selections; and each source's text under
``sources/``. GUIDs are UUID-5 of the seed and the object's name; every ZIP entry has the
same timestamp and permissions, in a fixed order.
"""

from __future__ import annotations

import uuid
import zipfile
from collections.abc import Iterable
from io import BytesIO
from typing import Any

from lxml import etree

from analysis.synthesise.fieldwork import CODEBOOK, Fieldwork, Source, simulate_fieldwork

NS = "urn:QDA-XML:project:1.0"
_TIMESTAMP = (2017, 9, 1, 0, 0, 0)
_CREATED = "2017-09-01T00:00:00Z"
CASE_VARIABLES = ("site", "evaluation_year", "participant_role")
SOURCE_VARIABLES = ("source_type", "visit", "host_type")


def guid(seed: int, *names: str | int) -> str:
    """A deterministic GUID for a named object of the project."""
    return str(
        uuid.uuid5(uuid.NAMESPACE_URL, "hubspoke-fieldwork/" + "/".join(map(str, [seed, *names])))
    )


def _el(parent: etree._Element, tag: str, **attrs: str) -> etree._Element:
    return etree.SubElement(parent, f"{{{NS}}}{tag}", {k: v for k, v in attrs.items()})


def _value(parent: etree._Element, var_guid: str, value: str | int) -> None:
    vv = _el(parent, "VariableValue")
    _el(vv, "VariableRef", targetGUID=var_guid)
    if isinstance(value, int):
        _el(vv, "IntegerValue").text = str(value)
    else:
        _el(vv, "TextValue").text = value


def project_xml(seed: int, name: str, sources: Iterable[Source]) -> tuple[bytes, dict[str, str]]:
    """``project.qde`` for ``sources`` and the texts by archive path."""
    sources = list(sources)
    user = guid(seed, "user")
    root = etree.Element(f"{{{NS}}}Project", nsmap={None: NS}, name=name,
                         origin="analysis.synthesise (synthetic fieldwork)",
                         creatingUserGUID=user, creationDateTime=_CREATED)  # fmt: skip
    _el(_el(root, "Users"), "User", guid=user, name="Evaluation team")
    codes = _el(_el(root, "CodeBook"), "Codes")
    code_guid: dict[str, str] = {}
    groups: dict[str, etree._Element] = {}
    for group, key, label in CODEBOOK:
        if group not in groups:
            groups[group] = _el(codes, "Code", guid=guid(seed, "code-group", group), name=group,
                                isCodable="false")  # fmt: skip
        code_guid[key] = guid(seed, "code", key)
        _el(groups[group], "Code", guid=code_guid[key], name=label, isCodable="true")
    variables = _el(root, "Variables")
    var_guid = {}
    for v in CASE_VARIABLES + SOURCE_VARIABLES:
        var_guid[v] = guid(seed, "variable", v)
        _el(variables, "Variable", guid=var_guid[v], name=v,
            typeOfVariable="Integer" if v == "visit" else "Text")  # fmt: skip
    cases = _el(root, "Cases")
    src_guid = {s.number: guid(seed, name, "source", s.number) for s in sources}
    for s in sources:
        case = _el(cases, "Case", guid=guid(seed, name, "case", s.number),
                   name=f"Participant {s.number:04d}")  # fmt: skip
        _value(case, var_guid["site"], s.service_id)
        _value(case, var_guid["evaluation_year"], s.evaluation_year)
        if s.source_type == "interview":
            _value(case, var_guid["participant_role"], s.role)
        _el(case, "SourceRef", targetGUID=src_guid[s.number])
    container = _el(root, "Sources")
    texts: dict[str, str] = {}
    for s in sources:
        text_name = f"{guid(seed, name, 'text', s.number)}.txt"
        texts[f"sources/{text_name}"] = s.text
        el = _el(container, "TextSource", guid=src_guid[s.number],
                 name=f"{s.source_type} {s.number:04d}", plainTextPath=f"internal://{text_name}",
                 creatingUser=user, creationDateTime=_CREATED)  # fmt: skip
        for j, (start, end, key) in enumerate(s.selections, start=1):
            sel = _el(el, "PlainTextSelection", guid=guid(seed, name, "sel", s.number, j),
                      startPosition=str(start), endPosition=str(end), creatingUser=user)  # fmt: skip
            coding = _el(sel, "Coding", guid=guid(seed, name, "coding", s.number, j),
                         creatingUser=user)  # fmt: skip
            _el(coding, "CodeRef", targetGUID=code_guid[key])
        _value(el, var_guid["source_type"], s.source_type)
        _value(el, var_guid["visit"], s.visit)
        _value(el, var_guid["host_type"], s.host)
    xml = etree.tostring(root, xml_declaration=True, encoding="utf-8", pretty_print=True)
    return xml, texts


def zip_entries(entries: Iterable[tuple[str, bytes]]) -> bytes:
    """A ZIP archive of ``(name, bytes)`` entries, the same bytes on every run."""
    buf = BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries:
            info = zipfile.ZipInfo(name, date_time=_TIMESTAMP)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, data)
    return buf.getvalue()


def qdpx_bytes(seed: int, name: str, sources: Iterable[Source]) -> bytes:
    """A ``.qdpx`` archive of ``sources`` (see the module docstring)."""
    xml, texts = project_xml(seed, name, sources)
    entries = [("project.qde", xml)] + [(p, t.encode("utf-8")) for p, t in sorted(texts.items())]
    return zip_entries(entries)


def write_fieldwork_projects(sink: Any, world: Any) -> Fieldwork:
    """Simulate the fieldwork of ``world`` and write it: one project per evaluation year
    (``fieldwork/fieldwork_<year>.qdpx``, listed in the manifest), the redaction register of
    the planted names (``_truth/redaction_register.csv``) and the truth
    (``_truth/fieldwork.json``: the prevalence model, realised prevalences and every
    planted date, phone number and postcode)."""
    from analysis.synthesise.write.formats import write_csv
    from analysis.synthesise.write.registers import write_json

    fw = simulate_fieldwork(world)
    folder = sink.out_dir / "fieldwork"
    folder.mkdir(parents=True, exist_ok=True)
    for year in sorted({s.evaluation_year for s in fw.sources}):
        rel = f"fieldwork/fieldwork_{year}.qdpx"
        mine = [s for s in fw.sources if s.evaluation_year == year]
        (sink.out_dir / rel).write_bytes(qdpx_bytes(world.seed, f"Fieldwork {year}", mine))
        sink.add(rel, "fieldwork")
    (sink.out_dir / "_truth").mkdir(parents=True, exist_ok=True)
    write_csv(sink.out_dir / "_truth" / "redaction_register.csv", ["kind", "text"],
              [list(r) for r in fw.register], encoding="utf-8", newline="\n")  # fmt: skip
    write_json(sink.out_dir / "_truth" / "fieldwork.json", {**fw.truth, "planted": fw.planted})
    return fw
