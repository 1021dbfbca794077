"""Every role's main path, driven in headless Chromium with JavaScript on and off (issue #7).

The journeys run in order on one portal and hand on what they made (see journey.Story). Each
ends in assertions about what the person sees. Across all of them the `web` fixture fails a
journey on any request to another origin, any console error or CSP violation and any script
error; public pages are checked with axe-core; the main pages are photographed in Chinese.
"""

from __future__ import annotations

import datetime as dt
import io
import os
import re
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pytest

try:
    from playwright.sync_api import FilePayload, expect
except ImportError:  # pragma: no cover - the tier's own fixtures say what to install
    if os.environ.get("PORTAL_TEST_REQUIRE_BROWSER") == "1":
        raise
    pytest.skip("Playwright for Python is not installed (pip install playwright)",
                allow_module_level=True)

import pikepdf
from PIL import Image

from tests.functional.browser import Axe, QrReader, Screenshots, Web
from tests.functional.journey import (
    PDF_NAME,
    PHOTO_NAME,
    Story,
    batch_person,
    day_shown,
    long_date,
    minute_shown,
    notice_persons,
    pdf_with_author,
    photo_with_gps,
    typed_like_a_phone,
)
from tests.functional.pages.admin import AccountsPage, ActivatePage, RoleRequestsPage
from tests.functional.pages.compliance import WaitingList
from tests.functional.pages.editor import Meeting, NoticeList
from tests.functional.pages.handler import CasePage, QueuePage
from tests.functional.pages.public import HomePage, NoticePage
from tests.functional.pages.reporter import CheckPage, Concerned, ReportForm
from tests.functional.pages.staff import StaffLogin
from tests.functional.pages.supervisor import CHARTS, Dashboard
from tests.functional.server import TERM, Authenticator, Portal, StaffAccount
from tests.unit import evidence_samples

COUNTY_TIME = ZoneInfo("Asia/Shanghai")
OUTCOME_CODES = re.compile(r"\b(pending|suspended|appointed|withdrawn)\b")
ORG_QUEUE = "中共××县委组织部干部监督举报中心"
ISSUER = "中共××县委组织部"
OBJECTION_FACTS = ("王秀英同志在县财政局任职期间，2025年3月至6月多次在工作日中午到××饭店接受下属"
                   "宴请，单位其他同事也知情。")
QUESTION = "请问您反映的宴请具体是哪几天？是否有照片以外的其他证据？"
REPLY = "主要是2025年4月3日和5月12日中午，饭店的消费记录可以查到。"
ANSWER = "经核查，反映的问题部分属实，已对王秀英同志进行诫勉谈话，暂缓任职。感谢您的监督。"
DISCIPLINE_FACTS = ("赵德明利用审批职务便利，2025年10月在××小区项目验收中收受开发商购物卡"
                    "两万元，项目部会计知情。")
TRANSFER_REASON = "所反映问题涉及干部选拔任用中的带病提拔，属组织部门受理范围。"
PHONE_FACTS = "来电人反映：××乡乡长孙志强在2025年乡镇换届中为亲属拉票，多名村干部知情。"
NEW_PASSPHRASE = "vermilion otter quarry lantern forty"
RULES_MET = "各项任用规则均已符合或经特批：可以审核发布。"
RULE_1 = "规则1（讨论决定会议的到会人数）违反"
RULE_1_CLAUSE = "五、一是、5"
RULE_1_QUOTE = "常委到会不足三分之二的，不得研究干部任免事宜。"
OVERRIDE_REASON = "县委常委会换届后常委人数临时减少，经州委组织部同意按实到人数研究。"
RED = "rgb(179, 38, 30)"  # --accent of portal.css, the colour of an override


def digits(receipt: str) -> str:
    """A receipt without its spaces."""
    return receipt.replace(" ", "")


def jpeg(name: str, data: bytes) -> FilePayload:
    """A photo as the file chooser hands it to the form."""
    return {"name": name, "mimeType": "image/jpeg", "buffer": data}


