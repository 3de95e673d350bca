"""The ZStack client: against a scripted server (exact protocol corners) and the ZStack emulator."""

import base64
import hashlib
import hmac
import itertools
import json
from urllib.parse import parse_qs, urlsplit

import pytest

from ansible_collections.hybridcloud.migration.plugins.module_utils import _errors
from ansible_collections.hybridcloud.migration.plugins.module_utils._polling import Backoff, FakeClock
from ansible_collections.hybridcloud.migration.plugins.module_utils._zstack_plan import next_call_uuid
from ansible_collections.hybridcloud.migration.plugins.module_utils.zstack import PollBackoff, ZStackClient
from tests.emulators import zstack as emu
from tests.emulators._server import Fault, empty_response, json_response, text_response
from tests.unit.scripted_server import ScriptedServer, scripted_fixtures

PASSWORD = "Zs-pa55-word"
HASH = hashlib.sha512(PASSWORD.encode()).hexdigest()
JOB = "/zstack/v1/api-jobs/"
SESSION_ERROR = {"error": {"code": "ID.1001", "description": "The session is invalid", "details": "Session expired"}}


def session_error(**extra):
    return json_response(503, {"error": dict(SESSION_ERROR["error"], **extra)})


class Scripted(ScriptedServer):
    """ZStack-shaped scripted server: login hands out session-1, session-2...; other paths follow a script.

    Scripts are keyed by path, or by the api-jobs prefix for any job poll.
    """

    name = "scripted-zstack"
    default = json_response(200, {"inventories": []})

    def load(self, seed):
        super().load(seed)
        self.logins = 0

    def script_for(self, request):
        prefix = request.path.rsplit("/", 1)[0] + "/" if request.path.startswith(JOB) else request.path
        return self.script.get(request.path) or self.script.get(prefix) or [self.default]

    def answer(self, request):
        if request.path != "/zstack/v1/accounts/login":
            return super().answer(request)
        self.seen.append((request.method, request.path, request.raw_query, dict(request.headers), request.json()))
        if request.json()["logInByAccount"]["password"] != HASH:
            return json_response(503, {"error": {"code": "ID.1000", "description": "Unable to authenticate a user",
                                                 "details": "wrong account name or password"}})
        self.logins += 1
        return json_response(200, {"inventory": {"uuid": "session%026d" % self.logins}})


server, scripted = scripted_fixtures(Scripted)


def client(url, ca_path, **kwargs):
    kwargs.setdefault("username", "admin")
    kwargs.setdefault("password", PASSWORD)
    kwargs.setdefault("clock", FakeClock())
    kwargs.setdefault("backoff", Backoff(initial=0.01, factor=2, maximum=0.05, jitter=0))
    return ZStackClient(url, ca_path=ca_path, **kwargs)


def accepted(request):
    """202 whose location names the management node's own address, as ZStack builds it."""
    return json_response(202, {"location": "http://10.9.9.9:8080/zstack/v1/api-jobs/" + request.headers["X-Job-UUID"],
                               "apiTimeout": 1000})


# -- sessions --------------------------------------------------------------------------------------
def test_login_sends_the_sha512_hash_and_the_session_is_reused_then_logged_out(server, scripted):
    c = client(server.url, server.ca_path)
    c.query("vm-instances")
    c.query("hosts")
    c.close()
    login = scripted.calls("PUT", "/zstack/v1/accounts/login")
    assert len(login) == 1
    assert login[0][4] == {"logInByAccount": {"accountName": "admin", "password": HASH}}
    gets = scripted.calls("GET")
    assert [g[3]["Authorization"] for g in gets] == ["OAuth session%026d" % 1] * 2
    assert scripted.calls("DELETE")[0][1] == "/zstack/v1/accounts/sessions/session%026d" % 1


def test_wrong_password_is_an_auth_error_without_secrets(server, scripted):
    with pytest.raises(_errors.AuthError) as info:
        client(server.url, server.ca_path, password="wrong-password").query("vm-instances")
    text = str(info.value)
    assert info.value.code == "ID.1000" and "wrong account name or password" in text
    assert "wrong-password" not in text and hashlib.sha512(b"wrong-password").hexdigest() not in text


@pytest.mark.parametrize("expired", [session_error(), json_response(503, {"error": {
    "code": "SYS.9999", "globalErrorCode": "ORG_ZSTACK_IDENTITY_10020", "details": "session gone"}})])
def test_get_with_an_invalid_session_logs_in_again_once_and_repeats(server, scripted, expired):
    scripted.script["/zstack/v1/vm-instances"] = [expired, json_response(200, {"inventories": [{"uuid": "x"}]})]
    c = client(server.url, server.ca_path)
    assert c.query("vm-instances") == [{"uuid": "x"}]
    assert scripted.logins == 2
    assert scripted.calls("GET")[-1][3]["Authorization"] == "OAuth session%026d" % 2


