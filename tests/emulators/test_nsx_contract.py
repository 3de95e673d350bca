"""Contract tests of the NSX-T Manager emulator: nsx.md section 7, items 1-11, over raw HTTP."""

import re
import time
from http import HTTPStatus

import pytest
import requests

from tests.emulators.nsx import (DEFAULT_SEED, LS_APP, LS_DB, LS_WEB, VM_APP01, VM_DB01, VM_GONE,
                                 VM_WEB01, VM_WEB02)

PRE = "/api/v1/migration/vmgroup?action=pre_migrate"
POST = "/api/v1/migration/vmgroup?action=post_migrate"
DETAILS = "/api/v1/migration/vmgroup/actions/get_vm_group_execution_details"
FINALIZE = "/api/v1/migration?action=finalize_infra"
AUTH_BODY = {"error_code": 98, "module_name": "common-services",
             "error_message": "The credentials were incorrect or the account specified has been locked",
             "httpStatus": "FORBIDDEN"}


@pytest.fixture
def nsx(nsx_emulator):
    return nsx_emulator


def call(nsx, method, path, auth="default", **kwargs):
    if auth == "default":
        auth = (nsx.info["username"], nsx.info["password"])
    return requests.request(method, nsx.url + path, auth=auth, verify=nsx.ca_path, timeout=5, **kwargs)


def details(nsx, group_id, **params):
    return call(nsx, "GET", DETAILS, params=dict(group_id=group_id, **params))


def login(nsx, user=None, password=None):
    response = requests.post(nsx.url + "/api/session/create", verify=nsx.ca_path, timeout=5,
                             data={"j_username": user or nsx.info["username"],
                                   "j_password": password or nsx.info["password"]})
    return response


def session_headers(response):
    sid = re.match(r"JSESSIONID=([^;]+);", response.headers["Set-Cookie"]).group(1)
    return {"Cookie": "JSESSIONID=" + sid, "X-XSRF-TOKEN": response.headers["X-XSRF-TOKEN"]}


def assert_api_error(response, status, code=None):
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    body = response.json()
    assert "error_code" in body and body["error_message"]
    if code is not None:
        assert body["error_code"] == code
    return body


# -- 1. paths --------------------------------------------------------------------------------
def test_contract_1_the_paths_are_served(nsx):
    assert call(nsx, "POST", PRE, json={"group_id": "wave-01", "vm_instance_ids": [VM_WEB01]}).status_code == 204
    assert details(nsx, "wave-01").status_code == 200
    assert call(nsx, "POST", POST, json={"group_id": "wave-01"}).status_code == 204
    assert call(nsx, "POST", FINALIZE).status_code == 204
    assert login(nsx).status_code == 200


@pytest.mark.parametrize("method, path", [
    ("GET", "/api/v1/nowhere"),
    ("POST", "/api/v1/migration/vmgroup?action=migrate"),
    ("POST", "/api/v1/migration/vmgroup"),
    ("POST", "/api/v1/migration?action=finalize"),
    ("GET", "/api/v1/migration/vmgroup?action=pre_migrate"),
    ("POST", DETAILS + "?group_id=wave-00"),
    ("POST", "/api/v1/migration/vmgroup/actions/pre_migrate"),
])
def test_contract_1_anything_else_is_404_api_error(nsx, method, path):
    assert_api_error(call(nsx, method, path, json={"group_id": "wave-00", "vm_instance_ids": [VM_WEB01]}), 404)
    assert nsx.admin.state()["groups"].keys() == {"wave-00"}


# -- 2. Basic auth -----------------------------------------------------------------------------
@pytest.mark.parametrize("auth", [("admin", "wrong"), ("nobody", "VMware1!VMware1!"), None])
def test_contract_2_bad_basic_auth_is_403_98(nsx, auth):
    for method, path in (("GET", DETAILS + "?group_id=wave-00"), ("POST", PRE), ("POST", FINALIZE)):
        response = call(nsx, method, path, auth=auth, json={"group_id": "x", "vm_instance_ids": ["y"]})
        assert response.status_code == 403
        assert response.json() == AUTH_BODY
    assert nsx.admin.state()["finalize_count"] == 0


def test_contract_2_basic_auth_on_every_call_any_user(nsx):
    assert call(nsx, "GET", DETAILS + "?group_id=wave-00", auth=("migrator@corp.local", "Migr8-Wave!")).ok
    response = call(nsx, "GET", DETAILS, headers={"Authorization": "Basic !!notbase64"}, auth=None)
    assert response.status_code == 403 and response.json() == AUTH_BODY
    # Not even ASCII (items 2 and 11: an auth failure is the 403/98 ApiError, never a 500 text page).
    for value in ("Basic \u00e4\u00f6\u00fc=", "Basic " + "\u00ff" * 8):
        response = call(nsx, "GET", DETAILS, headers={"Authorization": value.encode("latin-1")}, auth=None)
        assert response.status_code == 403 and response.json() == AUTH_BODY


