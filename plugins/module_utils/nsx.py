# -*- coding: utf-8 -*-
# Copyright: (c) 2026, hybridcloud.migration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""NSX-T Manager client for the V2T "VM group" migration calls (NSX-T Manager API,
/api/v1/migration/vmgroup and its actions).

``NSX_ARGSPEC`` (documented 1:1 by ``plugins/doc_fragments/nsx.py``), ``CONNECTION`` and
``NsxClient``: basic or session authentication, NSX error bodies, the retry policy of nsx.md
section 5 and the four vmgroup calls.
"""

from __future__ import annotations

import re
from http.cookiejar import DefaultCookiePolicy

from ansible.module_utils.basic import env_fallback

from ansible_collections.hybridcloud.migration.plugins.module_utils import _errors
from ansible_collections.hybridcloud.migration.plugins.module_utils._http import Redactor, RestClient
from ansible_collections.hybridcloud.migration.plugins.module_utils._module import Connection
from ansible_collections.hybridcloud.migration.plugins.module_utils._polling import Backoff

NSX_ARGSPEC = {
    "nsx_hostname": dict(type="str", required=True, fallback=(env_fallback, ["NSX_HOST"])),
    "nsx_username": dict(type="str", required=True, fallback=(env_fallback, ["NSX_USERNAME"])),
    "nsx_password": dict(type="str", required=True, no_log=True, fallback=(env_fallback, ["NSX_PASSWORD"])),
    "nsx_port": dict(type="int", default=443, fallback=(env_fallback, ["NSX_PORT"])),
    "nsx_validate_certs": dict(type="bool", default=True, fallback=(env_fallback, ["NSX_VALIDATE_CERTS"])),
    "nsx_ca_cert": dict(type="path", fallback=(env_fallback, ["NSX_CA_CERT"])),
    "nsx_auth": dict(type="str", default="basic", choices=["basic", "session"], fallback=(env_fallback, ["NSX_AUTH"])),
}

# Every NSX API operation, named as the API reference names it, the same way in every message.
PRE_MIGRATE = "pre_migrate"
POST_MIGRATE = "post_migrate"
FINALIZE_INFRA = "finalize_infra"
GET_DETAILS = "get_vm_group_execution_details"
SESSION_CREATE = "POST /api/session/create"
SESSION_DESTROY = "POST /api/session/destroy"

VMGROUP = "/api/v1/migration/vmgroup"
DETAILS = "/api/v1/migration/vmgroup/actions/get_vm_group_execution_details"
MAP_KEY = "logical_switch_id_to_vm_instance_id_and_vnics_map"
FAILED_KEY = "failed_vm_instance_ids"

# nsx.md section 5: base 1 s, cap 60 s, at most 8 tries per call.
DEFAULT_BACKOFF = dict(initial=1.0, factor=2.0, maximum=60.0, jitter=0.2)
DEFAULT_TRIES = 8
# (status, error_code) answers that mean "the server did nothing, try again later".
RETRYABLE_CODES = frozenset(((400, 30722), (500, 607)))
MAX_PAGES = 1000  # a server repeating its cursor must not loop forever
# JSESSIONID in a Set-Cookie header, also when requests joined several cookies with ", ".
_SESSION_COOKIE = re.compile(r'(?:^|[;,])\s*JSESSIONID="?([^";,\s]+)')


def nsx_code(value):
    """NSX error_code as int when it is numeric (it is sometimes a string: "269")."""
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return value


def base_url(host, port):
    """https://HOST:PORT, or HOST as is when it already is a URL."""
    if "://" in host:
        return host.rstrip("/")
    return "https://%s:%s" % (host, port or 443)


