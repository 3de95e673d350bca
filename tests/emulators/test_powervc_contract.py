"""Contract tests of the PowerVC emulator (section 7 of /work/shared/api/powervc.md), over raw HTTP."""

import json
import time
from datetime import datetime, timezone

import pytest
import requests

from tests.emulators.powervc import DEFAULT_SEED, HOST_A, HOST_B, HOST_HMC

PROD, TEST, DEV, LEGACY = (s["id"] for s in DEFAULT_SEED["servers"])  # ACTIVE, SHUTOFF, SHUTOFF, ACTIVE (HMC)
AUTH_BODY = {"error": {"code": 401, "title": "Unauthorized",
                       "message": "The request you have made requires authentication."}}


def auth_request(user, password, user_domain=None, scope=None):
    domain = user_domain or {"name": "Default"}
    return {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": user, "domain": domain, "password": password}}},
        "scope": scope or {"project": {"name": "ibm-default", "domain": {"name": "Default"}}}}}


class Client:
    """Raw HTTP against one emulator, logged in as the admin (or the non-admin) user."""

    def __init__(self, handle, admin=True):
        self.handle = handle
        info = handle.info
        user, password = ((info["username"], info["password"]) if admin
                          else (info["nonadmin_username"], info["nonadmin_password"]))
        response = self.post_auth(auth_request(user, password))
        assert response.status_code == 201, response.text
        self.token = response.headers["X-Subject-Token"]
        self.body = response.json()
        self.compute = next(e["url"] for s in self.body["token"]["catalog"] if s["type"] == "compute"
                            for e in s["endpoints"] if e["interface"] == "public")

    def post_auth(self, body):
        return requests.post(self.handle.url + "/v3/auth/tokens", json=body, verify=self.handle.ca_path, timeout=10)

    def call(self, method, path, token=None, url=None, **kwargs):
        headers = {"X-Auth-Token": self.token if token is None else token}
        headers.update(kwargs.pop("headers", {}))
        return requests.request(method, (url or self.compute) + path, headers=headers,
                                verify=self.handle.ca_path, timeout=10, **kwargs)

    def reserved(self, host=None):
        response = self.call("GET", "/virtual-serial-number", params={"host": host} if host else None)
        assert response.status_code == 200, response.text
        return {i["virtual_serial_number"]: i for i in response.json()["virtual_serial_numbers"]}

    def vsn_of(self, server_id):
        return self.call("GET", "/servers/" + server_id).json()["server"]["virtual_serial_number"]

    def free_vsns(self, host):
        return next(h["free_vsns"] for h in self.handle.admin.state()["hosts"] if h["name"] == host)


@pytest.fixture
def pvc(powervc_emulator):
    return Client(powervc_emulator)


def assert_nova_fault(response, status, name):
    assert response.status_code == status, response.text
    body = response.json()
    assert list(body) == [name] and body[name]["code"] == status and body[name]["message"], body


def assert_unauthorized(response, handle):
    assert response.status_code == 401
    assert response.json() == AUTH_BODY
    assert response.headers["WWW-Authenticate"] == 'Keystone uri="%s"' % handle.url


# 1 -----------------------------------------------------------------------------------------
def test_contract_1_password_auth_by_name_and_by_id(pvc, powervc_emulator):
    info = powervc_emulator.info
    assert pvc.token and pvc.token not in json.dumps(pvc.body)  # the token travels in the header only
    for domain, scope in (({"id": "default"}, {"project": {"name": "ibm-default", "domain": {"id": "default"}}}),
                          ({"name": "Default"}, {"project": {"id": info["project_id"]}})):
        response = pvc.post_auth(auth_request(info["username"], info["password"], domain, scope))
        assert response.status_code == 201
        assert response.headers["X-Subject-Token"]
        assert response.json()["token"]["project"]["id"] == info["project_id"]
    assert info["auth_url"] == powervc_emulator.url + "/v3"


def test_contract_1_wrong_credentials_or_domain_401(pvc, powervc_emulator):
    info = powervc_emulator.info
    wrong = [
        auth_request(info["username"], "wrong"),
        auth_request("nobody", info["password"]),
        auth_request(info["username"], info["password"], {"name": "Other"}),
        auth_request(info["username"], info["password"], scope={"project": {"name": "ibm-default",
                                                                            "domain": {"id": "other"}}}),
        auth_request(info["username"], info["password"], scope={"project": {"id": "0" * 32}}),
    ]
    for body in wrong:
        response = pvc.post_auth(body)
        assert_unauthorized(response, powervc_emulator)
        assert "X-Subject-Token" not in response.headers


