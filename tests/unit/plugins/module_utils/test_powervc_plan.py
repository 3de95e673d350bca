"""Pure PowerVC planning: VSN and MTMS syntax, raw JSON variants (powervc.md section 8), plans."""

import pytest

from ansible_collections.hybridcloud.migration.plugins.module_utils import _powervc_plan as plan
from ansible_collections.hybridcloud.migration.plugins.module_utils import _errors
from ansible_collections.hybridcloud.migration.plugins.module_utils._errors import ParameterError

HOSTS = plan.hosts_from_hypervisors({"hypervisors": [
    {"id": 1, "hypervisor_hostname": "p10a.lab", "service": {"host": "9080HEX_1234ABC", "host_display_name": "prod-p10-a"}},
    {"id": 2, "hypervisor_hostname": "p10b.lab", "service": {"host": "9109RMD_1031CAT", "host_display_name": "dr-p10-b"}},
    {"id": 3, "hypervisor_hostname": "odd", "service": None},
]})


@pytest.mark.parametrize("value, expected", [("ABCD567", "ABCD567"), ("abcd567", "ABCD567"), (" cdf0003 ", "CDF0003")])
def test_normalize_vsn_upper_cases(value, expected):
    assert plan.normalize_vsn(value) == expected


@pytest.mark.parametrize("value", ["ABCD56", "ABCD5678", "ABC-567", "auto", "", None, "ÄBCD567"])
def test_normalize_vsn_rejects_bad_syntax_naming_the_parameter(value):
    with pytest.raises(ParameterError, match="parameter 'vsn' must be 7 letters or digits"):
        plan.normalize_vsn(value)


def test_normalize_vsn_auto_only_when_allowed():
    assert plan.normalize_vsn("AUTO", allow_auto=True) == "auto"
    with pytest.raises(ParameterError, match="or 'auto'"):
        plan.normalize_vsn("autox", name="vsn", allow_auto=True)


@pytest.mark.parametrize("text", ["9080-HEX*1234ABC", "9080HEX_1234ABC", "9080-hex*1234abc", " 9080hex_1234abc "])
def test_both_mtms_forms_have_one_canonical_key(text):
    assert plan.parse_mtms(text) == ("9080", "HEX", "1234ABC")
    assert plan.host_key(text) == "9080HEX_1234ABC"
    assert plan.hmc_form(text) == "9080-HEX*1234ABC"
    assert plan.same_host(text, "9080-HEX*1234ABC")


@pytest.mark.parametrize("text", ["prod-p10-a", "9080HEX1234ABC", "9080-HEX_1234ABC", "", None, 42])
def test_non_mtms_text_has_no_key(text):
    assert plan.host_key(text) is None and plan.hmc_form(text) is None
    assert not plan.same_host(text, text)


def test_hosts_from_hypervisors_skips_entries_without_service():
    assert [h["name"] for h in HOSTS] == ["9080HEX_1234ABC", "9109RMD_1031CAT"]
    assert HOSTS[0] == {"name": "9080HEX_1234ABC", "key": "9080HEX_1234ABC", "display_name": "prod-p10-a",
                        "hypervisor_hostname": "p10a.lab"}
    assert plan.hosts_from_hypervisors(None) == []


@pytest.mark.parametrize("text", ["9080-HEX*1234ABC", "9080hex_1234abc", "prod-p10-a", "PROD-P10-A", "p10a.lab"])
def test_resolve_host_by_either_form_or_display_name(text):
    assert plan.resolve_host(text, HOSTS)["name"] == "9080HEX_1234ABC"


def test_resolve_host_unknown_lists_the_known_hosts():
    with pytest.raises(ParameterError, match=r"parameter 'target_host': no PowerVC host 'nowhere'.*dr-p10-b"):
        plan.resolve_host("nowhere", HOSTS, "target_host")
    with pytest.raises(ParameterError, match="no PowerVC host"):
        plan.resolve_host("9080-HEX*9999999", HOSTS)