class NsxClient(RestClient):
    """NSX Manager API. ``auth`` "basic" (header on every call) or "session" (JSESSIONID + X-XSRF-TOKEN)."""

    def __init__(self, host, username, password, port=443, validate_certs=True, ca_path=None, auth="basic",
                 tries=DEFAULT_TRIES, backoff=None, redactor=None, **kwargs):
        redactor = redactor or Redactor()
        redactor.add(password)
        super().__init__(base_url(host, port), validate_certs=validate_certs, ca_path=ca_path,
                         retries=max(0, tries - 1), backoff=backoff or Backoff(**DEFAULT_BACKOFF),
                         redactor=redactor, **kwargs)
        self.username = username
        self.password = password
        self.auth = auth
        self.logged_in = False
        if auth == "basic":
            self.session.auth = (username, password)
            # A JSESSIONID kept from an answer would make later calls cookie-authenticated, and those
            # need an X-XSRF-TOKEN (nsx.md section 7, item 4): basic mode keeps no cookie.
            self.session.cookies.set_policy(DefaultCookiePolicy(allowed_domains=[]))

    # -- RestClient hooks -------------------------------------------------------------------
    def parse_error(self, response):
        body = response.body
        if isinstance(body, dict):
            message = body.get("error_message") or body.get("message")
            related = [r.get("error_message") for r in body.get("related_errors") or []
                       if isinstance(r, dict) and r.get("error_message")]
            if related:
                message = "%s (related: %s)" % (message or "error", "; ".join(related))
            return nsx_code(body.get("error_code")), message
        if isinstance(body, str):  # a proxy's HTML or text page
            return None, body.strip()[:300] or None
        return None, None

    def is_retryable(self, response):
        if response.status in self.retry_statuses:
            return True
        code = nsx_code(response.body.get("error_code")) if isinstance(response.body, dict) else None
        return (response.status, code) in RETRYABLE_CODES

    def is_session_expired(self, response):
        return self.auth == "session" and response.status in (401, 403)

    def login(self):
        """Create a session (form-encoded login); keep the cookie and XSRF token as headers."""
        self.session.headers.pop("Cookie", None)
        self.session.headers.pop("X-XSRF-TOKEN", None)
        self.session.cookies.clear()
        form = {"j_username": self.username, "j_password": self.password}
        response = self.request("POST", "/api/session/create", data=form,
                                headers={"Content-Type": "application/x-www-form-urlencoded"},
                                operation=SESSION_CREATE, resource=self.username, relogin=False,
                                idempotent=True)
        session_id = _session_cookie(response.headers.get("Set-Cookie"))
        token = response.headers.get("X-XSRF-TOKEN")
        if not session_id or not token:
            raise _errors.AuthError("the answer carried no JSESSIONID cookie or X-XSRF-TOKEN header",
                                    operation=SESSION_CREATE, resource=self.username)
        self.redact.add(session_id)
        self.redact.add(token)
        # Explicit headers, not the cookie jar: the session must not depend on cookie domain rules.
        self.session.cookies.clear()
        self.session.headers.update({"Cookie": "JSESSIONID=%s" % session_id, "X-XSRF-TOKEN": token})
        self.logged_in = True

    def close(self):
        """Destroy the session (session mode) and close the HTTP session; a logout error is raised after."""
        try:
            if self.auth == "session" and self.logged_in:
                self.logged_in = False
                # 401/403: the session idled out already; there is nothing left to destroy.
                self.request("POST", "/api/session/destroy", operation=SESSION_DESTROY, relogin=False,
                             expect=(401, 403))
        finally:
            super().close()

    # -- the vmgroup calls (nsx.md section 2) ----------------------------------------------
    def pre_migrate(self, group_id, vm_instance_ids, allow_override=False, federation_site_id=None):
        """POST pre_migrate. After an unknown outcome (connection lost once sent) resend with allow_override."""
        # Each VM once, in the order given: a VM listed twice is still one VM of the group.
        body = {"group_id": str(group_id), "vm_instance_ids": list(dict.fromkeys(vm_instance_ids)),
                "allow_override": bool(allow_override)}
        if federation_site_id:
            body["federation_site_id"] = federation_site_id
        operation = PRE_MIGRATE
        try:
            return self._post_vmgroup(operation, body)
        except _errors.TransportError as exc:
            if str(exc.message).startswith("TLS error"):
                raise
            # The group may exist now; NSX refuses a second pre_migrate without allow_override.
            return self._post_vmgroup(operation, dict(body, allow_override=True))

    def post_migrate(self, group_id, failed_vm_instance_ids=(), allow_override=False, federation_site_id=None):
        body = {"group_id": str(group_id), FAILED_KEY: sorted(set(failed_vm_instance_ids)),
                "allow_override": bool(allow_override)}
        if federation_site_id:
            body["federation_site_id"] = federation_site_id
        return self._post_vmgroup(POST_MIGRATE, body)

    def finalize_infra(self):
        response = self.request("POST", "/api/v1/migration", params={"action": FINALIZE_INFRA},
                                operation=FINALIZE_INFRA, resource="NSX migration")
        return response.body

    def _post_vmgroup(self, action, body):
        # Any 2xx is success (200 per docs, 204 in the Go SDK), with an empty or a JSON body.
        response = self.request("POST", VMGROUP, json_body=body, params={"action": action}, operation=action,
                                resource="VM group %s" % body["group_id"])
        return response.body

    def get_vm_group_execution_details(self, group_id, federation_site_id=None, missing_ok=False):
        """The details of GROUP_ID, all pages merged, failed ids de-duplicated; None if absent and MISSING_OK.

        Returns {"logical_switch_id_to_vm_instance_id_and_vnics_map": [...], "failed_vm_instance_ids": [...]}.
        """
        params = {"group_id": str(group_id)}
        if federation_site_id:
            params["federation_site_id"] = federation_site_id
        pages, cursor = [], None
        for dummy in range(MAX_PAGES):
            query = dict(params, cursor=cursor) if cursor else params
            try:
                response = self.request("GET", DETAILS, params=query, operation=GET_DETAILS,
                                        resource="VM group %s" % group_id)
            except _errors.ApiError as error:
                # Unknown group: 404 in the emulator, 400 is also seen (nsx.md section 8). A 400 that
                # means "busy" was retried already and is not an answer about the group.
                if missing_ok and error.status in (400, 404) and (error.status, error.code) not in RETRYABLE_CODES:
                    return None
                raise
            page = response.body if isinstance(response.body, dict) else {}
            pages.append(page)
            next_cursor = page.get("cursor")
            if not next_cursor or next_cursor == cursor:
                break
            cursor = next_cursor
        return merge_detail_pages(pages)


