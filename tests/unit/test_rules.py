"""Rules: the shipped defaults load, every kind parses, every mistake names file/rule/key."""

from __future__ import annotations

import tomllib

import pytest

from broker.alerting.globs import compile_glob, never_matches
from broker.alerting.rules import KINDS, Rule, default_rules, load_rules, parse_rules
from core.config import ConfigError


def rules_from(text: str, source: str = "rules.toml") -> list[Rule]:
    return parse_rules(tomllib.loads(text)["rule"], source)


def test_default_rules_cover_the_issue_list():
    rules = {r.name: r for r in default_rules()}
    assert set(rules) == {"high_cpu_usage", "high_memory_usage", "disk_full", "disk_will_fill",
                          "high_load", "high_swap_usage", "network_errors", "host_down",
                          "log_errors"}
    assert rules["high_load"].per_core is True
    assert rules["disk_will_fill"].kind == "forecast"
    assert rules["disk_will_fill"].horizon == 4 * 3600
    assert rules["host_down"].for_ == 30
    assert rules["log_errors"].count == 5 and rules["log_errors"].over == 60
    assert compile_glob(rules["network_errors"].metric)("net.eth0.errout_ps")
    assert compile_glob(rules["disk_full"].metric)("disk./.percent")
    assert not compile_glob(rules["disk_full"].metric)("disk./.used")


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_parses_with_its_keys(kind):
    extra = {
        "threshold": 'metric = "cpu.percent"\nwarning = 80\nover = "1m"\nagg = "p95"',
        "rate": 'metric = "proc.count"\nwarning = 5\nover = "30s"',
        "absent": 'metric = "cpu.percent"\nfor = "2m"',
        "host_down": 'for = "45s"',
        "forecast": 'metric = "disk.*.percent"\ncritical = 100\nhorizon = "2h"',
        "anomaly": 'metric = "cpu.percent"\nsensitivity = 7\nwindow = 300\nwarmup = 10',
        "log": 'pattern = "ERROR"\ncount = 3\nsource = "/var/log/*"',
    }[kind]
    (rule,) = rules_from(f'[[rule]]\nname = "r1"\nkind = "{kind}"\n{extra}\n')
    assert rule.kind == kind and rule.name == "r1"
    assert rule.to_dict()["name"] == "r1"


def test_durations_and_defaults():
    (r,) = rules_from('[[rule]]\nname = "x"\nkind = "threshold"\nmetric = "cpu.percent"\n'
                      'critical = 90\nfor = "1m30s"\nkeep_firing_for = "10s"\n')
    assert (r.for_, r.keep_firing_for, r.op, r.warning, r.clear, r.agg) == (
        90.0, 10.0, ">", None, 0.0, "last")


BAD = [
    ('metric = "cpu.percent"\nwarning = 1\nfor = "3x"', "key 'for': bad duration '3x'"),
    ('metric = "cpu.percent"\nwarning = 1\nbogus = 1', "unknown key 'bogus'"),
    ('metric = "cpu.percent"', "key 'critical': missing threshold"),
    ('metric = "cpu.percent"\nwarning = 1\nop = "=>"', "key 'op': bad value '=>'"),
    ('metric = ""\nwarning = 1', "key 'metric': glob '' can never match: it is empty"),
    ('metric = "cpu percent"\nwarning = 1', "key 'metric': glob 'cpu percent' can never match"),
    ('metric = "cpu..percent"\nwarning = 1', "key 'metric': glob 'cpu..percent' can never"),
    ('metric = ".cpu"\nwarning = 1', "key 'metric': glob '.cpu' can never match"),
    ('metric = "disk.[abc.percent"\nwarning = 1', "unclosed '['"),
    ('warning = 1', "key 'metric': missing"),
    ('metric = "cpu.percent"\nwarning = "high"', "key 'warning': expected a number"),
    ('metric = "cpu.percent"\nwarning = 90\ncritical = 80', "key 'critical': 80.0 is less severe"),
    ('metric = "cpu.percent"\nwarning = 1\nagg = "median"\nover = "1m"', "key 'agg': bad value"),
    ('metric = "cpu.percent"\nwarning = 1\nagg = "max"', "key 'agg': 'max' needs a window"),
    ('metric = "cpu.percent"\nwarning = 1\nclear = -1', "key 'clear': -1 is below the minimum"),
    ('metric = "cpu.percent"\nwarning = 1\nlabels = { host = "x" }', "label 'host' is reserved"),
    ('metric = "cpu.percent"\nwarning = 1\nsummary = "{nope}"', "key 'summary': bad template"),
    ('metric = "cpu.percent"\nwarning = 1\nhosts = [1]', "key 'hosts': expected a list"),
    ('metric = "cpu.percent"\nwarning = 1\nflap_start = 20\nflap_stop = 40',
     "key 'flap_stop': must not exceed"),
]


