"""Contract tests of the ZStack emulator (section 11 of /work/shared/api/zstack.md), over raw HTTP."""

import hashlib
import json
import re
import time
import uuid

import pytest
import requests

from tests.emulators.zstack import (
    CONVERSION_HOST, HOST_1, HOST_2, JOB_FAILED_V2V, JOB_SUSPENDED_V2V, L3_MGMT, L3_PROD, PS_CEPH, PS_LOCAL, PS_NFS,
    V2V_FAILING_URL, V2V_URL, VM_APP_RUNNING, VM_BATCH, VM_CACHE, VM_DB, VM_WEB, ZONE, CLUSTER,
)

ID_1001 = {"error": {"code": "ID.1001",
                     "description": "The session is invalid, either wrong session id or the session has been expired",
                     "details": "Session expired"}}
GIB = 1024 ** 3
DATE = re.compile(r"[A-Z][a-z]{2} \d{1,2}, \d{4} \d{1,2}:\d{2}:\d{2} [AP]M\Z")
FAST = {"async_delay": 0.02, "migrate_duration": 0.25, "v2v_start_delay": 0.05, "v2v_duration": 0.25}


def sha512(text):
    return hashlib.sha512(text.encode()).hexdigest()


def job_id():
    return uuid.uuid4().hex


class Client:
    """Raw HTTP against the emulator, logged in as the seed's admin."""

    def __init__(self, handle):
        self.handle = handle
        self.base = handle.url + "/zstack/v1"
        self.session = self.login(handle.info["username"], sha512(handle.info["password"])).json()["inventory"]["uuid"]

    def login(self, name, password):
        return requests.put(self.base + "/accounts/login", json={"logInByAccount": {
            "accountName": name, "password": password}}, verify=self.handle.ca_path, timeout=10)

    def call(self, method, path, session=None, headers=None, **kwargs):
        all_headers = {"Authorization": "OAuth " + (session or self.session)}
        all_headers.update(headers or {})
        return requests.request(method, self.base + path, headers=all_headers, verify=self.handle.ca_path,
                                timeout=10, **kwargs)

    def raw(self, method, path, **kwargs):
        return requests.request(method, self.base + path, verify=self.handle.ca_path, timeout=10, **kwargs)

    def get(self, path, **params):
        response = self.call("GET", path, params=params)
        assert response.status_code == 200, response.text
        return response.json()

    def one(self, path):
        return self.get(path)["inventories"][0]

    def poll_url(self, location):
        """The client-side rewrite: keep /zstack/v1/api-jobs/... and use our own base URL."""
        return self.handle.url + location[location.index("/zstack/v1/api-jobs/"):]

    def poll(self, accepted):
        assert accepted.status_code == 202, accepted.text
        return requests.get(self.poll_url(accepted.json()["location"]), headers={"Authorization": "OAuth " + self.session},
                            verify=self.handle.ca_path, timeout=10)

    def wait(self, accepted, timeout=5):
        deadline = time.time() + timeout
        while True:
            response = self.poll(accepted)
            if response.status_code != 202 or time.time() > deadline:
                return response
            time.sleep(0.03)

    def migrate(self, vm, session=None, headers=None, **params):
        return self.call("PUT", "/vm-instances/%s/actions" % vm, session, headers,
                         json={"primaryStorageMigrateVm": params, "systemTags": [], "userTags": []})

    def v2v(self, headers=None, **params):
        body = dict({"url": V2V_URL, "name": "web-02", "cpuNum": 2, "memorySize": 4 * GIB,
                     "primaryStorageUuid": PS_NFS, "l3NetworkUuids": [L3_PROD], "clusterUuid": CLUSTER,
                     "conversionHostUuid": CONVERSION_HOST}, **params)
        return self.call("POST", "/v2vs", headers=headers, json={"params": body})

    def longjob_action(self, job, action):
        return self.call("PUT", "/longjobs/%s/actions" % job, json={action: {}})

    def wait_job(self, job, states=("Succeeded", "Failed", "Canceled"), timeout=5):
        deadline = time.time() + timeout
        while True:
            found = self.one("/longjobs/" + job)
            if found["state"] in states or time.time() > deadline:
                return found
            time.sleep(0.03)


@pytest.fixture
def zs(zstack_emulator):
    zstack_emulator.admin.action("config", FAST)
    return Client(zstack_emulator)


def assert_error(response, status, code, details=None):
    assert response.status_code == status, response.text
    body = response.json()
    assert list(body) == ["error"] and body["error"]["code"] == code and body["error"]["description"], body
    if details is not None:
        assert body["error"]["details"] == details, body


def assert_text(response, status, text):
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("text/plain")
    assert response.text == text


