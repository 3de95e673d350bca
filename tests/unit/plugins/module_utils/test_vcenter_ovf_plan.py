"""Pure planning of OVF deploy/capture bodies and result parsing."""

import pytest

from ansible_collections.hybridcloud.migration.plugins.module_utils import _vcenter_ovf_plan as plan


@pytest.mark.parametrize("family, expected", [
    ("rest", [{"key": "A", "value": "network-1"}, {"key": "B", "value": "network-2"}]),
    ("api", {"B": "network-2", "A": "network-1"}),
])
def test_encode_map_per_family(family, expected):
    assert plan.encode_map(family, {"B": "network-2", "A": "network-1"}) == expected


@pytest.mark.parametrize("value, expected", [
    (None, {}), ({"a": 1}, {"a": 1}), ([{"key": "a", "value": 1}, "junk"], {"a": 1}),
])
def test_decode_map_accepts_both_forms_and_null(value, expected):
    assert plan.decode_map(value) == expected


@pytest.mark.parametrize("version, key", [
    (None, "accept_all_EULA"), ((8, 0, 3), "accept_all_EULA"), ((9, 0), "accept_all_EULA"),
    ((9, 1, 0, 0), "accept_all_eula"), ((10,), "accept_all_eula"), ((10, 0), "accept_all_eula"),
])
def test_eula_key_by_version(version, key):
    assert plan.eula_key(version) == key


@pytest.mark.parametrize("text, expected", [("8.0.3.00400", (8, 0, 3, 400)), ("9.1.0.0", (9, 1, 0, 0)),
                                            ("x", None), (None, None), ("7.0.3b", (7, 0))])
def test_parse_version(text, expected):
    assert plan.parse_version(text) == expected


def test_deployment_spec_full_rest():
    spec = plan.deployment_spec("rest", "vm1", True, annotation="note", datastore_id="datastore-14",
                                storage_provisioning="thin", network_mappings={"VM Network": "network-12"},
                                ovf_properties={"b": True, "a": 5, "c": None}, deployment_option="small")
    assert spec == {
        "name": "vm1", "accept_all_EULA": True, "annotation": "note", "default_datastore_id": "datastore-14",
        "storage_provisioning": "thin", "network_mappings": [{"key": "VM Network", "value": "network-12"}],
        "additional_parameters": [
            {"@class": "com.vmware.vcenter.ovf.property_params", "type": "PropertyParams",
             "properties": [{"id": "a", "value": "5"}, {"id": "b", "value": "true"}, {"id": "c", "value": ""}]},
            {"@class": "com.vmware.vcenter.ovf.deployment_option_params", "type": "DeploymentOptionParams",
             "selected_key": "small"}]}


def test_deployment_spec_minimal_api_and_91_spelling():
    assert plan.deployment_spec("api", "vm1", False) == {"name": "vm1", "accept_all_EULA": False}
    spec = plan.deployment_spec("api", "vm1", True, eula_field="accept_all_eula")
    assert spec == {"name": "vm1", "accept_all_eula": True}


def test_deploy_body_client_token_only_on_rest():
    target = plan.deploy_target("resgroup-22", "group-v3", "host-50")
    assert target == {"resource_pool_id": "resgroup-22", "folder_id": "group-v3", "host_id": "host-50"}
    assert plan.deploy_body("rest", target, {}, "tok")["client_token"] == "tok"
    assert "client_token" not in plan.deploy_body("api", target, {}, "tok")
    assert plan.deploy_target("resgroup-22") == {"resource_pool_id": "resgroup-22"}


def test_switch_eula_key_both_ways():
    body = {"target": {}, "deployment_spec": {"name": "x", "accept_all_EULA": True}}
    switched = plan.switch_eula_key(body)
    assert switched["deployment_spec"] == {"name": "x", "accept_all_eula": True}
    assert plan.switch_eula_key(switched)["deployment_spec"] == {"name": "x", "accept_all_EULA": True}
    assert body["deployment_spec"] == {"name": "x", "accept_all_EULA": True}  # not mutated


