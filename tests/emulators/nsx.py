"""NSX-T Manager emulator: the V2T "VM group" migration API (/work/shared/api/nsx.md).

Served paths (anything else, including an unknown ``action=``, is 404 with an ApiError body):

* ``POST /api/session/create`` (form ``j_username``/``j_password``), ``POST /api/session/destroy``
* ``POST /api/v1/migration/vmgroup?action=pre_migrate`` / ``?action=post_migrate``
* ``GET  /api/v1/migration/vmgroup/actions/get_vm_group_execution_details?group_id=G``
* ``POST /api/v1/migration?action=finalize_infra``

Every call needs Basic auth or a session (``Cookie: JSESSIONID`` plus the matching
``X-XSRF-TOKEN`` header); any auth failure is 403 with ``error_code`` 98.

Seed (all keys optional, defaults from ``DEFAULT_SEED`` where missing)::

    {"users": {"admin": "password"},          # the first user is the one connection_info() gives
     "session_timeout": 1800,                 # idle seconds before a session dies (float ok)
     "success_status": 204,                   # 204 or 200 (empty body) for pre/post/finalize
     "page_size": null,                       # int: page the details list, with "cursor"
     "inventory": {vm_instance_id: [{"vnic": "4000", "ls_id": segment_uuid}, ...]},
     "groups": {group_id: {"vm_instance_ids": [...]}}}   # groups already pre-migrated

The inventory stands for the source vCenter: the details call groups a group's vNICs by
``ls_id`` and lists the group's ids that are not in it as ``failed_vm_instance_ids``. It is
read at call time, so an inventory loaded after pre_migrate still counts.

Admin actions (``POST /__emulator__/<action>``, besides the framework's ones):

* ``inventory``: body ``{vm_instance_id: [{"vnic": "4000", "ls_id": "..."}]}`` replaces the
  inventory (e.g. with the instance UUIDs and NIC device keys of vcsim VMs).
* ``settings``: body with any of ``session_timeout``, ``success_status``, ``page_size``.
* ``nsx-fault``: body ``{"kind": "rate_limit"|"unavailable"|"busy"|"aborted", "times": 1,
  "call": "pre_migrate"|"post_migrate"|"get_vm_group_execution_details"|"finalize_infra"|
  "session_create"|"session_destroy", "string_code": false}`` injects the NSX retryable errors
  (429; 503; 400/30722; 500/607) as framework faults; ``method``/``path``/``query`` may be
  given instead of ``call`` (no ``call``: every API call matches).

``GET /__emulator__/state`` shows the groups, with ``failed_vm_instance_ids`` as the last
post_migrate sent them, and the live sessions.
"""

import base64
import copy
import secrets
import time
from http import HTTPStatus
from http.cookies import CookieError, SimpleCookie
from urllib.parse import parse_qs

from tests.emulators._server import Emulator, Fault, empty_response, json_response, route

# Segments (NSX logical switches) of the default seed.
LS_WEB = "c5b8e3a4-1f0d-4a7e-9b61-2d3f4a5b6c01"
LS_APP = "c5b8e3a4-1f0d-4a7e-9b61-2d3f4a5b6c02"
LS_DB = "c5b8e3a4-1f0d-4a7e-9b61-2d3f4a5b6c03"
# VM instance UUIDs of the default seed (config.instanceUuid of the source VC's VMs).
VM_WEB01 = "50263e5d-ce6f-fac0-424c-4aa4bdf6bd56"
VM_WEB02 = "50261a2b-3c4d-5e6f-7081-92a3b4c5d6e7"
VM_APP01 = "5026c0de-0a0b-0c0d-0e0f-101112131415"
VM_DB01 = "5026db01-aaaa-bbbb-cccc-ddddeeeeffff"
VM_GONE = "5026aaaa-dead-beef-0000-000000000001"  # in group wave-00, but not in the inventory

DEFAULT_SEED = {
    "users": {"admin": "VMware1!VMware1!", "migrator@corp.local": "Migr8-Wave!"},
    "session_timeout": 1800,
    "success_status": 204,
    "page_size": None,
    "inventory": {
        VM_WEB01: [{"vnic": "4000", "ls_id": LS_WEB}, {"vnic": "4001", "ls_id": LS_DB}],
        VM_WEB02: [{"vnic": "4000", "ls_id": LS_WEB}],
        VM_APP01: [{"vnic": "4000", "ls_id": LS_APP}],
        VM_DB01: [{"vnic": "4000", "ls_id": LS_DB}],
    },
    "groups": {"wave-00": {"vm_instance_ids": [VM_APP01, VM_GONE]}},
}

