import re
from test_alert_notification_settings import login, post_form, HOOKS
def test_peek(client, auth_headers, ctx):
    login(client, "operator")
    post_form(client, "/alerts/webhooks", "/alerts/webhooks", {"name": "IOC hook", "url": "https://a.example/h", "kind": "sms", "services": ["health"]})
    for path in ("/alerts/notifications", "/alerts/notifications/settings", "/alerts/webhooks", "/alerts/deliveries"):
        r = client.get(path)
        body = r.text.split("<main", 1)[-1] if "<main" in r.text else r.text
        text = re.sub(r"<style>.*?</style>", "", body, flags=re.S)
        text = re.sub(r"<[^>]+>", " ", text)
        print(path, r.status_code, re.sub(r"\s+", " ", text)[:1500])
