"""PowerVC client: keystoneauth + RestClient against the PowerVC emulator, and credential sources."""

import pytest

from ansible_collections.hybridcloud.migration.plugins.module_utils import _errors, powervc
from ansible_collections.hybridcloud.migration.plugins.module_utils._http import Redactor
from ansible_collections.hybridcloud.migration.plugins.module_utils._polling import FakeClock

PASSWORD = "passw0rd"


def params(handle, **overrides):
    info = handle.info
    values = dict(cloud=None, auth=dict(auth_url=info["auth_url"], username=info["username"], password=info["password"],
                                        project_name=info["project_name"]),
                  auth_type=None, region_name=None, interface=None, validate_certs=None, ca_cert=handle.ca_path,
                  api_timeout=None)
    values.update(overrides)
    return values


def make_client(handle, warnings=None, **overrides):
    settings = powervc.connection_settings(params(handle, **overrides), environ={})
    sink = warnings if warnings is not None else []
    return powervc.PowerVCClient(settings, redactor=Redactor(), warn=sink.append, clock=FakeClock())


def token_posts(handle):
    return [e for e in handle.admin.journal() if e["method"] == "POST" and e["path"] == "/v3/auth/tokens"]


# -- credentials ------------------------------------------------------------------------------
EMPTY = dict(cloud=None, auth=None, auth_type=None, region_name=None, interface=None, validate_certs=None,
             ca_cert=None, api_timeout=None)


def test_settings_from_os_environment_variables():
    env = {"OS_AUTH_URL": "https://pvc:5000", "OS_USERNAME": "root", "OS_PASSWORD": "pw",
           "OS_PROJECT_ID": "p1", "OS_USER_DOMAIN_NAME": "Default"}
    settings = powervc.connection_settings(dict(EMPTY), environ=env)
    assert settings["auth"] == {"auth_url": "https://pvc:5000/v3", "username": "root", "password": "pw",
                                "project_id": "p1", "user_domain_name": "Default"}
    assert settings["verify"] is True and settings["interface"] == "public" and settings["api_timeout"] == 60


def test_explicit_auth_wins_over_environment_and_domains_default():
    env = {"OS_AUTH_URL": "https://env:5000/v3", "OS_USERNAME": "env", "OS_PASSWORD": "envpw", "OS_PROJECT_NAME": "p"}
    settings = powervc.connection_settings(dict(EMPTY, auth={"username": "root", "password": None}), environ=env)
    assert settings["auth"] == {"auth_url": "https://env:5000/v3", "username": "root", "password": "envpw",
                                "project_name": "p", "user_domain_name": "Default", "project_domain_name": "Default"}


def test_cloud_entry_is_the_base_and_options_override_it():
    cloud = {"auth": {"auth_url": "https://c:5000/v3/", "username": "u", "password": "pw", "project_name": "p",
                      "token": "ignored"},
             "verify": False, "cacert": "/ca.pem", "region_name": "R1", "interface": "internal", "api_timeout": "30",
             "auth_type": "password"}
    env = {"OS_PASSWORD": "not-used-with-a-cloud"}
    settings = powervc.connection_settings(dict(EMPTY, cloud="pvc"), environ=env, cloud_loader=lambda name: cloud)
    assert settings["auth"]["password"] == "pw" and "token" not in settings["auth"]
    assert settings["verify"] is False and settings["region_name"] == "R1" and settings["interface"] == "internal"
    assert settings["api_timeout"] == 30
    settings = powervc.connection_settings(dict(EMPTY, cloud="pvc", validate_certs=True, region_name="R2"),
                                           environ=env, cloud_loader=lambda name: dict(cloud, verify=True))
    assert settings["verify"] == "/ca.pem" and settings["region_name"] == "R2"


def test_missing_credentials_name_every_source():
    with pytest.raises(_errors.ParameterError, match=r"auth.password is missing; give it in 'auth', or OS_PASSWORD"):
        powervc.connection_settings(dict(EMPTY), environ={"OS_AUTH_URL": "https://x:5000"})
    with pytest.raises(_errors.ParameterError, match=r"auth.project_name or auth.project_id is missing"):
        powervc.connection_settings(dict(EMPTY, auth={"auth_url": "https://x", "username": "u", "password": "p"}),
                                    environ={})


