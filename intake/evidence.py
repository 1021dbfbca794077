"""Evidence files: decide the type by content, validate it, and strip metadata losslessly.

The client's file name and Content-Type are never trusted: the type comes from the bytes,
is confirmed by parsing them with the matching library, and identifying metadata (EXIF,
GPS, XMP, IPTC, comments, document authors, audio tags) is removed without re-encoding
the content. Everything happens in memory; nothing is written to disk.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import io
import re
import struct
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from xml.sax.saxutils import quoteattr

import filetype
import mutagen
import mutagen.apev2
import mutagen.flac
import mutagen.mp4
import olefile
import pikepdf
from defusedxml import ElementTree as SafeET
from PIL import ExifTags, Image

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ZIP_MAGIC = b"PK\x03\x04"
# Zip bombs (#21, item 9): a package may hold at most this many members, and inflate to at
# most ZIP_MAX_EXPANDED bytes in all and ZIP_MAX_RATIO times its own size. Real documents
# stay far below (pictures do not compress; text and XML compress 5-30 times); deflate's
# ceiling is about 1,000 times. Checked on the sizes the central directory declares before
# anything is inflated, and on what is actually inflated while reading.
ZIP_MAX_MEMBERS = 2_000
ZIP_MAX_EXPANDED = 64 * 1024 * 1024
ZIP_MAX_RATIO = 100
# What all the packages of one request may inflate to together (intake.views.read_evidence
# passes what is left of it to each file): ten files of ZIP_MAX_EXPANDED would hold a worker.
REQUEST_MAX_EXPANDED = 128 * 1024 * 1024
# The central directory is read whole (one ZipInfo per entry) before the members are counted:
# its size is checked first, from the end record, at this many bytes per member allowed.
_ZIP_ENTRY_BYTES = 512
_ZIP_END, _ZIP_END_SIZE = b"PK\x05\x06", 22
_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
_SNIFFED = {  # filetype's extension -> (kind, MIME type we store, extension we store)
    "jpg": ("jpeg", "image/jpeg", "jpg"), "png": ("png", "image/png", "png"),
    "apng": ("png", "image/png", "png"), "webp": ("webp", "image/webp", "webp"),
    "pdf": ("pdf", "application/pdf", "pdf"),
    "mp3": ("audio", "audio/mpeg", "mp3"), "m4a": ("audio", "audio/mp4", "m4a"),
    "aac": ("audio", "audio/aac", "aac"), "ogg": ("audio", "audio/ogg", "ogg"),
    "wav": ("audio", "audio/wav", "wav"), "amr": ("audio", "audio/amr", "amr"),
    "flac": ("audio", "audio/flac", "flac"),
    "mp4": ("video", "video/mp4", "mp4"), "m4v": ("video", "video/mp4", "mp4"),
    "mov": ("video", "video/quicktime", "mov"), "3gp": ("video", "video/3gpp", "3gp"),
    "webm": ("video", "video/webm", "webm"), "avi": ("video", "video/x-msvideo", "avi"),
}  # fmt: skip


@dataclass(frozen=True)
class CleanFile:
    """A validated evidence file with its metadata removed."""

    kind: str
    mime: str
    extension: str
    data: bytes
    removed: tuple[str, ...]
    warning: bool
    expanded: int = 0  # bytes inflated to read it (Office packages), counted per request


class EvidenceRejected(Exception):
    """The file is refused; ``code`` says why (e.g. "not-allowed", "corrupt")."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def clean(data: bytes, *, max_bytes: int, max_pixels: int = 50_000_000,
          max_expanded: int = ZIP_MAX_EXPANDED) -> CleanFile:
    """Identify ``data`` by content, validate it and return it without metadata.

    Raises :class:`EvidenceRejected` when the file is empty, too large, of a type we do
    not accept, does not parse as the type its content claims, or is a package that would
    inflate past its bounds or past ``max_expanded`` (what is left of the request's).
    """
    if not data:
        raise EvidenceRejected("empty")
    if len(data) > max_bytes:
        raise EvidenceRejected("too-large")
    if data.startswith(_OLE_MAGIC):
        return _ole(data)
    if data.startswith(_ZIP_MAGIC):
        return _ooxml(data, max_expanded)
    guess = filetype.guess(data)
    if guess is None:
        return _text(data)
    if guess.extension not in _SNIFFED:
        raise EvidenceRejected("not-allowed")
    kind, mime, extension = _SNIFFED[guess.extension]
    warning = False
    if kind in _STRIPPERS:
        cleaned, removed = _image(data, kind, max_pixels)
    elif kind == "pdf":
        cleaned, removed, warning = _pdf(data)
    elif kind == "audio":
        cleaned, removed, warning = _audio(data, extension)
    else:
        cleaned, removed, warning = _video(data, extension), [], True
    return CleanFile(kind, mime, extension, cleaned, tuple(dict.fromkeys(removed)), warning)


@contextlib.contextmanager
def _parse_guard() -> Iterator[None]:
    """Turn any failure of a parser fed hostile input into a refusal, never a crash."""
    try:
        yield
    except (EvidenceRejected, MemoryError):
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise EvidenceRejected("too-many-pixels") from exc
    except Exception as exc:  # any parser failure on untrusted bytes means "corrupt"
        raise EvidenceRejected("corrupt") from exc


# --- images ----------------------------------------------------------------------------


def _image(data: bytes, kind: str, max_pixels: int) -> tuple[bytes, list[str]]:
    """Strip metadata, then check the result opens, is small enough and decodes fully."""
    pil_format = kind.upper()
    with _parse_guard():
        cleaned, removed = _STRIPPERS[kind](data)
        # Image.open reads only the header, so the size is known before any decoding.
        with Image.open(io.BytesIO(cleaned), formats=[pil_format]) as im:
            width, height = im.size
            if width * height > max_pixels:
                raise EvidenceRejected("too-many-pixels")
            im.verify()
        with Image.open(io.BytesIO(cleaned), formats=[pil_format]) as im:
            im.load()
    return cleaned, removed


def _exif_codes(payload: bytes) -> list[str]:
    """Name what an EXIF block held; it is dropped whole whatever this finds."""
    codes = ["exif"]
    exif = Image.Exif()
    with contextlib.suppress(Exception):  # malformed EXIF only makes the report vaguer
        exif.load(payload)
        if exif.get_ifd(ExifTags.IFD.GPSInfo):
            codes.append("gps")
        if exif.get_ifd(ExifTags.IFD.IFD1):
            codes.append("thumbnail")
    return codes


_JPEG_SOS, _JPEG_EOI, _JPEG_APP0, _JPEG_APP1 = 0xDA, 0xD9, 0xE0, 0xE1
_JPEG_APP2, _JPEG_APP14 = 0xE2, 0xEE
# APP14 "Adobe": version, flags0, flags1, colour transform (needed for CMYK/YCCK colours).
_ADOBE_LENGTH = 12
# The first marker after entropy-coded data: 0xFF not followed by stuffing, RST or fill.
_JPEG_SCAN_END = re.compile(rb"\xff[^\x00\xd0-\xd7\xff]")


