"""Pure planning of the NSX V2T vMotion recipe."""

import pytest

from ansible_collections.hybridcloud.migration.plugins.module_utils import _nsx_plan as plan

VC = "vc-target"
SW = "50 11 22 33"
LS1, LS2, LS3 = "ls-1", "ls-2", "ls-3"
DVPGS = {LS1: {"key": "dvportgroup-1", "switch_uuid": SW, "name": "seg1", "dvs_version": "7.0.0"},
         LS2: {"key": "dvportgroup-2", "switch_uuid": SW, "name": "seg2", "dvs_version": "7.0.3"}}
OPAQUE = {LS2: "seg2", LS3: "seg3"}
OLD = {"type": "dvpg", "portgroup_key": "dvportgroup-9", "switch_uuid": "old"}


def details(mapping, failed=None):
    """mapping {ls: {vm: [vnics]}} -> the wire form."""
    body = {plan.MAP_KEY: [{"ls_id": ls, "vm_and_vnics_mapping": [{"vm_instance_id": vm, "vnics": vnics} for vm, vnics in vms.items()]}
                           for ls, vms in mapping.items()]}
    if failed is not None:
        body[plan.FAILED_KEY] = failed
    return body


def vm(uuid, nics, host="host-1", vcenter=VC, **extra):
    facts = {"instance_uuid": uuid, "name": "vm-" + uuid, "vcenter": vcenter, "host": host, "resource_pool": "pool-1",
             "folder": "folder-1", "datastores": ["ds-1"],
             "nics": [{"key": k, "label": "nic " + k, "backing": b, "external_id": e} for k, (b, e) in nics.items()]}
    facts.update(extra)
    return facts


def dvpg_backing(ls):
    return {"type": "dvpg", "portgroup_key": DVPGS[ls]["key"], "switch_uuid": SW}


def opaque_backing(ls):
    return {"type": "opaque", "opaque_network_id": ls, "opaque_network_type": "nsx.LogicalSwitch"}


PLACE = {"vcenter": VC, "cross_vcenter": False}


def test_vnic_map_and_failed_ids():
    d = details({LS1: {"a": ["4000"], "b": [4001]}, LS2: {"a": ["4001"]}}, failed=["x", "x"])
    assert plan.vnic_map(d) == {"a": {"4000": LS1, "4001": LS2}, "b": {"4001": LS1}}
    assert plan.nsx_failed_ids(d) == ["x"]
    assert plan.nsx_failed_ids({plan.FAILED_KEY: None}) == [] and plan.nsx_failed_ids({}) == [] and plan.vnic_map(None) == {}


def test_vif_id():
    assert plan.vif_id("52630e5d-ce6f-fac0-424c-4aa4bdf6bd56", 4001) == "52630e5d-ce6f-fac0-424c-4aa4bdf6bd56:4001"


@pytest.mark.parametrize("ls,mode,expected", [
    (LS1, "auto", "dvpg"), (LS1, "dvpg", "dvpg"), (LS1, "opaque", None),
    (LS2, "auto", "dvpg"), (LS2, "opaque", "opaque"),
    (LS3, "auto", "opaque"), (LS3, "dvpg", None), (LS3, "opaque", "opaque"),
    ("ls-missing", "auto", None)])
def test_choose_backing(ls, mode, expected):
    backing, error = plan.choose_backing(ls, mode, DVPGS, OPAQUE)
    assert (backing or {}).get("type") == expected
    assert (error is None) == (expected is not None)
    if error:
        assert ls in error and "target vCenter" in error


def test_auto_prefers_opaque_on_an_old_vds():
    dvpgs = {LS2: dict(DVPGS[LS2], dvs_version="6.6.0")}
    assert plan.choose_backing(LS2, "auto", dvpgs, OPAQUE)[0]["type"] == "opaque"
    assert plan.choose_backing(LS2, "dvpg", dvpgs, OPAQUE)[0]["type"] == "dvpg"  # asked for explicitly
    assert plan.choose_backing(LS1, "auto", {LS1: dict(DVPGS[LS1], dvs_version=None)}, {})[0] is None


def test_relocates_and_reports_every_mapped_vnic():
    d = details({LS1: {"a": ["4000"]}, LS3: {"a": ["4001"]}})
    vms = {"a": vm("a", {"4000": (OLD, None), "4001": (OLD, None), "4002": (OLD, None)})}
    [entry] = plan.plan_migration(d, vms, DVPGS, OPAQUE, PLACE)
    assert entry["action"] == "relocate" and entry["error"] is None and entry["move"] is False
    assert [(n["key"], n["after"]["type"], n["external_id"], n["changed"]) for n in entry["nics"]] == [
        ("4000", "dvpg", "a:4000", True), ("4001", "opaque", "a:4001", True)]  # 4002 unmapped: untouched
    assert entry["nics"][0]["before"] == OLD