# 1 -----------------------------------------------------------------------------------------
def test_contract_1_login_with_sha512_password(zs, zstack_emulator):
    info = zstack_emulator.info
    response = zs.login(info["username"], sha512(info["password"]))
    assert response.status_code == 200
    inventory = response.json()["inventory"]
    assert set(inventory) == {"uuid", "accountUuid", "userUuid", "expiredDate", "createDate"}
    assert inventory["accountUuid"] == info["account_uuid"] and len(inventory["uuid"]) == 32
    assert DATE.match(inventory["expiredDate"]) and DATE.match(inventory["createDate"])
    failure = {"code": "ID.1000", "description": "Unable to authenticate a user",
               "details": "wrong account name or password"}
    for name, password in ((info["username"], info["password"]), (info["username"], sha512("wrong")),
                           ("nobody", sha512(info["password"]))):
        response = zs.login(name, password)
        assert response.status_code == 503 and response.json() == {"error": failure}


def test_contract_1_session_valid_and_logout(zs):
    assert zs.raw("GET", "/accounts/sessions/%s/valid" % zs.session).json() == {"valid": True}
    response = zs.raw("DELETE", "/accounts/sessions/" + zs.session)
    assert response.status_code == 200
    assert zs.raw("GET", "/accounts/sessions/%s/valid" % zs.session).json() == {"valid": False}
    assert zs.call("GET", "/zones").json() == ID_1001


# 2 -----------------------------------------------------------------------------------------
def test_contract_2_authorization_header_checks(zs):
    calls = [("GET", "/vm-instances", None), ("GET", "/longjobs/" + JOB_FAILED_V2V, None),
             ("PUT", "/vm-instances/%s/actions" % VM_WEB, {"primaryStorageMigrateVm": {"dstPrimaryStorageUuid": PS_CEPH}}),
             ("POST", "/v2vs", {"params": {}})]
    for method, path, body in calls:
        assert_text(zs.raw(method, path, json=body), 400, "missing header 'Authorization'")
        for header in ("Basic YWRtaW46cGFzc3dvcmQ=", "Bearer " + zs.session):
            assert_text(zs.raw(method, path, json=body, headers={"Authorization": header}), 400,
                        "Authorization type must be 'OAuth'")
    assert zs.one("/vm-instances/" + VM_WEB)["state"] == "Running"  # nothing was submitted


# 3 -----------------------------------------------------------------------------------------
def test_contract_3_invalid_session_on_get_is_503_not_401(zs, zstack_emulator):
    for path in ("/vm-instances", "/vm-instances/" + VM_WEB, "/vm-instances/%s/storage-migration-candidates" % VM_WEB):
        response = zs.call("GET", path, session=job_id())
        assert response.status_code == 503 and response.json() == ID_1001
    zstack_emulator.admin.expire_sessions()
    response = zs.call("GET", "/volumes")
    assert response.status_code == 503 and response.json() == ID_1001


def test_contract_3_invalid_session_on_async_call_fails_on_poll(zs):
    job = job_id()
    accepted = zs.migrate(VM_WEB, session=job_id(), headers={"X-Job-UUID": job}, dstPrimaryStorageUuid=PS_CEPH)
    assert accepted.status_code == 202
    response = zs.wait(accepted)
    assert response.status_code == 503 and response.json() == ID_1001
    assert zs.one("/vm-instances/" + VM_WEB)["state"] == "Running"  # the operation did not run
    # The X-Job-UUID is taken now: a resubmission needs a new one.
    again = zs.migrate(VM_WEB, headers={"X-Job-UUID": job}, dstPrimaryStorageUuid=PS_CEPH)
    assert_text(again, 400, "Duplicate job uuid[%s]" % job)
    assert zs.migrate(VM_WEB, headers={"X-Job-UUID": job_id()}, dstPrimaryStorageUuid=PS_CEPH).status_code == 202


# 4 -----------------------------------------------------------------------------------------
def test_contract_4_sessions_slide(zs, zstack_emulator):
    state = zstack_emulator.admin.state()
    session = next(s for s in state["sessions"] if s["uuid"] == zs.session)
    assert session["expires"] - session["created"] == pytest.approx(7200)
    zstack_emulator.admin.action("session-timeout", {"seconds": 0.4})
    zs.session = zs.login("admin", sha512("password")).json()["inventory"]["uuid"]
    for _call in range(4):  # 0.8 s in all, twice the timeout: every call pushes the expiry
        time.sleep(0.2)
        assert zs.call("GET", "/zones").status_code == 200
    time.sleep(0.5)
    assert zs.call("GET", "/zones").json() == ID_1001


