"""Pure planning of powervc_server: VSN option, name resolution, the inline flavor, existing servers."""

import pytest

from ansible_collections.hybridcloud.migration.plugins.module_utils import _powervc_server_plan as plan
from ansible_collections.hybridcloud.migration.plugins.module_utils._errors import ParameterError

IMAGES = [{"id": "img-1", "name": "ibmi"}, {"id": "img-2", "name": "twin"}, {"id": "img-3", "name": "twin"},
          {"id": "ibmi", "name": "aix"}]
RESERVED = [{"virtual_serial_number": "ABCD001", "host": "9080HEX_1234ABC", "description": ""}]
SERVERS = [{"id": "s1", "name": "ibmi-prod", "virtual_serial_number": "ABCD100", "status": "ACTIVE",
            "OS-EXT-SRV-ATTR:host": "9080HEX_1234ABC"},
           {"id": "s2", "name": "plain", "virtual_serial_number": "none", "status": "BUILD"}]


@pytest.mark.parametrize("value, wanted", [(None, None), ("none", "none"), ("None", "none"), ("AUTO", "auto"),
                                           ("abcd567", "ABCD567"), (" ABCD567 ", "ABCD567")])
def test_wanted_vsn(value, wanted):
    assert plan.wanted_vsn(value) == wanted


@pytest.mark.parametrize("value", ["ABC", "ABCD5678", "ABCD-67", "", "äbcd567"])
def test_wanted_vsn_rejects_other_shapes(value):
    with pytest.raises(ParameterError, match="parameter 'virtual_serial_number'"):
        plan.wanted_vsn(value)


def test_resolve_prefers_ids_then_unique_names():
    assert plan.resolve("ibmi", IMAGES, "image", "image")["id"] == "ibmi"  # an id wins over a name
    assert plan.resolve("img-2", IMAGES, "image", "image")["name"] == "twin"
    with pytest.raises(ParameterError, match="parameter 'image': 2 images are called 'twin'"):
        plan.resolve("twin", IMAGES, "image", "image")
    with pytest.raises(ParameterError, match="parameter 'image': no image with id or name 'x'; known: aix, ibmi"):
        plan.resolve("x", IMAGES, "image", "image")
    assert plan.resolve("anything", None, "image", "image") == {"id": "anything", "name": None, "unchecked": True}


def test_resolve_networks_keeps_order_and_fixed_ips():
    listed = [{"id": "n1", "name": "prod"}, {"id": "n2", "name": "dr"}]
    request, names = plan.resolve_networks([{"network": "dr", "fixed_ip": "10.0.0.5"}, {"network": "n1"}], listed)
    assert request == [{"uuid": "n2", "fixed_ip": "10.0.0.5"}, {"uuid": "n1"}] and names == ["dr", "prod"]
    with pytest.raises(ParameterError, match=r"parameter 'networks\[1\].network'"):
        plan.resolve_networks([{"network": "dr"}, {"network": "nope"}], listed)


def test_inline_flavor_carries_sizes_specs_and_the_vsn_option_only():
    flavor = {"id": "f", "name": "small", "vcpus": 2, "ram": 4096, "disk": 0, "links": []}
    specs = {"powervm:proc_units": "1", "powervm:virtual_serial_number": "OLD0001"}
    assert plan.inline_flavor(flavor, specs, "auto") == {
        "vcpus": 2, "ram": 4096, "disk": 0,
        "extra_specs": {"powervm:proc_units": "1", "powervm:virtual_serial_number": "auto"}}
    assert plan.inline_flavor(flavor, specs, "none")["extra_specs"] == {"powervm:proc_units": "1"}


def test_create_request_places_through_the_zone():
    body = plan.create_request("n", "img", {"vcpus": 1}, [{"uuid": "n1"}], plan.zone_for("9080HEX_1234ABC"))
    assert body == {"name": "n", "imageRef": "img", "flavor": {"vcpus": 1}, "networks": [{"uuid": "n1"}],
                    "availability_zone": ":9080HEX_1234ABC"}
    assert "availability_zone" not in plan.create_request("n", "img", {}, [], plan.zone_for(None))


