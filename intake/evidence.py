"""Evidence files: decide the type by content, validate it, and strip metadata losslessly.

The client's file name and Content-Type are never trusted: the type comes from the bytes,
is confirmed by parsing them with the matching library, and identifying metadata (EXIF,
GPS, XMP, IPTC, comments, document authors, audio tags) is removed without re-encoding
the content. Everything happens in memory; nothing is written to disk.
"""

from __future__ import annotations

import contextlib
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
_ZIP_MAX_MEMBERS = 5_000
_ZIP_EXPANSION = 10  # total uncompressed size allowed, as a multiple of max_bytes
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


class EvidenceRejected(Exception):
    """The file is refused; ``code`` says why (e.g. "not-allowed", "corrupt")."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def clean(data: bytes, *, max_bytes: int, max_pixels: int = 50_000_000) -> CleanFile:
    """Identify ``data`` by content, validate it and return it without metadata.

    Raises :class:`EvidenceRejected` when the file is empty, too large, of a type we do
    not accept, or does not parse as the type its content claims.
    """
    if not data:
        raise EvidenceRejected("empty")
    if len(data) > max_bytes:
        raise EvidenceRejected("too-large")
    if data.startswith(_OLE_MAGIC):
        return _ole(data)
    if data.startswith(_ZIP_MAGIC):
        return _ooxml(data, max_bytes)
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
        return payload, []  # the colour profile (its wrapper names nothing)
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


# The name every iCCP chunk gets (Pillow's own): the original is free text, such as a
# calibrated display's owner. PNG needs a name of 1-79 Latin-1 bytes.
_ICC_NAME = b"ICC Profile"


def _png_iccp(payload: bytes) -> tuple[list[bytes], list[str]]:
    """The iCCP chunk to keep under the neutral name (its profile is needed for the colours),
    and what was removed; a chunk without a valid name or compression method is dropped."""
    name, nul, rest = payload.partition(b"\x00")
    if not nul or not 1 <= len(name) <= 79 or rest[:1] != b"\x00" or len(rest) < 2:
        return [], ["app-data"]
    body = b"iCCP" + _ICC_NAME + b"\x00" + rest
    chunk = struct.pack(">I", len(body) - 4) + body + struct.pack(">I", zlib.crc32(body))
    return [chunk], ([] if name == _ICC_NAME else ["icc-name"])


def _strip_png(data: bytes) -> tuple[bytes, list[str]]:
    """Copy the chunks needed for rendering; drop text, EXIF, time and private chunks."""
    if not data.startswith(_PNG_SIGNATURE):
        raise EvidenceRejected("corrupt")
    out, removed, pos = [_PNG_SIGNATURE], [], len(_PNG_SIGNATURE)
    while True:
        if pos + 12 > len(data):
            raise EvidenceRejected("corrupt")
        length, chunk_type = struct.unpack_from(">I4s", data, pos)
        end = pos + 12 + length
        if end > len(data):
            raise EvidenceRejected("corrupt")
        payload = data[pos + 8 : end - 4]
        if chunk_type == b"iCCP":
            chunk, codes = _png_iccp(payload)
            out.extend(chunk)
            removed.extend(codes)
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


def _pdf(data: bytes) -> tuple[bytes, list[str], bool]:
    """Drop Info, every /Metadata and /PieceInfo, annotation authors and the metadata of
    JPEG images; a full rewrite drops old revisions. Attached files keep theirs (warning).
    """
    removed: list[str] = []
    warning = False
    out = io.BytesIO()
    with _parse_guard():
        try:
            pdf = pikepdf.open(io.BytesIO(data))
        except pikepdf.PasswordError as exc:
            raise EvidenceRejected("encrypted-pdf") from exc
        with pdf:
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
                if isinstance(obj, pikepdf.Stream):
                    codes, unsure = _pdf_stream(obj, subtype)
                    removed += codes
                    warning = warning or unsure
            pdf.save(out, encryption=False)
    return out.getvalue(), removed, warning


def _pdf_stream(obj: pikepdf.Stream, subtype: object) -> tuple[list[str], bool]:
    """Strip a JPEG image's metadata segments; say if an attached file keeps its own."""
    if obj.get(pikepdf.Name.Type) == pikepdf.Name.EmbeddedFile:
        return [], True
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


