"""Contract tests of the vCenter REST emulator (/work/shared/api/vcenter_rest.md, section 7).

Plain ``requests`` against the running emulator, one or more tests per contract item
(``test_contract_<N>_...``), plus one test per fault kind.
"""

import threading
import time

import pytest
import requests

UBUNTU = "3a4b5c6d-7e8f-4a0b-9c1d-2e3f4a5b6c7d"        # Migration Templates / ubuntu-22.04 (EULA, 2 networks)
LEGACY = "9d8c7b6a-5f4e-4d3c-8b2a-1f0e9d8c7b6a"        # Migration Templates / legacy-appliance (broken)
GOLDEN_UBUNTU = "5e6f7a8b-9c0d-4e1f-a2b3-c4d5e6f7a8b9"  # Golden Images / ubuntu-22.04
SQL = "6b7c8d9e-0f1a-4b2c-8d3e-4f5a6b7c8d9e"  # Migration Templates / sql-appliance (storage groups)
TEMPLATES = "7f1e2d34-5a6b-4c8d-9e0f-1a2b3c4d5e6f"
GOLDEN = "0c9b8a76-5d4e-4f3a-8b2c-1d0e9f8a7b6c"
OVF = {"api": "/api/vcenter/ovf/library-item", "rest": "/rest/com/vmware/vcenter/ovf/library-item"}
ACTION = {"api": "action", "rest": "~action"}


FAST_DEPLOY = 0.2  # seconds; the contract's default (2 s) is tested on its own


@pytest.fixture
def vc(vcenter_rest_emulator):
    vcenter_rest_emulator.admin.action("deploy-duration", {"seconds": FAST_DEPLOY})
    return vcenter_rest_emulator


def call(vc, method, path, token=None, **kwargs):
    headers = dict(kwargs.pop("headers", {}))
    if token:
        headers["vmware-api-session-id"] = token
    kwargs.setdefault("timeout", 10)
    return requests.request(method, vc.url + path, headers=headers, verify=vc.ca_path, **kwargs)


def login(vc, family="api"):
    path = "/api/session" if family == "api" else "/rest/com/vmware/cis/session"
    response = call(vc, "POST", path, auth=(vc.info["username"], vc.info["password"]))
    assert response.ok, response.text
    return response.json() if family == "api" else response.json()["value"]


def value(family, response):
    """The payload: bare on /api, under "value" on /rest."""
    body = response.json()
    if family == "rest":
        assert set(body) == {"value"}, body
        return body["value"]
    return body


def item_path(family, item_id, action):
    prefix = "id:" if family == "rest" else ""
    return "%s/%s%s?%s=%s" % (OVF[family], prefix, item_id, ACTION[family], action)


def net_map(family, mapping):
    return mapping if family == "api" else [{"key": k, "value": v} for k, v in mapping.items()]


def deploy_body(family, name="mig-vm1", folder="group-v40", networks=None, **spec):
    spec = dict({"name": name, "accept_all_EULA": True}, **spec)
    if networks is not None:
        spec["network_mappings"] = net_map(family, networks)
    return {"target": {"resource_pool_id": "resgroup-22", "folder_id": folder}, "deployment_spec": spec}


def deploy(vc, family, token, body, item_id=UBUNTU, **kwargs):
    return call(vc, "POST", item_path(family, item_id, "deploy"), token, json=body, **kwargs)


def error_of(family, response):
    """(error_type, messages) from either family's error envelope."""
    body = response.json()
    if family == "rest":
        assert body["type"] == "com.vmware.vapi.std.errors." + body["value"]["error_type"].lower()
        body = body["value"]
    return body["error_type"], body["messages"]


def vm_names(vc, token, name, folder=None):
    query = {"names": name}
    if folder:
        query["folders"] = folder
    return [vm["vm"] for vm in call(vc, "GET", "/api/vcenter/vm", token, params=query).json()]


def state_vm(vc, vm_id):
    return next(vm for vm in vc.admin.state()["vms"] if vm["id"] == vm_id)


# 1 -------------------------------------------------------------------------------------------
def test_contract_1_both_families_rest_wrapped_api_bare(vc):
    api, rest = login(vc, "api"), login(vc, "rest")
    libraries = call(vc, "GET", "/api/content/library", api).json()
    assert sorted(libraries) == sorted([TEMPLATES, GOLDEN])
    assert value("rest", call(vc, "GET", "/rest/com/vmware/content/library", rest)) == libraries
    items = call(vc, "GET", "/api/content/library/item", api, params={"library_id": TEMPLATES}).json()
    assert sorted(items) == sorted([UBUNTU, LEGACY, SQL])
    rest_items = call(vc, "GET", "/rest/com/vmware/content/library/item", rest, params={"library_id": TEMPLATES})
    assert value("rest", rest_items) == items
    item = call(vc, "GET", "/api/content/library/item/" + UBUNTU, api).json()
    assert (item["name"], item["library_id"], item["type"]) == ("ubuntu-22.04", TEMPLATES, "ovf")
    rest_item = call(vc, "GET", "/rest/com/vmware/content/library/item/id:" + UBUNTU, rest)
    assert value("rest", rest_item)["name"] == "ubuntu-22.04"
    assert call(vc, "GET", "/api/content/library/" + GOLDEN, api).json()["name"] == "Golden Images"


def test_contract_1_rest_item_paths_need_id_prefix(vc):
    rest = login(vc, "rest")
    response = call(vc, "GET", "/rest/com/vmware/content/library/item/" + UBUNTU, rest)
    assert response.status_code == 404
    assert error_of("rest", response)[0] == "NOT_FOUND"
    path = "%s/%s?~action=filter" % (OVF["rest"], UBUNTU)
    assert call(vc, "POST", path, rest, json={"target": {"resource_pool_id": "resgroup-22"}}).status_code == 404
    assert call(vc, "GET", "/rest/com/vmware/content/library/id:" + GOLDEN, rest).status_code == 200


