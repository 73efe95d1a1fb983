"""Message templates (title/body per receiver and route), the default texts, and links."""

from __future__ import annotations

import tomllib
from typing import Any

import pytest

from broker.notify import render, templates
from broker.notify.base import Notification
from broker.notify.config import parse_notify_config
from broker.notify.slack import slack_payload
from broker.notify.webhook import webhook_payload
from core.config import ConfigError

T = 1_700_000_000.0


def alert(**kw: Any) -> dict[str, Any]:
    a = {"id": "a1", "rule": "high_cpu", "host": "web-1", "severity": "critical",
         "state": "firing", "value": 97.4, "threshold": 90.0, "metric": "cpu.percent",
         "summary": "CPU on web-1 at 97%", "started_at": T, "labels": {"team": "db"}}
    a.update(kw)
    return a


def note(alerts: list[dict[str, Any]], **kw: Any) -> Notification:
    kw.setdefault("status", "firing")
    return Notification(id="n1", receiver="ops", alerts=alerts, created_at=T + 600, **kw)


GROUP = [alert(), alert(id="a2", host="web-2", state="resolved", resolved_at=T + 750,
                        summary="CPU on web-2 at 40%", value=40.0)]


def test_a_body_template_walks_the_group_with_fields_labels_and_filters():
    body = ("{{count_firing}} firing{{#firing}}\n- {{host}} {{value|value}} for "
            "{{duration|duration}} team={{labels.team}} {{severity|upper}}{{/firing}}"
            "{{#resolved}}\n+ {{host}} fired {{duration|duration}}{{/resolved}}"
            "{{^link}}\n(no console){{/link}}")
    n = note(GROUP)
    text = render.render_template(body, n)
    assert text == ("1 firing\n- web-1 97 % for 10m team=db CRITICAL\n"
                    "+ web-2 fired 12m 30s\n(no console)")


def test_route_template_wins_over_the_receivers_and_the_default_is_the_subject():
    n = note([alert()])
    assert render.title(n, {}) == "[FIRING:1] high_cpu on web-1"
    assert render.title(n, {"title": "R: {{rules}}"}) == "R: high_cpu"
    n.title_template = "Route: {{hosts}} {{tag}}"
    assert render.title(n, {"title": "R: {{rules}}"}) == "Route: web-1"


@pytest.mark.parametrize(("tpl", "expected"), [
    ("{{hots}}", "unknown field 'hots' at the top"),
    ("{{#firing}}{{hots}}{{/firing}}", "unknown field 'hots' inside an alert section"),
    ("{{host}}", "alert fields need {{#firing}}"),
    ("{{#firing}}x", "{{#firing}} is never closed"),
    ("{{/firing}}", "closes nothing open"),
    ("{{#firing}}{{value|shout}}{{/firing}}", "unknown filter 'shout'"),
    ("{{ __class__ }}", "unknown field '__class__'"),
])
def test_bad_templates_are_refused_at_load_naming_file_receiver_and_field(tpl, expected):
    toml = ('[[receiver]]\nname = "ops-mail"\ntype = "email"\nto = ["a@b.c"]\n'
            'smtp_host = "localhost"\nfrom = "m@b.c"\n' f"body = {tpl!r}\n".replace("'", '"'))
    with pytest.raises(ConfigError) as err:
        parse_notify_config(tomllib.loads(toml), "notify.toml")
    msg = str(err.value)
    assert msg.startswith("notify.toml: receiver 'ops-mail' key 'body': "), msg
    assert expected in msg, msg


def test_route_templates_are_checked_too():
    toml = ('[[receiver]]\nname = "hook"\ntype = "webhook"\nurl = "http://127.0.0.1:1/x"\n'
            '[[route]]\nreceiver = "hook"\ntitle = "{{nope}}"\n')
    with pytest.raises(ConfigError, match=r"^cfg: route #1 key 'title': unknown field 'nope'"):
        parse_notify_config(tomllib.loads(toml), "cfg")


def test_templates_run_no_code():
    n = note([alert()])
    nodes = templates.check("{{#firing}}{{labels.__class__}}{{labels.team.__len__}}{{/firing}}")
    assert templates.render(nodes, render.context(n)) == ""


def test_default_sms_fits_160_and_a_resolve_says_how_long_it_fired():
    firing = render.short_text(note([alert(summary="x" * 300)]))
    assert len(firing) == 160 and firing.endswith("…")
    done = note([alert(state="resolved", resolved_at=T + 45 * 60)], status="resolved")
    text = render.short_text(done)
    assert text == "[RESOLVED:1] high_cpu on web-1 after 45m" and len(text) <= 160
    assert "Fired for: 45m" in render.text_body(done)


def test_the_sms_keeps_room_for_the_console_link():
    n = note([alert(summary="x" * 300)], external_url="https://ops.example.com")
    text = render.short_text(n)
    assert len(text) == 160 and text.endswith("… https://ops.example.com")


def test_links_only_when_external_url_is_set():
    bare = note([alert()])
    assert "Console" not in render.text_body(bare) and "href" not in render.html_body(bare)
    assert not any("console" in str(b).lower() for b in slack_payload(bare, {})["attachments"])
    assert webhook_payload(bare)["alerts"][0]["generatorURL"] == ""
    linked = note([alert()], external_url="https://ops.example.com")
    assert "Console: https://ops.example.com" in render.text_body(linked)
    assert webhook_payload(linked)["alerts"][0]["generatorURL"] == "https://ops.example.com"
    rb = note([alert(runbook_url="https://wiki/cpu")])
    assert "Runbook: https://wiki/cpu" in render.text_body(rb)


def test_slack_with_a_body_template_sends_the_rendered_text():
    n = note(GROUP)
    p = slack_payload(n, {"title": "{{count}} alerts", "body": "{{#firing}}*{{host}}*{{/firing}}"})
    blocks = p["attachments"][0]["blocks"]
    assert p["text"] == "2 alerts"
    assert {"type": "section", "text": {"type": "mrkdwn", "text": "*web-1*"}} in blocks


def test_anomaly_values_read_with_their_expected_range():
    a = alert(expected=[12.2, 18.4], value=64.0, rule="odd", summary="")
    assert "cpu.percent = 64 % (expected 12–18 %)" in render.text_body(note([a]))
