# -*- coding: utf-8 -*-
# Copyright: (c) 2026, hybridcloud.migration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""hybridcloud.migration.wave_plan through the real ansible-inventory / ansible-playbook, and AWX job slicing.

AWX slices a job template's inventory by host index modulo the slice count (hosts in name order);
each slice must get every one of its VMs, and the slices together every VM exactly once.
"""

import json
import os
import subprocess
import sys

import pytest

from tests.integration.playbook import COLLECTIONS_PATH

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
