"""IBM PowerVC emulator: Keystone v3 tokens and Nova with PowerVC's VSN APIs (/work/shared/api/powervc.md).

Real PowerVC serves Keystone on :5000 and Nova on :8774 (or behind the :443 proxy). The emulator
serves all of it from its one listener:

* Keystone: ``POST|GET|HEAD|DELETE /v3/auth/tokens`` (password method, ``Default`` domain only).
* Nova, under ``/v2.1/{tenant_id}`` and ``/powervc/openstack/compute/v2.1/{tenant_id}``:
  ``GET|PUT|POST /virtual-serial-number`` (``?action=move|reserve|unreserve|update_reservation``),
  ``GET /servers``, ``/servers/detail``, ``/servers/{id}``, ``POST /servers``,
  ``POST /servers/{id}/action`` (``assign_vsn``, ``unassign_vsn``, ``os-stop``, ``os-start``),
  ``DELETE /servers/{id}``, ``GET /os-hypervisors/detail`` (admin only).

Nova paths answer 401 in Keystone's format (keystonemiddleware) and every other error in Nova's
fault envelope ``{"badRequest": {"code": 400, "message": ...}}``.

VSN model: every VSN the emulator knows has one record: the host that owns it, the server using
it (or None) and whether it is reserved (with a description). Free = owned, unused, unreserved:
``auto`` picks from these. GET /virtual-serial-number lists reserved VSNs that no server uses, so
a VSN reserved while still on a VM shows up only after unassign or delete. Assigning a reserved
VSN consumes the reservation; unassign and unreserve return a VSN to its host's free pool.
Reserving an unknown VSN is 404 (VSNs come with the hardware; they cannot be invented).

Delays are computed on read: a move changes the owner at once, but GET keeps showing the old host
until ``move_delay`` has passed; likewise a server shows its previous VSN for ``assign_delay``.

Seed (all keys optional, defaults from ``DEFAULT_SEED``; ``GET /__emulator__/state`` returns the
same shape)::

    {"settings": {"token_ttl": 21600, "move_delay": 0, "assign_delay": 0,   # seconds, float ok
                  "catalog": "direct" | "proxy", "region": "RegionOne"},
     "project": {"id": ..., "name": "ibm-default"},
     "users": [{"id", "name", "password", "role": "admin" | any other role = non-admin}],
     "hosts": [{"name": "9080HEX_1234ABC", "display_name", "managed_by": "novalink" | "hmc",
                "hypervisor_hostname", "free_vsns": [...]}],
     "reserved": [{"virtual_serial_number", "host", "description"}],
     "servers": [{"id", "name", "host", "status": "ACTIVE" | "SHUTOFF", "virtual_serial_number"}]}

Admin action (besides the framework's): ``POST /__emulator__/settings`` with any of the
``settings`` keys; a new ``token_ttl`` applies to tokens issued afterwards.
"""

import copy
import functools
import hashlib
import re
import secrets
import time
import uuid
from datetime import datetime, timezone

from tests.emulators._server import Emulator, empty_response, json_response, route

PROJECT_ID = "a99e9b4e6a3c4c5fb3d5e0f7b2c41d2e"
HOST_A = "9080HEX_1234ABC"  # NovaLink-managed Power10
HOST_B = "9109RMD_1031CAT"  # NovaLink-managed Power10
HOST_HMC = "900942A_78ABCDE"  # HMC-managed POWER9

DEFAULT_SEED = {
    "settings": {"token_ttl": 6 * 3600, "move_delay": 0, "assign_delay": 0, "catalog": "direct",
                 "region": "RegionOne"},
    "project": {"id": PROJECT_ID, "name": "ibm-default"},
    "users": [
        {"id": "0688b01e6439ca32d698d20789d52169", "name": "root", "password": "passw0rd", "role": "admin"},
        {"id": "5f2c8e1d9a7b4c3e8d6f1a2b3c4d5e6f", "name": "deployer1", "password": "deploy-me",
         "role": "deployer"},
    ],
    # The VSNs of IBM's examples (ABCD567, ABCDEFG, ABCD001, CDF0002/3) exist, in the state the
    # examples need, so requests copied from the documentation succeed.
    "hosts": [
        {"name": HOST_A, "display_name": "prod-p10-a", "managed_by": "novalink",
         "hypervisor_hostname": "p10a-novalink.lab.example.com",
         "free_vsns": ["ABCD567", "ABCDEFG", "ABCD101", "ABCD102"]},
        {"name": HOST_B, "display_name": "dr-p10-b", "managed_by": "novalink",
         "hypervisor_hostname": "p10b-novalink.lab.example.com",
         "free_vsns": ["CDF0011", "CDF0012", "CDF0013"]},
        {"name": HOST_HMC, "display_name": "legacy-p9-c", "managed_by": "hmc",
         "hypervisor_hostname": "p9c.hmc.lab.example.com", "free_vsns": ["HMC0002", "HMC0003"]},
    ],
    "reserved": [
        {"virtual_serial_number": "ABCD001", "host": HOST_A, "description": "kept from deleted ibmi-old-01"},
        {"virtual_serial_number": "CDF0002", "host": HOST_A, "description": "DR pool for ibmi-prod"},
        {"virtual_serial_number": "CDF0003", "host": HOST_A, "description": "DR pool for ibmi-prod"},
        {"virtual_serial_number": "HMC0009", "host": HOST_HMC, "description": "legacy licence"},
    ],
    "servers": [
        {"id": "3f9d2a1c-5b6e-4c7d-8e9f-0a1b2c3d4e01", "name": "ibmi-prod-01", "host": HOST_A,
         "status": "ACTIVE", "virtual_serial_number": "ABCD100"},
        {"id": "3f9d2a1c-5b6e-4c7d-8e9f-0a1b2c3d4e02", "name": "ibmi-test-02", "host": HOST_A,
         "status": "SHUTOFF"},
        {"id": "3f9d2a1c-5b6e-4c7d-8e9f-0a1b2c3d4e03", "name": "ibmi-dev-03", "host": HOST_B,
         "status": "SHUTOFF", "virtual_serial_number": "CDF0010"},
        {"id": "3f9d2a1c-5b6e-4c7d-8e9f-0a1b2c3d4e04", "name": "ibmi-legacy-04", "host": HOST_HMC,
         "status": "ACTIVE", "virtual_serial_number": "HMC0001"},
    ],
}

