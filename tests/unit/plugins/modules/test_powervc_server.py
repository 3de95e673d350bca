"""powervc_server in-process against the PowerVC emulator: create, adopt, conflicts, delete, bad input."""

import pytest

from ansible_collections.hybridcloud.migration.plugins.modules import powervc_server
from tests.unit.module_runner import run_module

CREATE = dict(vm="ibmi-new-01", image="IBM i 7.5 base", flavor="ibmi-small",
              networks=[{"network": "prod-vlan10", "fixed_ip": "10.10.10.21"}])


def args(handle, **extra):
    info = handle.info
    auth = dict(auth_url=info["auth_url"], username=info["username"], password=info["password"],
                project_name=info["project_name"])
    return dict(extra, auth=auth, ca_cert=handle.ca_path)


def mutations(handle):
    """Mutating calls other than Keystone's token create/revoke."""
    return [(e["method"], e["path"].split("/v2.1/")[-1].split("/", 1)[-1], e["query"]) for e in handle.admin.mutations()
            if not e["path"].startswith("/v3/")]


def server(handle, name):
    return next((s for s in handle.admin.state()["servers"] if s["name"] == name), None)


def test_create_with_auto_on_a_host_then_unchanged(powervc_emulator):
    result, code = run_module(powervc_server.main, args(powervc_emulator, host="dr-p10-b",
                                                        virtual_serial_number="auto", **CREATE), diff=True)
    assert code == 0, result
    assert result["changed"] is True and result["server"]["status"] == "ACTIVE"
    assert result["server"]["host"] == "9109RMD_1031CAT"
    assert result["server"]["virtual_serial_number"] in ("CDF0011", "CDF0012", "CDF0013")
    assert result["server"]["addresses"]["prod-vlan10"][0]["addr"] == "10.10.10.21"
    assert result["diff"]["before"] == {} and result["diff"]["after"]["name"] == "ibmi-new-01"
    (post,) = [e for e in powervc_emulator.admin.mutations() if not e["path"].startswith("/v3/")]
    body = post["body"]["server"]
    assert body["availability_zone"] == ":9109RMD_1031CAT" and body["imageRef"] == "ibmi-7.5-base"
    assert body["flavor"] == {"vcpus": 1, "ram": 8192, "disk": 0, "extra_specs": {
        "powervm:proc_units": "0.5", "powervm:dedicated_proc": "false", "powervm:virtual_serial_number": "auto"}}
    assert body["networks"] == [{"uuid": "net-1", "fixed_ip": "10.10.10.21"}]
    assert "adminPass" not in str(result)
    powervc_emulator.admin.clear_journal()
    again, code = run_module(powervc_server.main, args(powervc_emulator, host="9109-RMD*1031CAT",
                                                       virtual_serial_number="auto", **CREATE))
    assert code == 0 and again["changed"] is False and again["actions"] == []
    assert again["server"]["virtual_serial_number"] == result["server"]["virtual_serial_number"]
    assert mutations(powervc_emulator) == []


def test_reserved_vsn_goes_to_its_host_check_mode_sends_nothing(powervc_emulator):
    preview, code = run_module(powervc_server.main, args(powervc_emulator, virtual_serial_number="abcd001", **CREATE),
                               check_mode=True, diff=True)
    assert code == 0 and preview["changed"] is True
    (action,) = preview["actions"]
    assert action["action"] == "create" and action["host"] == "9080HEX_1234ABC"
    assert action["virtual_serial_number"] == "ABCD001" and "reserved" in action["vsn_source"]
    assert preview["server"]["id"] is None and mutations(powervc_emulator) == []
    result, code = run_module(powervc_server.main, args(powervc_emulator, virtual_serial_number="ABCD001", **CREATE))
    assert code == 0 and result["server"]["virtual_serial_number"] == "ABCD001"
    assert server(powervc_emulator, "ibmi-new-01")["host"] == "9080HEX_1234ABC"


def test_existing_server_with_another_vsn_is_a_conflict_with_a_hint(powervc_emulator):
    result, code = run_module(powervc_server.main, args(powervc_emulator, vm="ibmi-prod-01",
                                                        virtual_serial_number="ABCD567"))
    assert code == 1 and result["changed"] is False
    assert "parameter 'virtual_serial_number'" in result["msg"] and "ABCD100" in result["msg"]
    assert "powervc_vsn" in result["msg"] and mutations(powervc_emulator) == []
    ok, code = run_module(powervc_server.main, args(powervc_emulator, vm="ibmi-prod-01", virtual_serial_number="auto"))
    assert code == 0 and ok["changed"] is False and ok["server"]["virtual_serial_number"] == "ABCD100"


