"""vcenter_ovf_deploy and vcenter_ovf_capture after interruptions, through ansible-playbook.

Each test disturbs a run (the whole process group killed mid-job, the run's own timeout, the
answer lost after vCenter acted, a 5xx after processing), then runs the same task again and
checks the final state in the emulator, the result's ``outcome`` and that the deploy (or
capture) POST reached vCenter exactly once. Deadlines are generous; assertions are on states
and journals, not on wall time.
"""

import time

import pytest

DEPLOY = "hybridcloud.migration.vcenter_ovf_deploy"
CAPTURE = "hybridcloud.migration.vcenter_ovf_capture"
GOLDEN = "0c9b8a76-5d4e-4f3a-8b2c-1d0e9f8a7b6c"
BASE = dict(library="Migration Templates", item="ubuntu-22.04", vm="int-vm", datacenter="DC-East", cluster="Prod",
            folder="Migrated", accept_all_eula=True, network_mappings={"VM Network": "Backend"})
CAPTURE_BASE = dict(vm="db01", datacenter="DC-East", library="Golden Images", item="int-capture")


@pytest.fixture
def vc(vcenter_rest_emulator):
    vcenter_rest_emulator.admin.action("deploy-duration", {"seconds": 0.2})
    return vcenter_rest_emulator


def defaults(vc, **extra):
    args = dict(hostname="127.0.0.1", port=int(vc.url.rsplit(":", 1)[1]), username=vc.info["username"],
                password=vc.info["password"], ca_cert=vc.ca_path, inventory_lookup="rest")
    args.update(extra)
    return {"group/hybridcloud.migration.vmware": args}


def task(module, title="run", **args):
    return {"name": title, module: {k: v for k, v in args.items() if v is not None}, "ignore_errors": True}


def deploy_posts(vc):
    """Every deploy POST that reached the emulator (injected faults included: they arrived too)."""
    return [e for e in vc.admin.journal() if e["method"] == "POST" and "/ovf/library-item/" in e["path"]
            and "deploy" in e["query"]]


def capture_posts(vc):
    return [e for e in vc.admin.journal() if e["method"] == "POST" and e["path"].endswith("/ovf/library-item")]


def power_starts(vc):
    return [e for e in vc.admin.journal() if e["method"] == "POST" and "/power" in e["path"] and e["status"] == 204]


def refused_starts(vc):
    """Power-ons vCenter refused because the deploy was still running (the module waited)."""
    return [e for e in vc.admin.journal() if e["method"] == "POST" and "/power" in e["path"] and e["status"] == 400]


def expected_adoption(vc):
    # On a very loaded machine the re-run may only get there after the deploy ended: then nothing to wait for.
    return "adopted_and_waited" if refused_starts(vc) else "adopted"


def vms_named(vc, name):
    return [vm for vm in vc.admin.state()["vms"] if vm["name"] == name]


def items_named(vc, name):
    return [item for item in vc.admin.state()["items"] if item["name"] == name]


def failed(result):
    return result.get("failed") or result["_status"] == "failed"


def assert_one_vm_powered_on(vc, name="int-vm"):
    (vm,) = vms_named(vc, name)
    assert vm["deploying"] is False and vm["power_state"] == "POWERED_ON" and vm["folder"] == "group-v40", vm
    assert len(deploy_posts(vc)) == 1, deploy_posts(vc)
    assert len(power_starts(vc)) == 1, power_starts(vc)
    return vm