def pdf(name: str, data: bytes) -> FilePayload:
    """A PDF as the file chooser hands it to the form."""
    return {"name": name, "mimeType": "application/pdf", "buffer": data}


def test_journey_1_editors_publish_and_a_citizen_objects(
        web: Web, portal: Portal, story: Story, shots: Screenshots, axe: Axe) -> None:
    """An editor drafts a notice with two persons and records its batch's compliance record
    (every appointment rule met); a second editor approves it; a citizen sees it on the home
    page with the days left, opens it and presses the objection button for the second
    person."""
    today = story.today
    title = f"中共××县委组织部干部任前公示（{today:%Y}年第1号）"
    first, second = notice_persons(f"{today:%Y}-1")
    start, end = portal.publicity_period(today)

    editor1 = web.page("editor1")
    StaffLogin(editor1).login(portal.staff["editor1"]).go("公示管理")
    draft = (NoticeList(editor1).expect_open().new_notice()
             .fill(title, ISSUER, today).fill_person(1, first).add_person()
             .fill_person(2, second).save())
    expect(draft.blocking).to_have_text(["没有任用合规记录：审核发布前，组织部门须记录本批次的任用过程。"])
    meeting = Meeting(today - dt.timedelta(days=7), in_office=11, present=9)
    draft = (draft.record_compliance().meeting(meeting, TERM)
             .nominee(1, first).nominee(2, second).save())
    expect(draft.editorial).to_contain_text(RULES_MET)
    expect(draft.editorial).to_contain_text(
        f"如现在审核，公示时间为{long_date(start)}至{long_date(end)}（5个工作日）。")
    expect(draft.editorial).to_contain_text("您编辑过此草稿，须由另一名编辑审核。")
    expect(editor1.get_by_role("button", name="审核并发布")).to_have_count(0)

    editor2 = web.page("editor2")
    StaffLogin(editor2).login(portal.staff["editor2"])
    approved = NoticeList(editor2).open().open_notice(title).approve()
    expect(approved.editorial).to_contain_text(f"公示时间：{long_date(start)}至{long_date(end)}")
    story.notice_title, story.notice_end, story.persons = title, end, (first, second)

    citizen = web.page("citizen")
    home = HomePage(citizen).open()
    expect(home.notice(title)).to_contain_text("公示中")
    assert home.days_left(title) == portal.working_days_left(end)
    axe.check(citizen)
    shots.take(citizen, "01-home")

    notice = home.open_notice(title)
    story.notice_path = urlsplit(citizen.url).path
    assert notice.days_left() == portal.working_days_left(end)
    expect(notice.head).to_contain_text(f"{long_date(start)}至{long_date(end)}（5个工作日）")
    for person in (first, second):
        expect(notice.fact(person.name, "拟任职务")).to_have_text(person.proposed_post)
    axe.check(citizen)
    shots.take(citizen, "02-notice")

    form = notice.object_to(second.name)
    expect(form.objection).to_contain_text(title)
    expect(form.objection.locator("strong")).to_have_text(second.name)
    expect(form.objection).to_contain_text(f"{second.current_post} → {second.proposed_post}")
    expect(form.category("对公示对象有异议")).to_be_checked()
    axe.check(citizen)
    shots.take(citizen, "03-report-form")


