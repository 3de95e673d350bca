"""Pure planning for the ZStack modules (plugins/module_utils/_zstack_plan.py)."""

import json

import pytest

from ansible_collections.hybridcloud.migration.plugins.module_utils import _zstack_plan as plan

SRC, DST = "a" * 32, "b" * 32
VM = "c" * 32


def volume(uuid, kind="Root", ps=SRC, device=0):
    return {"uuid": uuid, "name": "vol-" + uuid[:4], "type": kind, "primaryStorageUuid": ps, "deviceId": device}


ROOT, DATA1, DATA2 = volume("1" * 32), volume("2" * 32, "Data", device=1), volume("3" * 32, "Data", DST, 2)


# -- identifiers -----------------------------------------------------------------------------------
@pytest.mark.parametrize("value,expected", [("f" * 32, True), ("F" * 32, False), ("f" * 31, False),
                                            ("0f0f0f0f-0f0f-0f0f-0f0f-0f0f0f0f0f0f", False), (None, False)])
def test_is_uuid(value, expected):
    assert plan.is_uuid(value) is expected


def test_derived_v2v_job_uuid_is_stable_per_url_and_name_and_a_valid_zstack_uuid():
    first = plan.derive_v2v_job_uuid("vmware://x", "web-01")
    assert first == plan.derive_v2v_job_uuid("vmware://x", "web-01")
    assert first != plan.derive_v2v_job_uuid("vmware://x", "web-02")
    assert first != plan.derive_v2v_job_uuid("vmware://y", "web-01")
    assert plan.is_uuid(first) and first[12] == "5"


@pytest.mark.parametrize("url,ok", [("vmware://155cb773228d346ba8ed1135d48f3718", True),
                                    ("kvm://root@10.0.0.1:22/6f0d-uuid", True), ("kvm://", False),
                                    ("http://vc/vm", False), ("VMWARE://x", False), ("vmware://" + "x" * 1020, False)])
def test_v2v_url_scheme_check(url, ok):
    assert (plan.v2v_url_problem(url) is None) is ok


def test_pick_unique():
    assert plan.pick_unique([{"uuid": VM}], "VM", "web") == ({"uuid": VM}, None)
    assert "no VM has the uuid or name 'web'" in plan.pick_unique([], "VM", "web")[1]
    found, problem = plan.pick_unique([{"uuid": "2" * 32}, {"uuid": "1" * 32}], "VM", "app")
    assert found is None and "ambiguous" in problem and "1" * 32 + ", " + "2" * 32 in problem


# -- storage migration -----------------------------------------------------------------------------
@pytest.mark.parametrize("state,mode", [("Running", "live"), ("Paused", "live"), ("Stopped", "offline"),
                                        ("Starting", None), ("Destroyed", None), ("Migrating", None)])
def test_migration_mode(state, mode):
    assert plan.migration_mode(state) == mode


def test_plan_moves_root_and_data_volumes_not_yet_on_the_destination():
    result = plan.plan_ps_migration({"state": "Running"}, [DATA2, DATA1, ROOT], DST, True)
    assert result["action"] == "migrate" and result["mode"] == "live"
    assert [m["uuid"] for m in result["volumes"]] == [ROOT["uuid"], DATA1["uuid"]]
    assert result["volumes"][0] == {"uuid": ROOT["uuid"], "name": ROOT["name"], "type": "Root", "from": SRC, "to": DST}


def test_plan_root_only():
    result = plan.plan_ps_migration({"state": "Stopped"}, [ROOT, DATA1], DST, False)
    assert result["mode"] == "offline" and [m["uuid"] for m in result["volumes"]] == [ROOT["uuid"]]


def test_plan_nothing_to_do_when_everything_is_there_whatever_the_state():
    moved = [dict(ROOT, primaryStorageUuid=DST), dict(DATA1, primaryStorageUuid=DST)]
    assert plan.plan_ps_migration({"state": "Running"}, moved, DST, True)["action"] == "none"
    assert plan.plan_ps_migration({"state": "Crashed"}, moved, DST, True)["action"] == "none"
    # root on DST, data elsewhere, root only asked: nothing to do
    assert plan.plan_ps_migration({"state": "Running"}, [dict(ROOT, primaryStorageUuid=DST), DATA1], DST, False)["action"] == "none"