def test_resolve_host_ambiguous_display_name():
    hosts = HOSTS + [dict(HOSTS[1], name="8286-42A_0000001", key="828642A_0000001", display_name="prod-p10-a")]
    with pytest.raises(ParameterError, match="matches several hosts"):
        plan.resolve_host("prod-p10-a", hosts)


def test_resolve_host_without_hypervisor_list_accepts_only_mtms():
    assert plan.resolve_host("9080-HEX*1234ABC", None)["name"] == "9080HEX_1234ABC"
    with pytest.raises(ParameterError, match="display names need the hypervisor list"):
        plan.resolve_host("prod-p10-a", None)


@pytest.mark.parametrize("server, expected", [
    ({"virtual_serial_number": "ABCD100"}, "ABCD100"),
    ({"virtual_serial_number": "abcd100"}, "ABCD100"),
    ({"powervm:virtual_serial_number": "ABCD100"}, "ABCD100"),
    ({"vsn": "ABCD100"}, "ABCD100"),
    ({"metadata": {"powervm:virtual_serial_number": "ABCD100"}}, "ABCD100"),
    ({"virtual_serial_number": "none", "metadata": {"vsn": "ABCD100"}}, "ABCD100"),
    ({"virtual_serial_number": "none"}, None),
    ({"virtual_serial_number": "None"}, None),
    ({"virtual_serial_number": None}, None),
    ({"virtual_serial_number": ""}, None),
    ({"name": "no key at all"}, None),
])
def test_server_vsn_reads_every_variant(server, expected):
    assert plan.server_vsn(server) == expected


def test_parse_vsn_list_assumed_shape():
    records, surprising = plan.parse_vsn_list({"virtual_serial_numbers": [
        {"virtual_serial_number": "ABCD001", "host": "9080HEX_1234ABC", "description": "kept"}]})
    assert records == [{"virtual_serial_number": "ABCD001", "host": "9080HEX_1234ABC", "description": "kept"}]
    assert surprising is False
    assert plan.parse_vsn_list({"virtual_serial_numbers": []}) == ([], False)


@pytest.mark.parametrize("body", [
    [{"vsn": "abcd001", "host_mtms": "9080-HEX*1234ABC"}],
    {"vsns": [{"serial": "ABCD001", "mtms": "9080-HEX*1234ABC", "description": None}]},
    {"data": [{"serial_number": "ABCD001", "host_name": "9080-HEX*1234ABC"}]},
    {"items": [{"name": "ABCD001", "host": "9080-HEX*1234ABC"}, {"foo": 1}, 7]},
])
def test_parse_vsn_list_variants_are_parsed_and_flagged(body):
    records, surprising = plan.parse_vsn_list(body)
    assert records == [{"virtual_serial_number": "ABCD001", "host": "9080-HEX*1234ABC", "description": ""}]
    assert surprising is True


def test_parse_vsn_list_strings_and_nonsense():
    assert plan.parse_vsn_list(["ABCD001"]) == ([{"virtual_serial_number": "ABCD001", "host": None,
                                                  "description": ""}], True)
    assert plan.parse_vsn_list("oops") == ([], True)
    assert plan.parse_vsn_list(None) == ([], False)


def test_fill_endpoint_template():
    assert plan.fill_endpoint_template("https://p:8774/v2.1/%(tenant_id)s", "abc") == "https://p:8774/v2.1/abc"
    assert plan.fill_endpoint_template("https://p:8774/v2.1/$(project_id)s", "abc") == "https://p:8774/v2.1/abc"
    assert plan.fill_endpoint_template("https://p/v2.1/abc", "abc") == "https://p/v2.1/abc"


SERVERS = [{"id": "1", "name": "a"}, {"id": "2", "name": "b"}, {"id": "3", "name": "b"}, {"id": "b2", "name": "2"}]


def test_find_server_by_id_first_then_unique_name():
    assert plan.find_server("1", SERVERS)["name"] == "a"
    assert plan.find_server("a", SERVERS)["id"] == "1"
    assert plan.find_server("2", SERVERS)["id"] == "2"  # an id wins over a server named "2"


