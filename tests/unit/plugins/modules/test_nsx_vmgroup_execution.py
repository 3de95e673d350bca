"""nsx_vmgroup_execution in-process: input validation, the finalize-only path (NSX emulator), SOAP calls per VM (vcsim)."""

import pytest

from ansible_collections.hybridcloud.migration.plugins.modules import nsx_vmgroup_execution
from tests.unit.module_runner import run_module


def args(nsx, **extra):
    base = {"nsx_hostname": nsx.url, "nsx_username": nsx.info["username"], "nsx_password": nsx.info["password"],
            "nsx_ca_cert": nsx.ca_path, "hostname": "127.0.0.1", "username": "user-1", "password": "vc-password-1"}
    base.update(extra)
    return base


@pytest.mark.parametrize("extra,message", [
    ({"group_id": "g", "parallel": 0}, "parameter 'parallel' must be between 1 and 64"),
    ({"group_id": "g", "timeout": 0}, "parameter 'timeout' must be at least 1"),
    ({"group_id": "g", "target_vcenter_thumbprint": "AB:CD"}, "parameter 'target_vcenter_thumbprint' must be the SHA-1"),
    ({"group_id": "bad\u202egroup"}, "parameter 'group_id' contains the control or formatting character U+202E"),
    ({}, "parameter 'group_id' is required"),
    ({"group_id": "g", "vms": []}, "parameter 'vms' must list"),
    ({"group_id": "g", "target_vcenter_hostname": "h", "target_datastore": "d"}, "parameter 'target_host' (or target_cluster)"),
    ({"group_id": "g", "target_vcenter_hostname": "h", "target_host": "x"}, "parameter 'target_datastore' is required"),
])
def test_bad_input_fails_before_any_call(nsx_emulator, extra, message):
    result, code = run_module(nsx_vmgroup_execution.main, args(nsx_emulator, **extra))
    assert code == 1 and message in result["msg"], result
    assert nsx_emulator.admin.journal() == []


def test_missing_credentials_name_the_option(nsx_emulator, monkeypatch):
    monkeypatch.delenv("NSX_PASSWORD", raising=False)
    values = args(nsx_emulator, group_id="g")
    del values["nsx_password"]
    result, code = run_module(nsx_vmgroup_execution.main, values)
    assert code == 1 and result["msg"] == "missing required arguments: nsx_password", result
    assert nsx_emulator.admin.journal() == []


def test_finalize_only(nsx_emulator):
    result, code = run_module(nsx_vmgroup_execution.main, args(nsx_emulator, finalize_infra=True), check_mode=True)
    assert code == 0 and result["changed"] is True and result["finalize_infra"] == "would send"
    assert nsx_emulator.admin.mutations() == []
    result, code = run_module(nsx_vmgroup_execution.main, args(nsx_emulator, finalize_infra=True, nsx_auth="session"))
    assert code == 0 and result["finalize_infra"] == "sent"
    state = nsx_emulator.admin.state()
    assert state["finalize_count"] == 1 and state["sessions"] == []


def test_unknown_group_without_pre_migrate(nsx_emulator):
    result, code = run_module(nsx_vmgroup_execution.main, args(nsx_emulator, group_id="nope"))
    assert code == 1 and "'nope', which NSX does not know: give vms" in result["msg"]


def test_unknown_group_with_pre_migrate_false(nsx_emulator):
    """pre_migrate false never creates the group: an unknown group fails before any vCenter login."""
    result, code = run_module(nsx_vmgroup_execution.main, args(nsx_emulator, group_id="nope", vms=["web01"], pre_migrate=False))
    assert code == 1 and "parameter 'group_id' names VM group 'nope', which NSX does not know, and pre_migrate is false" \
        in result["msg"], result
    assert nsx_emulator.admin.mutations(ignore=[r"^/api/session/"]) == []


class FakeVSphere:
    """resolve_vms / bios_uuid_owner of a vCenter holding VMS: [(name, instance uuid, bios uuid)]."""

    def __init__(self, name, vms):
        from ansible_collections.hybridcloud.migration.plugins.module_utils import vsphere
        self.target = "vCenter %s:443" % name
        self.client = vsphere.VSphere(name, "u", "p")
        rows = [(Moref("vm-%d" % i), {"name": n, "config.instanceUuid": u, "config.uuid": b}) for i, (n, u, b) in enumerate(vms)]
        self.reads = 0

        def retrieve(*dummy, **dummy2):
            self.reads += 1
            return rows
        self.client.retrieve = retrieve

    def resolve_vms(self, refs):
        return self.client.resolve_vms(refs)

    def bios_uuid_owner(self, uuid):
        return self.client.bios_uuid_owner(uuid)


class Moref:
    def __init__(self, moid):
        self._moId = moid


U1, U2, U3, U4 = ("50%02d0000-0000-4000-8000-000000000000" % i for i in range(1, 5))
BIOS1 = "42000000-0000-4000-8000-000000000001"


