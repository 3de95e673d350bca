"""Run playbooks the way AWX does: through ansible-runner, without process isolation, with the
credentials only in environment variables rendered from docs/awx.md's injector configurations."""

import os
import re
import shutil
import sys

import ansible_runner
import jinja2
import pytest
import yaml

from tests.integration.playbook import COLLECTIONS_PATH, ROOT


@pytest.fixture(autouse=True)
def ansible_path(monkeypatch):
    monkeypatch.setenv("PATH", os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"])


def injectors():
    """{first variable's prefix: injector env template dict} from docs/awx.md."""
    with open(os.path.join(ROOT, "docs", "awx.md")) as handle:
        blocks = [yaml.safe_load(b) for b in re.findall(r"```yaml\n(.*?)```", handle.read(), re.S)]
    return {sorted(b["env"])[0].split("_")[0]: b["env"] for b in blocks if isinstance(b, dict) and "env" in b}


def inject(prefix, **inputs):
    """What AWX puts in the job's environment for a credential of that type with these inputs."""
    return {name: jinja2.Template(str(template)).render(**inputs) for name, template in injectors()[prefix].items()}


def run(tmp_path, tasks, envvars):
    """The job's result, its stdout and {task name: result}. ansible-playbook comes from PATH, as in an EE."""
    assert shutil.which("ansible-playbook"), "the ansible_path fixture puts the virtualenv on PATH"
    project = tmp_path / "project"
    project.mkdir()
    play = [{"name": "AWX job", "hosts": "localhost", "gather_facts": False, "tasks": tasks}]
    (project / "job.yml").write_text(yaml.safe_dump(play))
    inventory = tmp_path / "inventory"
    inventory.mkdir()
    (inventory / "hosts").write_text("localhost ansible_connection=local ansible_python_interpreter=%s\n" % sys.executable)
    envvars = dict(envvars, ANSIBLE_COLLECTIONS_PATH=COLLECTIONS_PATH)
    result = ansible_runner.run(private_data_dir=str(tmp_path), playbook="job.yml", envvars=envvars,
                                quiet=True, process_isolation=False)
    events = [e["event_data"] for e in result.events if e.get("event") == "runner_on_ok"]
    return result, result.stdout.read(), {e["task"]: e["res"] for e in events}


def test_zstack_and_powervc_credentials_from_injected_environment(tmp_path, zstack_emulator, powervc_emulator):
    zs, pvc = zstack_emulator.info, powervc_emulator.info
    env = inject("ZSTACK", host="127.0.0.1", port=zstack_emulator.running.port, protocol="https",
                 validate_certs=True, account=zs["username"], password=zs["password"])
    env.update(inject("OS", auth_url=pvc["url"] + "/v3", username=pvc["username"], password=pvc["password"],
                      project_name=pvc["project_name"], cacert=powervc_emulator.ca_path))
    env["ZSTACK_CA_PATH"] = zstack_emulator.ca_path  # the CA of the test server; AWX would mount it in the EE
    tasks = [
        {"name": "plan a storage migration", "hybridcloud.migration.zstack_ps_migrate":
            {"vm": "web-01", "primary_storage": "ps-ceph-01"}, "check_mode": True},
        {"name": "list VSNs", "hybridcloud.migration.powervc_vsn_info": {"host": "prod-p10-a"}},
    ]
    result, output, results = run(tmp_path, tasks, env)
    assert result.status == "successful", output
    assert results["plan a storage migration"]["changed"] is True
    assert results["list VSNs"]["reserved_vsns"]
    assert zs["password"] not in output and pvc["password"] not in output
    assert zstack_emulator.admin.mutations(ignore=[r"/accounts/"]) == []


def test_vmware_credentials_from_injected_environment(tmp_path, vcenter_rest_emulator):
    vc = vcenter_rest_emulator
    env = inject("VMWARE", host="127.0.0.1", username=vc.info["username"], password=vc.info["password"],
                 port=str(vc.running.port), validate_certs=False)
    tasks = [{"name": "check a deploy", "check_mode": True, "hybridcloud.migration.vcenter_ovf_deploy": {
        "inventory_lookup": "rest", "library": "Migration Templates", "item": "ubuntu-22.04", "vm": "awx-01",
        "datacenter": "DC-East", "cluster": "Prod", "folder": "Migrated", "accept_all_eula": True}}]
    result, output, results = run(tmp_path, tasks, env)
    assert result.status == "successful", output
    assert results["check a deploy"]["changed"] is True
    assert vc.info["password"] not in output