def test_a_session_rejected_twice_is_an_error_not_a_loop(server, scripted):
    scripted.script["/zstack/v1/vm-instances"] = [session_error()]
    with pytest.raises(_errors.ApiError) as info:
        client(server.url, server.ca_path).query("vm-instances")
    assert info.value.code == "ID.1001" and scripted.logins == 2 and info.value.operation == "QueryVmInstance"


def test_a_zstack_503_is_a_real_error_and_not_retried(server, scripted):
    scripted.script["/zstack/v1/hosts"] = [json_response(503, {"error": {"code": "SYS.1007", "description": "bad",
                                                                         "details": "invalid field"}})]
    c = client(server.url, server.ca_path)
    with pytest.raises(_errors.ApiError) as info:
        c.query("hosts")
    assert info.value.code == "SYS.1007" and "invalid field" in str(info.value)
    assert info.value.operation == "QueryHost" and str(info.value).startswith("QueryHost failed")  # the API's name
    assert len(scripted.calls("GET", "/zstack/v1/hosts")) == 1


def test_a_proxy_503_without_a_zstack_body_is_retried(server, scripted):
    scripted.script["/zstack/v1/hosts"] = [text_response(503, "Service Unavailable"), json_response(200, {"inventories": []})]
    assert client(server.url, server.ca_path).query("hosts") == []
    assert len(scripted.calls("GET", "/zstack/v1/hosts")) == 2


# -- queries ---------------------------------------------------------------------------------------
def test_query_repeats_q_and_sends_percent_as_25(server, scripted):
    client(server.url, server.ca_path).query("longjobs", ["jobName=APIx", "jobData~=%abc%"], limit=5)
    raw = scripted.calls("GET", "/zstack/v1/longjobs")[0][2]
    assert "%25abc%25" in raw
    assert parse_qs(raw)["q"] == ["jobName=APIx", "jobData~=%abc%"] and parse_qs(raw)["limit"] == ["5"]


# -- async protocol --------------------------------------------------------------------------------
def test_location_is_rewritten_to_the_configured_endpoint_and_every_mutation_has_a_job_uuid(server, scripted):
    path = "/zstack/v1/vm-instances/v1/actions"
    scripted.script[path] = [accepted]
    scripted.script[JOB] = [json_response(202, {}), json_response(200, {"inventory": {"uuid": "v1"}})]
    c = client(server.url, server.ca_path)
    job, result = c.call_async("PUT", path, {"primaryStorageMigrateVm": {}}, "PrimaryStorageMigrateVm", "vm v1", 60)
    assert result == {"inventory": {"uuid": "v1"}}
    assert job.location == server.url + JOB + job.uuid
    put = scripted.calls("PUT", path)[0]
    assert put[3]["X-Job-UUID"] == job.uuid and len(job.uuid) == 32
    polls = scripted.calls("GET", JOB)
    assert [p[1] for p in polls] == [JOB + job.uuid] * 2 and all(p[3]["Authorization"] for p in polls)


def test_poll_failure_is_a_job_failed_error_with_the_zstack_code(server, scripted):
    path = "/zstack/v1/v2vs"
    scripted.script[path] = [accepted]
    scripted.script[JOB] = [json_response(503, {"error": {"code": "SYS.1006", "description": "An operation failed",
                                                          "details": "not support vm state[Starting]"}})]
    with pytest.raises(_errors.JobFailedError) as info:
        client(server.url, server.ca_path).call_async("POST", path, {"params": {}}, "ConvertVmFromForeignHypervisor",
                                                      "VM 'x'", 60)
    assert str(info.value).startswith("ConvertVmFromForeignHypervisor on VM 'x' failed: An operation failed: "
                                      "not support vm state[Starting] (HTTP 503; error code SYS.1006")


def test_an_expired_job_is_not_found(server, scripted):
    scripted.script["/zstack/v1/v2vs"] = [accepted]
    scripted.script[JOB] = [text_response(404, "the job has been expired")]
    with pytest.raises(_errors.NotFoundError) as info:
        client(server.url, server.ca_path).call_async("POST", "/zstack/v1/v2vs", {}, "Convert", None, 60)
    assert "the job has been expired" in str(info.value)