def test_create_body_new_and_overwrite():
    new = plan.create_body("vm-1", "lib", "tpl", description="d", flags=["EXTRA_CONFIG"], client_token="t",
                           family="rest")
    assert new == {"source": {"type": "VirtualMachine", "id": "vm-1"}, "target": {"library_id": "lib"},
                   "create_spec": {"name": "tpl", "description": "d", "flags": ["EXTRA_CONFIG"]}, "client_token": "t"}
    over = plan.create_body("vm-1", "lib", "tpl", library_item_id="item", client_token="t", family="api")
    assert over["target"] == {"library_id": "lib", "library_item_id": "item"} and "client_token" not in over


def test_outcome_success_and_failure_shapes():
    assert plan.outcome({"succeeded": True, "resource_id": {"type": "VirtualMachine", "id": "vm-9"}}) == (True, "vm-9", [])
    assert plan.outcome({"succeeded": True, "ovf_library_item_id": "i-1"}) == (True, "i-1", [])
    failed = {"succeeded": False, "resource_id": None, "error": {"errors": [
        {"category": "SERVER", "error": {"@class": "x", "messages": [{"id": "a", "default_message": "disk missing"}]}},
        {"category": "INPUT", "message": {"id": "b", "default_message": "bad input", "args": []}},
        {"category": "VALIDATION", "issues": [{"message": {"id": "c.d", "args": ["1"]}}]},
        {"category": "SERVER", "error": {"messages": [{"default_message": "disk missing"}]}}, "junk"]}}
    assert plan.outcome(failed) == (False, None, ["disk missing", "bad input", "c.d 1"])


@pytest.mark.parametrize("result", [
    {"resource_id": {"id": "vm-1"}},          # vcsim: no succeeded key
    {"succeeded": "true"}, {"succeeded": None}, None, "", [],
])
def test_outcome_anything_but_true_is_failure(result):
    assert plan.outcome(result)[0] is False


def test_outcome_of_an_unexpected_answer_says_so():
    assert plan.outcome("oops")[2] == ["unexpected answer 'oops'"]


def test_summary_problems():
    summary = {"networks": ["VM Network", "Backend"], "eulas": ["license"], "additional_params": [
        {"type": "PropertyParams", "properties": [{"id": "hostname"}]}, {"type": "Other"}]}
    assert plan.summary_problems(summary, {"VM Network": "x"}, {"hostname": "h"}, True) == []
    problems = plan.summary_problems(summary, {"Frontend": "x"}, {"ip": "1"}, False)
    assert [p[0] for p in problems] == ["network_mappings", "ovf_properties", "accept_all_eula"]
    assert "Frontend" in problems[0][1] and "VM Network, Backend" in problems[0][1]


def test_summary_problems_with_vcsims_name_only_summary():
    assert plan.summary_problems({"name": "tiny"}, {"anything": "x"}, {"p": 1}, False) == []
    assert plan.summary_problems(None, None, None, False) == []


def test_prefer_exact():
    assert plan.prefer_exact("Tiny", [("1", "tiny"), ("2", "Tiny")]) == [("2", "Tiny")]
    assert plan.prefer_exact("TINY", [("1", "tiny"), ("2", "Tiny")]) == [("1", "tiny"), ("2", "Tiny")]


def test_summary_problems_with_null_or_odd_lists():
    """{"value": null}-style lists (vcsim) and odd entries in an OvfSummary never raise."""
    summary = {"networks": None, "eulas": None, "additional_params": None}
    assert plan.summary_problems(summary, {"VM Network": "x"}, {"hostname": "h"}, False) == []
    odd = {"networks": ["VM Network", {"name": "odd"}], "eulas": [],
           "additional_params": [{"type": "PropertyParams", "properties": None}]}
    problems = plan.summary_problems(odd, {"Backend": "x"}, None, True)
    assert problems == [("network_mappings", "names OVF networks the item does not have: Backend "
                                             "(the item's networks: VM Network)")]