def test_contract_1_rest_collection_form_deploy(vc):
    rest = login(vc, "rest")
    body = dict(deploy_body("rest", name="collection-vm"), ovf_library_item_id=UBUNTU)
    result = value("rest", call(vc, "POST", OVF["rest"] + "?~action=deploy", rest, json=body))
    assert result["succeeded"] is True
    assert vm_names(vc, login(vc), "collection-vm", "group-v40") == [result["resource_id"]["id"]]


# 2 -------------------------------------------------------------------------------------------
def test_contract_2_api_login_201_bare_json_string(vc):
    response = call(vc, "POST", "/api/session", auth=(vc.info["username"], vc.info["password"]))
    assert response.status_code == 201
    assert response.headers["Content-Type"].startswith("application/json")
    assert isinstance(response.json(), str) and response.text.startswith('"')


def test_contract_2_rest_login_200_value(vc):
    response = call(vc, "POST", "/rest/com/vmware/cis/session", auth=(vc.info["username"], vc.info["password"]))
    assert response.status_code == 200
    assert isinstance(response.json()["value"], str)


@pytest.mark.parametrize("family,path", [("api", "/api/session"), ("rest", "/rest/com/vmware/cis/session")])
def test_contract_2_bad_credentials_401_family_body(vc, family, path):
    for auth in ((vc.info["username"], "wrong"), ("nobody@vsphere.local", vc.info["password"]), None):
        response = call(vc, "POST", path, auth=auth)
        assert response.status_code == 401
        error_type, messages = error_of(family, response)
        assert error_type == "UNAUTHENTICATED" and messages[0]["default_message"]


# 3 -------------------------------------------------------------------------------------------
def test_contract_3_session_info_and_logout(vc):
    api, rest = login(vc, "api"), login(vc, "rest")
    assert call(vc, "GET", "/api/session", api).json()["user"] == "VSPHERE.LOCAL\\Administrator"
    info = value("rest", call(vc, "POST", "/rest/com/vmware/cis/session?~action=get", rest))
    assert info["user"] == "VSPHERE.LOCAL\\Administrator" and info["created_time"]
    assert call(vc, "DELETE", "/api/session", api).status_code == 204
    assert call(vc, "DELETE", "/rest/com/vmware/cis/session", rest).status_code == 200
    # deleted sessions are refused everywhere
    assert call(vc, "GET", "/api/content/library", api).status_code == 401
    assert call(vc, "GET", "/rest/com/vmware/content/library", rest).status_code == 401


@pytest.mark.parametrize("family,path", [("api", "/api/content/library"),
                                         ("rest", "/rest/com/vmware/content/library")])
def test_contract_3_missing_or_unknown_session_401_json(vc, family, path):
    for token in (None, "0123456789abcdef0123456789abcdef"):
        response = call(vc, "GET", path, token)
        assert response.status_code == 401
        assert response.headers["Content-Type"].startswith("application/json")
        assert error_of(family, response)[0] == "UNAUTHENTICATED"


def test_contract_3_idle_timeout_is_configurable(vc):
    vc.admin.action("session-timeout", {"seconds": 0.4})
    api, rest = login(vc, "api"), login(vc, "rest")
    time.sleep(0.25)
    assert call(vc, "GET", "/api/session", api).status_code == 200  # use resets the idle clock
    time.sleep(0.25)
    assert call(vc, "GET", "/api/session", api).status_code == 200
    time.sleep(0.2)  # rest: idle 0.7 s by now
    assert error_of("rest", call(vc, "GET", "/rest/com/vmware/content/library", rest))[0] == "UNAUTHENTICATED"
    time.sleep(0.45)
    assert call(vc, "GET", "/api/session", api).status_code == 401


def test_contract_3_default_idle_timeout_1800s(vc):
    assert vc.admin.state()["settings"]["session_idle_timeout"] == 1800


# 4 -------------------------------------------------------------------------------------------
def test_contract_4_rest_map_is_key_value_list(vc):
    rest = login(vc, "rest")
    body = deploy_body("rest", networks={"VM Network": "network-12", "Backend": "dvportgroup-20"})
    result = value("rest", deploy(vc, "rest", rest, body))
    assert result["succeeded"] is True
    vm = state_vm(vc, result["resource_id"]["id"])
    assert vm["network_mappings"] == {"VM Network": "network-12", "Backend": "dvportgroup-20"}
    # maps come back in the same encodings: list of pairs on /rest, object on /api
    vm_path = "/vcenter/vm/" + vm["id"]
    rest_nics = value("rest", call(vc, "GET", "/rest" + vm_path, rest))["nics"]
    assert [nic["value"]["backing"]["network"] for nic in rest_nics] == ["network-12", "dvportgroup-20"]
    api_nics = call(vc, "GET", "/api" + vm_path, login(vc)).json()["nics"]
    names = {key: nic["backing"]["network_name"] for key, nic in api_nics.items()}
    assert names == {"4000": "VM Network", "4001": "Backend"}


def test_contract_4_rest_duplicate_key_400(vc):
    rest = login(vc, "rest")
    body = deploy_body("rest")
    body["deployment_spec"]["network_mappings"] = [{"key": "VM Network", "value": "network-12"},
                                                   {"key": "VM Network", "value": "dvportgroup-20"}]
    response = deploy(vc, "rest", rest, body)
    assert response.status_code == 400
    error_type, messages = error_of("rest", response)
    assert error_type == "INVALID_ARGUMENT"
    assert "Element already present in the map" in messages[0]["default_message"]
    assert vm_names(vc, login(vc), "mig-vm1") == []