def test_session_invalid_on_the_poll_relogs_in_and_resubmits_with_a_new_job_uuid(server, scripted):
    path = "/zstack/v1/longjobs/j/actions"
    scripted.script[path] = [accepted]
    first = {}

    def poll(request):
        job_uuid = request.path.rsplit("/", 1)[1]
        first.setdefault("uuid", job_uuid)
        # The first job ran under a dead session: its own result is ID.1001, whoever asks.
        return session_error() if job_uuid == first["uuid"] else json_response(200, {"inventory": {"state": "Canceled"}})

    scripted.script[JOB] = [poll]
    job, result = client(server.url, server.ca_path).call_async("PUT", path, {"cancelLongJob": {}}, "CancelLongJob",
                                                                None, 60)
    puts = scripted.calls("PUT", path)
    assert len(puts) == 2 and puts[0][3]["X-Job-UUID"] != puts[1][3]["X-Job-UUID"] == job.uuid
    assert scripted.logins == 2 and result["inventory"]["state"] == "Canceled"


def test_session_lapsed_while_polling_a_healthy_job_is_not_resubmitted(server, scripted):
    path = "/zstack/v1/longjobs/j/actions"
    scripted.script[path] = [accepted]
    scripted.script[JOB] = [session_error(), json_response(202, {}), empty_response(200)]
    job, result = client(server.url, server.ca_path).call_async("PUT", path, {"cancelLongJob": {}}, "CancelLongJob",
                                                                None, 60)
    assert len(scripted.calls("PUT", path)) == 1 and scripted.logins == 2 and result == {}


def test_a_lost_answer_is_followed_by_a_look_at_the_api_job_not_by_a_resend(server, scripted):
    path = "/zstack/v1/vm-instances/v1/actions"
    scripted.script[path] = [accepted]
    scripted.script[JOB] = [json_response(202, {}), json_response(200, {"inventory": {"uuid": "v1"}})]
    server.emulator.faults.append(Fault({"method": "PUT", "path": path, "drop": True, "after": True}))
    job, result = client(server.url, server.ca_path).call_async("PUT", path, {}, "PrimaryStorageMigrateVm", None, 60)
    assert len(scripted.calls("PUT", path)) == 1 and job.accepted and job.lost_answers == 1
    assert result == {"inventory": {"uuid": "v1"}}


def test_a_call_that_never_arrived_is_resent_with_the_same_job_uuid(server, scripted):
    path = "/zstack/v1/vm-instances/v1/actions"
    scripted.script[path] = [accepted]
    scripted.script[JOB] = [text_response(404, "the job has been expired"), json_response(200, {"inventory": {}})]
    server.emulator.faults.append(Fault({"method": "PUT", "path": path, "drop": True}))  # dropped before arriving
    job, result = client(server.url, server.ca_path).call_async("PUT", path, {}, "PrimaryStorageMigrateVm", None, 60)
    sent = [e for e in server.emulator.journal if e["path"] == path]
    assert [e["injected"] for e in sent[-2:]] == [True, False]  # the first never reached the handler
    assert scripted.calls("PUT", path)[0][3]["X-Job-UUID"] == job.uuid and job.accepted


@pytest.mark.parametrize("status", [500, 502, 503])
def test_a_5xx_after_zstack_acted_is_settled_by_the_api_job(server, scripted, status):
    path = "/zstack/v1/vm-instances/v1/actions"
    scripted.script[path] = [accepted]
    scripted.script[JOB] = [json_response(200, {"inventory": {"uuid": "v1"}})]
    server.emulator.faults.append(Fault({"method": "PUT", "path": path, "status": status, "body": "oops", "after": True}))
    job, result = client(server.url, server.ca_path).call_async("PUT", path, {}, "PrimaryStorageMigrateVm", None, 60)
    assert len(scripted.calls("PUT", path)) == 1 and result == {"inventory": {"uuid": "v1"}}


def test_a_500_from_zstack_without_an_api_job_is_the_error(server, scripted):
    path = "/zstack/v1/vm-instances/v1/actions"
    scripted.script[path] = [text_response(500, "java.lang.NullPointerException")]
    scripted.script[JOB] = [text_response(404, "the job has been expired")]
    with pytest.raises(_errors.ApiError) as info:
        client(server.url, server.ca_path).submit("PUT", path, {}, "PrimaryStorageMigrateVm", "vm v1")
    assert info.value.status == 500 and "NullPointerException" in str(info.value)
    assert len(scripted.calls("PUT", path)) == 1  # ZStack answered itself: not resent


def test_answers_lost_every_time_give_up_naming_the_api_job(server, scripted):
    path = "/zstack/v1/vm-instances/v1/actions"
    scripted.script[JOB] = [text_response(404, "the job has been expired")]
    server.emulator.faults.append(Fault({"method": "PUT", "path": path, "drop": True, "times": 20}))
    c = client(server.url, server.ca_path)
    with pytest.raises(_errors.TransportError) as info:
        c.submit("PUT", path, {}, "PrimaryStorageMigrateVm", "vm v1")
    assert "no answer after 6 attempts" in str(info.value) and c.last_job.uuid in str(info.value)
    assert "nothing was started" in str(info.value) and not c.last_job.accepted


