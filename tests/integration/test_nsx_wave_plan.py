# -*- coding: utf-8 -*-
# Copyright: (c) 2026, hybridcloud.migration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""playbooks/nsx_vmgroup_migration.yml on a wave_plan inventory, sliced the way AWX slices a job
(hosts in name order, slice i gets hosts i, i + N, ...), the slices run one after another: one
nsx_vmgroup_execution call per group and slice, every VM relocated exactly once (the vCenter
simulators' task lists), and no duplicate mutating call (the NSX journal)."""

import json
import os
import subprocess
import sys

import pytest

from tests.integration.playbook import COLLECTIONS_PATH, ROOT
from tests.integration.test_nsx_vmgroup_execution import VC_PASSWORD, launcher_tasks, load_inventory
from tests.vcsim_fixtures import running_pair

BIN = os.path.dirname(sys.executable)


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    with running_pair(tmp_path_factory.mktemp("nsx-wave"), dict(host=3, vm=2, nics=1, relocate_ms=300, password=VC_PASSWORD),
                      dict(host=2, vm=1, nsx_segments=2, opaque=1, relocate_ms=300, password=VC_PASSWORD + "-target")) as both:
        yield both


def write_inventory(tmp_path, nsx, source, target):
    """Two NSX groups (by VM index parity), each VM by name or by instance UUID, plus rows of other platforms."""
    vms = sorted(source.info["vms"], key=lambda vm: vm["name"])
    host = target.info["hosts"][0]["name"]
    rows = ["vm,platform,source,destination,wave"]
    for index, vm in enumerate(vms):
        rows.append("%s,nsx,wave-%s,%s,1" % (vm["instance_uuid"] if index % 3 == 0 else vm["name"],
                                             "even" if index % 2 == 0 else "odd", host))
    rows.append("web-01,zstack,ps-nfs-01,ps-ceph-01,1")  # another platform's host: not the NSX role's business
    (tmp_path / "wave.csv").write_text("\n".join(rows) + "\n")
    (tmp_path / "nsx.wave_plan.yml").write_text("plugin: hybridcloud.migration.wave_plan\nplan: wave.csv\n")
    (tmp_path / "vars.json").write_text(json.dumps({
        "nsx_hostname": nsx.url, "nsx_username": nsx.info["username"], "nsx_password": nsx.info["password"],
        "nsx_ca_cert": nsx.ca_path,
        "vcenter_hostname": source.host, "vcenter_port": source.port, "vcenter_username": source.username,
        "vcenter_password": source.password, "vcenter_ca_cert": source.cert_path,
        "target_vcenter_hostname": target.host, "target_vcenter_port": target.port,
        "target_vcenter_username": target.username, "target_vcenter_password": target.password,
        "target_vcenter_ca_cert": target.cert_path,
        "nsx_vmgroup_migration_target_datastore": target.info["datastores"][0]["name"],
        "nsx_vmgroup_migration_parallel": 2}))
    return str(tmp_path / "nsx.wave_plan.yml"), vms


def playbook(tmp_path, inventory, *extra):
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=COLLECTIONS_PATH, ANSIBLE_NOCOLOR="1",
               ANSIBLE_LOCALHOST_WARNING="false", ANSIBLE_RETRY_FILES_ENABLED="false",
               ANSIBLE_PYTHON_INTERPRETER=sys.executable, ANSIBLE_LOCAL_TEMP=str(tmp_path / "tmp"))
    command = [os.path.join(BIN, "ansible-playbook"), "-i", inventory,
               os.path.join(ROOT, "playbooks", "nsx_vmgroup_migration.yml"), "-e", "@" + str(tmp_path / "vars.json")]
    return subprocess.run(command + list(extra), cwd=str(tmp_path), env=env, capture_output=True, text=True,
                          check=False, timeout=600)


def hosts_of(tmp_path, inventory):
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=COLLECTIONS_PATH)
    out = subprocess.run([os.path.join(BIN, "ansible-inventory"), "-i", inventory, "--list"], cwd=str(tmp_path),
                         env=env, capture_output=True, text=True, check=True).stdout
    return sorted(json.loads(out)["_meta"]["hostvars"])