@pytest.mark.parametrize("family,mapping", [
    ("api", [{"key": "VM Network", "value": "network-12"}]),  # /rest form sent to /api
    ("rest", {"VM Network": "network-12"}),                   # /api form sent to /rest
])
def test_contract_4_wrong_map_form_400(vc, family, mapping):
    token = login(vc, family)
    body = deploy_body(family)
    body["deployment_spec"]["network_mappings"] = mapping
    response = deploy(vc, family, token, body)
    assert response.status_code == 400
    assert error_of(family, response)[0] == "INVALID_ARGUMENT"


def test_contract_4_api_map_is_object_and_applied(vc):
    api = login(vc)
    result = deploy(vc, "api", api, deploy_body("api", networks={"Backend": "network-12"})).json()
    vm = state_vm(vc, result["resource_id"]["id"])
    # unmapped "VM Network" lands on the same-named network of the datacenter
    assert vm["network_mappings"] == {"VM Network": "network-12", "Backend": "network-12"}


# 5 -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("family", ["api", "rest"])
@pytest.mark.parametrize("drop", ["target.resource_pool_id", "deployment_spec.accept_all_EULA", "target"])
def test_contract_5_required_fields_400(vc, family, drop):
    token = login(vc, family)
    body = deploy_body(family)
    if "." in drop:
        outer, inner = drop.split(".")
        del body[outer][inner]
    else:
        del body[drop]
    response = deploy(vc, family, token, body)
    assert response.status_code == 400
    error_type, messages = error_of(family, response)
    assert error_type == "INVALID_ARGUMENT" and drop.split(".")[-1] in messages[0]["default_message"]


def test_contract_5_eula_spelling_and_91_mode(vc):
    api = login(vc)
    lower = deploy_body("api", name="lower")
    lower["deployment_spec"]["accept_all_eula"] = lower["deployment_spec"].pop("accept_all_EULA")
    response = deploy(vc, "api", api, lower)
    assert response.status_code == 400 and "accept_all_EULA" in response.json()["messages"][0]["default_message"]
    assert call(vc, "GET", "/api/appliance/system/version", api).json()["version"].startswith("8.")

    vc.admin.action("v91-mode", {"enabled": True})
    assert call(vc, "GET", "/api/appliance/system/version", api).json()["version"].startswith("9.1")
    assert deploy(vc, "api", api, lower).json()["succeeded"] is True
    assert deploy(vc, "api", api, deploy_body("api", name="upper")).json()["succeeded"] is True
    neither = deploy_body("api", name="neither")
    del neither["deployment_spec"]["accept_all_EULA"]
    response = deploy(vc, "api", api, neither)
    assert response.status_code == 400 and "accept_all_eula" in response.json()["messages"][0]["default_message"]


@pytest.mark.parametrize("family", ["api", "rest"])
@pytest.mark.parametrize("where,key,bad", [
    ("target", "resource_pool_id", "resgroup-999"),
    ("target", "folder_id", "group-v999"),
    ("target", "folder_id", "group-v41"),         # exists, but in the other datacenter
    ("target", "host_id", "host-31"),             # exists, but not in the pool's cluster
    ("deployment_spec", "default_datastore_id", "datastore-99"),
    ("deployment_spec", "storage_profile_id", "no-such-profile"),
    ("deployment_spec", "network_mappings", "network-99"),
    ("deployment_spec", "network_mappings", "network-35"),  # the other datacenter's "VM Network"
])
def test_contract_5_unknown_morefs_400(vc, family, where, key, bad):
    token = login(vc, family)
    body = deploy_body(family)
    body[where][key] = net_map(family, {"VM Network": bad}) if key == "network_mappings" else bad
    response = deploy(vc, family, token, body)
    assert response.status_code == 400, response.text
    error_type, messages = error_of(family, response)
    assert error_type == "INVALID_ARGUMENT" and bad in messages[0]["default_message"]
    assert vm_names(vc, login(vc), "mig-vm1") == []


@pytest.mark.parametrize("family", ["api", "rest"])
def test_contract_5_unknown_item_404(vc, family):
    token = login(vc, family)
    response = deploy(vc, family, token, deploy_body(family), item_id="00000000-0000-0000-0000-000000000000")
    assert response.status_code == 404
    assert error_of(family, response)[0] == "NOT_FOUND"


# 6 -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("family", ["api", "rest"])
def test_contract_6_broken_item_200_succeeded_false(vc, family):
    token = login(vc, family)
    response = deploy(vc, family, token, deploy_body(family), item_id=LEGACY)
    assert response.status_code == 200
    result = value(family, response)
    assert result["succeeded"] is False and result["resource_id"] is None
    messages = [m["default_message"] for e in result["error"]["errors"] for m in e["error"]["messages"]]
    assert any("legacy-appliance-disk1.vmdk" in m for m in messages)
    assert vm_names(vc, login(vc), "mig-vm1") == []


def test_contract_6_mark_item_broken_by_admin(vc):
    api = login(vc)
    vc.admin.action("break-item", {"item_id": UBUNTU, "message": "Checksum mismatch on disk1"})
    result = deploy(vc, "api", api, deploy_body("api")).json()
    assert result["succeeded"] is False
    assert result["error"]["errors"][0]["error"]["messages"][0]["default_message"] == "Checksum mismatch on disk1"
    vc.admin.action("break-item", {"item_id": UBUNTU, "broken": False})
    assert deploy(vc, "api", api, deploy_body("api")).json()["succeeded"] is True


def test_contract_6_unaccepted_eula_200_succeeded_false(vc):
    api = login(vc)
    result = deploy(vc, "api", api, deploy_body("api", accept_all_EULA=False)).json()
    message = result["error"]["errors"][0]["error"]["messages"][0]["default_message"]
    assert result["succeeded"] is False and "EULA" in message
    # an OVF without EULA deploys whatever the flag says
    result = deploy(vc, "api", api, deploy_body("api", accept_all_EULA=False), item_id=GOLDEN_UBUNTU).json()
    assert result["succeeded"] is True