# -- deploy --------------------------------------------------------------------------------------
def test_killed_mid_deploy_then_rerun_waits_for_it_and_powers_on(vc, ansible):
    vc.admin.action("deploy-duration", {"seconds": 15})
    running = ansible.start([task(DEPLOY, power_on=True, **BASE)], module_defaults=defaults(vc))
    running.kill_when(lambda: bool(deploy_posts(vc)) and bool(vms_named(vc, "int-vm")), timeout=180)
    (vm,) = vms_named(vc, "int-vm")
    assert vm["deploying"] is True and vm["power_state"] == "POWERED_OFF"  # killed mid-job indeed
    run = ansible.play([task(DEPLOY, power_on=True, **BASE)], module_defaults=defaults(vc))
    result = run.result("run")
    assert not failed(result), result
    assert result["outcome"] == expected_adoption(vc) and result["vm"]["adopted"] is True, result
    assert result["powered_on"] is True and result["changed"] is True, result
    assert result["vm"]["moref"] == vm["id"] and result["vm"]["power_state"] == "POWERED_ON"
    assert_one_vm_powered_on(vc)


def test_killed_mid_deploy_without_power_on_then_later_run_powers_it_on(vc, ansible):
    vc.admin.action("deploy-duration", {"seconds": 6})
    running = ansible.start([task(DEPLOY, **BASE)], module_defaults=defaults(vc))
    running.kill_when(lambda: bool(vms_named(vc, "int-vm")), timeout=180)
    run = ansible.play([task(DEPLOY, "again", **BASE), task(DEPLOY, "power", power_on=True, **BASE),
                        task(DEPLOY, "steady", power_on=True, **BASE)], module_defaults=defaults(vc))
    again, power, steady = run.result("again"), run.result("power"), run.result("steady")
    # No read-only sign of a running deploy exists: without power_on the VM is adopted as it is.
    assert again["outcome"] == "adopted" and again["changed"] is False, again
    assert power["outcome"] in ("adopted", "adopted_and_waited") and power["powered_on"] is True, power
    assert steady["outcome"] == "adopted" and steady["changed"] is False and steady["powered_on"] is False, steady
    assert_one_vm_powered_on(vc)


def test_run_timeout_while_deploying_fails_truthfully_then_rerun_adopts(vc, ansible):
    vc.admin.action("deploy-duration", {"seconds": 12})
    first = ansible.play([task(DEPLOY, timeout=4, power_on=True, **BASE)], module_defaults=defaults(vc)).result("run")
    assert failed(first), first
    if deploy_posts(vc):  # the usual case; a machine too loaded to finish the lookups in 4 s sends nothing
        assert "did not answer within the timeout of 4 s" in first["msg"] and "Re-run" in first["msg"], first
        assert first["changed"] is True and first["vm"]["moref"] == vms_named(vc, "int-vm")[0]["id"], first
        assert first["outcome"] == "started", first
    else:
        assert first["changed"] is False and "before the deploy was sent" in first["msg"], first
    second = ansible.play([task(DEPLOY, power_on=True, **BASE)], module_defaults=defaults(vc)).result("run")
    assert not failed(second), second
    assert second["outcome"] in ("adopted_and_waited", "adopted", "deployed") and second["powered_on"] is True, second
    assert_one_vm_powered_on(vc)


@pytest.mark.parametrize("fault", [
    dict(after=True, drop=True),  # the server deployed, the answer never came
    dict(after=True, status=503, body={"error_type": "SERVICE_UNAVAILABLE", "messages": []}),  # 5xx after processing
    dict(after=True, status=500, body="upstream proxy error"),
])
def test_answer_lost_after_the_server_acted_is_adopted_not_resent(vc, ansible, fault):
    vc.admin.action("deploy-duration", {"seconds": 1})
    vc.admin.fault(method="POST", path="/ovf/library-item/", query="action=deploy", times=5, **fault)
    run = ansible.play([task(DEPLOY, "first", power_on=True, **BASE), task(DEPLOY, "again", power_on=True, **BASE)],
                       module_defaults=defaults(vc))
    first, again = run.result("first"), run.result("again")
    assert not failed(first), first
    assert first["outcome"] == "deployed" and first["vm"]["answer_lost"] is True and first["changed"] is True, first
    assert first["powered_on"] is True and first["vm"]["power_state"] == "POWERED_ON"
    assert again["outcome"] == "adopted" and again["changed"] is False, again
    assert_one_vm_powered_on(vc)