@pytest.mark.parametrize("name, problem", [
    ("web01", None), ("it's \"quoted\" ?&..", None), ("x" * 80, None),
    ("x" * 81, "at most 80"), ("a/b", "'/'"), ("a\\b", "'\\'"), ("50%", "'%'"), (" lead", "spaces"),
])
def test_vm_name_problem(name, problem):
    found = plan.vm_name_problem(name)
    assert (found is None) if problem is None else (problem in found), found


@pytest.mark.parametrize("value, bad", [(".", True), ("..", True), ("...", True), ("a..b", False), ("..a", False)])
def test_id_like_problem(value, bad):
    assert bool(plan.id_like_problem(value)) is bad


@pytest.mark.parametrize("text, duplicate", [
    ("The name 'vm1' already exists.", True), ("vim.fault.DuplicateName", True), ("ALREADY_EXISTS", True),
    ("Failed to deploy OVF package", False), (None, False),
])
def test_is_duplicate_name(text, duplicate):
    assert plan.is_duplicate_name(text) is duplicate


def test_label_puts_the_id_beside_the_name():
    assert plan.label("esx-02", "host-31") == "esx-02 (host-31)"
    assert plan.label(None, "host-31") == "host-31" and plan.label("host-31", "host-31") == "host-31"
    assert plan.label("web01", None) == "web01"


def test_placement_result_and_diff_name_every_object_and_leave_out_what_is_unset():
    resolved = {"datacenter": "datacenter-1", "resource_pool": "resgroup-9", "folder": "group-v40",
                "network_mappings": {"VM Network": "dvportgroup-20"}}
    names = {"datacenter-1": "DC-East", "resgroup-9": "Resources", "group-v40": "Migrated", "dvportgroup-20": "Backend"}
    assert plan.placement_result(resolved, names) == {
        "datacenter": {"id": "datacenter-1", "name": "DC-East"}, "resource_pool": {"id": "resgroup-9", "name": "Resources"},
        "folder": {"id": "group-v40", "name": "Migrated"},
        "network_mappings": {"VM Network": {"id": "dvportgroup-20", "name": "Backend"}}}
    assert plan.placement_diff(resolved, names) == {
        "datacenter": "DC-East (datacenter-1)", "resource_pool": "Resources (resgroup-9)", "folder": "Migrated (group-v40)",
        "network_mappings": {"VM Network": "Backend (dvportgroup-20)"}}
    assert sorted(plan.all_ids(resolved)) == ["datacenter-1", "dvportgroup-20", "group-v40", "resgroup-9"]


def test_deployment_spec_carries_storage_flags_and_locale_in_each_family():
    mappings = {"data": plan.storage_group_mapping(storage_profile_id="p-1"),
                "logs": plan.storage_group_mapping(datastore_id="datastore-15", provisioning="thin")}
    api = plan.deployment_spec(plan.API, "vm1", True, storage_profile_id="p-0", storage_mappings=mappings,
                               flags=["LAX"], locale="de_DE", datastore_id="datastore-14")
    assert api["storage_mappings"] == {"data": {"type": "STORAGE_PROFILE", "storage_profile_id": "p-1"},
                                       "logs": {"type": "DATASTORE", "datastore_id": "datastore-15", "provisioning": "thin"}}
    assert api["storage_profile_id"] == "p-0" and api["flags"] == ["LAX"] and api["locale"] == "de_DE"
    assert api["default_datastore_id"] == "datastore-14"
    rest = plan.deployment_spec(plan.REST, "vm1", True, storage_mappings=mappings)
    assert [entry["key"] for entry in rest["storage_mappings"]] == ["data", "logs"]
    assert "flags" not in rest and "locale" not in rest and "storage_profile_id" not in rest