# 5 -----------------------------------------------------------------------------------------
def test_contract_5_async_location_from_management_ip(zs, zstack_emulator):
    accepted = zs.migrate(VM_WEB, dstPrimaryStorageUuid=PS_CEPH)
    assert accepted.status_code == 202 and set(accepted.json()) == {"location", "apiTimeout"}
    location = accepted.json()["location"]
    assert re.match(r"http://10\.0\.0\.5:8080/zstack/v1/api-jobs/[0-9a-f]{32}\Z", location)
    assert "127.0.0.1" not in location and zstack_emulator.url.startswith("https://127.0.0.1:")
    assert accepted.json()["apiTimeout"] == 72 * 3600 * 1000
    assert zs.wait(accepted).status_code == 200  # polled through the rewritten URL
    assert zs.v2v().json()["apiTimeout"] == 30 * 60 * 1000
    assert zs.v2v(headers={"X-API-Timeout": "60"}, name="web-03").json()["apiTimeout"] == 60000
    zstack_emulator.admin.action("config", {"management_ip": "172.16.0.9"})
    assert zs.longjob_action(JOB_FAILED_V2V, "rerunLongJob").json()["location"].startswith(
        "http://172.16.0.9:8080/zstack/v1/api-jobs/")
    # login and logout are synchronous
    assert zs.login("admin", sha512("password")).status_code == 200
    assert zs.raw("DELETE", "/accounts/sessions/" + zs.session).status_code == 200


# 6 -----------------------------------------------------------------------------------------
def test_contract_6_api_job_poll_states(zs, zstack_emulator):
    accepted = zs.migrate(VM_WEB, dstPrimaryStorageUuid=PS_CEPH)
    running = zs.poll(accepted)
    assert running.status_code == 202 and running.json() == {}
    done = zs.wait(accepted)
    assert done.status_code == 200 and done.json()["inventory"]["uuid"] == VM_WEB
    failed = zs.wait(zs.migrate(VM_BATCH, dstPrimaryStorageUuid=PS_CEPH))
    assert_error(failed, 503, "SYS.1006")
    assert_text(zs.call("GET", "/api-jobs/" + job_id()), 404, "the job has been expired")
    job_path = "/api-jobs/" + accepted.json()["location"].rsplit("/", 1)[1]
    for method in ("PUT", "POST", "DELETE"):
        assert_text(zs.call(method, job_path, json={}), 405, "only GET method is allowed for querying job status")
    zstack_emulator.admin.action("job-retention", {"seconds": 0.2})
    time.sleep(0.25)
    assert_text(zs.call("GET", job_path), 404, "the job has been expired")


# 7 -----------------------------------------------------------------------------------------
def test_contract_7_x_job_uuid(zs):
    for bad in (job_id()[:31], str(uuid.uuid4())):
        response = zs.migrate(VM_WEB, headers={"X-Job-UUID": bad}, dstPrimaryStorageUuid=PS_CEPH)
        assert_text(response, 400, "Invalid header[X-Job-UUID], it must be a UUID with '-' stripped")
    job = job_id()
    accepted = zs.migrate(VM_WEB, headers={"X-Job-UUID": job}, dstPrimaryStorageUuid=PS_CEPH)
    assert accepted.json()["location"].endswith("/api-jobs/" + job)
    assert zs.call("GET", "/api-jobs/" + job).status_code in (200, 202)
    for response in (zs.migrate(VM_WEB, headers={"X-Job-UUID": job}, dstPrimaryStorageUuid=PS_CEPH),
                     zs.v2v(headers={"X-Job-UUID": job})):
        assert_text(response, 400, "Duplicate job uuid[%s]" % job)
    assert zs.wait(accepted).status_code == 200


# 8 -----------------------------------------------------------------------------------------
def test_contract_8_action_dispatch_is_case_sensitive(zs):
    for key in ("primarystoragemigratevm", "PrimaryStorageMigrateVm"):
        response = zs.call("PUT", "/vm-instances/%s/actions" % VM_WEB, json={key: {"dstPrimaryStorageUuid": PS_CEPH}})
        assert_text(response, 400, "the body doesn't contain action mapping to the URL[/v1/vm-instances/%s/actions]"
                    % VM_WEB)
    # The vendor excerpt's separate "migratevm" object is ignored: not even type-checked.
    response = zs.call("PUT", "/vm-instances/%s/actions" % VM_WEB, json={
        "primaryStorageMigrateVm": {"dstPrimaryStorageUuid": PS_CEPH, "bandwidth": 100},
        "migratevm": {"downTime": "abc", "bandwidth": 1.5}, "systemTags": [], "userTags": []})
    assert response.status_code == 202
    job = zs.get("/longjobs", q="jobData~=%" + VM_WEB + "%")["inventories"][0]
    data = json.loads(job["jobData"])
    assert data["bandwidth"] == 100 and "downTime" not in data
    assert zs.wait(response).status_code == 200


# 9 -----------------------------------------------------------------------------------------
def test_contract_9_type_checks_are_plain_text_400(zs):
    cases = [({"withDataVolumes": "yes"},
              "Invalid value for boolean field [withDataVolumes], [yes] is not a valid boolean string[true, false]."),
             ({"withSnapshots": 1},
              "Invalid value for boolean field [withSnapshots], [1] is not a valid boolean string[true, false]."),
             ({"downTime": 1.5}, "[downTime] field is excepted an int or long, but was [1.5]."),
             ({"bandwidth": "abc"}, "[bandwidth] field is excepted an int or long, but was [abc].")]
    for params, text in cases:
        assert_text(zs.migrate(VM_WEB, dstPrimaryStorageUuid=PS_CEPH, **params), 400, text)
    assert_text(zs.v2v(cpuNum=1.5), 400, "[cpuNum] field is excepted an int or long, but was [1.5].")
    assert_text(zs.v2v(pauseVm="no"), 400,
                "Invalid value for boolean field [pauseVm], [no] is not a valid boolean string[true, false].")
    # Any case, string or JSON boolean, and integral numbers pass.
    accepted = zs.migrate(VM_WEB, dstPrimaryStorageUuid=PS_CEPH, withDataVolumes="TRUE", withSnapshots=False,
                          downTime=300, bandwidth="100")
    assert zs.wait(accepted).status_code == 200