@pytest.mark.parametrize("extra, param", [
    (dict(image="no-such-image"), "image"),
    (dict(flavor="no-such-flavor"), "flavor"),
    (dict(networks=[{"network": "no-such-net"}]), "networks[0].network"),
    (dict(host="no-such-host"), "host"),
    (dict(virtual_serial_number="ABC"), "virtual_serial_number"),
    (dict(virtual_serial_number="ABCD100"), "virtual_serial_number"),  # in use by ibmi-prod-01
    (dict(image="twin-image"), "image"),  # two images carry that name
    (dict(virtual_serial_number="ABCD001", host="dr-p10-b"), "virtual_serial_number"),  # reserved on another host
    (dict(timeout=0), "timeout"),
    (dict(vm="bad\u202ename"), "vm"),
    (dict(reserve_vsn_on_delete=True), "reserve_vsn_on_delete"),
])
def test_bad_input_fails_naming_the_parameter_before_any_change(powervc_emulator, extra, param):
    result, code = run_module(powervc_server.main, args(powervc_emulator, **{**CREATE, **extra}))
    assert code == 1 and "parameter '%s'" % param in result["msg"], result["msg"]
    assert result["changed"] is False and mutations(powervc_emulator) == []


def test_build_error_surfaces_the_fault(powervc_emulator):
    powervc_emulator.admin.action("settings", {"build_time": 0.3, "build_faults": {
        "^ibmi-new": "No valid host was found. There are not enough hosts available."}})
    result, code = run_module(powervc_server.main, args(powervc_emulator, **CREATE))
    assert code == 1 and result["changed"] is True
    assert "No valid host was found" in result["msg"] and result["server"]["status"] == "ERROR"
    again, code = run_module(powervc_server.main, args(powervc_emulator, **CREATE))
    assert code == 1 and again["changed"] is False and "No valid host was found" in again["msg"]
    assert [m[0] for m in mutations(powervc_emulator)] == ["POST"]


def test_lost_create_answer_is_adopted_not_resent(powervc_emulator):
    powervc_emulator.admin.fault(method="POST", path="/servers$", after=True, status=500,
                                 body={"computeFault": {"code": 500, "message": "lost"}})
    result, code = run_module(powervc_server.main, args(powervc_emulator, virtual_serial_number="auto", **CREATE))
    assert code == 0 and result["changed"] is True, result
    assert [a["action"] for a in result["actions"]] == ["create", "adopt"]
    assert [m[:2] for m in mutations(powervc_emulator)] == [("POST", "servers")]


def test_wait_false_then_a_rerun_adopts_the_build(powervc_emulator):
    powervc_emulator.admin.action("settings", {"build_time": 1.0})
    result, code = run_module(powervc_server.main, args(powervc_emulator, wait=False, **CREATE))
    assert code == 0 and result["changed"] is True and result["server"]["status"] == "BUILD"
    preview, code = run_module(powervc_server.main, args(powervc_emulator, **CREATE), check_mode=True, diff=True)
    assert code == 0 and preview["changed"] is True and preview["actions"][0]["action"] == "adopt"
    label = "ibmi-new-01 (%s\u2026)" % result["server"]["id"][:8]
    assert preview["diff"] == {"before": {label: {"status": "BUILD"}}, "after": {label: {"status": "ACTIVE"}}}
    again, code = run_module(powervc_server.main, args(powervc_emulator, **CREATE))
    assert code == 0 and again["actions"][0]["action"] == "adopt" and again["server"]["status"] == "ACTIVE"
    assert [m[:2] for m in mutations(powervc_emulator)] == [("POST", "servers")]


def test_delete_keeping_the_vsn_reserved(powervc_emulator):
    preview, code = run_module(powervc_server.main, args(powervc_emulator, vm="ibmi-prod-01", state="absent",
                                                         reserve_vsn_on_delete=True), check_mode=True)
    assert code == 0 and [a["action"] for a in preview["actions"]] == ["reserve_vsn", "delete"]
    assert mutations(powervc_emulator) == []
    result, code = run_module(powervc_server.main, args(powervc_emulator, vm="ibmi-prod-01", state="absent",
                                                        reserve_vsn_on_delete=True), diff=True)
    assert code == 0 and result["changed"] is True, result
    assert result["vsn"] == {"virtual_serial_number": "ABCD100", "reserved": True, "host": "9080HEX_1234ABC",
                             "host_display_name": "prod-p10-a"}
    assert result["diff"]["after"] == {} and None not in result["diff"]["before"].values()
    assert [m[:3] for m in mutations(powervc_emulator)] == [
        ("POST", "virtual-serial-number", "action=reserve"), ("DELETE", "servers/3f9d2a1c-5b6e-4c7d-8e9f-0a1b2c3d4e01", "")]
    again, code = run_module(powervc_server.main, args(powervc_emulator, vm="ibmi-prod-01", state="absent"))
    assert code == 0 and again["changed"] is False


def test_reserve_failure_on_an_hmc_host_deletes_nothing(powervc_emulator):
    result, code = run_module(powervc_server.main, args(powervc_emulator, vm="ibmi-legacy-04", state="absent",
                                                        reserve_vsn_on_delete=True))
    assert code == 1 and "NovaLink" in result["msg"] and result["changed"] is False
    assert server(powervc_emulator, "ibmi-legacy-04") is not None