@pytest.mark.parametrize("groups, mappings, default, problem", [
    (["data", "logs"], {"data": {}, "logs": {}}, None, None),
    (["data", "logs"], {"data": {}}, "datastore", None),
    (["data", "logs"], {"data": {}}, None, "leaves the item's storage groups logs without a mapping"),
    (["data"], {"data": {}, "temp": {}}, None, "names OVF storage groups the item does not have: temp"),
    ([], {"data": {}}, None, "maps storage groups, but the item has none"),
    (None, {"data": {}}, None, None),  # vcsim: no storage_groups in the summary, nothing to check against
    (["data"], {}, None, None),  # no mappings: vCenter places every group itself
])
def test_storage_groups_are_checked_against_the_mappings(groups, mappings, default, problem):
    summary = {"name": "x"} if groups is None else {"storage_groups": groups}
    problems = plan.summary_problems(summary, None, None, True, storage_mappings=mappings, storage_default=default)
    if problem is None:
        assert problems == []
    else:
        assert problems and problems[0][0] == "storage_mappings" and problem in problems[0][1]


def test_storage_result_and_diff_name_each_object():
    mappings = {"logs": plan.storage_group_mapping(datastore_id="datastore-15", provisioning="thin"),
                "data": plan.storage_group_mapping(storage_profile_id="p-1")}
    names = {"datastore-15": "east-nfs01", "p-1": "Gold", "p-0": "vSAN"}
    assert plan.storage_result("p-0", mappings, names) == {
        "storage_profile": {"id": "p-0", "name": "vSAN"},
        "storage_mappings": {"logs": {"type": "DATASTORE", "datastore": {"id": "datastore-15", "name": "east-nfs01"},
                                      "provisioning": "thin"},
                             "data": {"type": "STORAGE_PROFILE", "storage_profile": {"id": "p-1", "name": "Gold"}}}}
    assert plan.storage_diff("p-0", mappings, names) == {
        "storage_profile": "vSAN (p-0)",
        "storage_mappings": {"data": "storage policy Gold (p-1)", "logs": "datastore east-nfs01 (datastore-15), thin"}}
    assert plan.storage_result(None, {}, names) == {} and plan.storage_diff(None, {}, names) == {}


def test_pick_datastore_takes_the_usable_member_with_the_most_room():
    gib = 1 << 30
    members = [{"id": "datastore-1", "name": "ds-a", "free_space": 500 * gib},
               {"id": "datastore-2", "name": "ds-b", "free_space": 900 * gib, "maintenance": "inMaintenance"},
               {"id": "datastore-3", "name": "ds-c", "free_space": 700 * gib, "accessible": False},
               {"id": "datastore-4", "name": "ds-d", "free_space": 600 * gib, "maintenance": "normal"}]
    chosen, reason = plan.pick_datastore("pod (group-p1)", members, 20 * gib)
    assert chosen["id"] == "datastore-4"
    assert "ds-d (datastore-4) has the most free space (600.0 GiB) of the 2 usable members" in reason
    assert "20.0 GiB" in reason and "pod (group-p1)" in reason
    chosen, reason = plan.pick_datastore("pod", members, 650 * gib)
    assert chosen is None and "no member of datastore cluster pod has room for the item (650.0 GiB)" in reason
    assert "ds-b (datastore-2): 900.0 GiB free (unusable" in reason
    tie = [{"id": "datastore-9", "name": "b", "free_space": 10}, {"id": "datastore-8", "name": "a", "free_space": 10}]
    assert plan.pick_datastore("pod", tie, 0)[0]["name"] == "a"  # same pick on every run
    assert plan.pick_datastore("pod", [], 0) == (None, "no member of datastore cluster pod has room for the item "
                                                       "(an unknown size): no member datastores")


# -- bulk ------------------------------------------------------------------------------------------
def test_merge_vm_takes_defaults_for_what_an_entry_leaves_unset():
    defaults = {"item": "ubuntu", "folder": "Migrated", "datastore": "east-vsan", "power_on": True,
                "network_mappings": {"VM Network": "Backend"}}
    merged = plan.merge_vm(defaults, {"vm": "a", "folder": "Other", "power_on": False, "network_mappings": {"x": "y"}})
    assert merged["vm"] == "a" and merged["item"] == "ubuntu" and merged["folder"] == "Other"
    assert merged["power_on"] is False and merged["network_mappings"] == {"x": "y"}  # replaced, not merged
    assert merged["datastore"] == "east-vsan" and merged["datastore_cluster"] is None
    # datastore and datastore_cluster replace each other: an entry's pod drops the default datastore
    pod = plan.merge_vm(defaults, {"vm": "b", "datastore_cluster": "pod1"})
    assert pod["datastore"] is None and pod["datastore_cluster"] == "pod1"


