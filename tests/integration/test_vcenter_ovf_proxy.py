"""proxy_host / proxy_port: vcenter_ovf_deploy and vcenter_ovf_capture reach vCenter through an HTTP CONNECT
proxy on 127.0.0.1, for the REST calls (the emulator's /api, vcsim's /rest) and the SOAP lookups (vcsim)."""

import tempfile

import pytest

from tests.integration.connect_proxy import ConnectProxy
from tests.integration.vcsim_library import make_library
from tests.vcsim_fixtures import start_vcsim

DEPLOY = "hybridcloud.migration.vcenter_ovf_deploy"
CAPTURE = "hybridcloud.migration.vcenter_ovf_capture"
BASE = dict(library="Migration Templates", item="ubuntu-22.04", vm="proxy-vm", datacenter="DC-East", cluster="Prod",
            folder="Migrated", accept_all_eula=True)
# A proxy from the environment that leads nowhere: the module's own proxy must win over it.
DEAD_ENV_PROXY = {"HTTPS_PROXY": "http://127.0.0.1:9", "https_proxy": "http://127.0.0.1:9", "NO_PROXY": "",
                  "no_proxy": ""}


def task(title, module=DEPLOY, check=False, **args):
    entry = {"name": title, module: args, "ignore_errors": True}
    if check:
        entry["check_mode"] = True
    return entry


def failed(result):
    return result.get("failed") or result["_status"] == "failed"


def connection(vc):
    return dict(hostname="127.0.0.1", port=vc.running.port, username=vc.info["username"],
                password=vc.info["password"], ca_cert=vc.ca_path, inventory_lookup="rest")


def test_deploy_through_the_proxy_from_the_environment(vcenter_rest_emulator, ansible):
    vc = vcenter_rest_emulator
    vc.admin.action("deploy-duration", {"seconds": 0.2})
    with ConnectProxy() as proxy:
        env = dict(DEAD_ENV_PROXY, VMWARE_PROXY_HOST="127.0.0.1", VMWARE_PROXY_PORT=str(proxy.port))
        run = ansible.play([task("check", check=True, **BASE), task("deploy", **BASE), task("again", **BASE)],
                           module_defaults={"group/hybridcloud.migration.vmware": connection(vc)}, env=env)
        check_tunnels = list(proxy.tunnels)
    check, first, again = run.result("check"), run.result("deploy"), run.result("again")
    assert check["changed"] is True and first["changed"] is True and first["outcome"] == "deployed", first
    assert again["changed"] is False and again["outcome"] == "adopted", again
    # Every connection went through the proxy, to the emulator: none straight, none to the dead env proxy.
    assert check_tunnels and set(check_tunnels) == {"127.0.0.1:%d" % vc.running.port}
    deploys = [e for e in vc.admin.mutations() if "deploy" in e["query"]]
    assert len(deploys) == 1


def test_capture_through_the_proxy_option(vcenter_rest_emulator, ansible):
    vc = vcenter_rest_emulator
    with ConnectProxy() as proxy:
        args = dict(vm="web01", datacenter="DC-East", library="Golden Images", item="proxy-capture")
        run = ansible.play([task("capture", CAPTURE, **args)], module_defaults={
            "group/hybridcloud.migration.vmware": dict(connection(vc), proxy_host="127.0.0.1", proxy_port=proxy.port)},
            env=DEAD_ENV_PROXY)
    result = run.result("capture")
    assert result["changed"] is True and result["outcome"] == "captured", result
    assert proxy.tunnels


def test_wrong_proxy_fails_naming_the_option_before_any_call(vcenter_rest_emulator, ansible):
    vc = vcenter_rest_emulator
    with ConnectProxy() as proxy:
        dead_port = proxy.port
    defaults = {"group/hybridcloud.migration.vmware": connection(vc)}
    run = ansible.play([
        task("dead proxy", **dict(BASE, proxy_host="127.0.0.1", proxy_port=dead_port)),
        task("port missing", **dict(BASE, proxy_host="127.0.0.1")),
        task("url as host", **dict(BASE, proxy_host="http://127.0.0.1", proxy_port=3128)),
        task("port out of range", **dict(BASE, proxy_host="127.0.0.1", proxy_port=70000)),
    ], module_defaults=defaults)
    dead = run.result("dead proxy")
    assert failed(dead) and "parameter 'proxy_host'" in dead["msg"] and str(dead_port) in dead["msg"], dead
    assert "proxy_host, proxy_port" in run.result("port missing")["msg"]
    assert "parameter 'proxy_host' must be a host name" in run.result("url as host")["msg"]
    assert "proxy_port" in run.result("port out of range")["msg"]
    assert vc.admin.mutations(ignore=[r"/session"]) == []


@pytest.fixture(scope="module")
def sim():
    instance = start_vcsim(tempfile.mkdtemp(prefix="vcsim-proxy-"), name="vcsim-proxy", tls=True)
    try:
        instance.library = make_library(instance)
        yield instance
    finally:
        instance.stop()


def test_vcsim_rest_and_soap_through_the_proxy(sim, ansible):
    """vcsim: /rest for the deploy and SOAP (pyVmomi's CONNECT tunnel) for the lookups, both via the proxy."""
    lib = sim.library
    args = dict(library=lib.library_name, item=lib.item_name, vm="proxy-vm1", datacenter=lib.datacenter,
                cluster=lib.cluster, accept_all_eula=True)
    with ConnectProxy() as proxy:
        defaults = {DEPLOY: dict(hostname=sim.host, port=sim.port, username=sim.username, password=sim.password,
                                 ca_cert=sim.cert_path, proxy_host="127.0.0.1", proxy_port=proxy.port)}
        run = ansible.play([task("deploy", **args), task("again", **args)], module_defaults=defaults,
                           env=DEAD_ENV_PROXY)
    first, again = run.result("deploy"), run.result("again")
    assert first["changed"] is True and first["api_family"] == "rest", first
    assert again["changed"] is False and again["vm"]["moref"] == first["vm"]["moref"], again
    # REST sessions and the SOAP session each opened tunnels to vcsim.
    assert len(proxy.tunnels) >= 4 and set(proxy.tunnels) == {"%s:%s" % (sim.host, sim.port)}, proxy.tunnels
