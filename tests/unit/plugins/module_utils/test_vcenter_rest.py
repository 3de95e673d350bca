"""VcenterRestClient against the vCenter REST emulator (both families) and a scripted vcsim-like server."""

import json
import time

import pytest

from ansible_collections.hybridcloud.migration.plugins.module_utils import _errors
from ansible_collections.hybridcloud.migration.plugins.module_utils._http import Redactor
from ansible_collections.hybridcloud.migration.plugins.module_utils._polling import Backoff
from ansible_collections.hybridcloud.migration.plugins.module_utils._vcenter_ovf_inventory import (
    RestInventory, resolve_placement)
from ansible_collections.hybridcloud.migration.plugins.module_utils.vcenter_rest import (
    VcenterRestClient, inventory_kind, parse_error)
from tests.emulators._server import Running, json_response, text_response
from tests.unit.scripted_server import ScriptedServer

UBUNTU = "3a4b5c6d-7e8f-4a0b-9c1d-2e3f4a5b6c7d"
LEGACY = "9d8c7b6a-5f4e-4d3c-8b2a-1f0e9d8c7b6a"
TEMPLATES = "7f1e2d34-5a6b-4c8d-9e0f-1a2b3c4d5e6f"
TARGET = {"resource_pool_id": "resgroup-22", "folder_id": "group-v40"}


def port_of(url):
    return int(url.rsplit(":", 1)[1])


def make_client(handle, family="auto", password=None, **kwargs):
    kwargs.setdefault("backoff", Backoff(initial=0.01, factor=2, maximum=0.05, jitter=0))
    return VcenterRestClient("127.0.0.1", handle.info["username"] if hasattr(handle, "info") else "user",
                             password or (handle.info["password"] if hasattr(handle, "info") else "pw-1234"),
                             port=port_of(handle.url), api_family=family, ca_path=handle.ca_path, **kwargs)


@pytest.fixture
def vc(vcenter_rest_emulator):
    vcenter_rest_emulator.admin.action("deploy-duration", {"seconds": 0.2})  # the contract's 2 s is too slow here
    return vcenter_rest_emulator


def spec(family, name="unit-vm", **extra):
    body = {"name": name, "accept_all_EULA": True}
    body.update(extra)
    return body


# -- emulator, both families ------------------------------------------------------------------
@pytest.mark.parametrize("family, expected", [("auto", "api"), ("api", "api"), ("rest", "rest")])
def test_login_detects_or_uses_the_family_and_close_logs_out(vc, family, expected):
    client = make_client(vc, family)
    token = client.login()
    assert client.family == expected and token in client.redact.secrets
    assert vc.admin.state()["sessions"] == 1
    client.close()
    assert vc.admin.state()["sessions"] == 0 and client.token is None
    client.close()  # a second close is harmless


@pytest.mark.parametrize("family", ["api", "rest"])
def test_bad_credentials_are_an_auth_error_without_the_password(vc, family):
    client = make_client(vc, family, password="Wrong-Secret-1")
    with pytest.raises(_errors.AuthError) as info:
        client.login()
    text = str(info.value)
    assert "rejected the credentials of user 'administrator@vsphere.local'" in text
    assert "UNAUTHENTICATED" in text and "Wrong-Secret-1" not in text


@pytest.mark.parametrize("family", ["api", "rest"])
def test_library_and_item_resolution(vc, family):
    client = make_client(vc, family)
    client.login()
    try:
        assert client.resolve_library("migration TEMPLATES") == TEMPLATES
        assert client.resolve_library(TEMPLATES) == TEMPLATES
        assert client.resolve_item("ubuntu-22.04", TEMPLATES)["id"] == UBUNTU
        assert client.resolve_item(UBUNTU)["name"] == "ubuntu-22.04"
        with pytest.raises(_errors.ParameterError, match="ambiguous .* 2 matches"):
            client.resolve_item("ubuntu-22.04")
        with pytest.raises(_errors.NotFoundError, match="no library item named 'nope'"):
            client.resolve_item("nope", TEMPLATES)
        with pytest.raises(_errors.NotFoundError, match="no content library named 'nope'"):
            client.resolve_library("nope")
        with pytest.raises(_errors.NotFoundError, match="not in library"):
            client.resolve_item("5e6f7a8b-9c0d-4e1f-a2b3-c4d5e6f7a8b9", TEMPLATES)
    finally:
        client.close()


