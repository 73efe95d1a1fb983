"""[[receiver]] / [[route]] parsing: strict, errors name the receiver (or route) and key."""

from __future__ import annotations

import tomllib

import pytest

from broker.notify.config import parse_notify_config
from core.config import ConfigError

EXAMPLE = """
[[receiver]]
name = "ops-mail"
type = "email"
to = ["ops@example.com"]
from = "monitor@example.com"
smtp_host = "127.0.0.1"
smtp_port = 2525
password_env = "SMTP_PASSWORD"

[[receiver]]
name = "hook"
type = "webhook"
url = "http://127.0.0.1:9999/alerts"

[[route]]
receiver = "hook"
match = { severity = "critical" }
group_wait = "0s"
"""


def parse(text: str) -> object:
    return parse_notify_config(tomllib.loads(text), "broker.toml")


def err(text: str) -> str:
    with pytest.raises(ConfigError) as exc:
        parse(text)
    return str(exc.value)


def test_issue_example_parses(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SMTP_PASSWORD", "s3cret-pw")
    cfg = parse(EXAMPLE)
    mail = cfg.receivers["ops-mail"]
    assert mail.type == "email" and mail.settings["smtp_port"] == 2525
    assert mail.secrets == {"password": "s3cret-pw"}
    assert "s3cret-pw" not in repr(cfg) and "s3cret-pw" not in repr(mail.make_channel())
    (route,) = cfg.routes
    assert route.receivers == ["hook"] and route.group_wait == 0
    assert [str(m) for m in route.matchers] == ["severity=critical"]


def test_missing_env_secret_names_receiver_and_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SMTP_PASSWORD", raising=False)
    msg = err(EXAMPLE)
    assert msg.startswith("broker.toml: receiver 'ops-mail' key 'password_env'")
    assert "SMTP_PASSWORD" in msg


def test_secret_from_file(tmp_path) -> None:
    f = tmp_path / "token"
    f.write_text("tok-123\n")
    cfg = parse(f"""
[[receiver]]
name = "pager"
type = "sms"
account_sid = "AC123"
token_file = "{f}"
from = "+15550000"
to = ["+15551111", "+15552222"]
""")
    assert cfg.receivers["pager"].secrets["token"] == "tok-123"


@pytest.mark.parametrize(("body", "expect"), [
    ('name = "x"\ntype = "carrier-pigeon"', "receiver 'x' key 'type': unknown channel type"),
    ('name = "hook"\ntype = "webhook"', "receiver 'hook' key 'url': missing required"),
    ('name = "hook"\ntype = "webhook"\nurl = "ftp://x/y"', "receiver 'hook' key 'url': invalid URL"),
    ('name = "hook"\ntype = "webhook"\nurl = "not a url"', "receiver 'hook' key 'url': invalid URL"),
    ('name = "hook"\ntype = "webhook"\nurl = "http://h/"\nurll = 1', "receiver 'hook': unknown key 'urll'"),
    ('name = "m"\ntype = "email"\nto = ["a@b"]\nfrom = "c@d"\nsmtp_host = "h"\nsmtp_port = "25"',
     "receiver 'm' key 'smtp_port': expected an integer"),
    ('name = "m"\ntype = "email"\nto = ["a@b"]\nfrom = "c@d"\nsmtp_host = "h"\nsmtp_port = 70000',
     "receiver 'm' key 'smtp_port': port 70000 out of range"),
    ('name = "m"\ntype = "email"\nto = ["nobody"]\nfrom = "c@d"\nsmtp_host = "h"',
     "receiver 'm' key 'to': 'nobody' is not an email address"),
    ('name = "m"\ntype = "email"\nto = ["a@b"]\nfrom = "c@d"\nsmtp_host = "h"\npassword = "pw"',
     "receiver 'm' key 'password': inline secrets are not accepted"),
    ('name = "s"\ntype = "slack"\nurl = "hooks.slack.com/x"', "receiver 's' key 'url': invalid URL"),
    ('name = "t"\ntype = "sms"\naccount_sid = "AC1"\nfrom = "+1"\nto = ["+2"]',
     "receiver 't' key 'token': missing required setting (or token_env / token_file)"),
    ('name = "hook"\ntype = "webhook"\nurl = "http://h/"\nrate_limit = "lots"',
     "receiver 'hook' key 'rate_limit'"),
    ('name = "hook"\ntype = "webhook"\nurl = "http://h/"\ntimeout = "soon"',
     "receiver 'hook' key 'timeout'"),
])
def test_bad_receiver(body: str, expect: str) -> None:
    msg = err("[[receiver]]\n" + body)
    assert expect in msg, msg
    assert "'pw'" not in msg


def test_inline_secret_value_never_in_error() -> None:
    msg = err('[[receiver]]\nname = "s"\ntype = "slack"\nurl = "https://hooks.example/T0/B0/XYZSECRET"'
              '\nchannel = 5')
    assert "key 'channel'" in msg and "XYZSECRET" not in msg


def test_apprise_not_installed_is_a_clear_error() -> None:
    msg = err('[[receiver]]\nname = "chat"\ntype = "apprise"\nurls = ["ntfy://topic"]')
    assert "receiver 'chat' key 'type'" in msg and "pip install" in msg


HOOK = '[[receiver]]\nname = "hook"\ntype = "webhook"\nurl = "http://127.0.0.1:1/x"\n'


@pytest.mark.parametrize(("body", "expect"), [
    ('receiver = "nope"', "route #1 key 'receiver': unknown receiver 'nope'"),
    ('receiver = "hook"\nmatchers = ["severity=~\\"(\\""]', "route #1 key 'matchers': bad regex"),
    ('receiver = "hook"\nmatchers = ["severity"]', "route #1 key 'matchers': bad matcher"),
    ('receiver = "hook"\ngroup_wait = "later"', "route #1 key 'group_wait'"),
    ('receiver = "hook"\nescalate_after = "15m"', "route #1 key 'escalate_to'"),
    ('receiver = "hook"\nescalate_after = "15m"\nescalate_to = "boss"',
     "route #1 key 'escalate_to': unknown receiver"),
    ('receiver = "hook"\nactive_time = { days = ["funday"] }', "route #1 key 'active_time': days"),
    ('receiver = "hook"\nmute_time = { start = "25:00" }', "route #1 key 'mute_time': start"),
    ('receiver = "hook"\nmute_time = { timezone = "Mars/Olympus" }', "unknown time zone"),
    ('receiver = "hook"\ncontinu = true', "route #1: unknown key 'continu'"),
])
def test_bad_route(body: str, expect: str) -> None:
    msg = err(HOOK + "[[route]]\n" + body)
    assert expect in msg, msg


def test_full_route() -> None:
    cfg = parse(HOOK + """
[[receiver]]
name = "boss"
type = "webhook"
url = "https://boss.example/hook"
rate_limit = "5/1m"
[[route]]
receiver = ["hook", "boss"]
matchers = ['host=~"web-.*"', "rule!=disk_full"]
match_re = { severity = "warning|critical" }
continue = true
group_by = ["..."]
group_wait = "10s"
group_interval = "1m"
repeat_interval = "1h"
send_resolved = false
escalate_after = "15m"
escalate_to = "boss"
active_time = [{ days = ["mon", "tue", "wed", "thu", "fri"], start = "08:00", end = "20:00" }]
""")
    r = cfg.routes[0]
    assert r.receivers == ["hook", "boss"] and r.cont and not r.send_resolved
    assert (r.group_wait, r.group_interval, r.repeat_interval) == (10, 60, 3600)
    assert r.escalate_after == 900 and r.escalate_to == "boss"
    assert len(r.matchers) == 3 and len(r.active_time) == 1
    assert cfg.receivers["boss"].rate_limit == (5, 60.0)