# -- 3. session create -------------------------------------------------------------------------
def test_contract_3_session_create_form_encoded(nsx):
    response = login(nsx)
    assert response.status_code == 200
    assert re.fullmatch(r"JSESSIONID=[^;]+; Path=/; Secure; HttpOnly", response.headers["Set-Cookie"])
    assert response.headers["X-XSRF-TOKEN"]
    assert requests.get(nsx.url + DETAILS, params={"group_id": "wave-00"}, headers=session_headers(response),
                        verify=nsx.ca_path, timeout=5).status_code == 200


def test_contract_3_session_create_rejects_bad_or_json_credentials(nsx):
    assert login(nsx, password="wrong").json() == AUTH_BODY
    response = requests.post(nsx.url + "/api/session/create", verify=nsx.ca_path, timeout=5,
                             json={"j_username": nsx.info["username"], "j_password": nsx.info["password"]})
    assert response.status_code == 403 and response.json()["error_code"] == 98
    assert nsx.admin.state()["sessions"] == []


# -- 4. XSRF -----------------------------------------------------------------------------------
@pytest.mark.parametrize("token", [None, "not-the-token"])
def test_contract_4_cookie_without_matching_xsrf_token_is_403_98(nsx, token):
    headers = session_headers(login(nsx))
    headers.pop("X-XSRF-TOKEN")
    if token:
        headers["X-XSRF-TOKEN"] = token
    response = requests.get(nsx.url + DETAILS, params={"group_id": "wave-00"}, headers=headers,
                            verify=nsx.ca_path, timeout=5)
    assert response.status_code == 403 and response.json() == AUTH_BODY


# -- 5. session expiry and destroy -------------------------------------------------------------
def get_with(nsx, headers):
    return requests.get(nsx.url + DETAILS, params={"group_id": "wave-00"}, headers=headers,
                        verify=nsx.ca_path, timeout=5)


def test_contract_5_idle_session_expires(nsx):
    assert nsx.admin.state()["session_timeout"] == 1800
    nsx.admin.action("settings", {"session_timeout": 0.3})
    headers = session_headers(login(nsx))
    for dummy in range(3):  # use keeps it alive: 0.45 s in total, never 0.3 s idle
        time.sleep(0.15)
        assert get_with(nsx, headers).status_code == 200
    time.sleep(0.4)
    response = get_with(nsx, headers)
    assert response.status_code == 403 and response.json()["error_code"] == 98
    assert call(nsx, "GET", DETAILS + "?group_id=wave-00").status_code == 200  # Basic is unaffected


def test_contract_5_idle_timeout_from_seed(nsx):
    nsx.reset(dict(DEFAULT_SEED, session_timeout=0.1))
    headers = session_headers(login(nsx))
    time.sleep(0.2)
    assert get_with(nsx, headers).json() == AUTH_BODY


def test_contract_5_session_destroy_invalidates_at_once(nsx):
    headers = session_headers(login(nsx))
    response = requests.post(nsx.url + "/api/session/destroy", headers=headers, verify=nsx.ca_path, timeout=5)
    assert response.status_code == 200
    assert get_with(nsx, headers).json() == AUTH_BODY


# -- 6. pre_migrate ----------------------------------------------------------------------------
@pytest.mark.parametrize("body, field", [
    ({"vm_instance_ids": [VM_WEB01]}, "group_id"),
    ({"group_id": 12345, "vm_instance_ids": [VM_WEB01]}, "group_id"),
    ({"group_id": "wave-01"}, "vm_instance_ids"),
    ({"group_id": "wave-01", "vm_instance_ids": []}, "vm_instance_ids"),
])
def test_contract_6_pre_migrate_validation_names_the_field(nsx, body, field):
    error = assert_api_error(call(nsx, "POST", PRE, json=body), 400)
    assert field in error["error_message"]
    assert nsx.admin.state()["groups"].keys() == {"wave-00"}


def test_contract_6_pre_migrate_success_is_204_empty(nsx):
    response = call(nsx, "POST", PRE, json={"group_id": "wave-01", "vm_instance_ids": [VM_WEB01, VM_WEB02]})
    assert response.status_code == 204 and response.content == b""
    group = nsx.admin.state()["groups"]["wave-01"]
    assert group["vm_instance_ids"] == [VM_WEB01, VM_WEB02] and group["state"] == "pre_migrated"