# 2 -----------------------------------------------------------------------------------------
def expires_in(body):
    expires = datetime.strptime(body["token"]["expires_at"], "%Y-%m-%dT%H:%M:%S.%fZ")
    return expires.replace(tzinfo=timezone.utc).timestamp() - time.time()


def test_contract_2_token_body_expiry_catalog_roles(pvc, powervc_emulator):
    token = pvc.body["token"]
    assert 6 * 3600 - 30 < expires_in(pvc.body) <= 6 * 3600
    assert token["project"]["name"] == "ibm-default" and token["user"]["name"] == "root"
    assert [r["name"] for r in token["roles"]] == ["admin"]
    assert pvc.compute == "%s/v2.1/%s" % (powervc_emulator.url, powervc_emulator.info["project_id"])
    powervc_emulator.admin.action("settings", {"token_ttl": 5})
    assert 3 < expires_in(Client(powervc_emulator).body) <= 5


def test_contract_2_proxy_form_catalog_from_seed(powervc_emulator):
    powervc_emulator.reset(dict(DEFAULT_SEED, settings={"catalog": "proxy"}))
    client = Client(powervc_emulator)
    assert client.compute == "%s/powervc/openstack/compute/v2.1/%s" % (
        powervc_emulator.url, powervc_emulator.info["project_id"])
    assert client.call("GET", "/servers").status_code == 200


def test_contract_2_validate_check_revoke_token(pvc, powervc_emulator):
    other = Client(powervc_emulator, admin=False)
    url = powervc_emulator.url + "/v3/auth/tokens"
    headers = {"X-Auth-Token": pvc.token, "X-Subject-Token": other.token}
    get = requests.get(url, headers=headers, verify=powervc_emulator.ca_path)
    assert get.status_code == 200 and get.json()["token"]["user"]["name"] == "deployer1"
    assert requests.head(url, headers=headers, verify=powervc_emulator.ca_path).status_code == 200
    assert requests.delete(url, headers=headers, verify=powervc_emulator.ca_path).status_code == 204
    assert requests.head(url, headers=headers, verify=powervc_emulator.ca_path).status_code == 404
    assert_unauthorized(other.call("GET", "/servers"), powervc_emulator)
    assert pvc.call("GET", "/servers").status_code == 200


# 3 -----------------------------------------------------------------------------------------
def test_contract_3_compute_401_missing_bogus_revoked_expired(pvc, powervc_emulator):
    assert_unauthorized(requests.get(pvc.compute + "/servers", verify=powervc_emulator.ca_path), powervc_emulator)
    assert_unauthorized(pvc.call("GET", "/servers", token="bogus"), powervc_emulator)
    assert_unauthorized(pvc.call("GET", "/no-such-api", token="bogus"), powervc_emulator)
    powervc_emulator.admin.expire_sessions()
    assert_unauthorized(pvc.call("GET", "/virtual-serial-number"), powervc_emulator)
    # A short TTL expires by itself; re-authentication then works.
    powervc_emulator.admin.action("settings", {"token_ttl": 0.3})
    client = Client(powervc_emulator)
    assert client.call("GET", "/servers").status_code == 200
    time.sleep(0.4)
    assert_unauthorized(client.call("GET", "/servers"), powervc_emulator)
    assert Client(powervc_emulator).call("GET", "/servers").status_code == 200


# 4 -----------------------------------------------------------------------------------------
def test_contract_4_both_path_forms_and_tenant_mismatch(pvc, powervc_emulator):
    project = powervc_emulator.info["project_id"]
    for prefix in ("/v2.1/", "/powervc/openstack/compute/v2.1/"):
        response = pvc.call("GET", "/virtual-serial-number", url=powervc_emulator.url + prefix + project)
        assert response.status_code == 200, prefix
    wrong = "b" * 32
    response = pvc.call("GET", "/servers", url=powervc_emulator.url + "/v2.1/" + wrong)
    assert_nova_fault(response, 400, "badRequest")
    assert response.json()["badRequest"]["message"] == (
        "Malformed request URL: URL's project_id '%s' doesn't match Context's project_id '%s'" % (wrong, project))