def test_only_password_auth_and_keystone_v3():
    cloud = {"auth": {"auth_url": "https://c:5000/v3"}, "auth_type": "v3applicationcredential"}
    with pytest.raises(_errors.ParameterError, match="only password authentication"):
        powervc.connection_settings(dict(EMPTY, cloud="c"), environ={}, cloud_loader=lambda name: cloud)
    with pytest.raises(_errors.ParameterError, match="not a Keystone v3 URL"):
        powervc.keystone_v3_url("https://pvc:5000/v2.0")
    assert powervc.keystone_v3_url("https://pvc:5000/v3/") == "https://pvc:5000/v3"


def test_unknown_cloud_is_a_parameter_error(tmp_path, monkeypatch):
    config = tmp_path / "clouds.yaml"
    config.write_text("clouds:\n  pvc:\n    auth:\n      auth_url: https://pvc:5000/v3\n      password: pw\n"
                      "      username: root\n      project_name: ibm-default\n    verify: false\n")
    monkeypatch.setenv("OS_CLIENT_CONFIG_FILE", str(config))
    assert powervc.load_cloud("pvc")["auth"]["username"] == "root"
    with pytest.raises(_errors.ParameterError, match="parameter 'cloud': Cloud nope was not found"):
        powervc.load_cloud("nope")


# -- identity ---------------------------------------------------------------------------------
def test_login_uses_the_catalog_compute_endpoint_and_revokes_on_close(powervc_emulator):
    client = make_client(powervc_emulator)
    assert client.base_url == powervc_emulator.info["compute_url"]
    # keystoneauth's Adapter puts the token on each request and finds the endpoint in the catalog
    assert "X-Auth-Token" not in client.session.headers and client.adapter.service_type == "compute"
    assert client.token in client.redact.secrets and PASSWORD in client.redact.secrets
    assert powervc_emulator.admin.state()["valid_tokens"] == 1
    assert [s["name"] for s in client.list_servers()][:2] == ["ibmi-prod-01", "ibmi-test-02"]
    client.close()
    assert powervc_emulator.admin.state()["valid_tokens"] == 0
    revokes = [e for e in powervc_emulator.admin.journal() if e["method"] == "DELETE"]
    assert [(e["path"], e["status"]) for e in revokes] == [("/v3/auth/tokens", 204)]


def test_proxy_catalog_and_region(powervc_emulator):
    powervc_emulator.admin.action("settings", {"catalog": "proxy"})
    client = make_client(powervc_emulator, region_name="RegionOne")
    try:
        assert "/powervc/openstack/compute/v2.1/" in client.base_url
        assert client.list_reserved()
    finally:
        client.close()
    with pytest.raises(_errors.ApiError, match="compute endpoint lookup .*failed: the token's catalog has no usable"):
        make_client(powervc_emulator, region_name="Elsewhere")


def test_wrong_password_is_an_auth_error_with_keystone_code_and_no_secret(powervc_emulator):
    auth = dict(params(powervc_emulator)["auth"], password="Wr0ng-Secret")
    with pytest.raises(_errors.AuthError) as caught:
        make_client(powervc_emulator, auth=auth)
    text = str(caught.value)
    assert text.startswith("POST /v3/auth/tokens on user root in project ibm-default failed: The request you have made")
    assert "HTTP 401; error code Unauthorized" in text and "Wr0ng-Secret" not in text


def test_tls_verification_and_validate_certs_false(powervc_emulator, monkeypatch):
    with pytest.raises(_errors.TransportError, match="TLS error"):
        make_client(powervc_emulator, ca_cert=None)
    # requests would let this variable override a session-wide verify=False
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/nonexistent/ca-bundle.pem")
    client = make_client(powervc_emulator, ca_cert=None, validate_certs=False)
    try:
        assert client.keystone.verify is False and client.verify is False
        assert client.list_reserved()
    finally:
        client.close()


def test_expired_token_is_replaced_once_and_the_call_repeated(powervc_emulator):
    client = make_client(powervc_emulator)
    first = client.token
    powervc_emulator.admin.fault(method="GET", path="/virtual-serial-number", expire_session=True)
    try:
        assert len(client.list_reserved()) == 4
        assert client.token != first  # keystoneauth re-authenticated and repeated the call once
        assert first in client.redact.secrets and client.token in client.redact.secrets
        assert len(token_posts(powervc_emulator)) == 2
    finally:
        client.close()


def test_a_second_401_in_a_row_is_an_auth_error(powervc_emulator):
    client = make_client(powervc_emulator)
    body = {"error": {"code": 401, "title": "Unauthorized", "message": "The request you have made requires authentication."}}
    powervc_emulator.admin.fault(method="GET", path="/servers/detail", status=401, body=body, times=2)
    try:
        with pytest.raises(_errors.AuthError, match=r"GET /servers/detail failed: .*HTTP 401; error code Unauthorized"):
            client.list_servers()
    finally:
        client.close()