def test_plan_blocks_a_vm_in_a_state_that_cannot_migrate_and_names_it():
    result = plan.plan_ps_migration({"state": "Starting"}, [ROOT], DST, True)
    assert result["action"] == "blocked" and "state Starting" in result["reason"]


@pytest.mark.parametrize("state,jobs", [("Migrating", []), ("VolumeMigrating", []),
                                        ("Running", [{"uuid": "9" * 32, "state": "Running"}])])
def test_plan_waits_for_a_migration_under_way(state, jobs):
    result = plan.plan_ps_migration({"state": state}, [ROOT], DST, True, jobs)
    assert result["action"] == "wait"
    assert result["running_job"] == (jobs[0]["uuid"] if jobs else None)


def test_running_migration_conditions():
    assert plan.running_migration_conditions(VM) == [
        "jobName=APIPrimaryStorageMigrateVmMsg", "state?=Waiting,Running,Suspended,Canceling", "jobData~=%" + VM + "%"]


def test_migration_body_puts_downtime_and_bandwidth_inside_the_camel_case_action():
    body = plan.ps_migration_body(DST, True, False, "h" * 32, "auto-converge", 300, 100)
    assert body == {"primaryStorageMigrateVm": {"dstPrimaryStorageUuid": DST, "withDataVolumes": True,
                                                "withSnapshots": False, "dstHostUuid": "h" * 32,
                                                "strategy": "auto-converge", "downTime": 300, "bandwidth": 100},
                    "systemTags": [], "userTags": []}
    assert set(plan.ps_migration_body(DST, False, True)["primaryStorageMigrateVm"]) == {
        "dstPrimaryStorageUuid", "withDataVolumes", "withSnapshots"}


def test_volume_placement_and_verification():
    moves = plan.plan_ps_migration({"state": "Running"}, [ROOT, DATA1], DST, True)["volumes"]
    assert plan.volume_placement([ROOT, DATA1], moves) == {ROOT["uuid"]: DST, DATA1["uuid"]: DST}
    assert plan.volume_placement([ROOT, DATA1]) == {ROOT["uuid"]: SRC, DATA1["uuid"]: SRC}
    after = [dict(ROOT, primaryStorageUuid=DST), DATA1]
    assert [m["uuid"] for m in plan.volumes_not_moved(after, moves)] == [DATA1["uuid"]]


# -- LongJobs and V2V ------------------------------------------------------------------------------
def test_job_result_parsing_and_failure_messages():
    assert plan.parse_job_result('{"a": 1}') == {"a": 1}
    assert plan.parse_job_result("Succeeded") == "Succeeded"
    failed = {"state": "Failed", "jobResult": json.dumps({"message": {"code": "SYS.1006", "details": "disk export failed"},
                                                          "detail": "disk export failed", "cause": "vCenter timeout"})}
    assert plan.job_failure_message(failed) == "disk export failed; vCenter timeout"
    assert plan.job_failure_code(failed) == "SYS.1006"
    zstack_style = {"jobResult": json.dumps({"message": {"code": "SYS.1006", "message_en": "An operation failed"}})}
    assert plan.job_failure_message(zstack_style) == "An operation failed"
    assert plan.job_failure_message({"state": "Canceled", "jobResult": None}) == "LongJob ended in state Canceled"
    assert plan.job_failure_code({"jobResult": "plain"}) is None


def test_vm_uuid_from_job_in_section_12_order():
    vm = {"uuid": VM, "rootVolumeUuid": ROOT["uuid"]}
    assert plan.vm_uuid_from_job({"jobResult": json.dumps({"inventory": vm}), "targetResourceUuid": "9" * 32}) == VM
    # an inventory that is not a VM (no rootVolumeUuid/hypervisorType): fall back to targetResourceUuid
    assert plan.vm_uuid_from_job({"jobResult": json.dumps({"inventory": {"uuid": "8" * 32}}),
                                  "targetResourceUuid": "9" * 32}) == "9" * 32
    assert plan.vm_uuid_from_job({"jobResult": "Succeeded", "targetResourceUuid": None}) is None