# 7 -------------------------------------------------------------------------------------------
def test_contract_7_deploy_blocks_without_blocking_others(vc):
    vc.admin.action("deploy-duration", {"seconds": 0.8})
    api = login(vc)
    lookups = []

    def lookup():
        time.sleep(0.2)
        started = time.monotonic()
        lookups.append((vm_names(vc, api, "slow-vm"), time.monotonic() - started))

    helper = threading.Thread(target=lookup)
    helper.start()
    started = time.monotonic()
    result = deploy(vc, "api", api, deploy_body("api", name="slow-vm")).json()
    elapsed = time.monotonic() - started
    helper.join()
    assert result["succeeded"] is True and elapsed >= 0.8
    # meanwhile another request was answered at once, and the VM was already in the inventory
    (found, took), = lookups
    assert found == [result["resource_id"]["id"]] and took < 0.5


def test_contract_7_vm_created_even_if_client_disconnects(vc):
    vc.admin.action("deploy-duration", {"seconds": 0.6})
    api = login(vc)
    with pytest.raises(requests.exceptions.ReadTimeout):
        deploy(vc, "api", api, deploy_body("api", name="orphan"), timeout=0.15)
    (vm_id,) = vm_names(vc, api, "orphan", "group-v40")
    assert state_vm(vc, vm_id)["deploying"] is True
    time.sleep(0.6)
    assert state_vm(vc, vm_id)["deploying"] is False


def test_contract_7_default_duration_is_2s(vcenter_rest_emulator):
    from tests.emulators.vcenter_rest import EMULATOR
    assert EMULATOR({"users": []}).settings["deploy_seconds"] == 2.0
    # the fixture's default seed too: a probe that only reads the document expects 2 s
    vc = vcenter_rest_emulator
    assert vc.admin.state()["settings"]["deploy_seconds"] == 2.0
    api = login(vc)
    started = time.monotonic()
    assert deploy(vc, "api", api, deploy_body("api", name="two-seconds")).json()["succeeded"] is True
    assert time.monotonic() - started >= 2.0


# 8 -------------------------------------------------------------------------------------------
def test_contract_8_vm_lookup_both_families(vc):
    api, rest = login(vc, "api"), login(vc, "rest")
    result = deploy(vc, "api", api, deploy_body("api", name="found-me")).json()
    vm_id = result["resource_id"]["id"]
    listed = call(vc, "GET", "/api/vcenter/vm", api, params={"names": "found-me", "folders": "group-v40"}).json()
    assert listed == [{"vm": vm_id, "name": "found-me", "power_state": "POWERED_OFF", "cpu_count": 2,
                       "memory_size_MiB": 4096}]
    assert vm_names(vc, api, "found-me", "group-v3") == []
    rest_listed = call(vc, "GET", "/rest/vcenter/vm", rest,
                       params={"filter.names": "found-me", "filter.folders": "group-v40"})
    assert value("rest", rest_listed) == listed
    assert call(vc, "GET", "/api/vcenter/vm/" + vm_id, api).json()["name"] == "found-me"
    missing = call(vc, "GET", "/api/vcenter/vm/vm-9999", api)
    assert missing.status_code == 404 and missing.json()["error_type"] == "NOT_FOUND"


@pytest.mark.parametrize("kind,name,datacenter,expected", [
    ("network", "VM Network", None, ["network-12", "network-35"]),
    ("network", "VM Network", "datacenter-2", ["network-35"]),
    ("resource-pool", "Resources", None, ["resgroup-32", "resgroup-9"]),
    ("resource-pool", "Migrations", "datacenter-1", ["resgroup-22"]),
    ("folder", "Migrated", "datacenter-2", ["group-v41"]),
    ("datastore", "east-vsan", "datacenter-1", ["datastore-14"]),
    ("host", "esx01.west.example.com", None, ["host-31"]),
    ("cluster", "Prod", "datacenter-2", []),
    ("datacenter", "DC-West", None, ["datacenter-2"]),
    ("vm", "db01", "datacenter-1", ["vm-102"]),
])
def test_contract_8_name_to_moref_lookups(vc, kind, name, datacenter, expected):
    api, rest = login(vc, "api"), login(vc, "rest")
    key = kind.replace("-", "_")
    query = {"names": name}
    rest_query = {"filter.names.1": name}  # /rest also takes the indexed form
    if datacenter:
        query["datacenters"] = datacenter
        rest_query["filter.datacenters"] = datacenter
    found = call(vc, "GET", "/api/vcenter/" + kind, api, params=query).json()
    assert sorted(o[key] for o in found) == expected
    rest_found = value("rest", call(vc, "GET", "/rest/vcenter/" + kind, rest, params=rest_query))
    assert rest_found == found


# 9 -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("family", ["api", "rest"])
def test_contract_9_duplicate_name_in_folder_200_succeeded_false(vc, family):
    token = login(vc, family)
    # web01 lives in group-v3: the same name in another folder is fine
    assert value(family, deploy(vc, family, token, deploy_body(family, name="web01")))["succeeded"] is True
    response = deploy(vc, family, token, deploy_body(family, name="web01"))
    assert response.status_code == 200
    result = value(family, response)
    assert result["succeeded"] is False and result["resource_id"] is None
    message = result["error"]["errors"][0]["error"]["messages"][0]["default_message"]
    assert "web01" in message and "already exists" in message
    assert len(vm_names(vc, login(vc), "web01")) == 2


# 10 ------------------------------------------------------------------------------------------
def test_contract_10_rest_client_token_replays_result(vc):
    rest = login(vc, "rest")
    body = dict(deploy_body("rest", name="tokened"), client_token="6f1c2f0e-token-1")
    first = value("rest", deploy(vc, "rest", rest, body))
    second = value("rest", deploy(vc, "rest", rest, body))
    assert first["succeeded"] is True and second == first
    assert len(vm_names(vc, login(vc), "tokened")) == 1
    other = dict(body, client_token="6f1c2f0e-token-2")
    assert value("rest", deploy(vc, "rest", rest, other))["succeeded"] is False  # duplicate name, not a replay