def test_journey_2_the_objection_is_filed_anonymously_and_checked_later(
        web: Web, story: Story, shots: Screenshots, axe: Axe) -> None:
    """The citizen reads the safety advice, files the objection anonymously with a photo
    carrying GPS in EXIF and XMP and a PDF naming its author, copies the receipt from
    #receipt, closes the browser, and later checks the case with the receipt typed with
    spaces and full-width digits."""
    path = story.need(story.notice_path, "an open notice", "journey 1")
    person = story.persons[1]

    browser = web.context("citizen")
    form = NoticePage(browser.new_page()).open(path).object_to(person.name)
    advice = form.read_safety_advice()
    expect(advice.advice.filter(has_text="Tor 浏览器")).to_have_count(1)
    axe.check(advice.page)
    advice.page.go_back()
    form = ReportForm(advice.page).expect_open()
    expect(form.objection.locator("strong")).to_have_text(person.name)
    filed = (form.describe(OBJECTION_FACTS, when="2025年3月至6月", where="××饭店")
             .attach(jpeg(PHOTO_NAME, photo_with_gps()), pdf(PDF_NAME, pdf_with_author()))
             .send())
    receipt = filed.receipt()
    story.objection_receipt = digits(receipt)
    expect(filed.file(PHOTO_NAME)).to_contain_text("GPS 位置")
    expect(filed.file(PHOTO_NAME)).to_contain_text("XMP 元数据")
    expect(filed.file(PDF_NAME)).to_contain_text("文档属性（作者、软件、日期）")
    expect(filed.file(PHOTO_NAME)).to_contain_text("evidence-1.jpg")  # renamed (#21, item 11)
    axe.check(filed.page)
    shots.take(filed.page, "04-receipt")
    browser.close()

    later = web.page("citizen, later")
    check = HomePage(later).open().check_report()
    axe.check(later)
    shots.take(later, "05-check")
    case = check.enter(typed_like_a_phone(digits(receipt)))
    expect(case.status).to_have_text("已收到，等待受理")
    expect(case.main).to_contain_text("匿名举报")
    expect(case.report).to_contain_text("对公示对象有异议")
    expect(case.report).to_contain_text(OBJECTION_FACTS)
    expect(case.main.get_by_role("listitem").filter(has_text="evidence-1.jpg")).to_contain_text(
        "GPS 位置")
    axe.check(later)
    shots.take(later, "06-reporter-case")
    # Filed today, on the county's calendar (Asia/Shanghai), as the staff side records it.
    filed_on = day_shown(case.report.locator("h3 small").inner_text())
    assert filed_on == story.today, (
        f"the reporter's page dates the report {filed_on}; in the county it is {story.today}")


def assert_photo_clean(data: bytes) -> None:
    """A downloaded photo is still a picture, with no EXIF, GPS, XMP or author left."""
    with Image.open(io.BytesIO(data)) as image:
        assert image.format == "JPEG"
        assert not image.getexif()
        assert "xmp" not in image.info
    for trace in (evidence_samples.GPS_RATIONALS, evidence_samples.XMP_LATITUDE.encode(),
                  b"Exif\x00\x00", evidence_samples.NAME.encode(), b"SpyCam"):
        assert trace not in data, trace


def assert_pdf_clean(data: bytes) -> None:
    """A downloaded PDF opens, and neither its document info nor XMP names the author."""
    with pikepdf.open(io.BytesIO(data)) as document:
        assert len(document.pages) == 1
        assert pikepdf.Name.Author not in document.docinfo
        assert pikepdf.Name.Metadata not in document.Root
    utf16 = b"\xfe\xff" + evidence_samples.NAME.encode("utf-16-be")
    for trace in (evidence_samples.NAME.encode(), utf16, b"ZHANGSAN-PC"):
        assert trace not in data, trace


