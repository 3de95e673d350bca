"""NsxClient against the NSX emulator: auth modes, retries, session expiry, errors, pagination."""

import pytest

from ansible_collections.hybridcloud.migration.plugins.module_utils import _errors
from ansible_collections.hybridcloud.migration.plugins.module_utils._http import Response
from ansible_collections.hybridcloud.migration.plugins.module_utils._polling import Backoff
from ansible_collections.hybridcloud.migration.plugins.module_utils.nsx import NsxClient, base_url, merge_detail_pages, nsx_code
from tests.emulators.nsx import LS_DB, LS_WEB, VM_APP01, VM_GONE, VM_WEB01, VM_WEB02

FAST = dict(initial=0.001, factor=2.0, maximum=0.004, jitter=0)


def client(nsx, auth="basic", password=None, tries=8):
    return NsxClient(nsx.url, nsx.info["username"], password or nsx.info["password"], ca_path=nsx.ca_path, auth=auth,
                     tries=tries, backoff=Backoff(**FAST))


def calls(nsx):
    return [(e["path"], e["query"], e["status"], e["injected"]) for e in nsx.admin.journal()]


@pytest.mark.parametrize("auth", ["basic", "session"])
def test_full_sequence(nsx_emulator, auth):
    nsx = client(nsx_emulator, auth)
    if auth == "session":
        nsx.login()
    assert nsx.pre_migrate("wave-01", [VM_WEB01, VM_WEB02, VM_GONE]) is None  # 204, empty body
    details = nsx.get_vm_group_execution_details("wave-01")
    assert details["failed_vm_instance_ids"] == [VM_GONE]
    by_ls = dict((e["ls_id"], e["vm_and_vnics_mapping"]) for e in details["logical_switch_id_to_vm_instance_id_and_vnics_map"])
    assert by_ls[LS_WEB] == [{"vm_instance_id": VM_WEB01, "vnics": ["4000"]}, {"vm_instance_id": VM_WEB02, "vnics": ["4000"]}]
    assert by_ls[LS_DB] == [{"vm_instance_id": VM_WEB01, "vnics": ["4001"]}]
    nsx.post_migrate("wave-01", [VM_GONE, VM_GONE])
    nsx.finalize_infra()
    nsx.close()
    state = nsx_emulator.admin.state()
    assert state["groups"]["wave-01"]["failed_vm_instance_ids"] == [VM_GONE] and state["finalize_count"] == 1
    assert state["sessions"] == []  # logged out
    if auth == "session":
        assert calls(nsx_emulator)[0][0] == "/api/session/create"
        assert calls(nsx_emulator)[-1][0] == "/api/session/destroy"


def test_success_status_200_and_missing_failed_key(nsx_emulator):
    nsx_emulator.admin.action("settings", {"success_status": 200})
    nsx = client(nsx_emulator)
    nsx.pre_migrate("w", [VM_APP01])
    assert nsx.get_vm_group_execution_details("w")["failed_vm_instance_ids"] == []


@pytest.mark.parametrize("kind,status", [("busy", 400), ("rate_limit", 429), ("unavailable", 503), ("aborted", 500)])
def test_retryable_faults(nsx_emulator, kind, status):
    nsx_emulator.admin.action("nsx-fault", {"kind": kind, "call": "pre_migrate", "times": 3, "string_code": True})
    nsx = client(nsx_emulator)
    nsx.pre_migrate("w", [VM_APP01])
    journal = calls(nsx_emulator)
    assert [c[2] for c in journal] == [status, status, status, 204]
    assert nsx.calls == 4


def test_gives_up_after_max_tries(nsx_emulator):
    nsx_emulator.admin.action("nsx-fault", {"kind": "busy", "call": "post_migrate", "times": 20})
    nsx = client(nsx_emulator, tries=3)
    with pytest.raises(_errors.ApiError) as info:
        nsx.post_migrate("wave-00", [])
    assert nsx.calls == 3
    assert info.value.status == 400 and info.value.code == 30722
    assert str(info.value).startswith("post_migrate on VM group wave-00 failed: Migration coordinator backend is busy")


def test_string_error_code_is_parsed(nsx_emulator):
    nsx_emulator.admin.action("nsx-fault", {"kind": "aborted", "call": "finalize_infra", "times": 5, "string_code": True})
    with pytest.raises(_errors.ApiError) as info:
        client(nsx_emulator, tries=2).finalize_infra()
    assert info.value.code == 607 and "error code 607" in str(info.value)