def test_contract_10_failed_deploy_token_is_not_remembered(vc):
    rest = login(vc, "rest")
    body = dict(deploy_body("rest"), client_token="retry-me")
    vc.admin.action("break-item", {"item_id": UBUNTU})
    assert value("rest", deploy(vc, "rest", rest, body))["succeeded"] is False
    vc.admin.action("break-item", {"item_id": UBUNTU, "broken": False})
    assert value("rest", deploy(vc, "rest", rest, body))["succeeded"] is True


@pytest.mark.parametrize("how", ["query", "header"])
def test_contract_10_api_client_token_query_or_header(vc, how):
    api = login(vc)
    path = item_path("api", UBUNTU, "deploy")
    kwargs = {"params": {"client_token": "tok-api"}} if how == "query" else {"headers": {"Client-Token": "tok-api"}}
    first = call(vc, "POST", path, api, json=deploy_body("api"), **kwargs).json()
    second = call(vc, "POST", path, api, json=deploy_body("api"), **kwargs).json()
    assert first["succeeded"] is True and second == first
    assert len(vm_names(vc, api, "mig-vm1")) == 1


# 11 ------------------------------------------------------------------------------------------
def test_contract_11_find_is_case_insensitive_and_never_null(vc):
    api, rest = login(vc, "api"), login(vc, "rest")
    libs = call(vc, "POST", "/api/content/library?action=find", api, json={"name": "migration TEMPLATES"})
    assert libs.json() == [TEMPLATES]
    rest_libs = call(vc, "POST", "/rest/com/vmware/content/library?~action=find", rest,
                     json={"spec": {"name": "GOLDEN images", "type": "LOCAL"}})
    assert value("rest", rest_libs) == [GOLDEN]
    items = call(vc, "POST", "/api/content/library/item?action=find", api, json={"name": "Ubuntu-22.04"}).json()
    assert sorted(items) == sorted([UBUNTU, GOLDEN_UBUNTU])  # same name in two libraries
    scoped = call(vc, "POST", "/rest/com/vmware/content/library/item?~action=find", rest,
                  json={"spec": {"name": "UBUNTU-22.04", "library_id": GOLDEN}})
    assert value("rest", scoped) == [GOLDEN_UBUNTU]
    for path, body in (("/api/content/library?action=find", {"name": "nope"}),
                       ("/api/content/library/item?action=find", {"name": "nope", "library_id": GOLDEN})):
        response = call(vc, "POST", path, api, json=body)
        assert response.status_code == 200 and response.json() == []
    none = call(vc, "POST", "/rest/com/vmware/content/library/item?~action=find", rest, json={"spec": {"name": "x"}})
    assert none.json() == {"value": []}


# 12 ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("family", ["api", "rest"])
def test_contract_12_create_new_item_from_vm(vc, family):
    token = login(vc, family)
    body = {"source": {"type": "VirtualMachine", "id": "vm-102"}, "target": {"library_id": GOLDEN},
            "create_spec": {"name": "db01-capture", "description": "captured db01"}}
    result = value(family, call(vc, "POST", OVF[family], token, json=body))
    assert result["succeeded"] is True and result["ovf_library_item_id"]
    api = login(vc)
    new_id = result["ovf_library_item_id"]
    assert new_id in call(vc, "GET", "/api/content/library/item", api, params={"library_id": GOLDEN}).json()
    item = call(vc, "GET", "/api/content/library/item/" + new_id, api).json()
    assert (item["name"], item["description"]) == ("db01-capture", "captured db01")
    summary = call(vc, "POST", item_path("api", new_id, "filter"), api,
                   json={"target": {"resource_pool_id": "resgroup-22"}}).json()
    assert summary["networks"] == ["VM Network", "Backend"]  # the networks of db01
    again = call(vc, "POST", OVF[family], token, json=body)
    assert again.status_code == 400 and error_of(family, again)[0] == "ALREADY_EXISTS"


def test_contract_12_overwrite_item_keeps_name_and_description(vc):
    api = login(vc)
    before = call(vc, "GET", "/api/content/library/item/" + GOLDEN_UBUNTU, api).json()
    body = {"source": {"type": "VirtualMachine", "id": "vm-101"},
            "target": {"library_id": GOLDEN, "library_item_id": GOLDEN_UBUNTU},
            "create_spec": {"name": "ignored-name", "description": "ignored description"}}
    result = call(vc, "POST", OVF["api"], api, json=body).json()
    assert result == {"succeeded": True, "ovf_library_item_id": GOLDEN_UBUNTU,
                      "error": {"errors": [], "warnings": [], "information": []}}
    after = call(vc, "GET", "/api/content/library/item/" + GOLDEN_UBUNTU, api).json()
    assert (after["name"], after["description"]) == (before["name"], before["description"])
    assert int(after["content_version"]) == int(before["content_version"]) + 1
    summary = call(vc, "POST", item_path("api", GOLDEN_UBUNTU, "filter"), api,
                   json={"target": {"resource_pool_id": "resgroup-22"}}).json()
    assert summary["name"] == "ignored-name"  # the new content is web01's export
    # library_item_id alone is accepted too (assumption, section 8)
    del body["target"]["library_id"]
    assert call(vc, "POST", OVF["api"], api, json=body).json()["succeeded"] is True
    body["source"]["id"] = "vm-999"
    assert call(vc, "POST", OVF["api"], api, json=body).status_code == 404