def test_find_server_ambiguous_or_unknown():
    with pytest.raises(ParameterError, match=r"parameter 'vm': the name 'b' is ambiguous, 2 servers.*ids 2, 3"):
        plan.find_server("b", SERVERS)
    with pytest.raises(ParameterError, match="parameter 'servers': no server with id or name 'zz'"):
        plan.find_server("zz", SERVERS, "servers")


def test_plan_reserve():
    listed = {"virtual_serial_number": "ABCD001", "host": "H", "description": "old"}
    assert plan.plan_reserve("ABCD001", "x", None) == "reserve"
    assert plan.plan_reserve("ABCD001", None, listed) is None
    assert plan.plan_reserve("ABCD001", "old", listed) is None
    assert plan.plan_reserve("ABCD001", "new", listed) == "update_reservation"
    assert plan.plan_unreserve(listed) == "unreserve"
    assert plan.plan_unreserve(None) is None


def test_plan_assign():
    off = {"name": "vm", "status": "SHUTOFF", "virtual_serial_number": "none"}
    assert plan.plan_assign(off, "auto") == "assign_vsn"
    assert plan.plan_assign(off, "ABCD101") == "assign_vsn"
    has = dict(off, virtual_serial_number="ABCD101")
    assert plan.plan_assign(has, "auto") is None
    assert plan.plan_assign(has, "ABCD101") is None
    assert plan.plan_assign(dict(has, status="ACTIVE"), "ABCD101") is None  # nothing to do: state irrelevant
    with pytest.raises(ParameterError, match="already has VSN ABCD101; unassign it first"):
        plan.plan_assign(has, "ABCD102")
    with pytest.raises(ParameterError, match="cannot assign a VSN to server vm while it is ACTIVE; stop the VM"):
        plan.plan_assign(dict(off, status="ACTIVE"), "auto")


def test_plan_unassign():
    has = {"name": "vm", "status": "SHUTOFF", "virtual_serial_number": "ABCD101"}
    assert plan.plan_unassign(has) == "unassign_vsn"
    assert plan.plan_unassign(has, "ABCD101") == "unassign_vsn"
    assert plan.plan_unassign(has, "ABCD102") is None
    assert plan.plan_unassign(dict(has, virtual_serial_number="none")) is None
    with pytest.raises(ParameterError, match="while it is ACTIVE"):
        plan.plan_unassign(dict(has, status="ACTIVE"))


RECORDS = [
    {"virtual_serial_number": "CDF0002", "host": "9080HEX_1234ABC", "description": ""},
    {"virtual_serial_number": "CDF0003", "host": "9080-HEX*1234ABC", "description": ""},
    {"virtual_serial_number": "CDF0004", "host": "9109RMD_1031CAT", "description": ""},
    {"virtual_serial_number": "HMC0009", "host": "900942A_78ABCDE", "description": ""},
]


def test_plan_move_explicit():
    moves = plan.plan_move(["CDF0002", "CDF0004", "ZZZ0001"], "9080HEX_1234ABC", "9109RMD_1031CAT", RECORDS)
    assert moves == {"move": ["CDF0002", "ZZZ0001"], "already": ["CDF0004"], "unlisted": ["ZZZ0001"]}


def test_plan_move_default_is_every_vsn_reserved_on_source_in_any_form():
    moves = plan.plan_move(None, "9080HEX_1234ABC", "9109RMD_1031CAT", RECORDS)
    assert moves == {"move": ["CDF0002", "CDF0003"], "already": [], "unlisted": []}
    assert plan.plan_move(None, "9080HEX_1234ABC", "9109RMD_1031CAT", RECORDS[2:])["move"] == []


def test_plan_move_vsn_on_a_third_host_is_an_error():
    with pytest.raises(ParameterError, match="VSN HMC0009 is reserved on host 900942A_78ABCDE, not on source_host"):
        plan.plan_move(["HMC0009"], "9080HEX_1234ABC", "9109RMD_1031CAT", RECORDS)


