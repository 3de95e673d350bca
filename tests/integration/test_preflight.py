# -*- coding: utf-8 -*-
# Copyright: (c) 2026, hybridcloud.migration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""playbooks/preflight.yml (role hybridcloud.migration.preflight) on a wave_plan inventory spanning
the four platforms: every problem listed at once in one table, a non-zero exit, and not one mutating
call on any platform (the emulators' journals and the vCenter simulators' task lists prove it)."""

import copy
import json
import os
import re
import subprocess
import sys

import pytest

from tests.emulators import zstack as zstack_emu
from tests.integration.playbook import COLLECTIONS_PATH, ROOT
from tests.integration.test_nsx_vmgroup_execution import VC_PASSWORD, launcher_tasks, load_inventory
from tests.integration.zstack_helpers import PASSWORD as ZSTACK_PASSWORD, operations as zstack_operations, prepare
from tests.vcsim_fixtures import running_pair

READ_ONLY_ACTIONS = ("action=find", "action=filter")
BIN = os.path.dirname(sys.executable)
GIB = 1024 ** 3
LOGIN_PATHS = [r"^/api/session", r"^/v3/auth/tokens", r"/accounts/login", r"/accounts/sessions/"]


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    with running_pair(tmp_path_factory.mktemp("preflight-vc"), dict(host=2, vm=1, nics=1, relocate_ms=300, password=VC_PASSWORD),
                      dict(host=2, vm=1, nsx_segments=2, opaque=1, relocate_ms=300, password=VC_PASSWORD + "-target")) as both:
        yield both


@pytest.fixture
def cloud(zstack_emulator, nsx_emulator, powervc_emulator, vcenter_rest_emulator, pair):
    source, target = pair
    prepare(zstack_emulator)
    dvpgs = sorted(target.info["nsx_dvpgs"].values())
    load_inventory(nsx_emulator, {vm["instance_uuid"]: {nic["key"]: dvpgs[0] for nic in vm["nics"]}
                                  for vm in source.info["vms"]})
    return {"zstack": zstack_emulator, "nsx": nsx_emulator, "powervc": powervc_emulator,
            "vcenter_rest": vcenter_rest_emulator, "source": source, "target": target}


def playbook_vars(cloud):
    zstack, nsx, powervc, rest = cloud["zstack"], cloud["nsx"], cloud["powervc"], cloud["vcenter_rest"]
    source, target = cloud["source"], cloud["target"]
    return {
        "zstack_hostname": "127.0.0.1", "zstack_port": int(zstack.url.rsplit(":", 1)[1]), "zstack_protocol": "https",
        "zstack_username": "admin", "zstack_password": ZSTACK_PASSWORD, "zstack_ca_cert": zstack.ca_path,
        "nsx_hostname": nsx.url, "nsx_username": nsx.info["username"], "nsx_password": nsx.info["password"],
        "nsx_ca_cert": nsx.ca_path,
        "vcenter_hostname": source.host, "vcenter_port": source.port, "vcenter_username": source.username,
        "vcenter_password": source.password, "vcenter_ca_cert": source.cert_path,
        "target_vcenter_hostname": target.host, "target_vcenter_port": target.port,
        "target_vcenter_username": target.username, "target_vcenter_password": target.password,
        "target_vcenter_ca_cert": target.cert_path,
        "preflight_nsx_vmgroup_execution": {"target_datastore": target.info["datastores"][0]["name"]},
        "vcenter_ovf": {"hostname": "127.0.0.1", "port": int(rest.url.rsplit(":", 1)[1]),
                        "username": rest.info["username"], "password": rest.info["password"],
                        "ca_cert": rest.ca_path, "inventory_lookup": "rest"},
        "preflight_vcenter_ovf_deploy": {"datacenter": "DC-East", "library": "Migration Templates", "folder": "Migrated",
                                         "network_mappings": {"VM Network": "VM Network", "Backend": "Backend"},
                                         "accept_all_eula": True},
        "powervc_auth_url": powervc.info["auth_url"], "powervc_username": powervc.info["username"],
        "powervc_password": powervc.info["password"], "powervc_project_name": powervc.info["project_name"],
        "powervc_ca_cert": powervc.ca_path,
        # what the ZStack V2V rows share (the plan's columns here are vm, platform, source, destination)
        "preflight_zstack_v2v_convert": {"cpu_num": 2, "memory_size": 4 * GIB, "l3_networks": ["l3-prod"],
                                         "conversion_host": "v2v-ch-01", "cluster": "cluster-kvm-1"},
    }


def write_wave(tmp_path, rows, cloud):
    lines = ["vm,platform,source,destination,wave"] + [",".join(row) + ",1" for row in rows]
    (tmp_path / "wave.csv").write_text("\n".join(lines) + "\n")
    (tmp_path / "night1.wave_plan.yml").write_text("plugin: hybridcloud.migration.wave_plan\nplan: wave.csv\n")
    (tmp_path / "vars.json").write_text(json.dumps(playbook_vars(cloud)))
    return str(tmp_path / "night1.wave_plan.yml")


def preflight(tmp_path, source, *extra):
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=COLLECTIONS_PATH, ANSIBLE_NOCOLOR="1",
               ANSIBLE_LOCALHOST_WARNING="false", ANSIBLE_RETRY_FILES_ENABLED="false",
               ANSIBLE_PYTHON_INTERPRETER=sys.executable, ANSIBLE_LOCAL_TEMP=str(tmp_path / "tmp"))
    command = [os.path.join(BIN, "ansible-playbook"), "-i", source, os.path.join(ROOT, "playbooks", "preflight.yml"),
               "-e", "@" + str(tmp_path / "vars.json")] + list(extra)
    return subprocess.run(command, cwd=str(tmp_path), env=env, capture_output=True, text=True, check=False, timeout=600)


def table(output):
    """The table rows the role printed: [[platform, object, check, problem]]."""
    rows = []
    for line in output.splitlines():
        text = line.strip().rstrip(",").strip()
        if text.startswith('"') and text.count(" | ") >= 3:
            rows.append([cell.strip() for cell in json.loads(text).split(" | ", 3)])
    assert rows and rows[0] == ["platform", "object", "check", "problem"], output[-6000:]
    return rows[1:]


def mutations(cloud):
    """Every mutating call any platform received (logins and logouts left out), plus vCenter tasks."""
    calls = {name: [(e["method"], e["path"], e["query"]) for e in cloud[name].admin.mutations(ignore=LOGIN_PATHS)
                    # vCenter's searches are POSTs that change nothing (action=find, action=filter)
                    if e["query"] not in READ_ONLY_ACTIONS]
             for name in ("nsx", "powervc", "vcenter_rest")}
    calls["zstack"] = zstack_operations(cloud["zstack"])
    calls["vcsim"] = launcher_tasks(cloud["source"]) + launcher_tasks(cloud["target"])
    return calls


NO_CALLS = {"nsx": [], "powervc": [], "vcenter_rest": [], "zstack": [], "vcsim": []}


def good_rows(cloud):
    source, target = cloud["source"], cloud["target"]
    return ([["web-01", "zstack", "ps-nfs-01", "ps-ceph-01"], ["cache-01", "zstack", "ps-ceph-01", "ps-nfs-01"]]
            + [[vm["name"], "nsx", "wave-pf", target.info["hosts"][0]["name"]] for vm in source.info["vms"]]
            + [["web-new-01", "vcenter", "ubuntu-22.04", "Prod"]]
            + [["ibmi-prod-01", "powervc", "prod-p10-a", "dr-p10-b"]]
            + [["erp-%02d" % i, "zstack_v2v", "vmware://%032x" % (0x7e57 + i), "ps-nfs-01"] for i in range(2)])


def test_a_clean_wave_passes_without_a_single_change(tmp_path, cloud):
    proc = preflight(tmp_path, write_wave(tmp_path, good_rows(cloud), cloud))
    assert proc.returncode == 0, proc.stdout[-8000:] + proc.stderr
    assert "preflight: no problem found in %d objects" % len(good_rows(cloud)) in proc.stdout
    assert "changed=0" in proc.stdout
    assert mutations(cloud) == NO_CALLS


def test_every_problem_on_every_platform_at_once(tmp_path, cloud):
    # ps-ceph-01 keeps 100 GiB free: web-01 (40 GiB root + 100 GiB data) does not fit.
    seed = copy.deepcopy(zstack_emu.DEFAULT_SEED)
    for ps in seed["primary-storage"]:
        if ps["name"] == "ps-ceph-01":
            ps["availableCapacity"] = 100 * GIB
    seed["config"].update(migrate_duration=0.5)
    seed["accounts"] = [{"uuid": zstack_emu.ADMIN_ACCOUNT, "name": "admin", "password": ZSTACK_PASSWORD}]
    cloud["zstack"].reset(seed)
    target = cloud["target"]
    rows = good_rows(cloud) + [
        ["ghost-vm", "zstack", "ps-nfs-01", "ps-ceph-01"],           # no such VM
        ["app-01", "zstack", "ps-nfs-01", "ps-ceph-01"],             # two VMs carry the name
        ["db-01", "zstack", "ps-nfs-01", "ps-gone"],                 # no such primary storage
        ["batch-01", "zstack", "ps-nfs-01", "ps-ceph-01"],           # Starting: cannot migrate now
        ["nsx-ghost", "nsx", "wave-pf", target.info["hosts"][0]["name"]],  # not in vCenter
        ["web-new-02", "vcenter", "no-such-item", "Prod"],           # no such library item
        ["ibmi-missing", "powervc", "prod-p10-a", "dr-p10-b"],       # no such server
        ["ibmi-test-02", "powervc", "prod-p10-a", "nowhere-p10"],    # no such target host
        ["erp-ps-gone", "zstack_v2v", "vmware://%032x" % 0x7e5700, "ps-gone"],  # no such primary storage
        ["erp-bad-url", "zstack_v2v", "vmware://not a uuid", "ps-nfs-01"],      # a source URL ZStack would misread
    ]
    proc = preflight(tmp_path, write_wave(tmp_path, rows, cloud))
    assert proc.returncode != 0, proc.stdout[-8000:]
    found = table(proc.stdout)
    text = "\n".join(" | ".join(row) for row in found)
    assert len(re.findall(r'"platform +\| ', proc.stdout)) == 1  # printed once
    expected = [("zstack", "ghost-vm"), ("zstack", "batch-01"), ("zstack", "app-01"), ("zstack", "db-01"), ("zstack", "ps-ceph-01"),
                ("nsx", "wave-pf"), ("vcenter", "web-new-02"), ("powervc", "ibmi-missing"),
                ("powervc", "ibmi-test-02"), ("zstack_v2v", "erp-ps-gone"), ("zstack_v2v", "erp-bad-url")]
    for platform, needle in expected:
        assert any(row[0] == platform and needle in row[1] for row in found), (platform, needle, text)
    assert "nsx-ghost" in text and "no-such-item" in text and "nowhere-p10" in text
    v2v = {row[1]: row[3] for row in found if row[0] == "zstack_v2v"}
    assert sorted(v2v) == ["erp-bad-url", "erp-ps-gone"], v2v  # both listed; erp-00 and erp-01 have none
    assert "parameter 'primary_storage': no primary storage" in v2v["erp-ps-gone"] and "'url'" in v2v["erp-bad-url"]
    capacity = next(row for row in found if row[2] == "capacity")
    assert "web-01" in capacity[3] and "100.0 GiB free" in capacity[3]
    assert "preflight found %d problem(s)" % len(found) in proc.stdout
    assert mutations(cloud) == NO_CALLS
    for secret in (ZSTACK_PASSWORD, cloud["nsx"].info["password"], cloud["powervc"].info["password"], VC_PASSWORD):
        assert secret not in proc.stdout + proc.stderr


def test_a_conversions_key_from_group_vars_never_shows(tmp_path, cloud):
    key = "-----BEGIN OPENSSH PRIVATE KEY-----\npreflight-key-Zx8Cv6Bn4Mq2Wd0\n-----END OPENSSH PRIVATE KEY-----"
    rows = [["erp-kvm", "zstack_v2v", "kvm://root@192.0.2.10/%032x" % 0x7e57, "ps-nfs-01"]]
    source = write_wave(tmp_path, rows, cloud)
    (tmp_path / "group_vars").mkdir()
    (tmp_path / "group_vars" / "platform_zstack_v2v.yml").write_text(json.dumps({"migration_ssh_priv_key": key}))
    # a preflight_vms row may carry it too (from a file: -vvvv echoes a command line's -e)
    (tmp_path / "rows.json").write_text(json.dumps({"preflight_vms": [
        {"vm": "erp-kvm-2", "platform": "zstack_v2v", "source": "kvm://root@192.0.2.11/%032x" % 0x7e58,
         "destination": "ps-nfs-01", "ssh_priv_key": key}]}))
    proc = preflight(tmp_path, source, "-vvvv", "-e", "@" + str(tmp_path / "rows.json"))
    assert proc.returncode == 0, proc.stdout[-8000:] + proc.stderr
    assert "preflight: no problem found in 2 objects" in proc.stdout
    output = proc.stdout + proc.stderr
    at = output.find("preflight-key-Zx8Cv6Bn4Mq2Wd0")
    assert at < 0, "the key leaked: ..." + output[max(at - 600, 0):at]
    assert mutations(cloud) == NO_CALLS


def test_unreachable_endpoints_are_listed_with_the_rest(tmp_path, cloud):
    source = write_wave(tmp_path, good_rows(cloud), cloud)
    proc = preflight(tmp_path, source, "-e", "zstack_port=1", "-e", "powervc_password=Wrong-Password-For-Preflight")
    assert proc.returncode != 0
    found = table(proc.stdout)
    assert [row[:3] for row in found if row[0] in ("zstack", "powervc")] == [
        ["powervc", "endpoint", "credentials and reachability"], ["zstack", "endpoint", "credentials and reachability"]]
    assert [row[:3] for row in found if row[0] == "zstack_v2v"] == [["zstack_v2v", "endpoint", "credentials and reachability"]]
    assert not [row for row in found if row[0] in ("nsx", "vcenter")], found
    assert mutations(cloud) == NO_CALLS