@pytest.mark.parametrize("family", ["api", "rest"])
def test_deploy_success_map_encoding_and_duplicate(vc, family):
    client = make_client(vc, family)
    client.login()
    try:
        summary = client.filter_item(UBUNTU, TARGET)
        assert summary["networks"] == ["VM Network", "Backend"] and summary["eulas"]
        from ansible_collections.hybridcloud.migration.plugins.module_utils import _vcenter_ovf_plan as plan
        body_spec = plan.deployment_spec(family, "unit-vm", True, network_mappings={"Backend": "dvportgroup-20"})
        vm_id, adopted = client.deploy(UBUNTU, TARGET, body_spec)
        assert vm_id.startswith("vm-") and adopted is False
        vm = next(v for v in vc.admin.state()["vms"] if v["id"] == vm_id)
        assert vm["network_mappings"]["Backend"] == "dvportgroup-20"
        with pytest.raises(_errors.JobFailedError, match="The name 'unit-vm' already exists"):
            client.deploy(UBUNTU, TARGET, body_spec)
    finally:
        client.close()


@pytest.mark.parametrize("family", ["api", "rest"])
def test_succeeded_false_is_a_failure_with_the_servers_message(vc, family):
    client = make_client(vc, family)
    client.login()
    try:
        with pytest.raises(_errors.JobFailedError) as info:
            client.deploy(LEGACY, TARGET, spec(family))
        assert "legacy-appliance-disk1.vmdk" in str(info.value) and info.value.status == 200
    finally:
        client.close()


@pytest.mark.parametrize("family", ["api", "rest"])
def test_api_errors_carry_type_and_message(vc, family):
    client = make_client(vc, family)
    client.login()
    try:
        with pytest.raises(_errors.ApiError) as info:
            client.deploy(UBUNTU, dict(TARGET, folder_id="group-v999"), spec(family))
        assert info.value.code == "INVALID_ARGUMENT" and "group-v999" in str(info.value)
        with pytest.raises(_errors.NotFoundError) as info:
            client.deploy("00000000-0000-4000-8000-000000000000", TARGET, spec(family))
        assert info.value.code == "NOT_FOUND" and "does not exist" in str(info.value)
    finally:
        client.close()


def test_expired_session_logs_in_again_once(vc):
    client = make_client(vc)
    client.login()
    first = client.token
    vc.admin.expire_sessions()
    assert client.find_libraries("Golden Images") == ["0c9b8a76-5d4e-4f3a-8b2c-1d0e9f8a7b6c"]
    assert client.token != first and {first, client.token} <= client.redact.secrets
    client.close()


def test_eula_spelling_in_91_mode(vc):
    vc.admin.action("v91-mode", {"enabled": True})
    client = make_client(vc)
    client.login()
    try:
        assert client.server_version()[:2] == (9, 1)
        client.deploy(UBUNTU, TARGET, spec("api", name="v91-vm"))
        call = [e for e in vc.admin.mutations() if "deploy" in e["query"]][-1]
        assert call["body"]["deployment_spec"]["accept_all_eula"] is True
        assert "accept_all_EULA" not in call["body"]["deployment_spec"]
    finally:
        client.close()


def test_lost_answer_is_reconciled_not_resubmitted(vc):
    vc.admin.fault(method="POST", path="/ovf/library-item/", after=True, drop=True)
    client = make_client(vc)
    client.login()
    inventory = RestInventory(client)
    try:
        vm_id, adopted = client.deploy(UBUNTU, TARGET, spec("api", name="lost"),
                                       reconcile=lambda: (inventory.vms_in_folder("lost", "group-v40") or [None])[0])
        assert adopted is True and vm_id.startswith("vm-")
        assert len([e for e in vc.admin.journal() if "deploy" in e["query"]]) == 1
    finally:
        client.close()


def test_timeout_without_a_vm_fails_and_does_not_resubmit(vc):
    vc.admin.fault(method="POST", path="/ovf/library-item/", drop=True)  # dropped before the handler
    client = make_client(vc)
    client.login()
    try:
        with pytest.raises(_errors.TransportError, match="no VM named 'gone' appeared .* not resent"):
            client.deploy(UBUNTU, TARGET, spec("api", name="gone"), reconcile=lambda: None)
        assert len([e for e in vc.admin.journal() if "deploy" in e["query"]]) == 1
    finally:
        client.close()