COMMON = "common-services"
MC = "migration-coordinator"
AUTH_FAILED = "The credentials were incorrect or the account specified has been locked"

VMGROUP = "/api/v1/migration/vmgroup"
DETAILS = "/api/v1/migration/vmgroup/actions/get_vm_group_execution_details"
FINALIZE = "/api/v1/migration"

# Fault targets of the ``nsx-fault`` admin action: method, anchored path regex, query substring.
CALLS = {
    "pre_migrate": ("POST", "^%s$" % VMGROUP, "action=pre_migrate"),
    "post_migrate": ("POST", "^%s$" % VMGROUP, "action=post_migrate"),
    "get_vm_group_execution_details": ("GET", "^%s$" % DETAILS, None),
    "finalize_infra": ("POST", "^%s$" % FINALIZE, "action=finalize_infra"),
    "session_create": ("POST", "^/api/session/create$", None),
    "session_destroy": ("POST", "^/api/session/destroy$", None),
}

# The retryable errors of nsx.md section 5: (status, error_code, module, message).
FAULT_KINDS = {
    "rate_limit": (429, 102, COMMON, "Client 'admin' exceeded request rate of 100 per second"),
    "unavailable": (503, 103, COMMON, "Client 'admin' exceeded concurrency limit of 40"),
    "busy": (400, 30722, MC, "Migration coordinator backend is busy. Please try again after some time."),
    "aborted": (500, 607, COMMON, "API transaction aborted as MP cluster is reconfiguring"),
}


def api_error_body(status, code, message, module=COMMON):
    """An NSX ApiError, with the ``httpStatus`` real servers add (e.g. "BAD_REQUEST")."""
    return {"httpStatus": HTTPStatus(status).name, "error_code": code,
            "module_name": module, "error_message": message}


def api_error(status, code, message, module=COMMON):
    return json_response(status, api_error_body(status, code, message, module))


def invalid(message):
    # NSX reports schema violations as 255 "Field level validation errors: {...}".
    return api_error(400, 255, "Field level validation errors: {%s}" % message)


def not_found_object(group_id):
    return api_error(404, 600, "The requested object : %s could not be found. "
                               "Object identifiers are case sensitive." % group_id)


def parse_inventory(data):
    """Validate an inventory map; vNIC keys become strings, as NSX sends them."""
    if not isinstance(data, dict):
        raise ValueError("inventory must be an object {vm_instance_id: [{vnic, ls_id}]}")
    inventory = {}
    for vm_id, nics in data.items():
        if not isinstance(nics, list) or not all(
                isinstance(n, dict) and "vnic" in n and isinstance(n.get("ls_id"), str) for n in nics):
            raise ValueError("inventory[%s] must be a list of {vnic, ls_id}" % vm_id)
        inventory[vm_id] = [{"vnic": str(n["vnic"]), "ls_id": n["ls_id"]} for n in nics]
    return inventory