def test_same_name_in_another_folder_is_not_adopted(vc, ansible):
    """db01 lives in folder Migrated: a deploy of db01 into the datacenter's root VM folder makes a new VM."""
    args = {**BASE, "vm": "db01", "folder": "vm"}
    run = ansible.play([task(DEPLOY, "first", **args), task(DEPLOY, "again", **args)], module_defaults=defaults(vc))
    first, again = run.result("first"), run.result("again")
    assert not failed(first) and first["outcome"] == "deployed" and first["vm"]["moref"] != "vm-102", first
    assert again["outcome"] == "adopted" and again["vm"]["moref"] == first["vm"]["moref"], again
    assert sorted(vm["folder"] for vm in vms_named(vc, "db01")) == ["group-v3", "group-v40"]
    assert len(deploy_posts(vc)) == 1


def test_rest_family_answer_lost_after_the_server_acted_is_adopted_not_resent(vc, ansible):
    """The legacy /rest family (vcsim's, vCenter < 7.0U2): the same look-by-name after a lost deploy answer."""
    vc.admin.fault(method="POST", path="/ovf/library-item/", query="action=deploy", after=True, drop=True)
    run = ansible.play([task(DEPLOY, "first", power_on=True, **BASE), task(DEPLOY, "again", power_on=True, **BASE)],
                       module_defaults=defaults(vc, api_family="rest"))
    first, again = run.result("first"), run.result("again")
    assert not failed(first), first
    assert first["api_family"] == "rest" and first["outcome"] == "deployed" and first["vm"]["answer_lost"] is True
    assert first["powered_on"] is True and again["outcome"] == "adopted" and again["changed"] is False, again
    assert len(deploy_posts(vc)) == 1 and deploy_posts(vc)[0]["path"].startswith("/rest/")
    (vm,) = vms_named(vc, "int-vm")
    assert vm["power_state"] == "POWERED_ON" and vm["folder"] == "group-v40"
    assert len([e for e in vc.admin.journal() if e["method"] == "POST" and "/power" in e["path"]]) == 1


@pytest.mark.parametrize("fault", [
    dict(after=True, drop=True),  # vCenter started the VM, the answer never came
    dict(after=True, status=503, body={"error_type": "SERVICE_UNAVAILABLE", "messages": []}),
])
def test_power_on_answer_lost_after_vcenter_acted_is_read_back_not_resent(vc, ansible, fault):
    vc.admin.fault(method="POST", path="/power", times=5, **fault)
    run = ansible.play([task(DEPLOY, "first", power_on=True, **BASE), task(DEPLOY, "again", power_on=True, **BASE)],
                       module_defaults=defaults(vc))
    first, again = run.result("first"), run.result("again")
    assert not failed(first), first
    assert first["outcome"] == "deployed" and first["changed"] is True and first["powered_on"] is True, first
    assert first["vm"]["power_state"] == "POWERED_ON"
    assert again["outcome"] == "adopted" and again["changed"] is False and again["powered_on"] is False, again
    (vm,) = vms_named(vc, "int-vm")
    assert vm["power_state"] == "POWERED_ON" and len(deploy_posts(vc)) == 1
    starts = [e for e in vc.admin.journal() if e["method"] == "POST" and "/power" in e["path"]]
    assert len(starts) == 1, starts


