"""intake.evidence: type by content, validation, and lossless metadata removal."""

from __future__ import annotations

import io
import random
import re
import resource
import struct
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path

import mutagen
import mutagen.flac
import mutagen.mp4
import mutagen.wave
import pikepdf
import pytest
from defusedxml import ElementTree as SafeET
from PIL import Image

from intake import evidence
from intake.evidence import CleanFile, EvidenceRejected, clean
from tests.unit import evidence_samples as s

MAX = 5_000_000
NAME = s.NAME.encode()


def _clean(data: bytes, **kwargs: int) -> CleanFile:
    return clean(data, max_bytes=kwargs.pop("max_bytes", MAX), **kwargs)


def _refused(data: bytes, **kwargs: int) -> str:
    with pytest.raises(EvidenceRejected) as caught:
        _clean(data, **kwargs)
    return caught.value.code


def _pixels(data: bytes) -> tuple[str, tuple[int, int], bytes]:
    with Image.open(io.BytesIO(data)) as im:
        return im.mode, im.size, im.tobytes()


def _absent(needles: list[bytes], haystack: bytes) -> None:
    for needle in needles:
        assert needle not in haystack, needle


# --- JPEG ------------------------------------------------------------------------------


def test_jpeg_loses_exif_gps_thumbnail_xmp_iptc_comment_but_keeps_pixels_and_icc() -> None:
    source = s.jpeg_with_metadata()
    thumbnail = s.thumbnail_jpeg()
    needles = [s.GPS_RATIONALS, thumbnail, s.XMP_LATITUDE.encode(), NAME, s.COMMENT]
    assert all(needle in source for needle in needles)  # the sample really carries them

    result = _clean(source)

    assert (result.kind, result.mime, result.extension) == ("jpeg", "image/jpeg", "jpg")
    assert set(result.removed) >= {"exif", "gps", "thumbnail", "xmp", "iptc", "comment"}
    assert result.warning is False
    _absent([*needles, b"Exif\x00", b"http://ns.adobe.com/", b"Photoshop 3.0"], result.data)
    assert _pixels(result.data) == _pixels(source)
    with Image.open(io.BytesIO(result.data)) as im, Image.open(io.BytesIO(source)) as orig:
        assert not im.getexif()
        assert not {"exif", "xmp", "comment", "photoshop"} & set(im.info)
        assert im.info["icc_profile"] == _undated(orig.info["icc_profile"])
        assert "jfif" in im.info


def test_progressive_jpeg_comment_between_scans_is_removed() -> None:
    progressive = s.jpeg_with_metadata(progressive=True)
    source = s.insert_before_second_scan(progressive, s.comment_segment(b"between-scans-zhangsan"))

    result = _clean(source)

    assert b"between-scans-zhangsan" not in result.data
    scans = source.count(b"\xff\xda") - s.thumbnail_jpeg().count(b"\xff\xda")
    assert scans > 1
    assert result.data.count(b"\xff\xda") == scans
    assert _pixels(result.data) == _pixels(source)


def test_jpeg_without_metadata_passes_byte_for_byte_including_restart_markers() -> None:
    buf = io.BytesIO()
    s.noise_image().save(buf, "JPEG", restart_marker_blocks=1)
    assert b"\xff\xd0" in buf.getvalue()

    result = _clean(buf.getvalue())

    assert result.data == buf.getvalue()
    assert result.removed == ()


def test_jpeg_trailer_after_eoi_is_dropped() -> None:
    buf = io.BytesIO()
    s.noise_image().save(buf, "JPEG")
    result = _clean(buf.getvalue() + b"PK\x03\x04hidden-archive-of-zhangsan")

    assert result.data == buf.getvalue()
    assert result.removed == ("trailer",)


def test_jfif_thumbnail_is_removed() -> None:
    buf = io.BytesIO()
    s.noise_image().save(buf, "JPEG")
    plain = buf.getvalue()
    thumb = bytes([9, 8, 7]) * 4  # a 2x2 RGB thumbnail inside the JFIF APP0 segment
    app0 = b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x02\x02" + thumb
    app0_end = 4 + struct.unpack(">H", plain[4:6])[0]
    source = plain[:2] + b"\xff\xe0" + struct.pack(">H", len(app0) + 2) + app0 + plain[app0_end:]

    result = _clean(source)

    assert thumb not in result.data
    assert result.removed == ("thumbnail",)
    assert _pixels(result.data) == _pixels(source)


