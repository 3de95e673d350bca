"""powervc_vsn after interruptions: killed runs, early timeouts, lost answers, 5xx after the work was done.

Each case interrupts a real ansible-playbook run, then runs the same task again and checks, from the
emulator's state and journal, that the VSNs end where they should, that the result tells the truth,
and that no change was sent twice (a second call PowerVC *refused* because the first one was still
settling changes nothing, and is the only way the API lets a new run see a change under way).
"""

import time

import pytest

from tests.integration.test_powervc_vsn import defaults, task

MOVE = dict(state="moved", source_host="prod-p10-a", target_host="dr-p10-b", vsns=["CDF0002", "CDF0003"])
TARGET = "9109RMD_1031CAT"
SERVER = "ibmi-test-02"  # SHUTOFF, no VSN
ASSIGN = dict(state="assigned", vm=SERVER, vsn="ABCD567")
ASSIGN_AUTO = {**ASSIGN, "vsn": "auto"}
MOVE_FIRST = {**MOVE, "vsns": ["CDF0002"]}
VSN_PATH = "/virtual-serial-number"
ACTION_PATH = "/servers/.*/action"


def changes(handle):
    """Mutating calls other than Keystone's token create/revoke."""
    return handle.admin.mutations(ignore=(r"^/v3/",))


def puts(handle):
    """(VSNs, status) of every move that reached the emulator's handler (injected answers left out)."""
    return [(e["body"]["move_vsns"]["vsns"], e["status"]) for e in handle.admin.mutations() if e["method"] == "PUT"]


def actions(handle):
    return [(e["body"], e["status"]) for e in handle.admin.mutations() if e["path"].endswith("/action")]


def accepted(calls):
    return [c for c in calls if c[1] is not None and 200 <= c[1] < 300]


def hosts(handle, vsns=("CDF0002", "CDF0003")):
    reserved = {r["virtual_serial_number"]: r["host"] for r in handle.admin.state()["reserved"]}
    return [reserved.get(v) for v in vsns]


def server_vsn(handle, name=SERVER):
    return next(s["virtual_serial_number"] for s in handle.admin.state()["servers"] if s["name"] == name)


def settings(handle, **values):
    handle.admin.action("settings", values)


def run(ansible, handle, name="task", **args):
    play = ansible.play([task(name, ignore_errors=True, **args)], module_defaults=defaults(handle))
    return play.result(name)


def journal_has(handle, method, path, status):
    def predicate():
        return any(e["method"] == method and path in e["path"] + "?" + e["query"] and
                   (e["status"] == status if status != "any" else True) for e in handle.admin.journal())
    return predicate


def assert_converged_move(handle, result):
    """The re-run: both VSNs on the target, told truthfully, one accepted move in all."""
    assert result["_status"] == "ok", result
    assert hosts(handle) == [TARGET, TARGET]
    calls = puts(handle)
    assert len(accepted(calls)) == 1, calls
    if len(calls) == 2:  # the re-run came while the first move settled: PowerVC refused it, the run adopted it
        assert calls[1][1] == 400
        assert result["changed"] is True and result["moved"] == ["CDF0002", "CDF0003"]
        assert result["adopted"] == ["CDF0002", "CDF0003"] and result["actions"] == []
    else:  # the re-run came after it settled
        assert result["changed"] is False and result["already_on_target"] == ["CDF0002", "CDF0003"]


def assert_idempotent_move(ansible, handle):
    before = len(changes(handle))
    again = run(ansible, handle, **MOVE)
    assert again["changed"] is False and again["moved"] == [] and len(changes(handle)) == before


# -- move -----------------------------------------------------------------------------------------
def test_move_killed_while_it_settles_is_adopted_by_the_rerun(ansible, powervc_emulator):
    settings(powervc_emulator, move_delay=10)
    running = ansible.start([task("move", **MOVE)], module_defaults=defaults(powervc_emulator))
    running.kill_when(journal_has(powervc_emulator, "PUT", VSN_PATH, 202), timeout=120)
    assert hosts(powervc_emulator) == [TARGET, TARGET]  # the move is done server-side, GET still shows the source
    result = run(ansible, powervc_emulator, **MOVE)
    assert_converged_move(powervc_emulator, result)
    assert len(puts(powervc_emulator)) == 2  # 10 s is far longer than a re-run's start
    assert_idempotent_move(ansible, powervc_emulator)


