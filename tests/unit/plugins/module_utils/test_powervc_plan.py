"""Pure PowerVC planning: VSN and MTMS syntax, raw JSON variants (powervc.md section 8), plans."""

import pytest

from ansible_collections.hybridcloud.migration.plugins.module_utils import _powervc_plan as plan
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
    with pytest.raises(ParameterError, match=r"parameter 'server': the name 'b' is ambiguous, 2 servers.*ids 2, 3"):
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
        "virtual_serial_number": "ABCD100", "reserved": False, "host": "9080HEX_1234ABC", "description": None,
        "server": {"id": "s1", "name": "vm"}}
    assert plan.vsn_state("CDF0002", RECORDS[0], servers) == {
        "virtual_serial_number": "CDF0002", "reserved": True, "host": "9080HEX_1234ABC", "description": "",
        "server": None}
    assert plan.server_summary(servers[0]) == {"id": "s1", "name": "vm", "status": "SHUTOFF",
                                               "host": "9080HEX_1234ABC", "virtual_serial_number": "ABCD100"}


def test_parse_vsn_list_takes_the_list_that_holds_vsns():
    """powervc.md section 8: "any dict key holding a list" - not just the first list of the body."""
    body = {"links": [], "reserved_vsns": [{"vsn": "ABCD001", "host": "9080HEX_1234ABC"}], "hosts": ["x"]}
    records, surprising = plan.parse_vsn_list(body)
    assert records == [{"virtual_serial_number": "ABCD001", "host": "9080HEX_1234ABC", "description": ""}]
    assert surprising is True