def test_corrupt_and_truncated_jpegs_are_refused() -> None:
    assert _refused(b"\xff\xd8\xff\xe0" + b"garbage that is not a jpeg" * 20) == "corrupt"
    buf = io.BytesIO()
    s.noise_image().save(buf, "JPEG")
    assert _refused(buf.getvalue()[: len(buf.getvalue()) // 2]) == "corrupt"


def test_png_named_jpg_is_sniffed_as_png() -> None:
    result = _clean(s.png_with_metadata())
    assert (result.kind, result.mime, result.extension) == ("png", "image/png", "png")


# --- PNG and WebP ----------------------------------------------------------------------


def test_png_loses_text_xmp_exif_time_but_keeps_pixels() -> None:
    source = s.png_with_metadata()
    needles = [NAME, b"zhangsan", s.XMP_LATITUDE.encode(), s.GPS_RATIONALS, b"tIME", b"tEXt"]
    needles += [b"zTXt", b"iTXt", b"eXIf"]
    assert all(needle in source for needle in needles)

    result = _clean(source)

    _absent(needles, result.data)
    assert set(result.removed) >= {"png-text", "xmp", "exif", "gps", "timestamp"}
    assert _pixels(result.data) == _pixels(source)
    with Image.open(io.BytesIO(result.data)) as im:
        assert not im.getexif()
        assert not {"Author", "Title", "Comment", "XML:com.adobe.xmp", "exif"} & set(im.info)


def _png_with_icc(name: bytes, profile: bytes) -> bytes:
    """A PNG whose iCCP chunk carries `profile` under the profile name `name`."""
    buf = io.BytesIO()
    s.noise_image().save(buf, "PNG")
    plain = buf.getvalue()
    ihdr_end = 8 + 25
    iccp = s.png_chunk(b"iCCP", name + b"\x00\x00" + zlib.compress(profile))
    return plain[:ihdr_end] + iccp + plain[ihdr_end:]


def _srgb_profile() -> bytes:
    from PIL import ImageCms

    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def _undated(profile: bytes) -> bytes:
    """What the cleaner must leave of an ICC profile: its header's creation time, device maker
    and model, creator and profile ID zeroed (ICC.1 §7.2), every other byte as it was."""
    out = bytearray(profile)
    out[24:36], out[48:56], out[80:100] = bytes(12), bytes(8), bytes(20)
    return bytes(out)


# What a phone or a calibration tool stamps into a profile's header.
ICC_TIME = struct.pack(">6H", 2026, 12, 7, 15, 30, 12)
ICC_DEVICE = b"ZSPHZS01"  # manufacturer and model signatures
ICC_CREATOR = b"zhsn"


def _dated_profile() -> bytes:
    profile = bytearray(_srgb_profile())
    profile[24:36], profile[48:56], profile[80:84] = ICC_TIME, ICC_DEVICE, ICC_CREATOR
    return bytes(profile)


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_a_colour_profiles_creation_time_and_device_are_blanked_and_its_colours_kept(
        fmt: str) -> None:
    from PIL import ImageCms

    dated = _dated_profile()
    buf = io.BytesIO()
    s.noise_image().save(buf, fmt, icc_profile=dated, **({"lossless": True} if fmt == "WEBP"
                                                          else {}))
    source = buf.getvalue()
    with Image.open(io.BytesIO(source)) as im:
        assert im.info["icc_profile"] == dated  # the sample really carries them

    result = _clean(source)

    for needle in (ICC_TIME, ICC_DEVICE, ICC_CREATOR):
        _absent([needle], result.data)
    assert "icc-header" in result.removed
    assert result.warning is False
    with Image.open(io.BytesIO(result.data)) as im:
        assert im.info["icc_profile"] == _undated(dated)  # the colour data is all still there
        ImageCms.ImageCmsProfile(io.BytesIO(im.info["icc_profile"]))  # and still a profile
    assert _pixels(result.data) == _pixels(source)


def test_png_icc_profile_name_is_blanked_and_its_colours_kept() -> None:
    # Finding 14 of #21: the iCCP profile name is free text ("Zhang San's display").
    profile = _srgb_profile()
    source = _png_with_icc(b"Zhang San calibrated display", profile)
    with Image.open(io.BytesIO(source)) as im:
        assert im.info["icc_profile"] == profile

    result = _clean(source)

    assert b"Zhang San" not in result.data
    assert "icc-name" in result.removed
    with Image.open(io.BytesIO(result.data)) as im:
        assert im.info["icc_profile"] == _undated(profile)  # the colours stay right
    assert _pixels(result.data) == _pixels(source)


def test_png_with_the_neutral_icc_name_passes_unchanged() -> None:
    buf = io.BytesIO()
    # Pillow names it neutrally; the header has nothing to blank.
    s.noise_image().save(buf, "PNG", icc_profile=_undated(_srgb_profile()))
    result = _clean(buf.getvalue())
    assert result.data == buf.getvalue()
    assert result.removed == ()


def test_only_the_first_colour_profile_of_a_png_is_inflated() -> None:
    # A review found 200 iCCP chunks (each inflated up to 4 MiB and recompressed) cost 12 s.
    profile = _dated_profile()
    chunk = s.png_chunk(b"iCCP", b"ICC Profile\x00\x00" + zlib.compress(profile))
    buf = io.BytesIO()
    s.noise_image().save(buf, "PNG")
    plain = buf.getvalue()
    source = plain[:33] + chunk * 50 + plain[33:]

    result = _clean(source)

    assert result.data.count(b"iCCP") == 1
    assert "app-data" in result.removed
    with Image.open(io.BytesIO(result.data)) as im:
        assert im.info["icc_profile"] == _undated(profile)


@pytest.mark.parametrize("payload", [b"no-terminator-zhangsan" * 4, b"", b"\x00\x00abc"])
def test_png_icc_chunk_without_a_valid_name_is_dropped(payload: bytes) -> None:
    buf = io.BytesIO()
    s.noise_image().save(buf, "PNG")
    plain = buf.getvalue()
    source = plain[:33] + s.png_chunk(b"iCCP", payload) + plain[33:]

    result = _clean(source)

    assert b"iCCP" not in result.data
    assert b"zhangsan" not in result.data
    assert result.removed == ("app-data",)
    assert _pixels(result.data) == _pixels(plain)


def _cmyk_jpeg() -> bytes:
    buf = io.BytesIO()
    s.noise_image().convert("CMYK").save(buf, "JPEG", quality=95)
    return buf.getvalue()


def test_jpeg_adobe_segment_keeps_only_its_colour_fields() -> None:
    # APP14 "Adobe": version, two flag words and the colour transform (needed for CMYK/YCCK);
    # bytes appended to it were kept verbatim.
    plain = _cmyk_jpeg()
    at = plain.index(b"\xff\xee\x00\x0eAdobe")
    standard = plain[at + 4 : at + 16]
    assert standard.startswith(b"Adobe")
    assert len(standard) == 12
    padded = standard + b"hidden-zhangsan-notes"
    source = (plain[:at] + b"\xff\xee" + struct.pack(">H", len(padded) + 2) + padded
              + plain[at + 16 :])

    result = _clean(source)

    assert b"zhangsan" not in result.data
    assert result.data == plain  # exactly the standard segment is kept
    assert "app-data" in result.removed
    assert _pixels(result.data) == _pixels(source)


def test_cmyk_jpeg_with_a_standard_adobe_segment_passes_byte_for_byte() -> None:
    plain = _cmyk_jpeg()
    result = _clean(plain)
    assert result.data == plain
    assert result.removed == ()


@pytest.mark.parametrize(
    "idat", [b"definitely not zlib", zlib.compress(b"\x00" * 10)], ids=["garbage", "short"]
)
def test_png_whose_pixel_data_does_not_decode_is_corrupt(idat: bytes) -> None:
    ihdr = struct.pack(">IIBBBBB", 8, 8, 8, 2, 0, 0, 0)  # 8x8 RGB; CRCs all valid
    png = b"\x89PNG\r\n\x1a\n" + b"".join(
        s.png_chunk(kind, body) for kind, body in [(b"IHDR", ihdr), (b"IDAT", idat), (b"IEND", b"")]
    )
    assert _refused(png) == "corrupt"


@pytest.mark.parametrize("size", [(100_000, 100_000), (10_000, 9_000), (8_000, 7_000)])
def test_png_header_declaring_too_many_pixels_is_refused(size: tuple[int, int]) -> None:
    bomb = s.png_header_only(*size)
    assert len(bomb) < 200
    assert _refused(bomb) == "too-many-pixels"


def test_max_pixels_applies_to_real_images() -> None:
    assert _refused(s.png_with_metadata(), max_pixels=64 * 48 - 1) == "too-many-pixels"
    assert _clean(s.png_with_metadata(), max_pixels=64 * 48).kind == "png"


def test_webp_loses_exif_and_xmp_and_decodes_the_same() -> None:
    source = s.webp_with_metadata()
    assert s.GPS_RATIONALS in source
    assert NAME in source

    result = _clean(source)

    assert (result.kind, result.mime, result.extension) == ("webp", "image/webp", "webp")
    _absent([s.GPS_RATIONALS, NAME, b"EXIF", b"XMP "], result.data)
    assert set(result.removed) >= {"exif", "gps", "xmp"}
    assert struct.unpack("<I", result.data[4:8])[0] == len(result.data) - 8
    vp8x = result.data.index(b"VP8X")
    assert result.data[vp8x + 8] & 0x0C == 0  # EXIF and XMP flags cleared
    assert _pixels(result.data) == _pixels(source)


# --- PDF -------------------------------------------------------------------------------


def _pdf_forms(text: str) -> list[bytes]:
    utf16 = b"\xfe\xff" + text.encode("utf-16-be")
    return [text.encode(), utf16, utf16.hex().encode(), utf16.hex().upper().encode()]


def _expanded(pdf_bytes: bytes) -> bytes:
    """The PDF rewritten with every stream decoded, so content checks see everything."""
    out = io.BytesIO()
    with pikepdf.open(io.BytesIO(pdf_bytes)) as pdf:
        pdf.save(
            out,
            compress_streams=False,
            stream_decode_level=pikepdf.StreamDecodeLevel.generalized,
            object_stream_mode=pikepdf.ObjectStreamMode.disable,
        )
    return out.getvalue()


def test_pdf_loses_info_xmp_and_piece_info() -> None:
    source = s.pdf_with_author()
    assert any(form in source for form in _pdf_forms(s.NAME))

    result = _clean(source)

    assert (result.kind, result.mime, result.extension) == ("pdf", "application/pdf", "pdf")
    assert set(result.removed) == {"pdf-info", "pdf-xmp", "pdf-private"}
    for haystack in (result.data, _expanded(result.data)):
        _absent([*_pdf_forms(s.NAME), b"ZHANGSAN-PC"], haystack)
    with pikepdf.open(io.BytesIO(result.data)) as pdf:
        assert pikepdf.Name.Info not in pdf.trailer
        assert pikepdf.Name.Metadata not in pdf.Root
        assert "dc:creator" not in pdf.open_metadata()
        assert pikepdf.Name.PieceInfo not in pdf.pages[0].obj
        assert len(pdf.pages) == 1


def test_pdf_author_in_an_earlier_revision_is_gone() -> None:
    source = s.pdf_with_incremental_update()
    with pikepdf.open(io.BytesIO(source)) as pdf:
        assert pikepdf.Name.Author not in pdf.docinfo  # invisible to a reader…
    assert any(form in source for form in _pdf_forms(s.NAME))  # …but still in the bytes

    result = _clean(source)

    for haystack in (result.data, _expanded(result.data)):
        _absent(_pdf_forms(s.NAME), haystack)
    assert b"Report" not in result.data


def test_pdf_needing_a_password_is_refused_and_owner_only_encryption_is_removed() -> None:
    assert _refused(s.pdf_encrypted("user-secret")) == "encrypted-pdf"
    result = _clean(s.pdf_encrypted(""))
    with pikepdf.open(io.BytesIO(result.data)) as pdf:
        assert not pdf.is_encrypted
        assert pikepdf.Name.Info not in pdf.trailer


def test_pdf_annotation_authors_and_photo_metadata_are_removed() -> None:
    source = s.pdf_with_annotations_and_photo()
    assert s.GPS_RATIONALS in source
    assert any(form in _expanded(source) for form in _pdf_forms(s.NAME))

    result = _clean(source)

    assert {"annotation-author", "exif", "gps", "xmp", "iptc", "comment"} <= set(result.removed)
    assert result.warning is False
    for haystack in (result.data, _expanded(result.data)):
        _absent([*_pdf_forms(s.NAME), s.GPS_RATIONALS, b"Exif\x00", s.COMMENT], haystack)
    with pikepdf.open(io.BytesIO(result.data)) as pdf, pikepdf.open(io.BytesIO(source)) as orig:
        page = pdf.pages[0]
        assert [op.operator for op in pikepdf.parse_content_stream(page)] == [
            pikepdf.Operator(op) for op in ("q", "cm", "Do", "Q")
        ]
        note, popup, field = page.obj.Annots
        assert pikepdf.Name.T not in note
        assert note.Contents == "请核实"
        assert popup.Parent.objgen == note.objgen
        assert field.T == "amount"  # a form field's name is not an author
        image = pikepdf.PdfImage(page.Resources.XObject.Im0).as_pil_image()
        original = pikepdf.PdfImage(orig.pages[0].Resources.XObject.Im0).as_pil_image()
        assert image.tobytes() == original.tobytes()
    assert _clean(result.data).removed == ()


def test_pdf_attached_file_is_removed_and_reported() -> None:
    pdf = pikepdf.new()
    pdf.add_blank_page()
    pdf.attachments["notes.docx"] = pikepdf.AttachedFileSpec(pdf, s.ooxml())
    buf = io.BytesIO()
    pdf.save(buf)
    result = _clean(buf.getvalue())
    assert (result.removed, result.warning) == (("pdf-attachment",), False)
    _absent([b"notes.docx", NAME], _expanded(result.data))


def test_corrupt_pdf_is_refused() -> None:
    assert _refused(b"%PDF-1.7\n" + b"\x00\x01 not a pdf body " * 50) == "corrupt"


# --- Office Open XML -------------------------------------------------------------------


def _members(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        assert zf.testzip() is None
        return {info.filename: zf.read(info) for info in zf.infolist()}


def test_docx_loses_authors_company_and_people_but_keeps_the_document() -> None:
    source = s.ooxml()
    secrets = [NAME, s.COMPANY.encode(), b"lisi", b"wangwu", b"zhangsan@example.gov.cn"]
    assert all(any(x in body for body in _members(source).values()) for x in secrets)

    result = _clean(source)

    assert result.kind == result.extension == "docx"
    assert result.mime == "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    assert result.removed == ("office-author",)
    members = _members(result.data)
    assert list(members) == list(_members(source))
    assert members["word/document.xml"] == s.DOCUMENT_XML
    for body in members.values():
        _absent([*secrets, b"2024-05-01T08:00:00Z"], body)
    core = SafeET.fromstring(members["docProps/core.xml"])
    core_ns = "http://schemas.openxmlformats.org/package/2006/metadata/core-properties"
    assert core.tag == f"{{{core_ns}}}coreProperties"
    assert len(core) == 0
    app = SafeET.fromstring(members["docProps/app.xml"])
    assert app.tag.endswith("extended-properties}Properties")
    assert len(app) == 0
    with zipfile.ZipFile(io.BytesIO(result.data)) as zf:
        assert zf.comment == b""
        assert {info.date_time for info in zf.infolist()} == {(1980, 1, 1, 0, 0, 0)}
    assert _clean(result.data).removed == ()  # still a valid package, nothing left to remove


def test_docx_loses_comment_and_revision_authors_and_picture_metadata() -> None:
    source = s.docx_under_review()
    before = _members(source)
    secrets = [NAME, b"ZS", s.GPS_RATIONALS, b"SpyCam"]
    assert all(any(x in body for body in before.values()) for x in secrets)

    result = _clean(source)

    assert {"office-author", "thumbnail", "exif", "gps"} <= set(result.removed)
    assert result.warning is False
    members = _members(result.data)
    assert list(members) == list(before)
    for body in members.values():
        _absent(secrets, body)
    for part in ("[Content_Types].xml", "_rels/.rels"):
        assert members[part] == before[part]
    document = members["word/document.xml"]
    assert document == s.REVIEWED_DOCUMENT_XML.replace(b'w:author="' + NAME, b'w:author="')
    assert members["word/footnotes.xml"] == before["word/footnotes.xml"].replace(
        b"x:author='" + NAME, b"x:author='"
    ).replace(b"x:initials = 'ZS'", b"x:initials = ''")
    comment = SafeET.fromstring(members["word/comments.xml"])[0]
    w = f"{{{s.W_NS}}}"
    assert (comment.get(f"{w}author"), comment.get(f"{w}initials")) == ("", "")
    assert comment.get(f"{w}date") == "2024-05-02T09:00:00Z"
    with Image.open(io.BytesIO(members["docProps/thumbnail.jpeg"])) as thumb:
        assert (thumb.format, thumb.size) == ("JPEG", (1, 1))
    assert _pixels(members["word/media/image1.jpeg"]) == _pixels(before["word/media/image1.jpeg"])
    assert _clean(result.data).removed == ()


@pytest.mark.parametrize("build", [s.xlsx_with_comment_authors, s.pptx_with_comment_authors])
def test_xlsx_and_pptx_comment_authors_are_blanked(build: Callable[[], bytes]) -> None:
    source = build()
    result = _clean(source)
    assert (result.removed, result.warning) == (("office-author",), False)
    before, after = _members(source), _members(result.data)
    assert list(after) == list(before)
    for name, body in after.items():
        _absent([NAME, b"ZS", b"zhangsan@example.gov.cn"], body)
        if name.startswith(("xl/", "ppt/")):  # nothing but the names changed
            blanked = before[name].replace(NAME, b"").replace(b'"ZS"', b'""')
            assert body == blanked.replace(b"zhangsan@example.gov.cn", b"")


def _header(body: str, encoding: str = "utf-8") -> bytes:
    return f"<w:hdr xmlns:w='{s.W_NS}'>{body}</w:hdr>".encode(encoding)


def test_only_real_author_attributes_are_blanked() -> None:
    lookalikes = (
        "<!-- w:author='a' --><w:p w:author=\"{n}\" w:authorX='{n}'><w:t>"
        "<![CDATA[<w:x w:author='{n}'>]]> w:author=\"{n}\" &lt;w:x w:author='{n}'&gt;</w:t>"
        "<w:x author='{n}' xmlns:o='urn:other' o:author='{n}'/></w:p>"
    )
    header = _header(lookalikes.format(n=s.NAME))
    result = _clean(s.ooxml(extra={"word/header1.xml": header}))
    blanked = header.replace(b'<w:p w:author="' + NAME, b'<w:p w:author="')
    assert blanked != header
    assert _members(result.data)["word/header1.xml"] == blanked


def _with_thumbnail_relationship(package: bytes, target: str) -> bytes:
    """``package`` whose _rels/.rels also names ``target`` as the document's preview."""
    rel = (
        '<Relationship Id="rId9" Type="http://schemas.openxmlformats.org/package/2006/'
        f'relationships/metadata/thumbnail" Target="/{target}"/></Relationships>'
    ).encode()
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        for name, body in _members(package).items():
            zf.writestr(name, body.replace(b"</Relationships>", rel) if name == "_rels/.rels"
                        else body)
    return out.getvalue()


_CORE_TYPE = "application/vnd.openxmlformats-package.core-properties+xml"
_PICTURE = s.png_with_metadata()


@pytest.mark.parametrize(
    ("package", "part"),
    [
        (s.ooxml(parts={"meta/p.xml": (_CORE_TYPE, f"<p><c>{s.NAME}</c></p>".encode())}),
         "meta/p.xml"),
        (s.ooxml(extra={"DocProps/Thumbnail.PNG": _PICTURE}), "DocProps/Thumbnail.PNG"),
        (_with_thumbnail_relationship(s.ooxml(extra={"word/media/p.png": _PICTURE}),
                                      "word/media/p.png"), "word/media/p.png"),
    ],
    ids=["properties-by-content-type", "thumbnail-by-name", "thumbnail-by-relationship"],
)
def test_office_parts_are_known_by_content_type_name_or_relationship(
    package: bytes, part: str
) -> None:
    body = _members(_clean(package).data)[part]
    if part.endswith(".xml"):
        assert body.endswith(b"<p/>")  # the property part is its empty root element
    else:
        assert body == _blank_png()  # the preview is a blank pixel, not the picture


def _blank_png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (1, 1), "white").save(buf, "PNG")
    return buf.getvalue()


@pytest.mark.parametrize(
    "package",
    [
        s.ooxml(thumbnail=("wmf", b"\xd7\xcd\xc6\x9a" + bytes(40))),
        s.ooxml(extra={"word/embeddings/Microsoft_Excel_Worksheet.xlsx": s.ooxml()}),
        s.ooxml(extra={"word/media/image1.jpeg": b"\xff\xd8\xff\xe0 truncated"}),
        s.ooxml(extra={"word/header1.xml": _header(f"<w:p w:author='{s.NAME}'/>", "utf-16")}),
    ],
    ids=["wmf-thumbnail", "embedded-workbook", "broken-picture", "utf-16"],
)
def test_office_metadata_that_cannot_be_removed_sets_the_warning(package: bytes) -> None:
    result = _clean(package)
    assert result.warning is True
    assert _members(result.data)["word/document.xml"] == _members(package)["word/document.xml"]


@pytest.mark.parametrize(
    ("main_type", "part", "kind"),
    [
        (s.EXCEL_MAIN, "xl/workbook.xml", "xlsx"),
        (s.POWERPOINT_MAIN, "ppt/presentation.xml", "pptx"),
    ],
)
def test_xlsx_and_pptx_are_recognised(main_type: str, part: str, kind: str) -> None:
    result = _clean(s.ooxml(main_type, part))
    assert (result.kind, result.extension) == (kind, kind)
    assert NAME not in b"".join(_members(result.data).values())


def test_zips_that_are_not_office_documents_are_refused() -> None:
    assert _refused(s.plain_zip()) == "not-allowed"
    assert _refused(s.ooxml(None)) == "not-allowed"  # no main part declared
    assert _refused(s.ooxml(with_main_member=False)) == "not-allowed"  # declared but absent
    assert _refused(s.ooxml()[:-40]) == "corrupt"  # central directory cut off


def test_xml_entities_in_a_package_are_refused() -> None:
    types = (
        '<?xml version="1.0"?><!DOCTYPE Types [<!ENTITY a "aaaaaaaa">]>'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">&a;</Types>'
    )
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("[Content_Types].xml", types)
        zf.writestr("_rels/.rels", "<Relationships/>")
    assert _refused(buf.getvalue()) == "corrupt"


def test_macro_documents_are_refused() -> None:
    vba = {"word/vbaProject.bin": b"\xd0\xcf\x11\xe0 macro"}
    assert _refused(s.ooxml(s.WORD_MACRO_MAIN, extra=vba)) == "macro"
    assert _refused(s.ooxml(extra=vba)) == "macro"  # a .docx that smuggles a VBA project


def test_zip_bomb_is_refused() -> None:
    bomb = s.ooxml(extra={"word/media/huge.bin": bytes(2_000_000)})
    assert len(bomb) < 50_000
    assert _refused(bomb, max_bytes=100_000) == "zip-bomb"


# --- what packages and PDFs name besides their authors (#21, item 2) ------------------------

USER = s.USER.encode()


def _everything(package: bytes) -> bytes:
    """The package's own bytes and every member inflated: where a name could still be."""
    return package + b"".join(_members(package).values())


def _relationships(body: bytes) -> dict[str, tuple[str | None, str | None]]:
    return {str(rel.get("Id")): (rel.get("Target"), rel.get("TargetMode"))
            for rel in SafeET.fromstring(body)}


def test_docx_template_path_links_and_sharepoint_data_are_removed() -> None:
    source = s.docx_with_template_links_and_sharepoint_data()
    secrets = [USER, s.SHAREPOINT_OWNER.encode(), b"sharepoint.com", b"Templates"]
    everything = _everything(source)
    assert all(secret in everything for secret in secrets)

    result = _clean(source)

    _absent(secrets, _everything(result.data))
    assert set(result.removed) == {"office-author", "external-link", "custom-xml"}
    assert result.warning is False
    before, members = _members(source), _members(result.data)
    assert list(members) == list(before)
    assert _relationships(members["word/_rels/settings.xml.rels"]) == {
        "rId1": ("about:blank", "External")}
    assert _relationships(members["word/_rels/document.xml.rels"]) == {
        "rId1": ("settings.xml", None), "rId2": ("about:blank", "External"),
        "rId3": ("about:blank", "External"), "rId4": ("../customXml/item1.xml", None)}
    assert members["customXml/_rels/item1.xml.rels"] == before["customXml/_rels/item1.xml.rels"]
    assert members["customXml/item1.xml"].endswith(
        b'<properties xmlns="http://schemas.microsoft.com/office/2006/metadata/properties"/>')
    assert SafeET.fromstring(members["customXml/itemProps1.xml"]).attrib == {}
    assert members["word/settings.xml"] == before["word/settings.xml"]  # the r:id stays
    assert _clean(result.data).removed == ()


def test_xlsx_saved_folder_external_links_connections_and_printer_are_removed() -> None:
    source = s.xlsx_with_paths_and_links()
    secrets = [USER, s.USER.encode("utf-16-le"), "举报材料".encode(),
               "PRINTSRV".encode("utf-16-le")]
    everything = _everything(source)
    assert all(secret in everything for secret in secrets)

    result = _clean(source)

    _absent(secrets, _everything(result.data))
    assert set(result.removed) == {"office-author", "file-path", "external-link", "printer"}
    assert result.warning is False
    before, members = _members(source), _members(result.data)
    assert list(members) == list(before)
    assert members["xl/workbook.xml"] == before["xl/workbook.xml"].replace(
        f'url="C:\\Users\\{s.USER}\\Desktop\\举报材料\\"'.encode(), b'url=""')
    assert _relationships(members["xl/externalLinks/_rels/externalLink1.xml.rels"]) == {
        "rId1": ("about:blank", "External")}
    assert _relationships(members["xl/worksheets/_rels/sheet1.xml.rels"]) == {
        "rId1": ("about:blank", "External"),
        "rId2": ("../printerSettings/printerSettings1.bin", None)}
    connection = SafeET.fromstring(members["xl/connections.xml"])[0]
    assert (connection.get("sourceFile"), connection[0].get("connection")) == ("", "")
    assert connection[0].get("command") == "t"
    printer = members["xl/printerSettings/printerSettings1.bin"]
    assert len(printer) == 220  # the public DEVMODE, without the driver's private data
    assert printer[:64] == bytes(64)
    assert struct.unpack_from("<HH", printer, 68) == (220, 0)
    assert printer[64:68] == before["xl/printerSettings/printerSettings1.bin"][64:68]
    assert _clean(result.data).removed == ()


def test_a_path_posing_as_an_internal_target_is_blanked_too() -> None:
    package = s.ooxml(extra={"word/_rels/document.xml.rels": s.rels(
        ("rId1", "image", f"file:///C:/Users/{s.USER}/a.png", False),
        ("rId2", "image", f"\\\\server\\{s.USER}\\b.png", False),
        ("rId3", "image", "media/image1.png", False))})
    result = _clean(package)
    assert "external-link" in result.removed
    targets = _relationships(_members(result.data)["word/_rels/document.xml.rels"])
    assert targets == {"rId1": ("about:blank", None), "rId2": ("about:blank", None),
                       "rId3": ("media/image1.png", None)}


def test_a_digital_signature_naming_the_signer_is_blanked() -> None:
    signature = (
        '<Signature xmlns="http://www.w3.org/2000/09/xmldsig#"><KeyInfo><X509Data>'
        f"<X509SubjectName>CN={s.USER}</X509SubjectName></X509Data></KeyInfo></Signature>"
    ).encode()
    package = s.ooxml(parts={"_xmlsignatures/sig1.xml": (
        "application/vnd.openxmlformats-package.digital-signature-xmlsignature+xml", signature)})
    result = _clean(package)
    assert "signature" in result.removed
    assert result.warning is False
    _absent([USER], _everything(result.data))


@pytest.mark.parametrize(
    "package",
    [
        s.ooxml(parts={"word/tracker.xml": ("application/vnd.example.tracker+xml",
                                            b"<t>user: zhangsan</t>")}),
        s.ooxml(extra={"word/unknown.xml": b"<t>zhangsan</t>"}),
        s.ooxml(extra={"word/media/image1.tiff": b"II*\x00" + bytes(60)}),
        s.ooxml(extra={"word/data.bin": b"\x00zhangsan"}),
        s.ooxml(extra={"word/_rels/document.xml.rels": s.rels(
            ("rId1", "hyperlink", "x", False)).replace(b"/>", b' Extra="zhangsan"/>')}),
    ],
    ids=["unknown-content-type", "undeclared-xml", "tiff-picture", "unknown-binary",
         "unknown-relationship-attribute"],
)
def test_parts_the_cleaner_does_not_understand_set_the_warning(package: bytes) -> None:
    assert _clean(package).warning is True


def test_a_package_of_known_parts_does_not_warn() -> None:
    for build in (s.ooxml, s.xlsx_with_comment_authors, s.pptx_with_comment_authors,
                  s.docx_with_template_links_and_sharepoint_data, s.xlsx_with_paths_and_links):
        assert _clean(build()).warning is False, build.__name__


_UNSAFE_ACTIONS = {pikepdf.Name(f"/{a}") for a in (
    "JavaScript", "Launch", "URI", "SubmitForm", "GoToR", "ImportData")}


def _pdf_dicts(pdf: pikepdf.Pdf) -> list[pikepdf.Dictionary | pikepdf.Stream]:
    """Every dictionary of the PDF, direct ones inside others included."""
    found: list[pikepdf.Dictionary | pikepdf.Stream] = []

    def walk(obj: object, top: bool = False) -> None:
        if isinstance(obj, pikepdf.Object) and obj.is_indirect and not top:
            return  # found on its own in pdf.objects
        if isinstance(obj, pikepdf.Dictionary | pikepdf.Stream):
            found.append(obj)
            for _key, value in obj.items():
                walk(value)
        elif isinstance(obj, pikepdf.Array):
            for value in obj:
                walk(value)

    for obj in pdf.objects:
        walk(obj, top=True)
    walk(pdf.trailer, top=True)
    return found


def test_pdf_scripts_links_launches_submissions_and_attachments_are_removed() -> None:
    source = s.pdf_with_actions()
    assert USER in source
    assert USER in _expanded(source)

    result = _clean(source)

    assert set(result.removed) == {"pdf-action", "pdf-attachment"}
    assert result.warning is False
    for haystack in (result.data, _expanded(result.data)):
        _absent(_pdf_forms(s.USER), haystack)
    with pikepdf.open(io.BytesIO(result.data)) as pdf:
        for key in ("/OpenAction", "/AA", "/URI", "/Names"):
            assert key not in pdf.Root or key == "/Names" and not {
                "/JavaScript", "/EmbeddedFiles"} & set(pdf.Root.Names.keys())
        for obj in _pdf_dicts(pdf):
            assert not {"/AA", "/JS", "/JavaScript", "/EmbeddedFiles", "/EF", "/AF"} & set(
                obj.keys()), obj
            assert obj.get("/S") not in _UNSAFE_ACTIONS, obj
        page = pdf.pages[0]
        assert len(page.Annots) == 6  # the annotations stay, without their actions
        chained, goto, field = page.Annots[3], page.Annots[4], page.Annots[5]
        assert goto.A.S == "/GoTo"
        assert goto.A.D[0].objgen == page.obj.objgen
        assert chained.A.S == "/GoTo"
        assert "/Next" not in chained.A
        assert field.T == "amount"
        assert len(pdf.attachments) == 0
    assert _clean(result.data).removed == ()


def test_pdf_open_action_showing_a_page_is_kept() -> None:
    pdf = pikepdf.new()
    pdf.add_blank_page()
    pdf.Root.OpenAction = pikepdf.Array([pdf.pages[0].obj, pikepdf.Name.Fit])
    buf = io.BytesIO()
    pdf.save(buf)
    result = _clean(buf.getvalue())
    assert (result.removed, result.warning) == ((), False)
    with pikepdf.open(io.BytesIO(result.data)) as cleaned:
        assert cleaned.Root.OpenAction[1] == pikepdf.Name.Fit


@pytest.mark.parametrize("feature", ["xfa", "rich-media"])
def test_pdf_features_the_cleaner_does_not_understand_set_the_warning(feature: str) -> None:
    pdf = pikepdf.new()
    pdf.add_blank_page()
    if feature == "xfa":
        pdf.Root.AcroForm = pikepdf.Dictionary(
            Fields=pikepdf.Array(), XFA=pdf.make_stream(b"<xdp:xdp>zhangsan</xdp:xdp>"))
    else:
        pdf.pages[0].Annots = pikepdf.Array([pikepdf.Dictionary(
            Type=pikepdf.Name.Annot, Subtype=pikepdf.Name.RichMedia,
            Rect=pikepdf.Array([0, 0, 9, 9]))])
    buf = io.BytesIO()
    pdf.save(buf)
    assert _clean(buf.getvalue()).warning is True


def test_every_code_the_cleaner_reports_has_a_label_for_the_reporter() -> None:
    from intake.messages import REMOVED_LABELS

    codes = {"external-link", "file-path", "custom-xml", "printer", "pdf-action",
             "pdf-attachment"}
    assert codes <= set(REMOVED_LABELS)
    source = Path(evidence.__file__).read_text()
    reported = set(re.findall(r'"([a-z]+(?:-[a-z]+)*)"\]', source))
    assert reported <= set(REMOVED_LABELS), reported - set(REMOVED_LABELS)


# --- bombs (#21, item 9) -------------------------------------------------------------------

MIB = 1 << 20
BOMB_MEMORY_BOUND = 100 * MIB


def _peak_rss() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux


def test_zip_bomb_of_the_finding_is_refused_by_its_ratio() -> None:
    bomb = s.docx_bomb(200)  # 200 MiB of zeros in a document of about 200 KiB
    assert len(bomb) < 250 * 1024
    peak = _peak_rss()
    assert _refused(bomb, max_bytes=20 * MIB) == "zip-bomb"
    assert _peak_rss() - peak < BOMB_MEMORY_BOUND


def test_zip64_end_records_and_huge_entry_counts_are_refused_before_zipfile_reads() -> None:
    # A review found that zipfile reads the ZIP64 end record whenever its locator precedes
    # the ordinary one, so the directory size checked was not the one read.
    package = s.ooxml()
    end = package.rindex(b"PK\x05\x06")
    locator = b"PK\x06\x07" + struct.pack("<IQI", 0, 0, 1)
    assert _refused(package[:end] + locator + package[end:]) == "zip-bomb"
    many = bytearray(package)
    struct.pack_into("<HH", many, end + 8, 60_000, 60_000)
    assert _refused(bytes(many)) == "zip-bomb"


def test_zip_that_lies_about_its_sizes_is_refused_while_reading() -> None:
    bomb = s.docx_bomb(200, declared=4096)
    peak = _peak_rss()
    assert _refused(bomb, max_bytes=20 * MIB) == "zip-bomb"
    assert _peak_rss() - peak < BOMB_MEMORY_BOUND


def test_zip_expansion_is_bounded_in_absolute_size(monkeypatch: pytest.MonkeyPatch) -> None:
    noise = random.Random(3).randbytes(3 * MIB)  # does not compress: the ratio is about 1
    package = s.ooxml(extra={"word/media/noise.bin": noise})
    assert _clean(package, max_bytes=20 * MIB).warning is True  # kept: within both bounds
    monkeypatch.setattr(evidence, "ZIP_MAX_EXPANDED", 2 * MIB)
    assert _refused(package, max_bytes=20 * MIB) == "zip-bomb"


def test_what_a_package_inflates_counts_against_the_request() -> None:
    package = s.ooxml(extra={"word/media/noise.bin": random.Random(4).randbytes(MIB)})
    expanded = _clean(package).expanded
    assert MIB < expanded < MIB + 64 * 1024
    assert _clean(package, max_expanded=expanded).expanded == expanded
    assert _refused(package, max_expanded=expanded - 1) == "too-much-together"


def test_zip_with_too_many_members_is_refused() -> None:
    package = s.ooxml(extra={f"word/media/p{i}.png": b"" for i in range(evidence.ZIP_MAX_MEMBERS)})
    assert _refused(package) == "zip-bomb"


def test_a_huge_central_directory_is_refused_before_it_is_read(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    empty = (b"\x03\x00", 0, 0)  # an empty deflate stream
    package = s.raw_zip([(f"word/media/{i:05}.png", *empty) for i in range(30_000)])
    assert len(package) < 4 * MIB

    def never(*args: object, **kwargs: object) -> None:
        raise AssertionError("the central directory was parsed")

    monkeypatch.setattr(zipfile, "ZipFile", never)
    assert _refused(package) == "zip-bomb"


def test_pdf_streams_are_never_inflated_by_the_cleaner() -> None:
    bomb = s.pdf_bomb(200)  # a page whose content, deflated twice, is 200 MiB of zeros
    assert len(bomb) < 4096
    peak = _peak_rss()
    result = _clean(bomb)
    assert _peak_rss() - peak < BOMB_MEMORY_BOUND
    with pikepdf.open(io.BytesIO(bomb)) as before, pikepdf.open(io.BytesIO(result.data)) as pdf:
        contents, original = pdf.pages[0].obj.Contents, before.pages[0].obj.Contents
        assert contents.read_raw_bytes() == original.read_raw_bytes()
        assert list(contents.Filter) == [pikepdf.Name.FlateDecode] * 2


# --- legacy Office (OLE2) --------------------------------------------------------------


@pytest.mark.parametrize(
    ("stream", "kind", "mime"),
    [
        ("WordDocument", "doc", "application/msword"),
        ("Workbook", "xls", "application/vnd.ms-excel"),
        ("PowerPoint Document", "ppt", "application/vnd.ms-powerpoint"),
    ],
)
def test_ole_office_files_are_kept_with_a_warning(stream: str, kind: str, mime: str) -> None:
    source = s.ole({stream: b"content", "\x05SummaryInformation": NAME})
    result = _clean(source)
    assert (result.kind, result.mime, result.extension) == (kind, mime, kind)
    assert result.warning is True
    assert result.data == source


def test_other_ole_files_are_refused() -> None:
    assert _refused(s.ole({"Contents": b"x"})) == "not-allowed"
    assert _refused(s.ole({"WordDocument": b"x", "Macros": None})) == "macro"
    assert _refused(s.ole({"WordDocument": b"x"})[:600]) == "corrupt"


# --- text ------------------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030"])
def test_text_is_stored_as_utf8(encoding: str) -> None:
    text = "2024年5月1日，某局长在办公室收受红包。\r\nSecond line\n"
    result = _clean(text.encode(encoding))
    assert (result.kind, result.mime, result.extension) == (
        "text",
        "text/plain; charset=utf-8",
        "txt",
    )
    assert result.data == text.encode("utf-8")
    assert (result.removed, result.warning) == ((), False)


@pytest.mark.parametrize(
    "markup",
    [
        b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
        b"<!DOCTYPE html><html><body>hi</body></html>",
        b"<html><script>fetch('/x')</script></html>",
        b'<?xml version="1.0"?><root/>',
        "\ufeff \n\u3000<script>alert(1)</script>".encode(),
        b"#!/bin/sh\nrm -rf /\n",
    ],
)
def test_markup_and_scripts_are_refused(markup: bytes) -> None:
    assert _refused(markup) == "not-allowed"


def test_binary_without_known_type_is_unknown() -> None:
    assert _refused(b"hello\x00world") == "unknown-type"
    assert _refused(bytes(range(256)) * 4) == "unknown-type"


# --- other types and limits ------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        b"\x7fELF\x02\x01\x01\x00" + bytes(64),
        b"MZ\x90\x00\x03\x00\x00\x00" + bytes(120),
        b"GIF89a\x01\x00\x01\x00\x00\x00\x00;",
        b"Rar!\x1a\x07\x00" + bytes(32),
    ],
)
def test_executables_and_other_types_are_not_allowed(data: bytes) -> None:
    assert _refused(data) == "not-allowed"


def test_empty_and_oversized_files_are_refused() -> None:
    assert _refused(b"") == "empty"
    assert _refused(b"a" * 101, max_bytes=100) == "too-large"
    assert _clean(b"a" * 100, max_bytes=100).kind == "text"


# --- audio and video -------------------------------------------------------------------


def test_mp3_id3v2_and_id3v1_tags_are_removed() -> None:
    source, bare_audio = s.mp3_with_tags()
    assert NAME in source
    assert b"zhangsan" in source

    result = _clean(source)

    assert (result.kind, result.mime, result.extension) == ("audio", "audio/mpeg", "mp3")
    assert (result.removed, result.warning) == (("audio-tags",), False)
    assert result.data == bare_audio


def test_flac_comments_and_pictures_are_removed() -> None:
    source = s.flac_with_tags()
    result = _clean(source)
    _absent([NAME, s.thumbnail_jpeg()], result.data)
    assert (result.removed, result.warning) == (("audio-tags",), False)
    audio = mutagen.flac.FLAC(io.BytesIO(result.data))
    assert not audio.tags
    assert not audio.pictures
    assert audio.info.sample_rate == 44100


def test_wav_keeps_only_format_and_samples() -> None:
    source, samples = s.wav_with_tags()
    result = _clean(source)
    assert (result.mime, result.removed, result.warning) == ("audio/wav", ("audio-tags",), False)
    _absent([NAME, b"LIST", b"id3 "], result.data)
    assert samples in result.data
    info = mutagen.wave.WAVE(io.BytesIO(result.data)).info
    assert info is not None
    assert info.sample_rate == 8000


def test_m4a_tags_including_location_are_removed() -> None:
    source = s.m4a_with_tags()
    assert NAME in source
    result = _clean(source)
    assert (result.mime, result.extension, result.removed) == ("audio/mp4", "m4a", ("audio-tags",))
    _absent([NAME, s.MP4_LOCATION.encode()], result.data)
    assert not mutagen.mp4.MP4(io.BytesIO(result.data)).tags


def test_unparsable_mp3_is_corrupt_and_amr_is_kept_with_a_warning() -> None:
    assert _refused(b"ID3\x03\x00\x00\x00\x00\x00\x10" + b"not mpeg audio " * 100) == "corrupt"
    amr = b"#!AMR\n" + b"\x3c" + bytes(31)
    assert _clean(amr) == CleanFile("audio", "audio/amr", "amr", amr, (), True)


def test_mp4_video_is_kept_with_a_warning_and_must_have_a_movie_box() -> None:
    video = s.mp4_video()
    assert _clean(video) == CleanFile("video", "video/mp4", "mp4", video, (), True)
    assert _refused(s.mp4_video(with_moov=False)) == "corrupt"
    assert mutagen.File(io.BytesIO(video)) is not None


@pytest.mark.parametrize("where", ["xref", "objstm"])
def test_pdf_object_and_cross_reference_stream_bombs_are_refused_before_qpdf(
    where: str,
) -> None:
    assert _clean(s.pdf_structure_bomb(where, 0)).kind == "pdf"  # the same file, unpadded
    bomb = s.pdf_structure_bomb(where, 64)  # twice PDF_MAX_STRUCTURE
    assert len(bomb) < 100 * 1024
    peak = _peak_rss()
    assert _refused(bomb) == "zip-bomb"
    assert _peak_rss() - peak < BOMB_MEMORY_BOUND


@pytest.mark.parametrize("eol", [b"\r", b" \r\n", b"\t\n"])
def test_a_cross_reference_stream_bomb_is_measured_however_its_keyword_line_ends(
    eol: bytes,
) -> None:
    # A review found that "stream" followed by CR alone hid the stream from the scan while
    # qpdf still inflated it whole (600 MB from 570 KiB).
    source = s.pdf_structure_bomb("xref", 64)
    at = source.rindex(b">>\nstream\n") + 3
    bomb = source[:at] + b"stream" + eol + source[at + len(b"stream\n"):]
    peak = _peak_rss()
    assert _refused(bomb) == "zip-bomb"
    assert _peak_rss() - peak < BOMB_MEMORY_BOUND


def test_structure_words_without_a_stream_of_their_own_are_refused() -> None:
    source = s.pdf_structure_bomb("xref", 0)
    at = source.rindex(b">>\nstream\n") + 3
    # The keyword hidden from the scan (no end of line at all): not measurable, so refused.
    hidden = source[:at] + b"stream" + source[at + len(b"stream\n"):]
    assert _refused(hidden) == "corrupt"


def test_pdf_structure_streams_with_stacked_filters_are_refused() -> None:
    source = s.pdf_structure_bomb("objstm", 0)
    stacked = source.replace(b"/ObjStm /N 1 /First 4 /Filter /FlateDecode",
                             b"/ObjStm /N 1 /First 4 /Filter [/FlateDecode /FlateDecode]")
    assert stacked != source
    assert _refused(stacked) == "zip-bomb"


def test_encrypted_object_streams_are_refused_as_they_cannot_be_measured() -> None:
    pdf = pikepdf.new()
    for _ in range(30):
        pdf.add_blank_page()
    buf = io.BytesIO()
    pdf.save(buf, encryption=pikepdf.Encryption(user="", owner="owner-secret"),
             object_stream_mode=pikepdf.ObjectStreamMode.generate)
    assert b"/ObjStm" in buf.getvalue()
    assert _refused(buf.getvalue()) == "protected-pdf"


@pytest.mark.parametrize("dictionary", [
    b"/Type /ObjStm /N 1 /First 4 /Filter /FlateDecode",
    b"/T#79pe /Obj#53tm /N 1 /First 4 /Filter /FlateDecode",
    b"/Type%x\n/ObjStm /N 1 /First 4 /Filter /FlateDecode",
    b"/Filter /FlateDecode /Xobj 1 /Type /ObjStm /N 1 /First 4",
])
def test_object_stream_dictionaries_are_found_however_written(
    dictionary: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = s.pdf_structure_bomb("objstm", 64)
    written = source.replace(b"/Type /ObjStm /N 1 /First 4 /Filter /FlateDecode", dictionary)

    def never(*args: object, **kwargs: object) -> None:
        raise AssertionError("qpdf opened the file")  # it would inflate the catalog's stream

    monkeypatch.setattr(pikepdf, "open", never)
    assert _refused(written) == "zip-bomb"


def test_object_streams_the_scan_misses_are_measured_after_opening(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Defence in depth: with the byte scan finding nothing, qpdf's cross-reference table
    still names the object streams, measured before any object in them (but the catalog)
    is read."""
    pdf = pikepdf.new()
    for _ in range(30):
        pdf.add_blank_page()
    buf = io.BytesIO()
    pdf.save(buf, object_stream_mode=pikepdf.ObjectStreamMode.generate)
    monkeypatch.setattr(evidence, "_pdf_structure_streams", lambda data: iter(()))
    assert _clean(buf.getvalue()).kind == "pdf"
    monkeypatch.setattr(evidence, "PDF_MAX_STRUCTURE", 100)  # less than the pages' objects
    assert _refused(buf.getvalue()) == "zip-bomb"