NOVA = r"(?:/powervc/openstack/compute)?/v2(?:\.1)?/(?P<tenant>[^/]+)"
SERVER_ID = r"(?P<server_id>(?!detail\Z)[^/]+)"
VSN_RE = re.compile(r"[A-Z0-9]{7}\Z")
DOMAIN = {"id": "default", "name": "Default"}
AUTH_REQUIRED = "The request you have made requires authentication."
NOT_FOUND = "The resource could not be found."
NOVA_FAULTS = {400: "badRequest", 403: "forbidden", 404: "itemNotFound", 409: "conflictingRequest"}
KEYSTONE_TITLES = {400: "Bad Request", 401: "Unauthorized", 404: "Not Found"}
VM_STATES = {"ACTIVE": ("active", 1), "SHUTOFF": ("stopped", 4)}  # status -> vm_state, power_state


class ApiError(Exception):
    """An error answer; the Keystone or Nova wrapper renders it in its own format."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status
        self.message = message


def nova_fault(status, message):
    return json_response(status, {NOVA_FAULTS.get(status, "computeFault"): {"code": status, "message": message}})


def keystone_error(status, message, headers=None):
    return json_response(status, {"error": {"code": status, "title": KEYSTONE_TITLES[status], "message": message}},
                         headers)


def keystone_time(ts):
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def nova_time(ts):
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def stable_id(*parts):
    return uuid.uuid5(uuid.NAMESPACE_URL, "/".join(parts)).hex


def body_of(request):
    try:
        return request.json()
    except ValueError:  # includes UnicodeDecodeError; typographic quotes end up here
        raise ApiError(400, "Malformed request body")


def field(obj, key, kind, target):
    """OBJ[KEY] if OBJ is a dict holding a KIND there, else Keystone's 400 for a missing attribute."""
    if not isinstance(obj, dict) or not isinstance(obj.get(key), kind):
        raise ApiError(400, "Expecting to find %s in %s. The server could not comply with the request since it "
                            "is either malformed or otherwise incorrect. The client is assumed to be in error."
                       % (key, target))
    return obj[key]


def valid_vsn(value, name="virtual_serial_number"):
    if not isinstance(value, str) or not VSN_RE.match(value):
        raise ApiError(400, "Invalid input for field/attribute %s. Value: %r. A virtual serial number is 7 "
                            "upper-case alphanumeric characters." % (name, value))
    return value


def keystone(handler):
    """Render ApiErrors of a Keystone handler in Keystone's format."""

    @functools.wraps(handler)
    def wrapped(self, request, **groups):
        try:
            return handler(self, request, **groups)
        except ApiError as err:
            if err.status == 401:
                return self._unauthorized()
            return keystone_error(err.status, err.message)

    return wrapped


def nova(handler):
    """A Nova handler: token check (keystonemiddleware's 401), Nova's project check, fault envelope."""

    @functools.wraps(handler)
    def wrapped(self, request, tenant, **groups):
        token = self._token(request)
        if token is None:
            return self._unauthorized()
        if tenant != self.project["id"]:
            return nova_fault(400, "Malformed request URL: URL's project_id '%s' doesn't match Context's "
                                   "project_id '%s'" % (tenant, self.project["id"]))
        try:
            return handler(self, request, token, **groups)
        except ApiError as err:
            return nova_fault(err.status, err.message)

    return wrapped