def test_v2v_body_sends_only_what_was_set_with_api_names_and_the_resolved_uuids():
    params = {option: None for option, dummy in plan.V2V_FIELDS}
    params.update(url="vmware://x", vm="web", cpu_num=2, memory_size=4096, primary_storage="ps-nfs-01",
                  l3_networks=["l3-prod"], vm_type="UserVm", pause_vm=False, ssh_priv_key="KEY",
                  system_tags=["a::b"], user_tags=None)
    resolved = {"primary_storage": {"uuid": DST, "name": "ps-nfs-01"}, "l3_networks": [{"uuid": "l" * 32}]}
    body = plan.v2v_body(params, resolved, "r" * 32)
    assert body == {"params": {"url": "vmware://x", "name": "web", "cpuNum": 2, "memorySize": 4096,
                               "primaryStorageUuid": DST, "l3NetworkUuids": ["l" * 32], "type": "UserVm",
                               "pauseVm": False, "sshPrivKey": "KEY", "resourceUuid": "r" * 32},
                    "systemTags": ["a::b"], "userTags": []}


@pytest.mark.parametrize("state,job_state,vms,action", [
    ("present", None, 0, "submit"), ("present", None, 1, "adopt"), ("present", None, 2, "blocked"),
    ("present", "Running", 0, "wait"), ("present", "Waiting", 0, "wait"), ("present", "Succeeded", 1, "none"),
    ("present", "Failed", 0, "rerun"), ("present", "Canceled", 0, "rerun"),
    ("canceled", None, 0, "none"), ("canceled", "Running", 0, "cancel"), ("canceled", "Suspended", 0, "cancel"),
    ("canceled", "Canceling", 0, "wait"), ("canceled", "Canceled", 0, "none"), ("canceled", "Failed", 0, "none"),
    ("canceled", "Succeeded", 0, "blocked"),
])
def test_plan_v2v(state, job_state, vms, action):
    job = {"uuid": "j" * 32, "state": job_state} if job_state else None
    named = [{"uuid": str(i) * 32, "name": "web"} for i in range(vms)]
    assert plan.plan_v2v(state, job, named)["action"] == action


def test_longjob_conditions():
    assert plan.longjob_conditions() == []
    assert plan.longjob_conditions("u" * 32, "n", ["Running", "Waiting"], "t" * 32, "APIx", "a" * 32) == [
        "uuid=" + "u" * 32, "name=n", "targetResourceUuid=" + "t" * 32, "jobName=APIx", "apiId=" + "a" * 32,
        "state?=Running,Waiting"]


def test_mask_job_secrets_in_job_data():
    key = "-----BEGIN KEY-----\nabc\n-----END KEY-----"
    job = {"uuid": "j", "jobData": json.dumps({"url": "kvm://root@h/x", "sshPrivKey": key, "nested": [{"password": "p"}]})}
    masked = plan.mask_job_secrets(job)
    assert json.loads(masked["jobData"]) == {"url": "kvm://root@h/x", "sshPrivKey": "********",
                                             "nested": [{"password": "********"}]}
    assert "abc" in job["jobData"]  # the input is left alone
    broken = {"jobData": '{"sshPrivKey": "line\\nsecret", "x": ' + "1"}  # not JSON: masked by pattern
    assert "secret" not in plan.mask_job_secrets(broken)["jobData"]
    assert plan.mask_job_secrets({"jobData": "{}"}) == {"jobData": "{}"} and plan.mask_job_secrets(None) is None