def test_dropped_before_the_server_acted_fails_without_resending_then_rerun_deploys(vc, ansible):
    vc.admin.fault(method="POST", path="/ovf/library-item/", query="action=deploy", drop=True)
    first = ansible.play([task(DEPLOY, timeout=6, **BASE)], module_defaults=defaults(vc)).result("run")
    assert failed(first) and first["changed"] is False, first
    assert "no VM named 'int-vm' appeared" in first["msg"] and "not resent" in first["msg"], first
    assert vms_named(vc, "int-vm") == [] and [e["injected"] for e in deploy_posts(vc)] == [True]
    second = ansible.play([task(DEPLOY, power_on=True, **BASE)], module_defaults=defaults(vc)).result("run")
    assert second["outcome"] == "deployed" and second["vm"]["answer_lost"] is False, second
    assert [e["injected"] for e in deploy_posts(vc)] == [True, False]  # the one that arrived made the VM
    assert len(vms_named(vc, "int-vm")) == 1


def test_wait_false_returns_while_deploying_and_a_later_run_finishes(vc, ansible):
    vc.admin.action("deploy-duration", {"seconds": 30})
    first = ansible.play([task(DEPLOY, wait=False, power_on=True, **BASE)],
                         module_defaults=defaults(vc)).result("run")
    assert not failed(first), first
    assert first["outcome"] == "started" and first["changed"] is True and first["powered_on"] is False, first
    (vm,) = vms_named(vc, "int-vm")
    assert vm["deploying"] is True and first["vm"]["moref"] == vm["id"]
    second = ansible.play([task(DEPLOY, power_on=True, **BASE)], module_defaults=defaults(vc)).result("run")
    assert second["outcome"] == expected_adoption(vc) and second["powered_on"] is True, second
    assert_one_vm_powered_on(vc)


def test_concurrent_deploy_of_the_same_name_is_adopted(vc, ansible):
    """Another client deploys the same VM between this run's look and its deploy call: adopt, do not fail."""
    import requests
    vc.admin.fault(method="POST", path="/ovf/library-item/", query="action=filter", delay=4)
    running = ansible.start([task(DEPLOY, power_on=True, **BASE)], module_defaults=defaults(vc))
    deadline = time.monotonic() + 120
    while not [e for e in vc.admin.journal() if "filter" in e["query"]]:
        assert time.monotonic() < deadline and running.proc.poll() is None, running.result().output[-3000:]
        time.sleep(0.05)
    session = requests.post(vc.url + "/api/session", auth=(vc.info["username"], vc.info["password"]),
                            verify=vc.ca_path, timeout=30).json()
    other = requests.post(vc.url + "/api/vcenter/ovf/library-item/3a4b5c6d-7e8f-4a0b-9c1d-2e3f4a5b6c7d",
                          params={"action": "deploy"}, headers={"vmware-api-session-id": session}, verify=vc.ca_path,
                          json={"target": {"resource_pool_id": "resgroup-9", "folder_id": "group-v40"},
                                "deployment_spec": {"name": "int-vm", "accept_all_EULA": True}}, timeout=60).json()
    assert other["succeeded"] is True
    result = running.wait(timeout=300).result("run")
    assert not failed(result), result
    assert result["outcome"] == "adopted" and result["vm"]["moref"] == other["resource_id"]["id"], result
    assert result["powered_on"] is True and any("appeared" in w for w in result.get("warnings", [])), result
    (vm,) = vms_named(vc, "int-vm")
    assert vm["power_state"] == "POWERED_ON" and len(deploy_posts(vc)) == 2  # the other client's and the refused one


def test_failed_deploy_reports_no_change(vc, ansible):
    args = dict(BASE)
    args.update(item="legacy-appliance", vm="int-broken", network_mappings=None)
    result = ansible.play([task(DEPLOY, **args)], module_defaults=defaults(vc)).result("run")
    assert failed(result) and result["changed"] is False and result["vm"]["moref"] is None, result
    assert "vcenter.ovf.library_item deploy" in result["msg"] and "legacy-appliance-disk1.vmdk" in result["msg"]
    assert vms_named(vc, "int-broken") == []


