# -*- coding: utf-8 -*-
# Copyright: (c) 2026, hybridcloud.migration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""hybridcloud.migration.wave_plan through the real ansible-inventory / ansible-playbook, and AWX job slicing.

AWX slices a job template's inventory by host index modulo the slice count (hosts in name order);
each slice must get every one of its VMs, and the slices together every VM exactly once.
"""

import json
import os
import re
import subprocess
import sys

import pytest

from tests.integration.playbook import COLLECTIONS_PATH
from tests.integration.zstack_helpers import PASSWORD as ZSTACK_PASSWORD, prepare
from tests.vcsim_fixtures import start_vcsim

BIN = os.path.dirname(sys.executable)


def write_plan(directory, vms=203):
    rows = ["vm,platform,source,destination,wave"]
    platforms = ("zstack", "nsx", "vcenter", "powervc")
    rows += ["vm%03d,%s,src-%d,dst-%d,%d" % (i, platforms[i % 4], i % 3, i % 5, 1 + i % 3) for i in range(vms)]
    (directory / "waves.csv").write_text("\n".join(rows) + "\n")
    source = directory / "night1.wave_plan.yml"
    source.write_text("plugin: hybridcloud.migration.wave_plan\nplan: waves.csv\n")
    return str(source)


def run(*command, cwd):
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=COLLECTIONS_PATH, ANSIBLE_NOCOLOR="1")
    proc = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, check=False, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


def plain(value):
    """VALUE without ansible-inventory's {"__ansible_unsafe": ...} wrappers (inventory plugin values are untrusted)."""
    if isinstance(value, dict):
        return plain(value["__ansible_unsafe"]) if set(value) == {"__ansible_unsafe"} else {k: plain(v) for k, v in value.items()}
    return [plain(v) for v in value] if isinstance(value, list) else value


def same_inventory(data):
    """DATA without the order ansible-inventory lists groups in (a cached inventory may list them in another)."""
    return {name: ({k: sorted(v) if isinstance(v, list) else v for k, v in group.items()} if name != "_meta" else group)
            for name, group in data.items()}


def inventory(source, cwd):
    return plain(json.loads(run(os.path.join(BIN, "ansible-inventory"), "-i", source, "--list", cwd=cwd)))


def test_groups_and_host_vars(tmp_path):
    data = inventory(write_plan(tmp_path), tmp_path)
    assert len(data["_meta"]["hostvars"]) == 203
    assert set(data["wave_1"]["hosts"]) | set(data["wave_2"]["hosts"]) | set(data["wave_3"]["hosts"]) == set(data["_meta"]["hostvars"])
    assert len(data["platform_zstack"]["hosts"]) == 51
    assert data["_meta"]["hostvars"]["vm005"] == {
        "ansible_connection": "local", "migration_vm": "vm005", "migration_platform": "nsx",
        "migration_source": "src-2", "migration_destination": "dst-0", "migration_wave": "3"}


@pytest.mark.parametrize("slices", [1, 3, 8])
def test_awx_slices_cover_every_vm_exactly_once(tmp_path, slices):
    source = write_plan(tmp_path)
    hosts = sorted(inventory(source, tmp_path)["_meta"]["hostvars"])
    seen = []
    for number in range(slices):
        # What AWX hands each slice job: the hosts at index number, number + N, ... as a --limit.
        chosen = hosts[number::slices]
        playbook = tmp_path / "slice.yml"
        playbook.write_text("- hosts: all\n  gather_facts: false\n  tasks:\n"
                            "    - ansible.builtin.debug:\n        msg: \"{{ ansible_play_hosts | join(',') }}\"\n"
                            "      run_once: true\n")
        out = run(os.path.join(BIN, "ansible-playbook"), "-i", source, "--limit", ",".join(chosen), str(playbook),
                  cwd=tmp_path)
        played = out.split('"msg": "', 1)[1].split('"', 1)[0].split(",")
        assert sorted(played) == chosen
        seen.extend(played)
    assert sorted(seen) == hosts and len(seen) == len(set(seen))


# -- check: every VM looked up in its platform's API, hosts completed, and the inventory cache ------
SECRET_PREFIXES = ("ZSTACK_", "OS_", "VMWARE_", "HYBRIDCLOUD_MIGRATION_WAVE_PLAN_", "ANSIBLE_CACHE_PLUGIN",
                   "ANSIBLE_INVENTORY_CACHE")


