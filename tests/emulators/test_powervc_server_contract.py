"""Contract tests of the PowerVC emulator's server create path (powervc.md section 4 create example, section 7
items 3, 4, 9, 11, 13), over raw HTTP."""

import time

import pytest
import requests

from tests.emulators.powervc import HOST_A, HOST_B
from tests.emulators.test_powervc_contract import Client, assert_nova_fault, assert_unauthorized

IMAGE, FLAVOR, NET = "ibmi-7.5-base", "ibmi-small", "net-1"


@pytest.fixture
def pvc(powervc_emulator):
    return Client(powervc_emulator)


def create(pvc, name, vsn=None, zone=None, **server):
    """The create example of section 4: an inline flavor with the VSN extra spec."""
    flavor = {"vcpus": 1, "ram": 8192, "disk": 0, "extra_specs": {"powervm:proc_units": "0.5"}}
    if vsn:
        flavor["extra_specs"]["powervm:virtual_serial_number"] = vsn
    body = dict({"name": name, "imageRef": IMAGE, "flavor": flavor, "networks": [{"uuid": NET}]}, **server)
    if zone:
        body["availability_zone"] = zone
    return pvc.call("POST", "/servers", json={"server": body})


def show(pvc, server_id):
    response = pvc.call("GET", "/servers/" + server_id)
    assert response.status_code == 200, response.text
    return response.json()["server"]


def listed_vsn(pvc, server_id):
    """The VSN as GET /servers (the list IBM documents it on) shows it."""
    return next(s["virtual_serial_number"] for s in pvc.call("GET", "/servers").json()["servers"]
                if s["id"] == server_id)


def test_image_listing_and_show(pvc):
    images = pvc.call("GET", "/images/detail").json()["images"]
    assert {"ibmi-7.5-base": "IBM i 7.5 base"}.items() <= {i["id"]: i["name"] for i in images}.items()
    assert all(i["status"] == "ACTIVE" for i in images)
    assert {i["id"] for i in pvc.call("GET", "/images").json()["images"]} == {i["id"] for i in images}
    assert pvc.call("GET", "/images/" + IMAGE).json()["image"]["name"] == "IBM i 7.5 base"
    assert_nova_fault(pvc.call("GET", "/images/nope"), 404, "itemNotFound")


def test_flavor_listing_show_and_extra_specs(pvc):
    flavors = {f["id"]: f for f in pvc.call("GET", "/flavors/detail").json()["flavors"]}
    assert (flavors[FLAVOR]["vcpus"], flavors[FLAVOR]["ram"], flavors[FLAVOR]["disk"]) == (1, 8192, 0)
    assert pvc.call("GET", "/flavors/" + FLAVOR).json()["flavor"]["name"] == FLAVOR
    specs = pvc.call("GET", "/flavors/%s/os-extra_specs" % FLAVOR).json()["extra_specs"]
    assert specs["powervm:proc_units"] == "0.5"
    assert_nova_fault(pvc.call("GET", "/flavors/nope/os-extra_specs"), 404, "itemNotFound")


def test_network_and_zone_listings(pvc):
    networks = {n["id"]: n["label"] for n in pvc.call("GET", "/os-networks").json()["networks"]}
    assert networks[NET] == "prod-vlan10"
    assert pvc.call("GET", "/os-networks/" + NET).json()["network"]["label"] == "prod-vlan10"
    zones = pvc.call("GET", "/os-availability-zone").json()["availabilityZoneInfo"]
    assert [z["zoneName"] for z in zones] == ["Default Group"]


def test_item_3_and_4_new_paths_need_a_token_and_serve_under_the_proxy_path(pvc, powervc_emulator):
    for path in ("/images/detail", "/flavors/detail", "/os-networks"):
        assert_unauthorized(pvc.call("GET", path, token=""), powervc_emulator)
        proxy = pvc.compute.replace("/v2.1/", "/powervc/openstack/compute/v2.1/")
        assert pvc.call("GET", path, url=proxy).status_code == 200


def test_item_11_create_with_auto_builds_then_active_with_vsn_from_the_zone_host(pvc, powervc_emulator):
    powervc_emulator.admin.action("settings", {"build_time": 0.5})
    response = create(pvc, "ibmi-auto", "auto", ":" + HOST_B)
    assert response.status_code == 202 and response.headers["Location"].endswith(response.json()["server"]["id"])
    server_id = response.json()["server"]["id"]
    building = show(pvc, server_id)
    assert building["status"] == "BUILD" and building["OS-EXT-STS:task_state"] == "spawning"
    assert building["OS-EXT-STS:vm_state"] == "building"
    assert listed_vsn(pvc, server_id) in ("CDF0011", "CDF0012", "CDF0013")  # assigned at create
    time.sleep(0.6)
    active = show(pvc, server_id)
    assert active["status"] == "ACTIVE" and active["OS-EXT-STS:task_state"] is None
    assert active["OS-EXT-SRV-ATTR:host"] == HOST_B and active["image"]["id"] == IMAGE
    assert active["addresses"]["prod-vlan10"][0]["version"] == 4


