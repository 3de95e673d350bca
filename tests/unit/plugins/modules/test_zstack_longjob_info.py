"""zstack_longjob_info in-process against the ZStack emulator."""

import pytest

from ansible_collections.hybridcloud.migration.plugins.modules import zstack_longjob_info
from tests.emulators import zstack as emu
from tests.unit.plugins.modules.zstack_runner import prepare, run


def test_filters_are_and_ed(zstack_emulator):
    prepare(zstack_emulator)
    result, code = run(zstack_longjob_info.main, zstack_emulator, job_name=emu.V2V_JOB, state=["Failed"],
                       name="v2v-legacy-01")
    assert code == 0 and [j["uuid"] for j in result["long_jobs"]] == [emu.JOB_FAILED_V2V]
    result, code = run(zstack_longjob_info.main, zstack_emulator, job_name=emu.V2V_JOB, state=["Running"])
    assert code == 0 and result["long_jobs"] == []


def test_access_key_is_rejected_by_the_oauth_only_emulator_with_its_message(zstack_emulator):
    prepare(zstack_emulator)
    args = dict(account_name=None, password=None, access_key_id="AKID", access_key_secret="ak-secret-1234")
    result, code = run(zstack_longjob_info.main, zstack_emulator, **args)
    # The emulator speaks OAuth only (api/zstack.md section 2): the signed call is refused, as a 400.
    assert code == 1 and "Authorization type must be 'OAuth'" in result["msg"] and "ak-secret-1234" not in str(result)


@pytest.mark.parametrize("parameter,args", [
    ("name", dict(name="x~=%")), ("name", dict(name="")), ("job_name", dict(job_name="=APIx")),
    ("uuid", dict(uuid="../../accounts")), ("port", dict(port=70000)), ("state", dict(state=["Done"]))])
def test_bad_input_fails_naming_the_parameter(zstack_emulator, parameter, args):
    prepare(zstack_emulator)
    result, code = run(zstack_longjob_info.main, zstack_emulator, **args)
    assert code == 1 and parameter in result["msg"], result["msg"]


def test_empty_access_key_values_as_awx_injects_them_count_as_not_set(zstack_emulator):
    prepare(zstack_emulator)
    result, code = run(zstack_longjob_info.main, zstack_emulator, access_key_id="", access_key_secret="")
    assert code == 0 and result["long_jobs"], result.get("msg")
