"""A minimal EVTX writer, for test samples: event XML in, a valid ``.evtx`` file out.

No Windows machine is at hand to export a real log, so samples are assembled from the
documented format (libyal's "Windows XML Event Log (EVTX) format", MS-EVEN6 BinXML): a 4 KiB
file header, one 64 KiB chunk, records whose BinXML spells each element, attribute and text
literally (no templates), with the CRC32 checksums the format requires. Real logs use
templates; the ``evtx`` library reads both, so the reading path is exercised, but this is a
faithful sample, not a real export.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Sequence
from datetime import UTC, datetime

from lxml import etree

__all__ = ["evtx_file"]

_FILE_HEADER_SIZE = 4096
_CHUNK_SIZE = 65536
_CHUNK_HEADER_SIZE = 512
_EPOCH_1601 = datetime(1601, 1, 1, tzinfo=UTC)

# BinXML tokens (MS-EVEN6 §2.2.12 / libyal evtx format)
_END_OF_STREAM = 0x00
_OPEN_START = 0x01
_OPEN_START_WITH_ATTRIBUTES = 0x41
_CLOSE_START = 0x02
_CLOSE_EMPTY = 0x03
_END_ELEMENT = 0x04
_VALUE = 0x05
_ATTRIBUTE = 0x06
_ATTRIBUTE_MORE = 0x46
_FRAGMENT_HEADER = b"\x0f\x01\x01\x00"
_STRING_TYPE = 0x01


def evtx_file(events: Sequence[str], written: datetime | None = None) -> bytes:
    """One chunk holding ``events`` (``<Event>`` XML strings) as records 1..n."""
    when = written or datetime(2024, 3, 5, tzinfo=UTC)
    chunk = _Chunk()
    for number, xml in enumerate(events, start=1):
        chunk.add(number, etree.fromstring(xml.encode("utf-8")), when)
    body = chunk.finish()
    header = bytearray(_FILE_HEADER_SIZE)
    struct.pack_into(
        "<8sQQQIHHHH", header, 0, b"ElfFile\x00", 0, 0, len(events) + 1, 128, 1, 3,
        _FILE_HEADER_SIZE, 1,
    )  # fmt: skip
    struct.pack_into("<I", header, 124, zlib.crc32(bytes(header[:120])))
    return bytes(header) + body


class _Chunk:
    def __init__(self) -> None:
        self.data = bytearray(_CHUNK_HEADER_SIZE)
        self.names: dict[str, int] = {}
        self.last_record_offset = 0
        self.count = 0

    def add(self, number: int, root: etree._Element, when: datetime) -> None:
        start = len(self.data)
        self.data += b"\x2a\x2a\x00\x00" + bytes(4) + struct.pack("<QQ", number, _filetime(when))
        self.data += _FRAGMENT_HEADER
        self._element(root, None)
        self.data.append(_END_OF_STREAM)
        size = len(self.data) - start + 4
        self.data += struct.pack("<I", size)
        struct.pack_into("<I", self.data, start + 4, size)
        if len(self.data) > _CHUNK_SIZE:
            raise ValueError("too many events for one EVTX chunk")
        self.last_record_offset = start
        self.count = number

    def _element(self, element: etree._Element, parent_namespace: str | None) -> None:
        qname = etree.QName(element)
        attributes = [
            (etree.QName(key).localname, str(value)) for key, value in element.attrib.items()
        ]
        if qname.namespace and qname.namespace != parent_namespace:
            attributes.insert(0, ("xmlns", qname.namespace))
        self.data.append(_OPEN_START_WITH_ATTRIBUTES if attributes else _OPEN_START)
        size_at = len(self.data)
        self.data += bytes(4)
        self._name(qname.localname)
        if attributes:
            list_at = len(self.data)
            self.data += bytes(4)
            for index, (name, value) in enumerate(attributes):
                last = index == len(attributes) - 1
                self.data.append(_ATTRIBUTE if last else _ATTRIBUTE_MORE)
                self._name(name)
                self._text(value)
            struct.pack_into("<I", self.data, list_at, len(self.data) - list_at - 4)
        children = list(element)
        if element.text is None and not children:
            self.data.append(_CLOSE_EMPTY)
        else:
            self.data.append(_CLOSE_START)
            if element.text:
                self._text(element.text)
            for child in children:
                if isinstance(child.tag, str):
                    self._element(child, qname.namespace)
            self.data.append(_END_ELEMENT)
        struct.pack_into("<I", self.data, size_at, len(self.data) - size_at - 4)

    def _name(self, name: str) -> None:
        """A name reference: the chunk offset of the name, written inline the first time."""
        offset = self.names.get(name)
        position = len(self.data) + 4
        if offset is not None:
            self.data += struct.pack("<I", offset)
            return
        self.names[name] = position
        units = name.encode("utf-16-le")
        self.data += struct.pack("<IIHH", position, 0, _name_hash(name), len(name))
        self.data += units + b"\x00\x00"

    def _text(self, text: str) -> None:
        units = text.encode("utf-16-le")
        self.data += struct.pack("<BBH", _VALUE, _STRING_TYPE, len(units) // 2) + units

    def finish(self) -> bytes:
        free = len(self.data)
        data = self.data + bytes(_CHUNK_SIZE - free)
        struct.pack_into(
            "<8sQQQQIII", data, 0, b"ElfChnk\x00", 1, self.count, 1, self.count, 128,
            self.last_record_offset, free,
        )  # fmt: skip
        struct.pack_into("<I", data, 52, zlib.crc32(bytes(data[_CHUNK_HEADER_SIZE:free])))
        checked = bytes(data[:120]) + bytes(data[128:_CHUNK_HEADER_SIZE])
        struct.pack_into("<I", data, 124, zlib.crc32(checked))
        return bytes(data)


def _name_hash(name: str) -> int:
    value = 0
    for unit in struct.unpack(f"<{len(name.encode('utf-16-le')) // 2}H", name.encode("utf-16-le")):
        value = (value * 65599 + unit) & 0xFFFFFFFF
    return value & 0xFFFF


def _filetime(when: datetime) -> int:
    delta = when - _EPOCH_1601
    return (delta.days * 86400 + delta.seconds) * 10_000_000 + delta.microseconds * 10