def test_contract_9_missing_or_unknown_reference_is_503_on_poll(zs):
    for params in ({}, {"dstPrimaryStorageUuid": job_id()}, {"dstPrimaryStorageUuid": PS_CEPH, "dstHostUuid": "x"}):
        accepted = zs.migrate(VM_WEB, **params)
        assert accepted.status_code == 202
        assert_error(zs.wait(accepted), 503, "SYS.1007")
    assert_error(zs.wait(zs.migrate(job_id(), dstPrimaryStorageUuid=PS_CEPH)), 503, "SYS.1007")


# 10 ----------------------------------------------------------------------------------------
def names(reply):
    return sorted(i["name"] for i in reply["inventories"])


def test_contract_10_query_operators(zs):
    cases = {"name=web-01": ["web-01"], "name!=app-01": ["batch-01", "cache-01", "db-01", "web-01"],
             "cpuNum>2": ["db-01"], "cpuNum>=8": ["db-01"], "memorySize<%d" % (4 * GIB): [],
             "memorySize<=%d" % (4 * GIB): ["app-01", "app-01", "batch-01", "web-01"],
             "state?=Paused,Starting": ["batch-01", "cache-01"],
             "state!?=Running,Stopped": ["batch-01", "cache-01"], "name~=app%": ["app-01", "app-01"],
             "name~=_eb-01": ["web-01"], "name!~=%-01": [], "hostUuid is null": ["app-01", "db-01"],
             "hostUuid not null": ["app-01", "batch-01", "cache-01", "web-01"]}
    for cond, expected in cases.items():
        assert names(zs.get("/vm-instances", q=cond)) == expected, cond
    # '%' sent as %25 in a hand-built query string
    raw = zs.call("GET", "/vm-instances?q=name~=%25che%25")
    assert names(raw.json()) == ["cache-01"]


def test_contract_10_and_paging_sort_fields_count(zs):
    both = zs.call("GET", "/vm-instances", params=[("q", "name=app-01"), ("q", "state=Running")]).json()
    assert [i["uuid"] for i in both["inventories"]] == [VM_APP_RUNNING]
    assert zs.get("/vm-instances", count="true") == {"total": 6}
    assert zs.get("/vm-instances", q="name=app-01", count="true") == {"total": 2}
    ordered = [i["name"] for i in zs.get("/vm-instances", sort="-name")["inventories"]]
    assert ordered == sorted(ordered, reverse=True)
    page = zs.get("/vm-instances", sort="+name", limit="2", start="2", replyWithCount="true")
    assert [i["name"] for i in page["inventories"]] == ["batch-01", "cache-01"] and page["total"] == 6
    assert zs.get("/vm-instances", fields="uuid,name", limit="1")["inventories"][0].keys() == {"uuid", "name"}
    assert len(zs.get("/vm-instances", condition="name=web-01")["inventories"]) == 6  # only q counts
    bad = zs.call("GET", "/vm-instances", params={"q": "name"})
    assert bad.status_code == 400 and bad.text.startswith("Invalid query parameter. The 'name' in the parameter[q]")
    assert_text(zs.call("GET", "/vm-instances", params={"limit": "ten"}), 400,
                "Invalid query parameter. 'limit' must be an integer")
    assert_error(zs.call("GET", "/vm-instances", params={"q": "color=red"}), 503, "SYS.1007")


def test_contract_10_cross_table_and_uuid_paths(zs):
    assert sorted(i["uuid"] for i in zs.get("/vm-instances", q="allVolumes.primaryStorageUuid=" + PS_CEPH)[
        "inventories"]) == sorted([VM_CACHE, VM_APP_RUNNING])
    assert names(zs.get("/vm-instances", q="vmNics.ip=10.0.1.11")) == ["web-01"]
    vm = zs.get("/vm-instances/" + VM_DB)
    assert list(vm) == ["inventories"] and len(vm["inventories"]) == 1
    vm = vm["inventories"][0]
    assert {"uuid", "name", "state", "hostUuid", "lastHostUuid", "clusterUuid", "zoneUuid", "rootVolumeUuid",
            "hypervisorType", "cpuNum", "memorySize", "vmNics", "allVolumes"} <= set(vm)
    assert [v["type"] for v in vm["allVolumes"]] == ["Root", "Data", "Data"] and vm["vmNics"][0]["l3NetworkUuid"] == L3_PROD
    assert len(zs.get("/volumes", q="vmInstanceUuid=" + VM_DB)["inventories"]) == 3
    for path in ("vm-instances", "volumes", "longjobs", "primary-storage", "hosts"):
        response = zs.call("GET", "/%s/%s" % (path, job_id()))
        assert response.status_code == 200 and response.json() == {"inventories": []}
    assert sorted(p["type"] for p in zs.get("/primary-storage")["inventories"]) == ["Ceph", "LocalStorage", "NFS"]
    for path, count in (("/hosts", 2), ("/l3-networks", 2), ("/clusters", 1), ("/zones", 1),
                        ("/v2v-conversion-hosts", 1), ("/longjobs", 2)):
        assert len(zs.get(path)["inventories"]) == count, path
    assert zs.one("/v2v-conversion-hosts/" + CONVERSION_HOST)["hostUuid"] == HOST_2