def test_already_done_is_skipped():
    d = details({LS1: {"a": ["4000"]}})
    vms = {"a": vm("a", {"4000": (dvpg_backing(LS1), "a:4000"), "4001": (OLD, None)})}
    [entry] = plan.plan_migration(d, vms, DVPGS, OPAQUE, PLACE)
    assert entry["action"] == "none" and entry["nics"][0]["changed"] is False


def test_missing_external_id_alone_means_relocate():
    d = details({LS1: {"a": ["4000"]}})
    vms = {"a": vm("a", {"4000": (dvpg_backing(LS1), None)})}
    assert plan.plan_migration(d, vms, DVPGS, OPAQUE, PLACE)[0]["action"] == "relocate"
    vms = {"a": vm("a", {"4000": (dvpg_backing(LS1), "other:4000")})}
    assert plan.plan_migration(d, vms, DVPGS, OPAQUE, PLACE)[0]["action"] == "relocate"


def test_backing_kind_change_means_relocate():
    d = details({LS2: {"a": ["4000"]}})
    vms = {"a": vm("a", {"4000": (opaque_backing(LS2), "a:4000")})}
    assert plan.plan_migration(d, vms, DVPGS, OPAQUE, PLACE, backing="opaque")[0]["action"] == "none"
    assert plan.plan_migration(d, vms, DVPGS, OPAQUE, PLACE, backing="dvpg")[0]["action"] == "relocate"
    assert plan.plan_migration(d, vms, DVPGS, OPAQUE, PLACE, backing="auto")[0]["action"] == "relocate"


def test_missing_segment_fails_only_that_vm():
    d = details({LS1: {"a": ["4000"], "b": ["4000"]}, LS3: {"b": ["4001"]}})
    vms = {"a": vm("a", {"4000": (OLD, None)}), "b": vm("b", {"4000": (OLD, None), "4001": (OLD, None)})}
    entries = plan.plan_migration(d, vms, DVPGS, OPAQUE, PLACE, backing="dvpg")
    assert [(e["instance_uuid"], e["action"]) for e in entries] == [("a", "relocate"), ("b", "fail")]
    assert "vNIC 4001: segment ls-3 has no NSX distributed port group" in entries[1]["error"]


def test_nsx_failed_and_unknown_vms_fail():
    d = details({LS1: {"a": ["4000"], "ghost": ["4000"]}}, failed=["gone"])
    vms = {"a": vm("a", {"4000": (OLD, None)})}
    entries = plan.plan_migration(d, vms, DVPGS, OPAQUE, PLACE, extra_ids=["a", "gone"])
    assert [(e["instance_uuid"], e["action"]) for e in entries] == [("a", "relocate"), ("ghost", "fail"), ("gone", "fail")]
    assert "no VM with instance UUID ghost" in entries[1]["error"] and "failed_vm_instance_ids" in entries[2]["error"]
    after = plan.plan_migration(d, vms, DVPGS, OPAQUE, PLACE, extra_ids=["a", "gone"])
    plan.decide_outcomes(entries, after, {"a": {"state": "error", "error": "boom", "task": "task-1"}})
    assert plan.post_migrate_decision(entries, "g", {})["failed"] == ["a", "ghost", "gone"]


def test_vnic_listed_by_nsx_but_absent_on_the_vm():
    d = details({LS1: {"a": ["4007"]}})
    entry = plan.plan_migration(d, {"a": vm("a", {"4000": (OLD, None)})}, DVPGS, OPAQUE, PLACE)[0]
    assert entry["action"] == "fail" and "vNIC 4007" in entry["error"]


@pytest.mark.parametrize("placement,placed", [
    ({"host": "host-1"}, True), ({"host": "host-2"}, False),
    ({"hosts": ["host-1", "host-3"]}, True), ({"hosts": ["host-2"]}, False),
    ({"resource_pool": "pool-1"}, True), ({"resource_pool": "pool-2"}, False),
    ({"datastore": "ds-1"}, True), ({"datastore": "ds-2"}, False),
    ({"folder": "folder-1"}, True), ({"folder": "folder-2"}, False),
    ({"vcenter": "other"}, False), ({}, True)])