def test_moved_pending():
    assert plan.moved_pending(["CDF0004", "CDF0002"], "9109-RMD*1031CAT", RECORDS) == ["CDF0002"]
    assert plan.moved_pending(["CDF0004"], "9109RMD_1031CAT", RECORDS) == []


def test_vsn_state_and_server_summary():
    servers = [{"id": "s1", "name": "vm", "status": "SHUTOFF", "virtual_serial_number": "ABCD100",
                "OS-EXT-SRV-ATTR:host": "9080HEX_1234ABC"}]
    assert plan.vsn_state("ABCD100", None, servers) == {
        "virtual_serial_number": "ABCD100", "reserved": False, "host": "9080HEX_1234ABC", "host_display_name": None,
        "description": None, "server": {"id": "s1", "name": "vm"}}
    assert plan.vsn_state("CDF0002", RECORDS[0], servers, HOSTS) == {
        "virtual_serial_number": "CDF0002", "reserved": True, "host": "9080HEX_1234ABC",
        "host_display_name": "prod-p10-a", "description": "", "server": None}
    assert plan.server_summary(servers[0], HOSTS) == {
        "id": "s1", "name": "vm", "status": "SHUTOFF", "host": "9080HEX_1234ABC", "host_display_name": "prod-p10-a",
        "virtual_serial_number": "ABCD100"}


def test_labels_put_names_beside_ids():
    assert plan.host_label("9080HEX_1234ABC", HOSTS) == "prod-p10-a (9080HEX_1234ABC)"
    assert plan.host_label("9080-HEX*1234ABC", HOSTS) == "prod-p10-a (9080-HEX*1234ABC)"
    assert plan.host_label("9080HEX_1234ABC", None) == "9080HEX_1234ABC"  # hypervisor list not readable
    assert plan.vm_label({"id": "3f9d2a1c-5b6e-4c7d", "name": "ibmi-02"}) == "ibmi-02 (3f9d2a1c\u2026)"
    assert plan.vm_label({"id": "s1", "name": "vm"}) == "vm (s1)"


def test_changes_lists_only_what_changes_and_never_null():
    assert plan.changes({"a": 1, "b": 2, "c": None}, {"a": 1, "b": 3, "c": "x"}) == ({"b": 2}, {"b": 3, "c": "x"})
    assert plan.changes({"a": 1, "d": "gone"}, {"a": 1, "d": None}) == ({"d": "gone"}, {})


def test_parse_vsn_list_takes_the_list_that_holds_vsns():
    """powervc.md section 8: "any dict key holding a list" - not just the first list of the body."""
    body = {"links": [], "reserved_vsns": [{"vsn": "ABCD001", "host": "9080HEX_1234ABC"}], "hosts": ["x"]}
    records, surprising = plan.parse_vsn_list(body)
    assert records == [{"virtual_serial_number": "ABCD001", "host": "9080HEX_1234ABC", "description": ""}]
    assert surprising is True


def test_plan_assign_a_vsn_another_server_uses_is_a_parameter_error():
    off = {"id": "1", "name": "vm", "status": "SHUTOFF", "virtual_serial_number": "none"}
    other = {"id": "2", "name": "other", "status": "ACTIVE", "virtual_serial_number": "ABCD101"}
    with pytest.raises(ParameterError, match="parameter 'vsn': VSN ABCD101 is in use by server other"):
        plan.plan_assign(off, "ABCD101", servers=[off, other])
    assert plan.plan_assign(off, "auto", servers=[off, other]) == "assign_vsn"


def test_move_progress_sorts_each_vsn_by_where_it_is_listed():
    records = [{"virtual_serial_number": "A000001", "host": "9109-RMD*1031CAT"},
               {"virtual_serial_number": "A000002", "host": "9080HEX_1234ABC"},
               {"virtual_serial_number": "A000003", "host": "900942A_78ABCDE"}]
    progress = plan.move_progress(["A000001", "A000002", "A000003", "A000004"], "9080HEX_1234ABC", "9109RMD_1031CAT",
                                  records)
    assert progress == {"on_target": ["A000001"], "on_source": ["A000002"], "elsewhere": ["A000003"],
                        "unlisted": ["A000004"]}


