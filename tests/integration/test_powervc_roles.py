"""The PowerVC roles through ansible-playbook against the PowerVC emulator: one bulk call per step, a plan
printed once, re-runs that change nothing, check mode, and a hybridcloud.migration.wave_plan inventory
(the play's hosts gathered into one call per play run, per serial batch and per --limit slice)."""

import os
import subprocess
import sys

import yaml

from tests.integration.playbook import COLLECTIONS_PATH, HERE, PlayResult, _read_records

BIN = os.path.dirname(sys.executable)
LOGIN = "/v3/auth/tokens"


def connection_vars(handle):
    info = handle.info
    return {"powervc_auth_url": info["auth_url"], "powervc_username": info["username"],
            "powervc_password": info["password"], "powervc_project_name": info["project_name"],
            "powervc_ca_cert": handle.ca_path}


def run_role(tmp_path, handle, role, role_vars=None, hosts="localhost", inventory=None, check=False, limit=None,
             serial=None, name="run"):
    """ansible-playbook of one play applying ROLE (module_defaults as the collection's playbooks set them)."""
    play = {"name": "role", "hosts": hosts, "gather_facts": False,
            "module_defaults": {"group/hybridcloud.migration.powervc": {
                "auth": {"auth_url": "{{ powervc_auth_url }}", "username": "{{ powervc_username }}",
                         "password": "{{ powervc_password }}", "project_name": "{{ powervc_project_name }}"},
                "ca_cert": "{{ powervc_ca_cert }}"}},
            "vars": dict(connection_vars(handle), **(role_vars or {})),
            "roles": [{"role": "hybridcloud.migration.%s" % role}]}
    if serial:
        play["serial"] = serial
    playbook, records = tmp_path / ("%s.yml" % name), tmp_path / ("%s.jsonl" % name)
    playbook.write_text(yaml.safe_dump([play], sort_keys=False))
    if inventory is None:
        inventory = tmp_path / "localhost.ini"
        inventory.write_text("localhost ansible_connection=local ansible_python_interpreter=%s\n" % sys.executable)
    command = [os.path.join(BIN, "ansible-playbook"), "-i", str(inventory), str(playbook)]
    if check:
        command.append("--check")
    if limit:
        command += ["--limit", limit]
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=COLLECTIONS_PATH, ANSIBLE_NOCOLOR="1",
               ANSIBLE_CALLBACK_PLUGINS=os.path.join(HERE, "callback_plugins"),
               ANSIBLE_CALLBACKS_ENABLED="record_results", RECORD_RESULTS_FILE=str(records),
               ANSIBLE_LOCALHOST_WARNING="false", ANSIBLE_RETRY_FILES_ENABLED="false",
               ANSIBLE_PYTHON_INTERPRETER=sys.executable)
    proc = subprocess.run(command, cwd=str(tmp_path), env=env, capture_output=True, text=True, check=False,
                          timeout=600)
    return PlayResult(proc.returncode, proc.stdout + proc.stderr, _read_records(str(records)))


def mutations(handle):
    return [(e["method"], e["path"].split("/v2.1/", 1)[-1].split("/", 1)[-1], e["query"])
            for e in handle.admin.mutations() if not e["path"].startswith("/v3/")]


def module_calls(handle):
    """How many module runs logged in (each module run logs in once)."""
    return len([e for e in handle.admin.journal() if e["method"] == "POST" and e["path"] == LOGIN])


def short(task):
    """A role task's name without its 'namespace.collection.role : ' prefix."""
    return task.split(" : ", 1)[-1]


def changed_tasks(run):
    return [short(r["_task"]) for r in run.results if r.get("changed")]


def result(run, task):
    """The last result of the role task called TASK."""
    found = [r for r in run.results if short(r["_task"]) == task]
    assert found, "task %r did not run:\n%s" % (task, run.output[-4000:])
    return found[-1]


def wave_inventory(tmp_path, rows):
    plan = tmp_path / "waves.csv"
    plan.write_text("vm,platform,source,destination,wave\n" + "\n".join(",".join(r) for r in rows) + "\n")
    source = tmp_path / "night.wave_plan.yml"
    source.write_text("plugin: hybridcloud.migration.wave_plan\nplan: waves.csv\n")
    return source