def test_is_placed(placement, placed):
    assert plan.is_placed(vm("a", {}), dict({"vcenter": VC}, **placement) if "vcenter" not in placement else placement) is placed


def test_placement_change_alone_means_relocate():
    d = details({LS1: {"a": ["4000"]}})
    vms = {"a": vm("a", {"4000": (dvpg_backing(LS1), "a:4000")})}
    [entry] = plan.plan_migration(d, vms, DVPGS, OPAQUE, dict(PLACE, host="host-2"))
    assert entry["action"] == "relocate" and entry["move"] is True
    assert entry["placement"]["before"]["host"] == "host-1" and entry["placement"]["after"]["host"] == "host-2"


def test_cluster_hosts_used_in_turn_and_placed_vms_stay():
    d = details({LS1: {"a": ["4000"], "b": ["4000"], "c": ["4000"]}})
    vms = {"a": vm("a", {"4000": (OLD, None)}, host="host-9"), "b": vm("b", {"4000": (OLD, None)}, host="host-8"),
           "c": vm("c", {"4000": (OLD, None)}, host="host-3")}
    entries = plan.plan_migration(d, vms, DVPGS, OPAQUE, dict(PLACE, hosts=["host-2", "host-3"]))
    assert [e["placement"]["after"]["host"] for e in entries] == ["host-2", "host-3", "host-3"]
    assert [e["move"] for e in entries] == [True, True, False]


def test_cross_vcenter_needs_every_vnic_mapped():
    d = details({LS1: {"a": ["4000"], "b": ["4000"]}})
    vms = {"a": vm("a", {"4000": (OLD, None), "4001": (OLD, None)}, vcenter="src"),
           "b": vm("b", {"4000": (OLD, None)}, vcenter="src")}
    place = {"vcenter": VC, "cross_vcenter": True, "host": "host-5", "resource_pool": "pool-5", "datastore": "ds-5",
             "folder": "folder-5"}
    entries = plan.plan_migration(d, vms, DVPGS, OPAQUE, place)
    assert entries[0]["action"] == "fail" and "vNIC 4001 has no NSX segment" in entries[0]["error"]
    assert entries[1]["action"] == "relocate" and entries[1]["placement"]["after"]["folder"] == "folder-5"


def test_cross_vcenter_rerun_on_target_is_unchanged():
    d = details({LS1: {"a": ["4000"]}})
    vms = {"a": vm("a", {"4000": (dvpg_backing(LS1), "a:4000")}, host="host-5", datastores=["ds-5"])}
    place = {"vcenter": VC, "cross_vcenter": True, "hosts": ["host-5", "host-6"], "resource_pool": "pool-1",
             "datastore": "ds-5"}
    assert plan.plan_migration(d, vms, DVPGS, OPAQUE, place)[0]["action"] == "none"


def test_diff_shows_each_changed_vnic():
    d = details({LS1: {"a": ["4000", "4001"]}})
    vms = {"a": vm("a", {"4000": (OLD, None), "4001": (dvpg_backing(LS1), "a:4001")})}
    entries = plan.plan_migration(d, vms, DVPGS, OPAQUE, PLACE)
    before, after = plan.diff(entries)
    # The VM stays where it is: no placement in the diff at all (never a null meaning "unchanged").
    assert before == {"vm-a (a)": {"nics": {"4000": {"backing": "dvpg dvportgroup-9 on switch old"}}}}
    assert after["vm-a (a)"] == {"nics": {"4000": {"backing": "dvpg dvportgroup-1 on switch 50 11 22 33", "external_id": "a:4000"}}}
    assert plan.diff([dict(entries[0], action="none")]) == ({}, {})