def test_when_zstack_cannot_be_asked_either_the_error_names_the_api_job(server, scripted):
    path = "/zstack/v1/vm-instances/v1/actions"
    server.emulator.faults.append(Fault({"method": "PUT", "path": path, "drop": True}))
    server.emulator.faults.append(Fault({"method": "GET", "path": JOB, "drop": True, "times": 20}))
    c = client(server.url, server.ca_path)
    with pytest.raises(_errors.TransportError) as info:
        c.submit("PUT", path, {}, "PrimaryStorageMigrateVm", "vm v1")
    assert "the answer to api-job %s was lost" % c.last_job.uuid in str(info.value)


def test_other_400_answers_are_errors(server, scripted):
    scripted.script["/zstack/v1/v2vs"] = [text_response(400, "Invalid value for boolean field [pauseVm]")]
    with pytest.raises(_errors.ApiError) as info:
        client(server.url, server.ca_path).submit("POST", "/zstack/v1/v2vs", {}, "Convert", "x")
    assert info.value.status == 400 and "boolean field" in str(info.value)


def test_polling_follows_the_backoff_schedule_on_a_fake_clock(server, scripted):
    scripted.script["/zstack/v1/v2vs"] = [accepted]
    scripted.script[JOB] = [json_response(202, {})] * 20 + [json_response(200, {"inventory": {}})]
    clock = FakeClock()
    c = client(server.url, server.ca_path, clock=clock)
    c.call_async("POST", "/zstack/v1/v2vs", {}, "Convert", None, 3600)
    assert clock.sleeps == list(_first(PollBackoff().delays(), 20))
    assert clock.sleeps[:11] == [0.5] * 11 and clock.sleeps[11] == pytest.approx(0.55)


def test_poll_timeout_names_the_job(server, scripted):
    scripted.script["/zstack/v1/v2vs"] = [accepted]
    scripted.script[JOB] = [json_response(202, {})]
    clock = FakeClock()
    with pytest.raises(_errors.WaitTimeoutError) as info:
        client(server.url, server.ca_path, clock=clock).call_async("POST", "/zstack/v1/v2vs", {}, "Convert", None, 10)
    assert clock.now() == pytest.approx(10) and "api-job" in str(info.value)


def test_poll_backoff_is_configurable():
    assert list(_first(PollBackoff(initial=2, maximum=15).delays(), 3)) == [2, 2, 2]
    delays = list(_first(PollBackoff(initial=2, maximum=4).delays(), 200))
    assert max(delays) == 4


def _first(iterator, count):
    return itertools.islice(iterator, count)


# -- AccessKey -------------------------------------------------------------------------------------
def test_access_key_signs_each_call_and_never_logs_in(server, scripted):
    c = client(server.url, server.ca_path, username=None, password=None, access_key_id="AKID",
               access_key_secret="ak-secret-value")
    c.query("vm-instances", ["name=x"])
    c.close()
    method, path, raw, headers, body = scripted.seen[-1]
    scheme, signature = headers["Authorization"].split(" ", 1)
    key_id, signed = signature.split(":", 1)
    expected = base64.b64encode(hmac.new(b"ak-secret-value", ("GET\n%s\n/v1/vm-instances" % headers["Date"]).encode(),
                                         hashlib.sha1).digest()).decode()
    assert (scheme, key_id, signed) == ("ZStack", "AKID", expected)
    assert scripted.logins == 0 and not scripted.calls("DELETE")


def test_credentials_are_required():
    with pytest.raises(_errors.ParameterError):
        ZStackClient("https://127.0.0.1:1", username="admin")


# -- against the emulator --------------------------------------------------------------------------
def emulator_client(handle, **kwargs):
    kwargs.setdefault("poll_backoff", PollBackoff(initial=0.05, maximum=0.2))
    return ZStackClient(handle.url, username="admin", password=handle.info["password"], ca_path=handle.ca_path,
                        backoff=Backoff(0.05, 2, 0.2, 0), **kwargs)


def migrate(c, vm, ps):
    return c.call_async("PUT", "/zstack/v1/vm-instances/%s/actions" % vm, {"primaryStorageMigrateVm": {
        "dstPrimaryStorageUuid": ps}}, "PrimaryStorageMigrateVm", vm, 30)