def test_check_vsn_for_create():
    assert plan.check_vsn_for_create("auto", None, RESERVED, SERVERS) == (None, None)
    assert plan.check_vsn_for_create("ABCD001", None, RESERVED, SERVERS) == ("9080HEX_1234ABC", RESERVED[0])
    assert plan.check_vsn_for_create("ABCD001", "9080HEX_1234ABC", RESERVED, SERVERS)[1] == RESERVED[0]
    assert plan.check_vsn_for_create("ZZZZ001", "H", RESERVED, SERVERS) == ("H", None)
    with pytest.raises(ParameterError, match="in use by server ibmi-prod"):
        plan.check_vsn_for_create("ABCD100", None, RESERVED, SERVERS)
    with pytest.raises(ParameterError, match="reserved on host 9080HEX_1234ABC, not on host 9109RMD_1031CAT"):
        plan.check_vsn_for_create("ABCD001", "9109RMD_1031CAT", RESERVED, SERVERS)


def test_find_by_name_is_exact_and_unique():
    assert plan.find_by_name(SERVERS, "ibmi-prod")["id"] == "s1"
    assert plan.find_by_name(SERVERS, "ibmi") is None  # no regular-expression matching
    with pytest.raises(ParameterError, match="parameter 'vm': 2 servers are called 'x'"):
        plan.find_by_name([{"id": "a", "name": "x"}, {"id": "b", "name": "x"}], "x")


@pytest.mark.parametrize("server, wanted, conflict", [
    (SERVERS[0], None, False), (SERVERS[0], "auto", False), (SERVERS[0], "ABCD100", False),
    (SERVERS[0], "ABCD567", True), (SERVERS[0], "none", True),
    (SERVERS[1], "none", False), (SERVERS[1], "auto", True), (SERVERS[1], "ABCD567", True),
])
def test_vsn_conflict(server, wanted, conflict):
    problem = plan.vsn_conflict(server, wanted)
    assert bool(problem) is conflict
    if conflict:
        assert "powervc_vsn" in problem and "does not change the VSN" in problem


def test_host_conflict_compares_canonical_keys():
    assert plan.host_conflict(SERVERS[0], "9080HEX_1234ABC") is None
    assert plan.host_conflict(SERVERS[1], "9080HEX_1234ABC") is None  # host not visible: nothing to compare
    assert "runs on host 9080HEX_1234ABC" in plan.host_conflict(SERVERS[0], "9109RMD_1031CAT")


def test_build_state_and_fault():
    assert [plan.build_state(s) for s in (None, {"status": "BUILD"}, {"status": "ACTIVE"}, {"status": "SHUTOFF"},
                                          {"status": "ERROR"})] == ["gone", "pending", "done", "done", "failed"]
    assert plan.fault_message({"fault": {"code": 500, "message": "No valid host"}}) == "No valid host (fault code 500)"
    assert plan.fault_message({}) == "no fault message given"


def test_server_state_reads_vsn_and_fault():
    state = plan.server_state(dict(SERVERS[0], fault={"message": "m"}, image={"id": "i"}, flavor={"id": "f"}))
    assert state["virtual_serial_number"] == "ABCD100" and state["host"] == "9080HEX_1234ABC"
    assert state["image"] == "i" and state["flavor"] == "f" and state["fault"] == "m"
    assert plan.server_state(SERVERS[1])["virtual_serial_number"] is None
    assert plan.server_state(None) == {}


def test_plan_absent_reserves_before_deleting():
    assert plan.plan_absent(None, True) == []
    assert plan.plan_absent(SERVERS[0], True) == ["reserve_vsn", "delete"]
    assert plan.plan_absent(SERVERS[0], False) == ["delete"]
    assert plan.plan_absent(SERVERS[1], True) == ["delete"]  # nothing to keep


