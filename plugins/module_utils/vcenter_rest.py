# -*- coding: utf-8 -*-
# Copyright: (c) 2026, hybridcloud.migration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""vSphere Automation REST client for content-library OVF work, both URL families.

``/api`` (vCenter 7.0U2+) and the legacy ``/rest`` (older vCenter, and govmomi's vcsim) differ in
paths, envelopes (``/rest`` wraps answers in ``{"value"}`` and single structs in a named key), map
encoding and id spelling (``id:<id>`` in ``/rest`` paths). ``api_family: auto`` tries
``POST /api/session`` and falls back to ``/rest`` on 404. Facts: VMware's vSphere Automation REST API reference
(session, vcenter/ovf/library-item, content/library).

Deploy (and capture) is synchronous: the POST stays open for the whole disk copy, so it gets its
own long read timeout (the rest of the caller's deadline). It is never sent twice: no automatic
retry, not even on 503, and after any uncertain answer (a read timeout, a lost connection, a 5xx)
the caller's ``reconcile`` looks the VM up by name instead.
"""

from __future__ import annotations

import base64
import json
import re
import uuid

try:
    import requests
except ImportError:  # _http.RestClient reports the missing library
    requests = None

from ansible_collections.hybridcloud.migration.plugins.module_utils import _errors
from ansible_collections.hybridcloud.migration.plugins.module_utils import _vcenter_ovf_plan as plan
from ansible_collections.hybridcloud.migration.plugins.module_utils import vsphere
from ansible_collections.hybridcloud.migration.plugins.module_utils._http import Redactor, RestClient, quote_segment
from ansible_collections.hybridcloud.migration.plugins.module_utils._module import Connection
from ansible_collections.hybridcloud.migration.plugins.module_utils._vcenter_ovf_inventory import (
    RestInventory, SoapInventory)

API_FAMILIES = ("auto", plan.API, plan.REST)
DEFAULT_DEPLOY_TIMEOUT = 3 * 3600  # seconds; the disk copy of a large OVF takes hours

_PATHS = {
    "session": {plan.API: "/api/session", plan.REST: "/rest/com/vmware/cis/session"},
    "library": {plan.API: "/api/content/library", plan.REST: "/rest/com/vmware/content/library"},
    "item": {plan.API: "/api/content/library/item", plan.REST: "/rest/com/vmware/content/library/item"},
    "ovf": {plan.API: "/api/vcenter/ovf/library-item", plan.REST: "/rest/com/vmware/vcenter/ovf/library-item"},
    "vcenter": {plan.API: "/api/vcenter", plan.REST: "/rest/vcenter"},
    "version": {plan.API: "/api/appliance/system/version", plan.REST: "/rest/appliance/system/version"},
    "policies": {plan.API: "/api/vcenter/storage/policies", plan.REST: "/rest/vcenter/storage/policies"},
}

# Each API operation named once, as the vSphere Automation API reference names it (service, operation):
# every message about a call uses these, so the same call reads the same way everywhere.
OP_LOGIN = "cis.session create"
OP_LOGOUT = "cis.session delete"
OP_VERSION = "appliance.system.version get"
OP_FIND_LIBRARY = "content.library find"
OP_GET_LIBRARY = "content.library get"
OP_LIST_ITEMS = "content.library.item list"
OP_FIND_ITEM = "content.library.item find"
OP_GET_ITEM = "content.library.item get"
OP_FILTER = "vcenter.ovf.library_item filter"
OP_DEPLOY = "vcenter.ovf.library_item deploy"
OP_CREATE = "vcenter.ovf.library_item create"
OP_POWER_GET = "vcenter.vm.power get"
OP_POWER_START = "vcenter.vm.power start"
OP_LIST_POLICIES = "vcenter.storage.policies list"


def op_list(kind):
    """The list operation of an inventory kind (``vcenter.datastore list`` ...)."""
    return "vcenter.%s list" % kind.replace("-", "_")


_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")

# Options added to the vSphere connection options (documented 1:1 in doc_fragments/vcenter_rest.py).
REST_ARGUMENT_SPEC = dict(
    api_family=dict(type="str", default="auto", choices=list(API_FAMILIES)),
    inventory_lookup=dict(type="str", default="auto", choices=["auto", "soap", "rest"]),
)


class VcenterRestClient(RestClient):
    """One authenticated REST session against a vCenter; ``close()`` always logs out."""

    def __init__(self, hostname, username, password, port=443, api_family="auto", validate_certs=True,
                 ca_path=None, redactor=None, deploy_timeout=DEFAULT_DEPLOY_TIMEOUT, scheme="https", **kwargs):
        if api_family not in API_FAMILIES:
            raise _errors.ParameterError("parameter 'api_family' must be one of %s, got '%s'"
                                         % (", ".join(API_FAMILIES), api_family))
        redactor = redactor or Redactor()
        redactor.add(password)
        if password:
            # Also as a server may echo it inside a JSON string without escaping non-ASCII characters.
            redactor.add(json.dumps(str(password), ensure_ascii=False)[1:-1])
        super().__init__("%s://%s:%s" % (scheme, hostname, port), validate_certs=validate_certs, ca_path=ca_path,
                         redactor=redactor, **kwargs)
        self.username = username
        basic = base64.b64encode(("%s:%s" % (username, password)).encode("utf-8")).decode("ascii")
        self.redact.add(basic)
        self._basic = "Basic " + basic
        self.requested_family = api_family
        self.family = None if api_family == "auto" else api_family
        self.token = None
        self.deploy_timeout = deploy_timeout
        self._version = False  # not read yet

    list_operation = staticmethod(op_list)
    power_on_operation = OP_POWER_START

    # -- hooks -----------------------------------------------------------------------------
    def parse_error(self, response):
        return parse_error(response.body)

    def is_session_expired(self, response):
        return response.status == 401 and self.token is not None

    def login(self):
        """Create a session (detecting the family on first use); remember and mask its token."""
        self.token = None
        self.session.headers.pop("vmware-api-session-id", None)
        self.session.cookies.clear()
        # Header auth only: without this vcsim also sets a session cookie.
        headers = {"Authorization": self._basic, "vmware-use-header-authn": "true"}
        families = [self.family] if self.family else [plan.API, plan.REST]
        for family in families:
            expect = (404,) if self.family is None and family == plan.API else None
            try:
                response = self.request("POST", _PATHS["session"][family], headers=headers, expect=expect,
                                        operation=OP_LOGIN,
                                        relogin=False)
            except _errors.AuthError as error:
                if error.status == 401:
                    error.message = "vCenter rejected the credentials of user '%s'" % self.username
                raise
            if response.status == 404:
                continue  # no /api on this server: the legacy family serves everything
            token = response.body.get("value") if isinstance(response.body, dict) else response.body
            if not isinstance(token, str) or not token:
                raise _errors.ApiError("no session id in the login answer", operation=OP_LOGIN,
                                       status=response.status)
            self.family = family
            self.redact.add(token)
            self.token = token
            self.session.headers["vmware-api-session-id"] = token
            return token
        raise _errors.ApiError("the server has no vSphere Automation REST endpoint (/api and /rest both 404)",
                               operation=OP_LOGIN, status=404)

    def logout(self):
        """DELETE the session (sessions are a limited resource); an already-gone session is fine."""
        if self.token is None:
            return
        try:
            self.request("DELETE", _PATHS["session"][self.family], expect=(401,), operation=OP_LOGOUT,
                         relogin=False)
        finally:
            self.token = None
            self.session.headers.pop("vmware-api-session-id", None)

    def close(self):
        try:
            self.logout()
        finally:
            super().close()

    def allow_concurrent(self, calls):
        """Keep up to CALLS connections open at once (bulk deploys: each holds one for its whole disk copy)."""
        adapter = requests.adapters.HTTPAdapter(pool_connections=1, pool_maxsize=max(int(calls), 1))
        self.session.mount("https://", adapter)
        self.session.mount("http://", adapter)

    # -- helpers ---------------------------------------------------------------------------
    def path(self, kind, *parts):
        """The family's path of KIND, with ``id:`` before ids on /rest content and OVF paths."""
        base = _PATHS[kind][self.family]
        for part in parts:
            if str(part).strip(".") == "":
                # '.' and '..' would be resolved away by the HTTP stack, whatever their encoding.
                raise _errors.ParameterError("'%s' cannot be an object ID" % part)
            part = quote_segment(part)
            base += "/" + ("id:" + part if self.family == plan.REST and kind != "vcenter" else part)
        return base

    def action(self, name, **params):
        params["~action" if self.family == plan.REST else "action"] = name
        return params

    def value(self, response):
        """The payload: bare on /api, under ``value`` on /rest (vcsim sends lists as null)."""
        body = response.body
        if self.family == plan.REST and isinstance(body, dict) and "value" in body:
            return body["value"]
        return body

    def ids(self, response):
        found = self.value(response)
        return [i for i in found if isinstance(i, str)] if isinstance(found, list) else []

    def struct(self, name, body):
        """/rest names single-struct parameters (``{"spec": ...}``); /api sends them bare."""
        return {name: body} if self.family == plan.REST else body

    # -- server -----------------------------------------------------------------------------
    def server_version(self):
        """The vCenter version as a tuple, or None when the server does not say (vcsim).

        The version endpoint is optional for this client: any error answer means "unknown", and
        an unknown version gets the classic EULA key (a 9.1 server then asks for the other one).
        """
        if self._version is False:
            try:
                response = self.get(self.path("version"), operation=OP_VERSION)
                data = self.value(response)
            except _errors.ApiError:
                data = None
            self._version = plan.parse_version(data.get("version") if isinstance(data, dict) else None)
        return self._version

    # -- content library ----------------------------------------------------------------------
    def find_libraries(self, name):
        spec = {"name": name}
        response = self.post(self.path("library"), self.struct("spec", spec), params=self.action("find"),
                             operation=OP_FIND_LIBRARY, resource="'%s'" % name, idempotent=True)
        return self.ids(response)

    def get_library(self, library_id):
        """The library, or None when there is no such id (404, also vcsim's plain-text one)."""
        response = self.get(self.path("library", library_id), expect=(404,), operation=OP_GET_LIBRARY,
                            resource=library_id)
        return self.value(response) if response.ok else None

    def find_items(self, name, library_id=None):
        spec = {"name": name}
        if library_id:
            spec["library_id"] = library_id
        response = self.post(self.path("item"), self.struct("spec", spec), params=self.action("find"),
                             operation=OP_FIND_ITEM, resource="'%s'" % name, idempotent=True)
        return self.ids(response)

    def get_item(self, item_id):
        """The item, or None when there is no such id (404, or 400 for a malformed one)."""
        response = self.get(self.path("item", item_id), expect=(404, 400), operation=OP_GET_ITEM,
                            resource=item_id)
        return self.value(response) if response.ok else None

    def is_library(self, library_id):
        """True when LIBRARY_ID names a library: its item list answers (404, or 400 for a malformed id, if not).

        The document lists no ``GET library/{id}``, but ``GET item?library_id=`` is in it (and in vcsim).
        """
        response = self.get(self.path("item"), params={"library_id": library_id}, expect=(404, 400),
                            operation=OP_LIST_ITEMS, resource="library %s" % library_id)
        return response.ok

    def resolve_library(self, ref):
        """The id of the library REF (an id or a name); NotFoundError / ParameterError (ambiguous).

        Ids are opaque (not always UUIDs): a UUID-shaped REF is tried as an id first, any other REF
        that no library name matches is tried as an id last.
        """
        if _UUID.match(ref) and self.is_library(ref):
            return ref
        ids = self.find_libraries(ref)
        if not ids and not _UUID.match(ref) and self.is_library(ref):
            return ref
        named = [(i, self.library_name(i)) for i in ids] if len(ids) > 1 else [(i, ref) for i in ids]
        return _pick("content library", ref, plan.prefer_exact(ref, named))

    def library_name(self, library_id):
        """The name of a library (for results and to tell several find matches apart); None if the server does not say."""
        try:
            library = self.get_library(library_id)
        except _errors.ApiError:
            library = None
        return library.get("name") if isinstance(library, dict) else None

    def resolve_item(self, ref, library_id=None):
        """The library item REF (an id or a name, within LIBRARY_ID if given) as its info dict."""
        item = self._item_by_id(ref, library_id) if _UUID.match(ref) else None
        if item:
            return item
        ids = self.find_items(ref, library_id)
        if not ids and not _UUID.match(ref):
            item = self._item_by_id(ref, library_id)  # ids are opaque: "item-1" is an id too
            if item:
                return item
        items = {i: self.get_item(i) or {"id": i} for i in ids}
        named = plan.prefer_exact(ref, [(i, items[i].get("name", ref)) for i in ids])
        chosen = _pick("library item", ref, named, scope=" in library %s" % library_id if library_id else
                       " (set 'library' to choose)")
        return dict(items[chosen], id=chosen)

    def _item_by_id(self, item_id, library_id=None):
        """The item with id ITEM_ID, or None; NotFoundError if it is in another library than LIBRARY_ID."""
        item = self.get_item(item_id)
        if not isinstance(item, dict):
            return None
        if library_id and item.get("library_id") not in (None, library_id):
            raise _errors.NotFoundError("library item %s is not in library %s" % (item_id, library_id),
                                        operation=OP_FIND_ITEM, resource=item_id)
        return dict(item, id=item.get("id") or item_id)

    # -- OVF ---------------------------------------------------------------------------------
    def filter_item(self, item_id, target):
        """The item's OvfSummary for TARGET (networks, EULAs, properties); validates the placement too."""
        response = self.post(self.path("ovf", item_id), {"target": target}, params=self.action("filter"),
                             operation=OP_FILTER, resource="library item %s" % item_id,
                             idempotent=True)
        summary = self.value(response)
        return summary if isinstance(summary, dict) else {}

    def deploy(self, item_id, target, spec, reconcile=None, timeout=None):
        """Deploy ITEM_ID, sending the deploy once; return ``(vm_id, answer_lost)``.

        Failures with HTTP 200 and ``succeeded`` not true raise JobFailedError with every server
        message. After an uncertain answer (read timeout, lost connection, 5xx, 429) ``reconcile()``
        (the VM by name in the target folder, or None) decides: the VM is there (``answer_lost``
        True), or the error is raised saying that the deploy was not resent. TIMEOUT is the read
        timeout of the deploy call (the caller's remaining deadline).
        """
        eula_field = plan.eula_key(self.server_version())
        spec = dict(spec)
        if plan.EULA_KEY in spec and eula_field != plan.EULA_KEY:
            spec[eula_field] = spec.pop(plan.EULA_KEY)
        body = plan.deploy_body(self.family, target, spec, client_token=str(uuid.uuid4()))
        resource = "library item %s (VM '%s')" % (item_id, spec.get("name"))
        operation = OP_DEPLOY
        try:
            try:
                response = self._send_once(self.path("ovf", item_id), body, self.action("deploy"), operation,
                                           resource, timeout)
            except _errors.ApiError as error:
                if error.status != 400 or not _names_eula_field(error):
                    raise
                # A 9.1 server may insist on the other spelling: the 400 means nothing was done.
                response = self._send_once(self.path("ovf", item_id), plan.switch_eula_key(body),
                                           self.action("deploy"), operation, resource, timeout)
        except _errors.MigrationError as error:
            if not uncertain(error):
                raise
            vm_id = reconcile() if reconcile else None
            if vm_id:
                return vm_id, True
            error.message += ("; no VM named '%s' appeared in the target folder, so the deploy was not resent"
                              % spec.get("name"))
            raise
        succeeded, vm_id, messages = plan.outcome(self.value(response))
        if succeeded and not vm_id:
            # Success without a resource_id: the VM exists, so find it by name rather than fail.
            vm_id = reconcile() if reconcile else None
            if not vm_id:
                raise _errors.JobFailedError(
                    "the server reported success but named no VM (no resource_id), and no VM named '%s' is in the "
                    "target folder" % spec.get("name"), operation=operation, resource=resource, status=response.status)
        if not succeeded:
            raise _errors.JobFailedError(
                "; ".join(messages) or "the server did not report success (no 'succeeded: true' in the answer)",
                operation=operation, resource=resource, status=response.status)
        return vm_id, False

    def _send_once(self, path, body, params, operation, resource, timeout):
        """POST a call that must never be repeated (deploy, capture): after any answer but success,
        and after a reset or a read timeout, the caller looks for the result instead."""
        return self.post(path, body, params=params, operation=operation, resource=resource, idempotent=False,
                         once=True, read_timeout=timeout or self.deploy_timeout)

    def create_item(self, source_vm_id, library_id, name, library_item_id=None, description=None, flags=None,
                    reconcile=None, timeout=None):
        """Capture SOURCE_VM_ID as an OVF item, sent once; return ``(item_id, answer_lost)``.

        Same rules as ``deploy``: after an uncertain answer ``reconcile()`` (the captured item, or
        None) decides, and nothing is resent.
        """
        body = plan.create_body(source_vm_id, library_id, name, library_item_id, description, flags,
                                client_token=str(uuid.uuid4()), family=self.family)
        resource = "VM %s -> library %s item '%s'" % (source_vm_id, library_id, name)
        operation = OP_CREATE
        try:
            response = self._send_once(self.path("ovf"), body, None, operation, resource, timeout)
        except _errors.MigrationError as error:
            if not uncertain(error):
                raise
            item_id = reconcile() if reconcile else None
            if item_id:
                return item_id, True
            error.message += "; the capture could not be confirmed and was not resent"
            raise
        succeeded, item_id, messages = plan.outcome(self.value(response))
        if not succeeded and response.body is None and library_item_id:
            # vcsim answers an overwrite with HTTP 200 and an empty body.
            return library_item_id, False
        if not succeeded:
            raise _errors.JobFailedError(
                "; ".join(messages) or "the server did not report success (no 'succeeded: true' in the answer)",
                operation=operation, resource=resource, status=response.status)
        item_id = item_id or library_item_id or (reconcile() if reconcile else None)
        if not item_id:
            raise _errors.JobFailedError(
                "the server reported success but named no library item (no ovf_library_item_id), and no item named "
                "'%s' is in the library" % name, operation=operation, resource=resource, status=response.status)
        return item_id, False

    # -- storage policies ---------------------------------------------------------------------
    def list_storage_policies(self):
        """[(id, name)] of the VM storage policies, or None when the server has no such list (vcsim: 404)."""
        response = self.get(self.path("policies"), expect=(404,), operation=OP_LIST_POLICIES)
        if not response.ok:
            return None
        found = self.value(response)
        return [(p.get("policy"), p.get("name")) for p in found if isinstance(p, dict) and p.get("policy")] \
            if isinstance(found, list) else []

    def resolve_storage_policy(self, ref):
        """(id, name) of the storage policy REF (a name, else an id); NotFoundError / ParameterError (ambiguous).

        Policy names are unique on vCenter but compared exactly. A server without the policy list
        (vcsim) takes a UUID-shaped REF as an id (name unknown) and refuses names.
        """
        policies = self.list_storage_policies()
        if policies is None:
            if _UUID.match(ref):
                return ref, None
            raise _errors.NotFoundError("cannot look up storage policy '%s' by name: the server has no storage policy "
                                        "list (give the policy's id)" % ref, operation=OP_LIST_POLICIES,
                                        resource="vCenter %s" % self.base_url)
        named = [(i, name) for i, name in policies if name == ref] or [(i, name) for i, name in policies if i == ref]
        if not named:
            raise _errors.NotFoundError("no storage policy '%s' (the policies: %s)"
                                        % (ref, ", ".join(sorted(str(n) for dummy, n in policies)) or "none"),
                                        operation=OP_LIST_POLICIES, resource="vCenter %s" % self.base_url)
        if len(named) > 1:
            raise _errors.ParameterError("storage policy '%s' is ambiguous: %d policies have that name (ids %s); give "
                                         "the id" % (ref, len(named), ", ".join(sorted(i for i, dummy in named))))
        return named[0]

    # -- inventory over REST (real vCenter and the emulator; vcsim has none) ---------------------
    def list_inventory(self, kind, **filters):
        """``GET /api/vcenter/<kind>?names=..`` summaries; /rest spells filters ``filter.<name>``."""
        params = {}
        for key, value in filters.items():
            if value in (None, [], ""):
                continue
            params[key if self.family == plan.API else "filter." + key] = value
        response = self.get(self.path("vcenter", kind), params=params, operation=op_list(kind))
        found = self.value(response)
        return [entry for entry in found if isinstance(entry, dict)] if isinstance(found, list) else []

    def power_state(self, vm_id):
        """POWERED_ON, POWERED_OFF or SUSPENDED (``GET .../vm/{vm}/power``)."""
        response = self.get(self.path("vcenter", "vm", vm_id, "power"), operation=OP_POWER_GET,
                            resource=vm_id)
        state = self.value(response)
        return state.get("state") if isinstance(state, dict) else None

    def power_on(self, vm_id):
        # Sent once: after an uncertain answer the caller reads the power state back before any resend.
        if self.family == plan.API:
            self.post(self.path("vcenter", "vm", vm_id, "power"), params={"action": "start"},
                      operation=OP_POWER_START, resource=vm_id, once=True)
        else:
            self.post(self.path("vcenter", "vm", vm_id, "power", "start"), operation=OP_POWER_START, resource=vm_id,
                      once=True)


def parse_error(body):
    """(error code, message) from either family's error body, or from vcsim's empty / plain-text ones."""
    if isinstance(body, dict):
        inner = body.get("value") if isinstance(body.get("value"), dict) else body
        code = inner.get("error_type") or body.get("error_type")
        if not code and isinstance(body.get("type"), str):
            code = body["type"].rsplit(".", 1)[-1].upper()
        messages = inner.get("messages")
        messages = messages if isinstance(messages, list) else [messages]
        texts = [t for t in (plan.message_text(m) for m in messages) if t]
        message = "; ".join(texts) or next((v for v in (body.get("type"), body.get("value"))
                                            if isinstance(v, str) and v), None)
        return code if isinstance(code, str) and code else None, message
    if isinstance(body, str) and body.strip():
        return None, body.strip()
    if body is None or body == "":
        return None, "no details given (empty response body)"
    return None, json.dumps(body)


def uncertain(error):
    """True when ERROR leaves open whether the server did the work: no answer, a 5xx, or 429.

    4xx answers (bad input, unknown ids) are vAPI's validation, made before anything is done.
    """
    if isinstance(error, _errors.TransportError):
        return True
    if isinstance(error, _errors.ApiError):
        return error.status is None or error.status >= 500 or error.status == 429
    return False


FIND_OPS = {"content library": OP_FIND_LIBRARY, "library item": OP_FIND_ITEM}


def _pick(what, ref, named, scope=""):
    if not named:
        raise _errors.NotFoundError("no %s named '%s'%s" % (what, ref, scope.replace(" (set 'library' to choose)", "")),
                                    operation=FIND_OPS.get(what, "find %s" % what), resource="'%s'" % ref)
    if len(named) > 1:
        raise _errors.ParameterError("%s '%s' is ambiguous%s: %d matches (ids %s)"
                                     % (what, ref, scope, len(named), ", ".join(sorted(i for i, dummy in named))))
    return named[0][0]


def _names_eula_field(error):
    """True when a 400 names the EULA field (either spelling), in a message or only in its args."""
    text = "%s %s %s" % (error.message, error.api_message or "", json.dumps(error.details))
    return plan.EULA_KEY_91 in text.lower()


# -- what a module opens -------------------------------------------------------------------------
class VcenterSession:
    """The REST client plus the inventory lookups (SOAP opened only when first needed); closes both."""

    def __init__(self, rest, inventory):
        self.rest = rest
        self.inventory = inventory

    def close(self):
        try:
            self.inventory.close()
        finally:
            self.rest.close()


def inventory_kind(lookup, family):
    """'rest' or 'soap': ``auto`` uses the REST lookups of the /api family, SOAP on the legacy /rest one
    (vcsim, the only /rest server the project knows, has no REST lookups)."""
    if lookup == "auto":
        return "rest" if family == plan.API else "soap"
    return lookup


def open_vcenter(module):
    """Log in over REST with the vSphere connection options; SOAP only if the inventory lookups need it."""
    params = module.params
    options = vsphere.connection_params(params)  # hostname, username, password: required by the argspec
    redactor = Redactor([options["password"]], on_secret=module.register_secret)
    proxy = vsphere.proxy_url(options)
    rest = VcenterRestClient(options["hostname"], options["username"], options["password"], port=options["port"],
                             api_family=params["api_family"], validate_certs=options["validate_certs"],
                             ca_path=options["ca_path"], redactor=redactor,
                             proxies={"http": proxy, "https": proxy} if proxy else None)
    try:
        rest.login()  # first: the family decides what inventory_lookup=auto uses
    except _errors.TransportError as error:
        rest.close()
        if proxy:
            # Through a proxy, "refused" or a failed tunnel is about the proxy as often as about vCenter.
            raise _errors.ParameterError("parameter 'proxy_host' (with proxy_port) %s:%s did not lead to vCenter %s:%s: %s"
                                         % (options["proxy_host"], options["proxy_port"], options["hostname"],
                                            options["port"], error))
        raise
    if inventory_kind(params["inventory_lookup"], rest.family) == "rest":
        inventory = RestInventory(rest)
    else:
        inventory = SoapInventory(lambda: vsphere.open_vsphere(module))
    return VcenterSession(rest, inventory)


# The vSphere connection options (fragment hybridcloud.migration.vsphere) serve SOAP and REST alike;
# REST_ARGUMENT_SPEC adds the REST-only ones (fragment hybridcloud.migration.vcenter_rest).
CONNECTION = Connection(dict(vsphere.VSPHERE_ARGSPEC, **REST_ARGUMENT_SPEC), open_vcenter,
                        ranges={"port": (1, 65535), "proxy_port": (1, 65535)},
                        required_together=vsphere.PROXY_REQUIRED_TOGETHER)
