"""The XMP segment of a JPEG: find it, replace it or insert it, nothing else.

A JPEG is a list of marker segments up to the start of scan (SOS); the XMP
packet lives in an APP1 segment that starts with ``XMP_HEADER``. We rewrite
only that segment, so every other byte of the file (EXIF, thumbnails, image
data) stays as it was and nothing is re-encoded.
"""

from __future__ import annotations

from typing import NamedTuple, Optional

XMP_HEADER = b"http://ns.adobe.com/xap/1.0/\x00"
EXIF_HEADER = b"Exif\x00\x00"
#: A segment's length field counts itself (2 bytes) and is 16-bit.
MAX_PACKET = 0xFFFF - 2 - len(XMP_HEADER)

_SOI, _SOS, _EOI, _APP0, _APP1 = 0xD8, 0xDA, 0xD9, 0xE0, 0xE1
_NO_LENGTH = {0x01, *range(0xD0, 0xD8)}


class JpegError(ValueError):
    """Not a JPEG we can rewrite safely (the message says why)."""


class XmpPlace(NamedTuple):
    """Where the XMP segment is (``start:end``), or where to insert one (``start == end``)."""

    start: int
    end: int
    packet: Optional[bytes]


def find_xmp(data: bytes) -> XmpPlace:
    """Locate the XMP segment; without one, the place after SOI, JFIF and EXIF."""
    if data[:2] != b"\xff\xd8":
        raise JpegError("not a JPEG (no start-of-image marker)")
    pos, insert_at, leading, found = 2, 2, True, None
    size = len(data)
    while True:
        if pos + 2 > size:
            raise JpegError("truncated JPEG (ends before the image data)")
        if data[pos] != 0xFF:
            raise JpegError(f"corrupt JPEG (no marker at byte {pos})")
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker in (_SOS, _EOI):
            break
        if marker in _NO_LENGTH:
            pos += 2
            continue
        if pos + 4 > size:
            raise JpegError("truncated JPEG (ends inside a segment header)")
        end = pos + 2 + int.from_bytes(data[pos + 2:pos + 4], "big")
        if end > size or end < pos + 4:
            raise JpegError(f"truncated or corrupt JPEG (segment at byte {pos} runs past the end)")
        if marker == _APP1 and data.startswith(XMP_HEADER, pos + 4):
            if found is not None:
                raise JpegError("JPEG has more than one XMP segment; not changed")
            found = XmpPlace(pos, end, data[pos + 4 + len(XMP_HEADER):end])
        elif leading and (marker == _APP0 or (marker == _APP1 and data.startswith(EXIF_HEADER, pos + 4))):
            insert_at = end
        else:
            leading = False
        pos = end
    return found or XmpPlace(insert_at, insert_at, None)


def xmp_segment(packet: bytes) -> bytes:
    """The APP1 segment carrying ``packet`` (at most ``MAX_PACKET`` bytes)."""
    if len(packet) > MAX_PACKET:
        raise ValueError(f"XMP packet of {len(packet)} bytes exceeds the JPEG segment limit")
    return b"\xff\xe1" + (2 + len(XMP_HEADER) + len(packet)).to_bytes(2, "big") + XMP_HEADER + packet