def api_environment(zstack=None, powervc=None, vcenter=None):
    """The ZSTACK_* / OS_* / VMWARE_* variables of the modules, for the emulators given."""
    env = {}
    if zstack is not None:
        env.update(ZSTACK_HOST="127.0.0.1", ZSTACK_PORT=zstack.url.rsplit(":", 1)[1], ZSTACK_PROTOCOL="https",
                   ZSTACK_CA_CERT=zstack.ca_path, ZSTACK_USERNAME="admin", ZSTACK_PASSWORD=ZSTACK_PASSWORD)
    if powervc is not None:
        info = powervc.info
        env.update(OS_AUTH_URL=info["auth_url"], OS_USERNAME=info["username"], OS_PASSWORD=info["password"],
                   OS_PROJECT_NAME=info["project_name"], OS_CACERT=powervc.ca_path)
    if vcenter is not None:
        env.update(VMWARE_HOST=vcenter.host, VMWARE_PORT=str(vcenter.port), VMWARE_USER=vcenter.username,
                   VMWARE_PASSWORD=vcenter.password, VMWARE_CA_CERT=vcenter.cert_path)
    return env


def checked_inventory(tmp_path, rows, env, cache=False, verbose=False):
    """(returncode, parsed --list or None, stdout + stderr) of ansible-inventory on a checked plan of ROWS."""
    (tmp_path / "waves.csv").write_text("\n".join(["vm,platform,source,destination,wave"] + rows) + "\n")
    source = tmp_path / "checked.wave_plan.yml"
    config = "plugin: hybridcloud.migration.wave_plan\nplan: waves.csv\ncheck: true\n"
    if cache:
        config += ("cache: true\ncache_plugin: ansible.builtin.jsonfile\ncache_connection: %s\ncache_timeout: 3600\n"
                   % (tmp_path / "cache"))
    source.write_text(config)
    full_env = dict((k, v) for k, v in os.environ.items() if not k.startswith(SECRET_PREFIXES))
    full_env.update(env, ANSIBLE_COLLECTIONS_PATH=COLLECTIONS_PATH, ANSIBLE_NOCOLOR="1",
                    ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED="1")
    command = [os.path.join(BIN, "ansible-inventory"), "-i", str(source), "--list"] + (["-vvvv"] if verbose else [])
    proc = subprocess.run(command, cwd=tmp_path, env=full_env, capture_output=True, text=True, check=False, timeout=300)
    document = re.search(r"^\{.*", proc.stdout, re.M | re.S)  # after the -vvvv banner
    data = plain(json.loads(document.group(0))) if proc.returncode == 0 else None
    return proc.returncode, data, proc.stdout + proc.stderr


def mark(handle):
    return handle.emulator.requests_seen


def api_requests(handle, since):
    """[(method, path)] of every API request (reads too) the emulator got since MARK: its request log."""
    count = handle.emulator.requests_seen - since
    return [(method, path) for dummy, method, path in list(handle.emulator.request_log)[-count:]] if count else []


def secrets_absent(output, *secrets):
    for secret in secrets:
        assert secret and secret not in output


def test_check_lists_every_missing_and_ambiguous_vm_in_one_error(tmp_path, zstack_emulator, powervc_emulator):
    prepare(zstack_emulator)
    rows = ["web-01,zstack,,ps-ceph-01,1", "ghost-zs-01,zstack,,ps-ceph-01,1", "app-01,zstack,,ps-ceph-01,1",
            "ibmi-prod-01,powervc,,dr-p10-b,2", "ibmi-ghost-09,powervc,,dr-p10-b,2", ",zstack,,,2"]
    code, dummy, output = checked_inventory(tmp_path, rows, api_environment(zstack_emulator, powervc_emulator),
                                            verbose=True)
    assert code != 0, output
    message = " ".join(output.split())  # ansible wraps long lines
    assert "4 problem(s)" in message, output
    assert "row 6: column 'vm' is empty" in message
    assert "row 2 (ghost-zs-01): ZStack has no VM 'ghost-zs-01'" in message
    assert "row 3 (app-01): ZStack has 2 VMs named 'app-01'" in message
    assert "row 5 (ibmi-ghost-09): PowerVC has no VM 'ibmi-ghost-09'" in message
    assert "web-01" not in message.split("problem(s)", 1)[1].split("ghost-zs-01")[0]  # found VMs are no problem
    secrets_absent(output, ZSTACK_PASSWORD, powervc_emulator.info["password"])