# 5 -----------------------------------------------------------------------------------------
def test_contract_5_list_reserved_only_with_host_filter(pvc):
    reserved = pvc.reserved()
    assert set(reserved) == {"ABCD001", "CDF0002", "CDF0003", "HMC0009"}  # not free, not assigned ones
    assert reserved["ABCD001"] == {"virtual_serial_number": "ABCD001", "host": HOST_A,
                                   "description": "kept from deleted ibmi-old-01"}
    assert set(pvc.reserved(HOST_HMC)) == {"HMC0009"}
    assert pvc.reserved(HOST_B) == {}
    for other_form in ("9080-HEX*1234ABC", "prod-p10-a", "nonsense"):
        assert pvc.reserved(other_form) == {}


# 6 -----------------------------------------------------------------------------------------
def move(pvc, spec):
    return pvc.call("PUT", "/virtual-serial-number", params={"action": "move"}, json={"move_vsns": spec})


def test_contract_6_move_vsns(pvc, powervc_emulator):
    spec = {"source_host": HOST_A, "target_host": HOST_B, "vsns": ["CDF0003", "CDF0002"]}
    for missing in ("source_host", "target_host", "vsns"):
        assert_nova_fault(move(pvc, {k: v for k, v in spec.items() if k != missing}), 400, "badRequest")
    assert_nova_fault(move(pvc, dict(spec, target_host="9999XYZ_0000000")), 404, "itemNotFound")
    assert_nova_fault(move(pvc, dict(spec, source_host="9080-HEX*1234ABC")), 404, "itemNotFound")
    assert_nova_fault(move(pvc, dict(spec, vsns=["CDF0011"])), 400, "badRequest")  # lives on HOST_B
    assert_nova_fault(move(pvc, dict(spec, vsns=["ABCD100"])), 400, "badRequest")  # in use by a VM
    response = move(pvc, spec)
    assert response.status_code == 202 and response.content == b""
    assert set(pvc.reserved(HOST_B)) == {"CDF0002", "CDF0003"}
    assert powervc_emulator.admin.mutations()[-1]["body"] == {"move_vsns": spec}


def test_contract_6_move_shows_after_configured_delay(pvc, powervc_emulator):
    powervc_emulator.admin.action("settings", {"move_delay": 0.4})
    response = move(pvc, {"source_host": HOST_A, "target_host": HOST_B, "vsns": ["ABCD001"]})
    assert response.status_code == 202
    assert pvc.reserved()["ABCD001"]["host"] == HOST_A
    time.sleep(0.5)
    assert pvc.reserved()["ABCD001"]["host"] == HOST_B


# 7 -----------------------------------------------------------------------------------------
def vsn_post(pvc, action, body):
    return pvc.call("POST", "/virtual-serial-number", params={"action": action}, json=body)


def test_contract_7_reserve_update_unreserve(pvc):
    reserve = {"virtual_serial_number": "ABCD567", "description": "Sample description"}
    response = vsn_post(pvc, "reserve", reserve)
    assert response.status_code == 200 and response.content == b""
    assert pvc.reserved()["ABCD567"]["description"] == "Sample description"
    assert_nova_fault(vsn_post(pvc, "reserve", reserve), 409, "conflictingRequest")
    update = {"virtual_serial_number": "ABCD567", "description": "updated description"}
    assert vsn_post(pvc, "update_reservation", update).status_code == 200
    assert pvc.reserved()["ABCD567"]["description"] == "updated description"
    assert vsn_post(pvc, "unreserve", {"virtual_serial_number": "ABCD001"}).status_code == 200
    assert "ABCD001" not in pvc.reserved() and "ABCD001" in pvc.free_vsns(HOST_A)
    assert_nova_fault(vsn_post(pvc, "unreserve", {"virtual_serial_number": "ABCD001"}), 404, "itemNotFound")
    assert_nova_fault(vsn_post(pvc, "unreserve", {"virtual_serial_number": "ZZZ9999"}), 404, "itemNotFound")
    for bad in ("abcd567", "ABCD56", "ABCD-67", 1234567, None):
        assert_nova_fault(vsn_post(pvc, "reserve", {"virtual_serial_number": bad}), 400, "badRequest")