def test_contract_12_capture_blocks_and_the_item_exists_from_the_start(vc):
    """Create is synchronous like deploy (duration configurable, 0 by default); the new item is in the
    library from the start, so it exists even if the client hangs up."""
    from tests.emulators.vcenter_rest import EMULATOR
    assert EMULATOR({"users": []}).settings["capture_seconds"] == 0.0
    vc.admin.action("capture-duration", {"seconds": 0.6})
    api = login(vc)
    body = {"source": {"type": "VirtualMachine", "id": "vm-102"}, "target": {"library_id": GOLDEN},
            "create_spec": {"name": "slow-capture"}}
    with pytest.raises(requests.exceptions.ReadTimeout):
        call(vc, "POST", OVF["api"], api, json=body, timeout=0.15)
    found = call(vc, "POST", "/api/content/library/item", api, params={"action": "find"},
                 json={"name": "slow-capture", "library_id": GOLDEN}).json()
    assert len(found) == 1
    started = time.monotonic()
    again = call(vc, "POST", OVF["api"], api, json=dict(body, create_spec={"name": "slow-capture-2"}))
    assert again.json()["succeeded"] is True and time.monotonic() - started >= 0.5


# 13 ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("family", ["api", "rest"])
def test_contract_13_filter_returns_ovf_summary(vc, family):
    token = login(vc, family)
    response = call(vc, "POST", item_path(family, UBUNTU, "filter"), token,
                    json={"target": {"resource_pool_id": "resgroup-22"}})
    summary = value(family, response)
    assert set(summary) == {"name", "annotation", "eulas", "networks", "storage_groups", "additional_params"}
    assert summary["networks"] == ["VM Network", "Backend"]
    assert len(summary["eulas"]) == 1 and "LICENSE" in summary["eulas"][0]
    assert summary["additional_params"][0]["type"] == "PropertyParams"
    plain = value(family, call(vc, "POST", item_path(family, GOLDEN_UBUNTU, "filter"), token,
                               json={"target": {"resource_pool_id": "resgroup-22"}}))
    assert plain["eulas"] == [] and plain["networks"] == ["VM Network"]


def test_contract_13_rest_collection_form_filter(vc):
    rest = login(vc, "rest")
    body = {"ovf_library_item_id": UBUNTU, "target": {"resource_pool_id": "resgroup-22"}}
    summary = value("rest", call(vc, "POST", OVF["rest"] + "?~action=filter", rest, json=body))
    assert summary["name"] == "ubuntu-22.04"


# 14 ------------------------------------------------------------------------------------------
def test_contract_14_error_envelopes(vc):
    api, rest = login(vc, "api"), login(vc, "rest")
    api_error = call(vc, "GET", "/api/content/library/item/nope", api)
    assert api_error.status_code == 404
    assert set(api_error.json()) == {"error_type", "messages"}
    rest_error = call(vc, "GET", "/rest/com/vmware/content/library/item/id:nope", rest)
    body = rest_error.json()
    assert rest_error.status_code == 404 and set(body) == {"type", "value"}
    assert body["type"] == "com.vmware.vapi.std.errors.not_found" and body["value"]["error_type"] == "NOT_FOUND"
    for messages in (api_error.json()["messages"], body["value"]["messages"]):
        assert set(messages[0]) == {"id", "default_message", "args"} and messages[0]["args"] == ["nope"]
    unknown = call(vc, "GET", "/api/no/such/thing", api)
    assert unknown.status_code == 404 and unknown.json()["error_type"] == "NOT_FOUND"
    bad_json = call(vc, "POST", item_path("api", UBUNTU, "deploy"), api, data="{not json",
                    headers={"Content-Type": "application/json"})
    assert bad_json.status_code == 400 and bad_json.json()["error_type"] == "INVALID_ARGUMENT"


# VM power (not in the section 7 list; vSphere Automation VM.Power) ---------------------------------
def power(vc, family, token, vm_id, action):
    if family == "api":
        return call(vc, "POST", "/api/vcenter/vm/%s/power" % vm_id, token, params={"action": action})
    return call(vc, "POST", "/rest/vcenter/vm/%s/power/%s" % (vm_id, action), token)


def power_state(vc, family, token, vm_id):
    return value(family, call(vc, "GET", "/%s/vcenter/vm/%s/power" % (family, vm_id), token))["state"]


@pytest.mark.parametrize("family", ["api", "rest"])
def test_power_deployed_vm_starts_off_then_start_stop(vc, family):
    token = login(vc, family)
    vm_id = deploy(vc, "api", login(vc), deploy_body("api", name="power-" + family)).json()["resource_id"]["id"]
    off = call(vc, "GET", "/%s/vcenter/vm/%s/power" % (family, vm_id), token)
    assert value(family, off) == {"state": "POWERED_OFF", "clean_power_off": True}
    started = power(vc, family, token, vm_id, "start")
    # /api: 204; /rest: a void operation, 200 with no body
    assert (started.status_code, started.content) == ((204, b"") if family == "api" else (200, b""))
    assert power_state(vc, family, token, vm_id) == "POWERED_ON" == state_vm(vc, vm_id)["power_state"]
    vm = value(family, call(vc, "GET", "/%s/vcenter/vm/%s" % (family, vm_id), token))
    assert vm["power_state"] == "POWERED_ON"
    assert power(vc, family, token, vm_id, "stop").ok and power_state(vc, family, token, vm_id) == "POWERED_OFF"
    assert [e["status"] for e in vc.admin.mutations() if "/power" in e["path"]] == [started.status_code] * 2


@pytest.mark.parametrize("family", ["api", "rest"])
def test_power_start_when_on_is_already_in_desired_state(vc, family):
    token = login(vc, family)
    response = power(vc, family, token, "vm-101", "start")  # web01 is POWERED_ON in the seed
    error_type, messages = error_of(family, response)
    assert response.status_code == 400 and error_type == "ALREADY_IN_DESIRED_STATE"
    assert messages[0]["default_message"] == "Virtual machine is already powered on."
    if family == "rest":
        assert response.json()["type"] == "com.vmware.vapi.std.errors.already_in_desired_state"
    assert power_state(vc, family, token, "vm-101") == "POWERED_ON"