@pytest.mark.parametrize("status", [503, 500, 502, 429])
def test_5xx_after_the_server_acted_is_reconciled_never_resent(vc, status):
    """503 is retried for other calls; a deploy answered 5xx may have been done: look, do not resend."""
    vc.admin.fault(method="POST", path="/ovf/library-item/", query="action=deploy", after=True, status=status,
                   body={"error_type": "SERVICE_UNAVAILABLE", "messages": []}, times=3)
    client = make_client(vc)
    client.login()
    inventory = RestInventory(client)
    try:
        vm_id, lost = client.deploy(UBUNTU, TARGET, spec("api", name="late"),
                                    reconcile=lambda: (inventory.vms_in_folder("late", "group-v40") or [None])[0])
        assert lost is True and vm_id.startswith("vm-")
        assert len([e for e in vc.admin.journal() if "deploy" in e["query"]]) == 1
    finally:
        client.close()


def test_4xx_is_not_reconciled(vc):
    looked = []
    client = make_client(vc)
    client.login()
    try:
        with pytest.raises(_errors.ApiError) as caught:
            client.deploy(UBUNTU, dict(TARGET, folder_id="group-v999"), spec("api"), reconcile=lambda: looked.append(1))
        assert caught.value.status == 400 and looked == []
    finally:
        client.close()


def test_capture_5xx_after_the_server_acted_is_reconciled_never_resent(vc):
    vc.admin.fault(method="POST", path="/ovf/library-item$", after=True, status=503, body="busy", times=3)
    client = make_client(vc)
    client.login()
    try:
        item_id, lost = client.create_item("vm-101", TEMPLATES, "cap-late",
                                           reconcile=lambda: (client.find_items("cap-late", TEMPLATES) or [None])[0])
        assert lost is True and item_id
        assert len([e for e in vc.admin.journal() if e["path"].endswith("/ovf/library-item")]) == 1
    finally:
        client.close()


@pytest.mark.parametrize("part", [".", "..", "..."])
def test_dot_segments_are_never_put_into_a_path(vc, part):
    client = make_client(vc, family="api")
    with pytest.raises(_errors.ParameterError):
        client.path("item", part)
    assert client.path("item", "a/../b?x=1&y#z") == "/api/content/library/item/a%2F..%2Fb%3Fx%3D1%26y%23z"


def test_deploy_read_timeout_is_its_own(vc):
    vc.admin.action("deploy-duration", {"seconds": 1.5})
    client = make_client(vc, read_timeout=0.5)  # other calls: short; deploy: deploy_timeout
    client.login()
    try:
        started = time.monotonic()
        vm_id, adopted = client.deploy(UBUNTU, TARGET, spec("api", name="slow"))
        assert time.monotonic() - started >= 1.4 and not adopted
        with pytest.raises(_errors.TransportError):
            client.deploy(UBUNTU, TARGET, spec("api", name="slower"), timeout=0.3, reconcile=lambda: None)
    finally:
        client.close()


@pytest.mark.parametrize("family", ["api", "rest"])
def test_capture_new_and_overwrite(vc, family):
    client = make_client(vc, family)
    client.login()
    try:
        item_id, adopted = client.create_item("vm-101", TEMPLATES, "web01-tpl", description="d")
        assert not adopted and item_id
        again = client.create_item("vm-102", TEMPLATES, "web01-tpl", library_item_id=item_id)[0]
        assert again == item_id
        with pytest.raises(_errors.ApiError) as info:
            client.create_item("vm-101", TEMPLATES, "web01-tpl")
        assert info.value.code == "ALREADY_EXISTS"
    finally:
        client.close()


def test_rest_inventory_placement_and_ambiguity(vc):
    client = make_client(vc)
    client.login()
    inventory = RestInventory(client)
    try:
        placed = resolve_placement(inventory, "DC-East", host="esx02.east.example.com",
                                   network_mappings={"VM Network": "VM Network"}, datastore="east-nfs01")
        assert placed == {"datacenter": "datacenter-1", "host": "host-11", "resource_pool": "resgroup-9",
                          "folder": "group-v3", "datastore": "datastore-15",
                          "network_mappings": {"VM Network": "network-12"}}
        placed = resolve_placement(inventory, "datacenter-1", cluster="domain-c8", resource_pool="Migrations")
        assert placed["resource_pool"] == "resgroup-22"
        with pytest.raises(_errors.ParameterError, match="ambiguous"):
            inventory.resolve("network", "VM Network")  # no datacenter: one per datacenter
        with pytest.raises(_errors.ParameterError, match="one of the parameters"):
            resolve_placement(inventory, "DC-East")
        assert inventory.vms_in_folder("db01", "group-v40") == ["vm-102"]
        assert inventory.vms_in_folder("db01", "group-v3") == []
    finally:
        client.close()


