"""zstack_longjob_info in-process against the ZStack emulator."""

import pytest

from ansible_collections.hybridcloud.migration.plugins.modules import zstack_longjob_info
from tests.emulators import zstack as emu
from tests.unit.module_runner import run_module
from tests.unit.plugins.modules.zstack_runner import connection as connection_of
from tests.unit.plugins.modules.zstack_runner import prepare, run


def test_filters_are_and_ed(zstack_emulator):
    prepare(zstack_emulator)
    result, code = run(zstack_longjob_info.main, zstack_emulator, job_name=emu.V2V_JOB, states=["Failed"],
                       name="v2v-legacy-01")
    assert code == 0 and [j["uuid"] for j in result["long_jobs"]] == [emu.JOB_FAILED_V2V]
    result, code = run(zstack_longjob_info.main, zstack_emulator, job_name=emu.V2V_JOB, states=["Running"])
    assert code == 0 and result["long_jobs"] == []


def test_access_key_is_rejected_by_the_oauth_only_emulator_with_its_message(zstack_emulator):
    prepare(zstack_emulator)
    args = {k: v for k, v in connection_of(zstack_emulator).items() if k not in ("username", "password")}
    result, code = run_module(zstack_longjob_info.main, dict(args, access_key_id="AKID", access_key_secret="ak-secret-1234"))
    # The emulator speaks OAuth only (api/zstack.md section 2): the signed call is refused, as a 400.
    assert code == 1 and "Authorization type must be 'OAuth'" in result["msg"] and "ak-secret-1234" not in str(result)


@pytest.mark.parametrize("parameter,args", [
    ("name", dict(name="x~=%")), ("name", dict(name="")), ("job_name", dict(job_name="=APIx")),
    ("uuid", dict(uuid="../../accounts")), ("port", dict(port=70000)), ("states", dict(states=["Done"]))])
def test_bad_input_fails_naming_the_parameter(zstack_emulator, parameter, args):
    prepare(zstack_emulator)
    result, code = run(zstack_longjob_info.main, zstack_emulator, **args)
    assert code == 1 and parameter in result["msg"], result["msg"]


def test_empty_login_variables_as_awx_injects_them_count_as_not_set(zstack_emulator, monkeypatch):
    prepare(zstack_emulator)
    monkeypatch.setenv("ZSTACK_ACCESS_KEY_ID", "")
    monkeypatch.setenv("ZSTACK_ACCESS_KEY_SECRET", "")
    result, code = run(zstack_longjob_info.main, zstack_emulator)
    assert code == 0 and result["long_jobs"], result.get("msg")


def test_connection_from_the_zstack_environment_variables(zstack_emulator, monkeypatch):
    prepare(zstack_emulator)
    connection = connection_of(zstack_emulator)
    for option, variable in (("hostname", "ZSTACK_HOST"), ("port", "ZSTACK_PORT"), ("protocol", "ZSTACK_PROTOCOL"),
                             ("username", "ZSTACK_USERNAME"), ("password", "ZSTACK_PASSWORD"),
                             ("ca_cert", "ZSTACK_CA_CERT")):
        monkeypatch.setenv(variable, str(connection[option]))
    result, code = run_module(zstack_longjob_info.main, {"job_name": emu.V2V_JOB})
    assert code == 0 and result["long_jobs"], result.get("msg")


@pytest.mark.parametrize("args,message", [
    (dict(username=None, password=None), "one of the following is required: username, access_key_id"),
    (dict(password=None), "parameters are required together: username, password"),
    (dict(access_key_id="AKID-2"), "parameters are mutually exclusive: username|access_key_id"),
    (dict(hostname=None), "missing required arguments: hostname")])
def test_login_rules_are_argspec_rules(zstack_emulator, monkeypatch, args, message):
    for variable in ("ZSTACK_HOST", "ZSTACK_USERNAME", "ZSTACK_PASSWORD", "ZSTACK_ACCESS_KEY_ID",
                     "ZSTACK_ACCESS_KEY_SECRET"):
        monkeypatch.delenv(variable, raising=False)
    prepare(zstack_emulator)
    connection = {k: v for k, v in dict(connection_of(zstack_emulator), **args).items() if v is not None}
    result, code = run_module(zstack_longjob_info.main, connection)
    assert code == 1 and message in result["msg"], result["msg"]
    assert zstack_emulator.admin.journal() == []  # refused before any call, login included