def test_action_took_effect_reads_the_long_job_after_an_unclear_api_job_answer():
    assert plan.action_took_effect("submit", {"state": "Waiting"}) and not plan.action_took_effect("submit", None)
    assert plan.action_took_effect("cancel", {"state": "Canceling"}) and plan.action_took_effect("cancel", {"state": "Canceled"})
    assert not plan.action_took_effect("cancel", {"state": "Succeeded"}) and not plan.action_took_effect("cancel", None)
    assert all(plan.action_took_effect("rerun", {"state": s}) for s in ("Waiting", "Running", "Suspended", "Succeeded"))
    assert not plan.action_took_effect("rerun", {"state": "Failed"}) and not plan.action_took_effect("rerun", {"state": "Canceled"})
    assert not plan.action_took_effect("resume", {"state": "Running"})


def test_vm_uuid_from_job_accepts_a_job_result_already_decoded_and_hypervisor_type_as_the_vm_marker():
    assert plan.vm_uuid_from_job({"jobResult": {"inventory": {"uuid": VM, "hypervisorType": "KVM"}}}) == VM
    assert plan.vm_uuid_from_job({"jobResult": "not json {", "targetResourceUuid": VM}) == VM


def test_a_resource_uuid_must_have_the_uuid_v1_to_v5_layout():
    # api/zstack.md section 9: resourceUuid is 32 lowercase hex in the UUID v1-5 layout without dashes.
    import uuid as uuidlib
    assert plan.is_resource_uuid(uuidlib.uuid4().hex) and plan.is_resource_uuid(plan.derive_v2v_job_uuid("vmware://x", "w"))
    assert not plan.is_resource_uuid("0" * 32)  # version 0
    assert not plan.is_resource_uuid("0123456789ab4def0123456789abcdef")  # variant nibble 0
    assert not plan.is_resource_uuid(uuidlib.uuid4().hex.upper()) and not plan.is_resource_uuid(None)


def test_vm_uuid_candidates_in_section_12_order_without_repeats():
    vm = {"uuid": VM, "rootVolumeUuid": ROOT["uuid"]}
    assert plan.vm_uuid_candidates({"jobResult": json.dumps({"inventory": vm}), "targetResourceUuid": "9" * 32}) == [VM, "9" * 32]
    assert plan.vm_uuid_candidates({"jobResult": json.dumps({"inventory": vm}), "targetResourceUuid": VM}) == [VM]
    assert plan.vm_uuid_candidates({"jobResult": "Succeeded"}) == []


# -- input checks (issue 12) ----------------------------------------------------------------------
@pytest.mark.parametrize("value,problem", [
    ("", "empty"), ("x~=%", "'~='"), ("a!=b", "'!='"), ("a>=b", "'>='"), ("a<=b", "'<='"), ("a?=b", "'?='"),
    ("a!~=b", "'!~='"), ("=x", "start with '='"), ("n" * 256, "255")])
def test_query_values_zstack_would_misread_are_refused(value, problem):
    assert problem in plan.query_value_problem(value)


@pytest.mark.parametrize("value", ["web-01", "a=b", "a>b", "a<b", "a b", "100%", "x_y", "a,b", "is null", "café"])
def test_query_values_that_mean_themselves_pass(value):
    # RestServer takes the first operator contained, '=' before '>', '<', 'is null': all read right.
    assert plan.query_value_problem(value) is None


@pytest.mark.parametrize("url,problem", [
    ("https://vc/vm-1", "must start with"), ("vmware://", "must start with"), ("vmware://a/../b", "'..'"),
    ("kvm://root@h/%2e%2e/etc", "'..'"), ("kvm://root@h/..%2fetc", "'..'"), ("kvm://root@h/./x", "'.'"),
    ("vmware://a b", "' '"), ("vmware://a?action=x", "'?'"), ("vmware://a#b", "'#'"), ("vmware://a\\..\\b", "'\\\\'"),
    ("vmware://a\"b", "'\"'"), ("vmware://a\nb", "'\\n'"), ("vmware://%zz", "percent escape"),
    ("vmware://" + "a" * 1020, "1024")])
def test_unsafe_v2v_urls_are_rejected(url, problem):
    assert problem in plan.v2v_url_problem(url)


@pytest.mark.parametrize("url", ["vmware://155cb773228d346ba8ed1135d48f3718", "kvm://root@192.168.20.31/9b2a0a1c-6f0d",
                                 "kvm://root@[fe80::1]:2222/dom-1", "kvm://root@h/a.b..c/x%2Fy"])
