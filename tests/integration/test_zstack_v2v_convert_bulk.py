"""zstack_v2v_convert with ``vms`` (issue 14): many conversions in one task, one poller."""

import json

import pytest

from tests.emulators import zstack as emu
from tests.integration.zstack_helpers import assert_no_secrets, module_defaults, operations, prepare

MODULE = "hybridcloud.migration.zstack_v2v_convert"
DEFAULTS = dict(cpu_num=2, memory_size=4 * 1024 ** 3, primary_storage="ps-nfs-01", l3_networks=["l3-prod"],
                cluster="cluster-kvm-1", conversion_host="v2v-ch-01", strategy="JustConvert")


def source(index):
    return "vmware://%032x" % (0x5a5a0000 + index)


def items(count):
    return [{"url": source(i), "vm": "imp-%02d" % i} for i in range(count)]


@pytest.fixture()
def zstack(zstack_emulator):
    return prepare(zstack_emulator, v2v_duration=1.5, v2v_start_delay=0.1)


def task(name, **args):
    return {"name": name, MODULE: dict(DEFAULTS, **args), "ignore_errors": True}


def play(ansible, zstack, *tasks, **kwargs):
    return ansible.play(list(tasks), module_defaults=module_defaults(zstack), **kwargs)


def posts(zstack):
    return [o for o in operations(zstack) if o == ("POST", "/zstack/v1/v2vs")]


def test_bulk_conversions_check_apply_rerun_and_a_failure(ansible, zstack):
    wave = items(10) + [{"url": emu.V2V_FAILING_URL, "vm": "imp-bad", "cpu_num": 4}]
    run = play(ansible, zstack, task("plan", vms=wave, parallel=4), check=True)
    plan = run.result("plan")
    assert plan["changed"] is True and operations(zstack) == []
    assert [e["outcome"] for e in plan["vms"]] == ["would convert"] * 11
    assert plan["vms"][0]["to"].startswith("ps-nfs-01 (") and plan["vms"][0]["from"] == source(0)

    run = play(ansible, zstack, task("wave", vms=wave, parallel=4), verbosity=4)
    result = run.result("wave")
    assert result["_status"] == "failed" and result["changed"] is True
    assert "1 of 11 conversion(s) failed" in result["msg"] and "imp-bad" in result["msg"]
    assert "failed to export the disks" in result["msg"]
    outcomes = {e["name"]: e for e in result["vms"]}
    assert outcomes.pop("imp-bad")["outcome"] == "failed"
    assert {e["outcome"] for e in outcomes.values()} == {"converted"}
    names = {v["name"]: v["uuid"] for v in zstack.admin.state()["vm-instances"]}
    assert all(e["uuid"] == names[n] for n, e in outcomes.items())
    assert len(posts(zstack)) == 11
    assert_no_secrets(zstack, run.output)

    # again: the ten are unchanged, nothing is sent for them; the failed one is run again (and fails again)
    zstack.admin.clear_journal()
    run = play(ansible, zstack, task("again", vms=items(10), parallel=4))
    again = run.result("again")
    assert again["_status"] == "ok" and again["changed"] is False, again.get("msg")
    assert {e["outcome"] for e in again["vms"]} == {"unchanged"} and operations(zstack) == []


def test_bulk_bad_item_fails_naming_it_before_any_call(ansible, zstack):
    run = play(ansible, zstack,
               task("bad url", vms=items(2) + [{"url": "http://x", "vm": "imp-x"}]),
               task("bad ps", vms=items(2) + [{"url": source(7), "vm": "imp-7", "primary_storage": "ps-none"}]),
               task("unknown key", vms=[{"url": source(1), "vm": "imp-1", "cpus": 2}]),
               task("twice", vms=items(2) + items(1)),
               task("bad int", vms=[{"url": source(1), "vm": "imp-1", "cpu_num": "many"}]))
    assert "parameter 'vms[2].url'" in run.result("bad url")["msg"]
    assert "parameter 'vms[2].primary_storage': no primary storage" in run.result("bad ps")["msg"]
    assert "parameter 'vms[0]' has unknown option(s) cpus" in run.result("unknown key")["msg"]
    assert "parameter 'vms[2]' has the same source and name as vms[0]" in run.result("twice")["msg"]
    assert "parameter 'vms[0].cpu_num' must be of type int" in run.result("bad int")["msg"]
    assert operations(zstack) == []


