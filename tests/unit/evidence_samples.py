"""Builders of real evidence files carrying identifying metadata, for test_evidence."""

from __future__ import annotations

import functools
import io
import random
import re
import struct
import zipfile
import zlib

import pikepdf
from mutagen.id3 import ID3, TIT2, TPE1
from mutagen.mp4 import MP4
from PIL import Image, ImageCms
from PIL.PngImagePlugin import PngInfo

NAME = "张三"
COMPANY = "某某县财政局"
GPS_LATITUDE = (39, 1, 54, 1, 271234, 10000)  # 39°54'27.1234" as three EXIF rationals
GPS_LONGITUDE = (116, 1, 23, 1, 298765, 10000)
GPS_RATIONALS = struct.pack("<6I", *GPS_LATITUDE)  # as stored in the little-endian EXIF
XMP_LATITUDE = "39,54.4520N"
COMMENT = b"taken by zhangsan at the county office"
MP4_LOCATION = "+39.9075+116.3972/"
XMP = (
    '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>'
    '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF'
    ' xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
    '<rdf:Description xmlns:exif="http://ns.adobe.com/exif/1.0/"'
    ' xmlns:dc="http://purl.org/dc/elements/1.1/"'
    f' exif:GPSLatitude="{XMP_LATITUDE}" exif:GPSLongitude="116,23.4979E">'
    f"<dc:creator><rdf:Seq><rdf:li>{NAME}</rdf:li></rdf:Seq></dc:creator>"
    '</rdf:Description></rdf:RDF></x:xmpmeta><?xpacket end="w"?>'
).encode()


def noise_image(mode: str = "RGB", size: tuple[int, int] = (64, 48)) -> Image.Image:
    """A deterministic picture with detail in every pixel."""
    channels = len(mode)
    return Image.frombytes(mode, size, random.Random(7).randbytes(size[0] * size[1] * channels))


def thumbnail_jpeg() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (8, 8), (250, 10, 120)).save(buf, "JPEG", quality=90)
    return buf.getvalue()


def _ifd(entries: list[tuple[int, int, int, bytes]], offset: int, next_ifd: int) -> bytes:
    """One little-endian TIFF IFD at ``offset``; values over 4 bytes follow the IFD."""
    table, extra = struct.pack("<H", len(entries)), b""
    data_offset = offset + 2 + 12 * len(entries) + 4
    for tag, field_type, count, value in entries:
        if len(value) <= 4:
            field = value.ljust(4, b"\x00")
        else:
            field = struct.pack("<I", data_offset + len(extra))
            extra += value + b"\x00" * (len(value) & 1)
        table += struct.pack("<HHI", tag, field_type, count) + field
    return table + struct.pack("<I", next_ifd) + extra


def exif_with_gps_and_thumbnail(thumbnail: bytes) -> bytes:
    """TIFF-structured EXIF (no "Exif" prefix): IFD0 → GPS IFD, IFD1 → JPEG thumbnail."""

    def ifd0(gps: int, ifd1: int) -> bytes:
        make = b"SpyCam\x00"
        return _ifd([(0x010F, 2, len(make), make), (0x8825, 4, 1, struct.pack("<I", gps))], 8, ifd1)

    def gps_ifd(offset: int) -> bytes:
        return _ifd(
            [
                (1, 2, 2, b"N\x00"),
                (2, 5, 3, GPS_RATIONALS),
                (3, 2, 2, b"E\x00"),
                (4, 5, 3, struct.pack("<6I", *GPS_LONGITUDE)),
            ],
            offset,
            0,
        )

    def ifd1(offset: int, thumb_at: int) -> bytes:
        return _ifd(
            [
                (0x0201, 4, 1, struct.pack("<I", thumb_at)),
                (0x0202, 4, 1, struct.pack("<I", len(thumbnail))),
            ],
            offset,
            0,
        )

    gps_at = 8 + len(ifd0(0, 0))
    ifd1_at = gps_at + len(gps_ifd(gps_at))
    thumb_at = ifd1_at + len(ifd1(ifd1_at, 0))
    return (
        b"II*\x00\x08\x00\x00\x00"
        + ifd0(gps_at, ifd1_at)
        + gps_ifd(gps_at)
        + ifd1(ifd1_at, thumb_at)
        + thumbnail
    )


def _segment(marker: int, payload: bytes) -> bytes:
    return bytes([0xFF, marker]) + struct.pack(">H", len(payload) + 2) + payload


def iptc_app13() -> bytes:
    record = b"\x1c\x02\x50" + struct.pack(">H", len(NAME.encode())) + NAME.encode()
    resource = b"8BIM\x04\x04\x00\x00" + struct.pack(">I", len(record)) + record
    return _segment(0xED, b"Photoshop 3.0\x00" + resource + b"\x00" * (len(record) & 1))