def nsx_calls(nsx, action):
    return [e for e in nsx.admin.mutations() if e["query"] == "action=" + action]


def body(entry):
    return json.loads(entry["body"]) if isinstance(entry["body"], str) else entry["body"]


def test_awx_slices_one_after_another_relocate_every_vm_exactly_once(tmp_path, nsx_emulator, pair):
    source, target = pair
    dvpgs = sorted(target.info["nsx_dvpgs"].values())
    load_inventory(nsx_emulator, {vm["instance_uuid"]: {nic["key"]: dvpgs[0] for nic in vm["nics"]}
                                  for vm in source.info["vms"]})
    inventory, vms = write_inventory(tmp_path, nsx_emulator, source, target)
    hosts = hosts_of(tmp_path, inventory)
    assert len(hosts) == len(vms) + 1 == 7
    for number in range(2):
        chosen = hosts[number::2]  # what AWX hands slice NUMBER of 2
        proc = playbook(tmp_path, inventory, "--limit", ",".join(chosen))
        assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr
        # one nsx_vmgroup_execution call per group of the slice, once for the whole play
        assert proc.stdout.count("(item=wave-even)") == 1 and proc.stdout.count("(item=wave-odd)") == 1, proc.stdout
        for secret in (VC_PASSWORD, nsx_emulator.info["password"]):
            assert secret not in proc.stdout + proc.stderr
    tasks = launcher_tasks(source) + launcher_tasks(target)
    assert sorted(task["vm_name"] for task in tasks) == [vm["name"] for vm in vms], tasks  # each exactly once
    assert {task["state"] for task in tasks} == {"success"}
    uuids = sorted(vm["instance_uuid"] for vm in vms)
    # NSX: pre_migrate once per group and slice (2 x 2), each with exactly that slice's VMs
    pre = nsx_calls(nsx_emulator, "pre_migrate")
    assert len(pre) == 4
    sent = sorted(uuid for call in pre for uuid in body(call)["vm_instance_ids"])
    assert sent == uuids  # every VM in exactly one group of one slice
    assert len(nsx_calls(nsx_emulator, "post_migrate")) == 4
    # the whole wave again: everything in place, nothing relocated again
    before = len(launcher_tasks(source) + launcher_tasks(target))
    proc = playbook(tmp_path, inventory)
    assert proc.returncode == 0, proc.stdout[-6000:]
    assert len(launcher_tasks(source) + launcher_tasks(target)) == before


def test_a_group_with_two_destinations_stops_before_any_call(tmp_path, nsx_emulator, pair):
    source, target = pair
    inventory, vms = write_inventory(tmp_path, nsx_emulator, source, target)
    plan = (tmp_path / "wave.csv").read_text().splitlines()
    plan[1] = plan[1].rsplit(",", 2)[0] + ",esx-elsewhere,1"
    (tmp_path / "wave.csv").write_text("\n".join(plan) + "\n")
    proc = playbook(tmp_path, inventory)
    assert proc.returncode != 0
    assert "group wave-even has several destinations (migration_destination)" in proc.stdout, proc.stdout[-4000:]
    assert nsx_emulator.admin.mutations() == []


def test_the_list_form_still_works_on_localhost(tmp_path, nsx_emulator, pair):
    source, target = pair
    inventory, vms = write_inventory(tmp_path, nsx_emulator, source, target)
    # by instance UUID: once the other tests moved it, the target vCenter has a VM of the same name
    groups = json.dumps({"nsx_vmgroup_migration_groups": [{"group_id": "listed", "vms": [vms[0]["instance_uuid"]]}],
                         "nsx_vmgroup_migration_target_host": target.info["hosts"][1]["name"]})
    proc = playbook(tmp_path, os.path.join(ROOT, "playbooks", "inventory"), "-e", groups, "--check")
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr
    assert proc.stdout.count("(item=listed)") == 1
    assert nsx_emulator.admin.mutations() == []