def test_evacuation_plans_once_moves_once_and_a_rerun_changes_nothing(tmp_path, powervc_emulator):
    role_vars = {"powervc_vsn_evacuation_source_host": "prod-p10-a", "powervc_vsn_evacuation_target_host": "dr-p10-b"}
    check = run_role(tmp_path, powervc_emulator, "powervc_vsn_evacuation", role_vars, check=True, name="check")
    assert check.rc == 0, check.output
    assert mutations(powervc_emulator) == []
    plan = [r for r in check.results if short(r["_task"]) == "Show the plan"]
    assert len(plan) == 1 and "VSN CDF0002: prod-p10-a (9080HEX_1234ABC) -> dr-p10-b (9109RMD_1031CAT): would move" \
        in plan[0]["msg"]
    first = run_role(tmp_path, powervc_emulator, "powervc_vsn_evacuation", role_vars, name="first")
    assert first.rc == 0, first.output
    assert changed_tasks(first) == ["Move the VSNs and wait until they show on the target host"]
    assert mutations(powervc_emulator) == [("PUT", "virtual-serial-number", "action=move")]
    report = result(first, "Report once what moved")["msg"]
    assert "VSN ABCD001: prod-p10-a (9080HEX_1234ABC) -> dr-p10-b (9109RMD_1031CAT): moved" in report
    logins = module_calls(powervc_emulator)
    again = run_role(tmp_path, powervc_emulator, "powervc_vsn_evacuation", role_vars, name="again")
    assert again.rc == 0, again.output
    assert changed_tasks(again) == [] and len(mutations(powervc_emulator)) == 1
    assert module_calls(powervc_emulator) == logins + 1  # the plan only
    assert result(again, "Move the VSNs and wait until they show on the target host")["_status"] == "skipped"


def test_evacuation_from_a_wave_plan_inventory_one_call_per_pair_and_slice(tmp_path, powervc_emulator):
    rows = [("CDF0002", "powervc", "prod-p10-a", "dr-p10-b", "1"), ("CDF0003", "powervc", "prod-p10-a", "dr-p10-b", "1"),
            ("ABCD001", "powervc", "9080HEX_1234ABC", "dr-p10-b", "2"), ("web01", "zstack", "ps-a", "ps-b", "1")]
    inventory = wave_inventory(tmp_path, rows)
    # wave 1 alone (--limit): one move of its two VSNs; the zstack host is not PowerVC's
    first = run_role(tmp_path, powervc_emulator, "powervc_vsn_evacuation", hosts="all", inventory=inventory,
                     limit="wave_1", name="wave1")
    assert first.rc == 0, first.output
    moves = [e for e in powervc_emulator.admin.mutations() if e["method"] == "PUT"]
    assert [m["body"]["move_vsns"]["vsns"] for m in moves] == [["CDF0002", "CDF0003"]]
    # every wave, one host per batch (serial): one plan per batch, one move only where something is left
    rest = run_role(tmp_path, powervc_emulator, "powervc_vsn_evacuation", hosts="platform_powervc",
                    inventory=inventory, serial=1, name="serial")
    assert rest.rc == 0, rest.output
    moves = [e for e in powervc_emulator.admin.mutations() if e["method"] == "PUT"]
    assert [m["body"]["move_vsns"]["vsns"] for m in moves] == [["CDF0002", "CDF0003"], ["ABCD001"]]
    reserved = dict((r["virtual_serial_number"], r["host"]) for r in powervc_emulator.admin.state()["reserved"])
    assert reserved["CDF0002"] == reserved["CDF0003"] == reserved["ABCD001"] == "9109RMD_1031CAT"
    assert changed_tasks(rest) == ["Move the VSNs and wait until they show on the target host"]


REDEPLOY = {"powervc_vsn_redeploy_target_host": "dr-p10-b", "powervc_vsn_redeploy_delete_old": True,
            "powervc_vsn_redeploy_vms": [
                {"vm": "ibmi-prod-01", "virtual_serial_number": "ABCD100", "image": "IBM i 7.5 base",
                 "flavor": "ibmi-small", "networks": [{"network": "dr-vlan20"}]},
                {"vm": "ibmi-new-05", "virtual_serial_number": "CDF0002", "image": "IBM i 7.5 base",
                 "flavor": "ibmi-small"},
                {"vm": "ibmi-new-06", "virtual_serial_number": "CDF0011", "image": "IBM i 7.5 base",
                 "flavor": "ibmi-small"}]}