def test_not_retried_errors(nsx_emulator):
    nsx = client(nsx_emulator)
    with pytest.raises(_errors.ApiError) as info:
        nsx.pre_migrate("wave-00", [VM_APP01])  # exists, allow_override false
    assert info.value.status == 400 and info.value.code == 30723 and nsx.calls == 1
    with pytest.raises(_errors.NotFoundError):
        nsx.post_migrate("nope")
    assert nsx.get_vm_group_execution_details("nope", missing_ok=True) is None


def test_bad_credentials(nsx_emulator):
    for auth in ("basic", "session"):
        nsx = client(nsx_emulator, auth, password="wrong-password")
        with pytest.raises(_errors.AuthError) as info:
            nsx.login() if auth == "session" else nsx.get_vm_group_execution_details("wave-00")
        assert info.value.code == 98 and "wrong-password" not in str(info.value)


def test_session_expiry_relogin_once(nsx_emulator):
    nsx = client(nsx_emulator, "session")
    nsx.login()
    first = nsx.session.headers["X-XSRF-TOKEN"]
    nsx_emulator.admin.expire_sessions()
    assert nsx.get_vm_group_execution_details("wave-00")["failed_vm_instance_ids"] == [VM_GONE]
    assert nsx.session.headers["X-XSRF-TOKEN"] != first
    assert [c[0] for c in calls(nsx_emulator)] == ["/api/session/create", "/api/session/create"]
    assert first in nsx.redact.secrets  # tokens are masked in every message


def test_basic_auth_403_is_not_relogin(nsx_emulator):
    nsx = client(nsx_emulator, "basic", password="wrong-password")
    with pytest.raises(_errors.AuthError):
        nsx.finalize_infra()
    assert [c[0] for c in calls(nsx_emulator)] == ["/api/v1/migration"]


def test_pagination_merges_pages(nsx_emulator):
    nsx_emulator.admin.action("settings", {"page_size": 1})
    details = client(nsx_emulator).get_vm_group_execution_details("wave-00")
    assert details["failed_vm_instance_ids"] == [VM_GONE]
    nsx = client(nsx_emulator)
    nsx.pre_migrate("w", [VM_WEB01, VM_WEB02, VM_APP01])
    details = nsx.get_vm_group_execution_details("w")
    assert nsx.calls == 1 + 3  # one GET per segment page
    assert [e["ls_id"] for e in details["logical_switch_id_to_vm_instance_id_and_vnics_map"]] == [LS_WEB, LS_DB, "c5b8e3a4-1f0d-4a7e-9b61-2d3f4a5b6c02"]


def test_merge_detail_pages_deduplicates():
    page = {"logical_switch_id_to_vm_instance_id_and_vnics_map": [
        {"ls_id": "a", "vm_and_vnics_mapping": [{"vm_instance_id": "v1", "vnics": [4000]}]}],
        "failed_vm_instance_ids": ["x", "x"], "cursor": "1", "result_count": 2}
    second = {"logical_switch_id_to_vm_instance_id_and_vnics_map": [
        {"ls_id": "a", "vm_and_vnics_mapping": [{"vm_instance_id": "v1", "vnics": ["4000", "4001"]}]}],
        "failed_vm_instance_ids": None}
    merged = merge_detail_pages([page, second, {}])
    assert merged == {"logical_switch_id_to_vm_instance_id_and_vnics_map": [
        {"ls_id": "a", "vm_and_vnics_mapping": [{"vm_instance_id": "v1", "vnics": ["4000", "4001"]}]}],
        "failed_vm_instance_ids": ["x"]}


def test_parse_error_variants():
    nsx = NsxClient("https://127.0.0.1:1", "u", "secret-pw")
    assert nsx.parse_error(Response(400, {}, {"error_code": "269", "error_message": "m"}, "")) == (269, "m")
    assert nsx.parse_error(Response(400, {}, {"error_message": "m", "related_errors": [{"error_message": "r"}]}, "")) == \
        (None, "m (related: r)")
    assert nsx.parse_error(Response(502, {}, "<html>Bad gateway</html>", "")) == (None, "<html>Bad gateway</html>")
    assert nsx.parse_error(Response(502, {}, None, "")) == (None, None)
    assert nsx.is_retryable(Response(400, {}, {"error_code": "30722"}, ""))
    assert not nsx.is_retryable(Response(400, {}, {"error_code": 255}, ""))
    assert nsx.is_retryable(Response(500, {}, {"error_code": 607}, "")) and not nsx.is_retryable(Response(500, {}, "x", ""))
    assert nsx_code("abc") == "abc" and nsx_code(None) is None
    assert base_url("nsx.example.com", 8443) == "https://nsx.example.com:8443"
    assert base_url("https://h:1/", 443) == "https://h:1"


