"""Run playbooks the way AWX does: through ansible-runner, without process isolation, with the
credentials only in the environment and files that docs/awx.md's credential types inject.

``inject()`` (tests/unit/test_docs_awx.py) renders a documented custom type as AWX does, CA bundles
included: the PEM is pasted into the credential, the file injector writes it, the variable points at
it. Certificates are verified in every run, with the machine's CA variables removed, so the only way
a module can trust the emulators' CA is the injected file. Option and variable names are those of
docs/vocabulary.md.
"""

import os
import shutil
import sys

import ansible_runner
import pytest
import yaml

from tests.integration.playbook import COLLECTIONS_PATH
from tests.unit.test_docs_awx import inject

SYSTEM_CA_VARIABLES = ("REQUESTS_CA_BUNDLE", "SSL_CERT_FILE", "CURL_CA_BUNDLE")


@pytest.fixture(autouse=True)
def awx_like_environment(monkeypatch):
    """ansible-playbook from PATH as in an EE; no CA but the injected one; no credential from the outside."""
    monkeypatch.setenv("PATH", os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"])
    for name in list(os.environ):
        if name in SYSTEM_CA_VARIABLES or name.startswith(("VMWARE_", "NSX_", "ZSTACK_", "OS_")):
            monkeypatch.delenv(name)


def pem(path):
    with open(path) as handle:
        return handle.read()


def run(tmp_path, tasks, envvars):
    """The job's result, its stdout and {task name: result}."""
    assert shutil.which("ansible-playbook"), "the awx_like_environment fixture puts the virtualenv on PATH"
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
    events = [e for e in result.events if e.get("event") in ("runner_on_ok", "runner_on_failed")]
    return result, result.stdout.read(), {e["event_data"]["task"]: dict(e["event_data"]["res"], _event=e["event"])
                                          for e in events}


def credentials_dir(tmp_path):
    """Where AWX writes the files of the file injectors (the job's private env directory)."""
    path = tmp_path / "awx-files"
    path.mkdir()
    return path


def test_zstack_credential_with_ca_bundle(tmp_path, zstack_emulator):
    zs = zstack_emulator.info
    env = inject("zstack", credentials_dir(tmp_path), hostname="127.0.0.1", port=zstack_emulator.running.port,
                 protocol="https", username=zs["username"], password=zs["password"], ca_cert=pem(zstack_emulator.ca_path))
    assert env["ZSTACK_VALIDATE_CERTS"] == "true" and env["ZSTACK_ACCESS_KEY_ID"] == ""
    tasks = [{"name": "plan a storage migration", "check_mode": True, "hybridcloud.migration.zstack_ps_migrate":
              {"vm": "web-01", "target_primary_storage": "ps-ceph-01"}}]
    result, output, results = run(tmp_path, tasks, env)
    assert result.status == "successful", output
    assert results["plan a storage migration"]["changed"] is True
    assert zs["password"] not in output
    assert zstack_emulator.admin.mutations(ignore=[r"/accounts/"]) == []


def test_powervc_credential_with_os_variables_and_ca_bundle(tmp_path, powervc_emulator):
    pvc = powervc_emulator.info
    env = inject("powervc", credentials_dir(tmp_path), auth_url=pvc["auth_url"], username=pvc["username"],
                 password=pvc["password"], project_name=pvc["project_name"], ca_cert=pem(powervc_emulator.ca_path))
    assert env["OS_USER_DOMAIN_NAME"] == "" and env["OS_INTERFACE"] == "public"  # empty: the modules use Default
    tasks = [{"name": "list VSNs", "hybridcloud.migration.powervc_vsn_info": {"host": "prod-p10-a"}}]
    result, output, results = run(tmp_path, tasks, env)
    assert result.status == "successful", output
    assert results["list VSNs"]["reserved_vsns"]
    assert pvc["password"] not in output


def test_powervc_with_awx_builtin_openstack_credential(tmp_path, powervc_emulator):
    """AWX's OpenStack type writes clouds.yaml (entry 'devstack', no CA) and sets OS_CLIENT_CONFIG_FILE;
    the custom 'PowerVC cloud' type adds OS_CLOUD and the CA bundle."""
    pvc = powervc_emulator.info
    clouds = tmp_path / "clouds.yaml"  # as awx/main/models/credential/injectors.py openstack() writes it
    clouds.write_text(yaml.safe_dump({"clouds": {"devstack": {
        "auth": {"auth_url": pvc["auth_url"], "username": pvc["username"], "password": pvc["password"],
                 "project_name": pvc["project_name"], "project_domain_name": "Default", "domain_name": "Default"},
        "verify": True}}}))
    env = dict(inject("powervc_cloud", credentials_dir(tmp_path), ca_cert=pem(powervc_emulator.ca_path)),
               OS_CLIENT_CONFIG_FILE=str(clouds))
    assert env["OS_CLOUD"] == "devstack"
    tasks = [{"name": "list VSNs", "hybridcloud.migration.powervc_vsn_info": {"host": "prod-p10-a"}}]
    result, output, results = run(tmp_path, tasks, env)
    assert result.status == "successful", output
    assert results["list VSNs"]["reserved_vsns"]
    assert pvc["password"] not in output


def test_vcenter_credential_with_ca_bundle(tmp_path, vcenter_rest_emulator):
    vc = vcenter_rest_emulator
    env = inject("vmware", credentials_dir(tmp_path), hostname="127.0.0.1", username=vc.info["username"],
                 password=vc.info["password"], port=vc.running.port, ca_cert=pem(vc.ca_path))
    assert env["VMWARE_VALIDATE_CERTS"] == "true"
    tasks = [{"name": "check a deploy", "check_mode": True, "hybridcloud.migration.vcenter_ovf_deploy": {
        "inventory_lookup": "rest", "library": "Migration Templates", "item": "ubuntu-22.04", "vm": "awx-01",
        "datacenter": "DC-East", "cluster": "Prod", "folder": "Migrated", "accept_all_eula": True}}]
    result, output, results = run(tmp_path, tasks, env)
    assert result.status == "successful", output
    assert results["check a deploy"]["changed"] is True
    assert vc.info["password"] not in output


def test_nsx_credential_with_ca_bundle(tmp_path, nsx_emulator, vcenter_rest_emulator):
    """NSX-T Manager reached with the injected CA; the vCenter credential attached as a job would have it."""
    nsx, vc = nsx_emulator, vcenter_rest_emulator
    files = credentials_dir(tmp_path)
    env = inject("nsx", files, hostname="127.0.0.1", port=nsx.running.port, username=nsx.info["username"],
                 password=nsx.info["password"], ca_cert=pem(nsx.ca_path))
    env.update(inject("vmware", files, hostname="127.0.0.1", username=vc.info["username"], password=vc.info["password"],
                      port=vc.running.port, ca_cert=pem(vc.ca_path)))
    tasks = [{"name": "unknown group", "ignore_errors": True,
              "hybridcloud.migration.nsx_vmgroup_execution": {"group_id": "awx-no-such-group"}}]
    result, output, results = run(tmp_path, tasks, env)
    answer = results["unknown group"]
    assert answer["_event"] == "runner_on_failed" and "awx-no-such-group" in answer["msg"], output
    # NSX answered the group lookup itself (a read: not in the journal of changes, in the request log):
    # TLS with the injected CA and the injected login worked, and nothing was changed.
    assert [p for t, m, p in list(nsx.emulator.request_log) if "vmgroup" in p], answer["msg"]
    assert "which NSX does not know" in answer["msg"] and nsx.admin.mutations() == []
    assert not any(word in answer["msg"].lower() for word in ("certificate", "refused", "credentials"))
    assert nsx.info["password"] not in output and vc.info["password"] not in output
    assert nsx.admin.mutations(ignore=[r"^/api/session/"]) == []