def test_token_near_expiry_is_replaced_before_the_call(powervc_emulator):
    powervc_emulator.admin.action("settings", {"token_ttl": 2})
    client = make_client(powervc_emulator)
    try:
        first, calls, posts = client.token, client.calls, len(token_posts(powervc_emulator))
        client.list_reserved()  # less than 1 h left: replaced before the call, once
        assert client.token != first and client.calls == calls + 1  # no 401 round trip
        assert len(token_posts(powervc_emulator)) == posts + 1
    finally:
        client.close()


def test_default_refresh_margin_is_one_hour(powervc_emulator):
    client = make_client(powervc_emulator)
    try:
        assert powervc.REFRESH_BEFORE == 3600
        posts = len(token_posts(powervc_emulator))
        client.list_reserved()
        client.list_servers()
        assert len(token_posts(powervc_emulator)) == posts  # a 6 h token is reused
    finally:
        client.close()


# -- Nova --------------------------------------------------------------------------------------
def test_nova_fault_envelope_becomes_the_typed_error(powervc_emulator):
    client = make_client(powervc_emulator)
    try:
        with pytest.raises(_errors.ConflictError) as caught:
            client.reserve("ABCD001", "again")
        assert str(caught.value) == ("POST /virtual-serial-number?action=reserve on VSN ABCD001 failed: Virtual serial "
                                     "number ABCD001 is already reserved. "
                                     "(HTTP 409; error code conflictingRequest)")
        with pytest.raises(_errors.ApiError, match=r"HTTP 400; error code badRequest"):
            client.reserve("HMC0002")
        with pytest.raises(_errors.NotFoundError, match="itemNotFound"):
            client.assign("nope", "auto")
    finally:
        client.close()


def test_hypervisors_are_read_once_and_403_means_not_readable(powervc_emulator):
    client = make_client(powervc_emulator)
    try:
        calls = client.calls
        assert [h["display_name"] for h in client.hosts()] == ["prod-p10-a", "dr-p10-b", "legacy-p9-c"]
        client.hosts()
        assert client.calls == calls + 1
    finally:
        client.close()
    info = powervc_emulator.info
    warnings = []
    auth = dict(params(powervc_emulator)["auth"], username=info["nonadmin_username"], password=info["nonadmin_password"])
    client = make_client(powervc_emulator, warnings, auth=auth)
    try:
        assert client.hosts() is None and "admin only" in warnings[0]
    finally:
        client.close()


def test_surprising_list_shape_is_parsed_and_warned_about(powervc_emulator):
    warnings = []
    client = make_client(powervc_emulator, warnings)
    powervc_emulator.admin.fault(method="GET", path="/virtual-serial-number", status=200,
                                 body=[{"vsn": "ABCD001", "host_mtms": "9080-HEX*1234ABC"}])
    try:
        assert client.list_reserved() == [{"virtual_serial_number": "ABCD001", "host": "9080-HEX*1234ABC",
                                           "description": ""}]
        assert "unexpected shape" in warnings[0] and "ABCD001" in warnings[0]
    finally:
        client.close()


def test_move_is_one_put_whatever_the_answer(powervc_emulator):
    """The host-form fallback and resends after uncertain answers are the module's: the client sends once."""
    client = make_client(powervc_emulator)
    powervc_emulator.admin.fault(method="PUT", path="/virtual-serial-number", status=404,
                                 body={"itemNotFound": {"code": 404, "message": "Compute host 9080HEX_1234ABC could not be found."}})
    try:
        with pytest.raises(_errors.NotFoundError, match="Compute host 9080HEX_1234ABC could not be found"):
            client.move("9080HEX_1234ABC", "9109RMD_1031CAT", ["CDF0002"])
        assert len([e for e in powervc_emulator.admin.journal() if e["method"] == "PUT"]) == 1
    finally:
        client.close()


def test_move_server_error_is_not_retried_with_another_form(powervc_emulator):
    client = make_client(powervc_emulator)
    powervc_emulator.admin.fault(method="PUT", path="/virtual-serial-number", status=500,
                                 body={"computeFault": {"code": 500, "message": "Unexpected API Error."}})
    try:
        with pytest.raises(_errors.ApiError, match=r"PUT /virtual-serial-number\?action=move on VSNs CDF0002 .*Unexpected API Error. \(HTTP 500; "
                                                   r"error code computeFault\)"):
            client.move("9080HEX_1234ABC", "9109RMD_1031CAT", ["CDF0002"])
        assert [e["injected"] for e in powervc_emulator.admin.journal() if e["method"] == "PUT"] == [True]
    finally:
        client.close()