class PowerVC(Emulator):
    name = "powervc"

    def load(self, seed):
        seed = copy.deepcopy(dict(DEFAULT_SEED, **seed))
        self.settings = dict(DEFAULT_SEED["settings"], **seed["settings"])
        self.project = seed["project"]
        self.users = {user["id"]: user for user in seed["users"]}
        self.hosts = {host["name"]: host for host in seed["hosts"]}
        self.vsns = {}  # VSN -> {"host", "server", "reserved", "description", "moved_from", "visible_at"}
        for host in self.hosts.values():
            for vsn in host.pop("free_vsns", []):
                self._add_vsn(vsn, host["name"])
        for item in seed["reserved"]:
            record = self.vsns.get(item["virtual_serial_number"]) or self._add_vsn(
                item["virtual_serial_number"], item["host"])
            record.update(reserved=True, description=item.get("description", ""))
        now = time.time()
        self.servers = {}
        for server in seed["servers"]:
            vsn = server.pop("virtual_serial_number", None)
            self._add_server(server, now)
            if vsn:
                record = self.vsns.get(vsn) or self._add_vsn(vsn, server["host"])
                record["server"] = server["id"]
        self.tokens = {}  # token id -> {"user", "issued", "expires", "audit_id"}
        self._load_create_catalogs(seed)

    def _add_vsn(self, vsn, host):
        record = {"host": host, "server": None, "reserved": False, "description": "", "moved_from": None,
                  "visible_at": 0}
        self.vsns[vsn] = record
        return record

    def _add_server(self, server, now):
        server.setdefault("status", "ACTIVE")
        server.setdefault("flavor", "ibmi-small")
        server.setdefault("image", "ibmi-7.5-base")
        server.setdefault("user_id", next(iter(self.users)))
        server.setdefault("created", now)
        server.update(vsn_before=None, vsn_visible_at=0)
        self.servers[server["id"]] = server

    def snapshot(self):
        now = time.time()
        hosts = [dict(host, free_vsns=sorted(v for v, r in self.vsns.items()
                                             if r["host"] == name and not r["server"] and not r["reserved"]))
                 for name, host in self.hosts.items()]
        reserved = [{"virtual_serial_number": vsn, "host": r["host"], "description": r["description"],
                     "assigned_to": r["server"]} for vsn, r in sorted(self.vsns.items()) if r["reserved"]]
        servers = [{"id": s["id"], "name": s["name"], "host": s["host"], "status": s["status"],
                    "virtual_serial_number": self._vsn_of(s["id"]), "shown_vsn": self._shown_vsn(s, now)}
                   for s in self.servers.values()]
        return {"settings": self.settings, "project": self.project, "users": list(self.users.values()),
                "hosts": hosts, "reserved": reserved, "servers": servers,
                "valid_tokens": sum(1 for t in self.tokens.values() if t["expires"] > now)}

    def expire_sessions(self):
        now = time.time()
        for token in self.tokens.values():
            token["expires"] = min(token["expires"], now)

    def admin(self, request, action):
        if request.method != "POST" or action != "settings":
            return None
        try:
            changes = request.json() or {}
        except ValueError as exc:
            return json_response(400, {"error": str(exc)})
        unknown = sorted(set(changes) - set(self.settings))
        if unknown:
            return json_response(400, {"error": "unknown settings: %s" % ", ".join(unknown)})
        with self.lock:
            self.settings.update(changes)
            return json_response(200, self.settings)

    def connection_info(self):
        users = list(self.users.values())
        admin = next(u for u in users if u["role"] == "admin")
        other = next((u for u in users if u["role"] != "admin"), admin)
        return {
            "auth_url": self._base_url() + "/v3",
            "username": admin["name"], "password": admin["password"],
            "user_domain_name": "Default", "project_domain_name": "Default",
            "project_name": self.project["name"], "project_id": self.project["id"],
            "nonadmin_username": other["name"], "nonadmin_password": other["password"],
            "compute_url": self._compute_url(),
            "hosts": {h["display_name"]: name for name, h in self.hosts.items()},
            "hmc_hosts": [name for name, h in self.hosts.items() if h["managed_by"] == "hmc"],
            "servers": {s["name"]: s["id"] for s in self.servers.values()},
        }

    def not_found(self, request):
        if re.match(NOVA, request.path):
            if self._token(request) is None:
                return self._unauthorized()
            return nova_fault(404, NOT_FOUND)
        return keystone_error(404, NOT_FOUND)

    # -- Keystone -------------------------------------------------------------------------
    def _base_url(self):
        return self.server.url if self.server else "https://powervc.example.com"

    def _compute_url(self):
        proxy = "/powervc/openstack/compute" if self.settings["catalog"] == "proxy" else ""
        return "%s%s/v2.1/%s" % (self._base_url(), proxy, self.project["id"])

    def _unauthorized(self):
        return keystone_error(401, AUTH_REQUIRED, {"WWW-Authenticate": 'Keystone uri="%s"' % self._base_url()})

    def _token(self, request, header="X-Auth-Token"):
        token = self.tokens.get(request.header(header) or "")
        return token if token and token["expires"] > time.time() else None

    def _authenticate(self, body):
        """The user of a password-method request scoped to our project (Keystone's checks)."""
        auth = field(body, "auth", dict, "request body")
        identity = field(auth, "identity", dict, "auth")
        methods = identity.get("methods")
        if not isinstance(methods, list) or "password" not in methods:
            raise ApiError(401, AUTH_REQUIRED)
        ref = field(field(identity, "password", dict, "identity"), "user", dict, "password")
        user = self._find(ref, self.users.values(), "user")
        if user is None or ref.get("password") != user["password"]:
            raise ApiError(401, AUTH_REQUIRED)
        scope = auth.get("scope")
        if scope is not None:  # unscoped requests get the user's default project, ibm-default
            project_ref = field(scope, "project", dict, "scope")
            if self._find(project_ref, [self.project], "project") is None:
                raise ApiError(401, AUTH_REQUIRED)
        return user

    @staticmethod
    def _find(ref, candidates, target):
        """The candidate REF names by id, or by name within the Default domain (the only one)."""
        if "id" in ref:
            return next((c for c in candidates if c["id"] == ref["id"]), None)
        name = field(ref, "name", str, target)
        domain = field(ref, "domain", dict, target)
        in_default = domain.get("id") == "default" if "id" in domain else domain.get("name") == "Default"
        return next((c for c in candidates if c["name"] == name), None) if in_default else None

    def _token_body(self, token):
        user = self.users[token["user"]]
        region = self.settings["region"]

        def service(kind, name, url):
            return {"id": stable_id(kind), "type": kind, "name": name, "endpoints": [
                {"id": stable_id(kind, "public"), "interface": "public", "region": region, "region_id": region,
                 "url": url}]}

        return {"token": {
            "methods": ["password"],
            "user": {"id": user["id"], "name": user["name"], "domain": DOMAIN, "password_expires_at": None},
            "audit_ids": [token["audit_id"]],
            "issued_at": keystone_time(token["issued"]),
            "expires_at": keystone_time(token["expires"]),
            "project": {"id": self.project["id"], "name": self.project["name"], "domain": DOMAIN},
            "is_domain": False,
            "roles": [{"id": stable_id("role", user["role"]), "name": user["role"]}],
            "catalog": [service("compute", "nova", self._compute_url()),
                        service("identity", "keystone", self._base_url() + "/v3")],
        }}

    @route("POST", r"/v3/auth/tokens")
    @keystone
    def create_token(self, request):
        user = self._authenticate(body_of(request))
        now = time.time()
        token_id = "gAAAAAB" + secrets.token_urlsafe(96)
        self.tokens[token_id] = {"user": user["id"], "issued": now, "expires": now + float(self.settings["token_ttl"]),
                                 "audit_id": secrets.token_urlsafe(16)}
        return json_response(201, self._token_body(self.tokens[token_id]), {"X-Subject-Token": token_id})

    def _subject(self, request):
        if self._token(request) is None:
            raise ApiError(401, AUTH_REQUIRED)
        subject_id = request.header("X-Subject-Token")
        if not subject_id:
            raise ApiError(400, "Expecting to find X-Subject-Token in request headers.")
        if self._token(request, "X-Subject-Token") is None:
            raise ApiError(404, "Could not find token: %s." % subject_id)
        return subject_id

    @route("GET", r"/v3/auth/tokens")
    @keystone
    def validate_token(self, request):
        subject_id = self._subject(request)
        return json_response(200, self._token_body(self.tokens[subject_id]), {"X-Subject-Token": subject_id})

    @route("HEAD", r"/v3/auth/tokens")
    @keystone
    def check_token(self, request):
        return empty_response(200, {"X-Subject-Token": self._subject(request)})

    @route("DELETE", r"/v3/auth/tokens")
    @keystone
    def revoke_token(self, request):
        del self.tokens[self._subject(request)]
        return empty_response(204)

    # -- VSN APIs ---------------------------------------------------------------------------
    def _host(self, name):
        if name not in self.hosts:
            raise ApiError(404, "Compute host %s could not be found." % name)
        return self.hosts[name]

    def _shown_host(self, record, now):
        return record["moved_from"] if now < record["visible_at"] else record["host"]

    @route("GET", NOVA + r"/virtual-serial-number")
    @nova
    def list_vsns(self, request, token):
        now = time.time()
        wanted = request.arg("host")  # only the TTTTMMM_SERIAL form matches anything
        items = [{"virtual_serial_number": vsn, "host": self._shown_host(r, now), "description": r["description"]}
                 for vsn, r in sorted(self.vsns.items()) if r["reserved"] and not r["server"]]
        return json_response(200, {"virtual_serial_numbers": [
            item for item in items if wanted is None or item["host"] == wanted]})

    @route("PUT", NOVA + r"/virtual-serial-number")
    @nova
    def move_vsns(self, request, token):
        body = body_of(request)
        if request.arg("action") != "move":
            raise ApiError(400, "Invalid action %r; PUT supports action=move." % request.arg("action"))
        spec = body.get("move_vsns") if isinstance(body, dict) else None
        spec = spec if isinstance(spec, dict) else {}
        source, target, vsns = spec.get("source_host"), spec.get("target_host"), spec.get("vsns")
        if not (isinstance(source, str) and isinstance(target, str) and isinstance(vsns, list) and vsns):
            raise ApiError(400, "Invalid input for field/attribute move_vsns: source_host, target_host and a "
                                "non-empty list vsns are required.")
        for vsn in vsns:
            valid_vsn(vsn, "vsns")
        self._host(source)
        self._host(target)
        if source == target:
            raise ApiError(400, "The source host and the target host must differ.")
        for vsn in vsns:
            record = self.vsns.get(vsn)
            if record is None or record["host"] != source or record["server"]:
                raise ApiError(400, "Virtual serial number %s is not available for move on host %s." % (vsn, source))
        visible_at = time.time() + float(self.settings["move_delay"])
        for vsn in vsns:
            self.vsns[vsn].update(host=target, moved_from=source, visible_at=visible_at)
        return empty_response(202)

    @route("POST", NOVA + r"/virtual-serial-number")
    @nova
    def vsn_action(self, request, token):
        body = body_of(request)
        action = request.arg("action")
        if action not in ("reserve", "unreserve", "update_reservation"):
            raise ApiError(400, "Invalid action %r; POST supports action=reserve, unreserve or "
                                "update_reservation." % action)
        if not isinstance(body, dict):
            raise ApiError(400, "Invalid input: the body must be a JSON object with virtual_serial_number.")
        vsn = valid_vsn(body.get("virtual_serial_number"))
        description = body.get("description", "")
        if not isinstance(description, str) or len(description) > 255 or (
                action == "update_reservation" and "description" not in body):
            raise ApiError(400, "Invalid input for field/attribute description: a string of at most 255 "
                                "characters is required.")
        record = self.vsns.get(vsn)
        if record is None:
            raise ApiError(404, "Virtual serial number %s could not be found." % vsn)
        if action != "reserve" and not record["reserved"]:
            raise ApiError(404, "Reserved virtual serial number %s could not be found." % vsn)
        if self.hosts[record["host"]]["managed_by"] != "novalink":
            raise ApiError(400, "The %s operation is supported only on NovaLink managed hosts; host %s is "
                                "managed by an HMC." % (action, record["host"]))
        if action == "reserve" and record["reserved"]:
            raise ApiError(409, "Virtual serial number %s is already reserved." % vsn)
        if action == "unreserve":  # back to the host's pool (or still on the server using it)
            record.update(reserved=False, description="")
        else:  # a VSN still in use stays on its server; it is listed once released
            record.update(reserved=True, description=description)
        return empty_response(200)

    # -- servers ----------------------------------------------------------------------------
    def _server(self, server_id):
        if server_id not in self.servers:
            raise ApiError(404, "Instance %s could not be found." % server_id)
        return self.servers[server_id]

    def _vsn_of(self, server_id):
        return next((vsn for vsn, r in self.vsns.items() if r["server"] == server_id), None)

    def _shown_vsn(self, server, now):
        return server["vsn_before"] if now < server["vsn_visible_at"] else self._vsn_of(server["id"])

    def _pick_vsn(self, host, value):
        """The VSN VALUE ("auto" or a VSN) names for a server on HOST; raises when it is unusable."""
        if value == "auto":
            vsn = next((vsn for vsn, r in sorted(self.vsns.items())
                        if r["host"] == host and not r["server"] and not r["reserved"]), None)
            if vsn is None:
                raise ApiError(409, "No free virtual serial number is available on host %s." % host)
            return vsn
        record = self.vsns.get(valid_vsn(value))
        if record and record["server"]:
            raise ApiError(409, "Virtual serial number %s is in use by server %s." % (value, record["server"]))
        if record is None or record["host"] != host:
            raise ApiError(400, "Virtual serial number %s is not available on host %s." % (value, host))
        return value

    def _take_vsn(self, vsn, server_id):
        # Assigning a reserved VSN is how a reservation is used up.
        self.vsns[vsn].update(server=server_id, reserved=False, description="")

    def _server_view(self, server, token, detail):
        base = self._compute_url()
        view = {
            "id": server["id"], "name": server["name"],
            "links": [{"rel": "self", "href": "%s/servers/%s" % (base, server["id"])},
                      {"rel": "bookmark", "href": "%s/servers/%s" % (base.replace("/v2.1/", "/"), server["id"])}],
            "virtual_serial_number": self._shown_vsn(server, time.time()) or "none",
        }
        if not detail:
            return view
        vm_state, power_state = VM_STATES[server["status"]]
        view.update({
            "status": server["status"], "tenant_id": self.project["id"], "user_id": server["user_id"],
            "metadata": {}, "addresses": {}, "accessIPv4": "", "accessIPv6": "",
            "hostId": hashlib.sha224((self.project["id"] + server["host"]).encode()).hexdigest(),
            "created": nova_time(server["created"]), "updated": nova_time(server["created"]),
            "flavor": {"id": server["flavor"]}, "image": {"id": server["image"]},
            "OS-EXT-STS:vm_state": vm_state, "OS-EXT-STS:power_state": power_state, "OS-EXT-STS:task_state": None,
            "OS-EXT-AZ:availability_zone": "Default Group", "OS-DCF:diskConfig": "MANUAL",
        })
        self._build_view(server, view)
        if self.users[token["user"]]["role"] == "admin":  # Nova's default policy hides these from others
            view.update({"OS-EXT-SRV-ATTR:host": server["host"],
                         "OS-EXT-SRV-ATTR:hypervisor_hostname": self.hosts[server["host"]]["hypervisor_hostname"],
                         "OS-EXT-SRV-ATTR:instance_name": "%s-%s" % (server["name"], server["id"][:8])})
        return view

    def _list_servers(self, request, token, detail):
        name, status = request.arg("name"), request.arg("status")
        try:  # Nova's name filter is a regular expression
            pattern = re.compile(name) if name is not None else None
        except re.error as exc:
            raise ApiError(400, "Invalid input for query parameter name: %s" % exc)
        servers = [s for s in self.servers.values()
                   if (pattern is None or pattern.search(s["name"])) and (status is None or s["status"] == status)]
        # Nova pages lists: at most min(limit, osapi_max_limit) after the server id MARKER, and a
        # "servers_links" next link (with limit and marker) when the page is full.
        marker, limit = request.arg("marker"), request.arg("limit")
        if marker is not None:
            ids = [s["id"] for s in servers]
            if marker not in ids:
                raise ApiError(400, "marker [%s] not found" % marker)
            servers = servers[ids.index(marker) + 1:]
        try:
            size = min(int(limit) if limit is not None else 1 << 30, int(self.settings.get("max_limit") or 1000))
        except ValueError:
            raise ApiError(400, "Invalid input for query parameter limit: %r" % limit)
        body = {"servers": [self._server_view(s, token, detail) for s in servers[:size]]}
        if len(servers) > size:
            href = "%s/servers%s?limit=%d&marker=%s" % (self._compute_url(), "/detail" if detail else "", size,
                                                        servers[size - 1]["id"])
            body["servers_links"] = [{"rel": "next", "href": href}]
        return json_response(200, body)

    @route("GET", NOVA + r"/servers")
    @nova
    def list_servers(self, request, token):
        return self._list_servers(request, token, False)

    @route("GET", NOVA + r"/servers/detail")
    @nova
    def list_servers_detail(self, request, token):
        return self._list_servers(request, token, True)

    @route("GET", NOVA + r"/servers/" + SERVER_ID)
    @nova
    def show_server(self, request, token, server_id):
        return json_response(200, {"server": self._server_view(self._server(server_id), token, True)})

    @route("POST", NOVA + r"/servers")
    @nova
    def create_server(self, request, token):
        return self._create_server(request, token)  # the full create path, in the server-create block below

    @route("DELETE", NOVA + r"/servers/" + SERVER_ID)
    @nova
    def delete_server(self, request, token, server_id):
        server = self._server(server_id)
        if float(self.settings.get("delete_time") or 0) > 0:
            # Nova deletes asynchronously: 204 at once, the server shows task_state "deleting" until gone.
            server.setdefault("delete_until", time.time() + float(self.settings["delete_time"]))
            return empty_response(204)
        self._remove_server(server_id)
        return empty_response(204)

    def _remove_server(self, server_id):
        vsn = self._vsn_of(server_id)
        if vsn:  # back to the pool, or into the reserved list if it was reserved while in use
            self.vsns[vsn]["server"] = None
        del self.servers[server_id]

    @route("POST", NOVA + r"/servers/" + SERVER_ID + r"/action")
    @nova
    def server_action(self, request, token, server_id):
        body = body_of(request)
        if not isinstance(body, dict) or len(body) != 1:
            raise ApiError(400, "Malformed request body")
        (action, arg), = body.items()
        if action == "assign_vsn":
            value = arg.get("virtual_serial_number") if isinstance(arg, dict) else None
            if value != "auto":
                valid_vsn(value)
        elif action == "unassign_vsn":
            if arg not in (None, {}):
                raise ApiError(400, "Invalid input for field/attribute unassign_vsn: null expected.")
        elif action not in ("os-stop", "os-start"):
            raise ApiError(400, "There is no such action: %s" % action)
        server = self._server(server_id)
        wanted = {"assign_vsn": "SHUTOFF", "unassign_vsn": "SHUTOFF", "os-stop": "ACTIVE", "os-start": "SHUTOFF"}
        if server["status"] != wanted[action]:
            raise ApiError(409, "Cannot '%s' instance %s while it is in vm_state %s"
                           % (action, server_id, VM_STATES[server["status"]][0]))
        if action in ("os-stop", "os-start"):
            server["status"] = "SHUTOFF" if action == "os-stop" else "ACTIVE"
            return empty_response(202)
        old = self._vsn_of(server_id)
        if action == "assign_vsn" and old:
            raise ApiError(409, "Instance %s already has virtual serial number %s." % (server_id, old))
        if action == "unassign_vsn" and not old:
            raise ApiError(409, "Instance %s has no virtual serial number." % server_id)
        new = self._pick_vsn(server["host"], value) if action == "assign_vsn" else None
        server.update(vsn_before=self._shown_vsn(server, time.time()),
                      vsn_visible_at=time.time() + float(self.settings["assign_delay"]))
        if old:  # unassign: back to the host's pool; a VSN reserved while in use becomes listed
            self.vsns[old]["server"] = None
        if new:
            self._take_vsn(new, server_id)
        return empty_response(202)

    @route("GET", NOVA + r"/os-hypervisors/detail")
    @nova
    def list_hypervisors(self, request, token):
        if self.users[token["user"]]["role"] != "admin":
            raise ApiError(403, "Policy doesn't allow os_compute_api:os-hypervisors:detail to be performed.")
        hypervisors = []
        for number, (name, host) in enumerate(self.hosts.items(), 1):
            running = sum(1 for s in self.servers.values() if s["host"] == name)
            hypervisors.append({
                "id": number, "hypervisor_hostname": host["hypervisor_hostname"], "hypervisor_type": "phyp",
                "hypervisor_version": 1, "state": "up", "status": "enabled", "running_vms": running,
                "service": {"id": 100 + number, "host": name, "host_display_name": host["display_name"],
                            "disabled_reason": None},
            })
        return json_response(200, {"hypervisors": hypervisors})

    # -- server create path (contract item 11): images, flavors, networks, zones, build ----------
    # Routes: GET /images[/detail|/{id}], /flavors[/detail|/{id}|/{id}/os-extra_specs],
    # /os-networks[/{id}], /os-availability-zone, and POST /servers (create_server above).
    # Real Nova answers these lookups under the compute endpoint at version 2.1 (the image and
    # network proxy APIs, deprecated only from microversion 2.36; the client sends none).
    # Build: POST /servers answers 202 with the server in BUILD; it becomes ACTIVE build_time
    # seconds later, or ERROR with a "fault" when its name matches a key of the build_faults
    # setting ({"<name regex>": "<fault message>"}). State advances on read (before_request).
    # Seed keys (defaults in SERVER_CREATE_SEED): "images": [{"id", "name", "os_distro"}],
    # "flavors": [{"id", "name", "vcpus", "ram", "disk", "extra_specs"}], "networks": [{"id",
    # "name", "cidr"}], "availability_zones": [...]; settings "build_time" (s), "build_faults",
    # "vsn_after_build" (true: a server in BUILD shows VSN "none" until its build ends; IBM does not
    # say when the VSN of a new server becomes visible, so clients must allow for both), "delete_time"
    # (s; DELETE answers 204 at once and the server shows task_state "deleting" until then, as Nova),
    # "max_limit" (Nova's osapi_max_limit, default 1000: GET /servers[/detail] pages with servers_links).
    def _load_create_catalogs(self, seed):
        defaults = copy.deepcopy(SERVER_CREATE_SEED)
        self.settings.setdefault("build_time", 0)
        self.settings.setdefault("build_faults", {})
        self.settings.setdefault("vsn_after_build", False)
        self.settings.setdefault("delete_time", 0)
        self.settings.setdefault("max_limit", 1000)
        self.images = {i["id"]: dict(i) for i in seed.get("images", defaults["images"])}
        self.flavors = {f["id"]: dict(f) for f in seed.get("flavors", defaults["flavors"])}
        self.networks = {n["id"]: dict(n) for n in seed.get("networks", defaults["networks"])}
        self.zones = list(seed.get("availability_zones", defaults["availability_zones"]))

    def before_request(self):
        now = time.time()
        for server_id in [i for i, s in self.servers.items() if now >= s.get("delete_until", float("inf"))]:
            self._remove_server(server_id)
        for server in self.servers.values():
            if server["status"] == "BUILD" and now >= server.get("build_until", 0):
                if server.get("build_fault"):
                    server.update(status="ERROR", fault={"code": 500, "message": server["build_fault"],
                                                         "created": nova_time(now),
                                                         "details": "Traceback (most recent call last): ..."})
                else:
                    server["status"] = "ACTIVE"
                server["updated"] = now

    def _build_view(self, server, view):
        """What a detailed server shows beyond the VSN fields: build state, fault, addresses, zone."""
        task_state = "deleting" if server.get("delete_until") else {"BUILD": "spawning"}.get(server["status"])
        view["OS-EXT-STS:task_state"] = task_state
        view["OS-EXT-AZ:availability_zone"] = server.get("zone") or "Default Group"
        view["addresses"] = copy.deepcopy(server.get("addresses") or {})
        if server.get("updated"):
            view["updated"] = nova_time(server["updated"])
        if server.get("fault"):
            view["fault"] = dict(server["fault"])

    def _image_view(self, image, detail):
        base = self._compute_url()
        view = {"id": image["id"], "name": image["name"],
                "links": [{"rel": "self", "href": "%s/images/%s" % (base, image["id"])}]}
        if detail:
            view.update(status="ACTIVE", minDisk=0, minRam=0, progress=100, created="2026-01-05T10:00:00Z",
                        updated="2026-01-05T10:00:00Z", metadata={"os_distro": image.get("os_distro", "")})
        return view

    def _flavor_view(self, flavor, detail):
        base = self._compute_url()
        view = {"id": flavor["id"], "name": flavor["name"],
                "links": [{"rel": "self", "href": "%s/flavors/%s" % (base, flavor["id"])}]}
        if detail:
            view.update(vcpus=flavor["vcpus"], ram=flavor["ram"], disk=flavor["disk"], swap="",
                        rxtx_factor=1.0, **{"OS-FLV-EXT-DATA:ephemeral": 0, "os-flavor-access:is_public": True})
        return view

    def _found(self, table, key, what):
        if key not in table:
            raise ApiError(404, "%s %s could not be found." % (what, key))
        return table[key]

    @route("GET", NOVA + r"/images")
    @nova
    def list_images(self, request, token):
        return json_response(200, {"images": [self._image_view(i, False) for i in self.images.values()]})

    @route("GET", NOVA + r"/images/detail")
    @nova
    def list_images_detail(self, request, token):
        return json_response(200, {"images": [self._image_view(i, True) for i in self.images.values()]})

    @route("GET", NOVA + r"/images/(?P<image_id>(?!detail\Z)[^/]+)")
    @nova
    def show_image(self, request, token, image_id):
        return json_response(200, {"image": self._image_view(self._found(self.images, image_id, "Image"), True)})

    @route("GET", NOVA + r"/flavors")
    @nova
    def list_flavors(self, request, token):
        return json_response(200, {"flavors": [self._flavor_view(f, False) for f in self.flavors.values()]})

    @route("GET", NOVA + r"/flavors/detail")
    @nova
    def list_flavors_detail(self, request, token):
        return json_response(200, {"flavors": [self._flavor_view(f, True) for f in self.flavors.values()]})

    @route("GET", NOVA + r"/flavors/(?P<flavor_id>(?!detail\Z)[^/]+)")
    @nova
    def show_flavor(self, request, token, flavor_id):
        return json_response(200, {"flavor": self._flavor_view(self._found(self.flavors, flavor_id, "Flavor"), True)})

    @route("GET", NOVA + r"/flavors/(?P<flavor_id>[^/]+)/os-extra_specs")
    @nova
    def flavor_extra_specs(self, request, token, flavor_id):
        flavor = self._found(self.flavors, flavor_id, "Flavor")
        return json_response(200, {"extra_specs": dict(flavor.get("extra_specs") or {})})

    @route("GET", NOVA + r"/os-networks")
    @nova
    def list_networks(self, request, token):
        return json_response(200, {"networks": [{"id": n["id"], "label": n["name"], "cidr": n.get("cidr")}
                                                for n in self.networks.values()]})

    @route("GET", NOVA + r"/os-networks/(?P<network_id>[^/]+)")
    @nova
    def show_network(self, request, token, network_id):
        network = self._found(self.networks, network_id, "Network")
        return json_response(200, {"network": {"id": network["id"], "label": network["name"],
                                               "cidr": network.get("cidr")}})

    @route("GET", NOVA + r"/os-availability-zone")
    @nova
    def list_zones(self, request, token):
        return json_response(200, {"availabilityZoneInfo": [
            {"zoneName": zone, "zoneState": {"available": True}, "hosts": None} for zone in self.zones]})

    def _create_server(self, request, token):
        """POST /servers: name, imageRef, flavorRef or an inline flavor (PowerVC), networks, zone."""
        body = body_of(request)
        spec = body.get("server") if isinstance(body, dict) else None
        if not isinstance(spec, dict) or not isinstance(spec.get("name"), str) or not spec["name"].strip():
            raise ApiError(400, "Invalid input for field/attribute server: 'name' is a required property.")
        flavor = self._create_flavor(spec)
        image = spec.get("imageRef")
        if image not in (None, "") and (not isinstance(image, str) or image not in self.images):
            raise ApiError(400, "Can not find requested image")
        addresses = self._create_networks(spec.get("networks"))
        zone, host = self._create_zone(spec.get("availability_zone"))
        extra_specs = flavor.get("extra_specs") or {}
        value = extra_specs.get("powervm:virtual_serial_number", "none")
        vsn = None if value == "none" else self._pick_vsn(host, value)
        now = time.time()
        server = {"id": str(uuid.uuid4()), "name": spec["name"], "host": host, "user_id": token["user"],
                  "flavor": flavor["id"], "image": image or "", "status": "BUILD", "zone": zone,
                  "addresses": addresses, "build_until": now + float(self.settings["build_time"]),
                  "build_fault": self._build_fault(spec["name"])}
        self._add_server(server, now)
        if vsn:
            self._take_vsn(vsn, server["id"])
            if self.settings.get("vsn_after_build"):
                server.update(vsn_before=None, vsn_visible_at=server["build_until"])
        link = "%s/servers/%s" % (self._compute_url(), server["id"])
        return json_response(202, {"server": {
            "id": server["id"], "links": [{"rel": "self", "href": link}], "OS-DCF:diskConfig": "MANUAL",
            "security_groups": [{"name": "default"}], "adminPass": secrets.token_urlsafe(9)}}, {"Location": link})

    def _create_flavor(self, spec):
        """The flavor of a create request: flavorRef (a known flavor) or PowerVC's inline flavor."""
        inline, ref = spec.get("flavor"), spec.get("flavorRef")
        if inline is None or ref is not None:
            if not isinstance(ref, (str, int)) or str(ref) == "":
                raise ApiError(400, "Invalid input for field/attribute server: 'flavorRef' is a required property.")
            if str(ref) not in self.flavors:
                raise ApiError(400, "Flavor %s could not be found." % ref)
            if inline is None:
                return self.flavors[str(ref)]
            # flavorRef with an inline flavor: the named flavor's sizes, the inline extra specs on top.
            inline = dict(self.flavors[str(ref)], **inline) if isinstance(inline, dict) else inline
        if not isinstance(inline, dict):
            raise ApiError(400, "Invalid input for field/attribute flavor: an object is required.")
        for key in ("vcpus", "ram"):
            if not isinstance(inline.get(key), int) or isinstance(inline.get(key), bool) or inline[key] < 1:
                raise ApiError(400, "Invalid input for field/attribute flavor.%s: a positive integer is required." % key)
        extra_specs = inline.get("extra_specs", {})
        if not isinstance(extra_specs, dict) or not all(isinstance(v, str) for v in extra_specs.values()):
            raise ApiError(400, "Invalid input for field/attribute flavor.extra_specs: string values are required.")
        return {"id": "inline-" + stable_id("flavor", spec["name"])[:12], "extra_specs": extra_specs}

    def _create_networks(self, networks):
        """Nova's networks list: [{"uuid": <network>, "fixed_ip": <IPv4>}]; the server's addresses."""
        if networks in (None, "auto", "none"):
            return {}
        if not isinstance(networks, list):
            raise ApiError(400, "Invalid input for field/attribute networks: a list is required.")
        addresses = {}
        for number, item in enumerate(networks):
            if not isinstance(item, dict) or not isinstance(item.get("uuid"), str):
                raise ApiError(400, "Invalid input for field/attribute networks[%d]: 'uuid' is required." % number)
            network = self.networks.get(item["uuid"])
            if network is None:
                raise ApiError(400, "Network %s could not be found." % item["uuid"])
            fixed_ip = item.get("fixed_ip")
            if fixed_ip is not None and not (isinstance(fixed_ip, str) and re.match(
                    r"(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\Z", fixed_ip)):
                raise ApiError(400, "Invalid input for field/attribute fixed_ip. Value: %r. Not a valid IP address."
                               % (fixed_ip,))
            used = [a["addr"] for s in self.servers.values() for a in (s.get("addresses") or {}).get(
                network["name"], [])]
            if fixed_ip in used:
                raise ApiError(400, "Fixed IP address %s is already in use on network %s." % (fixed_ip, item["uuid"]))
            address = fixed_ip or "%s.%d" % (network.get("cidr", "10.0.0.0/24").rsplit(".", 1)[0],
                                             100 + len(self.servers))
            addresses.setdefault(network["name"], []).append(
                {"addr": address, "version": 4, "OS-EXT-IPS:type": "fixed"})
        return addresses

    def _create_zone(self, value):
        """(zone, host) from availability_zone "<zone>", ":<host>" or "<zone>:<host>" (Nova's forms)."""
        if value is not None and not isinstance(value, str):
            raise ApiError(400, "Invalid input for field/attribute availability_zone: a string is required.")
        zone, _sep, host = (value or "").partition(":")
        if zone and zone not in self.zones:
            raise ApiError(400, "The requested availability zone is not available")
        if host and host not in self.hosts:
            raise ApiError(400, "Compute host %s could not be found." % host)
        # No host: the first NovaLink host, as a scheduler might.
        host = host or next(n for n, h in self.hosts.items() if h["managed_by"] == "novalink")
        return zone or "Default Group", host

    def _build_fault(self, name):
        for pattern, message in (self.settings.get("build_faults") or {}).items():
            if re.search(pattern, name):
                return message
        return None