# -- vcsim-like quirks, scripted ----------------------------------------------------------------
class Vcsim(ScriptedServer):
    """vcsim-like answers, scripted per test (see the ``sim`` fixture)."""


REST_SESSION = "/rest/com/vmware/cis/session"
DEPLOY = "/rest/com/vmware/vcenter/ovf/library-item/id:item-1"
NOT_FOUND = text_response(404, "404 page not found\n")


@pytest.fixture(scope="module")
def sim_server(emulator_tls):
    running = Running(Vcsim(), tls_material=emulator_tls)
    yield running
    running.stop()


@pytest.fixture
def sim(sim_server):
    sim_server.emulator.load({})
    sim_server.emulator.script.update({
        "/api/session": [NOT_FOUND],
        REST_SESSION: [text_response(200, '{"value":"sim-token-0001"}')],
        "/rest/appliance/system/version": [NOT_FOUND],
    })
    return sim_server


def sim_client(sim, **kwargs):
    kwargs.setdefault("backoff", Backoff(initial=0.01, factor=2, maximum=0.05, jitter=0))
    return VcenterRestClient("127.0.0.1", "user", "pw-1234", port=port_of(sim.url), ca_path=sim.ca_path, **kwargs)


def test_sim_family_detection_text_plain_and_header_auth(sim):
    client = sim_client(sim)
    client.login()
    assert client.family == "rest" and client.token == "sim-token-0001"
    method, path, dummy, headers = sim.emulator.seen[1][:4]
    assert (method, path) == ("POST", REST_SESSION) and headers["vmware-use-header-authn"] == "true"
    client.close()
    method, path, dummy, headers = sim.emulator.seen[-1][:4]
    assert (method, path) == ("DELETE", REST_SESSION) and headers["vmware-api-session-id"] == "sim-token-0001"


def test_sim_401_with_empty_body(sim):
    sim.emulator.script[REST_SESSION] = [text_response(401, "")]
    with pytest.raises(_errors.AuthError) as info:
        sim_client(sim).login()
    assert "rejected the credentials of user 'user'" in str(info.value) and info.value.status == 401


def test_sim_null_lists_are_empty(sim):
    sim.emulator.script["/rest/com/vmware/content/library/item"] = [text_response(200, '{"value":null}')]
    sim.emulator.script["/rest/com/vmware/content/library/item/id:x"] = [NOT_FOUND]  # "x" is no item id either
    client = sim_client(sim)
    client.login()
    assert client.find_items("x") == []
    with pytest.raises(_errors.NotFoundError, match="no library item named 'x'"):
        client.resolve_item("x")
    client.close()


def test_sim_plain_text_404_and_empty_400(sim):
    sim.emulator.script[DEPLOY] = [NOT_FOUND, text_response(400, "")]
    client = sim_client(sim)
    client.login()
    with pytest.raises(_errors.NotFoundError, match="404 page not found"):
        client.deploy("item-1", TARGET, spec("rest"))
    with pytest.raises(_errors.ApiError, match=r"empty response body.*HTTP 400"):
        client.deploy("item-1", TARGET, spec("rest"))
    client.close()


def test_sim_deploy_without_succeeded_is_a_failure(sim):
    answer = {"value": {"error": {"errors": [{"category": "SERVER", "error": {
        "@class": "com.vmware.vapi.std.errors.error", "messages": [{"default_message": "open /x.ovf: no such file"}]}}]}}}
    sim.emulator.script[DEPLOY] = [text_response(200, json.dumps(answer))]
    client = sim_client(sim)
    client.login()
    with pytest.raises(_errors.JobFailedError, match="no such file"):
        client.deploy("item-1", TARGET, spec("rest"))
    sim.emulator.script[DEPLOY] = [text_response(200, '{"value":{}}')]
    with pytest.raises(_errors.JobFailedError, match="did not report success"):
        client.deploy("item-1", TARGET, spec("rest"))
    client.close()


