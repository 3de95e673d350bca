"""powervc_vsn_info through ansible-playbook against the PowerVC emulator."""

MODULE = "hybridcloud.migration.powervc_vsn_info"


def test_reserved_by_host_and_servers(ansible, powervc_emulator, tmp_path):
    info = powervc_emulator.info
    clouds = tmp_path / "clouds.yaml"
    clouds.write_text("clouds:\n  pvc:\n    auth:\n      auth_url: %s\n      username: %s\n      password: %s\n"
                      "      project_name: %s\n    cacert: %s\n"
                      % (info["auth_url"], info["username"], info["password"], info["project_name"],
                         powervc_emulator.ca_path))
    run = ansible.play([
        {"name": "by host", MODULE: {"cloud": "pvc", "host": "prod-p10-a"}},
        {"name": "servers", MODULE: {"cloud": "pvc", "vms": ["ibmi-prod-01", info["servers"]["ibmi-test-02"]]},
         "check_mode": True},
        # 'servers': the openstack.cloud alias of 'vms'
        {"name": "ghost", MODULE: {"cloud": "pvc", "servers": ["ghost"]}, "ignore_errors": True},
    ], env={"OS_CLIENT_CONFIG_FILE": str(clouds)}, verbosity=4)
    by_host, servers = run.result("by host"), run.result("servers")
    assert by_host["changed"] is False
    assert [r["virtual_serial_number"] for r in by_host["reserved_vsns"]] == ["ABCD001", "CDF0002", "CDF0003"]
    assert [(s["name"], s["virtual_serial_number"], s["status"]) for s in servers["servers"]] == [
        ("ibmi-prod-01", "ABCD100", "ACTIVE"), ("ibmi-test-02", None, "SHUTOFF")]
    assert "no server with id or name 'ghost'" in run.result("ghost")["msg"]
    assert [e for e in powervc_emulator.admin.mutations() if not e["path"].startswith("/v3/")] == []
    assert info["password"] not in run.output


def test_refused_endpoint_from_environment_fails_naming_host_port_and_option(ansible, powervc_emulator):
    """Only OS_* variables, a wrong port: the failure names host:port and auth.auth_url, and no secret."""
    import socket
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    info = powervc_emulator.info
    env = {"OS_AUTH_URL": "https://127.0.0.1:%d/v3" % port, "OS_USERNAME": info["username"],
           "OS_PASSWORD": info["password"], "OS_PROJECT_NAME": info["project_name"],
           "OS_CACERT": powervc_emulator.ca_path}
    run = ansible.play([{"name": "list", MODULE: {}, "ignore_errors": True}], env=env, verbosity=4)
    message = run.result("list")["msg"]
    assert "127.0.0.1:%d: connection refused" % port in message and "auth.auth_url" in message, message
    assert message.startswith("POST /v3/auth/tokens")
    assert info["password"] not in run.output