def test_move_killed_while_powervc_processes_the_call(ansible, powervc_emulator):
    settings(powervc_emulator, move_delay=10)
    powervc_emulator.admin.fault(method="PUT", path=VSN_PATH, delay=2)  # acted on 2 s after it arrives
    running = ansible.start([task("move", **MOVE)], module_defaults=defaults(powervc_emulator))
    running.kill_when(journal_has(powervc_emulator, "PUT", VSN_PATH, None), timeout=120)
    deadline = time.monotonic() + 30  # PowerVC finishes the call of the dead run
    while puts(powervc_emulator)[0][1] is None and time.monotonic() < deadline:
        time.sleep(0.1)
    assert puts(powervc_emulator) == [(["CDF0002", "CDF0003"], 202)]
    result = run(ansible, powervc_emulator, **MOVE)
    assert_converged_move(powervc_emulator, result)
    assert_idempotent_move(ansible, powervc_emulator)


def test_move_wait_timeout_then_rerun(ansible, powervc_emulator):
    settings(powervc_emulator, move_delay=8)
    first = run(ansible, powervc_emulator, timeout=1, **MOVE)
    assert first["_status"] == "failed" and "not listed there within the timeout of 1 s" in first["msg"]
    # truthful: PowerVC accepted the move (changed), nothing is listed on the target yet (not moved)
    assert first["changed"] is True and first["moved"] == [] and first["pending"] == ["CDF0002", "CDF0003"]
    result = run(ansible, powervc_emulator, **MOVE)
    assert_converged_move(powervc_emulator, result)


def test_move_read_timeout_while_powervc_still_works(ansible, powervc_emulator):
    """api_timeout 1 s, PowerVC answers after 3 s: the call is not resent, the re-read finds the move."""
    settings(powervc_emulator, move_delay=1)
    powervc_emulator.admin.fault(method="PUT", path=VSN_PATH, delay=3)
    result = run(ansible, powervc_emulator, api_timeout=1, **MOVE)
    assert result["_status"] == "ok", result
    assert result["changed"] is True and result["moved"] == ["CDF0002", "CDF0003"] and result["adopted"] == []
    assert hosts(powervc_emulator) == [TARGET, TARGET] and puts(powervc_emulator) == [(["CDF0002", "CDF0003"], 202)]


@pytest.mark.parametrize("fault", [
    dict(drop=True),  # the connection is cut after PowerVC did the move
    dict(status=500, body={"computeFault": {"code": 500, "message": "Unexpected API Error. Please report."}}),
    dict(status=503, body={"computeFault": {"code": 503, "message": "Service Unavailable"}}),
    dict(status=504, body="<html>Gateway Time-out</html>"),
], ids=["lost-answer", "500-after", "503-after", "504-after"])
def test_move_answer_lost_after_powervc_acted(ansible, powervc_emulator, fault):
    settings(powervc_emulator, move_delay=2)
    powervc_emulator.admin.fault(method="PUT", path=VSN_PATH, after=True, **fault)
    result = run(ansible, powervc_emulator, **MOVE)
    assert result["_status"] == "ok", result
    assert result["changed"] is True and result["moved"] == ["CDF0002", "CDF0003"]
    assert result["adopted"] == [] and result["pending"] == []
    assert hosts(powervc_emulator) == [TARGET, TARGET]
    assert puts(powervc_emulator) == [(["CDF0002", "CDF0003"], 202)]  # never sent again, no HMC-form retry
    assert_idempotent_move(ansible, powervc_emulator)


def test_move_5xx_before_powervc_acted_is_resent_once_after_a_reread(ansible, powervc_emulator):
    powervc_emulator.admin.fault(method="PUT", path=VSN_PATH, status=500,
                                 body={"computeFault": {"code": 500, "message": "Unexpected API Error."}})
    result = run(ansible, powervc_emulator, timeout=8, **MOVE)
    assert result["_status"] == "ok", result
    assert result["changed"] is True and result["moved"] == ["CDF0002", "CDF0003"]
    assert hosts(powervc_emulator) == [TARGET, TARGET]
    journal = [e for e in powervc_emulator.admin.journal() if e["method"] == "PUT"]
    assert [(e["injected"], e["status"]) for e in journal] == [(True, 500), (False, 202)]