def _ooxml(data: bytes, max_bytes: int) -> CleanFile:
    """Accept a Word/Excel/PowerPoint package and clean each part by its role (see
    :data:`_OOXML_PARTS`); refuse other zips and documents with macros."""
    with _parse_guard(), zipfile.ZipFile(io.BytesIO(data)) as src:
        members = _ooxml_members(src, max_bytes)
        names = frozenset(info.filename for info in members)
        content_types, declared = _content_types(src)
        _refuse_macros(declared, names)
        kind, mime = _main_part(content_types, names)
        package = _Package(content_types, _package_relationships(src))
        cleaned, removed, warning = _rewrite_zip(src, members, package)
    return CleanFile(kind, mime, kind, cleaned, removed, warning)


def _ooxml_members(src: zipfile.ZipFile, max_bytes: int) -> list[zipfile.ZipInfo]:
    """The package's files, refused when there are too many, they inflate too far, a name
    repeats, or the two parts every package has are missing."""
    members = [info for info in src.infolist() if not info.is_dir()]
    if (
        len(members) > _ZIP_MAX_MEMBERS
        or sum(info.file_size for info in members) > _ZIP_EXPANSION * max_bytes
    ):
        raise EvidenceRejected("too-large")
    names = {info.filename for info in members}
    if len(names) != len(members):
        raise EvidenceRejected("corrupt")
    if "[Content_Types].xml" not in names or "_rels/.rels" not in names:
        raise EvidenceRejected("not-allowed")
    return members


def _content_types(src: zipfile.ZipFile) -> tuple[dict[str, str], list[str]]:
    """The content type each part is declared with by an Override, and every content type
    declared (Defaults included, lower case)."""
    types = SafeET.fromstring(_read_member(src, src.getinfo("[Content_Types].xml")))
    overrides = {
        str(el.get("PartName", "")).lstrip("/"): str(el.get("ContentType", ""))
        for el in types.iter(f"{_CT_NS}Override")
    }
    return overrides, [str(el.get("ContentType", "")).lower() for el in types]


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


def _package_relationships(src: zipfile.ZipFile) -> tuple[tuple[str, str], ...]:
    """The package's own relationships (``_rels/.rels``) as (type, target part) pairs."""
    rels = SafeET.fromstring(_read_member(src, src.getinfo("_rels/.rels")))
    return tuple((str(el.get("Type", "")), str(el.get("Target", "")).lstrip("/")) for el in rels)


