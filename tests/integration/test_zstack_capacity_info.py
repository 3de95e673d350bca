# -*- coding: utf-8 -*-
# Copyright: (c) 2026, hybridcloud.migration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""zstack_capacity_info through ansible-playbook against the ZStack emulator: every problem at once,
nothing changed, no secret in the output (the batching of its reads: tests/unit/.../test_zstack_capacity.py)."""

import copy

from tests.emulators import zstack as emu
from tests.integration.zstack_helpers import PASSWORD, assert_no_secrets, module_defaults, operations, prepare

GIB = 1024 ** 3
MODULE = "hybridcloud.migration.zstack_capacity_info"


def test_batched_reads_and_every_problem(ansible, zstack_emulator):
    seed = copy.deepcopy(emu.DEFAULT_SEED)
    seed["accounts"] = [{"uuid": emu.ADMIN_ACCOUNT, "name": "admin", "password": PASSWORD}]
    for ps in seed["primary-storage"]:
        if ps["name"] == "ps-ceph-01":
            ps["availableCapacity"] = 200 * GIB
    zstack_emulator.reset(seed)
    migrations = [{"vm": "web-01", "target_primary_storage": "ps-ceph-01"},        # 140 GiB
                  {"vm": emu.VM_DB, "target_primary_storage": "ps-ceph-01"},       # 340 GiB
                  {"vm": "cache-01", "target_primary_storage": "ps-ceph-01"},      # there already
                  {"vm": "ghost", "target_primary_storage": "ps-ceph-01"},
                  {"vm": "app-01", "target_primary_storage": "ps-nfs-01"},
                  {"vm": "web-01", "target_primary_storage": "ps-missing"}]
    run = ansible.play([{"name": "capacity", MODULE: {"migrations": migrations}}],
                       module_defaults=module_defaults(zstack_emulator))
    assert run.rc == 0, run.output
    result = run.result("capacity")
    assert result["changed"] is False
    assert [row["needed"] // GIB for row in result["vms"]] == [140, 340, 0, 0, 0, 0]
    assert result["primary_storages"][0]["name"] == "ps-ceph-01" and result["primary_storages"][0]["needed"] == 480 * GIB
    assert result["primary_storages"][0]["fits"] is False
    assert [(p["object"], p["check"]) for p in result["problems"]] == [
        ("ghost", "vm resolves"), ("app-01", "vm resolves"), ("web-01", "target_primary_storage resolves"),
        ("ps-ceph-01 (%s…)" % emu.PS_CEPH[:8], "capacity")]
    assert "480.0 GiB" in result["problems"][-1]["problem"] and "200.0 GiB free" in result["problems"][-1]["problem"]
    assert operations(zstack_emulator) == []
    assert_no_secrets(zstack_emulator, run.output)


def test_without_data_volumes_and_in_check_mode(ansible, zstack_emulator):
    prepare(zstack_emulator)
    run = ansible.play([{"name": "capacity", MODULE: {"with_data_volumes": False, "migrations": [
        {"vm": "db-01", "target_primary_storage": emu.PS_CEPH}]}, "check_mode": True}],
        module_defaults=module_defaults(zstack_emulator))
    assert run.rc == 0, run.output
    result = run.result("capacity")
    assert result["vms"][0]["needed"] == 40 * GIB and result["problems"] == []