@pytest.mark.parametrize("remaining, window", [(600, 30.0), (40, 20.0), (3, 1.5), (0, 0.0), (-1, 0.0)])
def test_settle_window_keeps_half_the_time_for_a_resent_call(remaining, window):
    assert plan.settle_window(remaining) == window


@pytest.mark.parametrize("error, outcome", [
    (_errors.TransportError("Connection aborted"), "uncertain"),
    (_errors.ApiError("boom", status=500), "uncertain"),
    (_errors.ApiError("busy", status=503), "uncertain"),
    (_errors.ApiError("gateway", status=504), "uncertain"),
    (_errors.ApiError("not on source", status=400), "refused"),
    (_errors.NotFoundError("no host", status=404), "refused"),
    (_errors.ConflictError("in use", status=409), "refused"),
    (_errors.AuthError("denied", status=403), "failed"),
    (_errors.AuthError("expired", status=401), "failed"),
    (_errors.ApiError("no status"), "failed"),
    (ValueError("x"), "failed"),
])
def test_outcome_of_a_failed_change(error, outcome):
    assert plan.outcome_of(error) == outcome


@pytest.mark.parametrize("status, message, unknown", [
    (404, "Compute host 9080HEX_1234ABC could not be found.", True),
    (400, "Invalid host: unknown host 9080HEX_1234ABC", True),
    (400, "Host 9080HEX_1234ABC not found", True),
    (400, "Virtual serial number CDF0002 is not available for move on host 9080HEX_1234ABC.", False),
    (404, "Virtual serial number CDF0002 could not be found on host 9080HEX_1234ABC.", False),
    (404, "The resource could not be found.", False),
    (409, "Compute host 9080HEX_1234ABC could not be found.", False),
    (500, "Compute host 9080HEX_1234ABC could not be found.", False),
])
def test_hmc_form_only_when_the_host_is_unknown(status, message, unknown):
    error = _errors.ApiError(message, status=status, api_message=message)
    assert plan.host_unknown(error, ["CDF0002"]) is unknown


def test_plan_assign_refuses_a_vsn_reserved_on_another_host():
    server = {"id": "s", "name": "vm1", "status": "SHUTOFF", "OS-EXT-SRV-ATTR:host": "9080HEX_1234ABC"}
    reserved = [{"virtual_serial_number": "HMC0009", "host": "900942A_78ABCDE", "description": ""},
                {"virtual_serial_number": "ABCD001", "host": "9080-HEX*1234ABC", "description": ""}]
    with pytest.raises(ParameterError, match="parameter 'vsn': VSN HMC0009 is reserved on host 900942A_78ABCDE"):
        plan.plan_assign(server, "HMC0009", reserved=reserved)
    assert plan.plan_assign(server, "ABCD001", reserved=reserved) == "assign_vsn"  # same host, other form
    assert plan.plan_assign(server, "auto", reserved=reserved) == "assign_vsn"


def test_move_outcomes_in_the_bulk_shape():
    result = {"already_on_target": ["A000001"], "moved": ["A000002", "A000003"], "adopted": ["A000003"],
              "pending": ["A000004"], "unverified": ["A000005"]}
    involved = ["A000001", "A000002", "A000003", "A000004", "A000005", "A000006"]
    started = dict((v, 10.0) for v in involved)
    out = plan.move_outcomes(involved, result, RuntimeError("boom"), ("src", "dst"), started, 12.0)
    assert [out[v]["outcome"] for v in involved] == ["unchanged", "moved", "adopted", "in_progress", "unverified",
                                                     "failed"]
    assert out["A000001"]["started"] is None and out["A000002"]["ended"] == 12.0 and out["A000004"]["ended"] is None
    assert out["A000006"]["error"] == "boom" and out["A000002"]["error"] == ""
    assert out["A000002"]["from"] == "src" and out["A000002"]["to"] == "dst" and out["A000002"]["jobs"] == []
