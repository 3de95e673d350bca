"""The powervc_redeploy_plan filter: a thin wrapper of the pure plan (module_utils/_powervc_server_plan.py)."""

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.hybridcloud.migration.plugins.filter.powervc_redeploy_plan import FilterModule

INFO = {"servers": [{"name": "a", "id": "s1", "host": "9080HEX_1234ABC", "host_display_name": "prod-p10-a",
                     "virtual_serial_number": "ABCD100"}], "reserved_vsns": []}


def test_filter_plans_the_list_and_the_wave_hosts():
    plan = FilterModule().filters()["powervc_redeploy_plan"]
    listed = plan(INFO, [{"vm": "a", "virtual_serial_number": "abcd100"}], [], target_host="dr-p10-b", image="i",
                  flavor="f")
    assert listed["old"] == ["a"] and listed["moves"][0]["vsns"] == ["ABCD100"]
    assert listed["creates"][0]["host"] == "dr-p10-b"
    checked = plan(INFO, [{"vm": "a", "virtual_serial_number": "abcd100"}], [], target_host="dr-p10-b",
                   check_mode=True)
    assert checked["creates"] == [] and checked["deletes"] == listed["deletes"]
    wave = plan(INFO, [], [{"migration_vm": "a", "migration_platform": "powervc", "migration_destination": "prod-p10-a",
                            "migration_vsn": "ABCD100"}])
    assert wave["text"] == "a (s1) on prod-p10-a, VSN ABCD100 -> prod-p10-a: already there"
    assert wave["unchanged"][0]["outcome"] == "unchanged"


def test_filter_names_bad_input():
    plan = FilterModule().filters()["powervc_redeploy_plan"]
    with pytest.raises(AnsibleFilterError, match="powervc_redeploy_plan: parameter 'target_host' is required"):
        plan(INFO, [{"vm": "a", "virtual_serial_number": "ABCD100"}], [])