def test_emulator_migration_with_rewritten_location_and_logout(zstack_emulator):
    zstack_emulator.admin.action("migrate-duration", {"seconds": 0.3})
    c = emulator_client(zstack_emulator)
    job, result = migrate(c, emu.VM_WEB, emu.PS_CEPH)
    assert {v["primaryStorageUuid"] for v in result["inventory"]["allVolumes"]} == {emu.PS_CEPH}
    assert urlsplit(job.location).netloc == urlsplit(zstack_emulator.url).netloc
    c.close()
    assert zstack_emulator.admin.state()["sessions"] == []


def test_emulator_submit_under_an_expired_session_is_resubmitted(zstack_emulator):
    zstack_emulator.admin.action("migrate-duration", {"seconds": 0.2})
    c = emulator_client(zstack_emulator)
    c.query("hosts")  # log in
    zstack_emulator.admin.expire_sessions()
    job, result = migrate(c, emu.VM_DB, emu.PS_CEPH)
    puts = [e for e in zstack_emulator.admin.journal() if e["path"].endswith("/actions")]
    logins = [e for e in zstack_emulator.admin.journal() if e["path"].endswith("/login")]
    assert len(puts) == 2 and len(logins) == 2
    assert result["inventory"]["state"] == "Stopped"


def test_emulator_lost_answer_on_submit_is_recovered_through_the_api_job(zstack_emulator):
    zstack_emulator.admin.action("migrate-duration", {"seconds": 0.2})
    zstack_emulator.admin.fault(method="PUT", path="/vm-instances/.*/actions", drop=True, after=True, times=3)
    c = emulator_client(zstack_emulator)
    job, result = migrate(c, emu.VM_WEB, emu.PS_CEPH)
    puts = [e for e in zstack_emulator.admin.journal() if e["path"].endswith("/actions")]
    assert [p["status"] for p in puts] == [202]
    migrations = [j for j in zstack_emulator.admin.state()["longjobs"] if j["jobName"] == emu.MIGRATE_JOB]
    assert len(migrations) == 1 and migrations[0]["apiId"] == job.uuid
    assert result["inventory"]["state"] == "Running"


def test_emulator_secrets_never_reach_error_messages(zstack_emulator):
    c = emulator_client(zstack_emulator)
    c.query("hosts")
    session = c.session_uuid
    with pytest.raises(_errors.ApiError) as info:
        c.get("/zstack/v1/accounts/sessions/%s/nonexistent" % session, operation="probe")
    text = str(info.value) + json.dumps(info.value.details)
    for secret in (session, zstack_emulator.info["password"], hashlib.sha512(zstack_emulator.info["password"].encode()).hexdigest()):
        assert secret not in text


# -- audit against api/zstack.md section 12: every listed variant is accepted -------------------------
def _duplicate_text(request):
    return text_response(400, "Duplicate job uuid[%s]" % request.headers["X-Job-UUID"])


def _duplicate_json_error(request):
    return json_response(400, {"error": {"code": "SYS.1000", "details": "Duplicate job uuid[%s]"
                                         % request.headers["X-Job-UUID"]}})


def _duplicate_json_string(request):
    return json_response(400, "Duplicate job uuid[%s]" % request.headers["X-Job-UUID"])


@pytest.mark.parametrize("duplicate", [_duplicate_text, _duplicate_json_error, _duplicate_json_string])
def test_duplicate_job_uuid_is_recognised_in_a_plain_text_or_json_400(server, scripted, duplicate):
    # "Error bodies on 400/404/500: plain text or JSON; never assume JSON unless status is 503".
    # The first attempt is lost on the way; it arrives late, so the resend meets "Duplicate job uuid".
    path = "/zstack/v1/vm-instances/v1/actions"
    scripted.script[path] = [duplicate]
    scripted.script[JOB] = [text_response(404, "the job has been expired"), json_response(200, {"inventory": {"uuid": "v1"}})]
    server.emulator.faults.append(Fault({"method": "PUT", "path": path, "drop": True}))
    job, result = client(server.url, server.ca_path).call_async("PUT", path, {}, "PrimaryStorageMigrateVm", None, 60)
    assert len(scripted.calls("PUT", path)) == 1 and result == {"inventory": {"uuid": "v1"}} and job.accepted


@pytest.mark.parametrize("status,body,expected", [
    (400, {"error": "bad query syntax near 'name'"}, "bad query syntax near 'name'"),
    (404, {"message": "no api mapping to /v1/foo"}, "no api mapping to /v1/foo"),
    (500, {"error": {"code": "SYS.1000", "details": "NullPointerException"}}, "NullPointerException"),
    (500, "java.lang.NullPointerException", "java.lang.NullPointerException")])
def test_error_bodies_on_400_404_500_keep_their_text_whether_json_or_plain(server, scripted, status, body, expected):
    scripted.script["/zstack/v1/hosts"] = [json_response(status, body) if isinstance(body, dict) else
                                           text_response(status, body)]
    with pytest.raises(_errors.ApiError) as info:
        client(server.url, server.ca_path).query("hosts")
    assert info.value.status == status and expected in str(info.value)