def test_journey_3_an_org_handler_answers_the_objection_with_the_reporter(
        web: Web, portal: Portal, story: Story, shots: Screenshots, axe: Axe) -> None:
    """The organization department's handler logs in with passphrase and TOTP, finds the
    objection at the top of the queue, downloads its files without their metadata, accepts
    it and asks a question; the reporter answers; the handler sees the unread reply and
    concludes; the reporter reads the answer."""
    receipt = story.need(story.objection_receipt, "the objection's receipt", "journey 2")
    title = story.need(story.notice_title, "the notice", "journey 1")
    person = story.persons[1]

    handler = web.page("orghandler")
    StaffLogin(handler).login(portal.staff["orghandler"]).go("案件")
    queue = QueuePage(handler).expect_open()
    expect(queue.heading).to_have_text(f"案件 · {ORG_QUEUE}")
    expect(queue.rows.first).to_contain_text("对公示对象有异议")
    expect(queue.rows.first).to_contain_text("待受理")
    case_no = story.objection_case = queue.case_numbers()[0]
    shots.take(handler, "07-queue")

    case = queue.open_case(case_no)
    expect(case.objection).to_contain_text(title)
    expect(case.objection).to_contain_text(f"{person.name} · {person.proposed_post}")
    expect(case.report).to_contain_text(OBJECTION_FACTS)
    shots.take(handler, "08-case")
    assert_photo_clean(case.download(case.evidence("evidence-1.jpg")))
    assert_pdf_clean(case.download(case.evidence("evidence-2.pdf")))

    case.accept("核查")
    expect(case.state).to_have_text("已受理")
    expect(case.fact("处置方式")).to_have_text("核查")
    case.message_reporter(QUESTION)
    expect(case.messages_to_reporter).to_contain_text(QUESTION)

    reporter = web.page("reporter")
    mine = CheckPage(reporter).open().enter(receipt)
    expect(mine.status).to_have_text("已受理")
    expect(mine.office_messages).to_have_count(1)
    expect(mine.office_messages.first).to_contain_text(QUESTION)
    mine.reply(REPLY)
    expect(mine.own_messages).to_contain_text(REPLY)
    axe.check(reporter)

    queue = QueuePage(handler).open()
    expect(queue.row(case_no)).to_contain_text("1 条未读回复")
    case = queue.open_case(case_no)
    expect(case.reporter_messages).to_contain_text(REPLY)
    case.conclude("部分属实", ANSWER)
    expect(case.state).to_have_text("已办结")
    expect(case.fact("核查结论")).to_have_text("部分属实")

    reporter.reload()
    expect(mine.status).to_have_text("已办结（见下方答复）")
    expect(mine.office_messages).to_have_count(2)
    expect(mine.office_messages.last).to_contain_text(ANSWER)

    # The person's outcome is shown in words, not as the code stored for it; the history
    # gives the county's time (Asia/Shanghai).
    expect(case.objection).not_to_contain_text(OUTCOME_CODES)
    accepted = case.history.filter(has_text="→ 已受理").inner_text()
    shown = minute_shown(accepted, COUNTY_TIME)
    assert abs(dt.datetime.now(COUNTY_TIME) - shown) < dt.timedelta(minutes=5), (
        f"the history says the case was accepted at {shown:%Y-%m-%d %H:%M}, which is not "
        "the county's time")


def test_journey_4_the_commission_sees_only_its_own_queue_and_transfers_a_case(
        web: Web, portal: Portal, story: Story) -> None:
    """A discipline-commission handler cannot see the objection; a report filed as 违纪违法
    lands in their queue; their head transfers it to the organization department, which can
    then open it while the commission no longer can."""
    objection = story.need(story.objection_case, "the objection's case", "journey 3")

    commission = web.page("dichandler")
    StaffLogin(commission).login(portal.staff["dichandler"]).go("案件")
    queue = QueuePage(commission).expect_open()
    expect(queue.heading).to_have_text("案件 · ××县纪委监委信访室")
    assert objection not in queue.case_numbers()
    with web.watch.expecting_status(f"/staff/cases/{objection}", 404):
        CasePage(commission).open(objection).expect_not_found()

    citizen = web.page("citizen")
    filed = (ReportForm(citizen).open().choose("违纪违法问题", "违反廉洁纪律")
             .about(Concerned("赵德明", "××县住房和城乡建设局", "局长"))
             .describe(DISCIPLINE_FACTS, when="2025年10月", where="××小区").send())
    filed.receipt()  # shown, twenty digits in groups of four

    queue = QueuePage(commission).open()
    expect(queue.rows.first).to_contain_text("违纪违法问题")
    case_no = story.discipline_case = queue.case_numbers()[0]
    case = queue.open_case(case_no)
    expect(case.report).to_contain_text(DISCIPLINE_FACTS)
    expect(case.report).to_contain_text("违反廉洁纪律")

    head = web.page("dichead")
    StaffLogin(head).login(portal.staff["dichead"])
    after = CasePage(head).open(case_no).expect_open(case_no).transfer(ORG_QUEUE, TRANSFER_REASON)
    after.expect_flash(f"案件 {case_no} 已移送至{ORG_QUEUE}；本队列已无法再打开该案件。")
    expect(after.transferred_out).to_contain_text(case_no)
    assert case_no not in after.case_numbers()
    with web.watch.expecting_status(f"/staff/cases/{case_no}", 404):
        CasePage(head).open(case_no).expect_not_found()
        CasePage(commission).open(case_no).expect_not_found()

    organization = web.page("orghandler")
    StaffLogin(organization).login(portal.staff["orghandler"]).go("案件")
    queue = QueuePage(organization).expect_open()
    expect(queue.row(case_no)).to_contain_text("待受理")
    case = queue.open_case(case_no)
    expect(case.fact("队列")).to_have_text(ORG_QUEUE)
    expect(case.report).to_contain_text(DISCIPLINE_FACTS)


