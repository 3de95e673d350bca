"""powervc_vsn: bad input stops before any call (login included); no secret in -vvvv output in any echoed form."""

import copy
import json
from urllib.parse import quote, quote_plus

from tests.emulators.powervc import DEFAULT_SEED, nova_fault
from tests.integration.test_powervc_vsn import connection, defaults, task

# Long and distinctive, with characters that JSON and URLs escape differently.
PASSWORD = 'Pvc"S3cret\\Pass/word&x=1?-7f3a9c41e8'


def changes(handle):
    return handle.admin.mutations(ignore=(r"^/v3/",))


BAD_INPUT = [
    # (task arguments, expected message part)
    (dict(state="moved", source_host="prod-p10-a", target_host="dr-p10-b", vsn="CDF0002", timeout=-1),
     "parameter 'timeout' must be at least 1, got -1"),
    (dict(state="assigned", vm="ibmi-test-02", vsn="auto", timeout=0), "parameter 'timeout' must be at least 1, got 0"),
    (dict(state="reserved", vsn="ABCD102", api_timeout=0), "parameter 'api_timeout' must be at least 1, got 0"),
    (dict(state="reserved", vsn="ABCD102", auth_url_port=70000),
     "parameter 'auth.auth_url' has a port that is not between 1 and 65535: 70000"),
    (dict(state="reserved", vsn="ABCD-12"), "parameter 'vsn' must be 7 letters or digits; got 'ABCD-12'"),
    (dict(state="reserved", vsn="../ABCD"), "parameter 'vsn' must be 7 letters or digits"),
    (dict(state="moved", source_host="prod-p10-a", target_host="dr-p10-b", vsns=["CDF0002", "CDF0003?&x=1"]),
     "parameter 'vsns' must be 7 letters or digits"),
    (dict(state="assigned", vm="ibmi\u202etest-02", vsn="auto"),
     "parameter 'vm' contains the control or formatting character U+202E"),
    (dict(state="assigned", vm="ibmi-test-02\n", vsn="auto"),
     "parameter 'vm' contains the control or formatting character U+000A"),
    (dict(state="assigned", vm="../ibmi-test-02", vsn="auto"), "parameter 'vm': no server with id or name"),
    (dict(state="assigned", vm="", vsn="auto"), "parameter 'vm' must be a non-empty"),
    (dict(state="moved", source_host='prod-p10-a"', target_host="dr-p10-b"), "parameter 'source_host': no PowerVC host"),
    (dict(state="moved", source_host="prod-p10-a", target_host="9109RMD_1031CAT/../x?action=move"),
     "parameter 'target_host': no PowerVC host"),
    (dict(state="reserved", vsn="ABCD102", host="dr-p10-b\u200f"), "parameter 'host' contains the control or formatting"),
    (dict(state="reserved", vsn="ABCD102", description="licence\x1b[31m"),
     "parameter 'description' contains the control or formatting character U+001B"),
    (dict(state="assigned", vm="ibmi-test-02", vsn="CDF0010"), "parameter 'vsn': VSN CDF0010 is in use by server ibmi-dev-03"),
    # VSN availability (preflight): reserved for another host, or in use on another host than asked
    (dict(state="assigned", vm="ibmi-test-02", vsn="HMC0009"), "parameter 'vsn': VSN HMC0009 is reserved on host "
     "900942A_78ABCDE, not on host 9080HEX_1234ABC of server ibmi-test-02; move it there first"),
    (dict(state="reserved", vsn="CDF0010", host="prod-p10-a"), "parameter 'host' is prod-p10-a (9080HEX_1234ABC), but "
     "VSN CDF0010 is in use by server ibmi-dev-03 (3f9d2a1c…) on host dr-p10-b (9109RMD_1031CAT)"),
]


def test_bad_input_table_fails_naming_the_parameter_with_zero_calls(ansible, powervc_emulator):
    tasks = []
    for number, (args, _message) in enumerate(BAD_INPUT):
        args = dict(args)
        port = args.pop("auth_url_port", None)
        if port is not None:
            args["auth"] = dict(connection(powervc_emulator)["auth"], auth_url="https://127.0.0.1:%d/v3" % port)
        tasks.append(task("bad %d" % number, ignore_errors=True, **args))
    run = ansible.play(tasks, module_defaults=defaults(powervc_emulator))
    for number, (_args, message) in enumerate(BAD_INPUT):
        result = run.result("bad %d" % number)
        assert result["_status"] == "failed" and message in result["msg"], (number, result["msg"])
        assert result["changed"] is False
    assert changes(powervc_emulator) == []
    # names, numbers and URLs are checked before the client logs in
    logins = [e for e in powervc_emulator.admin.journal() if e["path"] == "/v3/auth/tokens" and e["method"] == "POST"]
    assert len(logins) == 6  # only the tasks that need PowerVC's lists to judge (server, hosts, VSN in use)


def test_empty_vsns_list_moves_nothing(ansible, powervc_emulator):
    run = ansible.play([task("none", state="moved", source_host="prod-p10-a", target_host="dr-p10-b", vsns=[])],
                       module_defaults=defaults(powervc_emulator))
    result = run.result("none")
    assert result["_status"] == "ok" and result["changed"] is False and result["moved"] == []
    assert changes(powervc_emulator) == []


def test_no_secret_in_vvvv_output_even_when_powervc_echoes_it(ansible, powervc_emulator, monkeypatch):
    seed = copy.deepcopy(DEFAULT_SEED)
    seed["users"][0]["password"] = PASSWORD
    powervc_emulator.reset(seed)
    emulator = powervc_emulator.emulator
    issued = []

    def echoing_move(request, tenant):
        # A vendor error that echoes the token and the password raw, JSON-escaped, URL-encoded and nested.
        token = request.header("X-Auth-Token")
        issued.append(token)
        text = "rejected request from token %s (%s) %s; password %s, %s, %s, %s, %s" % (
            token, quote(token, safe=""), json.dumps({"X-Auth-Token": token}), PASSWORD, json.dumps(PASSWORD),
            quote(PASSWORD, safe=""), quote_plus(PASSWORD), json.dumps(json.dumps({"password": PASSWORD})))
        return nova_fault(400, text)

    routes = [(m, p, echoing_move if getattr(h, "__name__", "") == "move_vsns" else h) for m, p, h in emulator._routes]
    monkeypatch.setattr(emulator, "_routes", routes)
    info = powervc_emulator.info
    auth = {"auth_url": info["auth_url"], "username": info["username"], "password": PASSWORD,
            "project_name": info["project_name"]}
    run = ansible.play([
        task("move", ignore_errors=True, state="moved", source_host="prod-p10-a", target_host="dr-p10-b", vsn="CDF0002",
             timeout=2, auth=auth, ca_cert=powervc_emulator.ca_path),
        task("wrong password", ignore_errors=True, state="reserved", vsn="ABCD102", ca_cert=powervc_emulator.ca_path,
             auth=dict(auth, password=PASSWORD[::-1])),
    ], verbosity=4)
    result = run.result("move")
    assert result["_status"] == "failed" and "rejected request from token" in result["msg"], result
    assert run.result("wrong password")["_status"] == "failed"
    assert issued and "CDF0002" in run.output  # the -vvvv output is really there
    forms = set()
    for secret in [PASSWORD, PASSWORD[::-1]] + issued:
        forms |= {secret, json.dumps(secret)[1:-1], quote(secret, safe=""), quote_plus(secret),
                  json.dumps(json.dumps(secret)[1:-1])[1:-1]}
    leaked = [form for form in forms if form in run.output]
    assert not leaked, leaked