def test_diff_and_result_name_what_changes_only():
    """Names beside morefs; only the keys that change; the vCenter only when it changes."""
    d = details({LS1: {"a": ["4000"]}})
    vms = {"a": vm("a", {"4000": (OLD, None)}, vcenter="vc-src")}
    place = {"vcenter": VC, "cross_vcenter": True, "host": "host-2", "resource_pool": "pool-1", "datastore": "ds-1",
             "folder": "folder-1"}
    entries = plan.plan_migration(d, vms, DVPGS, OPAQUE, place)
    names = {"vc-src": {"host-1": "esx-01", "ds-1": "old-ds", "pool-1": "Resources", "folder-1": "vm"},
             VC: {"host-2": "esx-02", "ds-1": "vsan", "pool-1": "Resources", "folder-1": "vm"},
             "vcenters": {"vc-src": "vc-old.example.com", VC: "vc-new.example.com"},
             "networks": {"dvportgroup-1": "seg-1", "dvportgroup-9": "VM Network"}}
    before, after = plan.diff(entries, names)
    # Same moref ids, other vCenter: they change (and are named in their own vCenter).
    assert before["vm-a (a)"]["placement"] == {"vcenter": "vc-old.example.com", "host": "esx-01 (host-1)",
                                               "resource_pool": "Resources (pool-1)", "datastore": "old-ds (ds-1)",
                                               "folder": "vm (folder-1)"}
    assert after["vm-a (a)"]["placement"] == {"vcenter": "vc-new.example.com", "host": "esx-02 (host-2)",
                                              "resource_pool": "Resources (pool-1)", "datastore": "vsan (ds-1)",
                                              "folder": "vm (folder-1)"}
    assert after["vm-a (a)"]["nics"]["4000"]["backing"] == "dvpg seg-1 (dvportgroup-1)"
    assert before["vm-a (a)"]["nics"]["4000"]["backing"] == "dvpg VM Network (dvportgroup-9)"
    (result,) = plan.readable(entries, names)
    assert result["placement"]["before"]["host"] == "esx-01 (host-1)" and result["placement"]["after"]["host"] == "esx-02 (host-2)"
    assert result["nics"][0]["after"]["name"] == "seg-1" and result["nics"][0]["after"]["type"] == "dvpg"
    assert None not in result["placement"]["after"].values()
    # Within one vCenter, only the host moves: the diff lists the host alone.
    same = plan.plan_migration(d, {"a": vm("a", {"4000": (dvpg_backing(LS1), "a:4000")})}, DVPGS, OPAQUE,
                               dict(PLACE, host="host-2"))
    before, after = plan.diff(same, {VC: {"host-1": "esx-01", "host-2": "esx-02"}})
    assert (before, after) == ({"vm-a (a)": {"placement": {"host": "esx-01 (host-1)"}}},
                               {"vm-a (a)": {"placement": {"host": "esx-02 (host-2)"}}})


def test_backing_text_and_bad_mode():
    assert plan.backing_text(None) == "none"
    assert plan.backing_text({"type": "network", "network": "VM Network"}) == "network VM Network"
    assert plan.backing_text(opaque_backing(LS3)) == "opaque ls-3 (nsx.LogicalSwitch)"
    with pytest.raises(ValueError):
        plan.plan_migration({}, {}, {}, {}, PLACE, backing="nvds")


# -- reconcile rules (issue 11) ------------------------------------------------------------------
DONE = {"4000": (dvpg_backing(LS1), "a:4000")}
D1 = details({LS1: {"a": ["4000"]}})


def entries_for(vms, in_flight=None, d=None, **kwargs):
    return plan.plan_migration(d or D1, vms, DVPGS, OPAQUE, PLACE, backing="dvpg", in_flight=in_flight, **kwargs)


def test_running_relocation_is_adopted_not_started_again():
    entry = entries_for({"a": vm("a", {"4000": (OLD, None)})}, in_flight={"a": "task-9"})[0]
    assert entry["action"] == "adopt" and entry["task"] == "task-9" and "not started again" in entry["note"]
    before, after = plan.diff([entry])
    assert list(before) == ["vm-a (a)"]  # shown in the diff like a relocation


@pytest.mark.parametrize("task,after_nics,in_flight,outcome", [
    ({"state": "success", "task": "t"}, DONE, None, "relocated"),
    # The task said error or its answer was lost, but the VM is in place: migrated.
    ({"state": "error", "error": "lost", "task": "t"}, DONE, None, "relocated"),
    ({"state": "unknown", "error": "watch broke", "task": "t"}, DONE, None, "relocated"),
    ({"state": "timeout", "error": "still running", "task": "t"}, {"4000": (OLD, None)}, {"a": "t"}, "in_progress"),
    ({"state": "error", "error": "InvalidDeviceBacking", "task": "t"}, {"4000": (OLD, None)}, None, "failed"),
    ({"state": "not_started", "error": "timeout reached", "task": None}, {"4000": (OLD, None)}, None, "not_started"),
    ({"state": "success", "task": "t"}, {"4000": (OLD, None)}, None, "failed"),  # success, yet not in place
])
def test_outcome_is_decided_from_the_re_read_state(task, after_nics, in_flight, outcome):
    entries = entries_for({"a": vm("a", {"4000": (OLD, None)})})
    after = entries_for({"a": vm("a", after_nics)}, in_flight=in_flight)
    entry = plan.decide_outcomes(entries, after, {"a": task})[0]
    assert entry["outcome"] == outcome
    if outcome == "in_progress":
        assert entry["task"] == "t" and "goes on in vCenter" in entry["note"] and entry["error"] is None
    if outcome == "failed":
        assert entry["error"]