def jpeg_with_metadata(*, progressive: bool = False) -> bytes:
    """A JPEG with ICC profile plus EXIF(GPS, thumbnail), XMP, extended XMP, IPTC, COM."""
    buf = io.BytesIO()
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    noise_image().save(buf, "JPEG", quality=95, icc_profile=icc, progressive=progressive)
    plain = buf.getvalue()
    app0_end = 4 + struct.unpack(">H", plain[4:6])[0]
    metadata = (
        _segment(0xE1, b"Exif\x00\x00" + exif_with_gps_and_thumbnail(thumbnail_jpeg()))
        + _segment(0xE1, b"http://ns.adobe.com/xap/1.0/\x00" + XMP)
        + _segment(0xE1, b"http://ns.adobe.com/xmp/extension/\x00" + b"0" * 32 + XMP)
        + iptc_app13()
        + _segment(0xFE, COMMENT)
    )
    return plain[:app0_end] + metadata + plain[app0_end:]


def insert_before_second_scan(jpeg: bytes, segment: bytes) -> bytes:
    second_sos = jpeg.index(b"\xff\xda", jpeg.index(b"\xff\xda") + 2)
    return jpeg[:second_sos] + segment + jpeg[second_sos:]


def comment_segment(text: bytes) -> bytes:
    return _segment(0xFE, text)


def png_with_metadata() -> bytes:
    info = PngInfo()
    info.add_text("Author", "zhangsan")  # Latin-1, so Pillow writes a tEXt chunk
    info.add_itxt("Title", NAME)
    info.add_text("Comment", COMMENT.decode(), zip=True)
    info.add_itxt("XML:com.adobe.xmp", XMP.decode())
    info.add(b"tIME", struct.pack(">HBBBBB", 2024, 5, 1, 12, 30, 0))
    exif = b"Exif\x00\x00" + exif_with_gps_and_thumbnail(thumbnail_jpeg())
    buf = io.BytesIO()
    noise_image("RGBA").save(buf, "PNG", pnginfo=info, exif=exif)
    return buf.getvalue()


def png_chunk(chunk_type: bytes, payload: bytes) -> bytes:
    crc = zlib.crc32(chunk_type + payload)
    return struct.pack(">I", len(payload)) + chunk_type + payload + struct.pack(">I", crc)