def test_move_lost_answer_with_only_part_of_the_vsns_moved(ansible, powervc_emulator):
    """An earlier run moved CDF0002 only: the re-run sends CDF0003 alone."""
    settings(powervc_emulator, move_delay=0)
    first = run(ansible, powervc_emulator, **MOVE_FIRST)
    assert first["moved"] == ["CDF0002"]
    powervc_emulator.admin.fault(method="PUT", path=VSN_PATH, after=True, drop=True)
    result = run(ansible, powervc_emulator, **MOVE)
    assert result["changed"] is True and result["moved"] == ["CDF0003"]
    assert result["already_on_target"] == ["CDF0002"]
    assert puts(powervc_emulator) == [(["CDF0002"], 202), (["CDF0003"], 202)]


# -- assign / unassign / reserve ------------------------------------------------------------------
def assert_converged_assign(handle, result, vsn="ABCD567"):
    assert result["_status"] == "ok", result
    assert server_vsn(handle) == vsn and result["server"]["virtual_serial_number"] == vsn
    calls = actions(handle)
    assert len(accepted(calls)) == 1, calls
    if len(calls) == 2:
        assert calls[1][1] == 409  # refused: the first assign was still settling; adopted
        assert result["changed"] is True and result["adopted"] == [vsn]
    else:
        assert result["changed"] is False


def test_assign_killed_while_it_settles_is_adopted_by_the_rerun(ansible, powervc_emulator):
    settings(powervc_emulator, assign_delay=10)
    running = ansible.start([task("assign", **ASSIGN)], module_defaults=defaults(powervc_emulator))
    running.kill_when(journal_has(powervc_emulator, "POST", "/action", 202), timeout=120)
    result = run(ansible, powervc_emulator, **ASSIGN)
    assert_converged_assign(powervc_emulator, result)
    assert len(actions(powervc_emulator)) == 2
    again = run(ansible, powervc_emulator, **ASSIGN)
    assert again["changed"] is False and len(actions(powervc_emulator)) == 2


def test_assign_auto_killed_while_it_settles(ansible, powervc_emulator):
    settings(powervc_emulator, assign_delay=10)
    running = ansible.start([task("assign", **ASSIGN_AUTO)], module_defaults=defaults(powervc_emulator))
    running.kill_when(journal_has(powervc_emulator, "POST", "/action", 202), timeout=120)
    result = run(ansible, powervc_emulator, **ASSIGN_AUTO)
    assert_converged_assign(powervc_emulator, result, vsn="ABCD101")


def test_assign_wait_timeout_then_rerun(ansible, powervc_emulator):
    settings(powervc_emulator, assign_delay=8)
    first = run(ansible, powervc_emulator, timeout=1, **ASSIGN)
    assert first["_status"] == "failed" and "did not show VSN ABCD567 within the timeout of 1 s" in first["msg"]
    assert first["changed"] is True and first["server"]["virtual_serial_number"] is None
    result = run(ansible, powervc_emulator, **ASSIGN)
    assert_converged_assign(powervc_emulator, result)


@pytest.mark.parametrize("fault", [
    dict(drop=True),
    dict(status=500, body={"computeFault": {"code": 500, "message": "Unexpected API Error. Please report."}}),
    dict(status=503, body={"computeFault": {"code": 503, "message": "Service Unavailable"}}),
], ids=["lost-answer", "500-after", "503-after"])
def test_assign_answer_lost_after_powervc_acted(ansible, powervc_emulator, fault):
    settings(powervc_emulator, assign_delay=2)
    powervc_emulator.admin.fault(method="POST", path=ACTION_PATH, after=True, **fault)
    result = run(ansible, powervc_emulator, **ASSIGN)
    assert result["_status"] == "ok", result
    assert result["changed"] is True and result["adopted"] == [] and server_vsn(powervc_emulator) == "ABCD567"
    assert actions(powervc_emulator) == [({"assign_vsn": {"virtual_serial_number": "ABCD567"}}, 202)]


