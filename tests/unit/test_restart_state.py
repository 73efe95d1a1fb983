"""What survives a broker restart: engine state judged by last-seen, groups, stable ids."""

from __future__ import annotations

import msgpack

from broker.alerting.engine import RESTART_HOLD_S
from broker.notify import group_state
from broker.notify.groups import Grouper
from tests.unit.engine_helpers import T0, engine_from, only, rule, transitions
from tests.unit.test_notify_routing import alert, route

DOWN = rule("down", kind="host_down", for_="30s")
CPU_FOR = rule("cpu", kind="threshold", metric="cpu.percent", critical=90, clear=5,
               for_="60s")


def restarted(e, text):  # type: ignore[no-untyped-def]
    e2 = engine_from(text)
    e2.restore_state(msgpack.unpackb(msgpack.packb(e.dump_state())))
    return e2


def test_firing_host_down_keeps_firing_with_its_ack_across_a_restart() -> None:
    e = engine_from(DOWN)
    e.set_origin("h1", "agent-1", "boot-1", 7)
    e.on_sample("h1", {"cpu.percent": 1}, None, T0)
    e.tick(T0 + 1)
    assert transitions(e.tick(T0 + 31)) == [("inactive", "firing")]
    a = only(e, rule="down")
    e.ack(a["id"], "ann", "known", False, None, T0 + 32)
    e2 = restarted(e, DOWN)
    for t in range(0, 120, 1):  # a long outage and more than a host_down period after
        assert e2.tick(T0 + 300 + t) == [], t
    b = only(e2, rule="down")
    assert (b["state"], b["acked"], b["episode"]) == ("firing", True, a["episode"])
    ev = e2.on_sample("h1", {"cpu.percent": 1}, None, T0 + 500)  # it comes back: resolves
    assert transitions(ev) == [("firing", "resolved")]


def test_a_live_host_is_not_paged_while_agents_reconnect() -> None:
    e = engine_from(DOWN)
    e.on_sample("h1", {"cpu.percent": 1}, None, T0)
    e2 = restarted(e, DOWN)
    assert e2.tick(T0 + 100) == []  # silent 100 s by last-seen, but the hold is on
    e2.on_sample("h1", {"cpu.percent": 1}, None, T0 + 100 + RESTART_HOLD_S - 1)
    assert e2.tick(T0 + 100 + RESTART_HOLD_S) == []  # it was back in time


def test_pending_for_timer_resumes_from_its_saved_start() -> None:
    e = engine_from(CPU_FOR)
    e.on_sample("h1", {"cpu.percent": 99}, None, T0)
    assert only(e, rule="cpu")["state"] == "pending"
    e2 = restarted(e, CPU_FOR)
    e2.on_sample("h1", {"cpu.percent": 99}, None, T0 + 50)
    assert only(e2, rule="cpu")["state"] == "pending"
    assert transitions(e2.on_sample("h1", {"cpu.percent": 99}, None, T0 + 60)) == [
        ("pending", "firing")]  # 60 s after the first sample, not after the restart


def test_episode_id_is_a_hash_of_fingerprint_and_the_starting_sample() -> None:
    def fire(seq: int) -> str:
        e = engine_from(rule("cpu", kind="threshold", metric="cpu.percent", critical=90))
        e.set_origin("h1", "agent-1", "boot-1", seq)
        e.on_sample("h1", {"cpu.percent": 99}, None, T0 + seq)
        return str(only(e, rule="cpu")["episode"])
    assert fire(5) == fire(5) and fire(5) != fire(6) and len(fire(5)) == 16


def test_notification_ids_are_deterministic_and_repeats_get_their_own() -> None:
    def run() -> list[str]:
        g = Grouper([route(group_wait=0, group_interval=60, repeat_interval=120)])
        ids = [n.id for n in g.update(alert(episode="e1"), T0)]
        ids += [n.id for n in g.tick(T0 + 120)]  # a repeat
        g.update(alert(state="resolved", episode="e1"), T0 + 130)
        ids += [n.id for n in g.tick(T0 + 180)]
        return ids
    first, second = run(), run()
    assert first == second and len(set(first)) == 3


def test_groups_survive_a_restart_so_resolved_is_sent() -> None:
    routes = [route(group_wait=0, group_interval=60)]
    g = Grouper(routes)
    (fired,) = g.update(alert(episode="e1"), T0)
    g2 = Grouper(routes)
    assert group_state.load(g2, group_state.dump(g)) == 1
    assert g2.update(alert(episode="e1"), T0 + 5) == []  # re-fired after a crash: no page
    g2.update(alert(state="resolved", episode="e1"), T0 + 10)
    (res,) = g2.tick(T0 + 60)
    assert res.status == "resolved" and res.id != fired.id


def test_one_escalation_per_episode_however_many_receivers() -> None:
    g = Grouper([route(receivers=["a", "b", "c", "d"], group_wait=0, group_interval=60,
                       repeat_interval=10**6, escalate_after=900, escalate_to="boss")])
    g.update(alert(episode="e1"), T0)
    esc = [n for n in g.tick(T0 + 900) if n.receiver == "boss"]
    assert len(esc) == 1 and esc[0].kind == "escalation"
    g.update(alert(acked=True, episode="e1"), T0 + 1000)
    g.update(alert(acked=False, episode="e1"), T0 + 1100)  # unack
    assert [n for n in g.tick(T0 + 2000) if n.receiver == "boss"] == []
    g.update(alert(state="resolved", episode="e1"), T0 + 2100)
    res = [n for n in g.tick(T0 + 2160) if n.receiver == "boss"]
    assert len(res) == 1 and res[0].status == "resolved"


def test_a_crash_between_attempt_and_record_is_resent_with_the_same_id_and_counted(
        tmp_path) -> None:  # type: ignore[no-untyped-def]
    from broker.notify.base import Notification
    from broker.notify.outbox import Outbox

    box = Outbox(tmp_path / "notify.db")
    n = Notification(id="n1", receiver="hook", status="firing", alerts=[alert()])
    box.add(n, "s", T0, 3600)
    box.mark_sending("n1", T0 + 1)  # the POST went out; the process died before the mark
    box.close()
    again = Outbox(tmp_path / "notify.db")
    assert again.resent_after_crash == 1
    assert [r.id for r in again.due("hook", T0 + 2)] == ["n1"]  # same id: same key
    again.mark_delivered("n1", T0 + 3)
    again.close()
    assert Outbox(tmp_path / "notify.db").resent_after_crash == 0