def png_header_only(width: int, height: int) -> bytes:
    """A tiny PNG whose IHDR claims ``width`` × ``height`` pixels (a decompression bomb)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 64)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", ihdr)
        + png_chunk(b"IDAT", idat)
        + png_chunk(b"IEND", b"")
    )


def webp_with_metadata() -> bytes:
    buf = io.BytesIO()
    exif = b"Exif\x00\x00" + exif_with_gps_and_thumbnail(thumbnail_jpeg())
    noise_image().save(buf, "WEBP", lossless=True, exif=exif, xmp=XMP)
    return buf.getvalue()


def pdf_with_author() -> bytes:
    """A one-page PDF with the author in Info and in XMP, written uncompressed."""
    pdf = pikepdf.new()
    pdf.add_blank_page()
    pdf.docinfo[pikepdf.Name.Author] = NAME
    pdf.docinfo[pikepdf.Name.Creator] = "WPS Office on ZHANGSAN-PC"
    with pdf.open_metadata(set_pikepdf_as_editor=False) as meta:
        meta["dc:creator"] = [NAME]
    pdf.pages[0].obj[pikepdf.Name.PieceInfo] = pikepdf.Dictionary(
        Illustrator=pikepdf.Dictionary(Private=pikepdf.String(NAME))
    )
    buf = io.BytesIO()
    pdf.save(buf, compress_streams=False, object_stream_mode=pikepdf.ObjectStreamMode.disable)
    return buf.getvalue()


def pdf_with_incremental_update() -> bytes:
    """The author sits only in an old revision: the newest /Info has just a title."""
    base = pdf_with_author()
    prev = int(re.findall(rb"startxref\s+(\d+)", base)[-1])
    with pikepdf.open(io.BytesIO(base)) as pdf:
        size, root = int(pdf.trailer.Size), pdf.Root.objgen[0]
    body = f"{size} 0 obj\n<< /Title (Report) >>\nendobj\n".encode()
    xref_at = len(base) + len(body)
    tail = (
        f"xref\n0 1\n0000000000 65535 f \n{size} 1\n{len(base):010d} 00000 n \n"
        f"trailer\n<< /Size {size + 1} /Root {root} 0 R /Info {size} 0 R /Prev {prev} >>\n"
        f"startxref\n{xref_at}\n%%EOF\n"
    )
    return base + body + tail.encode()


def pdf_with_annotations_and_photo() -> bytes:
    """A page showing a JPEG with EXIF GPS, a comment by NAME (with popup) and a form field."""
    pdf = pikepdf.new()
    pdf.add_blank_page()
    page = pdf.pages[0]
    photo = pdf.make_stream(
        jpeg_with_metadata(),
        Type=pikepdf.Name.XObject,
        Subtype=pikepdf.Name.Image,
        Width=64,
        Height=48,
        ColorSpace=pikepdf.Name.DeviceRGB,
        BitsPerComponent=8,
        Filter=pikepdf.Name.DCTDecode,
    )
    page.obj[pikepdf.Name.Resources] = pikepdf.Dictionary(XObject=pikepdf.Dictionary(Im0=photo))
    page.obj[pikepdf.Name.Contents] = pdf.make_stream(b"q 64 0 0 48 10 10 cm /Im0 Do Q")
    rect = pikepdf.Array([10, 10, 30, 30])
    note = pdf.make_indirect(
        pikepdf.Dictionary(
            Type=pikepdf.Name.Annot,
            Subtype=pikepdf.Name.Text,
            Rect=rect,
            T=pikepdf.String(NAME),
            Contents=pikepdf.String("请核实"),
        )
    )
    popup = pdf.make_indirect(
        pikepdf.Dictionary(Type=pikepdf.Name.Annot, Subtype=pikepdf.Name.Popup, Rect=rect)
    )
    popup[pikepdf.Name.Parent] = note
    note[pikepdf.Name.Popup] = popup
    field = pdf.make_indirect(
        pikepdf.Dictionary(
            Type=pikepdf.Name.Annot,
            Subtype=pikepdf.Name.Widget,
            FT=pikepdf.Name.Tx,
            Rect=rect,
            T=pikepdf.String("amount"),
        )
    )
    page.obj[pikepdf.Name.Annots] = pikepdf.Array([note, popup, field])
    pdf.Root[pikepdf.Name.AcroForm] = pikepdf.Dictionary(Fields=pikepdf.Array([field]))
    buf = io.BytesIO()
    pdf.save(buf)
    return buf.getvalue()


def pdf_encrypted(user_password: str) -> bytes:
    pdf = pikepdf.new()
    pdf.add_blank_page()
    pdf.docinfo[pikepdf.Name.Author] = NAME
    buf = io.BytesIO()
    pdf.save(buf, encryption=pikepdf.Encryption(user=user_password, owner="owner-secret"))
    return buf.getvalue()


WORD_MAIN = "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"
EXCEL_MAIN = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"
POWERPOINT_MAIN = (
    "application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml"
)
WORD_MACRO_MAIN = "application/vnd.ms-word.document.macroEnabled.main+xml"
DOCUMENT_XML = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
    "<w:body><w:p><w:r><w:t>2024年5月1日，某局长收受红包。</w:t></w:r></w:p></w:body></w:document>"
).encode()
_PROPS = {
    "docProps/core.xml": (
        "application/vnd.openxmlformats-package.core-properties+xml",
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/'
        'core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/"'
        ' xmlns:dcterms="http://purl.org/dc/terms/"'
        ' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        f"<dc:creator>{NAME}</dc:creator><cp:lastModifiedBy>lisi</cp:lastModifiedBy>"
        '<dcterms:created xsi:type="dcterms:W3CDTF">2024-05-01T08:00:00Z</dcterms:created>'
        "</cp:coreProperties>",
    ),
    "docProps/app.xml": (
        "application/vnd.openxmlformats-officedocument.extended-properties+xml",
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/'
        'extended-properties" xmlns:vt="http://schemas.openxmlformats.org/officeDocument/'
        '2006/docPropsVTypes"><Application>Microsoft Office Word</Application>'
        f"<Company>{COMPANY}</Company><Manager>wangwu</Manager></Properties>",
    ),
    "docProps/custom.xml": (
        "application/vnd.openxmlformats-officedocument.custom-properties+xml",
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/'
        'custom-properties" xmlns:vt="http://schemas.openxmlformats.org/officeDocument/'
        '2006/docPropsVTypes"><property fmtid="{D5CDD505-2E9C-101B-9397-08002B2CF9AE}"'
        f' pid="2" name="Owner"><vt:lpwstr>{NAME}</vt:lpwstr></property></Properties>',
    ),
    "word/people.xml": (
        "application/vnd.openxmlformats-officedocument.wordprocessingml.people+xml",
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<w15:people xmlns:w15="http://schemas.microsoft.com/office/word/2012/wordml">'
        f'<w15:person w15:author="{NAME}"><w15:presenceInfo w15:providerId="AD"'
        ' w15:userId="S::zhangsan@example.gov.cn::1234"/></w15:person></w15:people>',
    ),
}


def ooxml(
    main_type: str | None = WORD_MAIN,
    main_part: str = "word/document.xml",
    *,
    extra: dict[str, bytes] | None = None,
    parts: dict[str, tuple[str, bytes]] | None = None,
    document: bytes = DOCUMENT_XML,
    thumbnail: tuple[str, bytes] | None = None,
    with_main_member: bool = True,
) -> bytes:
    """A minimal OOXML package with author-bearing property parts.

    ``parts`` adds declared parts (content type, body), ``extra`` undeclared members and
    ``thumbnail`` (extension, body) a package-level preview picture.
    """
    overrides = [(main_part, main_type)] if main_type else []
    overrides += [(part, content_type) for part, (content_type, _) in _PROPS.items()]
    overrides += [(part, content_type) for part, (content_type, _) in (parts or {}).items()]
    members = {part: body for part, (_, body) in (parts or {}).items()} | (extra or {})
    thumb_type, thumb_rel = "", ""
    if thumbnail:
        ext, picture = thumbnail
        members[f"docProps/thumbnail.{ext}"] = picture
        thumb_type = f'<Default Extension="{ext}" ContentType="image/{ext}"/>'
        thumb_rel = (
            '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/package/2006/'
            f'relationships/metadata/thumbnail" Target="docProps/thumbnail.{ext}"/>'
        )
    types = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
        'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
        + thumb_type
        + "".join(f'<Override PartName="/{p}" ContentType="{ct}"/>' for p, ct in overrides)
        + "</Types>"
    )
    rels = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
        f'relationships/officeDocument" Target="{main_part}"/>{thumb_rel}</Relationships>'
    )
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", types)
        zf.writestr("_rels/.rels", rels)
        if with_main_member:
            zf.writestr(main_part, document)
        for part, (_, xml) in _PROPS.items():
            zf.writestr(part, xml)
        for name, body in members.items():
            zf.writestr(name, body)
        zf.comment = f"saved by {NAME}".encode()
    return buf.getvalue()


W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
REVIEWED_DOCUMENT_XML = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    f'<w:document xmlns:w="{W_NS}"><w:body><w:p><w:commentRangeStart w:id="0"/>'
    '<w:r><w:t>2024年5月1日，某局长收受红包。</w:t></w:r><w:commentRangeEnd w:id="0"/>'
    '<w:r><w:commentReference w:id="0"/></w:r>'
    f'<w:ins w:id="1" w:author="{NAME}" w:date="2024-05-02T09:00:00Z">'
    "<w:r><w:t>地点：县财政局。</w:t></w:r></w:ins></w:p></w:body></w:document>"
).encode()
_OFFICE_CT = "application/vnd.openxmlformats-officedocument"


def docx_under_review() -> bytes:
    """A .docx with a comment and tracked changes by NAME, pictures carrying EXIF GPS."""
    comments = (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<w:comments xmlns:w="{W_NS}">'
        f'<w:comment w:id="0" w:author="{NAME}" w:date="2024-05-02T09:00:00Z" w:initials="ZS">'
        "<w:p><w:r><w:t>请核实</w:t></w:r></w:p></w:comment></w:comments>"
    )
    footnotes = (  # another prefix and single quotes, as some producers write
        f"<?xml version='1.0'?><x:footnotes xmlns:x='{W_NS}'><x:footnote x:id='1'><x:p>"
        f"<x:del x:id='2' x:author='{NAME}' x:initials = 'ZS'><x:r><x:delText>旧</x:delText>"
        "</x:r></x:del></x:p></x:footnote></x:footnotes>"
    )
    return ooxml(
        document=REVIEWED_DOCUMENT_XML,
        parts={
            "word/comments.xml": (f"{_OFFICE_CT}.wordprocessingml.comments+xml", comments.encode()),
            "word/footnotes.xml": (
                f"{_OFFICE_CT}.wordprocessingml.footnotes+xml",
                footnotes.encode(),
            ),
        },
        extra={"word/media/image1.jpeg": jpeg_with_metadata()},
        thumbnail=("jpeg", jpeg_with_metadata()),
    )


def xlsx_with_comment_authors() -> bytes:
    """Legacy comment authors and a threaded-comment person, both NAME."""
    main = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    threaded = "http://schemas.microsoft.com/office/spreadsheetml/2018/threadedcomments"
    comments = (
        f'<comments xmlns="{main}"><authors><author >{NAME}</author ><author>tc={{1A}}</author>'
        '</authors><commentList><comment ref="A1" authorId="0"><text><r><t>核实</t></r>'
        "</text></comment></commentList></comments>"
    )
    persons = (
        f'<personList xmlns="{threaded}"><person displayName="{NAME}" id="{{1A}}"'
        ' userId="zhangsan@example.gov.cn" providerId="AD"/></personList>'
    )
    return ooxml(
        EXCEL_MAIN,
        "xl/workbook.xml",
        parts={
            "xl/comments1.xml": (f"{_OFFICE_CT}.spreadsheetml.comments+xml", comments.encode()),
            "xl/persons/person.xml": ("application/vnd.ms-excel.person+xml", persons.encode()),
        },
    )


def pptx_with_comment_authors() -> bytes:
    main = "http://schemas.openxmlformats.org/presentationml/2006/main"
    authors = (
        f'<p:cmAuthorLst xmlns:p="{main}"><p:cmAuthor id="1" name="{NAME}" initials="ZS"'
        ' lastIdx="1" clrIdx="0"/></p:cmAuthorLst>'
    )
    return ooxml(
        POWERPOINT_MAIN,
        "ppt/presentation.xml",
        parts={
            "ppt/commentAuthors.xml": (
                f"{_OFFICE_CT}.presentationml.commentAuthors+xml",
                authors.encode(),
            )
        },
    )


def plain_zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("report.txt", "hello")
        zf.writestr("word/document.xml", DOCUMENT_XML)
    return buf.getvalue()


def ole(entries: dict[str, bytes | None]) -> bytes:
    """A version-3 compound file; a value of None makes an empty storage, bytes a stream.

    Streams are padded to 4096 bytes so they live in normal sectors (no mini stream).
    """
    end_of_chain, free, no_stream = 0xFFFFFFFE, 0xFFFFFFFF, 0xFFFFFFFF
    names = list(entries)
    fat = [0xFFFFFFFD, end_of_chain]  # sector 0 holds the FAT, sector 1 the directory
    streams, starts = b"", {}
    for name in names:
        body = entries[name]
        if body is None:
            continue
        body = body.ljust(4096, b"\x00")
        sectors = -(-len(body) // 512)
        first = len(fat)
        fat += [first + i + 1 for i in range(sectors - 1)] + [end_of_chain]
        starts[name] = (first, len(body))
        streams += body.ljust(sectors * 512, b"\x00")

    def entry(name: str, kind: int, child: int, right: int, start: int, size: int) -> bytes:
        encoded = (name + "\x00").encode("utf-16-le")
        return (
            encoded.ljust(64, b"\x00")
            + struct.pack("<HBBIII", len(encoded), kind, 1, no_stream, right, child)
            + b"\x00" * 36
            + struct.pack("<IQ", start, size)
        )

    directory = entry("Root Entry", 5, 1 if names else no_stream, no_stream, end_of_chain, 0)
    for index, name in enumerate(names, start=1):
        right = index + 1 if index < len(names) else no_stream
        start, size = starts.get(name, (0, 0))
        directory += entry(name, 2 if name in starts else 1, no_stream, right, start, size)
    directory = directory.ljust(-(-len(directory) // 512) * 512, b"\x00")
    assert len(directory) == 512, "this builder supports at most three entries"
    header = (
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
        + b"\x00" * 16
        + struct.pack("<HHHHH", 0x3E, 3, 0xFFFE, 9, 6)
        + b"\x00" * 6
        + struct.pack("<IIIIIIIII", 0, 1, 1, 0, 4096, end_of_chain, 0, end_of_chain, 0)
        + struct.pack("<I", 0)
        + struct.pack("<I", free) * 108
    )
    fat_sector = b"".join(struct.pack("<I", v) for v in fat).ljust(512, b"\xff")
    return header + fat_sector + directory + streams


MPEG_FRAME = b"\xff\xfb\x90\x64" + bytes(413)  # MPEG-1 layer III, 128 kbit/s, 44.1 kHz


def mp3_with_tags() -> tuple[bytes, bytes]:
    """An MP3 with ID3v2 (artist, title) and ID3v1 tags; also returns the bare audio."""
    audio = MPEG_FRAME * 30
    buf = io.BytesIO(audio)
    tags = ID3()
    tags.add(TPE1(encoding=3, text=NAME))
    tags.add(TIT2(encoding=3, text="recorded in the director's office"))
    tags.save(buf)
    id3v1 = b"TAG" + b"zhangsan-title".ljust(30, b"\x00") + b"zhangsan".ljust(95, b"\x00")
    return buf.getvalue() + id3v1, audio


def flac_with_tags() -> bytes:
    """FLAC metadata blocks (STREAMINFO, VORBIS_COMMENT, PICTURE) then frame bytes."""
    info = struct.pack(">HH", 4096, 4096) + b"\x00" * 6
    info += ((44100 << 44) | (0 << 41) | (15 << 36) | 44100).to_bytes(8, "big") + bytes(16)
    vendor, comment = b"reference libFLAC 1.4.3", f"ARTIST={NAME}".encode()
    vorbis = struct.pack("<I", len(vendor)) + vendor + struct.pack("<II", 1, len(comment))
    vorbis += comment
    picture = struct.pack(">II", 3, 10) + b"image/jpeg" + struct.pack(">I", 0)
    jpeg = thumbnail_jpeg()
    picture += struct.pack(">IIIII", 8, 8, 24, 0, len(jpeg)) + jpeg

    def block(code: int, payload: bytes, last: bool = False) -> bytes:
        return bytes([code | (0x80 if last else 0)]) + len(payload).to_bytes(3, "big") + payload

    frames = b"\xff\xf8\x69\x08\x00\x0f\xff\x00" + bytes(200)
    return b"fLaC" + block(0, info) + block(4, vorbis) + block(6, picture, True) + frames


def wav_with_tags() -> tuple[bytes, bytes]:
    """A PCM WAV with LIST/INFO artist and an id3 chunk; also returns the samples."""
    samples = bytes(range(256)) * 8
    fmt = struct.pack("<HHIIHH", 1, 1, 8000, 16000, 2, 16)
    artist = NAME.encode() + b"\x00"
    info = b"INFO" + b"IART" + struct.pack("<I", len(artist)) + artist + b"\x00" * (len(artist) & 1)

    def chunk(fourcc: bytes, payload: bytes) -> bytes:
        return fourcc + struct.pack("<I", len(payload)) + payload + b"\x00" * (len(payload) & 1)

    body = b"WAVE" + chunk(b"fmt ", fmt) + chunk(b"LIST", info) + chunk(b"data", samples)
    body += chunk(b"id3 ", b"ID3\x03\x00\x00\x00\x00\x00\x00")
    return b"RIFF" + struct.pack("<I", len(body)) + body, samples


def mp4_box(box_type: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", 8 + len(payload)) + box_type + payload


def mp4_video(*, with_moov: bool = True) -> bytes:
    ftyp = mp4_box(b"ftyp", b"isom\x00\x00\x02\x00isomiso2mp41")
    mvhd = mp4_box(b"mvhd", b"\x00" * 4 + struct.pack(">IIII", 0, 0, 1000, 5000) + bytes(80))
    moov = mp4_box(b"moov", mvhd) if with_moov else b""
    return ftyp + moov + mp4_box(b"mdat", bytes(256))


def m4a_with_tags() -> bytes:
    """An M4A (ISO BMFF, brand M4A) whose ilst carries an artist and a location."""
    ftyp = mp4_box(b"ftyp", b"M4A \x00\x00\x02\x00M4A mp42isom")
    mvhd = mp4_box(b"mvhd", b"\x00" * 4 + struct.pack(">IIII", 0, 0, 1000, 5000) + bytes(80))
    buf = io.BytesIO(ftyp + mp4_box(b"moov", mvhd) + mp4_box(b"mdat", bytes(256)))
    audio = MP4(buf)
    audio.add_tags()
    assert audio.tags is not None
    audio.tags["\xa9ART"] = [NAME]
    audio.tags["\xa9xyz"] = [MP4_LOCATION]
    buf.seek(0)
    audio.save(buf)
    return buf.getvalue()


# --- what an office package or a PDF names besides its authors (#21, item 2) ----------------

USER = "zhangsan"  # the account name in Windows paths, SharePoint sites, URLs
SHAREPOINT_OWNER = "王小明"
_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
_R_TYPE = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"


def rels(*relationships: tuple[str, str, str, bool]) -> bytes:
    """A relationship part of (id, type suffix, target, external) entries."""
    body = "".join(
        f'<Relationship Id="{rid}" Type="{_R_TYPE}/{kind}" Target="{target}"'
        + (' TargetMode="External"' if external else "")
        + "/>"
        for rid, kind, target, external in relationships
    )
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        f'<Relationships xmlns="{_REL_NS}">{body}</Relationships>'
    ).encode()


def docx_with_template_links_and_sharepoint_data() -> bytes:
    """A .docx made from a template in the author's profile, linking to a file on their disk
    and to their SharePoint site, carrying SharePoint's customXml (the owner's name)."""
    settings = (
        f'<w:settings xmlns:w="{W_NS}" xmlns:r="{_R_TYPE}"><w:attachedTemplate r:id="rId1"/>'
        "</w:settings>"
    )
    item = (
        '<p:properties xmlns:p="http://schemas.microsoft.com/office/2006/metadata/properties">'
        "<documentManagement><Owner><UserInfo><DisplayName>"
        f"{SHAREPOINT_OWNER}</DisplayName><AccountId>i:0#.f|membership|{USER}@example.gov.cn"
        "</AccountId></UserInfo></Owner></documentManagement></p:properties>"
    )
    item_props = (
        '<ds:datastoreItem ds:itemID="{6A1B0C6E-0000-4000-8000-000000000001}" '
        'xmlns:ds="http://schemas.openxmlformats.org/officeDocument/2006/customXml">'
        "<ds:schemaRefs/></ds:datastoreItem>"
    )
    return ooxml(
        parts={
            "word/settings.xml": (f"{_OFFICE_CT}.wordprocessingml.settings+xml", settings.encode()),
            "customXml/itemProps1.xml": (f"{_OFFICE_CT}.customXmlProperties+xml",
                                         item_props.encode()),
        },
        extra={  # customXml items are declared only by the package's Default for .xml
            "customXml/item1.xml": item.encode(),
            "customXml/_rels/item1.xml.rels": rels(("rId1", "customXmlProps", "itemProps1.xml",
                                                    False)),
            "word/_rels/settings.xml.rels": rels(
                ("rId1", "attachedTemplate",
                 f"file:///C:\\Users\\{USER}\\AppData\\Roaming\\Microsoft\\Templates\\纪委.dotm",
                 True)),
            "word/_rels/document.xml.rels": rels(
                ("rId1", "settings", "settings.xml", False),
                ("rId2", "hyperlink", f"file:///C:/Users/{USER}/Desktop/%E8%B4%A6.xlsx", True),
                ("rId3", "hyperlink",
                 f"https://example-my.sharepoint.com/personal/{USER}_example_gov_cn/x.docx",
                 True),
                ("rId4", "customXml", "../customXml/item1.xml", False)),
        },
    )


def devmode(printer: str, driver_data: bytes) -> bytes:
    """A Windows DEVMODEW as Excel saves it in printerSettings1.bin: the printer's name,
    the public fields (220 bytes in all), then the driver's private data."""
    public = bytearray(220)
    public[:64] = printer.encode("utf-16-le").ljust(64, b"\x00")
    struct.pack_into("<HHHH", public, 64, 0x0401, 0x0600, 220, len(driver_data))
    public[102:110] = "A4".encode("utf-16-le").ljust(8, b"\x00")
    return bytes(public) + driver_data


