import re
from tests.conftest import AuthActions
from tests.intake_support import make_desk, post_report, receipt_of, csrf_of


def test_smoke(app, make_staff):
    head = make_staff("orghead", "org_head")
    desk = make_desk(app, make_staff)
    client = app.test_client()
    status, html = post_report(client, {"category": desk.category_id("selection"),
        "facts": "Something happened that is long enough", "persons-0-name": "张三",
        "real_name": "y", "reporter_name": "李四", "reporter_phone": "123"})
    assert status == 200, html[:3000]
    staff = app.test_client()
    AuthActions(staff).login(head)
    page = staff.get("/staff/cases/")
    assert page.status_code == 200, page.get_data(as_text=True)[:3000]
    html = page.get_data(as_text=True)
    no = re.search(r"(\d{4}-\d{5})", html).group(1)
    page = staff.get(f"/staff/cases/{no}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200, html[-3000:]
    __import__("pathlib").Path("/tmp/smoke/case.html").write_text(html)
    tok = re.search(r'name="accept-csrf_token"[^>]*value="([^"]+)"', html).group(1)
    ver = re.search(r'name="accept-version"[^>]*value="([^"]+)"', html).group(1)
    r = staff.post(f"/staff/cases/{no}/accept", data={"accept-csrf_token": tok, "accept-version": ver, "accept-disposition": "核查"})
    assert r.status_code == 303, r.get_data(as_text=True)[-3000:]
    html = staff.get(f"/staff/cases/{no}").get_data(as_text=True)
    __import__("pathlib").Path("/tmp/smoke/case2.html").write_text(html)
    r = staff.post(f"/staff/cases/{no}/accept", data={"accept-csrf_token": tok, "accept-version": ver, "accept-disposition": "核查"})
    assert r.status_code == 409, r.status_code
    html = staff.get("/staff/cases/register").get_data(as_text=True)
    __import__("pathlib").Path("/tmp/smoke/reg.html").write_text(html)
