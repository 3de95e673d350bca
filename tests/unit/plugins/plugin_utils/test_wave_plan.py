# -*- coding: utf-8 -*-
# Copyright: (c) 2026, hybridcloud.migration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The wave plan inventory: rows -> hosts and groups, every problem of a plan in one error."""

import pytest

from ansible_collections.hybridcloud.migration.plugins.plugin_utils.wave_plan import (
    WavePlanError, group_names, plan_hosts, read_rows)


def test_rows_become_hosts_with_migration_vars_and_extra_columns():
    hosts = plan_hosts([{"VM": " web01 ", "Platform": "ZStack", "source": "ps-old", "destination": "ps-new",
                         "wave": 1, "change ticket": "CHG-42", "owner": ""}])
    assert hosts == {"web01": {"migration_vm": "web01", "migration_platform": "zstack", "ansible_connection": "local",
                               "migration_source": "ps-old", "migration_destination": "ps-new", "migration_wave": "1",
                               "migration_change_ticket": "CHG-42"}}


def test_groups_per_platform_and_wave():
    assert group_names({"migration_platform": "nsx", "migration_wave": "2026-12 a"}) == ["platform_nsx", "wave_2026_12_a"]
    assert group_names({"migration_platform": "powervc"}) == ["platform_powervc"]


def test_every_problem_is_listed_at_once():
    rows = [{"vm": "a", "platform": "zstac"}, {"vm": "", "platform": "zstack"}, {"vm": "b", "platform": "nsx"},
            {"vm": "b", "platform": "nsx"}, "not a row"]
    with pytest.raises(WavePlanError) as error:
        plan_hosts(rows, "wave plan p.csv")
    message = str(error.value)
    assert "4 problem(s)" in message
    assert "row 1 (a): column 'platform' must be one of nsx, powervc, vcenter, zstack, got 'zstac'" in message
    assert "row 2: column 'vm' is empty" in message
    assert "row 4 (b): the VM is already in row 3" in message
    assert "row 5: expected a mapping" in message


def test_csv_with_a_byte_order_mark(tmp_path):
    plan = tmp_path / "waves.csv"
    plan.write_bytes(b"\xef\xbb\xbfvm,platform,wave\nweb01,zstack,1\n")
    assert plan_hosts(read_rows(str(plan)))["web01"]["migration_wave"] == "1"


class Loader:  # the part of Ansible's DataLoader read_rows uses
    def __init__(self, data):
        self.data = data

    def load_from_file(self, path, cache="none"):
        return self.data


@pytest.mark.parametrize("data", [[{"vm": "a", "platform": "nsx"}], {"vms": [{"vm": "a", "platform": "nsx"}]}])
def test_yaml_list_or_mapping(data):
    assert list(plan_hosts(read_rows("plan.yml", Loader(data)))) == ["a"]


def test_yaml_of_another_shape_is_refused():
    with pytest.raises(WavePlanError, match="expected a list of rows"):
        read_rows("plan.yml", Loader({"hosts": []}))