def xlsx_with_paths_and_links() -> bytes:
    """A workbook naming the folder it was saved in, linking to another workbook on the
    author's disk, with a hyperlink, a data connection and printer settings naming them."""
    main = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    workbook = (
        f'<workbook xmlns="{main}" xmlns:r="{_R_TYPE}" '
        'xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006" '
        'xmlns:x15ac="http://schemas.microsoft.com/office/spreadsheetml/2010/11/ac" '
        'mc:Ignorable="x15ac"><mc:AlternateContent><mc:Choice Requires="x15">'
        f'<x15ac:absPath url="C:\\Users\\{USER}\\Desktop\\举报材料\\"/></mc:Choice>'
        '</mc:AlternateContent><sheets><sheet name="账目" sheetId="1" r:id="rId1"/></sheets>'
        '<externalReferences><externalReference r:id="rId2"/></externalReferences></workbook>'
    )
    external = (
        f'<externalLink xmlns="{main}" xmlns:r="{_R_TYPE}"><externalBook r:id="rId1">'
        '<sheetNames><sheetName val="Sheet1"/></sheetNames></externalBook></externalLink>'
    )
    connections = (
        f'<connections xmlns="{main}"><connection id="1" name="q" type="1" '
        f'sourceFile="C:\\Users\\{USER}\\Documents\\q.odc"><dbPr connection="Provider='
        f'Microsoft.ACE.OLEDB.12.0;Data Source=C:\\Users\\{USER}\\Documents\\账.accdb" '
        'command="t"/></connection></connections>'
    )
    sheet = f'<worksheet xmlns="{main}"><sheetData/></worksheet>'
    return ooxml(
        EXCEL_MAIN,
        "xl/workbook.xml",
        document=workbook.encode(),
        parts={
            "xl/worksheets/sheet1.xml": (f"{_OFFICE_CT}.spreadsheetml.worksheet+xml",
                                         sheet.encode()),
            "xl/externalLinks/externalLink1.xml": (
                f"{_OFFICE_CT}.spreadsheetml.externalLink+xml", external.encode()),
            "xl/connections.xml": (f"{_OFFICE_CT}.spreadsheetml.connections+xml",
                                   connections.encode()),
            "xl/printerSettings/printerSettings1.bin": (
                f"{_OFFICE_CT}.spreadsheetml.printerSettings",
                devmode(f"\\\\PRINTSRV\\{USER}-HP", f"owner={USER}".encode("utf-16-le"))),
        },
        extra={
            "xl/_rels/workbook.xml.rels": rels(
                ("rId1", "worksheet", "worksheets/sheet1.xml", False),
                ("rId2", "externalLink", "externalLinks/externalLink1.xml", False)),
            "xl/externalLinks/_rels/externalLink1.xml.rels": rels(
                ("rId1", "externalLinkPath", f"file:///C:\\Users\\{USER}\\Documents\\账本.xlsx",
                 True)),
            "xl/worksheets/_rels/sheet1.xml.rels": rels(
                ("rId1", "hyperlink", f"https://intranet.example.gov.cn/~{USER}/x", True),
                ("rId2", "printerSettings", "../printerSettings/printerSettings1.bin", False)),
        },
    )