def test_contract_10_name_queries_on_every_collection_a_module_resolves_names_in(zs):
    # zstack_ps_migrate and zstack_v2v_convert accept a name wherever they take a uuid:
    # <collection>?q=name=<name> (one query per name), unknown names give an empty list.
    for path, name, uuid_ in (("/vm-instances", "web-01", VM_WEB), ("/primary-storage", "ps-ceph-01", PS_CEPH),
                              ("/hosts", "host-kvm-01", HOST_1), ("/l3-networks", "l3-mgmt", L3_MGMT),
                              ("/clusters", "cluster-kvm-1", CLUSTER), ("/zones", "zone-1", ZONE),
                              ("/v2v-conversion-hosts", "v2v-ch-01", CONVERSION_HOST)):
        assert [i["uuid"] for i in zs.get(path, q="name=" + name)["inventories"]] == [uuid_], path
        assert zs.get(path, q="name=no-such-" + name)["inventories"] == [], path
        assert [i["name"] for i in zs.get(path, q="uuid?=%s,%s" % (uuid_, job_id()))["inventories"]] == [name], path


# 11 ----------------------------------------------------------------------------------------
def running_migrations(zs, vm):
    return zs.call("GET", "/longjobs", params=[("q", "jobName=APIPrimaryStorageMigrateVmMsg"), ("q", "state=Running"),
                                               ("q", "jobData~=%" + vm + "%")]).json()["inventories"]


def test_contract_11_live_migration_of_running_vm(zs):
    accepted = zs.migrate(VM_WEB, dstPrimaryStorageUuid=PS_CEPH, downTime=300, bandwidth=100)
    assert zs.poll(accepted).status_code == 202
    assert zs.one("/vm-instances/" + VM_WEB)["state"] == "Migrating"
    [job] = running_migrations(zs, VM_WEB)
    assert job["targetResourceUuid"] == VM_WEB and PS_CEPH in job["jobData"]
    done = zs.wait(accepted)
    assert done.status_code == 200 and list(done.json()) == ["inventory"]
    vm = done.json()["inventory"]
    assert vm["state"] == "Running" and len(vm["allVolumes"]) == 2
    assert all(v["primaryStorageUuid"] == PS_CEPH for v in vm["allVolumes"])
    assert zs.one("/longjobs/" + job["uuid"])["state"] == "Succeeded"
    assert running_migrations(zs, VM_WEB) == []


def test_contract_11_offline_migration_root_only(zs):
    accepted = zs.migrate(VM_DB, dstPrimaryStorageUuid=PS_CEPH, withDataVolumes=False)
    zs.poll(accepted)
    assert zs.one("/vm-instances/" + VM_DB)["state"] == "VolumeMigrating"
    vm = zs.wait(accepted).json()["inventory"]
    assert vm["state"] == "Stopped"
    assert {v["type"]: v["primaryStorageUuid"] for v in vm["allVolumes"]} == {"Root": PS_CEPH, "Data": PS_NFS}


def test_contract_11_paused_vm_migrates_live(zs):
    accepted = zs.migrate(VM_CACHE, dstPrimaryStorageUuid=PS_NFS)
    zs.poll(accepted)
    assert zs.one("/vm-instances/" + VM_CACHE)["state"] == "Migrating"
    assert zs.wait(accepted).json()["inventory"]["state"] == "Running"


def test_contract_11_other_states_and_refusals_are_503(zs):
    assert_error(zs.wait(zs.migrate(VM_BATCH, dstPrimaryStorageUuid=PS_CEPH)), 503, "SYS.1006",
                 "not support vm state[Starting]")
    assert_error(zs.wait(zs.migrate(VM_WEB, dstPrimaryStorageUuid=PS_LOCAL)), 503, "SYS.1007")  # no dstHostUuid
    assert_error(zs.wait(zs.migrate(VM_APP_RUNNING, dstPrimaryStorageUuid=PS_LOCAL, dstHostUuid=HOST_1)),
                 503, "SYS.1006")  # its data volume is on Ceph: Ceph -> LocalStorage is not supported
    vm = zs.wait(zs.migrate(VM_WEB, dstPrimaryStorageUuid=PS_LOCAL, dstHostUuid=HOST_2)).json()["inventory"]
    assert vm["hostUuid"] == HOST_2 and vm["lastHostUuid"] == HOST_1
    assert {v["primaryStorageUuid"] for v in vm["allVolumes"]} == {PS_LOCAL}