def test_bulk_action_from_what_is_in_the_folder():
    assert plan.bulk_action(None, True) == ("deploy", None)
    assert plan.bulk_action([("vm-1", "POWERED_OFF")], True) == ("adopt", "vm-1")
    assert plan.bulk_action([("vm-1", "POWERED_ON")], True) == ("keep", "vm-1")
    assert plan.bulk_action([("vm-1", "POWERED_OFF")], False) == ("keep", "vm-1")


def test_capacity_summed_per_datastore_over_the_vms_of_a_call():
    gib = 1 << 30
    demands = [("datastore-15", 2 * gib, "a", "vms[0].datastore"), ("datastore-15", 2 * gib, "b", "datastore"),
               ("datastore-15", 2 * gib, "c", "datastore"), ("datastore-14", 2 * gib, "d", "datastore"),
               ("datastore-9", 2 * gib, "e", "storage_mappings")]
    spaces = {"datastore-15": 5 * gib, "datastore-14": 100 * gib, "datastore-9": None}
    (problem,) = plan.capacity_problems(demands, spaces, {"datastore-15": "east-nfs01"})
    parameters, text = problem
    assert parameters == ["vms[0].datastore", "datastore"]
    assert "east-nfs01 (datastore-15) has 5.0 GiB (5368709120 bytes) free" in text and "need 6.0 GiB" in text
    assert "3 VM(s)" in text and "a, b, c" in text
    assert plan.capacity_problems(demands[:2], spaces, {}) == []  # 4 GiB fit in 5


def test_vm_datastores_counts_each_datastore_once():
    mappings = {"g1": {"type": "DATASTORE", "datastore_id": "ds-1"}, "g2": {"type": "DATASTORE", "datastore_id": "ds-2"},
                "g3": {"type": "STORAGE_PROFILE", "storage_profile_id": "p"}}
    assert plan.vm_datastores("ds-1", mappings, "datastore", "storage_mappings") == [
        ("ds-1", "datastore"), ("ds-2", "storage_mappings")]
    assert plan.vm_datastores(None, {}, "datastore", "storage_mappings") == []
    assert plan.item_size({"size": "123"}) == 123 and plan.item_size({}) == 0 and plan.item_size({"size": "x"}) == 0


def test_bulk_failures_name_each_failed_vm_with_its_id():
    entries = [{"name": "a", "moref": None, "outcome": "failed", "error": "boom"},
               {"name": "b", "moref": "vm-2", "outcome": "in_progress", "error": "late"},
               {"name": "c", "moref": "vm-3", "outcome": "deployed", "error": ""}]
    assert plan.bulk_failures(entries) == "a: boom; b (vm-2): late"


def test_earlier_picks_of_a_call_spread_a_wave_over_the_members():
    gib = 1 << 30
    members = [{"id": "datastore-1", "name": "a", "free_space": 10 * gib},
               {"id": "datastore-2", "name": "b", "free_space": 9 * gib}]
    claims = {}
    picks = []
    for dummy in range(4):
        chosen, dummy_reason = plan.pick_datastore("pod", plan.after_claims(members, claims), 4 * gib)
        claims[chosen["id"]] = claims.get(chosen["id"], 0) + 4 * gib
        picks.append(chosen["id"])
    assert picks == ["datastore-1", "datastore-2", "datastore-1", "datastore-2"]  # 10, 9 -> 6, 9 -> 6, 5 -> 2, 5 -> 2, 1
    chosen, reason = plan.pick_datastore("pod", plan.after_claims(members, claims), 4 * gib)
    assert chosen is None and "no member of datastore cluster pod has room" in reason
    assert plan.after_claims(members, {}) is members