def test_journey_5_a_phone_report_is_registered_and_followed_online(
        web: Web, portal: Portal, story: Story, axe: Axe) -> None:
    """A handler registers a report received by telephone and gives the caller a receipt,
    which opens the case at /report/check."""
    handler = web.page("orghandler")
    StaffLogin(handler).login(portal.staff["orghandler"]).go("案件")
    registered = QueuePage(handler).expect_open().register().register(
        channel="举报电话", category="选人用人问题", person="孙志强", unit="××乡人民政府乡长",
        facts=PHONE_FACTS, give_receipt=True)
    case_no, receipt = registered.case_no(), registered.receipt()
    story.phone_case = case_no
    handler.get_by_role("link", name="打开案件").click()
    case = CasePage(handler).expect_open(case_no)
    expect(case.fact("来源渠道")).to_have_text("举报电话")
    expect(case.report).to_contain_text(PHONE_FACTS)

    caller = web.page("caller")
    mine = CheckPage(caller).open().enter(receipt)
    expect(mine.status).to_have_text("已收到，等待受理")
    expect(mine.report).to_contain_text(PHONE_FACTS)
    axe.check(caller)


def test_journey_6_the_supervisor_sees_the_figures_move(
        web: Web, portal: Portal, story: Story, shots: Screenshots) -> None:
    """The supervisor sees the counts and timings of journeys 2-5, the SVG trend charts
    rendered, and downloads the counts as CSV."""
    story.need(story.objection_case, "the concluded objection", "journey 3")
    story.need(story.discipline_case, "the transferred case", "journey 4")
    story.need(story.phone_case, "the phone report", "journey 5")

    supervisor = web.page("supervisor")
    StaffLogin(supervisor).login(portal.staff["supervisor"])
    dashboard = Dashboard(supervisor)
    charts = dashboard.open()
    shots.take(supervisor, "09-dashboard")

    counts = {row["队列"]: row for row in dashboard.table("counts")}
    # The objection (web, accepted and concluded the same day), the 违纪违法 report (web,
    # moved to the organization department, open) and the phone report (open). A case counts
    # where it is now; its transfer out counts for the commission.
    everything = {"收件数": "3", "网上举报": "2", "举报电话": "1", "匿名": "3", "实名": "0",
                  "受理件数": "1", "移送件数": "1", "办结件数": "1", "当前未结": "2"}
    assert {k: counts["全部队列"][k] for k in everything} == everything
    assert (counts[ORG_QUEUE]["收件数"], counts[ORG_QUEUE]["当前未结"]) == ("3", "2")
    assert counts["××县纪委监委信访室"]["移送件数"] == "1"
    timings = {row["环节"]: row for row in dashboard.table("durations")}
    assert (timings["收件 → 受理决定"]["案件"], timings["收件 → 受理决定"]["中位数"]) == ("1", "0")
    assert (timings["受理 → 办结"]["案件"], timings["受理 → 办结"]["中位数"]) == ("1", "0")
    month = {row["月份"]: row for row in dashboard.table("trend")}[f"{story.today:%Y-%m}"]
    assert (month["收件数"], month["办结件数"]) == ("3", "1")

    assert sorted(urlsplit(r.url).path for r in charts) == [
        f"/staff/supervision/charts/{name}.svg" for name in sorted(CHARTS)]
    for response in charts:
        assert response.ok
        assert (response.header_value("content-type") or "").startswith("image/svg+xml")
    for alt in ("每月收件与办结件数", "从收件到受理决定的工作日中位数"):
        assert dashboard.rendered(dashboard.chart(alt)), f"chart {alt} was not drawn"

    rows = dashboard.download_csv("counts")
    shown = dashboard.table("counts")
    assert rows[0] == list(shown[0])
    assert rows[1:] == [list(row.values()) for row in shown]