def test_plan_absent_adopts_a_delete_nova_is_already_doing():
    deleting = dict(SERVERS[0], **{"OS-EXT-STS:task_state": "deleting"})
    assert plan.plan_absent(deleting, True) == ["adopt_delete"]
    assert plan.plan_absent(dict(SERVERS[1], status="SOFT_DELETED"), False) == ["adopt_delete"]
    assert plan.is_deleting(dict(SERVERS[1], status="deleted")) and not plan.is_deleting(SERVERS[1])


def test_create_request_names_the_flavor_only_when_its_sizes_are_unknown():
    body = plan.create_request("n", "img", {"extra_specs": {"powervm:virtual_serial_number": "auto"}}, [], None, "f1")
    assert body["flavorRef"] == "f1" and body["flavor"] == {"extra_specs": {"powervm:virtual_serial_number": "auto"}}


DEFAULTS = {"state": "present", "image": "ibmi", "flavor": "small", "networks": None, "host": "dr",
            "virtual_serial_number": "auto", "reserve_vsn_on_delete": False, "reservation_description": None}


def test_item_options_fill_defaults_that_apply_to_the_items_state():
    present = plan.item_options({"vm": "a", "flavor": "big"}, DEFAULTS, 0)
    assert present["flavor"] == "big" and present["image"] == "ibmi" and present["host"] == "dr"
    assert present["reserve_vsn_on_delete"] is None  # an absent-only default is not applied
    absent = plan.item_options({"vm": "b", "state": "absent", "reserve_vsn_on_delete": True}, DEFAULTS, 1)
    assert absent["image"] is None and absent["host"] is None and absent["reserve_vsn_on_delete"] is True


@pytest.mark.parametrize("item, message", [
    ({"vm": "a", "state": "absent", "image": "x"}, "parameter 'vms[2].image' is not used with state=absent"),
    ({"vm": "a", "reserve_vsn_on_delete": True}, "parameter 'vms[2].reserve_vsn_on_delete' is not used with state=present"),
    ({"vm": "a", "state": "absent", "reservation_description": "d"}, "parameter 'vms[2].reservation_description' is "
     "used only with reserve_vsn_on_delete=true")])
def test_item_options_reject_the_items_own_options_its_state_does_not_use(item, message):
    with pytest.raises(ParameterError, match=message.replace("[", r"\[").replace("]", r"\]")):
        plan.item_options(item, DEFAULTS, 2)


def test_duplicate_vsns_and_prefixed_errors():
    items = [{"vm": "a", "state": "present", "vsn": "ABCD001"}, {"vm": "b", "state": "present", "vsn": "auto"},
             {"vm": "c", "state": "present", "vsn": "auto"}]
    plan.duplicate_vsns(items)  # 'auto' twice is fine
    with pytest.raises(ParameterError, match=r"'vms\[3\].virtual_serial_number': VSN ABCD001 is also asked for by vms\[0\]"):
        plan.duplicate_vsns(items + [{"vm": "d", "state": "present", "vsn": "ABCD001"}])
    error = plan.prefixed(ParameterError("parameter 'image': no image"), "vms[4].")
    assert str(error) == "parameter 'vms[4].image': no image"


def test_describe_and_failure_summary():
    assert plan.describe({}) == "absent"
    state = {"status": "ACTIVE", "host": "9109RMD_1031CAT", "host_display_name": "dr-p10-b",
             "virtual_serial_number": "CDF0002"}
    assert plan.describe(state) == "ACTIVE on dr-p10-b (9109RMD_1031CAT), VSN CDF0002"
    assert plan.describe({"status": "BUILD"}) == "BUILD, VSN none"
    entries = [{"name": "a", "id": "1", "error": ""}, {"name": "b", "id": None, "error": "boom"},
               {"name": "c", "id": "3", "error": "409 x"}]
    assert plan.failure_summary(entries) == "b (no id): boom; c (3): 409 x"
    assert plan.failure_summary(entries[:1]) == ""