def test_contract_11_same_primary_storage_returns_vm_unchanged(zs):
    before = zs.one("/vm-instances/" + VM_WEB)
    done = zs.wait(zs.migrate(VM_WEB, dstPrimaryStorageUuid=PS_NFS))
    assert done.status_code == 200 and done.json()["inventory"] == before
    assert zs.get("/longjobs", q="jobName=APIPrimaryStorageMigrateVmMsg")["inventories"] == []


def test_contract_11_candidates_and_cancel(zs):
    candidates = zs.get("/vm-instances/%s/storage-migration-candidates" % VM_WEB)["inventories"]
    assert sorted(p["uuid"] for p in candidates) == sorted([PS_CEPH, PS_LOCAL])
    assert [p["uuid"] for p in zs.get("/vm-instances/%s/storage-migration-candidates" % VM_CACHE)[
        "inventories"]] == [PS_NFS]
    accepted = zs.migrate(VM_WEB, dstPrimaryStorageUuid=PS_CEPH)
    zs.poll(accepted)
    [job] = running_migrations(zs, VM_WEB)
    assert zs.wait(zs.longjob_action(job["uuid"], "cancelLongJob")).status_code == 200
    assert_error(zs.wait(accepted), 503, "LONG_JOB.1000")
    assert zs.one("/longjobs/" + job["uuid"])["state"] == "Canceled"
    vm = zs.one("/vm-instances/" + VM_WEB)
    assert vm["state"] == "Running" and {v["primaryStorageUuid"] for v in vm["allVolumes"]} == {PS_NFS}


# 12 ----------------------------------------------------------------------------------------
def test_contract_12_v2v_job_runs_then_creates_the_vm(zs):
    resource = job_id()
    accepted = zs.v2v(resourceUuid=resource, strategy="JustConvert")
    assert accepted.status_code == 202
    answer = zs.wait(accepted)
    assert answer.status_code == 200 and list(answer.json()) == ["inventory"]
    job = answer.json()["inventory"]
    assert job["uuid"] == resource and job["state"] == "Running"
    assert job["jobName"] == "APIConvertVmFromForeignHypervisorMsg"
    job = zs.wait_job(resource)
    assert job["state"] == "Succeeded" and isinstance(job["jobResult"], str)
    vm = json.loads(job["jobResult"])["inventory"]
    assert vm["name"] == "web-02" and vm["state"] == "Stopped" and vm["rootVolumeUuid"]
    assert job["targetResourceUuid"] == vm["uuid"]
    [found] = zs.get("/vm-instances", q="name=web-02")["inventories"]
    assert found["uuid"] == vm["uuid"] and found["allVolumes"][0]["primaryStorageUuid"] == PS_NFS
    # the same resourceUuid again: 503 on the poll
    assert_error(zs.wait(zs.v2v(resourceUuid=resource)), 503, "SYS.1007")


def test_contract_12_v2v_validation_on_poll(zs):
    for params in ({"url": "http://vc.example.com/vm-42"}, {"name": None}, {"l3NetworkUuids": []},
                   {"primaryStorageUuid": job_id()}, {"resourceUuid": "not-a-uuid"},
                   {"resourceUuid": JOB_FAILED_V2V}, {"strategy": "Later"}):
        accepted = zs.v2v(**params)
        assert accepted.status_code == 202, params
        assert_error(zs.wait(accepted), 503, "SYS.1007")
    accepted = zs.v2v(url="kvm://root@192.168.20.5:22/8c0e7a4e-6b41-4d0e-9a55-0c4f1f3b2a10", sshPrivKey="KEY")
    assert zs.wait(accepted).json()["inventory"]["state"] == "Running"


def test_contract_12_scripted_failures(zs, zstack_emulator):
    job = zs.wait(zs.v2v(url=V2V_FAILING_URL)).json()["inventory"]
    failed = zs.wait_job(job["uuid"])
    assert failed["state"] == "Failed"
    result = json.loads(failed["jobResult"])
    assert set(result) == {"message", "detail", "cause"} and "vCenter" in result["detail"]
    zstack_emulator.admin.action("v2v-failures", {"sources": {"web-09": "disk copy failed"}})
    job = zs.wait(zs.v2v(name="web-09")).json()["inventory"]
    assert json.loads(zs.wait_job(job["uuid"])["jobResult"])["detail"] == "disk copy failed"
    assert zs.get("/vm-instances", q="name=web-09")["inventories"] == []