def test_check_completes_id_and_source_with_one_batched_read_per_platform(tmp_path, zstack_emulator, powervc_emulator):
    prepare(zstack_emulator)
    zs_mark, pv_mark = mark(zstack_emulator), mark(powervc_emulator)
    rows = ["web-01,zstack,,ps-ceph-01,1", "db-01,zstack,ps-planned,ps-ceph-01,1",
            "ibmi-prod-01,powervc,,dr-p10-b,2", "ibmi-dev-03,powervc,,dr-p10-b,2"]
    code, data, output = checked_inventory(tmp_path, rows, api_environment(zstack_emulator, powervc_emulator))
    assert code == 0, output
    hostvars = data["_meta"]["hostvars"]
    state = zstack_emulator.admin.state()
    vm_uuid = dict((vm["name"], vm["uuid"]) for vm in state["vm-instances"])
    assert hostvars["web-01"]["migration_id"] == vm_uuid["web-01"]
    assert hostvars["web-01"]["migration_source"] == hostvars["web-01"]["migration_location"] == "ps-nfs-01"
    assert hostvars["db-01"]["migration_source"] == "ps-planned"  # the plan's own value wins
    servers = dict((s["name"], s) for s in powervc_emulator.admin.state()["servers"])
    assert hostvars["ibmi-prod-01"]["migration_id"] == servers["ibmi-prod-01"]["id"]
    assert hostvars["ibmi-prod-01"]["migration_source"] == servers["ibmi-prod-01"]["host"]
    assert hostvars["ibmi-dev-03"]["migration_source"] == servers["ibmi-dev-03"]["host"]
    # Batched: the VM reads do not grow with the number of VMs (one query each, whatever the plan's size).
    vm_reads = [r for r in api_requests(zstack_emulator, zs_mark) if r[1].startswith("/zstack/v1/vm-instances")]
    assert vm_reads == [("GET", "/zstack/v1/vm-instances")]
    server_reads = [r for r in api_requests(powervc_emulator, pv_mark) if "/servers" in r[1]]
    assert len(server_reads) == 1 and server_reads[0][1].endswith("/servers/detail"), server_reads
    # Reads only: nothing but the login and logout changes anything.
    assert all("/accounts/" in e["path"] for e in zstack_emulator.admin.mutations())
    assert all("/auth/tokens" in e["path"] for e in powervc_emulator.admin.mutations())
    secrets_absent(output + json.dumps(data), ZSTACK_PASSWORD, powervc_emulator.info["password"])


def test_platforms_without_rows_are_not_contacted_and_a_failing_endpoint_is_one_problem(tmp_path, zstack_emulator,
                                                                                        powervc_emulator):
    prepare(zstack_emulator)
    pv_mark = mark(powervc_emulator)
    env = dict(api_environment(zstack_emulator, powervc_emulator), ZSTACK_PORT="1")
    rows = ["web-01,zstack,,ps-ceph-01,1", "db-01,zstack,,ps-ceph-01,1", "cache-01,zstack,,ps-ceph-01,1"]
    code, dummy, output = checked_inventory(tmp_path, rows, env)
    assert code != 0
    message = " ".join(output.split())
    assert "1 problem(s)" in message and "ZStack at 127.0.0.1:1 could not be read" in message, output
    assert api_requests(powervc_emulator, pv_mark) == []  # no PowerVC row: PowerVC not contacted
    wrong = "Wrong-PowerVC-Password-For-Wave-Plan-77"
    env = dict(api_environment(zstack_emulator, powervc_emulator), OS_PASSWORD=wrong)
    code, dummy, output = checked_inventory(tmp_path, ["ibmi-prod-01,powervc,,dr-p10-b,2"], env, verbose=True)
    assert code != 0
    message = " ".join(output.split())
    netloc = powervc_emulator.info["auth_url"].split("://", 1)[1].split("/", 1)[0]
    assert "1 problem(s)" in message and "PowerVC at %s could not be read" % netloc in message, output
    secrets_absent(output, wrong, ZSTACK_PASSWORD)