def test_pre_migrate_resent_with_allow_override_after_unknown_outcome(nsx_emulator, monkeypatch):
    nsx = client(nsx_emulator)
    sent = []
    real = nsx._post_vmgroup

    def flaky(action, body):
        sent.append(body["allow_override"])
        real(action, body)
        if len(sent) == 1:  # the call reached NSX, but the answer was lost
            raise _errors.TransportError("connection reset", operation=action)
    monkeypatch.setattr(nsx, "_post_vmgroup", flaky)
    nsx.pre_migrate("w", [VM_APP01])
    assert sent == [False, True]
    assert nsx_emulator.admin.state()["groups"]["w"]["pre_migrate_count"] == 2


# -- audit against nsx.md: variants an independent NSX Manager may show -------------------------
def test_busy_details_call_is_retried_even_when_the_group_may_be_missing(nsx_emulator):
    """nsx.md section 5: 400/30722 is "try again", not section 8's "400 or 404 = unknown group"."""
    nsx_emulator.admin.action("nsx-fault", {"kind": "busy", "call": "get_vm_group_execution_details", "times": 2})
    nsx = client(nsx_emulator)
    details = nsx.get_vm_group_execution_details("wave-00", missing_ok=True)
    assert details is not None and details["failed_vm_instance_ids"] == [VM_GONE]
    assert nsx.calls == 3


@pytest.mark.parametrize("status, body", [
    (400, {"httpStatus": "BAD_REQUEST", "error_code": 600, "error_message": "group nope is unknown"}),
    (404, {"error_code": "600", "error_message": "The requested object : nope could not be found."}),
    (404, "<html>Not Found</html>"),
])
def test_unknown_group_is_400_or_404_with_any_body(nsx_emulator, status, body):
    nsx_emulator.admin.fault(method="GET", path="/get_vm_group_execution_details", status=status, body=body)
    nsx = client(nsx_emulator)
    assert nsx.get_vm_group_execution_details("nope", missing_ok=True) is None
    assert nsx.calls == 1


def test_session_login_with_several_cookies_in_one_answer(nsx_emulator):
    """The JSESSIONID cookie is found among other cookies (a load balancer's, NSX's own XSRF cookie)."""
    import requests
    info = nsx_emulator.info
    real = requests.post(nsx_emulator.url + "/api/session/create", verify=nsx_emulator.ca_path, timeout=10,
                         data={"j_username": info["username"], "j_password": info["password"]})
    sid = real.cookies["JSESSIONID"]
    cookies = ["LBROUTE=node-2; Path=/; HttpOnly",
               "JSESSIONID=%s; Path=/; Secure; HttpOnly" % sid, "XSRF-TOKEN=abc; Path=/"]
    nsx_emulator.admin.fault(method="POST", path="/api/session/create", status=200, body="",
                             headers={"Set-Cookie": cookies, "X-XSRF-TOKEN": real.headers["X-XSRF-TOKEN"]})
    nsx = client(nsx_emulator, "session")
    nsx.login()
    assert nsx.session.headers["Cookie"] == "JSESSIONID=%s" % sid
    assert nsx.get_vm_group_execution_details("wave-00")["failed_vm_instance_ids"] == [VM_GONE]
    nsx.close()


@pytest.mark.parametrize("status", [401, 403])
def test_session_relogin_on_401_or_403_with_any_body(nsx_emulator, status):
    """nsx.md section 8: an expired session may be 401 or 403, with any body: re-login once."""
    nsx = client(nsx_emulator, "session")
    nsx.login()
    nsx_emulator.admin.fault(method="POST", path="/api/v1/migration$", status=status, body="Session expired")
    nsx.finalize_infra()
    assert [c[0] for c in calls(nsx_emulator)] == ["/api/session/create", "/api/v1/migration",
                                                   "/api/session/create", "/api/v1/migration"]
    nsx.close()


