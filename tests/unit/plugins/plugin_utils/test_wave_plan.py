# -*- coding: utf-8 -*-
# Copyright: (c) 2026, hybridcloud.migration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The wave plan inventory: rows -> hosts and groups, every problem of a plan in one error."""

import pytest

from ansible_collections.hybridcloud.migration.plugins.plugin_utils.wave_plan import (
    WavePlanError, check_rows, complete_hosts, group_names, lookups, plan_hosts, read_rows, v2v_items)


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
    assert "row 1 (a): column 'platform' must be one of nsx, powervc, vcenter, zstack, zstack_v2v, got 'zstac'" in message
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


# -- check: completing hosts from what the APIs said ------------------------------------------------
ROWS = [{"vm": "web01", "platform": "zstack"}, {"vm": "db01", "platform": "zstack", "source": "ps-planned"},
        {"vm": "ibmi01", "platform": "powervc"}, {"vm": "app01", "platform": "nsx"},
        {"vm": "new01", "platform": "vcenter", "source": "item-1"},
        {"vm": "erp01", "platform": "zstack_v2v", "source": "vmware://155cb773228d346ba8ed1135d48f3718"}]


def test_lookups_group_the_refs_per_api_and_skip_apis_without_rows():
    hosts, dummy, dummy2 = check_rows(ROWS)
    # new01 (vcenter) is a VM its migration deploys, erp01 (zstack_v2v) one its conversion creates: not looked up
    assert lookups(hosts) == {"zstack": ["db01", "web01"], "powervc": ["ibmi01"], "vcenter": ["app01"]}
    hosts, dummy, dummy2 = check_rows(ROWS[:2])
    assert lookups(hosts) == {"zstack": ["db01", "web01"]}


def found_vm(uuid, location, name="x"):
    return {"id": uuid, "name": name, "location": location}


def test_completion_sets_id_location_and_an_empty_source_where_it_means_the_location():
    hosts, numbers, dummy = check_rows(ROWS)
    found = {"zstack": {"web01": [found_vm("u-web", "ps-nfs")], "db01": [found_vm("u-db", "ps-ceph")]},
             "powervc": {"ibmi01": [found_vm("s-1", "HOST_A")]},
             "vcenter": {"app01": [found_vm("i-app", "esx-01")]}}
    done = complete_hosts(hosts, numbers, found, {})
    assert done["web01"]["migration_id"] == "u-web" and done["web01"]["migration_source"] == "ps-nfs"
    assert done["db01"]["migration_source"] == "ps-planned" and done["db01"]["migration_location"] == "ps-ceph"
    assert done["ibmi01"]["migration_source"] == "HOST_A" and done["ibmi01"]["migration_id"] == "s-1"
    # nsx: source is the NSX VM group -- never overwritten by a location; vcenter rows are not looked up
    assert "migration_source" not in done["app01"] and done["app01"]["migration_location"] == "esx-01"
    assert done["new01"]["migration_source"] == "item-1" and "migration_id" not in done["new01"]
    assert done["erp01"] == hosts["erp01"]  # a conversion's VM does not exist yet: left as planned
    assert hosts["web01"].get("migration_id") is None  # the input is not changed


def test_every_plan_and_lookup_problem_in_one_error_one_per_failed_api():
    rows = ROWS + [{"vm": "", "platform": "zstack"}]
    hosts, numbers, problems = check_rows(rows)
    found = {"zstack": {"web01": [found_vm("u-1", "a"), found_vm("u-2", "b")]}, "powervc": {}}
    with pytest.raises(WavePlanError) as error:
        complete_hosts(hosts, numbers, found, {"vcenter": "vCenter at 127.0.0.1:1 could not be read: refused"},
                       problems, "wave plan p.csv")
    message = str(error.value)
    assert "wave plan p.csv: 5 problem(s)" in message
    assert "row 7: column 'vm' is empty" in message
    assert "vCenter at 127.0.0.1:1 could not be read: refused" in message
    assert "row 1 (web01): ZStack has 2 VMs named 'web01' (u-1, u-2): give the id instead" in message
    assert "row 2 (db01): ZStack has no VM 'db01'" in message
    assert "row 3 (ibmi01): PowerVC has no VM 'ibmi01'" in message
    assert "app01" not in message and "new01" not in message and "erp01" not in message  # their API failed: one problem for it, not per VM