def test_contract_7_hmc_managed_host_400(pvc):
    assert_nova_fault(vsn_post(pvc, "reserve", {"virtual_serial_number": "HMC0002"}), 400, "badRequest")
    assert_nova_fault(vsn_post(pvc, "unreserve", {"virtual_serial_number": "HMC0009"}), 400, "badRequest")
    assert_nova_fault(vsn_post(pvc, "update_reservation", {"virtual_serial_number": "HMC0009",
                                                           "description": "x"}), 400, "badRequest")


def test_contract_7_reserving_assigned_vsn_waits_for_unassign_or_delete(pvc):
    assert vsn_post(pvc, "reserve", {"virtual_serial_number": "ABCD100", "description": "keep"}).status_code == 200
    assert "ABCD100" not in pvc.reserved() and pvc.vsn_of(PROD) == "ABCD100"
    assert pvc.call("POST", "/servers/%s/action" % PROD, json={"os-stop": None}).status_code == 202
    assert pvc.call("POST", "/servers/%s/action" % PROD, json={"unassign_vsn": None}).status_code == 202
    assert pvc.reserved()["ABCD100"] == {"virtual_serial_number": "ABCD100", "host": HOST_A, "description": "keep"}
    assert vsn_post(pvc, "reserve", {"virtual_serial_number": "CDF0010"}).status_code == 200
    assert pvc.call("DELETE", "/servers/" + DEV).status_code == 204
    assert pvc.reserved()["CDF0010"]["host"] == HOST_B


# 8 -----------------------------------------------------------------------------------------
def test_contract_8_unknown_or_missing_action_and_invalid_json(pvc):
    body = {"virtual_serial_number": "ABCD567"}
    assert_nova_fault(pvc.call("POST", "/virtual-serial-number", json=body), 400, "badRequest")
    assert_nova_fault(vsn_post(pvc, "bogus", body), 400, "badRequest")
    assert_nova_fault(pvc.call("PUT", "/virtual-serial-number", params={"action": "reserve"}, json=body),
                      400, "badRequest")
    assert_nova_fault(pvc.call("PUT", "/virtual-serial-number", json=body), 400, "badRequest")
    typographic = "{ \u201cvirtual_serial_number\u201d: \u201cABCD567\u201d }".encode()
    response = pvc.call("POST", "/virtual-serial-number", params={"action": "reserve"}, data=typographic,
                        headers={"Content-Type": "application/json"})
    assert_nova_fault(response, 400, "badRequest")
    assert "ABCD567" not in pvc.reserved()


# 9 -----------------------------------------------------------------------------------------
def test_contract_9_servers_carry_vsn_none_status_host(pvc, powervc_emulator):
    listed = {s["id"]: s for s in pvc.call("GET", "/servers").json()["servers"]}
    assert {k: s["virtual_serial_number"] for k, s in listed.items()} == {
        PROD: "ABCD100", TEST: "none", DEV: "CDF0010", LEGACY: "HMC0001"}
    assert set(listed[PROD]) == {"id", "name", "links", "virtual_serial_number"}
    detail = {s["id"]: s for s in pvc.call("GET", "/servers/detail").json()["servers"]}
    assert detail[TEST]["virtual_serial_number"] == "none"
    assert (detail[PROD]["status"], detail[TEST]["status"]) == ("ACTIVE", "SHUTOFF")
    assert detail[DEV]["OS-EXT-SRV-ATTR:host"] == HOST_B
    shown = pvc.call("GET", "/servers/" + PROD).json()["server"]
    assert (shown["virtual_serial_number"], shown["status"], shown["OS-EXT-SRV-ATTR:host"]) == (
        "ABCD100", "ACTIVE", HOST_A)
    # Nova's default policy shows the host to admins only.
    member = Client(powervc_emulator, admin=False)
    assert "OS-EXT-SRV-ATTR:host" not in member.call("GET", "/servers/" + PROD).json()["server"]


# 10 ----------------------------------------------------------------------------------------
def server_action(pvc, server_id, body):
    return pvc.call("POST", "/servers/%s/action" % server_id, json=body)