def test_503_is_retried_for_reads_only(powervc_emulator):
    """A 503 may come after Nova did the work: a change is not resent blindly (the module re-reads first)."""
    client = make_client(powervc_emulator)
    busy = {"computeFault": {"code": 503, "message": "busy"}}
    powervc_emulator.admin.fault(method="GET", path="/virtual-serial-number", status=503, body=busy)
    powervc_emulator.admin.fault(method="POST", path="/virtual-serial-number", status=503, body=busy, after=True)
    try:
        assert client.list_reserved()
        assert len(client.clock.sleeps) == 1  # the read was retried once
        with pytest.raises(_errors.ApiError, match="busy"):
            client.update_reservation("CDF0002", "new text")
        assert len([e for e in powervc_emulator.admin.journal() if e["method"] == "POST" and "action=update" in e["query"]]) == 1
        assert [r["description"] for r in client.list_reserved() if r["virtual_serial_number"] == "CDF0002"] == ["new text"]
    finally:
        client.close()


def test_429_is_retried_for_changes_too(powervc_emulator):
    client = make_client(powervc_emulator)
    powervc_emulator.admin.fault(method="POST", path="/virtual-serial-number", status=429,
                                 body={"overLimit": {"code": 429, "message": "Rate limit exceeded"}})
    try:
        client.update_reservation("CDF0002", "new text")
        assert [r["description"] for r in client.list_reserved() if r["virtual_serial_number"] == "CDF0002"] == ["new text"]
    finally:
        client.close()


@pytest.mark.parametrize("url, problem", [
    ("https://127.0.0.1:70000/v3", "port that is not between 1 and 65535: 70000"),
    ("https://127.0.0.1:0/v3", "port that is not between 1 and 65535: 0"),
    ("ftp://127.0.0.1/v3", "must be an http(s) URL"),
    ("https:///v3", "must be an http(s) URL"),
    ("https://127.0.0.1:5000/v3?x=1", "must not carry credentials, a query"),
    ("https://root:pw@127.0.0.1:5000/v3", "must not carry credentials"),
    ("https://127.0.0.1:5000/a/../v3", "'..'"),
    ("https://127.0.0.1:5000/v3\u202e", "control or bidi"),
    ("https://127.0.0.1:5000 /v3", "control or bidi"),
])
def test_bad_auth_url_is_a_parameter_error(url, problem):
    with pytest.raises(_errors.ParameterError, match="parameter 'auth.auth_url' ") as caught:
        powervc.keystone_v3_url(url)
    assert problem in str(caught.value)


def test_create_answer_s_admin_password_is_masked_but_not_one_no_log_value_per_vm(powervc_emulator):
    """One no_log value per created VM would make Ansible's masking of a wave's result O(VMs squared)."""
    settings = powervc.connection_settings(params(powervc_emulator), environ={})
    announced = []
    client = powervc.PowerVCClient(settings, redactor=Redactor(on_secret=announced.append), warn=[].append,
                                   clock=FakeClock())
    try:
        before, known = list(announced), set(client.redact.secrets)
        created = client.create_server({"name": "pw-test", "imageRef": "ibmi-7.5-base",
                                        "flavor": {"vcpus": 1, "ram": 8192, "disk": 0, "extra_specs": {}}})
        assert created.get("id") and "adminPass" not in created
        assert announced == before  # not handed to Ansible's no_log values
        (password,) = set(client.redact.secrets) - known  # still masked in whatever this client reports
        assert password not in client.redact("echo %s" % password)
    finally:
        client.close()


def test_assign_and_unassign_bodies(powervc_emulator):
    client = make_client(powervc_emulator)
    server_id = powervc_emulator.info["servers"]["ibmi-test-02"]
    try:
        client.assign(server_id, "auto")
        assert client.server_vsns()[server_id] == "ABCD101"
        client.unassign(server_id)
        bodies = [e["body"] for e in powervc_emulator.admin.mutations() if e["path"].endswith("/action")]
        assert bodies == [{"assign_vsn": {"virtual_serial_number": "auto"}}, {"unassign_vsn": None}]
    finally:
        client.close()