def test_contract_6_second_pre_migrate_needs_allow_override(nsx):
    body = {"group_id": "wave-00", "vm_instance_ids": [VM_DB01]}
    assert_api_error(call(nsx, "POST", PRE, json=body), 400)
    assert call(nsx, "POST", PRE, json=dict(body, allow_override=True)).status_code == 204
    group = nsx.admin.state()["groups"]["wave-00"]
    assert group["vm_instance_ids"] == [VM_DB01] and group["pre_migrate_count"] == 2


def test_contract_6_success_status_200_selectable(nsx):
    nsx.admin.action("settings", {"success_status": 200})
    response = call(nsx, "POST", PRE, json={"group_id": "wave-01", "vm_instance_ids": [VM_WEB01]})
    assert response.status_code == 200 and response.content == b""
    assert call(nsx, "POST", POST, json={"group_id": "wave-01"}).status_code == 200
    nsx.reset(dict(DEFAULT_SEED, success_status=200))
    assert call(nsx, "POST", FINALIZE).status_code == 200


# -- 7. get_vm_group_execution_details ---------------------------------------------------------
def test_contract_7_details_needs_group_id_and_a_known_group(nsx):
    assert_api_error(call(nsx, "GET", DETAILS), 400)
    assert_api_error(details(nsx, "wave-99"), 404)


def test_contract_7_details_groups_vnics_by_segment(nsx):
    call(nsx, "POST", PRE, json={"group_id": "wave-01", "vm_instance_ids": [VM_WEB01, VM_WEB02, VM_DB01]})
    response = details(nsx, "wave-01", federation_site_id="site-a")
    assert response.status_code == 200
    body = response.json()
    assert "failed_vm_instance_ids" not in body and "cursor" not in body
    assert body["logical_switch_id_to_vm_instance_id_and_vnics_map"] == [
        {"ls_id": LS_WEB, "vm_and_vnics_mapping": [{"vm_instance_id": VM_WEB01, "vnics": ["4000"]},
                                                   {"vm_instance_id": VM_WEB02, "vnics": ["4000"]}]},
        {"ls_id": LS_DB, "vm_and_vnics_mapping": [{"vm_instance_id": VM_WEB01, "vnics": ["4001"]},
                                                  {"vm_instance_id": VM_DB01, "vnics": ["4000"]}]},
    ]


def test_contract_7_ids_missing_from_inventory_are_failed(nsx):
    body = details(nsx, "wave-00").json()
    assert body["failed_vm_instance_ids"] == [VM_GONE]
    assert body["logical_switch_id_to_vm_instance_id_and_vnics_map"] == [
        {"ls_id": LS_APP, "vm_and_vnics_mapping": [{"vm_instance_id": VM_APP01, "vnics": ["4000"]}]}]


def test_contract_7_inventory_admin_action_replaces_inventory(nsx):
    nsx.admin.action("inventory", {VM_GONE: [{"vnic": 4000, "ls_id": LS_DB}, {"vnic": 4002, "ls_id": LS_DB}]})
    body = details(nsx, "wave-00").json()
    assert body["failed_vm_instance_ids"] == [VM_APP01]
    assert body["logical_switch_id_to_vm_instance_id_and_vnics_map"] == [
        {"ls_id": LS_DB, "vm_and_vnics_mapping": [{"vm_instance_id": VM_GONE, "vnics": ["4000", "4002"]}]}]


def test_contract_7_optional_pagination_with_cursor(nsx):
    nsx.reset(dict(DEFAULT_SEED, page_size=1))
    call(nsx, "POST", PRE, json={"group_id": "wave-01", "vm_instance_ids": [VM_WEB01, VM_APP01, VM_GONE]})
    pages, cursor = [], None
    while True:
        body = details(nsx, "wave-01", **({"cursor": cursor} if cursor else {})).json()
        assert body["result_count"] == 3 and body["failed_vm_instance_ids"] == [VM_GONE]
        pages.append([e["ls_id"] for e in body["logical_switch_id_to_vm_instance_id_and_vnics_map"]])
        cursor = body.get("cursor")
        if not cursor:
            break
    assert pages == [[LS_WEB], [LS_DB], [LS_APP]]


# -- 8. post_migrate ---------------------------------------------------------------------------
def test_contract_8_post_migrate_unknown_group_is_404(nsx):
    assert_api_error(call(nsx, "POST", POST, json={"group_id": "wave-99", "failed_vm_instance_ids": []}), 404)


def test_contract_8_post_migrate_records_failed_ids(nsx):
    body = {"group_id": "wave-00", "failed_vm_instance_ids": [VM_GONE], "allow_override": False}
    response = call(nsx, "POST", POST, json=body)
    assert response.status_code == 204 and response.content == b""
    group = nsx.admin.state()["groups"]["wave-00"]
    assert group["failed_vm_instance_ids"] == [VM_GONE] and group["state"] == "post_migrated"


