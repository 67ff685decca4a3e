"""Zip packages written member by member, laid out as zipfile lays them out: local records one
after the other, then the central directory, no comment.

Written by hand where zipfile costs more than the work itself: the guard hands the parser a
package whose members it already inflated, stored; the feedback writer deflates a few KB per
workbook with a window sized to them (zipfile sets up its full window for every member).
"""

from __future__ import annotations

import struct
from typing import Iterable, NamedTuple

LOCAL = struct.Struct("<4s5H3L2H")
CENTRAL = struct.Struct("<4s6H3L5H2L")
END = struct.Struct("<4s4H2LH")
# What zipfile writes for a member added from memory: version 2.0, made on Unix, dated
# 1980-01-01 00:00, no extra field, no attributes; a name outside ASCII flagged as UTF-8.
VERSION, MADE_BY, UTF8_NAME = 20, (3 << 8) | 20, 0x800
DOS_TIME, DOS_DATE = 0, (1 << 5) | 1


class Member(NamedTuple):
    name: str
    method: int  # zipfile.ZIP_STORED or zipfile.ZIP_DEFLATED
    crc: int  # of the uncompressed bytes
    size: int  # uncompressed
    payload: bytes  # as stored in the zip (deflated or not)


def packed(members: Iterable[Member]) -> bytes:
    """The zip holding `members`, in this order."""
    records, entries, at = [], [], 0
    for m in members:
        name = m.name.encode("utf-8")
        flags = 0 if name.isascii() else UTF8_NAME
        fields = (flags, m.method, DOS_TIME, DOS_DATE, m.crc, len(m.payload), m.size, len(name))
        records += (LOCAL.pack(b"PK\x03\x04", VERSION, *fields, 0), name, m.payload)
        entries += (CENTRAL.pack(b"PK\x01\x02", MADE_BY, VERSION, *fields, 0, 0, 0, 0, 0, at), name)
        at += LOCAL.size + len(name) + len(m.payload)
    directory = b"".join(entries)
    count = len(entries) // 2
    return b"".join(records) + directory + END.pack(b"PK\x05\x06", 0, 0, count, count, len(directory), at, 0)