@pytest.mark.parametrize("running", [json_response(202, {}), empty_response(202), text_response(202, "")])
def test_poll_202_with_an_empty_object_or_an_empty_body_means_still_running(server, scripted, running):
    scripted.script["/zstack/v1/v2vs"] = [accepted]
    scripted.script[JOB] = [running, running, json_response(200, {"inventory": {"state": "Running"}})]
    job, result = client(server.url, server.ca_path).call_async("POST", "/zstack/v1/v2vs", {}, "Convert", None, 60)
    assert result == {"inventory": {"state": "Running"}} and len(scripted.calls("GET", JOB)) == 3


@pytest.mark.parametrize("done", [empty_response(200), json_response(200, {})])
def test_a_200_with_an_empty_body_ends_the_job_and_ends_the_session(server, scripted, done):
    path = "/zstack/v1/longjobs/j/actions"
    scripted.script[path] = [accepted]
    scripted.script[JOB] = [done]
    c = client(server.url, server.ca_path)
    assert c.longjob_action("j", "CancelLongJob", 60) == {}
    scripted.script["/zstack/v1/accounts/sessions/session%026d" % 1] = [done]
    c.close()  # no error: the logout's 200 may carry no body
    assert len(scripted.calls("DELETE", "/zstack/v1/accounts/sessions/")) == 1


def test_the_x_job_uuid_is_32_lowercase_hex_and_new_for_every_submission(server, scripted):
    path = "/zstack/v1/v2vs"
    scripted.script[path] = [accepted]
    scripted.script[JOB] = [json_response(200, {"inventory": {}})]
    c = client(server.url, server.ca_path)
    first, second = (c.submit("POST", path, {}, "Convert").uuid for dummy in range(2))
    sent = [call[3]["X-Job-UUID"] for call in scripted.calls("POST", path)]
    assert sent == [first, second] and first != second
    assert all(len(u) == 32 and int(u, 16) >= 0 and u == u.lower() for u in sent)


def test_location_without_the_api_jobs_part_falls_back_to_the_job_uuid(server, scripted):
    scripted.script["/zstack/v1/v2vs"] = [json_response(202, {"location": "http://10.0.0.5:8080/elsewhere",
                                                              "apiTimeout": 1})]
    scripted.script[JOB] = [json_response(200, {"inventory": {}})]
    job, dummy = client(server.url, server.ca_path).call_async("POST", "/zstack/v1/v2vs", {}, "Convert", None, 60)
    assert job.location == server.url + JOB + job.uuid


def test_session_error_with_only_the_global_code_on_the_poll_resubmits(server, scripted):
    path = "/zstack/v1/longjobs/j/actions"
    scripted.script[path] = [accepted]
    first = {}

    def poll(request):
        job_uuid = request.path.rsplit("/", 1)[1]
        first.setdefault("uuid", job_uuid)
        if job_uuid == first["uuid"]:
            return json_response(503, {"error": {"code": "SYS.9999", "globalErrorCode": "ORG_ZSTACK_IDENTITY_10020"}})
        return json_response(200, {"inventory": {"state": "Running"}})

    scripted.script[JOB] = [poll]
    client(server.url, server.ca_path).call_async("PUT", path, {"rerunLongJob": {}}, "RerunLongJob", None, 60)
    puts = scripted.calls("PUT", path)
    assert len(puts) == 2 and puts[0][3]["X-Job-UUID"] != puts[1][3]["X-Job-UUID"]


def test_429_on_a_submit_is_waited_out_a_bounded_number_of_times(server, scripted):
    path = "/zstack/v1/vm-instances/v1/actions"
    scripted.script[path] = [text_response(429, "slow down")]
    scripted.script[JOB] = [text_response(404, "the job has been expired")]
    with pytest.raises(_errors.ApiError) as info:
        client(server.url, server.ca_path).submit("PUT", path, {}, "PrimaryStorageMigrateVm", "vm v1")
    assert info.value.status == 429 and len(scripted.calls("PUT", path)) == 6


def test_asking_about_the_api_job_survives_an_expired_session(server, scripted):
    path = "/zstack/v1/vm-instances/v1/actions"
    scripted.script[path] = [accepted]
    scripted.script[JOB] = [session_error(), json_response(202, {}), json_response(200, {"inventory": {"uuid": "v1"}})]
    server.emulator.faults.append(Fault({"method": "PUT", "path": path, "drop": True, "after": True}))
    job, result = client(server.url, server.ca_path).call_async("PUT", path, {}, "PrimaryStorageMigrateVm", None, 60)
    assert len(scripted.calls("PUT", path)) == 1 and result == {"inventory": {"uuid": "v1"}}
    assert scripted.logins == 2  # the session was renewed to ask, not taken for an answer