# -- capture -------------------------------------------------------------------------------------
def test_killed_mid_capture_then_rerun_adopts_the_item(vc, ansible):
    vc.admin.action("capture-duration", {"seconds": 8})
    running = ansible.start([task(CAPTURE, **CAPTURE_BASE)], module_defaults=defaults(vc))
    running.kill_when(lambda: bool(items_named(vc, "int-capture")), timeout=180)
    result = ansible.play([task(CAPTURE, **CAPTURE_BASE)], module_defaults=defaults(vc)).result("run")
    assert not failed(result), result
    assert result["outcome"] == "adopted" and result["adopted"] is True and result["changed"] is False, result
    (item,) = items_named(vc, "int-capture")
    assert result["library_item"]["id"] == item["id"] and item["library_id"] == GOLDEN
    assert len(capture_posts(vc)) == 1


def test_run_timeout_while_capturing_fails_truthfully_then_rerun_adopts(vc, ansible):
    vc.admin.action("capture-duration", {"seconds": 12})
    first = ansible.play([task(CAPTURE, timeout=4, **CAPTURE_BASE)], module_defaults=defaults(vc)).result("run")
    assert failed(first), first
    if capture_posts(vc):
        assert "did not answer within the timeout of 4 s" in first["msg"] and first["changed"] is True, first
        assert first["outcome"] == "started", first
        assert first["library_item"]["id"] == items_named(vc, "int-capture")[0]["id"]
    second = ansible.play([task(CAPTURE, **CAPTURE_BASE)], module_defaults=defaults(vc)).result("run")
    assert not failed(second) and second["outcome"] in ("adopted", "captured"), second
    assert len(items_named(vc, "int-capture")) == 1 and len(capture_posts(vc)) == 1


@pytest.mark.parametrize("fault", [
    dict(after=True, drop=True),
    dict(after=True, status=503, body={"error_type": "SERVICE_UNAVAILABLE", "messages": []}),
])
def test_capture_answer_lost_after_the_server_acted_is_adopted_not_resent(vc, ansible, fault):
    vc.admin.fault(method="POST", path="/ovf/library-item$", times=5, **fault)
    run = ansible.play([task(CAPTURE, "first", **CAPTURE_BASE), task(CAPTURE, "again", **CAPTURE_BASE)],
                       module_defaults=defaults(vc))
    first, again = run.result("first"), run.result("again")
    assert not failed(first), first
    assert first["outcome"] == "captured" and first["answer_lost"] is True and first["changed"] is True, first
    assert again["outcome"] == "adopted" and again["changed"] is False
    assert again["library_item"]["id"] == first["library_item"]["id"]
    assert len(items_named(vc, "int-capture")) == 1 and len(capture_posts(vc)) == 1


def test_overwrite_answer_lost_is_recognised_by_the_new_content(vc, ansible):
    before = {i["id"]: i for i in vc.admin.state()["items"]}
    vc.admin.fault(method="POST", path="/ovf/library-item$", after=True, drop=True)
    args = dict(CAPTURE_BASE)
    args.update(item="ubuntu-22.04", overwrite=True)
    result = ansible.play([task(CAPTURE, **args)], module_defaults=defaults(vc)).result("run")
    assert not failed(result), result
    assert result["outcome"] == "overwritten" and result["answer_lost"] is True, result
    item_id = result["library_item"]["id"]
    after = {i["id"]: i for i in vc.admin.state()["items"]}
    assert int(after[item_id]["content_version"]) == int(before[item_id]["content_version"]) + 1
    assert len(capture_posts(vc)) == 1


def test_capture_dropped_before_the_server_acted_is_not_resent(vc, ansible):
    vc.admin.fault(method="POST", path="/ovf/library-item$", drop=True)
    started = time.monotonic()
    result = ansible.play([task(CAPTURE, timeout=5, **CAPTURE_BASE)], module_defaults=defaults(vc)).result("run")
    assert failed(result) and result["changed"] is False and "not resent" in result["msg"], result
    assert items_named(vc, "int-capture") == [] and len(capture_posts(vc)) == 1
    assert time.monotonic() - started < 120