def _read_member(src: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    """A member's bytes, inflating no more than its declared size. ZipFile.read() inflates the
    whole stream before cutting it to that size, so a member that lies about its size (4 KiB
    declared, 1 GiB of zeros inside: a 1 MiB upload) would take gigabytes of memory; read this
    way, the lie costs nothing and fails the member's CRC check (corrupt)."""
    with src.open(info) as stream:
        return stream.read(info.file_size)


@dataclass(frozen=True)
class _Package:
    """What a package says of its parts: the content type each is declared with (by an
    Override) and the package's relationships, as (type, target part) pairs."""

    content_types: dict[str, str]
    relationships: tuple[tuple[str, str], ...]


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

    def holds(self, name: str, package: _Package) -> bool:
        """Whether the part ``name`` of ``package`` has this role."""
        return (
            package.content_types.get(name, "") in self.content_types
            or self.named(name)
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
    """Pictures lose their metadata; embedded documents keep theirs (warning); anything
    else is copied as is."""
    guess = filetype.guess(body)
    kind = _SNIFFED[guess.extension][0] if guess and guess.extension in _SNIFFED else ""
    if kind in _STRIPPERS:
        try:
            cleaned, codes = _STRIPPERS[kind](body)
        except EvidenceRejected:
            return body, [], True
        return cleaned, codes, False
    return body, [], "/embeddings/" in f"/{name.lower()}"


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
    # Any other XML part: the people named in it (comment and revision authors).
    _PartRole(
        lambda name, body: _blank_people(body), named=lambda name: name.lower().endswith(".xml")
    ),
)
_OOXML_OTHER = _PartRole(_clean_other)  # every other part: pictures, embeddings, binaries


def _part_role(name: str, package: _Package) -> _PartRole:
    """The first role in :data:`_OOXML_PARTS` the part has, else :data:`_OOXML_OTHER`."""
    return next((role for role in _OOXML_PARTS if role.holds(name, package)), _OOXML_OTHER)


def _rewrite_zip(
    src: zipfile.ZipFile, members: list[zipfile.ZipInfo], package: _Package
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
            body, codes, unsure = role.clean(info.filename, _read_member(src, info))
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
# (element, or "" for any, attribute) whose value names a person: comment and revision
# authors (Word), persons and revision users (Excel), comment authors (PowerPoint).
_PEOPLE_ATTRS = frozenset(
    [("", f"{_W}author"), ("", f"{_W}initials"), (f"{_XTC}person", "displayName")]
    + [(f"{_XTC}person", "userId"), (f"{_X}header", "userName"), (f"{_X}userInfo", "name")]
    + [(f"{_X}fileSharing", "userName"), (f"{_P}cmAuthor", "name"), (f"{_P}cmAuthor", "initials")]
    + [(f"{_P188}author", attr) for attr in ("name", "initials", "userId")]
)
_PEOPLE_TEXT = frozenset({f"{_X}author"})  # Excel notes: <authors><author>name</author>
_PEOPLE_NS = {key[1:].partition("}")[0] for pair in _PEOPLE_ATTRS for key in pair if key[:1] == "{"}
_XML_NAME = rb"""[^\s=/<>!?"']+"""
_XML_VALUE = rb"""(?:"[^"]*"|'[^']*')"""
_XML_ATTR = re.compile(rb"(\s+)(" + _XML_NAME + rb")(\s*=\s*)(" + _XML_VALUE + rb")")
_XML_START = re.compile(
    rb"<" + _XML_NAME + rb"((?:\s+" + _XML_NAME + rb"\s*=\s*" + _XML_VALUE + rb")*)\s*(/?)>"
)


def _blank_people(body: bytes) -> tuple[bytes, list[str], bool]:
    """Blank the values naming people, editing the bytes so nothing else changes.

    Expat (with defusedxml's defences) finds the start tags holding such values, with the
    prefixes they are written with; only those attribute values (and the text of Excel's
    comment authors) are then emptied in place. A tag the edit cannot match is left as
    is, with a warning.
    """
    utf16 = body.startswith((b"\xff\xfe", b"\xfe\xff"))  # parsed, but cannot be edited
    if not utf16 and not any(ns.encode() in body for ns in _PEOPLE_NS):
        return body, [], False
    edits: list[tuple[int, set[bytes], bool]] = []  # start tag, attributes, blank text
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
        written = set()
        for i in range(0, len(attrs), 2):
            key, qname = resolve(attrs[i])
            if attrs[i + 1] and (("", key) in _PEOPLE_ATTRS or (element, key) in _PEOPLE_ATTRS):
                written.add(qname)
        if text:
            open_text.append(expat.CurrentByteIndex)
        if written or text:
            edits.append((expat.CurrentByteIndex, written, text))

    def end(name: str) -> None:
        if open_text and resolve(name)[0] in _PEOPLE_TEXT:
            text_ends[open_text.pop()] = expat.CurrentByteIndex

    expat.StartElementHandler, expat.EndElementHandler = start, end
    expat.Parse(body, True)
    out, pos, found = [], 0, False
    for at, names, text in edits:
        if at < pos:  # inside a name already blanked
            continue
        tag = _XML_START.match(body, at)
        if tag is None:
            return body, [], True  # e.g. a UTF-16 part

        def attribute(attr: re.Match[bytes], names: set[bytes] = names) -> bytes:
            return attr[1] + attr[2] + attr[3] + attr[4][:1] * 2 if attr[2] in names else attr[0]

        out += [body[pos:at], body[at : tag.start(1)], _XML_ATTR.sub(attribute, tag[1])]
        pos = tag.end(1)
        found = found or bool(names)
        content = body[tag.end() : text_ends.get(at, 0)]
        if text and content and not content.startswith(b"tc={"):  # not a threaded comment
            out.append(body[pos : tag.end()])
            pos, found = text_ends[at], True
    return b"".join([*out, body[pos:]]), ["office-author"] if found else [], False


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