def pdf_with_actions() -> bytes:
    """A PDF that runs scripts, opens links, launches a file, submits a form, imports data,
    names the author's files and carries an attachment: each names USER."""
    pdf = pikepdf.new()
    pdf.add_blank_page()
    page = pdf.pages[0]
    n, d, a = pikepdf.Name, pikepdf.Dictionary, pikepdf.Array

    def link(action: pikepdf.Dictionary) -> pikepdf.Dictionary:
        return pdf.make_indirect(d(Type=n.Annot, Subtype=n.Link, Rect=a([0, 0, 9, 9]), A=action))

    script = pdf.make_stream(f"app.launchURL('https://t.example/{USER}');".encode())
    pdf.Root.OpenAction = d(S=n.JavaScript, JS=pikepdf.String(f"var u='{USER}';"))
    pdf.Root.AA = d(WC=d(S=n.SubmitForm, F=d(FS=n.URL, F=f"https://t.example/{USER}")))
    pdf.Root.URI = d(Base=f"https://base.example/{USER}/")
    pdf.Root.Names = d(JavaScript=d(Names=a(["init", d(S=n.JavaScript, JS=script)])))
    page.obj.AA = d(O=d(S=n.Launch, F=f"C:\\Users\\{USER}\\run.exe", Win=d(F="cmd.exe")))
    field = pdf.make_indirect(d(
        Type=n.Annot, Subtype=n.Widget, FT=n.Tx, Rect=a([0, 0, 9, 9]), T="amount",
        AA=d(K=d(S=n.JavaScript, JS=f"AFNumber_Keystroke('{USER}');"))))
    goto = link(d(S=n.GoTo, D=a([page.obj, n.Fit])))
    page.obj.Annots = a([
        link(d(S=n.URI, URI=f"https://example.gov.cn/?u={USER}")),
        link(d(S=n.GoToR, F=f"C:\\Users\\{USER}\\other.pdf", D=a([0, n.Fit]))),
        link(d(S=n.ImportData, F=f"{USER}.fdf")),
        link(d(S=n.GoTo, D=a([page.obj, n.Fit]),
               Next=d(S=n.JavaScript, JS=f"this.submitForm('{USER}')"))),
        goto, field,
    ])
    pdf.Root.AcroForm = d(Fields=a([field]))
    pdf.attachments[f"{USER}-notes.txt"] = pikepdf.AttachedFileSpec(
        pdf, f"written by {USER}".encode(), description=f"from {USER}'s desktop")
    buf = io.BytesIO()
    pdf.save(buf)
    return buf.getvalue()