def test_power_state_rules_and_unknown_vm(vc):
    api = login(vc)
    assert power(vc, "api", api, "vm-102", "stop").json()["error_type"] == "ALREADY_IN_DESIRED_STATE"
    assert power(vc, "api", api, "vm-102", "suspend").json()["error_type"] == "NOT_ALLOWED_IN_CURRENT_STATE"
    assert power(vc, "api", api, "vm-102", "reset").json()["error_type"] == "NOT_ALLOWED_IN_CURRENT_STATE"
    assert power(vc, "api", api, "vm-101", "suspend").status_code == 204
    assert power_state(vc, "api", api, "vm-101") == "SUSPENDED"
    assert power(vc, "api", api, "vm-101", "suspend").json()["error_type"] == "ALREADY_IN_DESIRED_STATE"
    assert power(vc, "api", api, "vm-101", "start").status_code == 204  # resumes
    assert power(vc, "api", api, "vm-101", "reset").status_code == 204
    assert power_state(vc, "api", api, "vm-101") == "POWERED_ON"
    missing_vm = power(vc, "api", api, "vm-999", "start")
    assert missing_vm.status_code == 404 and missing_vm.json()["error_type"] == "NOT_FOUND"
    assert power(vc, "api", api, "vm-102", "explode").status_code == 404
    assert power(vc, "api", None, "vm-102", "start").status_code == 401  # a session is required


def test_power_on_while_deploying_is_refused(vc):
    vc.admin.action("deploy-duration", {"seconds": 0.6})
    api = login(vc)
    with pytest.raises(requests.exceptions.ReadTimeout):
        deploy(vc, "api", api, deploy_body("api", name="busy"), timeout=0.15)
    (vm_id,) = vm_names(vc, api, "busy", "group-v40")
    assert power(vc, "api", api, vm_id, "start").json()["error_type"] == "NOT_ALLOWED_IN_CURRENT_STATE"
    time.sleep(0.6)
    assert power(vc, "api", api, vm_id, "start").status_code == 204


# journal -----------------------------------------------------------------------------------------
def test_journal_records_a_call_on_arrival_and_reset_drops_late_answers(vc):
    vc.admin.action("deploy-duration", {"seconds": 0.6})
    api = login(vc)
    with pytest.raises(requests.exceptions.ReadTimeout):
        deploy(vc, "api", api, deploy_body("api", name="pending"), timeout=0.15)
    (entry,) = [e for e in vc.admin.journal() if "deploy" in e["query"]]
    assert entry["status"] is None and entry["body"]["deployment_spec"]["name"] == "pending"  # still running
    vc.reset()
    vc.admin.action("deploy-duration", {"seconds": FAST_DEPLOY})
    time.sleep(0.7)  # the abandoned deploy answers now: into the old journal, not the new one
    assert vc.admin.journal() == []
    api = login(vc)
    deploy(vc, "api", api, deploy_body("api", name="answered"))
    (entry,) = [e for e in vc.admin.journal() if "deploy" in e["query"]]
    assert entry["status"] == 200 and entry["body"]["deployment_spec"]["name"] == "answered"


# faults ----------------------------------------------------------------------------------------
def test_fault_status(vc):
    api = login(vc)
    vc.admin.fault(method="GET", path="/api/vcenter/vm", status=503, body={"error_type": "SERVICE_UNAVAILABLE"})
    assert call(vc, "GET", "/api/vcenter/vm", api).status_code == 503
    assert call(vc, "GET", "/api/vcenter/vm", api).status_code == 200


def test_fault_delay(vc):
    api = login(vc)
    vc.admin.fault(path="/api/content/library", delay=0.3)
    started = time.monotonic()
    assert call(vc, "GET", "/api/content/library", api).status_code == 200
    assert time.monotonic() - started >= 0.3


def test_fault_drop(vc):
    api = login(vc)
    vc.admin.fault(method="POST", path="/ovf/library-item/", drop=True)
    with pytest.raises(requests.exceptions.ConnectionError):
        deploy(vc, "api", api, deploy_body("api"))
    assert vm_names(vc, api, "mig-vm1") == []  # dropped before the handler ran


def test_fault_expire_session(vc):
    api = login(vc)
    vc.admin.fault(path="/api/vcenter/vm", expire_session=True)
    response = call(vc, "GET", "/api/vcenter/vm", api)
    assert response.status_code == 401 and response.json()["error_type"] == "UNAUTHENTICATED"
    assert call(vc, "GET", "/api/vcenter/vm", login(vc)).status_code == 200  # re-login once works


def test_fault_after_deploy_happens_but_answer_is_lost(vc):
    api = login(vc)
    vc.admin.fault(method="POST", path="/ovf/library-item/", after=True, drop=True)
    with pytest.raises(requests.exceptions.ConnectionError):
        deploy(vc, "api", api, deploy_body("api", name="lost-answer"))
    assert len(vm_names(vc, api, "lost-answer", "group-v40")) == 1
    assert [e["path"] for e in vc.admin.mutations() if "ovf" in e["path"]] == [OVF["api"] + "/" + UBUNTU]


# deployment_spec beyond section 7 (vcenter_rest.md section 2): storage, flags, locale -------------
VSAN_POLICY = "aa6d5a82-1c88-45da-85d3-3d74b91a5bad"
GOLD_POLICY = "c4f1e9a0-7b2d-4e8f-9a61-5d3c2b1a0f9e"


def storage_map(family, mapping):
    return mapping if family == "api" else [{"key": k, "value": v} for k, v in mapping.items()]


@pytest.mark.parametrize("family", ["api", "rest"])
def test_filter_reports_the_storage_groups_of_the_descriptor(vc, family):
    token = login(vc, family)
    summary = value(family, call(vc, "POST", item_path(family, SQL, "filter"), token,
                                 json={"target": {"resource_pool_id": "resgroup-22"}}))
    assert summary["storage_groups"] == ["sql-data", "sql-logs"]
    plain = value(family, call(vc, "POST", item_path(family, UBUNTU, "filter"), token,
                               json={"target": {"resource_pool_id": "resgroup-22"}}))
    assert plain["storage_groups"] == []