def merge_detail_pages(pages):
    """One VmGroupExecutionDetails from its pages: segments merged, vNICs and failed ids de-duplicated."""
    by_ls, order, failed = {}, [], []
    for page in pages:
        for entry in page.get(MAP_KEY) or []:
            ls_id = entry.get("ls_id")
            if ls_id not in by_ls:
                by_ls[ls_id] = {}
                order.append(ls_id)
            for mapping in entry.get("vm_and_vnics_mapping") or []:
                vnics = by_ls[ls_id].setdefault(mapping.get("vm_instance_id"), [])
                for vnic in mapping.get("vnics") or []:
                    if str(vnic) not in vnics:
                        vnics.append(str(vnic))
        for vm_id in page.get(FAILED_KEY) or []:  # missing, null or []
            if vm_id not in failed:
                failed.append(vm_id)
    return {MAP_KEY: [{"ls_id": ls_id, "vm_and_vnics_mapping": [{"vm_instance_id": vm, "vnics": vnics}
                                                                for vm, vnics in by_ls[ls_id].items()]}
                      for ls_id in order],
            FAILED_KEY: failed}


def _session_cookie(header):
    """The JSESSIONID value of a Set-Cookie header (one cookie, or several joined with ", "), or None."""
    match = _SESSION_COOKIE.search(header or "")
    return match.group(1) if match else None


def connection_parameter_error(error, client=None):
    """The ParameterError naming the nsx_* option a refused first call (login, credentials, TLS, host) points at.

    ERROR itself when CLIENT logged in (session mode): the credentials were accepted, so a 403
    then is no parameter's fault (a session ending again at once, a permission).
    """
    if client is not None and client.auth == "session" and client.logged_in and isinstance(error, _errors.ApiError):
        return error
    if isinstance(error, _errors.AuthError) or getattr(error, "status", None) in (401, 403):
        return _errors.ParameterError("parameter 'nsx_password' (with nsx_username) was refused by NSX: %s" % error)
    if "TLS" in str(error):
        return _errors.ParameterError("parameter 'nsx_ca_cert' (or nsx_validate_certs) does not verify the NSX Manager: %s"
                                      % error)
    return _errors.ParameterError("parameter 'nsx_hostname' (with nsx_port) does not lead to an NSX Manager: %s" % error)


def nsx_client(module, **kwargs):
    """An NsxClient from MODULE's nsx_* options (logged in when nsx_auth is session)."""
    params = module.params
    for name in ("nsx_hostname", "nsx_username", "nsx_password"):
        # The argspec requires them; an empty string (an unset variable templated in) is still missing.
        if not params.get(name):
            raise _errors.ParameterError("parameter '%s' must not be empty" % name)
    client = NsxClient(params["nsx_hostname"], params["nsx_username"], params["nsx_password"], port=params["nsx_port"],
                       validate_certs=params["nsx_validate_certs"], ca_path=params["nsx_ca_cert"],
                       auth=params["nsx_auth"], redactor=Redactor([params["nsx_password"]], on_secret=module.register_secret),
                       **kwargs)
    if client.auth == "session":
        try:
            client.login()
        except Exception:
            client.session.close()
            raise
    return client


CONNECTION = Connection(NSX_ARGSPEC, nsx_client)