@pytest.mark.parametrize("vms,expected", [
    (["web01", U2, "web01"], [U1, U2]),  # each VM once, in order
    (["moved"], [U4]),  # not in the source: found on the target (moved by an earlier run)
    ([U1, "web01"], [U1]),  # a name and its UUID are one VM
    (["50990000-0000-4000-8000-000000000000"], ["50990000-0000-4000-8000-000000000000"]),  # no VM: check_vm_ids says more
    (["twin", "member"], [U3]),  # two VMs of that name, one of them already in the group
    (["twin"], "parameter 'vms' lists 'twin', the name of 2 VMs (instance UUIDs %s, %s)" % (U2, U3)),
    (["nope"], "parameter 'vms' lists 'nope', which is the name or instance UUID of no VM in vCenter src:443 or vCenter dst:443"),
    ([BIOS1], "parameter 'vms' lists %s, the BIOS UUID (config.uuid) of VM vm-0; NSX needs its instance UUID "
              "(config.instanceUuid) %s" % (BIOS1, U1)),
])
def test_vms_by_name_one_read_per_vcenter(vms, expected):
    from ansible_collections.hybridcloud.migration.plugins.module_utils._errors import ParameterError
    source = FakeVSphere("src", [("web01", U1, BIOS1), ("twin", U2, None), ("twin", U3, None)])
    target = FakeVSphere("dst", [("moved", U4, None)])
    module = nsx_vmgroup_execution.NsxVmgroupExecution.__new__(nsx_vmgroup_execution.NsxVmgroupExecution)
    members = [U3] if "member" in vms else []
    module.params, module.refs = {"vms": [v for v in vms if v != "member"]}, {}
    clients = {"s": source, "t": target}
    if isinstance(expected, str):
        with pytest.raises(ParameterError) as info:
            module.resolve_vms(clients, members)
        assert str(info.value).startswith(expected)
    else:
        assert module.resolve_vms(clients, members) == expected
    assert source.reads == 1 and target.reads <= 1


def test_soap_calls_per_vm_at_parallel_1(nsx_emulator, tmp_path, monkeypatch):
    """At most 3 SOAP calls per VM (start, "running", "done") plus a constant, even one VM at a time."""
    from ansible_collections.hybridcloud.migration.plugins.module_utils import vsphere
    from tests.vcsim_fixtures import start_vcsim

    clients = []

    class Recorded(vsphere.VSphere):
        def __init__(self, *a, **kw):
            super().__init__(*a, **kw)
            clients.append(self)
    monkeypatch.setattr(vsphere, "VSphere", Recorded)
    with start_vcsim(tmp_path, name="calls", tls=True, host=2, vm=2, nics=2, nsx_segments=2, vds_version="7.0.0",
                     relocate_ms=600) as vc:  # longer than vcsim's 250 ms update tick: "running" and "done" are two waits
        ls_ids = sorted(vc.info["nsx_dvpgs"].values())
        vms = [v["instance_uuid"] for v in vc.info["vms"]]
        nsx_emulator.admin.action("inventory", dict((vm, [{"vnic": "4000", "ls_id": ls_ids[0]}, {"vnic": "4001", "ls_id": ls_ids[1]}])
                                                    for vm in vms))
        result, code = run_module(nsx_vmgroup_execution.main, args(
            nsx_emulator, hostname=vc.host, port=vc.port, username=vc.username,
            password=vc.password, ca_cert=vc.cert_path, group_id="calls", backing="dvpg", parallel=1,
            vms=vms))
    assert code == 0 and [v["outcome"] for v in result["vms"]] == ["relocated"] * len(vms), result
    (client,) = clients
    calls = client.calls_by_method
    assert calls["RelocateVM_Task"] == len(vms) and "ModifyListView" not in calls, calls
    # Each task: its start, the wait that sees it running, the wait that sees it end. One more wait
    # is the watcher's initial read; one spare absorbs a wake-up by the launcher's own internal tasks.
    assert len(vms) + 1 < calls["WaitForUpdatesEx"] <= 2 * len(vms) + 2, calls
    # The post_migrate marker: one SetField per migrated VM (and one field definition per vCenter).
    assert calls["SetField"] == len(vms) and calls["AddCustomFieldDef"] == 1, calls
    constant = client.calls - calls["RelocateVM_Task"] - calls["WaitForUpdatesEx"] - calls["SetField"]
    assert constant <= 24, calls  # login, bulk reads (before and after), watcher set-up and tear-down, logout: not per VM


def test_connection_from_the_environment_only(nsx_emulator, monkeypatch):
    """Every connection option from its environment variable (what AWX credentials inject): NSX_CA_CERT,
    NSX_PORT and NSX_AUTH too; a value given in the task wins."""
    url = nsx_emulator.url.rsplit(":", 1)
    env = {"NSX_HOST": url[0].replace("https://", ""), "NSX_PORT": url[1], "NSX_USERNAME": nsx_emulator.info["username"],
           "NSX_PASSWORD": nsx_emulator.info["password"], "NSX_CA_CERT": nsx_emulator.ca_path, "NSX_AUTH": "session",
           "VMWARE_HOST": "127.0.0.1", "VMWARE_USER": "user-1", "VMWARE_PASSWORD": "vc-password-1"}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    result, code = run_module(nsx_vmgroup_execution.main, {"finalize_infra": True})
    assert code == 0 and result["finalize_infra"] == "sent", result
    assert ("/api/session/create", 200) in [(e["path"], e["status"]) for e in nsx_emulator.admin.journal()]
    monkeypatch.setenv("VMWARE_TARGET_THUMBPRINT", "AB:CD")
    result, code = run_module(nsx_vmgroup_execution.main, {"group_id": "g"})
    assert code == 1 and "parameter 'target_vcenter_thumbprint' must be the SHA-1" in result["msg"]
    monkeypatch.delenv("VMWARE_TARGET_THUMBPRINT")
    monkeypatch.setenv("NSX_CA_CERT", "/nonexistent/ca.pem")
    result, code = run_module(nsx_vmgroup_execution.main, {"finalize_infra": True, "nsx_ca_cert": nsx_emulator.ca_path,
                                                           "nsx_auth": "basic"})
    assert code == 0 and result["finalize_infra"] == "sent", result
