"""Rule pages: list and filters, a rule's YAML and versions, add, enable/disable, restore."""

from __future__ import annotations

from conftest import browser_login, post_form
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from cityops.kernel.context import AppContext
from cityops.services.soc.models import SocRule

RULE_ID = "7c1d2e3f-4a5b-4c6d-8e9f-0a1b2c3d4e5f"
RULE = f"""title: Web shell written to the portal <uploads>
id: {RULE_ID}
status: experimental
author: SOC Đắk Lắk
level: critical
tags: [attack.persistence, attack.t1505.003]
logsource: {{product: linux, category: file_event}}
detection:
  sel:
    TargetFilename|startswith: '/var/www/portal/uploads/'
    TargetFilename|endswith: ['.php', '.jsp']
  condition: sel
"""


def rule_count(ctx: AppContext) -> int:
    with ctx.db.session() as session:
        return session.scalar(select(func.count()).select_from(SocRule)) or 0


def test_add_a_custom_rule_then_disable_enable_and_restore(client: TestClient) -> None:
    browser_login(client, "soc", next_path="/soc/rules")
    created = post_form(client, "/soc/rules/new", "/soc/rules/new", {"yaml_text": RULE})
    assert created.status_code == 303 and created.headers["location"] == f"/soc/rules/{RULE_ID}"
    page = client.get(f"/soc/rules/{RULE_ID}")
    assert page.status_code == 200
    assert "Đã thêm và bật quy tắc." in page.text
    # The YAML is shown escaped, as text.
    assert "&lt;uploads&gt;" in page.text and "<uploads>" not in page.text
    assert 'data-version="1"' in page.text

    path = f"/soc/rules/{RULE_ID}"
    off = post_form(client, path, f"{path}/enabled", {"enabled": "no"})
    assert off.status_code == 303
    page = client.get(path).text
    assert "Đã tắt quy tắc." in page and 'data-version="2"' in page
    listed = client.get("/soc/rules", params={"enabled": "no", "origin": "custom"}).text
    assert f'data-rule="{RULE_ID}"' in listed
    assert post_form(client, path, f"{path}/restore", {"version": "1"}).status_code == 303
    page = client.get(path).text
    assert 'data-version="3"' in page and "Đã khôi phục phiên bản 1" in page
    enabled = client.get("/soc/rules", params={"enabled": "yes", "level": "critical",
                                               "status": "experimental", "q": "portal"}).text
    assert f'data-rule="{RULE_ID}"' in enabled


def test_bad_and_duplicate_rules_are_refused_and_nothing_is_stored(
        client: TestClient, demo_ctx: AppContext) -> None:
    browser_login(client, "soc", next_path="/soc/rules")
    before = rule_count(demo_ctx)
    broken = post_form(client, "/soc/rules/new", "/soc/rules/new",
                       {"yaml_text": "title: x\ndetection: [unclosed"})
    assert broken.status_code == 400
    assert "Chưa thêm được quy tắc:" in broken.text and "not valid YAML" in broken.text
    assert "[unclosed" in broken.text  # the typed text is kept for correction
    no_id = post_form(client, "/soc/rules/new", "/soc/rules/new",
                      {"yaml_text": RULE.replace(f"id: {RULE_ID}\n", "")})
    assert no_id.status_code == 400
    assert rule_count(demo_ctx) == before
    assert post_form(client, "/soc/rules/new", "/soc/rules/new",
                     {"yaml_text": RULE}).status_code == 303
    again = post_form(client, "/soc/rules/new", "/soc/rules/new", {"yaml_text": RULE})
    assert again.status_code == 409 and "already exists" in again.text
    assert rule_count(demo_ctx) == before + 1


def test_forms_need_the_csrf_token(client: TestClient, demo_ctx: AppContext) -> None:
    browser_login(client, "soc", next_path="/soc/rules")
    before = rule_count(demo_ctx)
    refused = client.post("/soc/rules/new", data={"yaml_text": RULE}, follow_redirects=False)
    assert refused.status_code == 403 and rule_count(demo_ctx) == before


def test_bundled_rules_list_and_page(client: TestClient, demo_ctx: AppContext) -> None:
    with demo_ctx.db.session() as session:
        bundled = session.scalars(select(SocRule).where(SocRule.origin == "bundled")
                                  .order_by(SocRule.rule_id)).first()
    assert bundled is not None  # the demo syncs its rules from the bundled SigmaHQ set
    browser_login(client, "leader", next_path="/soc/rules")
    listed = client.get("/soc/rules", params={"origin": "bundled"}).text
    assert f'data-rule="{bundled.rule_id}"' in listed
    assert "Thêm quy tắc tự xây dựng" not in listed  # a leader reads, does not edit
    page = client.get(f"/soc/rules/{bundled.rule_id}")
    assert page.status_code == 200 and bundled.source_path in page.text
    assert 'action="/soc/rules/' not in page.text
    assert client.get("/soc/rules/no-such-rule").status_code == 404


def test_officers_read_rules_but_cannot_change_them(client: TestClient) -> None:
    browser_login(client, "soc", next_path="/soc/rules")
    assert post_form(client, "/soc/rules/new", "/soc/rules/new",
                     {"yaml_text": RULE}).status_code == 303
    client.cookies.clear()
    browser_login(client, "so-xd", next_path="/soc/rules")
    assert client.get(f"/soc/rules/{RULE_ID}").status_code == 200
    assert client.get("/soc/rules/new").status_code == 403
    path = f"/soc/rules/{RULE_ID}"
    assert post_form(client, path, f"{path}/enabled", {"enabled": "no"}).status_code == 403
    assert post_form(client, "/soc/rules", "/soc/rules/new",
                     {"yaml_text": RULE.replace(RULE_ID, RULE_ID[:-1] + "0")}).status_code == 403


def test_edit_a_custom_rule_but_not_a_bundled_one(client: TestClient,
                                                  demo_ctx: AppContext) -> None:
    browser_login(client, "soc", next_path="/soc/rules")
    assert post_form(client, "/soc/rules/new", "/soc/rules/new",
                     {"yaml_text": RULE}).status_code == 303
    edit = f"/soc/rules/{RULE_ID}/edit"
    form = client.get(edit)
    assert form.status_code == 200 and "level: critical" in form.text
    wrong_id = post_form(client, edit, edit, {"yaml_text": RULE.replace(RULE_ID, RULE_ID[:-1]
                                                                         + "0")})
    assert wrong_id.status_code == 400 and "must stay" in wrong_id.text
    saved = post_form(client, edit, edit,
                      {"yaml_text": RULE.replace("level: critical", "level: medium")})
    assert saved.status_code == 303
    page = client.get(f"/soc/rules/{RULE_ID}").text
    assert 'data-version="2"' in page and "Đã lưu quy tắc thành phiên bản mới." in page
    with demo_ctx.db.session() as session:
        level = session.scalar(select(SocRule.level).where(SocRule.rule_id == RULE_ID))
        bundled = session.scalar(select(SocRule.rule_id).where(SocRule.origin == "bundled"))
    assert level == "medium"
    assert client.get(f"/soc/rules/{bundled}/edit").status_code == 409