@pytest.mark.parametrize(("body", "expected"), BAD)
def test_bad_threshold_rules_name_file_rule_and_key(body, expected):
    with pytest.raises(ConfigError) as err:
        rules_from(f'[[rule]]\nname = "high_cpu"\nkind = "threshold"\n{body}\n')
    msg = str(err.value)
    assert msg.startswith("rules.toml: rule 'high_cpu'"), msg
    assert expected in msg, msg


@pytest.mark.parametrize(("body", "expected"), [
    ('kind = "log"\npattern = "(unclosed"', "key 'pattern': bad regex '(unclosed'"),
    ('kind = "log"', "key 'pattern': missing or empty regex"),
    ('kind = "log"\npattern = "x"\nseverity = "disaster"', "key 'severity': bad value"),
    ('kind = "log"\npattern = "x"\ncount = 0', "key 'count': 0 is below the minimum 1"),
    ('kind = "log"\nlevel = "loud+"', "key 'level': unknown level 'loud+'"),
    ('kind = "log"\nlevel = 3', "key 'level': expected a level or a list of levels"),
    ('kind = "rate"\nmetric = "x"\nwarning = 1\ncounter = "yes"', "key 'counter': expected true"),
    ('kind = "host_down"\nfor = "0s"', "key 'for': the no-data duration must be above zero"),
    ('kind = "host_down"\nmetric = "cpu.percent"', "unknown key 'metric'"),
    ('kind = "anomaly"\nmetric = "cpu.percent"\nsensitivity = 11', "key 'sensitivity': 11 is above"),
    ('kind = "anomaly"\nmetric = "cpu.percent"\nwindow = 3', "key 'window': 3 is below"),
    ('kind = "anomaly"\nmetric = "cpu.percent"\nwarning = -2', "key 'warning': anomaly"),
    ('kind = "forecast"\nmetric = "x"\nwarning = 1\nhorizon = "soon"', "key 'horizon': bad"),
    ('kind = "rate"\nmetric = "x"\nwarning = 1\nover = "0s"', "key 'over': the window must"),
    ('kind = "magic"', "key 'kind': bad value 'magic'"),
    ('metric = "x"', "key 'kind': missing"),
])
def test_bad_rules_of_other_kinds(body, expected):
    with pytest.raises(ConfigError) as err:
        rules_from(f'[[rule]]\nname = "r9"\n{body}\n')
    assert str(err.value).startswith("rules.toml: rule 'r9'"), str(err.value)
    assert expected in str(err.value), str(err.value)


def test_rule_without_a_name_is_named_by_position():
    with pytest.raises(ConfigError, match=r"rules.toml: rule #2 key 'name'"):
        rules_from('[[rule]]\nname = "a"\nkind = "host_down"\n[[rule]]\nkind = "host_down"\n')


def test_duplicate_rule_names_are_refused():
    with pytest.raises(ConfigError, match="rule 'a' key 'name': defined twice"):
        rules_from('[[rule]]\nname = "a"\nkind = "host_down"\n'
                   '[[rule]]\nname = "a"\nkind = "host_down"\n')


def test_load_rules_names_the_file(tmp_path):
    path = tmp_path / "mine.toml"
    path.write_text('[[rule]]\nname = "c"\nkind = "threshold"\nmetric = "cpu.percent"\n'
                    'warning = 1\nfor = "3x"\n')
    with pytest.raises(ConfigError, match=rf"^{path}: rule 'c' key 'for': bad duration '3x'"):
        load_rules(path)
    path.write_text('[[rule]]\nname = "c"\nkind = "host_down"\n')
    assert [r.name for r in load_rules(path)] == ["c"]
    path.write_text('[rules]\nname = "c"\n')
    with pytest.raises(ConfigError, match="unknown key 'rules'"):
        load_rules(path)
    with pytest.raises(ConfigError, match="no such file"):
        load_rules(tmp_path / "missing.toml")


@pytest.mark.parametrize(("glob", "ok"), [
    ("cpu.percent", True), ("disk.*.percent", True), ("net.eth[0-9].rx_bps", True),
    ("disk./.percent", True), ("", False), ("a b", False), ("cpu.", False), ("a\tb", False),
    ("x" * 201, False), ("x" * 200, True), ("*" + "x" * 199, True), ("[", False),
])
def test_never_matches(glob, ok):
    assert (never_matches(glob) is None) is ok