class NsxEmulator(Emulator):
    name = "nsx"

    def load(self, seed):
        seed = copy.deepcopy(dict(DEFAULT_SEED, **seed))
        self.users = seed["users"]
        self.session_timeout = float(seed["session_timeout"])
        self.success_status = int(seed["success_status"])
        self.page_size = seed["page_size"]
        self.inventory = parse_inventory(seed["inventory"])
        self.groups = {}
        for group_id, group in seed["groups"].items():
            self._new_group(group_id, group["vm_instance_ids"], False, None)
        self.sessions = {}  # JSESSIONID -> {"user", "token", "last_used" (monotonic)}
        self.finalize_count = 0

    def _new_group(self, group_id, vm_ids, allow_override, site):
        self.groups[group_id] = {"vm_instance_ids": list(vm_ids), "allow_override": allow_override,
                                 "federation_site_id": site, "state": "pre_migrated",
                                 "pre_migrate_count": 1, "failed_vm_instance_ids": None,
                                 "post_migrate_count": 0}

    def snapshot(self):
        now = time.monotonic()
        return {
            "users": sorted(self.users),
            "session_timeout": self.session_timeout,
            "success_status": self.success_status,
            "page_size": self.page_size,
            "inventory": self.inventory,
            "groups": self.groups,
            "sessions": [{"id": sid, "user": s["user"], "idle_seconds": round(now - s["last_used"], 3)}
                         for sid, s in self.sessions.items()],
            "finalize_count": self.finalize_count,
        }

    def expire_sessions(self):
        self.sessions.clear()

    def connection_info(self):
        username = next(iter(self.users))
        return {"username": username, "password": self.users[username],
                "group_ids": list(self.groups), "vm_instance_ids": list(self.inventory),
                "ls_ids": sorted({n["ls_id"] for nics in self.inventory.values() for n in nics})}

    # -- authentication -------------------------------------------------------------------
    def _authenticate(self, request):
        """(None, session id or None) if the caller may go on, else (the 403/98 response, None).

        An Authorization header decides alone; otherwise the JSESSIONID cookie must name a live
        session, not idle for longer than the timeout, and X-XSRF-TOKEN must match it.
        """
        denied = api_error(403, 98, AUTH_FAILED)
        auth = request.header("Authorization")
        if auth is not None:
            scheme, dummy, encoded = auth.partition(" ")
            try:
                user, dummy, password = base64.b64decode(encoded, validate=True).decode().partition(":")
            except ValueError:  # binascii.Error, UnicodeDecodeError, or a header that is not even ASCII
                return denied, None
            ok = scheme.lower() == "basic" and user in self.users and self.users[user] == password
            return (None if ok else denied), None
        sid = self._cookie_session(request)
        session = self.sessions.get(sid)
        now = time.monotonic()
        if session and now - session["last_used"] > self.session_timeout:
            del self.sessions[sid]
            session = None
        if not session or request.header("X-XSRF-TOKEN") != session["token"]:
            return denied, None
        session["last_used"] = now
        return None, sid

    @staticmethod
    def _cookie_session(request):
        cookie = SimpleCookie()
        try:
            cookie.load(request.header("Cookie") or "")
        except CookieError:
            return None
        morsel = cookie.get("JSESSIONID")
        return morsel.value if morsel else None

    def not_found(self, request):
        denied = self._authenticate(request)[0]
        return denied or self._unknown_uri(request)

    @staticmethod
    def _unknown_uri(request):
        return api_error(404, 404, "The requested URI: %s could not be found." % request.path)

    # -- sessions -------------------------------------------------------------------------
    @route("POST", r"/api/session/create")
    def session_create(self, request):
        form = parse_qs(request.body.decode("utf-8", "replace"))
        user = (form.get("j_username") or [None])[0]
        password = (form.get("j_password") or [None])[0]
        if user not in self.users or self.users[user] != password:
            return api_error(403, 98, AUTH_FAILED)
        sid, token = secrets.token_hex(16).upper(), secrets.token_urlsafe(24)
        self.sessions[sid] = {"user": user, "token": token, "last_used": time.monotonic()}
        return empty_response(200, {"Set-Cookie": "JSESSIONID=%s; Path=/; Secure; HttpOnly" % sid,
                                    "X-XSRF-TOKEN": token})

    @route("POST", r"/api/session/destroy")
    def session_destroy(self, request):
        denied, sid = self._authenticate(request)
        if denied:
            return denied
        self.sessions.pop(sid, None)
        return empty_response(200)

    # -- migration ------------------------------------------------------------------------
    def _success(self):
        return empty_response(self.success_status)

    @staticmethod
    def _json_object(request):
        try:
            body = request.json()
        except ValueError:
            return None
        return body if isinstance(body, dict) else None

    @route("POST", VMGROUP)
    def vmgroup(self, request):
        denied = self._authenticate(request)[0]
        if denied:
            return denied
        action = {"pre_migrate": self._pre_migrate, "post_migrate": self._post_migrate}.get(
            request.arg("action"))
        if action is None:
            return self._unknown_uri(request)
        body = self._json_object(request)
        if body is None:
            return invalid("request body must be a JSON object")
        group_id = body.get("group_id")
        if "group_id" not in body:
            return invalid("required property group_id is missing")
        if not isinstance(group_id, str) or not group_id:
            return invalid("group_id must be a non-empty string")
        if not isinstance(body.get("allow_override", False), bool):
            return invalid("allow_override must be a boolean")
        return action(body, group_id)

    def _pre_migrate(self, body, group_id):
        vm_ids = body.get("vm_instance_ids")
        if "vm_instance_ids" not in body:
            return invalid("required property vm_instance_ids is missing")
        if not isinstance(vm_ids, list) or not vm_ids or not all(isinstance(v, str) for v in vm_ids):
            return invalid("vm_instance_ids must be a non-empty array of strings")
        allow_override = body.get("allow_override", False)
        existing = self.groups.get(group_id)
        if existing and not allow_override:
            # Assumption (nsx.md section 8); the error code is invented.
            return api_error(400, 30723, "VM group %s already exists. Set allow_override to true "
                                         "to run the pre-migrate steps again." % group_id, MC)
        count = existing["pre_migrate_count"] + 1 if existing else 1
        self._new_group(group_id, vm_ids, allow_override, body.get("federation_site_id"))
        self.groups[group_id]["pre_migrate_count"] = count
        return self._success()

    def _post_migrate(self, body, group_id):
        group = self.groups.get(group_id)
        if group is None:
            return not_found_object(group_id)
        failed = body.get("failed_vm_instance_ids", [])
        if not isinstance(failed, list) or not all(isinstance(v, str) for v in failed):
            return invalid("failed_vm_instance_ids must be an array of strings")
        group.update(state="post_migrated", failed_vm_instance_ids=failed,
                     post_migrate_count=group["post_migrate_count"] + 1)
        return self._success()

    @route("GET", DETAILS)
    def execution_details(self, request):
        denied = self._authenticate(request)[0]
        if denied:
            return denied
        group_id = request.arg("group_id")
        if not group_id:
            return invalid("required property group_id is missing")
        group = self.groups.get(group_id)
        if group is None:
            return not_found_object(group_id)
        by_ls, failed = {}, []  # ls_id -> {vm_id: [vnic, ...]}, both in first-seen order
        for vm_id in group["vm_instance_ids"]:
            if vm_id not in self.inventory:
                failed.append(vm_id)
                continue
            for nic in self.inventory[vm_id]:
                by_ls.setdefault(nic["ls_id"], {}).setdefault(vm_id, []).append(nic["vnic"])
        entries = [{"ls_id": ls_id,
                    "vm_and_vnics_mapping": [{"vm_instance_id": vm, "vnics": vnics} for vm, vnics in vms.items()]}
                   for ls_id, vms in by_ls.items()]
        result = {"result_count": len(entries)}
        if self.page_size:
            # ListResult paging: the cursor is an opaque offset; the other fields repeat per page.
            try:
                start = int(request.arg("cursor") or 0)
            except ValueError:
                return invalid("cursor is invalid")
            end = start + int(self.page_size)
            if end < len(entries):
                result["cursor"] = str(end)
            entries = entries[start:end]
        result["logical_switch_id_to_vm_instance_id_and_vnics_map"] = entries
        if failed:
            result["failed_vm_instance_ids"] = failed
        return json_response(200, result)

    @route("POST", FINALIZE)
    def finalize_infra(self, request):
        denied = self._authenticate(request)[0]
        if denied:
            return denied
        if request.arg("action") != "finalize_infra":
            return self._unknown_uri(request)
        self.finalize_count += 1
        return self._success()

    # -- admin ----------------------------------------------------------------------------
    def admin(self, request, action):
        if request.method != "POST":
            return None
        try:
            body = request.json() or {}
            with self.lock:
                if action == "inventory":
                    self.inventory = parse_inventory(body)
                    return json_response(200, {"inventory": self.inventory})
                if action == "settings":
                    return self._settings(body)
                if action == "nsx-fault":
                    self.faults.append(Fault(self._fault_spec(body)))
                    return json_response(200, {"faults": len(self.faults)})
        except (ValueError, TypeError, AttributeError) as exc:
            return json_response(400, {"error": str(exc)})
        return None

    def _settings(self, body):
        if "session_timeout" in body:
            self.session_timeout = float(body["session_timeout"])
        if "success_status" in body:
            if int(body["success_status"]) not in (200, 204):
                raise ValueError("success_status must be 200 or 204")
            self.success_status = int(body["success_status"])
        if "page_size" in body:
            self.page_size = body["page_size"] and int(body["page_size"])
        return json_response(200, {"session_timeout": self.session_timeout,
                                   "success_status": self.success_status, "page_size": self.page_size})

    @staticmethod
    def _fault_spec(body):
        if body.get("kind") not in FAULT_KINDS:
            raise ValueError("kind must be one of " + ", ".join(FAULT_KINDS))
        if "call" in body and body["call"] not in CALLS:
            raise ValueError("call must be one of " + ", ".join(CALLS))
        status, code, module, message = FAULT_KINDS[body["kind"]]
        error = api_error_body(status, str(code) if body.get("string_code") else code, message, module)
        spec = {"status": status, "body": error, "times": int(body.get("times", 1))}
        if "call" in body:
            method, path, query = CALLS[body["call"]]
            spec.update(method=method, path=path)
            if query:
                spec["query"] = query
        for key in ("method", "path", "query"):
            if key in body:
                spec[key] = body[key]
        return spec


EMULATOR = NsxEmulator