def test_sim_rest_body_is_rest_shaped(sim):
    sim.emulator.script[DEPLOY] = [text_response(200, '{"value":{"succeeded":true,"resource_id":'
                                                      '{"type":"VirtualMachine","id":"vm-69"}}}')]
    client = sim_client(sim)
    client.login()
    assert client.deploy("item-1", TARGET, dict(spec("rest"), network_mappings=[{"key": "a", "value": "n"}])) == (
        "vm-69", False)
    body = [s[4] for s in sim.emulator.seen if s[1] == DEPLOY][-1]
    assert body["client_token"] and body["deployment_spec"]["accept_all_EULA"] is True
    assert body["target"] == TARGET
    client.close()


def test_sim_9x_server_asking_for_the_other_eula_spelling_gets_one_retry(sim):
    error = {"type": "com.vmware.vapi.std.errors.invalid_argument", "value": {"error_type": "INVALID_ARGUMENT",
             "messages": [{"id": "x", "default_message": "Field 'accept_all_eula' missing"}]}}
    ok = '{"value":{"succeeded":true,"resource_id":{"type":"VirtualMachine","id":"vm-7"}}}'
    sim.emulator.script[DEPLOY] = [json_response(400, error), text_response(200, ok)]
    client = sim_client(sim)
    client.login()
    assert client.deploy("item-1", TARGET, spec("rest"))[0] == "vm-7"
    bodies = [s[4] for s in sim.emulator.seen if s[1] == DEPLOY]
    assert [list(b["deployment_spec"]) for b in bodies] == [["name", "accept_all_EULA"], ["name", "accept_all_eula"]]
    client.close()


def test_sim_empty_overwrite_answer_is_the_item(sim):
    sim.emulator.script["/rest/com/vmware/vcenter/ovf/library-item"] = [text_response(200, "")]
    client = sim_client(sim)
    client.login()
    assert client.create_item("vm-1", "lib", "tpl", library_item_id="item-9") == ("item-9", False)
    with pytest.raises(_errors.JobFailedError):
        client.create_item("vm-1", "lib", "tpl")
    client.close()


def test_session_token_is_redacted_and_reported(sim):
    seen = []
    client = sim_client(sim, redactor=Redactor(on_secret=seen.append))
    client.login()
    assert "sim-token-0001" in seen and "pw-1234" in seen
    assert client.redact("header vmware-api-session-id: sim-token-0001") == "header vmware-api-session-id: ********"
    client.close()


@pytest.mark.parametrize("body, expected", [
    ({"error_type": "NOT_FOUND", "messages": [{"id": "a", "default_message": "gone"}]}, ("NOT_FOUND", "gone")),
    ({"type": "com.vmware.vapi.std.errors.not_found", "value": {"messages": [{"default_message": "gone"}]}},
     ("NOT_FOUND", "gone")),
    ({"type": "com.vmware.vapi.std.errors.already_exists", "value": {}},
     ("ALREADY_EXISTS", "com.vmware.vapi.std.errors.already_exists")),
    ("404 page not found\n", (None, "404 page not found")),
    (None, (None, "no details given (empty response body)")),
])
def test_parse_error_shapes(body, expected):
    assert parse_error(body) == expected


def test_unknown_api_family_is_a_parameter_error():
    with pytest.raises(_errors.ParameterError, match="api_family"):
        VcenterRestClient("h", "u", "p", api_family="soap")


# -- audit against vcenter_rest.md: what an independently written endpoint may do ------------------
OK_DEPLOY = '{"value":{"succeeded":true,"resource_id":{"type":"VirtualMachine","id":"vm-70"}}}'


@pytest.mark.parametrize("status", [500, 405, 400])
def test_sim_version_endpoint_is_optional_whatever_its_error(sim, status):
    """/appliance/system/version is not in the document: any error there means 'unknown', the classic EULA key."""
    sim.emulator.script["/rest/appliance/system/version"] = [text_response(status, "")]
    sim.emulator.script[DEPLOY] = [text_response(200, OK_DEPLOY)]
    client = sim_client(sim)
    client.login()
    assert client.deploy("item-1", TARGET, spec("rest")) == ("vm-70", False)
    body = [s[4] for s in sim.emulator.seen if s[1] == DEPLOY][-1]
    assert body["deployment_spec"]["accept_all_EULA"] is True
    client.close()


