"""Contact details, hidden names and internal notes never reach a public output."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from test_routing_helpers import NOW, RURAL, new_report, reload, uow_as

from cityops.kernel.context import AppContext
from cityops.services.field_reports import staff_tools, workflow
from cityops.services.field_reports.public import public_view

PHONE, EMAIL, NAME = "0987654321", "bi.mat@example.vn", "Phạm Thị Riêng Tư"
NOTE = "GHI-CHU-NOI-BO-7731"
PLANTED = (PHONE, EMAIL, NAME, NOTE, "0987 654 321")


def _public_outputs(client: TestClient, codes: list[str]) -> list[tuple[str, str]]:
    paths = ["/open311/v2/requests.json", "/open311/v2/requests.xml",
             "/open311/v2/servicerequestupdates.json", "/open311/v2/servicerequestupdates.xml",
             "/open311/v2/services.json", "/open311/v2/services.xml"]
    for code in codes:
        for fmt in ("json", "xml"):
            paths += [f"/open311/v2/requests/{code}.{fmt}", f"/open311/v2/tokens/{code}.{fmt}",
                      f"/open311/v2/servicerequestupdates.{fmt}?service_request_id={code}"]
    return [(p, client.get(p).text) for p in paths]


def _everything_happens(ctx: AppContext) -> list[Any]:
    shown = new_report(ctx, category="garbage", area=RURAL, contact_phone=PHONE,
                       contact_email=EMAIL, contact_name=NAME, show_name=True)
    hidden_name = new_report(ctx, category="noise", area=RURAL, contact_phone=PHONE,
                             contact_name=NAME, show_name=True)
    anonymous = new_report(ctx, category="pothole", area=RURAL, contact_email=EMAIL,
                           contact_name=NAME, attributes={"size": "small"})
    private = new_report(ctx, category="official_conduct", area=RURAL,
                         description="Cán bộ X đòi tiền", contact_phone=PHONE)
    hidden = new_report(ctx, category="garbage", area=RURAL, description="ẨN-HOÀN-TOÀN",
                        contact_phone=PHONE)
    with uow_as(ctx, "operator") as uow:
        for report in (shown, hidden_name, anonymous):
            workflow.assign(uow, report.id, now=NOW)
            staff_tools.add_note(uow, report.id, NOTE, public=False, now=NOW)
            staff_tools.add_note(uow, report.id, "Cập nhật công khai", public=True, now=NOW)
        workflow.transition(uow, shown.id, "resolved", now=NOW, reason="Đã xử lý xong")
        staff_tools.approve_result(uow, shown.id, now=NOW)
        staff_tools.moderate(uow, hidden_name.id, now=NOW, reason="ẩn tên", hide_name=True)
        staff_tools.moderate(uow, hidden.id, now=NOW, reason="spam", hidden=True)
        uow.commit()
    return [shown, hidden_name, anonymous, private, hidden]


def test_no_public_output_leaks(client: TestClient, demo_ctx: AppContext) -> None:
    demo_ctx.clock = lambda: NOW + timedelta(hours=2)  # the API's default 90-day window
    shown, hidden_name, anonymous, private, hidden = _everything_happens(demo_ctx)
    outputs = _public_outputs(client, [r.code for r in (shown, hidden_name, anonymous)])
    joined = "\n".join(text for _, text in outputs)
    assert "Đã xử lý xong" in joined and "Cập nhật công khai" in joined  # the search is real
    for path, text in outputs:
        for secret in PLANTED:
            assert secret not in text, (path, secret)
    # Private categories and hidden reports are not published at all.
    for report in (private, hidden):
        for fmt in ("json", "xml"):
            assert client.get(f"/open311/v2/requests/{report.code}.{fmt}").status_code == 404
    assert "Cán bộ X" not in joined and "ẨN-HOÀN-TOÀN" not in joined
    # The portal's serializer: the chosen name shows, a hidden one does not; notes never.
    views = {r.code: str(public_view(reload(demo_ctx, r.id)))
             for r in (shown, hidden_name, anonymous)}
    assert NAME in views[shown.code]
    for code, view in views.items():
        assert PHONE not in view and EMAIL not in view and NOTE not in view
        if code != shown.code:
            assert NAME not in view


def test_unapproved_result_stays_private(demo_ctx: AppContext, client: TestClient) -> None:
    report = new_report(demo_ctx, category="garbage", area=RURAL)
    with uow_as(demo_ctx, "operator") as uow:
        workflow.assign(uow, report.id, now=NOW)
        workflow.transition(uow, report.id, "resolved", now=NOW, reason="KẾT-QUẢ-CHƯA-DUYỆT")
        uow.commit()
    assert "KẾT-QUẢ-CHƯA-DUYỆT" not in str(public_view(reload(demo_ctx, report.id)))
    updates = client.get(f"/open311/v2/servicerequestupdates.json"
                         f"?service_request_id={report.code}")
    assert "KẾT-QUẢ-CHƯA-DUYỆT" not in updates.text
    for fmt in ("json", "xml"):
        one = client.get(f"/open311/v2/requests/{report.code}.{fmt}")
        assert one.status_code == 200 and "KẾT-QUẢ-CHƯA-DUYỆT" not in one.text
    with uow_as(demo_ctx, "operator") as uow:
        staff_tools.approve_result(uow, report.id, now=NOW)
        uow.commit()
    assert "KẾT-QUẢ-CHƯA-DUYỆT" in str(public_view(reload(demo_ctx, report.id)))