def test_in_place_before_is_unchanged():
    entries = entries_for({"a": vm("a", DONE)})
    assert entries[0]["action"] == "none"
    assert plan.decide_outcomes(entries, entries_for({"a": vm("a", DONE)}))[0]["outcome"] == "unchanged"


def outcomes(**by_vm):
    return [{"instance_uuid": uuid, "outcome": outcome} for uuid, outcome in by_vm.items()]


def test_post_migrate_first_time_lists_every_vm_not_in_place():
    decision = plan.post_migrate_decision(outcomes(a="relocated", b="failed", c="unchanged", d="not_started"), "g",
                                          {}, pre_migrate_sent=True)
    assert decision == {"action": "send", "failed": ["b", "d"], "allow_override": False, "mark": ["a", "c"], "reason": None}


def test_post_migrate_done_before_is_not_sent_again():
    decision = plan.post_migrate_decision(outcomes(a="unchanged", b="unchanged"), "g", {"a": "g", "b": "g"})
    assert decision["action"] == "skip" and decision["mark"] == []


def test_post_migrate_lost_or_vm_arrived_later_is_resent_with_allow_override():
    # b was listed as failed before (or the earlier post_migrate never got through): resend for the group.
    decision = plan.post_migrate_decision(outcomes(a="unchanged", b="relocated"), "g", {"a": "g", "b": None})
    assert decision["action"] == "send" and decision["allow_override"] is True
    assert decision["failed"] == [] and decision["mark"] == ["b"]
    # A marker of another group does not count for this one.
    assert plan.post_migrate_decision(outcomes(a="unchanged"), "g", {"a": "other"})["action"] == "send"


def test_post_migrate_waits_while_a_vm_is_moving():
    decision = plan.post_migrate_decision(outcomes(a="relocated", b="in_progress", c="failed"), "g", {})
    assert decision["action"] == "defer" and decision["mark"] == [] and decision["failed"] == ["c"]


def test_check_mode_predictions_count_as_placed():
    entries = plan.predict_outcomes(entries_for({"a": vm("a", {"4000": (OLD, None)})}))
    assert entries[0]["outcome"] == "would relocate"
    assert plan.post_migrate_decision(entries, "g", {}, pre_migrate_sent=True)["failed"] == []


def test_pending_vms_of_a_group_to_create_are_planned_as_relocations():
    """Check mode before pre_migrate (cross-vCenter too): NSX has not mapped the vNICs yet."""
    place = {"vcenter": "other", "cross_vcenter": True, "host": "h-9"}
    entries = plan.plan_migration(None, {"a": vm("a", {"4000": (OLD, None)})}, DVPGS, OPAQUE, place,
                                  extra_ids=["a"], pending_ids=["a"])
    assert entries[0]["action"] == "relocate" and entries[0]["note"] == plan.PENDING_NOTE and entries[0]["error"] is None


@pytest.mark.parametrize("details_,wanted,override,expected", [
    (None, None, False, ("not requested", [])),
    (None, ["a"], False, ("send", ["a"])),
    (D1, ["a"], False, ("skip", [])),
    (D1, ["a", "b"], False, ("refuse", ["b"])),
    (D1, ["a", "b"], True, ("send", ["b"])),
    (details({}, failed=["a"]), ["a"], False, ("skip", [])),  # NSX knows it (as not found): no second pre_migrate
])
def test_pre_migrate_decision(details_, wanted, override, expected):
    assert plan.pre_migrate_decision(details_, wanted, override) == expected


def test_group_ids():
    assert plan.group_ids(details({LS1: {"a": ["4000"]}}, failed=["x"]), ["b", "a"]) == ["a", "b", "x"]