def test_contract_12_cancel_rerun_resume(zs):
    job = zs.wait(zs.v2v()).json()["inventory"]["uuid"]
    assert_error(zs.wait(zs.longjob_action(job, "rerunLongJob")), 503, "SYS.1007")  # still Running
    canceled = zs.wait(zs.longjob_action(job, "cancelLongJob"))
    assert canceled.status_code == 200 and canceled.content == b""
    assert zs.one("/longjobs/" + job)["state"] == "Canceled"
    time.sleep(FAST["v2v_duration"])
    assert zs.one("/longjobs/" + job)["state"] == "Canceled" and zs.get("/vm-instances", q="name=web-02")[
        "inventories"] == []
    rerun = zs.wait(zs.longjob_action(job, "rerunLongJob"))
    assert rerun.status_code == 200 and rerun.json()["inventory"]["state"] == "Running"
    assert zs.wait_job(job)["state"] == "Succeeded"
    assert_error(zs.wait(zs.longjob_action(job, "cancelLongJob")), 503, "SYS.1007")
    assert_error(zs.wait(zs.longjob_action(JOB_FAILED_V2V, "cancelLongJob")), 503, "SYS.1007")
    assert zs.wait(zs.longjob_action(JOB_FAILED_V2V, "rerunLongJob")).json()["inventory"]["state"] == "Running"
    # resume: only a Suspended job
    assert_error(zs.wait(zs.longjob_action(job, "resumeLongJob")), 503, "SYS.1007")
    assert zs.wait(zs.longjob_action(JOB_SUSPENDED_V2V, "resumeLongJob")).json()["inventory"]["state"] == "Running"
    assert zs.wait_job(JOB_SUSPENDED_V2V)["state"] == "Succeeded"
    assert names(zs.get("/vm-instances", q="name?=report-01,legacy-01")) == ["legacy-01", "report-01"]


# 13 ----------------------------------------------------------------------------------------
def test_contract_13_error_shapes(zs):
    assert_text(zs.call("GET", "/nothing-here"), 404, "no api mapping to /v1/nothing-here")
    malformed = zs.call("PUT", "/vm-instances/%s/actions" % VM_WEB, data="{not json")
    assert malformed.status_code == 500 and malformed.headers["Content-Type"].startswith("text/plain")
    for response in (zs.call("GET", "/zones", session=job_id()), zs.login("admin", "password"),
                     zs.wait(zs.migrate(VM_BATCH, dstPrimaryStorageUuid=PS_CEPH))):
        assert response.status_code == 503 and response.headers["Content-Type"] == "application/json"
        assert list(response.json()) == ["error"]
        assert {"code", "description", "details"} <= set(response.json()["error"])


# faults ------------------------------------------------------------------------------------
def test_fault_status(zs, zstack_emulator):
    body = {"error": {"code": "SYS.1001", "description": "A message or a operation timeout", "details": "timeout"}}
    zstack_emulator.admin.fault(method="GET", path="/zstack/v1/zones", status=503, body=body)
    assert zs.call("GET", "/zones").json() == body
    assert zs.call("GET", "/zones").status_code == 200


def test_fault_delay(zs, zstack_emulator):
    zstack_emulator.admin.fault(path="/zstack/v1/hosts", delay=0.3)
    started = time.time()
    assert zs.call("GET", "/hosts").status_code == 200
    assert time.time() - started >= 0.3


def test_fault_drop(zs, zstack_emulator):
    zstack_emulator.admin.fault(path="/zstack/v1/clusters", drop=True)
    with pytest.raises(requests.ConnectionError):
        zs.call("GET", "/clusters")
    assert zs.call("GET", "/clusters").status_code == 200


def test_fault_expire_session(zs, zstack_emulator):
    zstack_emulator.admin.fault(path="/zstack/v1/zones", expire_session=True)
    assert zs.call("GET", "/zones").json() == ID_1001


def test_fault_after_the_call_happens_but_the_answer_is_lost(zs, zstack_emulator):
    zstack_emulator.admin.fault(method="PUT", path="/actions", after=True, drop=True)
    job = job_id()
    with pytest.raises(requests.ConnectionError):
        zs.migrate(VM_WEB, headers={"X-Job-UUID": job}, dstPrimaryStorageUuid=PS_CEPH)
    # the documented retry: same X-Job-UUID -> "Duplicate" -> poll that job
    assert_text(zs.migrate(VM_WEB, headers={"X-Job-UUID": job}, dstPrimaryStorageUuid=PS_CEPH), 400,
                "Duplicate job uuid[%s]" % job)
    deadline = time.time() + 5
    while (response := zs.call("GET", "/api-jobs/" + job)).status_code == 202 and time.time() < deadline:
        time.sleep(0.03)
    assert response.status_code == 200 and response.json()["inventory"]["state"] == "Running"


# audit additions ----------------------------------------------------------------------------
def test_section_2_max_sessions_per_user_is_id_1006(zs, zstack_emulator):
    zstack_emulator.admin.action("config", {"max_sessions": 2})  # the real limit is 500
    second = zs.login("admin", sha512("password"))
    assert second.status_code == 200
    assert_error(zs.login("admin", sha512("password")), 503, "ID.1006")
    zs.raw("DELETE", "/accounts/sessions/" + second.json()["inventory"]["uuid"])  # logging out frees a slot
    assert zs.login("admin", sha512("password")).status_code == 200