# --- bombs (#21, item 9) ----------------------------------------------------------------------


@functools.cache
def deflated_zeros(mebibytes: int) -> bytes:
    """``mebibytes`` MiB of zeros as a raw deflate stream (about 1/1000 of that), made one
    MiB at a time so the test never holds the expanded bytes."""
    squeeze, block = zlib.compressobj(9, zlib.DEFLATED, -15), bytes(1 << 20)
    return b"".join([*(squeeze.compress(block) for _ in range(mebibytes)), squeeze.flush()])


def raw_zip(members: list[tuple[str, bytes, int, int]]) -> bytes:
    """A zip of (name, raw deflate stream, declared size, CRC-32) members written by hand, so
    the sizes in its headers say whatever the caller wants."""
    out, central = bytearray(), bytearray()
    for name, body, size, crc in members:
        fields = struct.pack("<HHHHHIII", 20, 0, 8, 0, 0x21, crc, len(body), size)
        central += b"PK\x01\x02" + struct.pack("<H", 20) + fields + struct.pack(
            "<HHHHHII", len(name.encode()), 0, 0, 0, 0, 0, len(out)) + name.encode()
        out += b"PK\x03\x04" + fields + struct.pack("<HH", len(name.encode()), 0)
        out += name.encode() + body
    end = struct.pack("<HHHHIIH", 0, 0, len(members), len(members), len(central), len(out), 0)
    return bytes(out + central + b"PK\x05\x06" + end)