@pytest.mark.parametrize("family", ["api", "rest"])
def test_deploy_honours_the_whole_deployment_spec(vc, family):
    token = login(vc, family)
    mappings = {"sql-data": {"type": "DATASTORE", "datastore_id": "datastore-15", "provisioning": "thin"},
                "sql-logs": {"type": "STORAGE_PROFILE", "storage_profile_id": GOLD_POLICY}}
    body = deploy_body(family, name="spec-" + family, storage_profile_id=VSAN_POLICY,
                       default_datastore_id="datastore-14", storage_provisioning="thick", flags=["LAX"],
                       locale="de_DE", storage_mappings=storage_map(family, mappings))
    result = value(family, deploy(vc, family, token, body, item_id=SQL))
    assert result["succeeded"] is True, result
    vm = next(v for v in vc.admin.state()["vms"] if v["id"] == result["resource_id"]["id"])
    assert vm["storage_profile"] == VSAN_POLICY and vm["default_datastore"] == "datastore-14"
    assert vm["storage_mappings"] == mappings and vm["flags"] == ["LAX"] and vm["locale"] == "de_DE"
    assert vm["storage_provisioning"] == "thick"


@pytest.mark.parametrize("family", ["api", "rest"])
def test_deploy_refuses_bad_storage_mappings_with_400(vc, family):
    token = login(vc, family)
    cases = [
        ({"no-such-group": {"type": "DATASTORE", "datastore_id": "datastore-14"}}, "no-such-group"),
        ({"sql-data": {"type": "DATASTORE"}}, "datastore_id"),
        ({"sql-data": {"type": "STORAGE_PROFILE"}}, "storage_profile_id"),
        ({"sql-data": {"datastore_id": "datastore-14"}}, "type"),
        ({"sql-data": {"type": "DATASTORE", "datastore_id": "datastore-99"}}, "datastore-99"),
        ({"sql-data": {"type": "DATASTORE", "datastore_id": "datastore-34"}}, "datastore-34"),  # other datacenter
        ({"sql-data": {"type": "STORAGE_PROFILE", "storage_profile_id": "nope"}}, "nope"),
        ({"sql-data": {"type": "DATASTORE", "datastore_id": "datastore-14", "provisioning": "fat"}}, "fat"),
    ]
    for mappings, named in cases:
        response = deploy(vc, family, token, deploy_body(family, name="bad-storage",
                                                         storage_mappings=storage_map(family, mappings)), item_id=SQL)
        error_type, messages = error_of(family, response)
        assert response.status_code == 400 and error_type == "INVALID_ARGUMENT", (mappings, response.text)
        assert named in messages[0]["default_message"], (mappings, messages)
    bad_profile = deploy(vc, family, token, deploy_body(family, name="bad-storage", storage_profile_id="nope"))
    assert bad_profile.status_code == 400
    bad_flags = deploy(vc, family, token, deploy_body(family, name="bad-storage", flags="LAX"))
    assert bad_flags.status_code == 400
    assert not [v for v in vc.admin.state()["vms"] if v["name"] == "bad-storage"]


@pytest.mark.parametrize("family", ["api", "rest"])
def test_storage_policies_are_listed_with_names(vc, family):
    token = login(vc, family)
    path = "/%s/vcenter/storage/policies" % family
    policies = value(family, call(vc, "GET", path, token))
    assert {"policy": GOLD_POLICY, "name": "Gold", "description": ""} in policies and len(policies) == 2
    one = value(family, call(vc, "GET", path, token,
                             params={"filter.policies" if family == "rest" else "policies": VSAN_POLICY}))
    assert [p["name"] for p in one] == ["vSAN Default Storage Policy"]


# -- what a bulk deploy reads: several VM names in one list call, datastores' free space ---------------
@pytest.mark.parametrize("family", ["api", "rest"])
def test_vm_list_takes_several_names_and_a_folder_in_one_call(vc, family):
    token = login(vc, family)
    for name in ("bulk-a", "bulk-b"):
        assert value(family, deploy(vc, family, token, deploy_body(family, name=name)))["succeeded"] is True
    prefix = "" if family == "api" else "filter."
    path = "/api/vcenter/vm" if family == "api" else "/rest/vcenter/vm"
    found = value(family, call(vc, "GET", path, token, params={prefix + "names": ["bulk-a", "bulk-b", "db01", "none"],
                                                               prefix + "folders": "group-v40"}))
    assert sorted(vm["name"] for vm in found) == ["bulk-a", "bulk-b", "db01"], found
    assert all(vm["power_state"] == "POWERED_OFF" and vm["vm"].startswith("vm-") for vm in found), found


@pytest.mark.parametrize("family", ["api", "rest"])
def test_datastore_list_reports_free_space_that_a_deploy_takes(vc, family):
    token = login(vc, family)
    prefix = "" if family == "api" else "filter."
    path = "/api/vcenter/datastore" if family == "api" else "/rest/vcenter/datastore"

    def free():
        (ds,) = value(family, call(vc, "GET", path, token, params={prefix + "datastores": "datastore-15"}))
        assert set(ds) >= {"datastore", "name", "type", "free_space", "capacity"}, ds
        return ds["free_space"]

    vc.admin.action("datastore-space", {"datastore_id": "datastore-15", "free_space": 10 << 30})
    assert free() == 10 << 30
    size = value(family, call(vc, "GET", ("/api/content/library/item/%s" if family == "api" else
                                          "/rest/com/vmware/content/library/item/id:%s") % UBUNTU, token))["size"]
    body = deploy_body(family, name="space-" + family, default_datastore_id="datastore-15")
    assert value(family, deploy(vc, family, token, body))["succeeded"] is True
    assert free() == (10 << 30) - size
