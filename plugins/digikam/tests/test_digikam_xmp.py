"""The XMP writer and reader: escaping, non-ASCII, merging, JPEG segments (hypothesis)."""

from __future__ import annotations

import subprocess

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import megadetector_integrations as mdi
from megadetector_integrations.model import Detection, Image, ResultsFile
from megadetector_integrations.testing import require_tool
from megadetector_integrations_digikam.jpeg import JpegError, find_xmp, xmp_segment
from megadetector_integrations_digikam.tags import apply_tags, clean_level, make_tag, path_tags
from megadetector_integrations_digikam.xmp import Packet, XmpError

# Names with the characters XML and our separators care about, and any other text.
tricky = st.text(alphabet="<>&\"'|/\\ éñ中🦊\t\n\x01", min_size=1, max_size=12)
names = st.one_of(tricky, st.text(min_size=1, max_size=20))
tags = st.lists(st.lists(names, min_size=1, max_size=3).map(lambda levels: make_tag("Species", *levels)),
                max_size=5).map(lambda ts: [t for t in ts if len(t) > 1])


@given(tags, tags)
def test_tags_round_trip_through_writer_and_reader(user, ours):
    packet = Packet.new()
    apply_tags(packet, user, roots=("Nobody",))  # stands in for the user's own tags (recorded ones are ours)
    packet.set_list("{https://pypi.org/project/megadetector-integrations/xmp/1.0/}AddedTags", [])
    apply_tags(packet, ours, roots=("MegaDetector",))
    again = Packet.parse(packet.to_bytes())
    assert path_tags(again) == list(dict.fromkeys([*user, *ours]))
    apply_tags(again, (), roots=("MegaDetector",))
    assert path_tags(Packet.parse(again.to_bytes())) == list(dict.fromkeys(user))


@given(names)
def test_clean_level_leaves_no_separator_or_control_character(name):
    level = clean_level(name)
    assert "/" not in level and "|" not in level and level == level.strip()
    assert all(ch >= " " or ch == "" for ch in level)


@given(st.binary(max_size=300))
@settings(max_examples=300)
def test_find_xmp_never_crashes_on_garbage(data):
    try:
        place = find_xmp(b"\xff\xd8" + data)
    except JpegError:
        return
    assert 2 <= place.start <= place.end <= len(data) + 2


@given(st.binary(max_size=200))
def test_packet_parse_reports_garbage_as_xmp_error(data):
    try:
        Packet.parse(data)
    except XmpError:
        pass


def test_doctype_is_refused():
    with pytest.raises(XmpError, match="DOCTYPE"):
        Packet.parse(b'<!DOCTYPE x [<!ENTITY a "aaaa">]><x:xmpmeta xmlns:x="adobe:ns:meta/"/>')


def test_segment_is_inserted_after_jfif_and_exif():
    jfif = b"\xff\xe0\x00\x06JFIF"
    exif = b"\xff\xe1\x00\x08Exif\x00\x00"
    dqt = b"\xff\xdb\x00\x03\x00"
    data = b"\xff\xd8" + jfif + exif + dqt + b"\xff\xda\x00\x02rest"
    place = find_xmp(data)
    assert place.start == place.end == 2 + len(jfif) + len(exif) and place.packet is None
    new = data[:place.start] + xmp_segment(b"<x/>") + data[place.end:]
    assert find_xmp(new).packet == b"<x/>"


def test_prefixes_and_foreign_properties_are_kept():
    packet = Packet.parse(
        b'<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/">'
        b'<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        b'<rdf:Description rdf:about="" xmlns:my="urn:my:ns/" my:note="a &amp; b">'
        b'<my:list><rdf:Seq><rdf:li xml:lang="fr">caf\xc3\xa9</rdf:li></rdf:Seq></my:list>'
        b'</rdf:Description></rdf:RDF></x:xmpmeta><?xpacket end="w"?>')
    apply_tags(packet, [("MegaDetector", "Animal")], roots=("MegaDetector",))
    text = packet.to_bytes().decode()
    assert 'xmlns:my="urn:my:ns/"' in text and 'my:note="a &amp; b"' in text
    assert '<rdf:li xml:lang="fr">café</rdf:li>' in text
    assert Packet.parse(text.encode()).get_list("{urn:my:ns/}list") == ["café"]


@pytest.mark.parametrize("species", ['Fox <red> & "grey"', "Cerf élaphe / 鹿", "Wolf|Canis's"])
def test_tricky_species_names_read_by_exiftool(tmp_path, species):
    from megadetector_integrations.sample import IMAGES

    tool = require_tool("exiftool")
    (tmp_path / "a.jpg").write_bytes((IMAGES / "site_a/cam_1/IMG_0001.JPG").read_bytes())
    detection = Detection("1", 0.9, (0.1, 0.1, 0.2, 0.2), classifications=(("7", 0.9),))
    results = ResultsFile((Image("a.jpg", (detection,)),), classification_categories={"7": species})
    mdi.export(results, "xmp", images=tmp_path)
    out = subprocess.run([tool, "-s3", "-sep", "##", "-charset", "utf8", "-XMP-lr:HierarchicalSubject",
                          "-XMP-digiKam:TagsList", str(tmp_path / "a.jpg")], capture_output=True, check=True)
    level = clean_level(species)
    assert out.stdout.decode().splitlines() == [f"MegaDetector|Animal##Species|{level}",
                                                f"MegaDetector/Animal##Species/{level.replace('/', chr(92))}"]