# -- 9. finalize_infra -------------------------------------------------------------------------
def test_contract_9_finalize_infra_empty_body_204(nsx):
    response = call(nsx, "POST", FINALIZE)
    assert response.status_code == 204 and response.content == b""
    assert nsx.admin.state()["finalize_count"] == 1


# -- 10. NSX fault kinds -----------------------------------------------------------------------
@pytest.mark.parametrize("kind, status, code, module", [
    ("rate_limit", 429, 102, "common-services"),
    ("unavailable", 503, 103, "common-services"),
    ("busy", 400, 30722, "migration-coordinator"),
    ("aborted", 500, 607, "common-services"),
])
def test_contract_10_fault_kinds_n_times(nsx, kind, status, code, module):
    nsx.admin.action("nsx-fault", {"kind": kind, "call": "pre_migrate", "times": 2})
    body = {"group_id": "wave-01", "vm_instance_ids": [VM_WEB01]}
    assert details(nsx, "wave-00").status_code == 200  # another call: untouched
    for dummy in range(2):
        error = assert_api_error(call(nsx, "POST", PRE, json=body), status, code)
        assert error["httpStatus"] == HTTPStatus(status).name
        assert error["module_name"] == module
    assert call(nsx, "POST", PRE, json=body).status_code == 204


def test_contract_10_busy_body_and_string_error_code(nsx):
    nsx.admin.action("nsx-fault", {"kind": "busy", "call": "get_vm_group_execution_details", "string_code": True})
    assert details(nsx, "wave-00").json() == {
        "httpStatus": "BAD_REQUEST", "error_code": "30722", "module_name": "migration-coordinator",
        "error_message": "Migration coordinator backend is busy. Please try again after some time."}
    assert details(nsx, "wave-00").status_code == 200


# -- 11. error bodies --------------------------------------------------------------------------
def test_contract_11_every_error_body_is_json_with_code_and_message(nsx):
    nsx.admin.action("nsx-fault", {"kind": "unavailable", "call": "finalize_infra"})
    responses = [
        call(nsx, "GET", "/nowhere"),
        call(nsx, "GET", DETAILS, auth=("admin", "bad")),
        login(nsx, password="bad"),
        call(nsx, "POST", PRE, data=b"not json", headers={"Content-Type": "application/json"}),
        call(nsx, "POST", PRE, json={"group_id": "g", "vm_instance_ids": "not-a-list"}),
        call(nsx, "POST", POST, json={"group_id": "wave-00", "failed_vm_instance_ids": "x"}),
        call(nsx, "POST", POST, json={}),
        call(nsx, "GET", DETAILS, params={"group_id": "nope"}),
        call(nsx, "POST", FINALIZE),
    ]
    for response in responses:
        assert response.status_code >= 400
        assert_api_error(response, response.status_code)


# -- framework fault kinds ---------------------------------------------------------------------
def test_fault_status(nsx):
    nsx.admin.fault(method="GET", path="get_vm_group_execution_details", status=502, body="Bad Gateway")
    response = details(nsx, "wave-00")
    assert response.status_code == 502 and response.text == "Bad Gateway"
    assert details(nsx, "wave-00").status_code == 200


def test_fault_delay(nsx):
    nsx.admin.fault(path="get_vm_group_execution_details", delay=0.3)
    started = time.monotonic()
    assert details(nsx, "wave-00").status_code == 200
    assert time.monotonic() - started >= 0.3


def test_fault_drop(nsx):
    nsx.admin.fault(method="POST", query="action=post_migrate", drop=True)
    with pytest.raises(requests.ConnectionError):
        call(nsx, "POST", POST, json={"group_id": "wave-00"})
    assert nsx.admin.state()["groups"]["wave-00"]["post_migrate_count"] == 0


def test_fault_expire_session(nsx):
    headers = session_headers(login(nsx))
    nsx.admin.fault(path="get_vm_group_execution_details", expire_session=True)
    assert get_with(nsx, headers).json() == AUTH_BODY
    assert nsx.admin.state()["sessions"] == []


def test_fault_after_pre_migrate_lost_then_retry_with_override(nsx):
    nsx.admin.fault(method="POST", query="action=pre_migrate", after=True, drop=True)
    body = {"group_id": "wave-01", "vm_instance_ids": [VM_WEB01]}
    with pytest.raises(requests.ConnectionError):
        call(nsx, "POST", PRE, json=body)
    assert "wave-01" in nsx.admin.state()["groups"]  # it happened; the client never heard
    assert call(nsx, "POST", PRE, json=body).status_code == 400
    assert call(nsx, "POST", PRE, json=dict(body, allow_override=True)).status_code == 204