def test_section_12_optional_sys_1001_on_the_api_job_while_the_long_job_goes_on(zs, zstack_emulator):
    zstack_emulator.admin.action("config", {"migrate_duration": 0.6, "api_job_timeout": 0.1})
    accepted = zs.migrate(VM_WEB, dstPrimaryStorageUuid=PS_CEPH)
    assert_error(zs.wait(accepted), 503, "SYS.1001")
    [job] = running_migrations(zs, VM_WEB)
    assert zs.one("/vm-instances/" + VM_WEB)["state"] == "Migrating"
    assert zs.wait_job(job["uuid"])["state"] == "Succeeded"
    assert_error(zs.poll(accepted), 503, "SYS.1001")  # the api-job keeps its timeout answer
    vm = zs.one("/vm-instances/" + VM_WEB)
    assert vm["state"] == "Running" and {v["primaryStorageUuid"] for v in vm["allVolumes"]} == {PS_CEPH}
    # a call that ends within the timeout is not affected
    assert_error(zs.wait(zs.longjob_action(job["uuid"], "cancelLongJob")), 503, "SYS.1007")  # Succeeded
    zstack_emulator.admin.action("config", {"api_job_timeout": None})
    assert zs.wait(zs.migrate(VM_WEB, dstPrimaryStorageUuid=PS_NFS)).status_code == 200


def test_section_9_conversion_hosts_can_be_added(zs):
    accepted = zs.call("POST", "/v2v-conversion-hosts", json={"params": {
        "name": "v2v-ch-02", "type": "KVM", "hostUuid": HOST_1, "storagePath": "/v2v"}})
    assert accepted.status_code == 202 and set(accepted.json()) == {"location", "apiTimeout"}
    done = zs.wait(accepted)
    assert done.status_code == 200 and list(done.json()) == ["inventory"]
    host = done.json()["inventory"]
    assert (host["name"], host["type"], host["hostUuid"], host["storagePath"]) == ("v2v-ch-02", "KVM", HOST_1, "/v2v")
    assert zs.one("/v2v-conversion-hosts/" + host["uuid"])["name"] == "v2v-ch-02"
    for params in ({"name": "x", "type": "KVM", "storagePath": "/v2v"},
                   {"name": "x", "type": "KVM", "hostUuid": job_id(), "storagePath": "/v2v"},
                   {"name": "x", "type": "XEN", "hostUuid": HOST_1, "storagePath": "/v2v"}):
        assert_error(zs.wait(zs.call("POST", "/v2v-conversion-hosts", json={"params": params})), 503, "SYS.1007")
    assert_text(zs.raw("POST", "/v2v-conversion-hosts", json={"params": {}}), 400, "missing header 'Authorization'")


def test_section_5_checks_run_after_the_202_accept_delay(zs, zstack_emulator):
    # Everything behind the 202 (session check, validation, the LongJob, the VM state) may come later:
    # for accept_delay seconds the api-job is known (202) but nothing else shows the call.
    zstack_emulator.admin.action("accept-delay", {"seconds": 0.4})
    accepted = zs.migrate(VM_WEB, dstPrimaryStorageUuid=PS_CEPH)
    assert zs.poll(accepted).status_code == 202
    assert zs.one("/vm-instances/" + VM_WEB)["state"] == "Running" and running_migrations(zs, VM_WEB) == []
    time.sleep(0.5)
    assert zs.one("/vm-instances/" + VM_WEB)["state"] == "Migrating" and len(running_migrations(zs, VM_WEB)) == 1
    assert zs.wait(accepted).status_code == 200
    bad = zs.migrate(VM_WEB, dstPrimaryStorageUuid=job_id())
    assert zs.poll(bad).status_code == 202
    time.sleep(0.5)
    assert_error(zs.wait(bad), 503, "SYS.1007")


def test_scripted_migration_failure_after_the_root_volume_moved(zs, zstack_emulator):
    zstack_emulator.admin.action("config", {"migrate_failures": {VM_WEB: "disk copy of the data volume failed"}})
    assert_error(zs.wait(zs.migrate(VM_WEB, dstPrimaryStorageUuid=PS_CEPH)), 503, "SYS.1006",
                 "disk copy of the data volume failed")
    vm = zs.one("/vm-instances/" + VM_WEB)
    placement = {v["type"]: v["primaryStorageUuid"] for v in vm["allVolumes"]}
    assert vm["state"] == "Running" and placement["Root"] == PS_CEPH and placement["Data"] != PS_CEPH
    [job] = zs.get("/longjobs", q="jobName=APIPrimaryStorageMigrateVmMsg")["inventories"]
    assert job["state"] == "Failed" and "disk copy" in job["jobResult"]