def _strip_jpeg(data: bytes) -> tuple[bytes, list[str]]:
    """Copy SOI…EOI keeping image segments and scans verbatim, dropping metadata segments."""
    if not data.startswith(b"\xff\xd8"):
        raise EvidenceRejected("corrupt")
    out, removed, pos = [b"\xff\xd8"], [], 2
    while True:
        if data[pos : pos + 1] != b"\xff":
            raise EvidenceRejected("corrupt")
        while data[pos + 1 : pos + 2] == b"\xff":  # fill bytes before a marker
            pos += 1
        marker = data[pos + 1] if pos + 1 < len(data) else -1
        if marker == _JPEG_EOI:
            out.append(b"\xff\xd9")
            if pos + 2 < len(data):
                removed.append("trailer")
            return b"".join(out), removed
        if marker < 0 or pos + 4 > len(data):
            raise EvidenceRejected("corrupt")
        end = pos + 2 + int.from_bytes(data[pos + 2 : pos + 4], "big")
        if end < pos + 4 or end > len(data):
            raise EvidenceRejected("corrupt")
        kept, codes = _jpeg_segment(marker, data[pos + 4 : end])
        removed.extend(codes)
        if kept is not None:
            out.append(bytes([0xFF, marker]) + (len(kept) + 2).to_bytes(2, "big") + kept)
        pos = end
        if marker == _JPEG_SOS:
            scan_end = _JPEG_SCAN_END.search(data, pos)
            if scan_end is None:
                raise EvidenceRejected("corrupt")
            out.append(data[pos : scan_end.start()])
            pos = scan_end.start()


def _jpeg_segment(marker: int, payload: bytes) -> tuple[bytes | None, list[str]]:
    """Return the payload to keep (None drops the segment) and what was removed."""
    if marker == _JPEG_APP0 and payload.startswith(b"JFIF\x00") and len(payload) >= 14:
        if payload[12] or payload[13]:  # JFIF's own uncompressed thumbnail
            return payload[:12] + b"\x00\x00", ["thumbnail"]
        return payload[:14], []
    if marker == _JPEG_APP2 and payload.startswith(b"ICC_PROFILE\x00"):
        if payload[12:13] != b"\x01":  # a later chunk of the profile: colour data only
            return payload, []
        profile, codes = _icc_blanked(payload[14:])
        return payload[:14] + profile, codes
    if marker == _JPEG_APP14 and payload.startswith(b"Adobe"):
        if len(payload) < _ADOBE_LENGTH:
            return None, ["app-data"]
        # Only its standard fields: anything appended to them is a place to hide data.
        extra = ["app-data"] if len(payload) > _ADOBE_LENGTH else []
        return payload[:_ADOBE_LENGTH], extra
    if marker == _JPEG_APP1 and payload.startswith(b"Exif\x00"):
        return None, _exif_codes(payload)
    if marker == _JPEG_APP1 and payload.startswith(b"http://ns.adobe.com/"):
        return None, ["xmp"]  # standard and extended XMP packets
    if marker == 0xED:
        return None, ["iptc"]
    if marker == 0xFE:
        return None, ["comment"]
    if 0xE0 <= marker <= 0xEF:
        return None, ["app-data"]  # JFXX thumbnails, MPF, FlashPix, vendor blocks…
    return payload, []


_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_KEEP = frozenset(  # what rendering needs, APNG animation included
    b"IHDR PLTE IDAT IEND tRNS gAMA cHRM sRGB iCCP sBIT pHYs bKGD".split()
    + b"acTL fcTL fdAT cICP cLLI mDCV".split()
)


# An ICC profile's header (ICC.1:2022 §7.2) carries when and for which device it was made:
# creation date and time (24-35), device manufacturer and model (48-55), creator (80-83) and
# the profile ID (84-99, an MD5 over the rest, which these changes void: zero means "not
# computed"). They are blanked; the colour data itself is kept, as the colours need it.
_ICC_BLANK = ((24, 36), (48, 56), (80, 100))
_ICC_MAX_BYTES = 4 * 1024 * 1024  # a PNG's compressed profile is inflated to at most this


def _icc_blanked(profile: bytes) -> tuple[bytes, list[str]]:
    """The profile (or its first JPEG chunk) with its dating and device fields zeroed."""
    if len(profile) < 128 or profile[36:40] != b"acsp":
        return profile, []
    out = bytearray(profile)
    for start, end in _ICC_BLANK:
        out[start:end] = bytes(end - start)
    return bytes(out), ([] if out == profile else ["icc-header"])


# The name every iCCP chunk gets (Pillow's own): the original is free text, such as a
# calibrated display's owner. PNG needs a name of 1-79 Latin-1 bytes.
_ICC_NAME = b"ICC Profile"


def _png_iccp(payload: bytes) -> tuple[list[bytes], list[str]]:
    """The iCCP chunk to keep under the neutral name (its profile is needed for the colours),
    and what was removed; a chunk without a valid name or compression method is dropped."""
    name, nul, rest = payload.partition(b"\x00")
    if not nul or not 1 <= len(name) <= 79 or rest[:1] != b"\x00" or len(rest) < 2:
        return [], ["app-data"]
    inflater = zlib.decompressobj()
    try:
        profile = inflater.decompress(rest[1:], _ICC_MAX_BYTES)
    except zlib.error:
        return [], ["app-data"]
    if inflater.unconsumed_tail or not inflater.eof:
        return [], ["app-data"]  # larger than any real profile, or truncated
    profile, codes = _icc_blanked(profile)
    if codes:
        rest = b"\x00" + zlib.compress(profile, 9)
    body = b"iCCP" + _ICC_NAME + b"\x00" + rest
    chunk = struct.pack(">I", len(body) - 4) + body + struct.pack(">I", zlib.crc32(body))
    return [chunk], codes + ([] if name == _ICC_NAME else ["icc-name"])


def _strip_png(data: bytes) -> tuple[bytes, list[str]]:
    """Copy the chunks needed for rendering; drop text, EXIF, time and private chunks."""
    if not data.startswith(_PNG_SIGNATURE):
        raise EvidenceRejected("corrupt")
    out, removed, pos = [_PNG_SIGNATURE], [], len(_PNG_SIGNATURE)
    seen_iccp = False
    while True:
        if pos + 12 > len(data):
            raise EvidenceRejected("corrupt")
        length, chunk_type = struct.unpack_from(">I4s", data, pos)
        end = pos + 12 + length
        if end > len(data):
            raise EvidenceRejected("corrupt")
        payload = data[pos + 8 : end - 4]
        if chunk_type == b"iCCP" and not seen_iccp:  # PNG allows one; each is inflated
            seen_iccp = True
            chunk, codes = _png_iccp(payload)
            out.extend(chunk)
            removed.extend(codes)
        elif chunk_type == b"iCCP":
            removed.append("app-data")
        elif chunk_type in _PNG_KEEP:
            out.append(data[pos:end])
        elif chunk_type == b"eXIf":
            removed.extend(_exif_codes(payload))
        elif chunk_type == b"iTXt" and payload.startswith(b"XML:com.adobe.xmp\x00"):
            removed.append("xmp")
        elif chunk_type in (b"tEXt", b"zTXt", b"iTXt"):
            removed.append("png-text")
        else:
            removed.append("timestamp" if chunk_type == b"tIME" else "app-data")
        pos = end
        if chunk_type == b"IEND":
            if pos < len(data):
                removed.append("trailer")
            return b"".join(out), removed