# -- zstack_v2v rows: a foreign VM converted into a ZStack VM ----------------------------------------
def test_v2v_rows_carry_their_conversion_options_as_host_vars():
    hosts = plan_hosts([{"vm": "erp-01", "platform": "ZStack_V2V", "source": "vmware://155cb773228d346ba8ed1135d48f3718",
                         "destination": "ps-nfs-01", "wave": 2, "cpu_num": 4, "memory_size": 8589934592,
                         "l3_networks": ["l3-prod", " l3-backup ", None], "guest_platform": "Linux", "cluster": ""}])
    assert hosts == {"erp-01": {
        "migration_vm": "erp-01", "migration_platform": "zstack_v2v", "ansible_connection": "local",
        "migration_source": "vmware://155cb773228d346ba8ed1135d48f3718", "migration_destination": "ps-nfs-01",
        "migration_wave": "2", "migration_cpu_num": "4", "migration_memory_size": "8589934592",
        "migration_l3_networks": ["l3-prod", "l3-backup"],  # a YAML list stays a list (a CSV cell: "a,b")
        "migration_guest_platform": "Linux"}}
    assert group_names(hosts["erp-01"]) == ["platform_zstack_v2v", "wave_2"]


def test_a_v2v_row_without_its_source_url_is_a_problem_of_the_plan():
    rows = [{"vm": "erp-01", "platform": "zstack_v2v", "destination": "ps-nfs-01"},
            {"vm": "erp-02", "platform": "zstack_v2v", "source": "vmware://2a7c3e1f9b0d4c8e8f6a5b4c3d2e1f0a"},
            {"vm": "web-01", "platform": "zstack"}]  # a storage migration's source is informational: not required
    hosts, numbers, problems = check_rows(rows)
    assert sorted(hosts) == ["erp-02", "web-01"]
    assert problems == ["row 1 (erp-01): a zstack_v2v row needs column 'source', the source URL of the VM to convert "
                        "(vmware://... or kvm://...)"]


def test_v2v_items_from_host_vars_and_from_plan_rows_read_the_same():
    hosts = plan_hosts([{"vm": "erp-01", "platform": "zstack_v2v", "source": "vmware://155cb773228d346ba8ed1135d48f3718",
                         "destination": "ps-nfs-01", "cpu_num": 4, "guest_platform": "Linux", "l3_networks": "[]",
                         "ssh_priv_key": "k", "owner": "team-a"},
                        {"vm": "web-01", "platform": "zstack", "source": "ps-a", "destination": "ps-b"}])
    defaults = {"cpu_num": 2, "l3_networks": ["l3-prod"], "cluster": "cl-1"}
    items = v2v_items(list(hosts.values()), defaults)
    # a row's own cell wins; an empty one (CSV "[]") leaves the default; unknown columns and other platforms left out
    assert items == [{"cpu_num": "4", "l3_networks": ["l3-prod"], "cluster": "cl-1", "platform": "Linux",
                      "ssh_priv_key": "k", "vm": "erp-01", "url": "vmware://155cb773228d346ba8ed1135d48f3718",
                      "primary_storage": "ps-nfs-01"}]
    row = {"vm": "erp-01", "platform": "zstack_v2v", "source": "vmware://155cb773228d346ba8ed1135d48f3718",
           "destination": "ps-nfs-01", "cpu_num": "4", "guest_platform": "Linux", "ssh_priv_key": "k"}
    assert v2v_items([row], defaults) == items
    assert "ssh_priv_key" not in v2v_items([row], defaults, ["ssh_priv_key"])[0]
    assert defaults == {"cpu_num": 2, "l3_networks": ["l3-prod"], "cluster": "cl-1"}  # not changed in place


def test_a_list_in_a_known_column_is_one_text():
    hosts = plan_hosts([{"vm": "a", "platform": "nsx", "source": ["g-1", "g-2"]}])
    assert hosts["a"]["migration_source"] == "g-1, g-2"