def test_safe_v2v_urls_pass(url):
    assert plan.v2v_url_problem(url) is None


def test_a_local_storage_destination_needs_a_host_in_one_of_its_clusters():
    local = {"uuid": "p" * 32, "name": "ps-local", "type": "LocalStorage", "attachedClusterUuids": ["c1"]}
    assert plan.destination_problem(local, None, False)[0] == "target_host"
    assert "LocalStorage" in plan.destination_problem(local, None, False)[1]
    assert plan.destination_problem(local, {"uuid": "h", "clusterUuid": "c1"}, True) is None
    assert "cluster(s) c1" in plan.destination_problem(local, {"uuid": "h", "clusterUuid": "c2"}, True)[1]
    assert plan.destination_problem({"type": "Ceph"}, None, False) is None
    assert plan.destination_problem({"type": "NFS", "attachedClusterUuids": []}, {"clusterUuid": "c9"}, True) is None


def test_volumes_moved_lists_only_what_is_on_the_destination():
    moves = [{"uuid": "r", "to": "dst"}, {"uuid": "d", "to": "dst"}]
    volumes = [{"uuid": "r", "primaryStorageUuid": "dst"}, {"uuid": "d", "primaryStorageUuid": "src"}]
    assert plan.volumes_moved(volumes, moves) == [moves[0]] and plan.volumes_not_moved(volumes, moves) == [moves[1]]


def test_v2v_resolved_objects_must_fit_together():
    ps, zone = {"uuid": "p1", "name": "ps-1", "zoneUuid": "z1"}, {"uuid": "z1", "name": "zone-1"}
    l1, l2 = {"uuid": "l1", "name": "l3-a"}, {"uuid": "l2", "name": "l3-b"}
    cluster, host = {"uuid": "c1", "name": "cl-1", "zoneUuid": "z1"}, {"uuid": "h1", "name": "kvm-1", "clusterUuid": "c1"}
    resolved = {"primary_storage": ps, "l3_networks": [l1, l2], "default_l3_network": l1, "cluster": cluster,
                "host": host, "zone": zone}
    assert plan.v2v_placement_problem(resolved) is None
    option, problem = plan.v2v_placement_problem(dict(resolved, l3_networks=[l1], default_l3_network=l2))
    assert option == "default_l3_network" and "l3-b (l2)" in problem and "l3-a (l1)" in problem
    option, problem = plan.v2v_placement_problem(dict(resolved, host=dict(host, clusterUuid="c2")))
    assert option == "host" and "kvm-1 (h1)" in problem and "cl-1 (c1)" in problem
    assert plan.v2v_placement_problem(dict(resolved, cluster=dict(cluster, zoneUuid="z2")))[0] == "cluster"
    assert plan.v2v_placement_problem(dict(resolved, primary_storage=dict(ps, zoneUuid="z2")))[0] == "primary_storage"


def test_labels_put_the_name_beside_the_uuid():
    assert plan.label({"uuid": "u1", "name": "web-01"}) == "web-01 (u1)"
    assert plan.label({"uuid": "u1", "name": None}) == "u1"
    assert plan.named({"uuid": "u1", "name": "web-01", "state": "Running"}) == {"name": "web-01", "uuid": "u1"}
    assert plan.named(None) is None


def test_call_job_uuid_is_stable_per_call_and_differs_between_calls():
    body = {"primaryStorageMigrateVm": {"dstPrimaryStorageUuid": "p" * 32, "withDataVolumes": True}}
    same = plan.call_job_uuid("PrimaryStorageMigrateVm", "v" * 32, body, [["a" * 32, "s" * 32]])
    assert same == plan.call_job_uuid("PrimaryStorageMigrateVm", "v" * 32, dict(body), [["a" * 32, "s" * 32]])
    assert plan.is_uuid(same)
    others = {plan.call_job_uuid("PrimaryStorageMigrateVm", "w" * 32, body, [["a" * 32, "s" * 32]]),
              plan.call_job_uuid("PrimaryStorageMigrateVm", "v" * 32, body, [["a" * 32, "t" * 32]]),
              plan.call_job_uuid("cancelLongJob", "v" * 32, body, [["a" * 32, "s" * 32]])}
    assert same not in others and len(others) == 3