def test_journey_7_the_public_journeys_work_without_javascript(
        web: Web, portal: Portal, story: Story) -> None:
    """With JavaScript off: read the notices, file a report, check it and withdraw it."""
    title = story.need(story.notice_title, "the notice", "journey 1")
    end = story.need(story.notice_end, "the notice's period", "journey 1")
    first = story.persons[0]

    page = web.page("citizen without JavaScript", javascript=False)
    home = HomePage(page).open()
    assert home.days_left(title) == portal.working_days_left(end)
    notice = home.open_notice(title)
    expect(notice.fact(first.name, "拟任职务")).to_have_text(first.proposed_post)
    # The page itself is told scripting is off (the CSS media feature `scripting`).
    assert page.evaluate("() => matchMedia('(scripting: none)').matches")

    filed = (HomePage(page).open().file_report()
             .choose("选人用人问题", "违反程序选拔任用干部")
             .about(Concerned("周立新", "××县教育局", "党组书记"))
             .describe("周立新在2025年教育系统中层干部调整中未经民主推荐直接确定人选，多名校长知情。")
             .send())
    receipt = filed.receipt()
    mine = HomePage(page).open().check_report().enter(receipt)
    expect(mine.status).to_have_text("已收到，等待受理")
    mine.withdraw()
    expect(mine.status).to_have_text("已由您撤回")
    expect(page.get_by_role("button", name="发送")).to_have_count(0)


def test_journey_8_a_correction_restarts_the_period_and_reaches_the_feed(
        web: Web, portal: Portal, story: Story, axe: Axe) -> None:
    """A correction to the open notice, approved by a second editor, appears on the public
    page with its reason, restarts the period from its publication, shows in the notice lists
    and the archive search, and is in the Atom feed."""
    title = story.need(story.notice_title, "the notice", "journey 1")
    path = story.need(story.notice_path, "the notice", "journey 1")
    first = story.persons[0]
    corrected_post = f"××镇党委书记、镇人大主席候选人（{story.today:%Y}-1）"
    reason = f"{first.name}同志拟任职务表述不完整，予以更正。"

    editor1 = web.page("editor1")
    StaffLogin(editor1).login(portal.staff["editor1"])
    correction = NoticeList(editor1).open().open_notice(title).correct()
    correction.person_group(1).get_by_label("拟任职务", exact=True).fill(corrected_post)
    proposed = correction.propose_correction(reason)
    expect(proposed.pending_change).to_contain_text(reason)
    expect(proposed.pending_change).to_contain_text("实质性更正：发布后公示期重新计算。")

    editor2 = web.page("editor2")
    StaffLogin(editor2).login(portal.staff["editor2"])
    NoticeList(editor2).open().open_notice(title).approve()

    start, end = portal.publicity_period(portal.today())
    citizen = web.page("citizen")
    notice = NoticePage(citizen).open(path)
    expect(notice.fact(first.name, "拟任职务")).to_have_text(corrected_post)
    expect(notice.corrections).to_contain_text(reason)
    expect(notice.corrections).to_contain_text(
        f"公示期重新计算：{long_date(start)}至{long_date(end)}。")
    expect(notice.head).to_contain_text(f"{long_date(start)}至{long_date(end)}（5个工作日）")
    assert notice.days_left() == portal.working_days_left(end)
    axe.check(citizen)

    listed = HomePage(citizen).open().open_and_upcoming()
    expect(listed.filter(has_text=title)).to_contain_text(corrected_post)
    axe.check(citizen)
    found = HomePage(citizen).open().archive().search(first.name)
    expect(found).to_have_count(1)
    expect(found.first).to_contain_text(title)
    expect(found.first).to_contain_text(f"{first.name}（拟任：{corrected_post}）")
    axe.check(citizen)

    feed = HomePage(citizen).open().atom_feed()
    content = feed.content(feed.entry(title))
    assert f"更正：{reason}" in content
    assert corrected_post in content


