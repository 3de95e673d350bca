# -*- coding: utf-8 -*-
# Copyright: (c) 2026, hybridcloud.migration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""ZStack v1 REST client: session or AccessKey auth, the async job protocol, queries, LongJobs.

Facts it relies on (api/zstack.md):

* login sends the SHA-512 hex of the password; later calls carry ``Authorization: OAuth <session>``;
  an invalid session is a **503** JSON ``ID.1001`` (or globalErrorCode ``ORG_ZSTACK_IDENTITY_10020``),
  never a 401 - directly on a GET, on the **poll** for an async call;
* a 503 carrying a ZStack error body is a real failure, not "try later";
* every non-GET call except login/logout answers 202 + ``location`` (built from the management
  node's own IP: rewritten onto the configured endpoint), then ``GET /api-jobs/<uuid>`` says 202
  (running), 200 (done), 503 (failed) or 404 (unknown/expired);
* a client-chosen ``X-Job-UUID`` names the api-job before ZStack answers: after a lost answer the
  client asks ``/api-jobs/<uuid>`` whether the call arrived, and resends (same uuid, so a late
  arrival meets 400 ``Duplicate job uuid[...]``) only when ZStack does not know it.

User values and the URL: uuids that go into a path are validated (32 hex) and still encoded with
``quote_segment``; names only ever travel as ``q=name=<value>`` query values, where ZStack's parser
has no escape, so the modules reject the names it would misread (``_zstack_plan.query_value_problem``);
everything else travels in JSON bodies.
"""

from __future__ import annotations

import base64
import email.utils
import hashlib
import hmac
import json
import uuid
from urllib.parse import urlsplit

from ansible.module_utils.basic import env_fallback

from ansible_collections.hybridcloud.migration.plugins.module_utils import _errors
from ansible_collections.hybridcloud.migration.plugins.module_utils._http import Redactor, RestClient, quote_segment
from ansible_collections.hybridcloud.migration.plugins.module_utils._module import Connection
from ansible_collections.hybridcloud.migration.plugins.module_utils._polling import Backoff, PollBackoff, wait_for
from ansible_collections.hybridcloud.migration.plugins.module_utils._zstack_plan import (
    TERMINAL_JOB_STATES, chunks, earlier_call_action, fleet_poll_delay, is_uuid, mask_job_secrets, next_call_uuid,
    pick_unique)

API = "/zstack/v1"
JOBS_PATH = API + "/api-jobs/"
LOGIN_PATH = API + "/accounts/login"
SESSION_PATH = API + "/accounts/sessions/"
SESSION_ERROR_CODES = frozenset(("ID.1001",))
SESSION_GLOBAL_ERROR_CODES = frozenset(("ORG_ZSTACK_IDENTITY_10020",))
DUPLICATE_JOB = "Duplicate job uuid"
# The ZStack API operations, named as the API reference does (the API class minus API/Msg), one
# constant each: every message and error names an operation with one of these.
LOG_IN_BY_ACCOUNT = "LogInByAccount"
LOG_OUT = "LogOut"
PRIMARY_STORAGE_MIGRATE_VM = "PrimaryStorageMigrateVm"
CONVERT_VM_FROM_FOREIGN_HYPERVISOR = "ConvertVmFromForeignHypervisor"
CANCEL_LONG_JOB = "CancelLongJob"
RERUN_LONG_JOB = "RerunLongJob"
RESUME_LONG_JOB = "ResumeLongJob"
LONG_JOB_ACTIONS = {CANCEL_LONG_JOB: "cancelLongJob", RERUN_LONG_JOB: "rerunLongJob", RESUME_LONG_JOB: "resumeLongJob"}
QUERY_VM_INSTANCE = "QueryVmInstance"
QUERY_VOLUME = "QueryVolume"
QUERY_PRIMARY_STORAGE = "QueryPrimaryStorage"
QUERY_HOST = "QueryHost"
QUERY_L3_NETWORK = "QueryL3Network"
QUERY_ZONE = "QueryZone"
QUERY_CLUSTER = "QueryCluster"
QUERY_LONG_JOB = "QueryLongJob"
QUERY_V2V_CONVERSION_HOST = "QueryV2VConversionHost"
QUERIES = {"vm-instances": QUERY_VM_INSTANCE, "volumes": QUERY_VOLUME, "primary-storage": QUERY_PRIMARY_STORAGE,
           "hosts": QUERY_HOST, "l3-networks": QUERY_L3_NETWORK, "zones": QUERY_ZONE, "clusters": QUERY_CLUSTER,
           "longjobs": QUERY_LONG_JOB, "v2v-conversion-hosts": QUERY_V2V_CONVERSION_HOST}
CALL_CHAIN = 8  # ended identical calls followed along next_call_uuid before a random uuid is taken
UNANSWERED_POLLS = 20  # 5xx without a ZStack error in a row, while polling one api-job, before giving up


class ApiJob:
    """One submitted async call: its X-Job-UUID, where to poll it, and what to resend if needed."""

    def __init__(self, uuid_, location, method, path, body, operation, resource):
        self.uuid = uuid_
        self.location = location
        self.method = method
        self.path = path
        self.body = body
        self.operation = operation
        self.resource = resource
        self.result = None  # the 200 body once done
        # True: ZStack has it (202, duplicate, its api-job answered); False: certainly not;
        # None: unknown (answers lost and ZStack could not be asked), read the real state.
        self.accepted = False
        self.lost_answers = 0  # answers to the submit that never came (or were a 5xx)
        self.unanswered = 0  # polls in a row answered by a 5xx without a ZStack error
        self.relogged = False  # a re-login happened since the last "still running" answer
        self.adopted = False  # an earlier run's identical call, found running: not sent by this run


class FleetBackoff(Backoff):
    """The poll schedule of one poller for many jobs: ``PollBackoff``'s promise (a job is noticed at
    most ``ratio`` of its age late, ``initial`` when young) for every job in flight at each round."""

    def __init__(self, ages, schedule):
        super().__init__(initial=schedule.initial, maximum=schedule.maximum, jitter=0)
        self.ages = ages  # callable: the ages (seconds) of the jobs in flight now
        self.ratio = schedule.ratio

    def delays(self):
        while True:
            yield fleet_poll_delay(self.ages(), self.initial, self.maximum, self.ratio)


class JobRejectedSession(Exception):
    """The api-job itself failed with ID.1001: the operation never ran; resubmit with a new uuid."""


class ZStackClient(RestClient):
    # 503 is ZStack's "the operation failed" (see is_retryable for proxies); only 429 means "later".
    retry_statuses = frozenset((429,))
    proxy_statuses = frozenset((502, 503, 504))

    def __init__(self, base_url, username=None, password=None, access_key_id=None, access_key_secret=None,
                 poll_backoff=None, **kwargs):
        super().__init__(base_url, **kwargs)
        self.username = username
        self.access_key_id = access_key_id
        self.access_key_secret = access_key_secret
        self.poll_backoff = poll_backoff or PollBackoff()
        self.session_uuid = None
        self.last_job = None  # the ApiJob submitted last (its uuid is the LongJob's apiId)
        self._password_hash = None
        if password is not None:
            self._password_hash = hashlib.sha512(password.encode("utf-8")).hexdigest()
            self.redact.add(password)
            self.redact.add(self._password_hash)
        self.redact.add(access_key_secret)
        self.use_access_key = bool(access_key_id and access_key_secret)
        if not self.use_access_key and not (username and password is not None):
            raise _errors.ParameterError("ZStack needs username and password, or access_key_id and access_key_secret")

    # -- RestClient hooks ------------------------------------------------------------------------
    def parse_error(self, response):
        error = _error_body(response)
        if error is not None:
            message = error.get("details") or error.get("description")
            if error.get("description") and error.get("details") and error["description"] not in error["details"]:
                message = "%s: %s" % (error["description"], error["details"])
            return error.get("code"), message
        # 400/404/405/500 come from the REST layer: plain text, or JSON of some other shape.
        return None, _body_text(response.body)

    def is_retryable(self, response):
        # A 502/503/504 without a ZStack error body comes from a proxy or load balancer in front.
        if response.status in self.proxy_statuses and _error_body(response) is None:
            return True
        return super().is_retryable(response)

    def is_session_expired(self, response):
        if self.use_access_key or response.status != 503:
            return False
        error = _error_body(response) or {}
        return error.get("code") in SESSION_ERROR_CODES or error.get("globalErrorCode") in SESSION_GLOBAL_ERROR_CODES

    def login(self):
        """PUT /accounts/login with the SHA-512 of the password; later calls use the session."""
        self.session.headers.pop("Authorization", None)
        self.session_uuid = None
        body = {"logInByAccount": {"accountName": self.username, "password": self._password_hash}}
        response = super().request("PUT", LOGIN_PATH, json_body=body, operation=LOG_IN_BY_ACCOUNT,
                                   resource="account '%s'" % self.username, idempotent=True, relogin=False,
                                   expect=(503,))
        if response.status == 503:
            message, code, api_message = self._error_parts(response)
            raise self._error(_errors.AuthError, message, LOG_IN_BY_ACCOUNT, "account '%s'" % self.username,
                              status=503, code=code, api_message=api_message)
        inventory = (response.body or {}).get("inventory") if isinstance(response.body, dict) else None
        session_uuid = inventory.get("uuid") if isinstance(inventory, dict) else None
        if not session_uuid:
            raise self._error(_errors.AuthError, "the login answer carries no session uuid", LOG_IN_BY_ACCOUNT,
                              "account '%s'" % self.username, status=response.status)
        self.redact.add(session_uuid)
        self.session_uuid = session_uuid
        self.session.headers["Authorization"] = "OAuth %s" % session_uuid

    def request(self, method, path, json_body=None, data=None, params=None, headers=None, operation=None,
                resource=None, idempotent=None, read_timeout=None, expect=None, relogin=True, once=False):
        if self.use_access_key:
            headers = dict(headers or {}, **self._signature_headers(method, path))
        elif self.session_uuid is None:
            self.login()  # lazily: one session for the whole module run
        return super().request(method, path, json_body=json_body, data=data, params=params, headers=headers,
                               operation=operation, resource=resource, idempotent=idempotent,
                               read_timeout=read_timeout, expect=expect, relogin=relogin, once=once)

    def close(self):
        """Log out (DELETE /accounts/sessions/{uuid}) and close the HTTP session."""
        session_uuid, self.session_uuid = self.session_uuid, None
        try:
            if session_uuid:
                RestClient.request(self, "DELETE", SESSION_PATH + quote_segment(session_uuid), operation=LOG_OUT,
                                   relogin=False, idempotent=True, expect=(404, 503))
        finally:
            super().close()

    # -- AccessKey authentication ----------------------------------------------------------------
    def _signature_headers(self, method, path):
        """``Authorization: ZStack <id>:<base64 HMAC-SHA1>`` over "METHOD\\nDATE\\n/v1/<path>" (ZStack Java SDK)."""
        date = email.utils.formatdate(usegmt=True)
        url_path = urlsplit(self.url(path)).path
        signed_path = url_path[url_path.find("/v1/"):] if "/v1/" in url_path else url_path
        digest = hmac.new(self.access_key_secret.encode("utf-8"),
                          ("%s\n%s\n%s" % (method.upper(), date, signed_path)).encode("utf-8"), hashlib.sha1).digest()
        return {"Date": date,
                "Authorization": "ZStack %s:%s" % (self.access_key_id, base64.b64encode(digest).decode("ascii"))}

    # -- async protocol --------------------------------------------------------------------------
    def job_location(self, location, job_uuid):
        """The poll URL on the configured endpoint: keep the part from /zstack/v1/api-jobs/."""
        if isinstance(location, str) and JOBS_PATH in location:
            return self.base_url + JOBS_PATH + location.split(JOBS_PATH, 1)[1]
        return self.base_url + JOBS_PATH + quote_segment(job_uuid)

    def submit(self, method, path, body, operation, resource=None, job_uuid=None, adopt_ended=False):
        """Send an async (mutating) call; return its ApiJob (not waited for).

        JOB_UUID, when given, is an X-Job-UUID derived from what the call is meant to do (the same
        on every run that would send the same call, ``_zstack_plan.call_job_uuid``). ZStack is
        asked about it first: an api-job of that uuid still running (202) is an earlier run's
        identical call, accepted but perhaps not yet processed (ZStack checks and starts a call only
        after its 202, so no LongJob or VM state shows it yet): it is adopted, not sent again. When
        ZStack does not know it (404) it is used; when it ended (an older identical call) the call
        takes the next uuid of a derived chain (``next_call_uuid``), asked about in the same way, so
        that a re-run finds this call too. ADOPT_ENDED: an identical call that succeeded is adopted
        (ended) instead, for callers whose plan may be older than that call's end: they read the
        real state again (``_zstack_plan.earlier_call_action``).

        The call is never resent blindly. When its answer is lost (connection reset, read
        timeout, a 5xx from ZStack or a proxy), ZStack is asked about the api-job first: if it
        knows the X-Job-UUID the call was accepted and the job is polled; only a 404 (never
        arrived) leads to a resend, with the same X-Job-UUID, so that even a late arrival of the
        first attempt meets "Duplicate job uuid" instead of running twice. After ``retries``
        lost answers the error says so and names the api-job.

        Asking first costs one GET, and it is the only way: ZStack shows an accepted call nowhere
        else until it has processed it. Sending at once and leaning on ZStack's own guard (400
        ``Duplicate job uuid``) would run nothing twice, but would still send the mutating call twice.
        """
        if not self.use_access_key and self.session_uuid is None:
            self.login()  # now: a failed login must not pass for a lost answer below
        for dummy in range(CALL_CHAIN if job_uuid is not None else 0):
            try:
                status = self.api_job_status(job_uuid, operation, resource)
            except _errors.MigrationError:
                status = None  # sent with JOB_UUID all the same: ZStack's duplicate guard still holds
            action = earlier_call_action(status, adopt_ended)
            if action == "adopt":
                job = ApiJob(job_uuid, self.job_location(None, job_uuid), method, path, body, operation, resource)
                job.adopted = True
                self.last_job = job
                return self._accepted(job, None)
            if action == "send":
                break
            job_uuid = next_call_uuid(job_uuid)
        else:
            job_uuid = None  # a long chain of ended identical calls (or none given): a random uuid
        job = ApiJob(job_uuid or uuid.uuid4().hex, None, method, path, body, operation, resource)
        job.location = self.job_location(None, job.uuid)
        self.last_job = job
        delays = self.backoff.delays()
        lost = []
        ours_may_have_arrived = job_uuid is None  # a random uuid: only our own attempts can carry it
        while True:
            try:
                response = self.request(method, path, json_body=body, headers={"X-Job-UUID": job.uuid},
                                        operation=operation, resource=resource, idempotent=False,
                                        expect=(400, 429, 500, 502, 503, 504))
            except _errors.TransportError as error:
                response, problem = None, error
            else:
                problem = None
                if response.status == 429 and len(lost) < self.retries:  # ZStack did nothing: later
                    lost.append("HTTP 429")
                    self.clock.sleep(self._retry_after(response) or next(delays))
                    continue
                if response.status == 400:
                    text = _body_text(response.body) or ""
                    if DUPLICATE_JOB in text and job.uuid in text:  # an earlier attempt arrived after all
                        # none of ours can have: an earlier run's identical call (ZStack was not asked)
                        job.adopted = not ours_may_have_arrived
                        return self._accepted(job, None)
                    raise self.error_from(response, operation, resource)
                if response.status < 300:
                    return self._accepted(job, response)
                if self.is_session_expired(response) and not lost:  # nothing ran: log in, send again
                    self.login()
                    lost.append("the session had expired")
                    continue
                problem = self.error_from(response, operation, resource)
            ours_may_have_arrived = True
            lost.append(str(problem.message))
            if self.api_job_known(job):  # the call arrived; its answer did not
                job.lost_answers = len(lost)
                return self._accepted(job, None)
            proxy_answer = response is not None and self.is_retryable(response)
            if response is not None and not proxy_answer:
                raise problem  # ZStack itself refused it, and no api-job exists: nothing was started
            if len(lost) > self.retries:
                raise self._error(type(problem), "no answer after %d attempts (last: %s); ZStack knows no api-job %s, "
                                  "so nothing was started" % (len(lost), lost[-1], job.uuid),
                                  operation, resource, status=getattr(problem, "status", None))
            self.clock.sleep(next(delays))

    def _accepted(self, job, response):
        job.accepted = True
        if response is not None:
            if response.status in (200, 204):  # answered synchronously after all
                job.result = response.body if isinstance(response.body, dict) else {}
            location = response.body.get("location") if isinstance(response.body, dict) else None
            job.location = self.job_location(location, job.uuid)
        return job

    def api_job_status(self, job_uuid, operation, resource):
        """202 (running), 200 (done), 503 (failed) or 404 (unknown) for the api-job JOB_UUID; one look, no retries."""
        try:
            return self.request("GET", JOBS_PATH + quote_segment(job_uuid), operation=operation, resource=resource,
                                relogin=False, once=True, expect=(202, 404)).status
        except _errors.ApiError as error:
            # the api-job's own failure (ZStack's error body); not our session's: that says nothing of the job
            if error.status == 503 and error.code and error.code not in SESSION_ERROR_CODES:
                return 503
            raise

    def api_job_known(self, job):
        """Whether ZStack has the api-job JOB (any answer but 404): after a lost answer, did the call arrive?

        Raises TransportError naming the api-job when ZStack cannot be asked either.
        """
        try:
            # An expired session is renewed by request(); a 503 with ZStack's error body is the job's failure.
            response = self.request("GET", job.location, operation=job.operation, resource=job.resource,
                                    expect=(202, 404))
        except (_errors.TransportError, _errors.ApiError) as error:
            if isinstance(error, _errors.ApiError) and error.status == 503 and error.code:
                return True
            job.accepted = None  # unknown: the caller must read the real state before deciding anything
            raise self._error(_errors.TransportError, "the answer to api-job %s was lost, and asking ZStack about "
                              "it failed too: %s" % (job.uuid, error.message), job.operation, job.resource)
        return response.status != 404

    def poll(self, job):
        """One look at JOB: None while it runs, the 200 body when done; raises JobFailedError on 503."""
        if job.result is not None:
            return job.result
        response = self.request("GET", job.location, operation=job.operation, resource=job.resource,
                                relogin=False, expect=(202, 404, 500, 502, 503, 504))
        if response.status == 202:
            job.relogged = False
            job.unanswered = 0
            return None
        if response.status >= 500 and _error_body(response) is None:
            # A proxy's 5xx, or the REST layer's own 500, says nothing about the job: ask again at
            # the next poll, but not for ever.
            job.unanswered += 1
            if job.unanswered <= UNANSWERED_POLLS:
                return None
            raise self._error(_errors.ApiError, "%d polls of api-job %s in a row got no answer about it (last: %s)"
                              % (job.unanswered, job.uuid, _body_text(response.body) or "HTTP %s" % response.status),
                              job.operation, job.resource, status=response.status)
        if response.status == 404:
            raise self._error(_errors.NotFoundError, "the api-job %s is unknown or has expired: %s"
                              % (job.uuid, _body_text(response.body) or "HTTP 404"),
                              job.operation, job.resource, status=404)
        if response.status == 503:
            if self.is_session_expired(response):
                if not job.relogged:
                    # Our session lapsed while polling; the job may still be fine: look again.
                    job.relogged = True
                    self.login()
                    return self.poll(job)
                raise JobRejectedSession()
            code, message = self._error_parts(response)[1:]
            raise self._error(_errors.JobFailedError, message or "HTTP 503", job.operation, job.resource,
                              status=503, code=code, api_message=message,
                              details=response.body if isinstance(response.body, dict) else None)
        job.result = response.body if isinstance(response.body, dict) else {}
        return job.result

    def wait_job(self, job, timeout):
        """Poll JOB along the poll schedule until it ends; return the 200 body."""
        return wait_for(lambda: self.poll(job), timeout, backoff=self.poll_backoff, clock=self.clock,
                        what="%s (api-job %s)" % (job.operation, job.uuid))

    def call_async(self, method, path, body, operation, resource=None, timeout=None, job_uuid=None):
        """Submit (JOB_UUID: see ``submit``) and wait; resubmit once with a new X-Job-UUID if the job
        died of an invalid session.

        Returns (ApiJob, result body).
        """
        start = self.clock.now()
        job = self.submit(method, path, body, operation, resource, job_uuid)
        try:
            return job, self.wait_job(job, timeout)
        except JobRejectedSession:
            pass
        remaining = None if timeout is None else max(timeout - (self.clock.now() - start), 0)
        job = self.submit(method, path, body, operation, resource)
        try:
            return job, self.wait_job(job, remaining)
        except JobRejectedSession:
            raise self._error(_errors.AuthError, "the session was rejected twice, even right after a fresh login",
                              operation, resource, code="ID.1001")

    # -- queries ---------------------------------------------------------------------------------
    def query(self, collection, conditions=(), **params):
        """GET /zstack/v1/<collection>?q=...&q=... (conditions AND-ed) -> the inventories.

        Conditions are "field<op>value" strings (api/zstack.md section 6); the URL encoding sends
        ``%`` as %25, as ``~=`` needs.
        """
        query = [("q", condition) for condition in conditions] + sorted(params.items())
        response = self.get("%s/%s" % (API, collection), params=query or None, operation=QUERIES[collection])
        return _inventories(response.body)

    QUERY_PAGE = 1000  # ZStack's default ``limit``: a full page means there may be more

    def query_all(self, collection, conditions=(), **params):
        """Every inventory the query matches, page after page (``start``/``limit``)."""
        found, start = [], 0
        while True:
            page = self.query(collection, conditions, limit=self.QUERY_PAGE, start=start, **params)
            found.extend(page)
            if len(page) < self.QUERY_PAGE:
                return found
            start += len(page)

    def query_in(self, collection, field, values, conditions=(), **params):
        """The inventories whose FIELD is one of VALUES: one ``field?=a,b,c`` query per chunk of
        values (a bulk call reads many objects with a few queries, not one per object)."""
        found = []
        for chunk in chunks(sorted(set(values))):
            found.extend(self.query_all(collection, list(conditions) + ["%s?=%s" % (field, ",".join(chunk))], **params))
        return found

    def get_inventory(self, collection, uuid_):
        """GET /zstack/v1/<collection>/<uuid> -> the inventory, or None (unknown uuids give 200 + [])."""
        response = self.get("%s/%s/%s" % (API, collection, quote_segment(uuid_)), operation=QUERIES[collection],
                            resource=uuid_)
        inventories = _inventories(response.body)
        return inventories[0] if inventories else None

    def find(self, collection, value, kind):
        """The objects of COLLECTION whose uuid (when VALUE looks like one) or else name is VALUE."""
        if is_uuid(value):
            found = self.query(collection, ["uuid=%s" % value])
            if found:
                return found
        return self.query(collection, ["name=%s" % value])

    def existing(self, collection, uuids):
        """{uuid: inventory} of the objects of COLLECTION among UUIDS (one query: ``uuid?=a,b``)."""
        uuids = sorted(set(u for u in uuids if u))
        if not uuids:
            return {}
        found = self.query(collection, ["uuid?=%s" % ",".join(uuids)])
        return {item["uuid"]: item for item in found if isinstance(item, dict) and item.get("uuid") in uuids}

    def resolve(self, collection, value, kind, parameter):
        """The one object of COLLECTION whose uuid or unique name is VALUE; ParameterError naming PARAMETER otherwise."""
        found, problem = pick_unique(self.find(collection, value, kind), kind, value)
        if problem:
            raise _errors.ParameterError("parameter '%s': %s" % (parameter, problem))
        return found

    # -- LongJobs --------------------------------------------------------------------------------
    def shown(self, job):
        """JOB as a result may show it: secret fields of jobData/jobResult masked, and every secret
        this run knows masked wherever ZStack echoed it (raw, JSON-escaped, URL-encoded)."""
        return _redact_strings(mask_job_secrets(job), self.redact)

    def get_longjob(self, job_uuid):
        return self.get_inventory("longjobs", job_uuid)

    def longjob_action(self, job_uuid, operation, timeout=None, call_uuid=None):
        """CANCEL_LONG_JOB / RERUN_LONG_JOB / RESUME_LONG_JOB: an async PUT on /longjobs/{uuid}/actions."""
        return self.call_async("PUT", "%s/longjobs/%s/actions" % (API, quote_segment(job_uuid)),
                               {LONG_JOB_ACTIONS[operation]: {}}, operation, "LongJob %s" % job_uuid, timeout,
                               call_uuid)[1]

    def wait_longjob(self, job_uuid, timeout, states=TERMINAL_JOB_STATES):
        """Poll the LongJob until its state is one of STATES; return its inventory."""
        def check():
            job = self.get_longjob(job_uuid)
            if job is None:
                raise _errors.NotFoundError("the LongJob disappeared", operation=QUERY_LONG_JOB, resource="LongJob %s" % job_uuid)
            return job if job.get("state") in states else None

        return wait_for(check, timeout, backoff=self.poll_backoff, clock=self.clock, what="LongJob %s" % job_uuid)

    # -- helpers ---------------------------------------------------------------------------------
    def _error_parts(self, response):
        """(message, code, api message) of an error response."""
        code, message = self.parse_error(response)
        return message or "HTTP %s" % response.status, code, message


def _redact_strings(value, redact):
    if isinstance(value, dict):
        return {k: _redact_strings(v, redact) for k, v in value.items()}
    if isinstance(value, list):
        return [_redact_strings(v, redact) for v in value]
    return redact(value) if isinstance(value, str) else value


def _error_body(response):
    body = response.body
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        return body["error"]
    return None


def _body_text(body):
    """The text of a non-503 error body, whichever form it has: plain text, a JSON string or object."""
    if body is None:
        return None
    if isinstance(body, str):
        return body.strip() or None
    if isinstance(body, dict):  # the usual message keys first, else the whole JSON
        for key in ("error", "message", "details", "description"):
            if isinstance(body.get(key), str) and body[key].strip():
                return body[key].strip()
    return json.dumps(body, sort_keys=True)


def _inventories(body):
    if isinstance(body, dict):
        inventories = body.get("inventories")
        if isinstance(inventories, list):
            return inventories
        if isinstance(body.get("inventory"), dict):
            return [body["inventory"]]
    return []


# -- connection options (1:1 with plugins/doc_fragments/zstack.py) --------------------------------
# An empty variable (AWX sets every injector variable, blank fields as "") counts as unset: the
# module base removes it before the argspec reads it (_module.unset_empty_environment), so an
# empty ZSTACK_USERNAME beside an AccessKey is not a second login for mutually_exclusive.

def zstack_argument_spec():
    return dict(
        hostname=dict(type="str", required=True, fallback=(env_fallback, ["ZSTACK_HOST"])),
        port=dict(type="int", default=8080, fallback=(env_fallback, ["ZSTACK_PORT"])),
        protocol=dict(type="str", default="http", choices=["http", "https"], fallback=(env_fallback, ["ZSTACK_PROTOCOL"])),
        username=dict(type="str", fallback=(env_fallback, ["ZSTACK_USERNAME"])),
        password=dict(type="str", no_log=True, fallback=(env_fallback, ["ZSTACK_PASSWORD"])),
        access_key_id=dict(type="str", no_log=False, fallback=(env_fallback, ["ZSTACK_ACCESS_KEY_ID"])),
        access_key_secret=dict(type="str", no_log=True, fallback=(env_fallback, ["ZSTACK_ACCESS_KEY_SECRET"])),
        validate_certs=dict(type="bool", default=True, fallback=(env_fallback, ["ZSTACK_VALIDATE_CERTS"])),
        ca_cert=dict(type="path", fallback=(env_fallback, ["ZSTACK_CA_CERT"])),
    )


# Checked by the module base before anything is opened (parameter named in the message).
RANGES = {"port": (1, 65535)}

# One way to log in: an account (username + password) or an AccessKey (id + secret), never both
# (a password from module_defaults or ZSTACK_PASSWORD next to a task's AccessKey would otherwise be
# silently ignored). Enforced by AnsibleModule before the module runs.
LOGIN_RULES = dict(
    required_one_of=[["username", "access_key_id"]],
    required_together=[["username", "password"], ["access_key_id", "access_key_secret"]],
    mutually_exclusive=[["username", "access_key_id"], ["password", "access_key_secret"]],
)


def open_client(module):
    params = module.params
    module.check_name("hostname", params["hostname"], "host name or address")
    if any(c in params["hostname"] for c in "/?#@ "):
        module.fail_parameter("hostname", "must be a host name or address only (no scheme, port, path or user), got %r"
                              % params["hostname"])
    base_url = "%s://%s:%d" % (params["protocol"], params["hostname"], params["port"])
    redactor = Redactor([params["password"], params["access_key_secret"]], on_secret=module.register_secret)
    return ZStackClient(base_url, username=params["username"], password=params["password"],
                        access_key_id=params["access_key_id"], access_key_secret=params["access_key_secret"],
                        validate_certs=params["validate_certs"], ca_path=params["ca_cert"], redactor=redactor,
                        user_agent="hybridcloud.migration (zstack)")


CONNECTION = Connection(zstack_argument_spec(), open_client, ranges=RANGES, **LOGIN_RULES)


# -- for the wave_plan inventory plugin (no module: the same ZSTACK_* variables, read directly) ---
def client_from_environment(environ):
    """(ZStackClient, "host:port") from the ZSTACK_* variables the modules fall back to."""
    def flag(name, default):
        value = (environ.get(name) or "").strip().lower()
        return default if not value else value in ("1", "true", "yes", "on", "y", "t")
    host = environ.get("ZSTACK_HOST") or ""
    port = environ.get("ZSTACK_PORT") or "8080"
    protocol = environ.get("ZSTACK_PROTOCOL") or "http"
    where = "%s:%s" % (host, port)
    if not host:
        raise _errors.ParameterError("ZSTACK_HOST is not set")
    if protocol not in ("http", "https") or not port.isdigit() or any(c in host for c in "/?#@ "):
        raise _errors.ParameterError("ZSTACK_HOST, ZSTACK_PORT and ZSTACK_PROTOCOL must be a host, a port and http or https")
    password, secret = environ.get("ZSTACK_PASSWORD"), environ.get("ZSTACK_ACCESS_KEY_SECRET")
    key_id = environ.get("ZSTACK_ACCESS_KEY_ID")
    login = dict(access_key_id=key_id, access_key_secret=secret) if key_id else \
        dict(username=environ.get("ZSTACK_USERNAME"), password=password)
    client = ZStackClient("%s://%s:%d" % (protocol, host, int(port)), validate_certs=flag("ZSTACK_VALIDATE_CERTS", True),
                          ca_path=environ.get("ZSTACK_CA_CERT") or None, redactor=Redactor([password, secret]),
                          user_agent="hybridcloud.migration (zstack)", **login)
    return client, where


def locate_vms(client, refs):
    """{ref: [{"id", "name", "location"}]} for REFS (VM names or UUIDs); location is the name of the
    primary storage of the VM's root volume. Batched: the VMs by name (``name?=``), those of the
    UUID-looking refs not found by name by uuid, then the primary storages by uuid: at most three
    queries (each paged and chunked), whatever the number of VMs."""
    refs = sorted(set(refs))
    vms = client.query_in("vm-instances", "name", refs)
    named = set(vm.get("name") for vm in vms)
    by_uuid = [ref for ref in refs if is_uuid(ref) and ref not in named]
    if by_uuid:
        vms.extend(client.query_in("vm-instances", "uuid", by_uuid))
    root_ps = {}
    for vm in vms:
        for volume in vm.get("allVolumes") or []:
            if isinstance(volume, dict) and volume.get("uuid") == vm.get("rootVolumeUuid"):
                root_ps[vm.get("uuid")] = volume.get("primaryStorageUuid")
    storages = dict((ps.get("uuid"), ps.get("name"))
                    for ps in client.query_in("primary-storage", "uuid", [u for u in root_ps.values() if u]))
    found = {}
    for vm in vms:
        for ref in set([vm.get("name"), vm.get("uuid")]) & set(refs):
            ps = root_ps.get(vm.get("uuid"))
            found.setdefault(ref, []).append({"id": vm.get("uuid"), "name": vm.get("name"),
                                              "location": storages.get(ps, ps)})
    return found