def test_a_failed_api_job_counts_as_arrived(server, scripted):
    path = "/zstack/v1/vm-instances/v1/actions"
    failed = json_response(503, {"error": {"code": "SYS.1006", "description": "An operation failed", "details": "nope"}})
    scripted.script[path] = [accepted]
    scripted.script[JOB] = [failed]
    server.emulator.faults.append(Fault({"method": "PUT", "path": path, "drop": True, "after": True}))
    with pytest.raises(_errors.JobFailedError) as info:
        client(server.url, server.ca_path).call_async("PUT", path, {}, "PrimaryStorageMigrateVm", None, 60)
    assert info.value.code == "SYS.1006" and len(scripted.calls("PUT", path)) == 1


def test_5xx_without_a_zstack_error_while_polling_is_asked_again_then_given_up(server, scripted):
    path = "/zstack/v1/vm-instances/v1/actions"
    scripted.script[path] = [accepted]
    scripted.script[JOB] = [text_response(500, "oops"), text_response(502, "bad gateway"),
                            json_response(200, {"inventory": {"uuid": "v1"}})]
    job, result = client(server.url, server.ca_path).call_async("PUT", path, {}, "PrimaryStorageMigrateVm", None, 60)
    assert result == {"inventory": {"uuid": "v1"}}
    scripted.script[JOB] = [text_response(500, "oops")]
    with pytest.raises(_errors.ApiError) as info:
        client(server.url, server.ca_path).call_async("PUT", path, {}, "PrimaryStorageMigrateVm", None, 3600)
    assert "21 polls of api-job" in str(info.value) and info.value.status == 500


# -- derived X-Job-UUIDs: an earlier run's identical call, accepted but not yet processed -----------
def test_emulator_a_derived_job_uuid_still_running_is_adopted_not_sent_again(zstack_emulator):
    zstack_emulator.admin.action("config", {"accept_delay": 0.3, "migrate_duration": 0.2})
    path = "/zstack/v1/vm-instances/%s/actions" % emu.VM_WEB
    body = {"primaryStorageMigrateVm": {"dstPrimaryStorageUuid": emu.PS_CEPH}}
    derived = "a" * 32
    first = emulator_client(zstack_emulator).submit("PUT", path, body, "PrimaryStorageMigrateVm", job_uuid=derived)
    assert first.uuid == derived and not first.adopted
    c = emulator_client(zstack_emulator)  # the re-run, before ZStack processed the first call
    job, result = c.call_async("PUT", path, body, "PrimaryStorageMigrateVm", emu.VM_WEB, 30, derived)
    assert job.uuid == derived and job.adopted
    assert {v["primaryStorageUuid"] for v in result["inventory"]["allVolumes"]} == {emu.PS_CEPH}
    puts = [e for e in zstack_emulator.admin.journal() if e["path"] == path]
    assert len(puts) == 1


def test_emulator_a_derived_job_uuid_that_ended_is_followed_by_the_next_of_its_chain(zstack_emulator):
    zstack_emulator.admin.action("migrate-duration", {"seconds": 0.1})
    c = emulator_client(zstack_emulator)
    path = "/zstack/v1/vm-instances/%s/actions" % emu.VM_WEB
    derived = "b" * 32
    for ps in (emu.PS_CEPH, emu.PS_NFS, emu.PS_CEPH):  # the same move twice within the api-job retention
        job, result = c.call_async("PUT", path, {"primaryStorageMigrateVm": {"dstPrimaryStorageUuid": ps}},
                                   "PrimaryStorageMigrateVm", emu.VM_WEB, 30, derived if ps == emu.PS_CEPH else None)
        assert not job.adopted and {v["primaryStorageUuid"] for v in result["inventory"]["allVolumes"]} == {ps}
    assert job.uuid == next_call_uuid(derived)  # the next of the chain: a re-run would find it too


def test_a_derived_job_uuid_is_kept_when_zstack_cannot_be_asked_about_it(server, scripted):
    # The ask is answered by a proxy's 502: the call still goes out with the derived uuid (never a fresh
    # one), so that an earlier identical call ZStack still knows would meet its duplicate guard.
    path = "/zstack/v1/vm-instances/v/actions"
    derived = "cd" * 16
    scripted.script[JOB + derived] = [text_response(502, "bad gateway"), json_response(202, {})]
    scripted.script[path] = [accepted]
    job = client(server.url, server.ca_path).submit("PUT", path, {}, "PrimaryStorageMigrateVm", "v", derived)
    assert job.uuid == derived and not job.adopted and job.accepted
    assert [call[3]["X-Job-UUID"] for call in scripted.calls("PUT", path)] == [derived]