def test_vsn_comes_from_get_servers_when_the_detail_list_lacks_it(powervc_emulator):
    client = make_client(powervc_emulator)
    server_id = powervc_emulator.info["servers"]["ibmi-prod-01"]
    powervc_emulator.admin.fault(method="GET", path="/servers/detail", status=200,
                                 body={"servers": [{"id": server_id, "name": "ibmi-prod-01", "status": "ACTIVE"}]})
    try:
        servers = client.list_servers()
        assert servers == [{"id": server_id, "name": "ibmi-prod-01", "status": "ACTIVE",
                            "virtual_serial_number": "ABCD100"}]
        assert client.server_vsns()[server_id] == "ABCD100"
    finally:
        client.close()


# -- audit against powervc.md: variants an independent PowerVC may show ------------------------
def _real_token(handle):
    """A token the emulator knows, obtained outside the client (for scripted Keystone answers)."""
    import requests
    info = handle.info
    body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": info["username"], "domain": {"name": "Default"}, "password": info["password"]}}},
        "scope": {"project": {"name": info["project_name"], "domain": {"name": "Default"}}}}}
    answer = requests.post(info["auth_url"] + "/auth/tokens", json=body, verify=handle.ca_path, timeout=10)
    assert answer.status_code == 201
    return answer.headers["X-Subject-Token"], answer.json()["token"]["expires_at"]


def test_minimal_doc_token_body_and_tenant_template_in_the_catalog(powervc_emulator):
    """powervc.md sections 1-2: the abridged body (no issued_at, user, methods) and a %(tenant_id)s URL."""
    token, expires_at = _real_token(powervc_emulator)
    info = powervc_emulator.info
    template = info["compute_url"].replace(info["project_id"], "%(tenant_id)s")
    body = {"token": {"expires_at": expires_at, "project": {"id": info["project_id"], "name": "ibm-default"},
                      "catalog": [{"type": "compute", "name": "nova", "endpoints": [
                          {"interface": "internal", "region": "RegionOne", "url": "https://internal.invalid:8774/v2.1"},
                          {"interface": "public", "region": "RegionOne", "url": template}]}]}}
    powervc_emulator.admin.fault(method="POST", path="/v3/auth/tokens", status=201, body=body,
                                 headers={"X-Subject-Token": token})
    client = make_client(powervc_emulator)
    try:
        assert client.base_url == info["compute_url"] and client.token == token
        assert len(client.list_reserved()) == 4
    finally:
        client.close()


def test_token_with_less_than_an_hour_left_is_replaced_before_each_call(powervc_emulator):
    """powervc.md section 1: re-authenticate when expires_at is less than 1 h away (whatever the TTL)."""
    powervc_emulator.admin.action("settings", {"token_ttl": 3000})
    client = make_client(powervc_emulator)
    try:
        first = client.token
        client.list_reserved()
        assert client.token != first and len(token_posts(powervc_emulator)) == 2
    finally:
        client.close()


@pytest.mark.parametrize("status, fault", [(409, "conflictingRequest"), (400, "badRequest")])
def test_assign_or_unassign_refused_for_the_power_state_says_stop_the_vm(powervc_emulator, status, fault):
    """powervc.md section 8: on 409/400 from assign/unassign report "stop the VM first"."""
    client = make_client(powervc_emulator)
    server_id = powervc_emulator.info["servers"]["ibmi-test-02"]
    body = {fault: {"code": status, "message": "Cannot 'assign_vsn' instance while it is in vm_state active"}}
    powervc_emulator.admin.fault(method="POST", path="/servers/.*/action", status=status, body=body, times=2)
    try:
        with pytest.raises(_errors.ApiError) as caught:
            client.assign(server_id, "ABCD567")
        assert "stop the VM first" in str(caught.value) and "vm_state active" in str(caught.value)
        assert caught.value.status == status and caught.value.code == fault
        with pytest.raises(_errors.ApiError, match="stop the VM first"):
            client.unassign(server_id)
    finally:
        client.close()


@pytest.mark.parametrize("body", [b"", b"{}", b'{"virtual_serial_number": "ABCD567"}', b"accepted"])
def test_any_2xx_answer_of_the_vsn_actions_is_success(powervc_emulator, body):
    """powervc.md section 8: reserve/unreserve/update/move/assign/unassign: any 2xx, empty, {} or JSON."""
    client = make_client(powervc_emulator)
    server_id = powervc_emulator.info["servers"]["ibmi-test-02"]
    text = body.decode()
    for method, path, status in (("POST", "/virtual-serial-number", 200), ("PUT", "/virtual-serial-number", 202),
                                 ("POST", "/servers/.*/action", 200)):
        powervc_emulator.admin.fault(method=method, path=path, status=status, body=text, times=10)
    try:
        client.reserve("ABCD567", "x")
        client.update_reservation("ABCD567", "y")
        client.unreserve("ABCD567")
        assert client.move("9080HEX_1234ABC", "9109RMD_1031CAT", ["CDF0002"]) is None
        client.assign(server_id, "auto")
        client.unassign(server_id)
    finally:
        client.close()


