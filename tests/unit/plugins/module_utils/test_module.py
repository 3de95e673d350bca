"""The module base: argspec merge, error -> fail_json, check mode and diff helpers, client closing."""

import pytest

from ansible.module_utils.basic import env_fallback

from ansible_collections.hybridcloud.migration.plugins.module_utils._errors import ApiError, ParameterError
from ansible_collections.hybridcloud.migration.plugins.module_utils._module import (
    Connection, MigrationModule, unset_empty_environment)
from tests.unit.module_runner import run_module

SECRET = "hunter2-very-secret"


class FakeClient:
    closed = 0

    def close(self):
        FakeClient.closed += 1


def open_fake(module):
    module.register_secret("session-" + module.params["password"])
    return FakeClient()


CONNECTION = Connection(
    dict(host=dict(type="str", required=True), password=dict(type="str", no_log=True, required=True)),
    open_fake,
)


CONNECTION = Connection(CONNECTION.argument_spec, open_fake, ranges={"port": (1, 65535)})
CONNECTION.argument_spec = dict(CONNECTION.argument_spec, port=dict(type="int", default=443))


class Demo(MigrationModule):
    connection = CONNECTION
    argument_spec = dict(name=dict(type="str", required=True), size=dict(type="int", default=1),
                         behaviour=dict(type="str", default="ok"), timeout=dict(type="int"), count=dict(type="int"))
    ranges = {"count": (1, None), "timeout": (1, 86400)}

    def validate(self):
        self.check_name("name", self.params["name"], "VM name")

    def run(self):
        behaviour = self.params["behaviour"]
        if behaviour == "bad-input":
            self.fail_parameter("size", "must be positive, got %d" % self.params["size"])
        if behaviour == "api-error":
            raise ApiError("volume busy", operation="Migrate", resource="vm-1", status=503, code="SYS.1006")
        if behaviour == "bug":
            raise KeyError("unexpected")
        if behaviour == "leak":
            self.result["token"] = "session-" + self.params["password"]
        before = {"size": 1}
        after = {"size": self.params["size"]}
        if before != after:
            self.changed(before, after)
            if self.check_mode:
                return
            self.result["applied"] = True


def main():
    Demo().execute()


BASE = dict(host="h", password=SECRET, name="n")


@pytest.fixture(autouse=True)
def reset_closed():
    FakeClient.closed = 0


def test_merged_argspec_and_unchanged_run_closes_the_client():
    result, code = run_module(main, BASE)
    assert code == 0 and result["changed"] is False
    assert FakeClient.closed == 1


def test_changed_with_diff():
    result, code = run_module(main, dict(BASE, size=3), diff=True)
    assert result["changed"] and result["applied"]
    assert result["diff"] == {"before": {"size": 1}, "after": {"size": 3}}


def test_check_mode_reports_change_without_applying():
    result = run_module(main, dict(BASE, size=3), check_mode=True)[0]
    assert result["changed"] and "applied" not in result and "diff" not in result


def test_parameter_error_names_the_parameter():
    result, code = run_module(main, dict(BASE, behaviour="bad-input", size=-1))
    assert code == 1 and result["failed"]
    assert result["msg"] == "parameter 'size' must be positive, got -1"
    assert FakeClient.closed == 1


def test_api_error_becomes_fail_json_with_code_and_status():
    result, code = run_module(main, dict(BASE, behaviour="api-error"))
    assert code == 1
    assert result["msg"] == "Migrate on vm-1 failed: volume busy (HTTP 503; error code SYS.1006)"
    assert result["error_code"] == "SYS.1006" and result["status"] == 503
    assert "Traceback" not in str(result)


def test_client_is_closed_after_an_unexpected_exception_too():
    with pytest.raises(KeyError):
        run_module(main, dict(BASE, behaviour="bug"))
    assert FakeClient.closed == 1


def test_missing_connection_option_is_rejected_by_ansible():
    result, code = run_module(main, dict(name="n", password=SECRET))
    assert code == 1 and "host" in result["msg"]


def test_runtime_secrets_are_masked_in_results():
    result = run_module(main, dict(BASE, behaviour="leak"))[0]
    assert SECRET not in str(result)
    assert result["token"] != "session-" + SECRET


def test_parameter_error_class():
    assert issubclass(ParameterError, Exception)


@pytest.mark.parametrize("param,value,expected", [
    ("port", 70000, "parameter 'port' must be between 1 and 65535, got 70000"),
    ("port", 0, "parameter 'port' must be between 1 and 65535, got 0"),
    ("timeout", -1, "parameter 'timeout' must be between 1 and 86400, got -1"),
    ("count", 0, "parameter 'count' must be at least 1, got 0"),
])
def test_ranges_are_checked_before_the_client_is_opened(param, value, expected):
    result, code = run_module(main, dict(BASE, **{param: value}))
    assert code == 1 and result["msg"] == expected
    assert result["changed"] is False
    assert FakeClient.closed == 0  # nothing was opened, so nothing could be sent


@pytest.mark.parametrize("name,problem", [
    ("", "must be a non-empty VM name"),
    ("   ", "must be a non-empty VM name"),
    ("web\n01", "U+000A"),
    ("web\u202e10", "U+202E"),
    ("web\u200b01", "U+200B"),
])
def test_check_name_rejects_names_that_are_not_what_they_seem(name, problem):
    result, code = run_module(main, dict(BASE, name=name))
    assert code == 1 and result["msg"].startswith("parameter 'name' ") and problem in result["msg"]


def test_validate_runs_before_the_client_is_opened():
    result, code = run_module(main, dict(BASE, name="bad\x07name"))
    assert code == 1 and "U+0007" in result["msg"] and FakeClient.closed == 0


def test_check_name_accepts_ordinary_unicode_and_punctuation():
    result, code = run_module(main, dict(BASE, name="Büro-Server (prod) #1 / ?&.."))
    assert code == 0, result


def test_an_empty_environment_variable_is_not_a_value():
    spec = {"ca_cert": {"type": "path", "fallback": (env_fallback, ["X_CA_CERT"])},
            "auth": {"type": "dict", "options": {"port": {"type": "int", "fallback": (env_fallback, ["X_PORT"])}}},
            "other": {"type": "str"}}
    environ = {"X_CA_CERT": "", "X_PORT": "  ", "UNRELATED": "", "X_KEEP": "1"}
    unset_empty_environment(spec, environ)
    assert environ == {"UNRELATED": "", "X_KEEP": "1"}