def test_sim_item_and_library_ids_need_not_be_uuids(sim):
    """Ids are opaque strings: a ref that no name matches is tried as an id (GET item / list items of a library)."""
    script = sim.emulator.script
    script["/rest/com/vmware/content/library"] = [text_response(200, '{"value":[]}')]
    script["/rest/com/vmware/content/library/item"] = [
        lambda request: text_response(200, '{"value":null}') if request.method == "GET" and
        request.arg("library_id") == "lib-1" else NOT_FOUND if request.method == "GET" else
        text_response(200, '{"value":[]}')]
    script["/rest/com/vmware/content/library/item/id:item-1"] = [
        text_response(200, '{"value":{"id":"item-1","name":"tiny","library_id":"lib-1"}}')]
    script["/rest/com/vmware/content/library/id:lib-1"] = [NOT_FOUND]  # GET library/{id} is not in the document
    script["/rest/com/vmware/content/library/item/id:item-2"] = [NOT_FOUND]
    client = sim_client(sim)
    client.login()
    try:
        assert client.resolve_library("lib-1") == "lib-1"
        assert client.resolve_item("item-1", "lib-1")["name"] == "tiny"
        with pytest.raises(_errors.NotFoundError, match="no content library named 'lib-2'"):
            client.resolve_library("lib-2")
        with pytest.raises(_errors.NotFoundError, match="no library item named 'item-2'"):
            client.resolve_item("item-2")
    finally:
        client.close()


def test_sim_uuid_library_id_without_get_library_endpoint(sim):
    lib = "11111111-2222-4333-8444-555555555555"
    script = sim.emulator.script
    script["/rest/com/vmware/content/library/id:" + lib] = [NOT_FOUND]
    script["/rest/com/vmware/content/library"] = [text_response(200, '{"value":[]}')]
    script["/rest/com/vmware/content/library/item"] = [text_response(200, '{"value":[]}')]
    client = sim_client(sim)
    client.login()
    assert client.resolve_library(lib) == lib
    client.close()


def test_sim_eula_field_named_only_in_the_message_args_gets_the_retry(sim):
    error = {"type": "com.vmware.vapi.std.errors.invalid_argument", "value": {"error_type": "INVALID_ARGUMENT",
             "messages": [{"id": "vapi.data.structure.field.missing", "default_message": "A field is missing.",
                           "args": ["com.vmware.vcenter.ovf.library_item.resource_pool_deployment_spec",
                                    "accept_all_eula"]}]}}
    sim.emulator.script[DEPLOY] = [json_response(400, error), text_response(200, OK_DEPLOY)]
    client = sim_client(sim)
    client.login()
    assert client.deploy("item-1", TARGET, spec("rest"))[0] == "vm-70"
    bodies = [s[4] for s in sim.emulator.seen if s[1] == DEPLOY]
    assert [sorted(b["deployment_spec"]) for b in bodies] == [["accept_all_EULA", "name"], ["accept_all_eula", "name"]]
    client.close()


def test_sim_success_without_resource_id_looks_the_vm_up(sim):
    sim.emulator.script[DEPLOY] = [text_response(200, '{"value":{"succeeded":true}}')]
    client = sim_client(sim)
    client.login()
    try:
        assert client.deploy("item-1", TARGET, spec("rest"), reconcile=lambda: "vm-71") == ("vm-71", False)
        with pytest.raises(_errors.JobFailedError, match="reported success but named no VM"):
            client.deploy("item-1", TARGET, spec("rest"), reconcile=lambda: None)
    finally:
        client.close()


@pytest.mark.parametrize("answer", [
    {"succeeded": False, "resource_id": None, "error": {"errors": [{"category": "SERVER", "message": {
        "id": "x", "default_message": "Duplicate name 'n'", "args": []}}]}},
    {"succeeded": False, "error": {"errors": [{"category": "INPUT", "issues": [{"category": "VALUE_ILLEGAL", "message": {
        "id": "y", "default_message": "Duplicate name 'n'", "args": []}}]}]}},
    {"succeeded": "false", "resource_id": {"type": "VirtualMachine", "id": "vm-9"}, "error": {"errors": [
        {"error": {"@class": "com.vmware.vapi.std.errors.already_exists", "messages": [
            {"id": "z", "default_message": "Duplicate name 'n'", "args": []}]}}]}},
])
def test_sim_failed_deploy_variants_name_every_message(sim, answer):
    sim.emulator.script[DEPLOY] = [text_response(200, json.dumps({"value": answer}))]
    client = sim_client(sim)
    client.login()
    with pytest.raises(_errors.JobFailedError, match="Duplicate name 'n'"):
        client.deploy("item-1", TARGET, spec("rest"))
    client.close()