def test_item_11_reserved_vsn_is_used_and_consumed_zone_forms(pvc):
    explicit = create(pvc, "ibmi-explicit", "ABCD001", "Default Group:" + HOST_A)
    assert explicit.status_code == 202, explicit.text
    server = show(pvc, explicit.json()["server"]["id"])
    assert server["virtual_serial_number"] == "ABCD001" and "ABCD001" not in pvc.reserved()
    assert server["OS-EXT-AZ:availability_zone"] == "Default Group"
    assert_nova_fault(create(pvc, "ibmi-zone", "auto", "No Such Zone"), 400, "badRequest")
    assert_nova_fault(create(pvc, "ibmi-host", "auto", ":9999XXX_0000000"), 400, "badRequest")
    # without a VSN extra spec: no VSN ("none" on the list, section 8 key)
    plain = create(pvc, "ibmi-plain")
    assert listed_vsn(pvc, plain.json()["server"]["id"]) == "none"


def test_item_11_flavor_ref_and_fixed_ip(pvc):
    response = pvc.call("POST", "/servers", json={"server": {
        "name": "aix-ref", "imageRef": IMAGE, "flavorRef": FLAVOR,
        "networks": [{"uuid": NET, "fixed_ip": "10.10.10.77"}]}})
    assert response.status_code == 202, response.text
    server = show(pvc, response.json()["server"]["id"])
    assert server["flavor"]["id"] == FLAVOR and server["addresses"]["prod-vlan10"][0]["addr"] == "10.10.10.77"
    taken = pvc.call("POST", "/servers", json={"server": {
        "name": "aix-dup", "imageRef": IMAGE, "flavorRef": FLAVOR, "networks": [{"uuid": NET, "fixed_ip": "10.10.10.77"}]}})
    assert_nova_fault(taken, 400, "badRequest")


def test_item_11_and_13_bad_create_requests_are_nova_faults_and_create_nothing(pvc, powervc_emulator):
    before = len(powervc_emulator.admin.state()["servers"])
    assert_nova_fault(create(pvc, "x", imageRef="no-such-image"), 400, "badRequest")
    assert_nova_fault(create(pvc, "x", networks=[{"uuid": "no-such-net"}]), 400, "badRequest")
    assert_nova_fault(create(pvc, "x", networks=[{"uuid": NET, "fixed_ip": "ten.0.0.1"}]), 400, "badRequest")
    assert_nova_fault(pvc.call("POST", "/servers", json={"server": {"name": "x", "imageRef": IMAGE,
                                                                    "flavorRef": "no-such-flavor"}}), 400, "badRequest")
    assert_nova_fault(pvc.call("POST", "/servers", json={"server": {"name": "x", "imageRef": IMAGE,
                                                                    "flavor": {"vcpus": 0, "ram": 1}}}), 400, "badRequest")
    assert_nova_fault(create(pvc, "x", "ABCD100"), 409, "conflictingRequest")  # in use by ibmi-prod-01
    assert_nova_fault(create(pvc, "x", "abcd567"), 400, "badRequest")  # not upper case: not a VSN
    assert len(powervc_emulator.admin.state()["servers"]) == before


def test_build_fault_puts_the_server_in_error_with_a_fault(pvc, powervc_emulator):
    powervc_emulator.admin.action("settings", {"build_time": 0.2, "build_faults": {"^doomed": "No valid host was found."}})
    server_id = create(pvc, "doomed-1", "auto").json()["server"]["id"]
    time.sleep(0.3)
    server = show(pvc, server_id)
    assert server["status"] == "ERROR" and server["OS-EXT-STS:vm_state"] == "error"
    assert server["fault"]["code"] == 500 and server["fault"]["message"] == "No valid host was found."
    detail = next(s for s in pvc.call("GET", "/servers/detail").json()["servers"] if s["id"] == server_id)
    assert detail["fault"]["message"] == "No valid host was found."
    assert pvc.call("DELETE", "/servers/" + server_id).status_code == 204  # an ERROR server can be deleted


