# -*- coding: utf-8 -*-
# Copyright: (c) 2026, hybridcloud.migration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The migration report's pure parts: which modules count, rows from results, the three renderings."""

import json

from ansible_collections.hybridcloud.migration.plugins.plugin_utils import migration_report as report


def test_only_this_collections_changing_modules_count():
    assert report.short_name("hybridcloud.migration.zstack_ps_migrate") == "zstack_ps_migrate"
    assert report.short_name("hybridcloud.migration.powervc_vsn_info") is None
    assert report.short_name("ansible.builtin.debug") is None and report.short_name(None) is None


def test_nsx_result_gives_one_row_per_vm():
    result = {"changed": True, "vms": [
        {"name": "web01", "instance_uuid": "5011-aa", "outcome": "relocated", "task": "task-12"},
        {"name": "db01", "instance_uuid": "5011-bb", "outcome": "failed", "error": "NSX error 30722"}]}
    rows = report.object_rows("nsx_vmgroup_execution", result, 100.0, 160.5, "localhost")
    assert [(r["object"], r["id"], r["outcome"], r["jobs"], r["error"]) for r in rows] == [
        ("web01", "5011-aa", "relocated", ["task-12"], ""), ("db01", "5011-bb", "failed", [], "NSX error 30722")]
    assert rows[0]["platform"] == "NSX-T" and rows[0]["duration"] == 60.5


def test_failed_result_without_invocation_names_its_object_from_identifying_arguments_only():
    rows = report.object_rows("zstack_ps_migrate", {"failed": True, "msg": "no primary storage 'x'"}, 1.0, 2.0,
                              task_args={"vm": "web-01", "password": "Sup3r-Secret-pw", "primary_storage": "x"})
    assert rows[0]["object"] == "web-01" and rows[0]["outcome"] == "failed"
    assert rows[0]["error"] == "no primary storage 'x'"
    assert "Sup3r-Secret-pw" not in json.dumps(rows)


def test_unexpected_result_shape_still_gives_a_row():
    rows = report.object_rows("vcenter_ovf_deploy", {"changed": False, "vm": "not a dict", "library_item": 7}, 1.0, 1.0)
    assert len(rows) == 1 and rows[0]["outcome"] == "unchanged"


def sample():
    rows = report.object_rows("zstack_ps_migrate", {"changed": True, "vm": {"name": "a|b <x>", "uuid": "u1"},
                                                    "job_uuid": "j1"}, 10.0, 25.0)
    return {"title": "T <1>", "started": 5.0, "ended": 30.0, "check_mode": False, "objects": rows}


def test_markdown_escapes_pipes():
    text = report.render_markdown(sample())
    assert "| ZStack | a\\|b <x> | u1 |" in text and "1 changed" in text


def test_html_is_escaped_self_contained_and_has_one_bar_per_object():
    page = report.render_html(sample())
    assert "a|b &lt;x&gt;" in page and "<x>" not in page and "T &lt;1&gt;" in page
    assert page.count('<rect class="bar"') == 1
    assert "<script" not in page and "http://" not in page.replace("http://www.w3.org/2000/svg", "")


def test_json_round_trips():
    assert json.loads(report.render_json(sample()))["objects"][0]["jobs"] == ["j1"]


def test_bulk_results_give_their_own_times_and_jobs():
    result = {"changed": True, "vms": [
        {"name": "web-01", "uuid": "u1", "outcome": "migrated", "from": "ps-a (1)", "to": "ps-b (2)", "jobs": ["j1", "l1"],
         "error": "", "started": 110.0, "ended": 125.5},
        {"name": "web-02", "uuid": "u2", "outcome": "unchanged", "from": "ps-b (2)", "to": "ps-b (2)", "jobs": [],
         "error": "", "started": None, "ended": None}]}
    first, second = report.object_rows("zstack_ps_migrate", result, 100.0, 130.0)
    assert (first["object"], first["id"], first["start"], first["end"], first["duration"]) == ("web-01", "u1", 110.0, 125.5, 15.5)
    assert first["jobs"] == ["j1", "l1"] and first["to"] == "ps-b (2)"
    assert (second["outcome"], second["start"], second["end"]) == ("unchanged", 100.0, 130.0)


def test_a_failed_bulk_task_keeps_each_objects_own_outcome():
    result = {"failed": True, "changed": True, "msg": "1 of 2 VMs failed: b (u2): boom", "vms": [
        {"name": "a", "uuid": "u1", "outcome": "deployed", "error": ""},
        {"name": "b", "uuid": "u2", "outcome": "failed", "error": "boom"}]}
    rows = report.object_rows("vcenter_ovf_deploy", result, 1.0, 2.0)
    assert [(r["object"], r["outcome"], r["error"]) for r in rows] == [("a", "deployed", ""), ("b", "failed", "boom")]


def test_vsn_moves_are_bulk_results_too():
    result = {"changed": True, "vsns": [{"name": "CDF0001", "outcome": "moved", "from": "p9-a (1)", "to": "p9-b (2)",
                                         "jobs": [], "error": "", "started": 3.0, "ended": 4.0}]}
    row, = report.object_rows("powervc_vsn", result, 1.0, 5.0)
    assert (row["object"], row["outcome"], row["to"], row["duration"]) == ("CDF0001", "moved", "p9-b (2)", 1.0)