# -- re-deploy plan (the powervc_vsn_redeploy role) ------------------------------------------------
# As hybridcloud.migration.powervc_vsn_info returns them: hosts as ids (TTTTMMM_SSSSSSS) with display names.
INFO_SERVERS = [
    {"name": "on-target", "id": "t1", "host": "9109RMD_1031CAT", "host_display_name": "dr-p10-b",
     "virtual_serial_number": "CDF0001"},
    {"name": "old-same-vsn", "id": "o1", "host": "9080HEX_1234ABC", "host_display_name": "prod-p10-a",
     "virtual_serial_number": "ABCD100"},
    {"name": "old-other-vsn", "id": "o2", "host": "9080HEX_1234ABC", "host_display_name": None,
     "virtual_serial_number": "ABCD101"},
]
INFO_RESERVED = [{"virtual_serial_number": "ABCD200", "host": "9080HEX_1234ABC", "host_display_name": "prod-p10-a"},
                 {"virtual_serial_number": "CDF0005", "host": "9109RMD_1031CAT", "host_display_name": "dr-p10-b"}]


def rows(*specs, **defaults):
    return plan.redeploy_rows([dict(vm=vm, virtual_serial_number=vsn) for vm, vsn in specs], None,
                              target_host=defaults.get("target", "DR-P10-B"), image="img", flavor="small",
                              networks=[{"network": "vlan"}])


def test_redeploy_plan_steps_per_vm():
    result = plan.redeploy_plan(rows(("on-target", "cdf0001"), ("old-same-vsn", "ABCD100"), ("old-other-vsn", "ABCD200"),
                                     ("new-reserved-here", "CDF0005"), ("new-free", "CDF0009")),
                                INFO_SERVERS, INFO_RESERVED)
    lines = result["text"].split("; ")
    assert lines == [
        "on-target (t1) on dr-p10-b, VSN CDF0001 -> DR-P10-B: already there",  # display name, any case or punctuation
        "old-same-vsn (o1) on prod-p10-a, VSN ABCD100 -> DR-P10-B: delete (VSN kept reserved), move VSN from "
        "9080HEX_1234ABC, create",  # reserved on the old host once the old VM is deleted
        "old-other-vsn (o2) on 9080HEX_1234ABC, VSN ABCD200 -> DR-P10-B: delete (VSN kept reserved), move VSN from "
        "9080HEX_1234ABC, create",
        "new-reserved-here on absent, VSN CDF0005 -> DR-P10-B: create",  # reserved on the target host already
        "new-free on absent, VSN CDF0009 -> DR-P10-B: create"]
    assert result["old"] == ["old-same-vsn", "old-other-vsn"]
    assert result["deletes"] == [{"vm": "old-same-vsn", "reservation_description": "re-deploy of old-same-vsn on DR-P10-B"},
                                 {"vm": "old-other-vsn", "reservation_description": "re-deploy of old-other-vsn on DR-P10-B"}]
    # One move per source and target host pair, VSNs in the order of the VMs.
    assert result["moves"] == [{"source_host": "9080HEX_1234ABC", "target_host": "DR-P10-B",
                                "vsns": ["ABCD100", "ABCD200"]}]
    assert [c["vm"] for c in result["creates"]] == ["old-same-vsn", "old-other-vsn", "new-reserved-here", "new-free"]
    assert result["creates"][0] == {"vm": "old-same-vsn", "virtual_serial_number": "ABCD100", "image": "img",
                                    "flavor": "small", "networks": [{"network": "vlan"}], "host": "DR-P10-B"}
    assert result["unchanged"] == [{"vm": "on-target", "name": "on-target", "id": "t1", "virtual_serial_number": "CDF0001",
                                    "now": "dr-p10-b", "target": "DR-P10-B", "outcome": "unchanged", "error": ""}]