def _riff_walk(data: bytes, form: bytes) -> tuple[list[tuple[bytes, bytes]], bool]:
    """Split a RIFF file into (fourcc, payload) chunks; also say if bytes trail it."""
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != form:
        raise EvidenceRejected("corrupt")
    end = 8 + int.from_bytes(data[4:8], "little")
    if end > len(data):
        raise EvidenceRejected("corrupt")
    chunks, pos = [], 12
    while pos < end:
        if pos + 8 > end:
            raise EvidenceRejected("corrupt")
        fourcc, size = struct.unpack_from("<4sI", data, pos)
        if pos + 8 + size > end:
            raise EvidenceRejected("corrupt")
        chunks.append((fourcc, data[pos + 8 : pos + 8 + size]))
        pos += 8 + size + (size & 1)
    return chunks, end < len(data)


def _riff_build(form: bytes, chunks: list[tuple[bytes, bytes]]) -> bytes:
    body = b"".join(
        fourcc + struct.pack("<I", len(p)) + p + b"\x00" * (len(p) & 1) for fourcc, p in chunks
    )
    return b"RIFF" + struct.pack("<I", 4 + len(body)) + form + body


_WEBP_KEEP = frozenset({b"VP8 ", b"VP8L", b"VP8X", b"ALPH", b"ANIM", b"ANMF", b"ICCP"})
_VP8X_EXIF_XMP = 0x08 | 0x04


def _strip_webp(data: bytes) -> tuple[bytes, list[str]]:
    """Drop the EXIF/XMP chunks, clear their VP8X flags and rebuild the RIFF size."""
    chunks, trailing = _riff_walk(data, b"WEBP")
    kept, removed = [], ["trailer"] if trailing else []
    for fourcc, payload in chunks:
        if fourcc in _WEBP_KEEP:
            if fourcc == b"VP8X" and payload:
                payload = bytes([payload[0] & ~_VP8X_EXIF_XMP & 0xFF]) + payload[1:]
            if fourcc == b"ICCP":
                payload, codes = _icc_blanked(payload)
                removed.extend(codes)
            kept.append((fourcc, payload))
        elif fourcc == b"EXIF":
            removed.extend(_exif_codes(payload))
        else:
            removed.append("xmp" if fourcc == b"XMP " else "app-data")
    return _riff_build(b"WEBP", kept), removed


_STRIPPERS: dict[str, Callable[[bytes], tuple[bytes, list[str]]]] = {
    "jpeg": _strip_jpeg,
    "png": _strip_png,
    "webp": _strip_webp,
}


# --- PDF -------------------------------------------------------------------------------

_PDF_KEYS = ((pikepdf.Name.Metadata, "pdf-xmp"), (pikepdf.Name.PieceInfo, "pdf-private"))
_N = pikepdf.Name
# Actions that stay inside the document (#21, item 2); every other action (JavaScript, URI,
# Launch, SubmitForm, GoToR, ImportData, GoToE, Rendition, Thread...) is removed.
_PDF_SAFE_ACTIONS = frozenset({_N.GoTo, _N.Named, _N.SetOCGState, _N.Hide, _N.ResetForm,
                               _N.Trans})
_PDF_REMOTE_ACTIONS = frozenset(_N(f"/{name}") for name in (
    "JavaScript", "Launch", "URI", "SubmitForm", "GoToR", "ImportData", "GoToE", "Rendition",
    "Movie", "Sound", "RichMediaExecute", "GoTo3DView", "Thread"))
_PDF_ACTION_KEYS = frozenset({_N.A, _N.OpenAction, _N.PA, _N.Next})  # an action or destination
# Additional actions (triggers), scripts, the document's scripts and base URI: removed.
_PDF_SCRIPT_KEYS = frozenset({_N.AA, _N.JS, _N.JavaScript, _N.URI})
# Attached files (the name tree, file specifications' streams, associated files, attachment
# annotations' files): removed; the reporter can send them as files of their own.
_PDF_ATTACHMENT_KEYS = frozenset({_N.EmbeddedFiles, _N.EF, _N.AF, _N.FS})
# What the cleaner does not take apart: XFA forms (scripts and submissions inside their
# XML), portfolios, rich media and 3D: kept, with a warning.
_PDF_UNKNOWN_KEYS = frozenset({_N.XFA, _N.Collection, _N.RichMediaContent, _N("/3DD")})
_PDF_UNKNOWN_ANNOTS = frozenset(_N(f"/{name}") for name in (
    "RichMedia", "Screen", "Movie", "Sound", "3D"))


def _pdf_safe_action(value: object) -> bool:
    """Whether the value of an action key stays inside the document (a destination, or an
    action of :data:`_PDF_SAFE_ACTIONS`)."""
    if isinstance(value, pikepdf.Dictionary):
        return value.get(_N.S) in _PDF_SAFE_ACTIONS
    return True


def _pdf_scrub(obj: object, removed: list[str]) -> bool:
    """Remove actions leaving the document, scripts and attachments from ``obj`` and the
    direct objects inside it (indirect ones are scrubbed on their own); say if something
    the cleaner does not take apart is there."""
    if isinstance(obj, pikepdf.Array):
        return any([_pdf_scrub(item, removed) for item in obj
                    if isinstance(item, pikepdf.Dictionary | pikepdf.Array)
                    and not item.is_indirect])
    if not isinstance(obj, pikepdf.Dictionary | pikepdf.Stream):
        return False
    if obj.get(_N.S) in _PDF_REMOTE_ACTIONS:  # an action, wherever it is referred from
        for key in list(obj.keys()):
            if key not in ("/S", "/Type"):
                del obj[key]
        removed.append("pdf-action")
        return False
    unsure = obj.get(_N.Subtype) in _PDF_UNKNOWN_ANNOTS and _N.Rect in obj
    for key in list(obj.keys()):
        value = obj[key]
        if (key in _PDF_ACTION_KEYS and not _pdf_safe_action(value)) or key in _PDF_SCRIPT_KEYS:
            del obj[key]
            removed.append("pdf-action")
        elif key in _PDF_ATTACHMENT_KEYS:
            del obj[key]
            removed.append("pdf-attachment")
        else:
            unsure = unsure or key in _PDF_UNKNOWN_KEYS
            if isinstance(value, pikepdf.Dictionary | pikepdf.Array) and not value.is_indirect:
                unsure = _pdf_scrub(value, removed) or unsure
    return unsure


# PDF bombs (#21, item 9): qpdf inflates a cross-reference stream when it opens the file, and an
# object stream when it first needs an object inside it, whole and in memory. Those streams
# may inflate to this much in all (measured before qpdf inflates them); other streams are
# never inflated by the cleaner.
PDF_MAX_STRUCTURE = 32 * 1024 * 1024
def _pdf_name(word: str) -> bytes:
    """A pattern for the PDF name ``/word``, each character written as itself or as #xx."""
    return b"/" + b"".join(
        b"(?:%s|#%s[%s])" % (re.escape(ch.encode()), f"{ord(ch):02x}"[0].encode(),
                             (f"{ord(ch):02x}"[1] + f"{ord(ch):02X}"[1]).encode())
        for ch in word
    )


_PDF_SPACE = rb"(?:\s|%[^\r\n]*[\r\n])*"  # white space and comments
_PDF_STRUCTURE = re.compile(_pdf_name("Type") + _PDF_SPACE + rb"(?:" + _pdf_name("ObjStm")
                            + rb"|" + _pdf_name("XRef") + rb")(?![A-Za-z0-9#])")