def test_cached_inventory_contacts_no_api(tmp_path, zstack_emulator, powervc_emulator):
    prepare(zstack_emulator)
    rows = ["web-01,zstack,,ps-ceph-01,1", "ibmi-prod-01,powervc,,dr-p10-b,2"]
    env = api_environment(zstack_emulator, powervc_emulator)
    zs_mark, pv_mark = mark(zstack_emulator), mark(powervc_emulator)
    code, first, output = checked_inventory(tmp_path, rows, env, cache=True)
    assert code == 0, output
    assert api_requests(zstack_emulator, zs_mark) and api_requests(powervc_emulator, pv_mark)
    zs_mark, pv_mark = mark(zstack_emulator), mark(powervc_emulator)
    code, second, output = checked_inventory(tmp_path, rows, env, cache=True)
    assert code == 0, output
    assert same_inventory(second) == same_inventory(first) and second["_meta"]["hostvars"]["web-01"]["migration_id"]
    assert api_requests(zstack_emulator, zs_mark) == [] and api_requests(powervc_emulator, pv_mark) == []
    # A changed plan is not answered from the cache.
    code, third, output = checked_inventory(tmp_path, rows[:1], env, cache=True)
    assert code == 0 and list(third["_meta"]["hostvars"]) == ["web-01"]
    assert api_requests(zstack_emulator, zs_mark) and api_requests(powervc_emulator, pv_mark) == []
    cached = "".join(p.read_text() for p in (tmp_path / "cache").iterdir())
    secrets_absent(cached, ZSTACK_PASSWORD, powervc_emulator.info["password"])


VC_SECRET = "Vc-Wave-Plan-Secret-Password-4711"


@pytest.fixture(scope="module")
def vcenter(tmp_path_factory):
    instance = start_vcsim(tmp_path_factory.mktemp("wave-plan-vc"), name="wave-plan", tls=True, host=2, vm=2,
                           password=VC_SECRET)
    yield instance
    instance.stop()


def host_name(vcenter, moref):
    from pyVim.connect import Disconnect
    from pyVmomi import vim

    si = vcenter.connect()
    try:
        return vim.HostSystem(moref, si._stub).name
    finally:
        Disconnect(si)


def test_check_vcenter_and_nsx_rows_by_name_or_instance_uuid(tmp_path, vcenter):
    first, second = vcenter.info["vms"][0], vcenter.info["vms"][1]
    rows = ["%s,nsx,group-7,esx-02,1" % first["name"], "%s,nsx,group-8,esx-02,1" % second["instance_uuid"],
            "new-vm-77,vcenter,item-1,folder-1,1"]
    env = api_environment(vcenter=vcenter)
    code, data, output = checked_inventory(tmp_path, rows, env, cache=True, verbose=True)
    assert code == 0, output
    nsx_vm, vc_vm = data["_meta"]["hostvars"][first["name"]], data["_meta"]["hostvars"][second["instance_uuid"]]
    assert nsx_vm["migration_id"] == first["instance_uuid"] and nsx_vm["migration_source"] == "group-7"
    assert nsx_vm["migration_location"] == host_name(vcenter, first["host"])
    assert vc_vm["migration_id"] == second["instance_uuid"] and vc_vm["migration_source"] == "group-8"
    assert "migration_id" not in data["_meta"]["hostvars"]["new-vm-77"]  # to be deployed: not looked up
    secrets_absent(output + json.dumps(data), VC_SECRET)
    # From the cache: the vCenter is not needed any more (an unreachable port changes nothing).
    code, cached, output = checked_inventory(tmp_path, rows, dict(env, VMWARE_PORT="1"), cache=True)
    assert code == 0 and same_inventory(cached) == same_inventory(data), output
    # Missing VMs and a refused login are problems like any other, secrets masked.
    code, dummy, output = checked_inventory(tmp_path, rows + ["no-such-vm-42,nsx,group-7,,1"], env)
    # (compared without white space: ansible-core 2.16 wraps warnings inside words)
    assert code != 0 and "row4(no-such-vm-42):vCenterhasnoVM'no-such-vm-42'" in "".join(output.split()), output
    wrong = "Wrong-vCenter-Password-For-Wave-Plan-99"
    code, dummy, output = checked_inventory(tmp_path, rows, dict(env, VMWARE_PASSWORD=wrong), verbose=True)
    message = " ".join(output.split())
    assert code != 0 and "1 problem(s)" in message
    assert "vCenter at %s:%s could not be read" % (vcenter.host, vcenter.port) in message, output
    secrets_absent(output, wrong, VC_SECRET)