def test_timeout_is_a_whole_operation_deadline_and_a_rerun_adopts(powervc_emulator):
    powervc_emulator.admin.action("settings", {"build_time": 3})
    result, code = run_module(powervc_server.main, args(powervc_emulator, timeout=1, **CREATE), diff=True)
    assert code == 1 and result["changed"] is True
    assert "gave up waiting for server ibmi-new-01" in result["msg"] and "a re-run waits for it again" in result["msg"]
    assert result["server"]["status"] == "BUILD"
    again, code = run_module(powervc_server.main, args(powervc_emulator, **CREATE), diff=True)
    assert code == 0 and again["changed"] is True and again["actions"][0]["action"] == "adopt"
    (label,) = again["diff"]["before"]  # the server's name beside its id; only what changed
    assert label.startswith("ibmi-new-01 (") and again["diff"]["before"][label]["status"] == "BUILD"
    assert again["diff"]["after"][label]["status"] == "ACTIVE"
    assert [m[:2] for m in mutations(powervc_emulator)] == [("POST", "servers")]


def test_diff_after_a_create_is_the_server_read_back(powervc_emulator):
    result, code = run_module(powervc_server.main, args(powervc_emulator, virtual_serial_number="auto", **CREATE),
                              diff=True)
    assert code == 0 and result["diff"]["after"] == result["server"]
    assert result["diff"]["after"]["id"] and result["diff"]["after"]["virtual_serial_number"] == "ABCD101"


def test_unlisted_images_are_sent_as_ids_with_a_warning(powervc_emulator):
    powervc_emulator.admin.fault(method="GET", path="/images", status=404, times=2,  # /images/detail, then /images
                                 body={"itemNotFound": {"code": 404, "message": "The resource could not be found."}})
    result, code = run_module(powervc_server.main, args(powervc_emulator, **{**CREATE, "image": "ibmi-7.5-base"}))
    assert code == 0 and result["server"]["image"] == "ibmi-7.5-base"
    assert "sent as an id, unchecked" in str(result["warnings"])


def test_lost_delete_answer_is_decided_from_a_fresh_read(powervc_emulator):
    powervc_emulator.admin.fault(method="DELETE", path="/servers/", after=True, status=500,
                                 body={"computeFault": {"code": 500, "message": "lost"}})
    result, code = run_module(powervc_server.main, args(powervc_emulator, vm="ibmi-test-02", state="absent"))
    assert code == 0 and result["changed"] is True and "was lost" in str(result["warnings"])
    assert server(powervc_emulator, "ibmi-test-02") is None
    assert [m[0] for m in mutations(powervc_emulator)] == ["DELETE"]


def test_unlisted_flavors_are_sent_as_flavor_ref_beside_the_vsn(powervc_emulator):
    body = {"itemNotFound": {"code": 404, "message": "The resource could not be found."}}
    powervc_emulator.admin.fault(method="GET", path="/flavors", status=404, body=body, times=2)
    result, code = run_module(powervc_server.main, args(powervc_emulator, **{**CREATE, "flavor": "ibmi-small",
                                                                             "virtual_serial_number": "auto"}))
    assert code == 0, result
    (post,) = [e for e in powervc_emulator.admin.mutations() if e["path"].endswith("/servers")]
    assert post["body"]["server"]["flavorRef"] == "ibmi-small"
    assert post["body"]["server"]["flavor"] == {"extra_specs": {"powervm:virtual_serial_number": "auto"}}


def test_wave_checks_each_vsn_against_the_servers_carrying_it(powervc_emulator):
    """The wave's plan looks names and VSNs up in indexes of one server list: a VSN on another server fails
    the task naming the item; one on the server of that name being deleted is free for the re-create."""
    wave = [dict(CREATE, vm="wave-a", virtual_serial_number="auto"),
            dict(CREATE, vm="wave-b", virtual_serial_number="ABCD100")]  # ABCD100 is on ibmi-prod-01
    result, code = run_module(powervc_server.main, args(powervc_emulator, vms=wave), check_mode=True)
    assert code == 1 and "parameter 'vms[1].virtual_serial_number': VSN ABCD100 is in use by server ibmi-prod-01" \
        in result["msg"]
    powervc_emulator.admin.action("settings", {"delete_time": 30})
    deleted, code = run_module(powervc_server.main, args(powervc_emulator, vm="ibmi-prod-01", state="absent",
                                                         wait=False))
    assert code == 0 and deleted["changed"] is True
    again = [dict(CREATE, vm="ibmi-prod-01", virtual_serial_number="ABCD100", host="prod-p10-a")]
    result, code = run_module(powervc_server.main, args(powervc_emulator, vms=again), check_mode=True)
    assert code == 0, result
    assert [a["action"] for a in result["vms"][0]["actions"]] == ["wait_deleted", "create"]
    assert result["vms"][0]["outcome"] == "created"