def test_the_next_call_uuid_is_a_stable_chain_of_distinct_uuids():
    first = plan.call_job_uuid("PrimaryStorageMigrateVm", "v" * 32)
    chain = [first]
    for dummy in range(5):
        chain.append(plan.next_call_uuid(chain[-1]))
    assert len(set(chain)) == 6 and all(plan.is_uuid(u) for u in chain)
    assert plan.next_call_uuid(first) == chain[1]  # the same on every run


@pytest.mark.parametrize("status, adopt_ended, action", [
    (404, False, "send"), (404, True, "send"),
    (None, False, "send"), (None, True, "send"),  # no answer: ZStack's duplicate guard still holds
    (202, False, "adopt"), (202, True, "adopt"),  # still running: an earlier run's call, waited for
    (200, True, "adopt"),  # succeeded while the caller's plan was read: the real state decides
    (200, False, "next"), (503, False, "next"), (503, True, "next"),  # ended: its uuid is taken
])
def test_what_a_derived_call_uuid_known_to_zstack_leads_to(status, adopt_ended, action):
    assert plan.earlier_call_action(status, adopt_ended) == action


def test_a_storage_migration_diff_lists_only_the_volumes_that_move_with_names():
    vm = {"uuid": "f0f7aed586e55a32bd0ee16379608c2b", "name": "web-01"}
    src, dst = {"uuid": "a" * 32, "name": "ps-nfs-01"}, {"uuid": "b" * 32, "name": "ps-ceph-01"}
    moves = plan.name_moves([{"uuid": "c" * 32, "name": "ROOT-for-web-01", "type": "Root", "from": "a" * 32,
                              "to": "b" * 32}], {src["uuid"]: src, dst["uuid"]: dst})
    assert (moves[0]["from_name"], moves[0]["to_name"]) == ("ps-nfs-01", "ps-ceph-01")
    diff = plan.ps_migration_diff(vm, moves, {src["uuid"]: src, dst["uuid"]: dst})
    assert diff["before"] == {"volumes": {"ROOT-for-web-01 (cccccccc\u2026)": "ps-nfs-01 (aaaaaaaa\u2026)"}}
    assert diff["after"] == {"volumes": {"ROOT-for-web-01 (cccccccc\u2026)": "ps-ceph-01 (bbbbbbbb\u2026)"}}
    assert diff["before_header"] == "VM web-01 (f0f7aed5\u2026)"
    # read again after a failure: the volume stayed where it was
    assert plan.ps_migration_diff(vm, moves, {}, {"c" * 32: "a" * 32})["after"]["volumes"] == {
        "ROOT-for-web-01 (cccccccc\u2026)": "aaaaaaaa\u2026"}
    migrate = {"action": "migrate", "mode": "offline", "volumes": moves}
    assert plan.ps_migration_message(vm, migrate, dst, "moved") == (
        "VM web-01 (f0f7aed5\u2026): moved 1 volume(s) offline from ps-nfs-01 (aaaaaaaa\u2026) to ps-ceph-01 (bbbbbbbb\u2026)")
    assert plan.ps_migration_message(vm, {"action": "none", "volumes": []}, dst, None).endswith(
        "every volume is already on ps-ceph-01 (bbbbbbbb\u2026)")