def test_a_derived_job_uuid_is_asked_about_once_then_sent_or_adopted(server, scripted):
    path = "/zstack/v1/vm-instances/v/actions"
    fresh, running = "ef" * 16, "12" * 16
    scripted.script[JOB + fresh] = [text_response(404, "the job has been expired")]
    scripted.script[JOB + running] = [json_response(202, {})]
    scripted.script[path] = [accepted]
    c = client(server.url, server.ca_path)
    sent = c.submit("PUT", path, {}, "PrimaryStorageMigrateVm", "v", fresh)
    adopted = c.submit("PUT", path, {}, "PrimaryStorageMigrateVm", "v", running)
    assert (sent.uuid, sent.adopted, adopted.uuid, adopted.adopted) == (fresh, False, running, True)
    assert [call[3]["X-Job-UUID"] for call in scripted.calls("PUT", path)] == [fresh]
    assert [call[1] for call in scripted.calls("GET") if call[1].startswith(JOB)] == [JOB + fresh, JOB + running]


def test_emulator_a_killed_runs_call_on_the_chain_is_adopted_by_the_re_run(zstack_emulator):
    # The same move made again within the api-job retention: its call takes the next uuid of the chain.
    # Killed right after it was accepted (not processed yet): the re-run walks the same chain and adopts it.
    zstack_emulator.admin.action("migrate-duration", {"seconds": 0.1})
    path = "/zstack/v1/vm-instances/%s/actions" % emu.VM_WEB
    derived = "c" * 32
    c = emulator_client(zstack_emulator)
    for ps in (emu.PS_CEPH, emu.PS_NFS):
        c.call_async("PUT", path, {"primaryStorageMigrateVm": {"dstPrimaryStorageUuid": ps}}, "PrimaryStorageMigrateVm",
                     emu.VM_WEB, 30, derived if ps == emu.PS_CEPH else None)
    zstack_emulator.admin.action("accept-delay", {"seconds": 0.5})
    body = {"primaryStorageMigrateVm": {"dstPrimaryStorageUuid": emu.PS_CEPH}}
    killed = c.submit("PUT", path, body, "PrimaryStorageMigrateVm", emu.VM_WEB, derived)
    assert killed.uuid == next_call_uuid(derived) and not killed.adopted
    job, result = emulator_client(zstack_emulator).call_async("PUT", path, body, "PrimaryStorageMigrateVm", emu.VM_WEB,
                                                              30, derived)
    assert job.uuid == killed.uuid and job.adopted
    assert {v["primaryStorageUuid"] for v in result["inventory"]["allVolumes"]} == {emu.PS_CEPH}
    assert len([e for e in zstack_emulator.admin.journal() if e["path"] == path]) == 3


def test_emulator_a_succeeded_identical_call_is_adopted_when_asked_to(zstack_emulator):
    # adopt_ended: the caller's plan was read before that call ended; it reads the real state again.
    zstack_emulator.admin.action("migrate-duration", {"seconds": 0.1})
    path = "/zstack/v1/vm-instances/%s/actions" % emu.VM_WEB
    body = {"primaryStorageMigrateVm": {"dstPrimaryStorageUuid": emu.PS_CEPH}}
    derived = "d" * 32
    c = emulator_client(zstack_emulator)
    c.call_async("PUT", path, body, "PrimaryStorageMigrateVm", emu.VM_WEB, 30, derived)
    job = c.submit("PUT", path, body, "PrimaryStorageMigrateVm", emu.VM_WEB, derived, adopt_ended=True)
    assert job.uuid == derived and job.adopted and c.wait_job(job, 30)["inventory"]["uuid"] == emu.VM_WEB
    assert len([e for e in zstack_emulator.admin.journal() if e["path"] == path]) == 1


def test_a_duplicate_refusal_after_an_unanswered_look_is_an_earlier_runs_call_adopted(server, scripted):
    # ZStack could not be asked; the call goes with the derived uuid and meets ZStack's duplicate guard on
    # its first attempt: none of this run's attempts can have arrived, so it is an earlier run's call.
    path = "/zstack/v1/vm-instances/v/actions"
    derived = "ab" * 16
    scripted.script[JOB + derived] = [text_response(502, "bad gateway"), json_response(202, {})]
    scripted.script[path] = [text_response(400, "Duplicate job uuid[%s]" % derived)]
    job = client(server.url, server.ca_path).submit("PUT", path, {}, "PrimaryStorageMigrateVm", "v", derived)
    assert job.uuid == derived and job.adopted and job.accepted
    assert len(scripted.calls("PUT", path)) == 1