def test_assign_read_timeout_while_powervc_still_works(ansible, powervc_emulator):
    powervc_emulator.admin.fault(method="POST", path=ACTION_PATH, delay=3)
    result = run(ansible, powervc_emulator, api_timeout=1, **ASSIGN)
    assert result["_status"] == "ok" and result["changed"] is True and result["adopted"] == [], result
    assert server_vsn(powervc_emulator) == "ABCD567"
    assert actions(powervc_emulator) == [({"assign_vsn": {"virtual_serial_number": "ABCD567"}}, 202)]


def test_reserve_of_a_vsn_in_use_with_a_lost_answer_is_a_change(ansible, powervc_emulator):
    """ABCD100 is used by ibmi-prod-01: a reservation of it is not listed, so the resent call says 409."""
    powervc_emulator.admin.fault(method="POST", path=VSN_PATH, after=True, drop=True)
    result = run(ansible, powervc_emulator, state="reserved", vsn="ABCD100")
    assert result["_status"] == "ok" and result["changed"] is True, result
    assert "most likely this run that reserved it" in str(result["warnings"])
    assert [e["status"] for e in changes(powervc_emulator)] == [200, 409]
    again = run(ansible, powervc_emulator, state="reserved", vsn="ABCD100")
    assert again["changed"] is False


def test_assign_5xx_before_powervc_acted_is_resent_once_after_a_reread(ansible, powervc_emulator):
    powervc_emulator.admin.fault(method="POST", path=ACTION_PATH, status=500,
                                 body={"computeFault": {"code": 500, "message": "Unexpected API Error."}})
    result = run(ansible, powervc_emulator, timeout=8, **ASSIGN)
    assert result["_status"] == "ok" and result["changed"] is True, result
    assert server_vsn(powervc_emulator) == "ABCD567"
    assert [(e["injected"], e["status"]) for e in powervc_emulator.admin.journal() if e["path"].endswith("/action")] == [
        (True, 500), (False, 202)]


def test_unassign_answer_lost_after_powervc_acted(ansible, powervc_emulator):
    settings(powervc_emulator, assign_delay=1)
    powervc_emulator.admin.fault(method="POST", path=ACTION_PATH, after=True, drop=True)
    result = run(ansible, powervc_emulator, state="unassigned", vm="ibmi-dev-03")
    assert result["_status"] == "ok" and result["changed"] is True, result
    assert server_vsn(powervc_emulator, "ibmi-dev-03") is None
    assert actions(powervc_emulator) == [({"unassign_vsn": None}, 202)]


@pytest.mark.parametrize("args, query", [
    (dict(state="reserved", vsn="ABCD102", description="for ibmi-new"), "action=reserve"),
    (dict(state="reserved", vsn="CDF0002", description="new text"), "action=update_reservation"),
    (dict(state="unreserved", vsn="ABCD001"), "action=unreserve"),
])
def test_reservation_answer_lost_after_powervc_acted(ansible, powervc_emulator, args, query):
    powervc_emulator.admin.fault(method="POST", path=VSN_PATH, after=True, drop=True)
    result = run(ansible, powervc_emulator, **args)
    assert result["_status"] == "ok" and result["changed"] is True, result
    calls = [(e["query"], e["status"]) for e in powervc_emulator.admin.mutations() if e["path"].endswith(VSN_PATH)]
    assert calls == [(query, 200)]
    again = run(ansible, powervc_emulator, **args)
    assert again["changed"] is False and len(changes(powervc_emulator)) == 1


def test_token_expiring_during_the_move_wait_is_renewed_not_a_resend(ansible, powervc_emulator):
    settings(powervc_emulator, move_delay=4, token_ttl=1.5)
    result = run(ansible, powervc_emulator, **MOVE)
    assert result["_status"] == "ok" and result["changed"] is True, result
    assert result["moved"] == ["CDF0002", "CDF0003"] and hosts(powervc_emulator) == [TARGET, TARGET]
    assert len(puts(powervc_emulator)) == 1
    logins = [e for e in powervc_emulator.admin.journal() if e["method"] == "POST" and e["path"] == "/v3/auth/tokens"]
    assert len(logins) >= 2  # the token did expire during the wait and was renewed