@pytest.mark.parametrize("status, body", [(200, ""), (204, ""), (200, {}), (200, {"group_id": "w", "status": "OK"}),
                                          (202, "")])
def test_any_2xx_is_success_for_pre_post_finalize(nsx_emulator, status, body):
    nsx_emulator.admin.fault(method="POST", path="/api/v1/migration", status=status, body=body, times=3)
    nsx = client(nsx_emulator)
    nsx.pre_migrate("w", [VM_APP01])
    nsx.post_migrate("w", [])
    nsx.finalize_infra()
    assert nsx.calls == 3


def test_non_json_proxy_error_is_reported_and_not_retried(nsx_emulator):
    nsx_emulator.admin.fault(method="POST", path="/api/v1/migration", status=502,
                             body="<html><body>502 Bad Gateway</body></html>")
    nsx = client(nsx_emulator)
    with pytest.raises(_errors.ApiError) as info:
        nsx.finalize_infra()
    assert info.value.status == 502 and "502 Bad Gateway" in str(info.value) and nsx.calls == 1


def test_wire_format_of_the_calls(nsx_emulator):
    """group_id always a string; finalize_infra without a body; form-encoded login with both headers after."""
    nsx = client(nsx_emulator, "session")
    nsx.login()
    nsx.pre_migrate(42, [VM_APP01])
    nsx.post_migrate(42, [VM_APP01])
    nsx.finalize_infra()
    nsx.close()
    journal = nsx_emulator.admin.journal()
    assert [e["body"]["group_id"] for e in journal if e["path"] == "/api/v1/migration/vmgroup"] == ["42", "42"]
    assert [e["body"] for e in journal if e["path"] == "/api/v1/migration"] == [None]


def test_logout_of_an_already_expired_session_is_quiet(nsx_emulator):
    """A session that idled out is gone already: destroy's 401/403 is not an error."""
    nsx = client(nsx_emulator, "session")
    nsx.login()
    nsx_emulator.admin.expire_sessions()
    nsx.close()
    assert [c[0] for c in calls(nsx_emulator)] == ["/api/session/create", "/api/session/destroy"]


def test_basic_mode_keeps_no_cookie(nsx_emulator):
    """Basic mode must not turn into a cookie-authenticated call (which needs X-XSRF-TOKEN, nsx.md 7.4)."""
    nsx_emulator.admin.fault(method="GET", path="/get_vm_group_execution_details", status=200, body={},
                             headers={"Set-Cookie": "JSESSIONID=ABCDEF0123456789; Path=/; Secure; HttpOnly"})
    nsx = client(nsx_emulator)
    nsx.get_vm_group_execution_details("wave-00")
    assert len(nsx.session.cookies) == 0
    assert nsx.get_vm_group_execution_details("wave-00")["failed_vm_instance_ids"] == [VM_GONE]


def test_connection_parameter_error_names_the_option():
    from ansible_collections.hybridcloud.migration.plugins.module_utils import _errors, nsx as nsx_module
    refused = _errors.AuthError("The credentials were incorrect", operation="GET", status=403, code=98)
    assert "parameter 'nsx_password'" in str(nsx_module.connection_parameter_error(refused))
    tls = _errors.TransportError("TLS error: certificate verify failed", operation="GET")
    assert "parameter 'nsx_ca_cert'" in str(nsx_module.connection_parameter_error(tls))
    down = _errors.TransportError("Connection refused", operation="GET")
    assert "parameter 'nsx_hostname'" in str(nsx_module.connection_parameter_error(down))

    class LoggedIn:
        auth, logged_in = "session", True
    # The login worked: a 403 afterwards is no credential problem and stays what it is.
    assert nsx_module.connection_parameter_error(refused, LoggedIn()) is refused


def test_pre_migrate_sends_each_vm_once(nsx_emulator):
    """A VM listed twice (a merged inventory, a copy-paste) is one VM of the group: NSX is sent each id once,
    in the order given (duplicates could make NSX refuse the group, or create two segment ports)."""
    nsx = client(nsx_emulator)
    nsx.pre_migrate("w", [VM_WEB01, VM_APP01, VM_WEB01])
    assert nsx_emulator.admin.state()["groups"]["w"]["vm_instance_ids"] == [VM_WEB01, VM_APP01]