def docx_bomb(mebibytes: int, *, declared: int | None = None) -> bytes:
    """A Word document whose body is ``mebibytes`` MiB of zeros; ``declared`` is the size
    its headers claim (the truth when None)."""
    def deflated(data: bytes) -> bytes:
        squeeze = zlib.compressobj(9, zlib.DEFLATED, -15)
        return squeeze.compress(data) + squeeze.flush()

    package = {name: body for name, body in _members_of(ooxml()).items()
               if name != "word/document.xml"}
    members = [(name, deflated(body), len(body), zlib.crc32(body))
               for name, body in package.items()]
    size = mebibytes << 20
    crc = zlib.crc32(bytes(min(size, declared or size)))  # right for what a reader would see
    members.append(("word/document.xml", deflated_zeros(mebibytes),
                    size if declared is None else declared, crc))
    return raw_zip(members)


def _members_of(package: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(package)) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


def raw_pdf(objects: list[bytes]) -> bytes:
    """A PDF of these object bodies (1 0 obj is the catalog) with a correct xref table."""
    out, offsets = bytearray(b"%PDF-1.7\n"), []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1, xref)
    return bytes(out)


def pdf_bomb(mebibytes: int) -> bytes:
    """A one-page PDF whose content stream, deflated twice, expands to ``mebibytes`` MiB."""
    once = _zlib_wrap(deflated_zeros(mebibytes), mebibytes)  # FlateDecode is zlib-wrapped
    twice = zlib.compress(once, 9)
    stream = b"<< /Length %d /Filter [/FlateDecode /FlateDecode] >>\nstream\n%s\nendstream" % (
        len(twice), twice)
    return raw_pdf([
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 10 10] /Contents 4 0 R >>",
        stream,
    ])