def test_contract_10_assign_auto_and_unassign(pvc):
    free = pvc.free_vsns(HOST_A)
    response = server_action(pvc, TEST, {"assign_vsn": {"virtual_serial_number": "auto"}})
    assert response.status_code == 202 and response.content == b""
    vsn = pvc.vsn_of(TEST)
    assert vsn in free and vsn not in pvc.free_vsns(HOST_A)
    assert_nova_fault(server_action(pvc, TEST, {"assign_vsn": {"virtual_serial_number": "auto"}}),
                      409, "conflictingRequest")  # already has one
    response = server_action(pvc, TEST, {"unassign_vsn": None})
    assert response.status_code == 202 and response.content == b""
    assert pvc.vsn_of(TEST) == "none"
    assert vsn in pvc.free_vsns(HOST_A) and vsn not in pvc.reserved()  # back to the pool, not reserved
    assert server_action(pvc, TEST, {"assign_vsn": {"virtual_serial_number": "ABCDEFG"}}).status_code == 202
    assert pvc.vsn_of(TEST) == "ABCDEFG"


def test_contract_10_conflicts_and_bad_input(pvc):
    assert_nova_fault(server_action(pvc, TEST, {"assign_vsn": {"virtual_serial_number": "ABCD100"}}),
                      409, "conflictingRequest")  # used by ibmi-prod-01
    active = server_action(pvc, PROD, {"unassign_vsn": None})
    assert_nova_fault(active, 409, "conflictingRequest")
    assert "vm_state active" in active.json()["conflictingRequest"]["message"]
    assert_nova_fault(server_action(pvc, TEST, {"assign_vsn": {"virtual_serial_number": "CDF0011"}}),
                      400, "badRequest")  # belongs to another host
    assert_nova_fault(server_action(pvc, TEST, {"assign_vsn": {"virtual_serial_number": "abc"}}), 400, "badRequest")
    assert_nova_fault(server_action(pvc, TEST, {"no_such": None}), 400, "badRequest")
    assert_nova_fault(server_action(pvc, "0" * 8, {"unassign_vsn": None}), 404, "itemNotFound")


def test_contract_10_assign_shows_after_configured_delay(pvc, powervc_emulator):
    powervc_emulator.admin.action("settings", {"assign_delay": 0.4})
    assert server_action(pvc, DEV, {"unassign_vsn": None}).status_code == 202
    assert pvc.vsn_of(DEV) == "CDF0010"
    time.sleep(0.5)
    assert pvc.vsn_of(DEV) == "none"


# 11 ----------------------------------------------------------------------------------------
def create(pvc, name, vsn=None, zone=None):
    flavor = {"name": "ibmi-small", "vcpus": 1, "ram": 8192, "disk": 0}
    if vsn:
        flavor["extra_specs"] = {"powervm:virtual_serial_number": vsn}
    server = {"name": name, "imageRef": "ibmi-7.5-base", "flavor": flavor, "networks": [{"uuid": "net-1"}]}
    if zone:
        server["availability_zone"] = zone
    return pvc.call("POST", "/servers", json={"server": server})


def test_contract_11_create_server_with_flavor_vsn(pvc):
    response = create(pvc, "ibmi-auto", "auto", ":" + HOST_B)
    assert response.status_code == 202
    assert pvc.vsn_of(response.json()["server"]["id"]) in ("CDF0011", "CDF0012", "CDF0013")
    explicit = create(pvc, "ibmi-explicit", "ABCD001")  # a reserved VSN is reused (and consumed)
    assert pvc.vsn_of(explicit.json()["server"]["id"]) == "ABCD001" and "ABCD001" not in pvc.reserved()
    assert pvc.vsn_of(create(pvc, "ibmi-plain").json()["server"]["id"]) == "none"
    assert_nova_fault(create(pvc, "ibmi-taken", "ABCD100"), 409, "conflictingRequest")
    assert_nova_fault(create(pvc, "ibmi-bad", "abc"), 400, "badRequest")


# 12 ----------------------------------------------------------------------------------------
def test_contract_12_hypervisors_detail_admin_only(pvc, powervc_emulator):
    response = pvc.call("GET", "/os-hypervisors/detail")
    assert response.status_code == 200
    services = {h["service"]["host"]: h["service"]["host_display_name"] for h in response.json()["hypervisors"]}
    assert services == {HOST_A: "prod-p10-a", HOST_B: "dr-p10-b", HOST_HMC: "legacy-p9-c"}
    member = Client(powervc_emulator, admin=False)
    assert_nova_fault(member.call("GET", "/os-hypervisors/detail"), 403, "forbidden")


