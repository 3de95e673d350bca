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


def test_kill_takes_the_whole_process_tree(ansible, tmp_path):
    """Interruption tests rely on it: after kill_when(), no process of the run (module included) lives on."""
    import os
    import subprocess

    marker = tmp_path / "module-started"
    token = "harness-kill-%d" % os.getpid()
    running = ansible.start([{"name": "long", "ansible.builtin.shell": "touch %s; exec -a %s sleep 60" % (marker, token)}])
    run = running.kill_when(marker.exists, timeout=60)
    assert run.rc != 0
    left = subprocess.run(["pgrep", "-f", token], capture_output=True, text=True, check=False).stdout.split()
    assert not left, "processes of the killed run still alive: %s" % left