def test_redeploy_one_call_per_step_then_a_rerun_changes_nothing(tmp_path, powervc_emulator):
    check = run_role(tmp_path, powervc_emulator, "powervc_vsn_redeploy", REDEPLOY, check=True, name="check")
    assert check.rc == 0, check.output
    assert mutations(powervc_emulator) == []
    (plan,) = [r for r in check.results if short(r["_task"]) == "Show the plan"]
    assert ("ibmi-prod-01 (3f9d2a1c-5b6e-4c7d-8e9f-0a1b2c3d4e01) on prod-p10-a, VSN ABCD100 -> dr-p10-b: delete (VSN "
            "kept reserved), move VSN from 9080HEX_1234ABC, create") in plan["msg"]
    assert "ibmi-new-05 on absent, VSN CDF0002 -> dr-p10-b: move VSN from 9080HEX_1234ABC, create" in plan["msg"]
    first = run_role(tmp_path, powervc_emulator, "powervc_vsn_redeploy", REDEPLOY, name="first")
    assert first.rc == 0, first.output
    assert changed_tasks(first) == ["Delete the old VMs, keeping their VSNs reserved",
                                    "Move the VSNs to the target hosts",
                                    "Create the VMs on the target hosts with their VSNs and wait until they are ACTIVE"]
    calls = mutations(powervc_emulator)
    assert [c for c in calls if c[:2] == ("PUT", "virtual-serial-number")] == [
        ("PUT", "virtual-serial-number", "action=move")]  # both VSNs in one move
    assert len([c for c in calls if c[:2] == ("POST", "servers")]) == 3
    servers = dict((s["name"], s) for s in powervc_emulator.admin.state()["servers"])
    for vm in REDEPLOY["powervc_vsn_redeploy_vms"]:
        assert servers[vm["vm"]]["host"] == "9109RMD_1031CAT" and servers[vm["vm"]]["status"] == "ACTIVE"
    again = run_role(tmp_path, powervc_emulator, "powervc_vsn_redeploy", REDEPLOY, name="again")
    assert again.rc == 0, again.output
    assert changed_tasks(again) == [] and mutations(powervc_emulator) == calls
    assert "ibmi-prod-01" in result(again, "Report once what was re-deployed")["msg"]


def test_redeploy_from_a_wave_plan_inventory(tmp_path, powervc_emulator):
    plan = tmp_path / "waves.csv"
    plan.write_text("vm,platform,source,destination,wave,virtual_serial_number,image,flavor\n"
                    "ibmi-w1,powervc,,dr-p10-b,1,CDF0011,IBM i 7.5 base,ibmi-small\n"
                    "ibmi-w2,powervc,,dr-p10-b,1,CDF0012,IBM i 7.5 base,ibmi-small\n"
                    "ibmi-w3,powervc,,dr-p10-b,2,CDF0013,IBM i 7.5 base,ibmi-small\n"
                    "web01,zstack,ps-a,ps-b,1,,,\n")
    inventory = tmp_path / "night.wave_plan.yml"
    inventory.write_text("plugin: hybridcloud.migration.wave_plan\nplan: waves.csv\n")
    first = run_role(tmp_path, powervc_emulator, "powervc_vsn_redeploy", hosts="all", inventory=inventory,
                     limit="wave_1", name="wave1")
    assert first.rc == 0, first.output
    created = result(first, "Create the VMs on the target hosts with their VSNs and wait until they are ACTIVE")
    assert [e["name"] for e in created["vms"]] == ["ibmi-w1", "ibmi-w2"]  # one call for the slice
    rest = run_role(tmp_path, powervc_emulator, "powervc_vsn_redeploy", hosts="platform_powervc", inventory=inventory,
                    serial=2, name="serial")
    assert rest.rc == 0, rest.output
    creates = [c for c in mutations(powervc_emulator) if c[:2] == ("POST", "servers")]
    assert len(creates) == 3  # w1 and w2 unchanged in the second run; w3 once
    vsns = dict((s["name"], s.get("virtual_serial_number")) for s in powervc_emulator.admin.state()["servers"])
    assert vsns["ibmi-w1"] == "CDF0011" and vsns["ibmi-w3"] == "CDF0013"


def test_redeploy_plan_filter_in_ansible_and_its_bad_input(ansible):
    """The filter the role plans with, as Ansible runs it (2.16 turns its result into text and back)."""
    info = {"servers": [{"name": "a", "id": "s1", "host": "9080HEX_1234ABC", "host_display_name": "prod-p10-a",
                         "virtual_serial_number": "ABCD100"}], "reserved_vsns": []}
    call = "info | hybridcloud.migration.powervc_redeploy_plan([{'vm': 'a', 'virtual_serial_number': 'abcd100'}], []"
    run = ansible.play([
        {"name": "plan", "ansible.builtin.set_fact": {"plan": "{{ %s, target_host='dr-p10-b', image='i') }}" % call}},
        {"name": "show", "ansible.builtin.debug": {"msg": "{{ plan.moves[0].vsns + plan.old + [plan.creates[0].host] }}"}},
        {"name": "checked", "ansible.builtin.debug": {
            "msg": "{{ (%s, target_host='dr-p10-b', check_mode=true)).creates | length }}" % call}},
        {"name": "no target", "ansible.builtin.debug": {"msg": "{{ %s) }}" % call}, "ignore_errors": True},
    ], play_vars={"info": info})
    assert run.result("show")["msg"] == ["ABCD100", "a", "dr-p10-b"], run.output
    assert str(run.result("checked")["msg"]) == "0"  # the create waits for the delete and the move
    failed = run.result("no target")
    assert failed["_status"] == "failed"
    assert "powervc_redeploy_plan: parameter 'target_host' is required" in failed["msg"], failed["msg"]