# 13 ----------------------------------------------------------------------------------------
def test_contract_13_nova_fault_envelope_everywhere(pvc):
    assert_nova_fault(pvc.call("GET", "/servers/no-such-server"), 404, "itemNotFound")
    assert_nova_fault(pvc.call("GET", "/no-such-collection"), 404, "itemNotFound")
    assert_nova_fault(pvc.call("DELETE", "/servers/no-such-server"), 404, "itemNotFound")
    assert_nova_fault(pvc.call("POST", "/servers", data=b"{not json"), 400, "badRequest")
    assert_nova_fault(server_action(pvc, PROD, {"os-start": None}), 409, "conflictingRequest")


# faults ------------------------------------------------------------------------------------
def test_fault_status(pvc, powervc_emulator):
    body = {"computeFault": {"code": 503, "message": "Service Unavailable"}}
    powervc_emulator.admin.fault(method="GET", path="/servers$", status=503, body=body)
    response = pvc.call("GET", "/servers")
    assert response.status_code == 503 and response.json() == body
    assert pvc.call("GET", "/servers").status_code == 200


def test_fault_delay(pvc, powervc_emulator):
    powervc_emulator.admin.fault(path="/virtual-serial-number", delay=0.3)
    started = time.monotonic()
    assert pvc.call("GET", "/virtual-serial-number").status_code == 200
    assert time.monotonic() - started >= 0.3


def test_fault_drop(pvc, powervc_emulator):
    powervc_emulator.admin.fault(method="GET", path="/servers", drop=True)
    with pytest.raises(requests.ConnectionError):
        pvc.call("GET", "/servers")
    assert pvc.call("GET", "/servers").status_code == 200


def test_fault_expire_session(pvc, powervc_emulator):
    powervc_emulator.admin.fault(path="/servers", expire_session=True)
    assert_unauthorized(pvc.call("GET", "/servers"), powervc_emulator)
    assert Client(powervc_emulator).call("GET", "/servers").status_code == 200


def test_fault_after_move_happens_but_response_is_lost(pvc, powervc_emulator):
    powervc_emulator.admin.fault(method="PUT", path="/virtual-serial-number", after=True, status=500,
                                 body={"computeFault": {"code": 500, "message": "lost"}})
    response = move(pvc, {"source_host": HOST_A, "target_host": HOST_B, "vsns": ["CDF0003"]})
    assert response.status_code == 500
    assert pvc.reserved()["CDF0003"]["host"] == HOST_B


def test_contract_13_odd_input_is_a_4xx_in_the_right_envelope_never_a_500(pvc):
    """Items 8 and 13: malformed input is the client's error (400 badRequest), not an emulator crash."""
    odd = [
        ("GET", "/servers", dict(params={"name": "("})),
        ("GET", "/servers/detail", dict(params={"name": "[a-"})),
        ("POST", "/virtual-serial-number?action=reserve", dict(json=["ABCD567"])),
        ("POST", "/virtual-serial-number?action=reserve", dict(json={"virtual_serial_number": 7})),
        ("POST", "/virtual-serial-number?action=update_reservation",
         dict(json={"virtual_serial_number": "ABCD001", "description": None})),
        ("PUT", "/virtual-serial-number?action=move", dict(json={"move_vsns": ["x"]})),
        ("PUT", "/virtual-serial-number?action=move",
         dict(json={"move_vsns": {"source_host": HOST_A, "target_host": HOST_B, "vsns": [1]}})),
        ("POST", "/servers/%s/action" % TEST, dict(json={"assign_vsn": "ABCD567"})),
        ("POST", "/servers/%s/action" % TEST, dict(json=[1])),
        ("POST", "/servers", dict(json={"server": {"name": "x", "flavor": {"extra_specs": {
            "powervm:virtual_serial_number": 5}}}})),
    ]
    for method, path, kwargs in odd:
        response = pvc.call(method, path, **kwargs)
        assert_nova_fault(response, 400, "badRequest")
    for methods in (7, None, {"password": 1}):
        body = auth_request("root", "passw0rd")
        body["auth"]["identity"]["methods"] = methods
        response = pvc.post_auth(body)
        assert response.status_code in (400, 401) and set(response.json()) == {"error"}, response.text