def test_redeploy_plan_check_mode_creates_only_what_waits_for_nothing():
    result = plan.redeploy_plan(rows(("old-same-vsn", "ABCD100"), ("new-reserved-here", "CDF0005"),
                                     ("new-moved", "ABCD200")), INFO_SERVERS, INFO_RESERVED, check_mode=True)
    assert [c["vm"] for c in result["creates"]] == ["new-reserved-here"]
    assert "new-moved on absent, VSN ABCD200 -> DR-P10-B: move VSN from 9080HEX_1234ABC, create" in result["text"]
    assert result["moves"][0]["vsns"] == ["ABCD100", "ABCD200"]


def test_redeploy_plan_hosts_in_either_mtms_form_and_pairs_apart():
    by_mtms = plan.redeploy_plan(rows(("on-target", "CDF0001"), target="9109-RMD*1031CAT"), INFO_SERVERS, [])
    assert by_mtms["text"].endswith("already there") and by_mtms["creates"] == []
    reserved = INFO_RESERVED + [{"virtual_serial_number": "EFG0001", "host": "9109RMD_1031CAT"}]
    to_a = plan.redeploy_plan(rows(("x1", "ABCD200"), ("x2", "EFG0001"), target="9080HEX_1234ABC"), [], reserved)
    assert to_a["moves"] == [{"source_host": "9109RMD_1031CAT", "target_host": "9080HEX_1234ABC", "vsns": ["EFG0001"]}]
    assert plan.redeploy_plan([], INFO_SERVERS, INFO_RESERVED)["text"] == "nothing to re-deploy"


def test_redeploy_rows_from_a_wave_plan_inventory_s_hosts():
    hosts = [{"migration_vm": "w1", "migration_platform": "powervc", "migration_destination": "dr-p10-b",
              "migration_virtual_serial_number": "cdf0011", "migration_image": "ibmi 7.5", "migration_network": "vlan9"},
             {"migration_vm": "w2", "migration_platform": "powervc", "migration_destination": "dr-p10-b",
              "migration_vsn": "CDF0012", "migration_flavor": "big"},
             {"migration_vm": "web01", "migration_platform": "zstack", "migration_destination": "ps-b"},
             {"inventory_hostname": "localhost"}]
    result = plan.redeploy_rows([], hosts, target_host="ignored", image="img", flavor="small", networks=None)
    assert result == [
        {"vm": "w1", "virtual_serial_number": "CDF0011", "image": "ibmi 7.5", "flavor": "small",
         "networks": [{"network": "vlan9"}], "target": "dr-p10-b"},
        {"vm": "w2", "virtual_serial_number": "CDF0012", "image": "img", "flavor": "big", "networks": None,
         "target": "dr-p10-b"}]


def test_redeploy_rows_from_the_list_keep_an_item_s_own_values():
    result = plan.redeploy_rows([{"vm": "a", "virtual_serial_number": "abcd001", "image": None, "networks": []}], [],
                                target_host="dr-p10-b", image="img", flavor="small", networks=[{"network": "x"}])
    assert result == [{"vm": "a", "virtual_serial_number": "ABCD001", "image": None, "flavor": "small", "networks": [],
                       "target": "dr-p10-b"}]


@pytest.mark.parametrize("vms, target, message", [
    ([{"vm": "a", "virtual_serial_number": "ABCD001"}], None, "parameter 'target_host' is required"),
    ([{"vm": "a"}, {"virtual_serial_number": "ABCD001"}], "dr-p10-b", r"parameter 'vms\[1\].vm' is required"),
])
def test_redeploy_rows_reject_a_list_without_target_or_names(vms, target, message):
    with pytest.raises(ParameterError, match=message):
        plan.redeploy_rows(vms, [], target_host=target)