_PDF_OBJECT_END = re.compile(rb"\d+\s+\d+\s+obj\Z")
# The keyword's end of line may be CR LF, LF or (tolerated by qpdf) CR alone, after stray
# blanks.
_PDF_STREAM = re.compile(rb"(?<![A-Za-z])stream[ \t\f\0]*(?:\r\n|\r|\n)")
_PDF_FILTER = re.compile(rb"/(FlateDecode|Fl|LZWDecode|LZW|ASCII85Decode|A85|ASCIIHexDecode|AHx"
                         rb"|RunLengthDecode|RL|Crypt)(?![A-Za-z0-9])|#")


def _object_start(data: bytes, pos: int) -> int:
    """Where the body of the indirect object around ``pos`` begins (after "N G obj"), or -1."""
    while (at := data.rfind(b"obj", 0, pos)) >= 0:
        if _PDF_OBJECT_END.search(data, max(0, at - 24), at + 3):
            return at + 3
        pos = at
    return -1


def _pdf_structure_streams(data: bytes) -> Iterator[tuple[bytes, bytes]]:
    """Every object or cross-reference stream written in the file, as (its dictionary's
    bytes, its data's bytes)."""
    for match in _PDF_STRUCTURE.finditer(data):
        begin = _object_start(data, match.start())
        start = _PDF_STREAM.search(data, match.end())
        head = data[begin : start.start()] if begin >= 0 and start is not None else b""
        if start is None or not head or b"endobj" in head or b"endstream" in head:
            # No stream of its own follows it: a stream written in a way this scan does not
            # read (qpdf might), or the words inside some stream's text. Not measurable, so
            # refused; a real document does not print "/Type /XRef" in its text.
            raise EvidenceRejected("corrupt")
        # Up to the end of the file, not the first "endstream" (those bytes can sit inside
        # the compressed data): inflating stops where the zlib stream itself ends.
        yield head, data[start.end() :]


def _inflated_size(raw: bytes, limit: int) -> int:
    """How many bytes a zlib stream inflates to, counting no further than just past ``limit``
    and never holding more than a MiB of it."""
    inflater, total, pending = zlib.decompressobj(), 0, raw
    while pending and not inflater.eof and total <= limit:
        total += len(inflater.decompress(pending, 1 << 20))
        pending = inflater.unconsumed_tail
    return total


def _check_structure_streams(data: bytes) -> None:
    """Measure, from the file's bytes, the cross-reference streams (qpdf inflates them on
    opening the file) and object streams (on reading an object inside: the catalog's while
    opening). A stream filtered other than by one FlateDecode (or whose filters are written
    with #-escapes) is refused; so is an object stream that does not inflate: encrypted (qpdf
    would decrypt and inflate it before it could be measured) or damaged."""
    left = PDF_MAX_STRUCTURE
    for head, raw in _pdf_structure_streams(data):
        filters = _PDF_FILTER.findall(head)
        if filters not in ([], [b"FlateDecode"], [b"Fl"]):
            raise EvidenceRejected("zip-bomb")
        if not filters:  # stored as is: its length, up to its own "endstream"
            end = raw.find(b"endstream")
            raw = raw[: end if end >= 0 else len(raw)]
        try:
            left -= _inflated_size(raw, left) if filters else len(raw)
        except zlib.error as exc:
            protected = b"/Encrypt" in data
            raise EvidenceRejected("protected-pdf" if protected else "corrupt") from exc
        if left < 0:
            raise EvidenceRejected("zip-bomb")


def _check_object_streams(pdf: pikepdf.Pdf, left: int) -> None:
    """Measure the object streams of an opened PDF before any object in them is read (all
    but the catalog's): qpdf names them in its cross-reference table and hands their data
    over as stored (decrypted, not inflated). Catches those the byte scan did not find."""
    numbers = {entry.obj_stream_number for entry in pdf.get_xref_table().values()
               if entry.type == 2 and entry.obj_stream_number is not None}
    for number in sorted(numbers):  # the object streams other objects are kept in
        stream = pdf.get_object((number, 0))
        if not isinstance(stream, pikepdf.Stream):
            continue
        raw_filter = stream.get(_N.Filter)
        filters = list(raw_filter) if isinstance(raw_filter, pikepdf.Array) else (
            [raw_filter] if raw_filter is not None else [])
        if filters not in ([], [_N.FlateDecode]):
            raise EvidenceRejected("zip-bomb")
        raw = stream.read_raw_bytes()
        try:
            left -= _inflated_size(raw, left) if filters else len(raw)
        except zlib.error as exc:
            raise EvidenceRejected("corrupt") from exc
        if left < 0:
            raise EvidenceRejected("zip-bomb")


def _pdf(data: bytes) -> tuple[bytes, list[str], bool]:
    """Drop Info, every /Metadata and /PieceInfo, annotation authors and the metadata of
    JPEG images, actions that leave the document or run scripts, and attached files; a full
    rewrite drops old revisions. Streams are written as they came, never inflated.
    """
    removed: list[str] = []
    warning = False
    out = io.BytesIO()
    with _parse_guard():
        _check_structure_streams(data)
        try:
            pdf = pikepdf.open(io.BytesIO(data))
        except pikepdf.PasswordError as exc:
            raise EvidenceRejected("encrypted-pdf") from exc
        with pdf:
            _check_object_streams(pdf, PDF_MAX_STRUCTURE)
            if len(pdf.pages) == 0:
                raise EvidenceRejected("corrupt")
            info = pdf.trailer.get(pikepdf.Name.Info)
            if info is not None:
                if isinstance(info, pikepdf.Dictionary) and len(info) > 0:
                    removed.append("pdf-info")
                del pdf.trailer[pikepdf.Name.Info]
            for obj in pdf.objects:
                if not isinstance(obj, pikepdf.Dictionary | pikepdf.Stream):
                    continue
                for key, code in _PDF_KEYS:
                    if key in obj:
                        del obj[key]
                        removed.append(code)
                subtype = obj.get(pikepdf.Name.Subtype)
                # Annotations have a /Rect; a form field's /T is its name, not an author.
                annotation = pikepdf.Name.Rect in obj and subtype != pikepdf.Name.Widget
                if annotation and pikepdf.Name.T in obj:
                    del obj[pikepdf.Name.T]
                    removed.append("annotation-author")
                warning = _pdf_scrub(obj, removed) or warning
                if isinstance(obj, pikepdf.Stream):
                    codes, unsure = _pdf_stream(obj, subtype)
                    removed += codes
                    warning = warning or unsure
            # Streams pass through as they are (#21, item 9): neither decoded nor recompressed,
            # so a stream that inflates to gigabytes costs nothing here.
            pdf.save(out, encryption=False, compress_streams=False,
                     stream_decode_level=pikepdf.StreamDecodeLevel.none)
    return out.getvalue(), removed, warning


def _pdf_stream(obj: pikepdf.Stream, subtype: object) -> tuple[list[str], bool]:
    """Strip a JPEG image's metadata segments; empty an attached file."""
    if obj.get(pikepdf.Name.Type) == pikepdf.Name.EmbeddedFile:
        obj.write(b"")
        for key in list(obj.keys()):
            if key not in ("/Type", "/Length"):
                del obj[key]
        return ["pdf-attachment"], False
    raw = obj.get(pikepdf.Name.Filter)
    filters = list(raw) if isinstance(raw, pikepdf.Array) else [raw]
    if subtype != pikepdf.Name.Image or pikepdf.Name.DCTDecode not in filters:
        return [], False
    if filters != [pikepdf.Name.DCTDecode]:
        return [], True  # a JPEG wrapped in another filter: left as is
    try:
        cleaned, codes = _strip_jpeg(obj.read_raw_bytes())
    except EvidenceRejected:
        return [], True
    if codes:
        parms = obj.get(pikepdf.Name.DecodeParms)
        if isinstance(parms, pikepdf.Array):
            parms = parms[0] if len(parms) else None
        parms = parms if isinstance(parms, pikepdf.Dictionary) else None
        obj.write(cleaned, filter=pikepdf.Name.DCTDecode, decode_parms=parms)
    return codes, False


