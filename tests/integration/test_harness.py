"""The harness itself: a builtin task runs, results and check mode are reported."""


def test_results_are_recorded(ansible):
    run = ansible.play([{"name": "say", "ansible.builtin.debug": {"msg": "hello"}},
                        {"name": "cmd", "ansible.builtin.command": {"cmd": "true"}, "changed_when": True}],
                       check=False)
    assert run.rc == 0, run.output
    assert run.result("say")["msg"] == "hello"
    assert run.result("cmd")["changed"] is True


def test_failures_are_recorded(ansible):
    run = ansible.play([{"name": "boom", "ansible.builtin.fail": {"msg": "expected failure"}}])
    assert run.rc != 0
    assert run.result("boom")["msg"] == "expected failure" and run.result("boom")["_status"] == "failed"