def test_an_items_ssh_key_never_shows(ansible, zstack):
    key = "-----BEGIN OPENSSH PRIVATE KEY-----\nbulk-item-key-7Yq2Lm9Vx4Rt8Wz1\n-----END OPENSSH PRIVATE KEY-----"
    wave = [{"url": "kvm://root@192.0.2.10/%032x" % 7, "vm": "imp-kvm", "ssh_priv_key": key}] + items(1)
    run = play(ansible, zstack, task("wave", vms=wave), verbosity=4)
    result = run.result("wave")
    assert result["_status"] == "ok", result.get("msg")
    assert_no_secrets(zstack, run.output, extra=[key, "bulk-item-key-7Yq2Lm9Vx4Rt8Wz1"])


def v2v_jobs(zstack):
    """The conversion LongJobs of this file's items (the seed holds others)."""
    return {j["uuid"]: j for j in zstack.admin.state()["longjobs"]
            if j["jobName"] == emu.V2V_JOB and json.loads(j["jobData"])["name"].startswith("imp-")}


def rerun_after_the_kill(ansible, zstack, wave, sent_before):
    """Re-run the killed wave: one POST per conversion in all, each VM created once; the result."""
    run = play(ansible, zstack, task("rerun", vms=wave, parallel=4))
    rerun = run.result("rerun")
    assert rerun["_status"] == "ok" and rerun["changed"] is True, rerun.get("msg")
    sent = [e for e in zstack.admin.mutations() if e["path"] == "/zstack/v1/v2vs"]
    assert len(sent) == len(posts(zstack)) == len(wave)
    assert {e["status"] for e in sent} == {202}  # no refused duplicate
    assert {e["body"]["params"]["name"] for e in sent} == {item["vm"] for item in wave}
    created = [v["name"] for v in zstack.admin.state()["vm-instances"] if v["name"].startswith("imp-")]
    assert sorted(created) == sorted(item["vm"] for item in wave)  # every VM converted once
    jobs = v2v_jobs(zstack)
    assert len(jobs) == len(wave) and {j["state"] for j in jobs.values()} == {"Succeeded"}
    by_name = {v["name"]: v["uuid"] for v in zstack.admin.state()["vm-instances"]}
    for entry in rerun["vms"]:
        assert entry["outcome"] == ("adopted" if entry["name"] in sent_before else "converted"), entry
        assert entry["uuid"] == by_name[entry["name"]] and entry["error"] == ""
        assert entry["ended"] >= entry["started"] > 0
    return rerun


def test_killed_while_zstack_still_processes_its_posts_rerun_adopts_them(ansible, zstack):
    # The killed run's POSTs are accepted (202) but not processed (accept-delay): no LongJob shows them,
    # only their api-jobs. The re-run asks ZStack about each submit's X-Job-UUID before sending it and
    # adopts the running ones. The window is long (30 s) so that a slow re-run still falls into it.
    zstack.admin.action("accept-delay", {"seconds": 30})
    wave = items(6)
    running = ansible.start([task("wave", vms=wave, parallel=4)], module_defaults=module_defaults(zstack))
    running.kill_when(lambda: len(posts(zstack)) >= 4, interval=0.02, timeout=180)
    sent_before = {e["body"]["params"]["name"] for e in zstack.admin.mutations() if e["path"] == "/zstack/v1/v2vs"}
    assert sent_before == {"imp-00", "imp-01", "imp-02", "imp-03"}
    assert v2v_jobs(zstack) == {}  # nothing shows them yet
    zstack.admin.action("accept-delay", {"seconds": 0})  # the re-run's own calls: processed at once
    rerun_after_the_kill(ansible, zstack, wave, sent_before)


def test_killed_mid_conversion_rerun_waits_for_the_running_jobs(ansible, zstack):
    zstack.admin.action("v2v-duration", {"seconds": 4})
    wave = items(6)
    running = ansible.start([task("wave", vms=wave, parallel=4)], module_defaults=module_defaults(zstack))
    running.kill_when(lambda: sum(j["state"] == "Running" for j in v2v_jobs(zstack).values()) >= 4,
                      interval=0.02, timeout=180)
    sent_before = {e["body"]["params"]["name"] for e in zstack.admin.mutations() if e["path"] == "/zstack/v1/v2vs"}
    assert sent_before == {"imp-00", "imp-01", "imp-02", "imp-03"}
    rerun_after_the_kill(ansible, zstack, wave, sent_before)