def test_journey_9_an_admin_creates_an_account_and_its_holder_activates_it(
        web: Web, portal: Portal, qr: QrReader, axe: Axe) -> None:
    """An admin creates an account; a second admin confirms its role and activation; the person
    activates it with the two halves of the one-time code, sets a passphrase, enrolls TOTP from
    the QR code's secret, and logs in."""
    username = "jiandu2"
    admin = web.page("admin")
    StaffLogin(admin).login(portal.staff["admin"]).go("系统管理")
    accounts = AccountsPage(admin)
    expect(accounts.heading).to_have_text("工作人员账号")
    first = accounts.create(username, "监督人员")
    expect(accounts.account(username)).to_contain_text("待激活")
    # A second administrator confirms the role and is shown the code's second half (#21.3).
    second_admin = web.page("admin2")
    StaffLogin(second_admin).login(portal.staff["admin2"])
    second = RoleRequestsPage(second_admin).open().confirm_all(username)
    assert second
    assert second != first

    newcomer = web.page("newcomer")
    activation = ActivatePage(newcomer).open()
    axe.check(newcomer)
    enrol = activation.start(username, first, second)
    axe.check(newcomer)
    uri = urlsplit(qr.read(enrol.qr_code))
    assert (uri.scheme, uri.netloc) == ("otpauth", "totp")
    secret = parse_qs(uri.query)["secret"][0]
    expect(enrol.key).to_have_text(secret)
    authenticator = Authenticator(secret)
    enrol.finish(NEW_PASSPHRASE, authenticator.next_code())
    axe.check(newcomer)  # the login page, which every member of staff passes

    account = StaffAccount(username, ("supervisor",), authenticator, NEW_PASSPHRASE)
    home = StaffLogin(newcomer).login(account)
    expect(home.main).to_contain_text("监督人员")
    expect(newcomer.get_by_role("navigation").get_by_role("link", name="监督统计")).to_be_visible()
    accounts.open()
    expect(accounts.account(username)).to_contain_text("已启用")