def test_lost_create_answer_the_server_exists_and_the_journal_shows_one_post(pvc, powervc_emulator):
    powervc_emulator.admin.clear_journal()
    powervc_emulator.admin.fault(method="POST", path="/servers$", after=True, drop=True)
    with pytest.raises(requests.ConnectionError):
        create(pvc, "ibmi-lost", "auto")
    names = [s["name"] for s in pvc.call("GET", "/servers").json()["servers"]]
    assert names.count("ibmi-lost") == 1
    posts = [e for e in powervc_emulator.admin.mutations() if e["path"].endswith("/servers")]
    assert len(posts) == 1 and posts[0]["body"]["server"]["name"] == "ibmi-lost" and posts[0]["status"] == 202


def test_vsn_reserved_while_on_a_server_is_listed_after_the_delete(pvc):
    """Section 3: a VSN still on a VM can be reserved; it is listed once the VM is deleted."""
    server_id = create(pvc, "ibmi-keep", "ABCD567", ":" + HOST_A).json()["server"]["id"]
    assert pvc.call("POST", "/virtual-serial-number?action=reserve",
                    json={"virtual_serial_number": "ABCD567", "description": "keep"}).status_code == 200
    assert "ABCD567" not in pvc.reserved()
    assert pvc.call("DELETE", "/servers/" + server_id).status_code == 204
    assert pvc.reserved()["ABCD567"]["host"] == HOST_A
    assert_nova_fault(pvc.call("GET", "/servers/" + server_id), 404, "itemNotFound")


def test_non_admin_creates_too_but_sees_no_host(powervc_emulator):
    member = Client(powervc_emulator, admin=False)
    response = create(member, "member-vm", "auto")
    assert response.status_code == 202
    assert "OS-EXT-SRV-ATTR:host" not in show(member, response.json()["server"]["id"])


def test_item_11_flavor_ref_with_an_inline_vsn_extra_spec(pvc):
    response = pvc.call("POST", "/servers", json={"server": {
        "name": "ibmi-ref-vsn", "imageRef": IMAGE, "flavorRef": FLAVOR,
        "flavor": {"extra_specs": {"powervm:virtual_serial_number": "ABCD567"}}, "availability_zone": ":" + HOST_A}})
    assert response.status_code == 202, response.text
    assert listed_vsn(pvc, response.json()["server"]["id"]) == "ABCD567"


def test_vsn_after_build_setting_shows_none_while_building(pvc, powervc_emulator):
    """Section 8 leaves open when a new server's VSN shows; vsn_after_build hides it during BUILD."""
    powervc_emulator.admin.action("settings", {"build_time": 0.5, "vsn_after_build": True})
    server_id = create(pvc, "ibmi-late", "auto", ":" + HOST_B).json()["server"]["id"]
    assert show(pvc, server_id)["status"] == "BUILD" and listed_vsn(pvc, server_id) == "none"
    time.sleep(0.6)
    assert show(pvc, server_id)["status"] == "ACTIVE" and listed_vsn(pvc, server_id) != "none"


def test_delete_time_setting_keeps_the_server_deleting_until_it_is_gone(pvc, powervc_emulator):
    """Nova's DELETE is asynchronous: 204 at once, task_state 'deleting', then 404."""
    powervc_emulator.admin.action("settings", {"delete_time": 0.5})
    server_id = create(pvc, "ibmi-going", None).json()["server"]["id"]
    assert pvc.call("DELETE", "/servers/" + server_id).status_code == 204
    assert show(pvc, server_id)["OS-EXT-STS:task_state"] == "deleting"
    time.sleep(0.6)
    assert pvc.call("GET", "/servers/" + server_id).status_code == 404


def test_server_lists_are_paged_with_a_next_link_as_nova_does(pvc, powervc_emulator):
    """Nova's osapi_max_limit: a full page carries servers_links rel=next with limit and marker."""
    powervc_emulator.admin.action("settings", {"max_limit": 2})
    every, path = [], "/servers/detail"
    while True:
        body = pvc.call("GET", path).json()
        every += [s["id"] for s in body["servers"]]
        links = [link["href"] for link in body.get("servers_links", []) if link["rel"] == "next"]
        if not links:
            break
        assert len(body["servers"]) == 2 and "marker=" in links[0] and "limit=2" in links[0]
        path = "/servers/detail?" + links[0].split("?", 1)[1]
    assert len(every) == len(set(every)) == len(powervc_emulator.admin.state()["servers"]) > 2
    assert_nova_fault(pvc.call("GET", "/servers?marker=no-such-server"), 400, "badRequest")