def test_a_v2v_diff_shows_only_what_changes_and_the_message_names_the_vm():
    resolved = {"primary_storage": {"uuid": "a" * 32, "name": "ps-nfs-01"}, "l3_networks": [{"uuid": "b" * 32, "name": "l3"}]}
    diff = plan.v2v_diff("VM 'web-01' from vmware://x", "d" * 32, "submit", None, resolved, True)
    assert diff["before"] == {} and diff["after"] == {"long_job": "Succeeded", "primary_storage": "ps-nfs-01 (aaaaaaaa\u2026)",
                                                      "l3_networks": ["l3 (bbbbbbbb\u2026)"]}
    rerun = plan.v2v_diff("r", "d" * 32, "rerun", {"state": "Failed"}, {}, False)
    assert (rerun["before"], rerun["after"]) == ({"long_job": "Failed"}, {"long_job": "Running"})
    assert plan.v2v_message("r", "submit", "d" * 32, None, None, True) == "r: would convert it (LongJob dddddddd\u2026)"
    assert plan.v2v_message("r", "submit", "d" * 32, None, None, True, resolved) == (
        "r: would convert it onto ps-nfs-01 (aaaaaaaa\u2026) with l3 (bbbbbbbb\u2026) (LongJob dddddddd\u2026)")
    assert plan.v2v_message("r", "none", "d" * 32, "Succeeded", {"uuid": "e" * 32, "name": "web-01"}, False) == (
        "r: LongJob dddddddd\u2026 Succeeded, VM web-01 (eeeeeeee\u2026)")


# -- bulk (vms) ---------------------------------------------------------------------------------------
def test_match_vms_by_uuid_and_name_with_every_problem():
    web = {"uuid": "1" * 32, "name": "web"}
    twin_a, twin_b = {"uuid": "2" * 32, "name": "twin"}, {"uuid": "3" * 32, "name": "twin"}
    named_like_uuid = {"uuid": "4" * 32, "name": "5" * 32}
    vms, problems = plan.match_vms(["web", "1" * 32, "twin", "nope", "5" * 32],
                                   [web, twin_a, twin_b, named_like_uuid])
    assert vms == [web, named_like_uuid]
    assert problems[0] == "'web' and '%s' are the same VM web (11111111\u2026)" % ("1" * 32)
    assert "'twin' is ambiguous: 2 VMs" in problems[1] and "no VM has the uuid or name 'nope'" in problems[2]


def test_running_migrations_by_vm_reads_job_data():
    jobs = [{"uuid": "j1", "state": "Running", "jobData": json.dumps({"vmInstanceUuid": VM})},
            {"uuid": "j2", "state": "Succeeded", "jobData": json.dumps({"vmInstanceUuid": VM})},
            {"uuid": "j3", "state": "Waiting", "jobData": "opaque %s text" % SRC},
            {"uuid": "j4", "state": "Running", "targetResourceUuid": DST}]
    found = plan.running_migrations_by_vm(jobs, [VM, SRC, DST])
    assert {k: [j["uuid"] for j in v] for k, v in found.items()} == {VM: ["j1"], SRC: ["j3"], DST: ["j4"]}


def test_fleet_poll_delay_follows_the_youngest_job():
    assert plan.fleet_poll_delay([], 0.5, 15, 0.1) == 0.5
    assert plan.fleet_poll_delay([100.0, 30.0], 0.5, 15, 0.1) == 3.0
    assert plan.fleet_poll_delay([1000.0], 0.5, 15, 0.1) == 15
    assert plan.fleet_poll_delay([100.0, 1.0], 0.5, 15, 0.1) == 0.5


def test_bulk_entry_summary_and_failures():
    vm = {"uuid": VM, "name": "web"}
    storages = {SRC: {"uuid": SRC, "name": "nfs"}}
    moves = [{"uuid": "v", "from": SRC, "to": DST}]
    entry = plan.bulk_entry(vm, {"mode": "live", "volumes": moves}, {"uuid": DST, "name": "ceph"}, storages)
    assert entry["from"] == "nfs (aaaaaaaa\u2026)" and entry["to"] == "ceph (bbbbbbbb\u2026)"
    assert entry["started"] is None and entry["jobs"] == [] and entry["error"] == ""
    entries = [dict(entry, outcome="failed", error="SYS.1006: no"), dict(entry, outcome="migrated"),
               dict(entry, outcome="migrated")]
    assert plan.bulk_summary(entries) == "3 VM(s): 1 failed, 2 migrated"
    assert plan.bulk_failures(entries) == "web (cccccccc\u2026): SYS.1006: no"
    assert plan.chunks(range(5), 2) == [[0, 1], [2, 3], [4]] and not plan.in_condition_safe("a,b")