# --- office ----------------------------------------------------------------------------

_OOXML_MAINS = {  # content type of the main part -> (kind, MIME type of the file)
    f"{mime}.main+xml": (kind, mime)
    for kind, mime in (
        ("docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
        ("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        ("pptx", "application/vnd.openxmlformats-officedocument.presentationml.presentation"),
    )
}
_OOXML_PROPS_TYPES = frozenset(
    {
        "application/vnd.openxmlformats-package.core-properties+xml",
        "application/vnd.openxmlformats-officedocument.extended-properties+xml",
        "application/vnd.openxmlformats-officedocument.custom-properties+xml",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.people+xml",
    }
)
_OOXML_PROPS_PATHS = frozenset({"docProps/core.xml", "docProps/app.xml", "docProps/custom.xml"})
_CT_NS = "{http://schemas.openxmlformats.org/package/2006/content-types}"


def _ooxml(data: bytes, max_expanded: int) -> CleanFile:
    """Accept a Word/Excel/PowerPoint package and clean each part by its role (see
    :data:`_OOXML_PARTS`); refuse other zips, zip bombs and documents with macros."""
    _check_central_directory(data)
    with _parse_guard(), zipfile.ZipFile(io.BytesIO(data)) as zf:
        src = _Archive(data, zf, _expansion_budget(len(data)), max_expanded)
        members = _ooxml_members(src)
        names = frozenset(info.filename for info in members)
        content_types, defaults, declared = _content_types(src)
        _refuse_macros(declared, names)
        kind, mime = _main_part(content_types, names)
        package = _Package(content_types, _package_relationships(src), defaults)
        cleaned, removed, warning = _rewrite_zip(src, members, package)
    return CleanFile(kind, mime, kind, cleaned, removed, warning, src.inflated)


def _check_central_directory(data: bytes) -> None:
    """Refuse a zip whose central directory could list more members than allowed, before
    ZipFile reads it (it makes an object per entry, however many there are)."""
    end = data.rfind(_ZIP_END, max(0, len(data) - _ZIP_END_SIZE - 0xFFFF))
    if end < 0 or end + _ZIP_END_SIZE > len(data):
        raise EvidenceRejected("corrupt")
    # Python's zipfile reads the ZIP64 end record instead whenever its locator stands just
    # before the ordinary one: an Office file within the size limit never needs ZIP64.
    if data[max(0, end - 20) : end - 16] == b"PK\x06\x07":
        raise EvidenceRejected("zip-bomb")
    entries = struct.unpack_from("<H", data, end + 10)[0]
    directory_size = struct.unpack_from("<I", data, end + 12)[0]
    if entries > ZIP_MAX_MEMBERS or directory_size > ZIP_MAX_MEMBERS * _ZIP_ENTRY_BYTES:
        raise EvidenceRejected("zip-bomb")


def _expansion_budget(size: int) -> int:
    """How many bytes a package of ``size`` bytes may inflate to, all members together."""
    return min(ZIP_MAX_EXPANDED, ZIP_MAX_RATIO * size)


class _Archive:
    """A zip being read: its bytes, its central directory, and what may still be inflated.

    Members are inflated here rather than by ZipFile, never past the size the central
    directory declares: a member that holds more than it declares is refused as a bomb
    (its first byte too many is the last inflated), one that holds less or fails its CRC
    as corrupt. Every byte inflated counts against the package's own bound and against what is
    left of the request's.
    """

    def __init__(self, data: bytes, zf: zipfile.ZipFile, own: int, request: int) -> None:
        self.data, self.zf, self.own, self.request, self.inflated = data, zf, own, request, 0

    def check(self, size: int) -> None:
        """Refuse inflating ``size`` more bytes past either bound."""
        if self.inflated + size > self.own:
            raise EvidenceRejected("zip-bomb")
        if self.inflated + size > self.request:
            raise EvidenceRejected("too-much-together")

    def read(self, info: zipfile.ZipInfo) -> bytes:
        """The member's bytes, checked against its declared size and CRC."""
        if info.flag_bits & 0x1 or info.compress_type not in (zipfile.ZIP_STORED,
                                                              zipfile.ZIP_DEFLATED):
            raise EvidenceRejected("corrupt")  # encrypted, or a method Office does not use
        self.check(info.file_size)
        raw = self._raw(info)
        if info.compress_type == zipfile.ZIP_STORED:
            body = raw
        else:
            inflater = zlib.decompressobj(-zlib.MAX_WBITS)
            body = inflater.decompress(raw, info.file_size + 1)
        if len(body) > info.file_size:
            raise EvidenceRejected("zip-bomb")  # it holds more than its header says
        self.inflated += len(body)
        if len(body) != info.file_size or zlib.crc32(body) != info.CRC:
            raise EvidenceRejected("corrupt")
        return body

    def _raw(self, info: zipfile.ZipInfo) -> bytes:
        """The member's compressed bytes, after its local header."""
        at = info.header_offset
        header = self.data[at : at + 30]
        if len(header) < 30 or header[:4] != _ZIP_MAGIC:
            raise EvidenceRejected("corrupt")
        name_length, extra_length = struct.unpack_from("<HH", header, 26)
        start = at + 30 + name_length + extra_length
        raw = self.data[start : start + info.compress_size]
        if len(raw) != info.compress_size:
            raise EvidenceRejected("corrupt")
        return raw


def _ooxml_members(src: _Archive) -> list[zipfile.ZipInfo]:
    """The package's files, refused when there are too many, they declare more than the
    package (or what is left of the request's budget) may inflate to, a name repeats, or
    the two parts every package has are missing."""
    members = [info for info in src.zf.infolist() if not info.is_dir()]
    if len(members) > ZIP_MAX_MEMBERS:
        raise EvidenceRejected("zip-bomb")
    src.check(sum(info.file_size for info in members))
    names = {info.filename for info in members}
    if len(names) != len(members):
        raise EvidenceRejected("corrupt")
    if "[Content_Types].xml" not in names or "_rels/.rels" not in names:
        raise EvidenceRejected("not-allowed")
    return members


def _content_types(src: _Archive) -> tuple[dict[str, str], dict[str, str], list[str]]:
    """The content type each part is declared with by an Override, the Defaults (lower-case
    extension -> content type), and every content type declared (lower case)."""
    types = SafeET.fromstring(src.read(src.zf.getinfo("[Content_Types].xml")))
    overrides = {
        str(el.get("PartName", "")).lstrip("/"): str(el.get("ContentType", ""))
        for el in types.iter(f"{_CT_NS}Override")
    }
    defaults = {
        str(el.get("Extension", "")).lower(): str(el.get("ContentType", ""))
        for el in types.iter(f"{_CT_NS}Default")
    }
    return overrides, defaults, [str(el.get("ContentType", "")).lower() for el in types]


def _refuse_macros(declared: list[str], names: frozenset[str]) -> None:
    """Refuse a package declaring or holding a VBA project."""
    if any("macroenabled" in ct or "vbaproject" in ct for ct in declared) or any(
        name.lower().endswith("vbaproject.bin") for name in names
    ):
        raise EvidenceRejected("macro")


def _main_part(content_types: dict[str, str], names: frozenset[str]) -> tuple[str, str]:
    """(kind, MIME type) of the package's one main document part, which must be present."""
    mains = [(part, _OOXML_MAINS[ct]) for part, ct in content_types.items() if ct in _OOXML_MAINS]
    if len(mains) != 1 or mains[0][0] not in names:
        raise EvidenceRejected("not-allowed")
    return mains[0][1]


def _package_relationships(src: _Archive) -> tuple[tuple[str, str], ...]:
    """The package's own relationships (``_rels/.rels``) as (type, target part) pairs."""
    rels = SafeET.fromstring(src.read(src.zf.getinfo("_rels/.rels")))
    return tuple((str(el.get("Type", "")), str(el.get("Target", "")).lstrip("/")) for el in rels)


@dataclass(frozen=True)
class _Package:
    """What a package says of its parts: the content type each is declared with (by an
    Override), the package's relationships, as (type, target part) pairs, and the content
    types of the Defaults (by lower-case extension)."""

    content_types: dict[str, str]
    relationships: tuple[tuple[str, str], ...]
    defaults: dict[str, str] = dataclasses.field(default_factory=dict)

    def content_type(self, name: str) -> str:
        """The part's content type (its Override, else its extension's Default), lower case."""
        if name in self.content_types:
            return self.content_types[name].lower()
        _base, dot, extension = name.rpartition("/")[2].rpartition(".")
        return self.defaults.get(extension.lower(), "").lower() if dot else ""


_Cleaned = tuple[bytes, list[str], bool]  # the part's new body, what was removed, warning


def _never(name: str) -> bool:
    return False


@dataclass(frozen=True)
class _PartRole:
    """A kind of part the cleaner knows, and how it cleans one (name, body) -> _Cleaned.

    A part has the role when it is declared with one of ``content_types``, its name
    satisfies ``named``, or a package relationship whose type ends with ``relationship``
    targets it.
    """

    clean: Callable[[str, bytes], _Cleaned]
    content_types: frozenset[str] = frozenset()
    named: Callable[[str], bool] = _never
    relationship: str = ""
    typed: Callable[[str], bool] = _never  # tests the part's content type (or its Default's)

    def holds(self, name: str, package: _Package) -> bool:
        """Whether the part ``name`` of ``package`` has this role."""
        return (
            package.content_types.get(name, "") in self.content_types
            or self.named(name)
            or self.typed(package.content_type(name))
            or (
                bool(self.relationship)
                and any(
                    rel_type.endswith(self.relationship) and target == name
                    for rel_type, target in package.relationships
                )
            )
        )


def _blank_properties(name: str, body: bytes) -> _Cleaned:
    """A property part becomes its empty root element."""
    root = SafeET.fromstring(body)
    codes = ["office-author"] if len(root) or root.attrib else []
    return _empty_xml(str(root.tag)), codes, False


def _blank_thumbnail(name: str, body: bytes) -> _Cleaned:
    """A JPEG or PNG preview of the document becomes a blank pixel."""
    if not body.startswith((b"\xff\xd8", _PNG_SIGNATURE)):
        return body, [], True  # WMF/EMF previews cannot be regenerated here
    fmt = "JPEG" if body.startswith(b"\xff\xd8") else "PNG"
    tiny = _tiny_image(fmt)
    return tiny, ["thumbnail"] if body != tiny else [], False


def _clean_other(name: str, body: bytes) -> _Cleaned:
    """Pictures lose their metadata; anything else (embedded documents, other picture
    formats, binaries of unknown purpose) is copied as is, with a warning."""
    guess = filetype.guess(body)
    kind = _SNIFFED[guess.extension][0] if guess and guess.extension in _SNIFFED else ""
    if kind in _STRIPPERS:
        try:
            cleaned, codes = _STRIPPERS[kind](body)
        except EvidenceRejected:
            return body, [], True
        return cleaned, codes, False
    return body, [], True


_REL_NS = "{http://schemas.openxmlformats.org/package/2006/relationships}"
_REL_ATTRS = ("Id", "Type", "Target", "TargetMode")
# What an external relationship points to afterwards: an absolute URI that leads nowhere.
_NOWHERE = "about:blank"
# A target that is not a part name, whatever its TargetMode says: a URI scheme (file:, http:,
# C: too) or a UNC path.
_OUTSIDE = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:|\\\\|//")


def _clean_relationships(name: str, body: bytes) -> _Cleaned:
    """Every relationship part (not only the package's): targets outside the package (an
    attached template's path, hyperlinks, linked workbooks, SharePoint addresses) are blanked.

    The part is rewritten from what was understood; anything else in it (other elements or
    attributes) is dropped with a warning. A part with nothing to blank is kept as it was.
    """
    root = SafeET.fromstring(body)
    unsure = root.tag != f"{_REL_NS}Relationships" or bool(root.attrib) or bool(
        (root.text or "").strip())
    entries, external = [], False
    for rel in root:
        if rel.tag != f"{_REL_NS}Relationship":
            unsure = True
            continue
        attrs = {key: str(rel.attrib[key]) for key in _REL_ATTRS if key in rel.attrib}
        unsure = unsure or len(attrs) != len(rel.attrib) or len(rel) > 0 or bool(
            (rel.text or "").strip() or (rel.tail or "").strip())
        target = attrs.get("Target", "")
        if target != _NOWHERE and (attrs.get("TargetMode") == "External"
                                   or _OUTSIDE.match(target)):
            attrs["Target"], external = _NOWHERE, True
        entries.append(attrs)
    if not external and not unsure:
        return body, [], False
    rows = "".join(
        "<Relationship" + "".join(f" {k}={quoteattr(v)}" for k, v in attrs.items()) + "/>"
        for attrs in entries
    )
    declaration = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    rebuilt = f'{declaration}<Relationships xmlns="{_REL_NS[1:-1]}">{rows}</Relationships>'
    return rebuilt.encode(), ["external-link"] if external else [], unsure


def _blank_signature(name: str, body: bytes) -> _Cleaned:
    """A digital signature (its certificate names the signer; the cleaning breaks it anyway)
    becomes its empty root element."""
    root = SafeET.fromstring(body)
    return _empty_xml(str(root.tag)), ["signature"] if len(root) or root.attrib else [], False


def _blank_custom_xml(name: str, body: bytes) -> _Cleaned:
    """A custom XML data part (SharePoint's document properties: owners, editors, libraries;
    bibliography sources...) becomes its empty root element."""
    root = SafeET.fromstring(body)
    codes = ["custom-xml"] if len(root) or root.attrib or (root.text or "").strip() else []
    return _empty_xml(str(root.tag)), codes, False


# A Windows DEVMODE (Excel's and Word's printer settings): the printer's name in its first 64
# bytes, the size of its public part and of the driver's private data after it.
_DEVMODE_NAME, _DEVMODE_SIZES, _DEVMODE_MIN = 64, 68, 72


def _blank_printer(name: str, body: bytes) -> _Cleaned:
    """Printer settings lose the printer's name (often a server and a person's name) and
    the driver's private data; the paper size and orientation stay."""
    if len(body) < _DEVMODE_MIN:
        return body, [], True
    size = struct.unpack_from("<H", body, _DEVMODE_SIZES)[0]
    if not _DEVMODE_MIN <= size <= len(body):
        return body, [], True
    cleaned = bytearray(body[:size])
    cleaned[:_DEVMODE_NAME] = bytes(_DEVMODE_NAME)
    struct.pack_into("<H", cleaned, _DEVMODE_SIZES + 2, 0)
    return bytes(cleaned), ["printer"] if bytes(cleaned) != body else [], False


def _keep(name: str, body: bytes) -> _Cleaned:
    return body, [], False


# Content types of parts whose content the cleaner knows: the standard's own parts (document,
# sheets, slides, styles, comments, drawings, charts...) and Microsoft's common additions.
_OOXML_STANDARD = ("application/vnd.openxmlformats-officedocument.",
                   "application/vnd.openxmlformats-package.")
_OOXML_MS_KNOWN = frozenset(
    f"application/vnd.ms-{name}+xml".lower()
    for name in (
        "excel.person", "excel.threadedcomments", "excel.slicer", "excel.slicercache",
        "excel.timeline", "excel.timelinecache", "word.stylesWithEffects",
        "office.chartstyle", "office.chartcolorstyle", "office.drawingml.diagramDrawing",
        "powerpoint.comments", "powerpoint.authors",
    )
)


def _known_xml_type(content_type: str) -> bool:
    """Whether a part of this content type is XML whose identifying values are known."""
    return content_type in _OOXML_MS_KNOWN or (
        content_type.startswith(_OOXML_STANDARD)
        and (content_type.endswith("+xml") or content_type.endswith(".vmldrawing"))
    )


def _blank_unknown_xml(name: str, body: bytes) -> _Cleaned:
    """An XML part of a kind the cleaner does not know: known names are blanked, and the
    warning says the rest may still identify someone."""
    cleaned, codes, _unsure = _blank_people(body)
    return cleaned, codes, True


# The roles of parts, first match first. A part that needs more cleaning (another identifying
# part, element or relationship) is one more entry here, above the roles it would otherwise have.
_OOXML_PARTS = (
    # Document properties (author, company, manager, custom fields) and Word's people list.
    _PartRole(_blank_properties, _OOXML_PROPS_TYPES, named=_OOXML_PROPS_PATHS.__contains__),
    # The preview picture saved with the document.
    _PartRole(
        _blank_thumbnail,
        named=lambda name: name.lower().startswith("docprops/thumbnail."),
        relationship="/metadata/thumbnail",
    ),
    # The list of parts and their types (its own format, nothing identifying in it).
    _PartRole(_keep, named="[Content_Types].xml".__eq__),
    # Relationships, in every folder: the targets outside the package.
    _PartRole(_clean_relationships, named=lambda name: name.lower().endswith(".rels")),
    # Digital signatures: the signer's certificate.
    _PartRole(_blank_signature, typed=lambda ct: ct.endswith("digital-signature-xmlsignature+xml")),
    # Custom XML data (SharePoint's owners and editors, bibliography...).
    _PartRole(_blank_custom_xml, named=lambda name: (
        name.lower().startswith("customxml/") and name.lower().endswith(".xml"))),
    # Printer settings (Excel, Word): the printer's name.
    _PartRole(_blank_printer, typed=lambda ct: ct.endswith(".printersettings")),
    # The standard's XML parts: the people and paths named in them (comment and revision
    # authors, the folder a workbook was saved in, a data connection's source).
    _PartRole(lambda name, body: _blank_people(body), typed=_known_xml_type),
    # Embedded fonts.
    _PartRole(_keep, typed=lambda ct: "font" in ct),
    # Any other XML part: the same, with a warning (it may hold something else).
    _PartRole(_blank_unknown_xml, named=lambda name: name.lower().endswith((".xml", ".vml"))),
)
_OOXML_OTHER = _PartRole(_clean_other)  # every other part: pictures, embeddings, binaries


def _part_role(name: str, package: _Package) -> _PartRole:
    """The first role in :data:`_OOXML_PARTS` the part has, else :data:`_OOXML_OTHER`."""
    return next((role for role in _OOXML_PARTS if role.holds(name, package)), _OOXML_OTHER)


def _rewrite_zip(
    src: _Archive, members: list[zipfile.ZipInfo], package: _Package
) -> tuple[bytes, tuple[str, ...], bool]:
    """Copy every member, cleaning it by its role; also say whether anything is left.

    Fresh ZipInfo entries also drop member timestamps, extra fields and the zip comment.
    """
    removed: list[str] = []
    warning = False
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in members:
            role = _part_role(info.filename, package)
            body, codes, unsure = role.clean(info.filename, src.read(info))
            removed += codes
            warning = warning or unsure
            dst.writestr(zipfile.ZipInfo(info.filename, _ZIP_EPOCH), body, zipfile.ZIP_DEFLATED)
    return out.getvalue(), tuple(dict.fromkeys(removed)), warning


@functools.cache
def _tiny_image(pil_format: str) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (1, 1), "white").save(buf, pil_format)
    return buf.getvalue()


_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_X = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_XTC = "{http://schemas.microsoft.com/office/spreadsheetml/2018/threadedcomments}"
_P = "{http://schemas.openxmlformats.org/presentationml/2006/main}"
_P188 = "{http://schemas.microsoft.com/office/powerpoint/2018/8/main}"
_X15AC = "{http://schemas.microsoft.com/office/spreadsheetml/2010/11/ac}"
# (element, or "" for any, attribute) whose value names a person: comment and revision
# authors (Word), persons and revision users (Excel), comment authors (PowerPoint).
_PEOPLE_ATTRS = frozenset(
    [("", f"{_W}author"), ("", f"{_W}initials"), (f"{_XTC}person", "displayName")]
    + [(f"{_XTC}person", "userId"), (f"{_X}header", "userName"), (f"{_X}userInfo", "name")]
    + [(f"{_X}fileSharing", "userName"), (f"{_P}cmAuthor", "name"), (f"{_P}cmAuthor", "initials")]
    + [(f"{_P188}author", attr) for attr in ("name", "initials", "userId")]
)
# The same for values naming a place on someone's computer or network (#21, item 2): the
# folder a workbook was saved in (C:\Users\<name>\...), the sources of data connections and
# of a mail merge.
_PATH_ATTRS = frozenset(
    [(f"{_X}connection", "sourceFile"), (f"{_X}connection", "odcFile")]
    + [(f"{_X}dbPr", "connection"), (f"{_X}webPr", "url"), (f"{_X}textPr", "sourceFile")]
    + [(f"{_W}connectString", f"{_W}val"), (f"{_W}query", f"{_W}val")]
)
# What blanking each value removes, as a code for the reporter's report.
_BLANKED_ATTRS: dict[tuple[str, str], str] = (
    dict.fromkeys(_PEOPLE_ATTRS, "office-author")
    | {(f"{_X15AC}absPath", "url"): "file-path"}
    | dict.fromkeys(_PATH_ATTRS, "external-link")
)
_PEOPLE_TEXT = frozenset({f"{_X}author"})  # Excel notes: <authors><author>name</author>
_PEOPLE_NS = {key[1:].partition("}")[0] for pair in _BLANKED_ATTRS for key in pair
              if key[:1] == "{"}
_XML_NAME = rb"""[^\s=/<>!?"']+"""
_XML_VALUE = rb"""(?:"[^"]*"|'[^']*')"""
_XML_ATTR = re.compile(rb"(\s+)(" + _XML_NAME + rb")(\s*=\s*)(" + _XML_VALUE + rb")")
_XML_START = re.compile(
    rb"<" + _XML_NAME + rb"((?:\s+" + _XML_NAME + rb"\s*=\s*" + _XML_VALUE + rb")*)\s*(/?)>"
)


def _blank_people(body: bytes) -> tuple[bytes, list[str], bool]:
    """Blank the values naming people or their files (:data:`_BLANKED_ATTRS`), editing the
    bytes so nothing else changes.

    Expat (with defusedxml's defences) finds the start tags holding such values, with the
    prefixes they are written with; only those attribute values (and the text of Excel's
    comment authors) are then emptied in place. A tag the edit cannot match is left as
    is, with a warning.
    """
    utf16 = body.startswith((b"\xff\xfe", b"\xfe\xff"))  # parsed, but cannot be edited
    if not utf16 and not any(ns.encode() in body for ns in _PEOPLE_NS):
        return body, [], False
    edits: list[tuple[int, dict[bytes, str], bool]] = []  # start tag, attributes, blank text
    open_text: list[int] = []  # start of the element whose text is a name, while open
    text_ends: dict[int, int] = {}
    expat = SafeET.DefusedXMLParser().parser
    expat.namespace_prefixes = True  # names come as "uri}local}prefix"

    names_seen: dict[str, tuple[str, bytes]] = {}

    def resolve(name: str) -> tuple[str, bytes]:
        """Expat's "uri}local}prefix" as ElementTree's "{uri}local" and the written name."""
        if name not in names_seen:
            uri, local, prefix = name.split("}") + [""] * (2 - name.count("}"))
            names_seen[name] = (
                (f"{{{uri}}}{local}", (f"{prefix}:{local}" if prefix else local).encode())
                if local
                else (uri, uri.encode())  # no namespace: the name is all there is
            )
        return names_seen[name]

    def start(name: str, attrs: list[str]) -> None:
        element = resolve(name)[0]
        text = element in _PEOPLE_TEXT
        written = {}
        for i in range(0, len(attrs), 2):
            key, qname = resolve(attrs[i])
            code = _BLANKED_ATTRS.get(("", key)) or _BLANKED_ATTRS.get((element, key))
            if attrs[i + 1] and code:
                written[qname] = code
        if text:
            open_text.append(expat.CurrentByteIndex)
        if written or text:
            edits.append((expat.CurrentByteIndex, written, text))

    def end(name: str) -> None:
        if open_text and resolve(name)[0] in _PEOPLE_TEXT:
            text_ends[open_text.pop()] = expat.CurrentByteIndex

    expat.StartElementHandler, expat.EndElementHandler = start, end
    expat.Parse(body, True)
    out: list[bytes] = []
    pos, found = 0, list[str]()
    for at, names, text in edits:
        if at < pos:  # inside a name already blanked
            continue
        tag = _XML_START.match(body, at)
        if tag is None:
            return body, [], True  # e.g. a UTF-16 part

        def attribute(attr: re.Match[bytes], names: dict[bytes, str] = names) -> bytes:
            return attr[1] + attr[2] + attr[3] + attr[4][:1] * 2 if attr[2] in names else attr[0]

        out += [body[pos:at], body[at : tag.start(1)], _XML_ATTR.sub(attribute, tag[1])]
        pos = tag.end(1)
        found += names.values()
        content = body[tag.end() : text_ends.get(at, 0)]
        if text and content and not content.startswith(b"tc={"):  # not a threaded comment
            out.append(body[pos : tag.end()])
            pos = text_ends[at]
            found.append("office-author")
    return b"".join([*out, body[pos:]]), list(dict.fromkeys(found)), False


def _empty_xml(tag: str) -> bytes:
    """An XML document holding only an empty element of the given ``{namespace}name``."""
    namespace, _, local = tag[1:].partition("}") if tag.startswith("{") else ("", "", tag)
    xmlns = f" xmlns={quoteattr(namespace)}" if namespace else ""
    declaration = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    return f"{declaration}<{local}{xmlns}/>".encode()


_OLE_STREAMS = (
    ("WordDocument", "doc", "application/msword"),
    ("Workbook", "xls", "application/vnd.ms-excel"),
    ("Book", "xls", "application/vnd.ms-excel"),
    ("PowerPoint Document", "ppt", "application/vnd.ms-powerpoint"),
)


def _ole(data: bytes) -> CleanFile:
    """Accept a legacy Word/Excel/PowerPoint file as is (its metadata stays: warning)."""
    with _parse_guard(), olefile.OleFileIO(io.BytesIO(data)) as ole:
        if ole.exists("Macros") or ole.exists("_VBA_PROJECT_CUR"):
            raise EvidenceRejected("macro")
        for stream, kind, mime in _OLE_STREAMS:
            if ole.exists(stream):
                return CleanFile(kind, mime, kind, data, (), warning=True)
    raise EvidenceRejected("not-allowed")


# --- audio and video -------------------------------------------------------------------

_WAV_KEEP = frozenset({b"fmt ", b"fact", b"data"})


def _audio(data: bytes, ext: str) -> tuple[bytes, list[str], bool]:
    """Remove tags with mutagen (WAV: keep only its audio chunks); AMR has no parser."""
    if ext == "amr":
        return data, [], True
    removed: list[str] = []
    if ext == "wav":
        chunks, trailing = _riff_walk(data, b"WAVE")
        kept = [(fourcc, payload) for fourcc, payload in chunks if fourcc in _WAV_KEEP]
        if not {b"fmt ", b"data"} <= {fourcc for fourcc, _ in kept}:
            raise EvidenceRejected("corrupt")
        if len(kept) < len(chunks) or trailing:
            removed.append("audio-tags")
        data = _riff_build(b"WAVE", kept)
    buf = io.BytesIO(data)
    with _parse_guard():
        audio = mutagen.File(buf)
        if audio is None:
            raise EvidenceRejected("corrupt")
    try:
        if isinstance(audio, mutagen.flac.FLAC) and audio.pictures:
            audio.clear_pictures()
            removed.append("audio-tags")
        if audio.tags:
            removed.append("audio-tags")
        buf.seek(0)
        audio.delete(buf)
        if ext == "mp3":
            buf.seek(0)
            mutagen.apev2.delete(buf)
    except Exception:  # the format parsed but its tags could not be removed: keep it as is
        return data, [], True
    return buf.getvalue(), removed, False


def _video(data: bytes, ext: str) -> bytes:
    """Keep video as is (warning); MP4-family files must at least carry a parsable moov."""
    if ext in ("mp4", "mov", "3gp"):
        with _parse_guard():
            mutagen.mp4.MP4(io.BytesIO(data))
    return data


# --- text ------------------------------------------------------------------------------

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f]")
_MARKUP_OR_SCRIPT = re.compile(r"[\s\ufeff\u200b-\u200d\u2060]*(?:<|#!)")


def _text(data: bytes) -> CleanFile:
    """Accept UTF-8 or GB18030 plain text, re-encoded as UTF-8; refuse markup and scripts."""
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise EvidenceRejected("unknown-type")
    if _CONTROL.search(text):
        raise EvidenceRejected("unknown-type")
    if _MARKUP_OR_SCRIPT.match(text):
        raise EvidenceRejected("not-allowed")
    return CleanFile("text", "text/plain; charset=utf-8", "txt", text.encode(), (), False)