VM_STATES.update({"BUILD": ("building", 0), "ERROR": ("error", 0)})  # beside ACTIVE / SHUTOFF

# Images, flavors, networks of the server create path. The ids "ibmi-7.5-base", "ibmi-small" and
# "net-1" are those the seeded servers and the older contract tests already use.
SERVER_CREATE_SEED = {
    "images": [
        {"id": "ibmi-7.5-base", "name": "IBM i 7.5 base", "os_distro": "ibmi"},
        {"id": "6d0f5b1e-2c4a-4e8b-9f3d-7a1c2b3d4e51", "name": "aix-7.3-tl2", "os_distro": "aix"},
        {"id": "6d0f5b1e-2c4a-4e8b-9f3d-7a1c2b3d4e52", "name": "twin-image", "os_distro": "aix"},
        {"id": "6d0f5b1e-2c4a-4e8b-9f3d-7a1c2b3d4e53", "name": "twin-image", "os_distro": "aix"},
    ],
    "flavors": [
        {"id": "ibmi-small", "name": "ibmi-small", "vcpus": 1, "ram": 8192, "disk": 0,
         "extra_specs": {"powervm:proc_units": "0.5", "powervm:dedicated_proc": "false"}},
        {"id": "e2f4a6c8-1b3d-4f5a-8c7e-9d0b1a2c3e61", "name": "ibmi-medium", "vcpus": 2, "ram": 16384, "disk": 0,
         "extra_specs": {"powervm:proc_units": "1"}},
    ],
    "networks": [
        {"id": "net-1", "name": "prod-vlan10", "cidr": "10.10.10.0/24"},
        {"id": "4b7c9e2a-3d5f-4a1b-8c6d-0e9f8a7b6c71", "name": "dr-vlan20", "cidr": "10.20.0.0/16"},
    ],
    "availability_zones": ["Default Group"],
}


EMULATOR = PowerVC