# -- keystoneauth1 Session / Adapter (issue 13 item 6) ------------------------------------------
def _closed_port():
    import socket
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def ks_sleeps(monkeypatch):
    """keystoneauth's connection-retry delays, recorded instead of slept (the <5 s budget is their sum)."""
    from keystoneauth1 import session as ks_session
    slept = []
    monkeypatch.setattr(ks_session.time, "sleep", slept.append)
    return slept


def test_refused_keystone_fails_fast_naming_host_and_port(powervc_emulator, ks_sleeps):
    port = _closed_port()
    auth = dict(params(powervc_emulator)["auth"], auth_url="https://127.0.0.1:%d/v3" % port)
    with pytest.raises(_errors.TransportError) as caught:
        make_client(powervc_emulator, auth=auth)
    text = str(caught.value)
    assert text.startswith("POST /v3/auth/tokens") and "127.0.0.1:%d: connection refused" % port in text
    assert "auth.auth_url" in text
    # keystoneauth's connection retries (a restarting Keystone is waited for briefly), well under 5 s in all
    assert len(ks_sleeps) == powervc.CONNECT_RETRIES and sum(ks_sleeps) < 5


def test_refused_compute_endpoint_fails_fast_naming_host_and_port(powervc_emulator, ks_sleeps):
    token, expires_at = _real_token(powervc_emulator)
    info, port = powervc_emulator.info, _closed_port()
    body = {"token": {"expires_at": expires_at, "project": {"id": info["project_id"], "name": "ibm-default"},
                      "catalog": [{"type": "compute", "name": "nova", "endpoints": [
                          {"interface": "public", "region": "RegionOne",
                           "url": "https://127.0.0.1:%d/v2.1/%s" % (port, info["project_id"])}]}]}}
    powervc_emulator.admin.fault(method="POST", path="/v3/auth/tokens", status=201, body=body,
                                 headers={"X-Subject-Token": token})
    client = make_client(powervc_emulator)
    try:
        with pytest.raises(_errors.TransportError) as caught:
            client.list_reserved()
        assert "127.0.0.1:%d: connection refused" % port in str(caught.value)
        assert str(caught.value).startswith("GET /virtual-serial-number")
        assert len(ks_sleeps) == powervc.CONNECT_RETRIES and sum(ks_sleeps) < 5
        # a change gets no keystoneauth retry: RestClient resends it only because it never left (refused)
        del ks_sleeps[:]
        with pytest.raises(_errors.TransportError, match="127.0.0.1:%d: connection refused" % port):
            client.reserve("ABCD567")
        assert ks_sleeps == []
    finally:
        client.token = None  # nothing to revoke on a closed port
        client.close()


def test_keystoneauth_logging_cannot_reach_the_output(powervc_emulator):
    """keystoneauth logs request lines and headers at DEBUG: even with a root handler at DEBUG, nothing arrives."""
    import io
    import logging
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    logging.getLogger("keystoneauth").setLevel(logging.DEBUG)
    try:
        powervc_emulator.admin.fault(method="GET", path="/virtual-serial-number", expire_session=True)
        client = make_client(powervc_emulator)
        try:
            client.list_reserved()  # a 401, a re-authentication and a repeat: the noisiest path
            tokens = [client.token]
        finally:
            client.close()
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
        logging.getLogger("keystoneauth").setLevel(logging.NOTSET)
    logged = stream.getvalue()
    assert "keystoneauth" not in logged and "X-Auth-Token" not in logged
    assert all(token not in logged for token in tokens) and PASSWORD not in logged


def test_batch_backoff_polls_closely_again_after_a_restart():
    from ansible_collections.hybridcloud.migration.plugins.module_utils.powervc import BatchBackoff
    backoff = BatchBackoff()
    delays = backoff.delays()
    first = [next(delays) for dummy in range(40)]
    assert first[0] == 0.5 and max(first) <= 10.0 and first[-1] > 1.0
    backoff.restart()
    assert next(delays) == 0.5  # a job just started: noticed <= 0.5 s late