def test_sim_duplicate_name_as_400_already_exists(sim):
    error = {"error_type": "ALREADY_EXISTS", "messages": [{"id": "d", "default_message": "VM 'n' exists", "args": []}]}
    sim.emulator.script["/api/session"] = [text_response(201, '"api-token-0001"')]
    sim.emulator.script["/api/appliance/system/version"] = [NOT_FOUND]
    sim.emulator.script["/api/vcenter/ovf/library-item/item-1"] = [json_response(400, error)]
    client = sim_client(sim)
    client.login()
    assert client.family == "api"
    with pytest.raises(_errors.ApiError) as info:
        client.deploy("item-1", TARGET, spec("api"))
    assert info.value.code == "ALREADY_EXISTS" and "VM 'n' exists" in str(info.value)
    assert len(sim.emulator.calls("POST", "/api/vcenter/ovf/")) == 1  # no EULA retry for an unrelated 400
    client.close()


def test_sim_rest_inventory_does_not_depend_on_the_servers_name_case_rules(sim):
    """A server that matches names=.. case-insensitively: exact names win; a VM 'Web01' is not 'web01'."""
    script = sim.emulator.script
    script["/api/session"] = [text_response(201, '"api-token-0001"')]
    script["/api/vcenter/vm"] = [json_response(200, [{"vm": "vm-1", "name": "Web01"}])]
    script["/api/vcenter/cluster"] = [json_response(200, [{"cluster": "domain-c1", "name": "Prod"},
                                                          {"cluster": "domain-c2", "name": "prod"}])]
    client = sim_client(sim)
    client.login()
    inventory = RestInventory(client)
    try:
        assert inventory.vms_in_folder("web01", "group-v3") == []
        assert inventory.vms_in_folder("Web01", "group-v3") == ["vm-1"]
        assert inventory.resolve("cluster", "prod", "datacenter-1") == "domain-c2"
    finally:
        client.close()


@pytest.mark.parametrize("body, expected", [
    (["x", "y"], (None, '["x", "y"]')),
    ({"type": 5, "value": "gone"}, (None, "gone")),
    ({"error_type": "NOT_FOUND", "messages": {"default_message": "odd"}}, ("NOT_FOUND", "odd")),
    (7, (None, "7")),
])
def test_parse_error_odd_shapes_do_not_crash(body, expected):
    assert parse_error(body) == expected


@pytest.mark.parametrize("lookup, family, expected", [
    ("auto", "api", "rest"), ("auto", "rest", "soap"), ("soap", "api", "soap"), ("rest", "rest", "rest")])
def test_inventory_lookup_auto_follows_the_family(lookup, family, expected):
    assert inventory_kind(lookup, family) == expected


def test_sim_capture_success_without_item_id_looks_the_item_up(sim):
    sim.emulator.script["/rest/com/vmware/vcenter/ovf/library-item"] = [text_response(200, '{"value":{"succeeded":true}}')]
    client = sim_client(sim)
    client.login()
    try:
        assert client.create_item("vm-1", "lib", "tpl", reconcile=lambda: "item-5") == ("item-5", False)
        with pytest.raises(_errors.JobFailedError, match="reported success but named no library item"):
            client.create_item("vm-1", "lib", "tpl", reconcile=lambda: None)
        body = sim.emulator.calls("POST", "/rest/com/vmware/vcenter/ovf/library-item")[-1][4]
        assert body["client_token"] and body["target"] == {"library_id": "lib"}
    finally:
        client.close()


@pytest.mark.parametrize("family", ["api", "rest"])
def test_storage_policies_resolve_by_name_or_id(vc, family):
    client = make_client(vc, family)
    client.login()
    try:
        assert client.resolve_storage_policy("Gold") == ("c4f1e9a0-7b2d-4e8f-9a61-5d3c2b1a0f9e", "Gold")
        assert client.resolve_storage_policy("aa6d5a82-1c88-45da-85d3-3d74b91a5bad")[1] == "vSAN Default Storage Policy"
        with pytest.raises(_errors.NotFoundError) as caught:
            client.resolve_storage_policy("gold")  # names compare exactly
        assert "vcenter.storage.policies list" in str(caught.value) and "Gold" in str(caught.value)
    finally:
        client.close()