def test_journey_10_an_appointment_rule_blocks_approval_until_the_head_overrides_it(
        web: Web, portal: Portal, story: Story, shots: Screenshots, axe: Axe) -> None:
    """With JavaScript off throughout: an editor drafts a notice and records its batch, decided
    by a standing committee with 5 of its 9 members present; the second editor's approval is
    refused, naming rule 1 and its clause; the organization department's head finds the draft
    among those the rules block, is refused a reason too short, then overrides rule 1 with a
    written reason; the second editor approves; the supervisor follows the dashboard's link to
    the compliance panel and sees the override in red, with its reason."""
    today = story.today
    title = f"中共××县委组织部干部任前公示（{today:%Y}年第2号）"
    person = batch_person(f"{today:%Y}-2")
    start, end = portal.publicity_period(today)

    editor1 = web.page("editor1", javascript=False)
    StaffLogin(editor1).login(portal.staff["editor1"]).go("公示管理")
    draft = (NoticeList(editor1).expect_open().new_notice()
             .fill(title, ISSUER, today).fill_person(1, person).save())
    record = (draft.record_compliance()
              .meeting(Meeting(today - dt.timedelta(days=3), in_office=9, present=5), TERM)
              .nominee(1, person))
    axe.check(editor1)
    shots.take(editor1, "10-compliance-record")
    draft = record.save()
    expect(draft.blocking).to_have_count(1)
    expect(draft.blocking.first).to_contain_text(RULE_1)

    editor2 = web.page("editor2", javascript=False)
    StaffLogin(editor2).login(portal.staff["editor2"])
    notice = NoticeList(editor2).open().open_notice(title)
    refused = notice.approve_refused()
    expect(refused).not_to_contain_text("55.6%")  # the flash counts; the page lists
    expect(notice.blocking).to_have_count(1)
    expect(notice.blocking.first).to_contain_text(
        f"{RULE_1}：常委会：应到9人，实到5人（55.6%）；要求不少于2/3。")
    expect(notice.rule(1)).to_contain_text(RULE_1_CLAUSE)
    expect(notice.rule(1)).to_contain_text(RULE_1_QUOTE)
    expect(notice.verdict(1)).to_have_text("违反")
    for number in range(2, 11):
        expect(notice.verdict(number)).to_have_text("符合")
    # An editor sees the verdicts, but only the department's head may override.
    expect(editor2.get_by_role("button", name="特批规则1")).to_have_count(0)
    axe.check(editor2)
    shots.take(editor2, "11-approval-refused")

    head = web.page("orghead", javascript=False)
    StaffLogin(head).login(portal.staff["orghead"]).go("任用规则")
    waiting = WaitingList(head).expect_open()
    expect(waiting.draft(title)).to_contain_text(RULE_1)
    review = waiting.open_draft(title)
    expect(review.blocking).to_have_count(1)
    expect(review.rule(1)).to_contain_text(RULE_1_CLAUSE)
    override_path = urlsplit(head.url).path.removesuffix("/review") + "/override"
    with web.watch.expecting_status(override_path, 400):
        review.override(1, "人数临时不足")
        expect(review.reason_error(1)).to_have_text("请写明特批理由，至少10个字。")
    expect(review.blocking).to_have_count(1)
    axe.check(head)
    review.override(1, OVERRIDE_REASON)
    review.expect_flash("规则1已对本公示特批。理由已记入审计日志，并向监督人员显示。")
    expect(review.override_note(1)).to_contain_text(OVERRIDE_REASON)
    expect(review.override_note(1)).to_contain_text("orghead")
    expect(review.override_note(1)).to_have_css("color", RED)
    expect(review.main).to_contain_text(RULES_MET)
    axe.check(head)
    shots.take(head, "12-compliance-override")

    # The override changed what the approver reviews: the page is opened afresh.
    notice = NoticeList(editor2).open().open_notice(title)
    expect(notice.editorial).to_contain_text(RULES_MET)
    approved = notice.approve()
    expect(approved.editorial).to_contain_text(f"公示时间：{long_date(start)}至{long_date(end)}")

    supervisor = web.page("supervisor", javascript=False)
    StaffLogin(supervisor).login(portal.staff["supervisor"]).go("监督统计")
    panel = Dashboard(supervisor).expect_open().compliance()
    row = panel.override(title)
    expect(row).to_have_count(1)
    expect(row).to_have_class(re.compile(r"\boverride\b"))
    expect(row).to_have_class(re.compile(r"\bapplied\b"))  # in force at the approval
    expect(row.locator("td").first).to_have_css("color", RED)
    shown = next(r for r in panel.table("overrides") if title in r["公示"])
    assert shown["公示"].startswith("特批"), shown
    assert (shown["状态"], shown["规则"], shown["条款"], shown["理由"], shown["操作人"]) == (
        "已发布", "1. 讨论决定会议的到会人数", RULE_1_CLAUSE, OVERRIDE_REASON, "orghead")
    axe.check(supervisor)
    shots.take(supervisor, "13-compliance-panel")
