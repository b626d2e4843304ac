"""XMP packets: parse one, read and replace list properties, write it back.

Only the standard library (``xml.etree``). Everything in a packet that we do
not change (other namespaces, other properties, the user's own tags) is kept;
prefixes are kept as the packet declared them.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Iterable

X = "adobe:ns:meta/"
RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
XML = "http://www.w3.org/XML/1998/namespace"

#: Prefixes we use for namespaces we write (and digiKam / exiftool use too).
KNOWN_PREFIXES = {
    X: "x",
    RDF: "rdf",
    "http://purl.org/dc/elements/1.1/": "dc",
    "http://ns.adobe.com/lightroom/1.0/": "lr",
    "http://www.digikam.org/ns/1.0/": "digiKam",
    "http://ns.microsoft.com/photo/1.0/": "MicrosoftPhoto",
}

#: Other spellings of a namespace, read as the one we write (exiv2 and digiKam use the
#: trailing slash for MicrosoftPhoto; exiftool writes it without and reads both).
URI_ALIASES = {"http://ns.microsoft.com/photo/1.0": "http://ns.microsoft.com/photo/1.0/"}

PACKET_BEGIN = '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
PACKET_END = '\n<?xpacket end="w"?>'
TOOLKIT = "megadetector-integrations"

_DESCRIPTION = f"{{{RDF}}}Description"
_CONTAINERS = {f"{{{RDF}}}{kind}" for kind in ("Bag", "Seq", "Alt")}
_LI = f"{{{RDF}}}li"


class XmpError(ValueError):
    """An XMP packet that cannot be parsed (the message says why)."""


class Packet:
    """A parsed XMP packet: the ``x:xmpmeta`` tree and the prefixes it declared."""

    def __init__(self, root: ET.Element, prefixes: dict[str, str] | None = None):
        self.root = root
        self.prefixes = {**KNOWN_PREFIXES, **(prefixes or {})}

    @classmethod
    def new(cls) -> "Packet":
        root = ET.Element(f"{{{X}}}xmpmeta", {f"{{{X}}}xmptk": TOOLKIT})
        ET.SubElement(root, f"{{{RDF}}}RDF")
        return cls(root)

    @classmethod
    def parse(cls, data: bytes) -> "Packet":
        """Parse packet bytes (with or without the ``<?xpacket?>`` wrapper)."""
        data = data.rstrip(b"\x00 \t\r\n")
        if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
            raise XmpError("XMP packet has a DOCTYPE or ENTITY declaration (not allowed in XMP)")
        parser = ET.XMLPullParser(events=("start-ns", "start"))
        prefixes: dict[str, str] = {}
        root = None
        try:
            parser.feed(data)
            parser.close()
            for event, item in parser.read_events():
                if event == "start-ns":
                    prefix, uri = item
                    if prefix and uri not in prefixes:
                        prefixes[uri] = prefix
                elif root is None:
                    root = item
        except ET.ParseError as exc:
            raise XmpError(f"XMP packet is not well-formed XML ({exc})") from None
        if root is None:
            raise XmpError("XMP packet is empty")
        for alias in URI_ALIASES:
            if alias.encode() + b'"' in data or alias.encode() + b"'" in data:
                _rename_namespace(root, alias, URI_ALIASES[alias])
                prefixes.pop(alias, None)
        if root.tag == f"{{{RDF}}}RDF":  # a bare rdf:RDF: wrap it, as XMP asks
            wrapper = ET.Element(f"{{{X}}}xmpmeta")
            wrapper.append(root)
            root = wrapper
        if root.tag != f"{{{X}}}xmpmeta" or root.find(f"{{{RDF}}}RDF") is None:
            raise XmpError(f"XMP packet has no rdf:RDF (root element {root.tag})")
        return cls(root, prefixes)

    # -- properties -------------------------------------------------------

    def _descriptions(self) -> list[ET.Element]:
        return self.root.find(f"{{{RDF}}}RDF").findall(_DESCRIPTION)

    def get_list(self, prop: str) -> list[str]:
        """Values of property ``prop`` (``{uri}name``), from any ``rdf:Description``.

        A list property gives its items; a simple one (element or attribute)
        gives one item; a missing one none.
        """
        values: list[str] = []
        for description in self._descriptions():
            if prop in description.attrib:
                values.append(description.attrib[prop])
            for element in description.findall(prop):
                container = next((c for c in element if c.tag in _CONTAINERS), None)
                if container is None:
                    values.append(element.text or "")
                else:
                    values += [li.text or "" for li in container.findall(_LI)]
        return values

    def set_list(self, prop: str, values: Iterable[str], kind: str = "Bag") -> None:
        """Replace property ``prop`` by an ``rdf:<kind>`` of ``values`` (none: remove it)."""
        descriptions = self._descriptions()
        for description in descriptions:
            description.attrib.pop(prop, None)
            for element in description.findall(prop):
                description.remove(element)
        values = list(values)
        if not values:
            return
        if not descriptions:
            rdf = self.root.find(f"{{{RDF}}}RDF")
            descriptions = [ET.SubElement(rdf, _DESCRIPTION, {f"{{{RDF}}}about": ""})]
        container = ET.SubElement(ET.SubElement(descriptions[0], prop), f"{{{RDF}}}{kind}")
        for value in values:
            ET.SubElement(container, _LI).text = value

    def is_empty(self) -> bool:
        """True when the packet holds no property at all."""
        rdf = self.root.find(f"{{{RDF}}}RDF")
        about = {f"{{{RDF}}}about"}
        return all(
            child.tag == _DESCRIPTION and len(child) == 0 and set(child.attrib) <= about
            for child in rdf
        )

    # -- writing ----------------------------------------------------------

    def to_bytes(self, wrapper: bool = True) -> bytes:
        """UTF-8 packet, wrapped in ``<?xpacket?>`` processing instructions."""
        names = _Names(self.prefixes)
        body: list[str] = []
        _write_element(self.root, names, body, 0, is_root=True)
        text = "".join(body)
        return (PACKET_BEGIN + text + PACKET_END if wrapper else text).encode("utf-8")


def _rename_namespace(root: ET.Element, old: str, new: str) -> None:
    old_prefix, new_prefix = f"{{{old}}}", f"{{{new}}}"
    for element in root.iter():
        if isinstance(element.tag, str) and element.tag.startswith(old_prefix):
            element.tag = new_prefix + element.tag[len(old_prefix):]
        for key in [k for k in element.attrib if k.startswith(old_prefix)]:
            element.attrib[new_prefix + key[len(old_prefix):]] = element.attrib.pop(key)


class _Names:
    """``{uri}local`` → ``prefix:local``, remembering which namespaces were used."""

    def __init__(self, prefixes: dict[str, str]):
        self.prefixes = dict(prefixes)
        self.taken = {p: u for u, p in self.prefixes.items()}
        self.used: dict[str, str] = {}

    def __call__(self, name: str) -> str:
        if not name.startswith("{"):
            return name
        uri, local = name[1:].split("}", 1)
        if uri == XML:
            return f"xml:{local}"
        prefix = self.prefixes.get(uri)
        if prefix is None or self.taken.get(prefix, uri) != uri:
            n = 1
            while f"ns{n}" in self.taken:
                n += 1
            prefix = f"ns{n}"
            self.prefixes[uri] = prefix
            self.taken[prefix] = uri
        self.used[uri] = prefix
        return f"{prefix}:{local}"


def escape_text(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\r", "&#13;")


def escape_attribute(text: str) -> str:
    return (escape_text(text).replace('"', "&quot;")
            .replace("\n", "&#10;").replace("\t", "&#9;"))


def _write_element(element: ET.Element, names: _Names, out: list[str], depth: int, is_root: bool = False) -> None:
    """Serialise ``element``; namespaces are declared on x:xmpmeta (x) and rdf:RDF (the rest)."""
    indent = "\n" + " " * depth
    tag = names(element.tag)
    attributes = [(names(k), v) for k, v in element.attrib.items()]
    children: list[str] = []
    for child in element:
        if isinstance(child.tag, str):  # skip comments and processing instructions
            _write_element(child, names, children, depth + 1)
    text = element.text if element.text and element.text.strip() else ""
    if element.tag == f"{{{RDF}}}RDF":
        declared = {u: p for u, p in names.used.items() if u != X}
        attributes = [(f"xmlns:{p}", u) for u, p in sorted(declared.items(), key=lambda up: up[1])] + attributes
    elif is_root:
        attributes = [("xmlns:x", X)] + attributes
    attrs = "".join(f' {k}="{escape_attribute(v)}"' for k, v in attributes)
    start = ("" if is_root else indent) + f"<{tag}{attrs}"
    if children:
        out.append(f"{start}>{escape_text(text)}{''.join(children)}{indent}</{tag}>")
    elif text:
        out.append(f"{start}>{escape_text(text)}</{tag}>")
    else:
        out.append(f"{start}/>")