def _zlib_wrap(raw_deflate: bytes, mebibytes: int) -> bytes:
    """A raw deflate stream of ``mebibytes`` MiB of zeros inside zlib's header and checksum."""
    adler, block = 1, bytes(1 << 20)
    for _ in range(mebibytes):
        adler = zlib.adler32(block, adler)
    return b"\x78\xda" + raw_deflate + struct.pack(">I", adler)


def _zlib_stream(prefix: bytes, zeros_mib: int) -> bytes:
    """``prefix`` and ``zeros_mib`` MiB of zeros as one zlib stream, made a MiB at a time."""
    squeeze, block = zlib.compressobj(9), bytes(1 << 20)
    parts = [squeeze.compress(prefix), *(squeeze.compress(block) for _ in range(zeros_mib))]
    return b"".join([*parts, squeeze.flush()])


def pdf_structure_bomb(where: str, mebibytes: int) -> bytes:
    """A one-page PDF with a cross-reference stream; ``where`` ("xref" or "objstm") is the
    stream padded with ``mebibytes`` MiB of zeros, which qpdf inflates whole on opening the
    file or on reading the catalog (kept in the object stream)."""
    catalog = b"<< /Type /Catalog /Pages 2 0 R >>"
    objstm_data = _zlib_stream(b"1 0 " + catalog + b" ", mebibytes if where == "objstm" else 0)
    out, offsets = bytearray(b"%PDF-1.7\n"), {}
    for number, body in (
        (2, b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>"),
        (3, b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 10 10] >>"),
        (5, b"<< /Type /ObjStm /N 1 /First 4 /Filter /FlateDecode /Length %d >>\nstream\n%s"
            b"\nendstream" % (len(objstm_data), objstm_data)),
    ):
        offsets[number] = len(out)
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    offsets[4] = len(out)
    rows = [struct.pack(">BIH", 0, 0, 0xFFFF), struct.pack(">BIH", 2, 5, 0)]
    rows += [struct.pack(">BIH", 1, offsets[n], 0) for n in (2, 3, 4, 5)]
    table = b"".join(rows)
    xref_data = (_zlib_stream(table, mebibytes) if where == "xref"
                 else zlib.compress(table, 9))
    out += (b"4 0 obj\n<< /Type /XRef /Size 6 /W [1 4 2] /Root 1 0 R /Filter /FlateDecode"
            b" /Length %d >>\nstream\n%s\nendstream\nendobj\n" % (len(xref_data), xref_data))
    out += b"startxref\n%d\n%%%%EOF\n" % offsets[4]
    return bytes(out)