def test_finalize_decision_and_marker():
    done = outcomes(a="relocated", b="unchanged")
    assert plan.finalize_decision(False, "g", done, "send", []) == ("not requested", None)
    assert plan.finalize_decision(True, None, [], "not requested", []) == ("send", None)
    assert plan.finalize_decision(True, "g", done, "send", []) == ("send", None)
    assert plan.finalize_decision(True, "g", done, "skip", ["g"])[0] == "skip"
    assert plan.finalize_decision(True, "g", outcomes(a="failed"), "send", [])[0] == "skip"
    assert plan.finalize_decision(True, "g", outcomes(a="in_progress"), "defer", [])[0] == "skip"
    assert plan.finalized_value(None, "g") == "g" and plan.finalized_value("a,g,b", "g") == "a,b,g"
    assert plan.finalized_groups("a,,b") == ["a", "b"]
    many = ",".join("g%d" % i for i in range(60))
    kept = plan.finalized_value(many, "new").split(",")
    assert kept[-1] == "new" and len(kept) == 50 and kept[0] == "g11"


def test_check_mode_counts_a_running_relocation_as_placed():
    """A real run waits for an adopted relocation: check mode must not defer post_migrate for it."""
    entries = [{"instance_uuid": "a", "outcome": "in_progress"}, {"instance_uuid": "b", "outcome": "unchanged"}]
    assert plan.post_migrate_decision(entries, "g", {"b": "g"})["action"] == "defer"
    expected = plan.expected_outcomes(entries)
    assert [e["outcome"] for e in entries] == ["in_progress", "unchanged"]  # the reported outcomes stay
    decision = plan.post_migrate_decision(expected, "g", {"b": "g"})
    assert decision["action"] == "send" and decision["failed"] == []
    assert plan.finalize_decision(True, "g", expected, "send", [])[0] == "send"


def test_vm_moved_to_the_target_vcenter_is_not_failed_when_nsx_no_longer_finds_it():
    """After a cross-vCenter move NSX may list the VM as not found (it looks in the source vCenter)."""
    xvc = {"vcenter": VC, "cross_vcenter": True, "host": "host-1"}
    moved = vm("a", {"4000": (dvpg_backing(LS1), "a:4000"), "4001": (opaque_backing(LS3), "a:4001")})
    d = details({}, failed=["a"])
    (entry,) = plan.plan_migration(d, {"a": moved}, DVPGS, OPAQUE, xvc)
    assert entry["action"] == "none" and "no longer finds" in entry["note"]
    # Not the trace of this recipe, or not there: NSX's word stands.
    for facts, place in ((vm("a", {"4000": (dvpg_backing(LS1), "a:4000"), "4001": (OLD, None)}), xvc),
                         (dict(moved, vcenter="vc-source"), xvc), (moved, dict(xvc, host="host-2")),
                         (moved, dict(xvc, cross_vcenter=False))):
        assert plan.plan_migration(d, {"a": facts}, DVPGS, OPAQUE, place)[0]["action"] == "fail"


def test_wait_false_outcomes():
    """A relocation started without waiting and not in place at the re-read is in_progress, with its task."""
    entries = [{"instance_uuid": u, "action": "relocate", "placement": {}, "nics": [], "task": None} for u in ("a", "b", "c")]
    after = [{"instance_uuid": "a", "action": "relocate", "task": None, "nics": [], "placement": {}, "error": None},
             {"instance_uuid": "b", "action": "none", "task": None, "nics": [], "placement": {}, "error": None},
             {"instance_uuid": "c", "action": "adopt", "task": "task-9", "nics": [], "placement": {}, "error": None}]
    outcomes = {"a": {"state": "started", "task": "task-7", "error": None},
                "b": {"state": "started", "task": "task-8", "error": None},
                "c": {"state": "started", "task": "task-9", "error": None}}
    plan.decide_outcomes(entries, after, outcomes)
    expected = [("in_progress", "task-7"), ("relocated", "task-8"), ("in_progress", "task-9")]
    assert [(e["outcome"], e["task"]) for e in entries] == expected
    decision = plan.post_migrate_decision(entries, "g", {})
    assert decision["action"] == "defer" and decision["failed"] == []
    assert plan.finalize_decision(True, "g", entries, "defer", []) == ("skip", "2 VMs of the group are still moving")


def test_expected_outcomes_without_wait():
    """Check mode with wait false: what a real run starts or adopts is still moving when it returns."""
    entries = [{"instance_uuid": "a", "action": "relocate", "outcome": "would relocate"},
               {"instance_uuid": "b", "action": "adopt", "outcome": "in_progress"},
               {"instance_uuid": "c", "action": "none", "outcome": "unchanged"}]
    assert [e["outcome"] for e in plan.expected_outcomes(entries, wait=False)] == ["in_progress", "in_progress", "unchanged"]
    assert [e["outcome"] for e in plan.expected_outcomes(entries)] == ["would relocate", "would relocate", "unchanged"]
