# -*- coding: utf-8 -*-
# Copyright: (c) 2026, hybridcloud.migration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""IBM PowerVC client: every call rides on a keystoneauth1 Session and Adapter.

keystoneauth owns the identity and transport side: the token (request, reuse, refresh before
expiry, one re-authentication and repeat after a 401), the compute endpoint from the service
catalog (service type ``compute``, ``interface``, ``region_name``), and connection retries of
reads and token requests. The collection's ``RestClient`` keeps what is the collection's: which
answers a call is resent on (a change only when PowerVC said it did nothing), typed errors with
the operation, object, API code and message, and redaction. keystoneauth's own logging is
silenced so that no request line or header can reach a module's output. The token is revoked in
``close()``.
"""

from __future__ import annotations

import json
import logging
import os
import re
import warnings
from urllib.parse import parse_qs, urlsplit

try:
    from keystoneauth1 import adapter as ks_adapter
    from keystoneauth1 import exceptions as ks_exceptions
    from keystoneauth1 import session as ks_session
    from keystoneauth1.identity import v3 as ks_v3
    HAS_KEYSTONEAUTH = True
except ImportError:  # reported by open_client with missing_required_lib
    HAS_KEYSTONEAUTH = False

from ansible.module_utils.basic import env_fallback, missing_required_lib

from ansible_collections.hybridcloud.migration.plugins.module_utils import _errors
from ansible_collections.hybridcloud.migration.plugins.module_utils._http import (
    IDEMPOTENT_METHODS, Redactor, Response, RestClient, RetryableTransport, never_sent, unresolvable, decode_body,
    quote_segment)
from ansible_collections.hybridcloud.migration.plugins.module_utils._module import Connection
from ansible_collections.hybridcloud.migration.plugins.module_utils._polling import PollBackoff, next_poll_delay
from ansible_collections.hybridcloud.migration.plugins.module_utils._powervc_plan import (
    POLL_MAXIMUM, VSN_FIELDS, fill_endpoint_template, hosts_from_hypervisors, parse_vsn_list, server_vsn)


def poll_backoff():
    """Every PowerVC wait (VSN move, assign, unassign, server build and delete): the collection's
    schedule (a 5 s change noticed <= 0.5 s late, a long one <= 10 %), capped at the 10 s interval
    IBM's examples poll at."""
    return PollBackoff(maximum=POLL_MAXIMUM)


# IBM: get a new token at least 1 h before it expires; the project rule re-authenticates whenever
# expires_at is less than 1 h away (powervc.md section 1), whatever the token's lifetime.
REFRESH_BEFORE = 3600
# Nova's answer to assign_vsn/unassign_vsn on a VM that is not stopped (powervc.md section 8).
STOP_FIRST = "if the VM is running or changing state, stop the VM first (it must be SHUTOFF)"
DEFAULT_API_TIMEOUT = 60
# keystoneauth's connection retries (0.5 s, 1 s, 2 s apart) for reads and token requests: a service
# restarting is waited for briefly; a refused endpoint fails in about 3.5 s, under the 5 s the
# collection allows. Changes get none from keystoneauth, which cannot tell "never sent" from
# "sent, answer lost"; RestClient resends a change only when it certainly never left.
CONNECT_RETRIES = 3
AUTH_KEYS = ("auth_url", "username", "user_id", "password", "project_name", "project_id",
             "user_domain_name", "user_domain_id", "project_domain_name", "project_domain_id")
# Where each auth key comes from when neither 'auth' nor 'cloud' gives it (openstack.cloud's names).
ENV_VARIABLES = {
    "auth_url": "OS_AUTH_URL", "username": "OS_USERNAME", "user_id": "OS_USER_ID", "password": "OS_PASSWORD",
    "project_name": "OS_PROJECT_NAME", "project_id": "OS_PROJECT_ID", "user_domain_name": "OS_USER_DOMAIN_NAME",
    "user_domain_id": "OS_USER_DOMAIN_ID", "project_domain_name": "OS_PROJECT_DOMAIN_NAME",
    "project_domain_id": "OS_PROJECT_DOMAIN_ID"}
VSN_PATH = "virtual-serial-number"

# Each API operation has one name, used in every message (errors, warnings, waits): the method and
# path as IBM's and OpenStack's API references write them.
OP_TOKEN = "POST /v3/auth/tokens"
OP_REVOKE = "DELETE /v3/auth/tokens"
OP_CATALOG = "compute endpoint lookup in the token catalog"
OP_LIST_VSNS = "GET /virtual-serial-number"
OP_RESERVE = "POST /virtual-serial-number?action=reserve"
OP_UNRESERVE = "POST /virtual-serial-number?action=unreserve"
OP_UPDATE_RESERVATION = "POST /virtual-serial-number?action=update_reservation"
OP_MOVE = "PUT /virtual-serial-number?action=move"
OP_ASSIGN = "POST /servers/{id}/action assign_vsn"
OP_UNASSIGN = "POST /servers/{id}/action unassign_vsn"
OP_LIST_SERVERS = "GET /servers"
OP_LIST_SERVERS_DETAIL = "GET /servers/detail"
OP_SHOW_SERVER = "GET /servers/{id}"
OP_CREATE_SERVER = "POST /servers"
OP_DELETE_SERVER = "DELETE /servers/{id}"
OP_LIST_HOSTS = "GET /os-hypervisors/detail"
OP_LIST_IMAGES = "GET /images/detail"
OP_LIST_FLAVORS = "GET /flavors/detail"
OP_SHOW_FLAVOR = "GET /flavors/{id}"
OP_FLAVOR_SPECS = "GET /flavors/{id}/os-extra_specs"
OP_LIST_NETWORKS = "GET /os-networks"
# The module's action names (results' "actions") and the operation each one sends.
OPERATIONS = {"reserve": OP_RESERVE, "unreserve": OP_UNRESERVE, "update_reservation": OP_UPDATE_RESERVATION,
              "move": OP_MOVE, "assign_vsn": OP_ASSIGN, "unassign_vsn": OP_UNASSIGN,
              "create": OP_CREATE_SERVER, "delete": OP_DELETE_SERVER, "reserve_vsn": OP_RESERVE}

ARGUMENT_SPEC = dict(
    cloud=dict(type="str", fallback=(env_fallback, ["OS_CLOUD"])),
    auth=dict(type="dict", options=dict(
        auth_url=dict(type="str"),
        username=dict(type="str"),
        user_id=dict(type="str"),
        password=dict(type="str", no_log=True),
        project_name=dict(type="str"),
        project_id=dict(type="str"),
        user_domain_name=dict(type="str"),
        user_domain_id=dict(type="str"),
        project_domain_name=dict(type="str"),
        project_domain_id=dict(type="str"),
    )),
    auth_type=dict(type="str", choices=["password", "v3password"]),
    region_name=dict(type="str", fallback=(env_fallback, ["OS_REGION_NAME"])),
    # openstack.cloud's default (docs/vocabulary.md): set, it wins over a cloud entry's interface.
    interface=dict(type="str", choices=["public", "internal", "admin"], default="public",
                   fallback=(env_fallback, ["OS_INTERFACE"])),
    validate_certs=dict(type="bool", aliases=["verify"]),
    ca_cert=dict(type="path", aliases=["cacert"], fallback=(env_fallback, ["OS_CACERT"])),
    api_timeout=dict(type="int"),
)


# -- where the credentials come from -------------------------------------------------------------
def load_cloud(name):
    """The clouds.yaml entry NAME through openstacksdk's own loader (imported only for this)."""
    try:
        from openstack import config as os_config  # pylint: disable=import-outside-toplevel
        from openstack import exceptions as os_exceptions  # pylint: disable=import-outside-toplevel
    except ImportError:
        raise _errors.ParameterError("parameter 'cloud' needs openstacksdk: %s" % missing_required_lib("openstacksdk"))
    try:
        with warnings.catch_warnings():  # openstacksdk's deprecation notices are not the user's business here
            warnings.simplefilter("ignore")
            region = os_config.OpenStackConfig().get_one(cloud=name)
    except os_exceptions.ConfigException as exc:
        raise _errors.ParameterError("parameter 'cloud': %s (clouds.yaml is searched in OS_CLIENT_CONFIG_FILE, "
                                     "./clouds.yaml, ~/.config/openstack and /etc/openstack)" % exc)
    return dict(region.config)


def connection_settings(params, environ=None, cloud_loader=load_cloud):
    """The effective auth dict, TLS, region, interface and timeout from options, a cloud, OS_* variables.

    Precedence: explicit ``auth`` keys, then the ``cloud`` entry when one is named, else the
    ``OS_*`` environment variables. Raises ParameterError naming what is missing.
    """
    environ = os.environ if environ is None else environ
    cloud = cloud_loader(params["cloud"]) if params.get("cloud") else {}
    if cloud:
        auth = dict((k, v) for k, v in (cloud.get("auth") or {}).items() if k in AUTH_KEYS and v)
    else:
        auth = dict((k, environ[ENV_VARIABLES[k]]) for k in AUTH_KEYS if environ.get(ENV_VARIABLES[k]))
    auth.update((k, v) for k, v in (params.get("auth") or {}).items() if v not in (None, ""))

    auth_type = params.get("auth_type") or cloud.get("auth_type") or "password"
    if auth_type not in ("password", "v3password"):
        raise _errors.ParameterError("parameter 'auth_type': only password authentication is supported, the cloud "
                                     "entry asks for %r" % auth_type)
    source = "in cloud %r" % params["cloud"] if cloud else "as OS_* environment variables"
    for needed in (("auth_url",), ("password",), ("username", "user_id"), ("project_name", "project_id")):
        if not any(auth.get(key) for key in needed):
            raise _errors.ParameterError(
                "parameter 'auth': %s is missing; give it in 'auth', %s, or name a 'cloud'"
                % (" or ".join("auth." + key for key in needed),
                   "or " + " or ".join(ENV_VARIABLES[key] for key in needed) if not cloud else source))
    # "Default is the only supported value" (IBM); needed whenever a name has to be looked up.
    if auth.get("username") and not (auth.get("user_domain_name") or auth.get("user_domain_id")):
        auth["user_domain_name"] = "Default"
    if auth.get("project_name") and not (auth.get("project_domain_name") or auth.get("project_domain_id")):
        auth["project_domain_name"] = "Default"
    auth["auth_url"] = keystone_v3_url(auth["auth_url"])

    validate = params.get("validate_certs")
    if validate is None:
        validate = cloud.get("verify", True) is not False
    ca_cert = params.get("ca_cert") or cloud.get("cacert")
    return {
        "auth": auth,
        "verify": (ca_cert or True) if validate else False,
        "region_name": params.get("region_name") or cloud.get("region_name") or None,
        "interface": params.get("interface") or cloud.get("interface") or "public",
        "api_timeout": params.get("api_timeout") or _number(cloud.get("api_timeout")) or DEFAULT_API_TIMEOUT,
    }


def keystone_v3_url(url):
    """AUTH_URL checked and ending in /v3: PowerVC users often give just https://host:5000 (no discovery here).

    Only http(s) with a host, a port in range and no credentials, query or fragment: anything
    else would be sent somewhere the user did not mean (or fail deep in keystoneauth).
    """
    text = str(url).strip()
    problem = _url_problem(text)
    if problem:
        raise _errors.ParameterError("parameter 'auth.auth_url' %s" % problem)
    url = text.rstrip("/")
    if re.search(r"/v3\Z", url):
        return url
    if re.search(r"/v[0-9.]+\Z", url):
        raise _errors.ParameterError("parameter 'auth.auth_url': %s is not a Keystone v3 URL; PowerVC needs "
                                     "https://<pvc>:5000/v3" % url)
    return url + "/v3"


def _url_problem(text):
    """Why TEXT is not a usable Keystone URL, or None."""
    if not text or re.search(r"[\s\x00-\x1f\x7f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]", text):
        return "must be a URL without spaces, control or bidi characters"
    parts = urlsplit(text)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        return "must be an http(s) URL with a host, for example https://powervc.example.com:5000/v3"
    try:
        port = parts.port
    except ValueError:
        port = -1
    if port is not None and not 1 <= port <= 65535:
        return "has a port that is not between 1 and 65535: %s" % text.split("//", 1)[1].split("/", 1)[0].rsplit(":", 1)[-1]
    if parts.username or parts.password or parts.query or parts.fragment or "/../" in parts.path + "/" \
            or parts.path.endswith("/.."):
        return "must not carry credentials, a query, a fragment or '..'; give the Keystone base URL"
    return None


def _number(value):
    try:
        return int(float(value)) if value not in (None, "") else None
    except ValueError:
        return None


# keystoneauth logs every request (method, URL, headers) at DEBUG and connection retries at WARNING,
# through loggers named "keystoneauth.*". A module must never print them: tokens hashed or not,
# URLs, bodies. Its loggers stop here (no handler output, no propagation to a root handler).
_KS_LOGGER = logging.getLogger("keystoneauth")
_KS_LOGGER.addHandler(logging.NullHandler())
_KS_LOGGER.propagate = False
_QUIET = logging.getLogger("hybridcloud.migration.powervc.keystoneauth")
_QUIET.addHandler(logging.NullHandler())
_QUIET.propagate = False


# -- the client ------------------------------------------------------------------------------
class PowerVCClient(RestClient):
    """Nova calls of the VSN feature, authenticated by a keystoneauth password plugin."""

    def __init__(self, settings, redactor=None, warn=None, **kwargs):
        if not HAS_KEYSTONEAUTH:
            raise _errors.MigrationError(missing_required_lib("keystoneauth1"))
        auth = settings["auth"]
        self.auth_url = auth["auth_url"]
        self.user = auth.get("username") or auth.get("user_id")
        self.project = auth.get("project_name") or auth.get("project_id")
        self.settings = settings
        self.warn = warn or (lambda message: None)
        redactor = redactor or Redactor()
        redactor.add(auth.get("password"))
        self.plugin = ks_v3.Password(**auth)
        # The 1 h refresh rule is applied once per call (_fresh_token); keystoneauth itself replaces a
        # token only once it has expired or after a 401, not at each internal step of one request.
        self.plugin.MIN_TOKEN_LIFE_SECONDS = 0
        self.token = None
        self._hosts = False  # not read yet; None = not readable
        self._hosts_warned = False
        self._reauth = True
        self._operation = None  # the operation of the call under way, for transport errors
        validate = settings["verify"] is not False
        super().__init__("https://compute.invalid", validate_certs=validate,
                         ca_path=settings["verify"] if isinstance(settings["verify"], str) else None,
                         read_timeout=settings["api_timeout"], redactor=redactor, **kwargs)
        # One requests.Session under keystoneauth's: verify is passed on every request (REQUESTS_CA_BUNDLE
        # cannot undo validate_certs=false).
        self.keystone = ks_session.Session(auth=self.plugin, session=self.session, verify=self.verify,
                                           timeout=settings["api_timeout"], user_agent="hybridcloud.migration",
                                           connect_retries=CONNECT_RETRIES)
        self.adapter = ks_adapter.Adapter(self.keystone, service_type="compute", interface=settings["interface"],
                                          region_name=settings["region_name"], logger=_QUIET)
        self.base_url = self._authenticate().rstrip("/")

    # -- identity ----------------------------------------------------------------------------
    def _keystone(self, call, operation):
        """Run a keystoneauth CALL, turning its exceptions into the collection's typed errors.

        Keystone answering 429 / 5xx is asked again on the client's retry schedule: a token request
        changes nothing on PowerVC, so repeating it is safe.
        """
        delays = self.backoff.delays()
        for attempt in range(self.retries + 1):
            try:
                return call()
            except ks_exceptions.ClientException as exc:
                status = getattr(exc, "http_status", None) if isinstance(exc, ks_exceptions.HttpError) else None
                if status is not None and (status == 429 or status >= 500) and attempt < self.retries:
                    self.clock.sleep(next(delays))
                    continue
                raise self._keystone_failure(exc, operation) from None
        return None  # not reached: the last attempt returns or raises

    def _keystone_failure(self, exc, operation):
        """The collection's typed error for a keystoneauth exception."""
        if isinstance(exc, ks_exceptions.HttpError):
            code, message = _keystone_error(exc)
            cls = _errors.AuthError if exc.http_status in (401, 403) else _errors.ApiError
            return self._error(cls, message or str(exc), operation, "user %s in project %s" % (self.user, self.project),
                               status=exc.http_status, code=code, api_message=message)
        if isinstance(exc, ks_exceptions.SSLError):
            return self._error(_errors.TransportError, "TLS error: %s" % exc, operation, self.auth_url)
        if isinstance(exc, ks_exceptions.ConnectionError):
            return self._error(_errors.TransportError, _transport_message(exc, self.auth_url, "auth.auth_url"),
                               operation, self.auth_url)
        if isinstance(exc, ks_exceptions.EndpointNotFound):
            return self._error(_errors.ApiError, "the token's catalog has no usable compute endpoint: %s" % exc,
                               operation, self.auth_url)
        return self._error(_errors.ApiError, str(exc), operation, self.auth_url)

    def _authenticate(self):
        """A token, and the compute endpoint keystoneauth finds in that token's catalog (one Keystone call)."""
        access = self._keystone(lambda: self.plugin.get_access(self.keystone), OP_TOKEN)
        self._use_token(access.auth_token)
        endpoint = self._keystone(self.adapter.get_endpoint, OP_CATALOG)
        if not endpoint:
            raise _errors.ApiError("the token's catalog has no %s compute endpoint%s" % (
                self.settings["interface"],
                " in region %s" % self.settings["region_name"] if self.settings["region_name"] else ""),
                operation=OP_CATALOG, resource=self.auth_url)
        filled = fill_endpoint_template(endpoint, access.project_id)
        if filled != endpoint:
            # PowerVC registers %(tenant_id)s templates, which the catalog lookup returns as they are:
            # keystoneauth fills %(project_id)s of an endpoint override with the token's project instead.
            self.adapter.endpoint_override = fill_endpoint_template(
                endpoint.replace("%", "%%").replace("%%(", "%("), "%(project_id)s")
        return filled

    def _use_token(self, token):
        if token and token != self.token:
            self.redact.add(token)  # also registered with Ansible's no_log values
            self.token = token

    def _fresh_token(self):
        """The token, replaced first when less than REFRESH_BEFORE is left (the project rule, IBM's advice).

        Checked once per call here rather than through the plugin's MIN_TOKEN_LIFE_SECONDS, which
        keystoneauth consults at every internal step of one request (headers, endpoint) and would
        then fetch a short-lived token several times per call.
        """
        ref = self.plugin.auth_ref
        if ref is not None and ref.will_expire_soon(REFRESH_BEFORE):
            self.plugin.invalidate()
        return self.plugin.get_token(self.keystone)

    def request(self, method, path, *args, **kwargs):
        # A token close to expiry is replaced before the call, with the collection's retries when
        # Keystone answers 429/5xx; keystoneauth then reuses it for the call.
        self._use_token(self._keystone(self._fresh_token, OP_TOKEN))
        self._operation = kwargs.get("operation") or "%s %s" % (method.upper(), path.split("?")[0])
        return super().request(method, path, *args, **kwargs)

    def _send(self, method, path, json_body, data, params, headers, read_timeout):
        """One call through the keystoneauth Adapter: token, endpoint, re-auth after a 401, connect retries.

        Reads get keystoneauth's connection retries; a change gets none there (keystoneauth cannot
        tell a request that never left from one whose answer was lost), and RestClient decides.
        """
        reads = method in IDEMPOTENT_METHODS
        kwargs = {"params": params, "headers": dict(headers or {}), "raise_exc": False, "allow_reauth": self._reauth,
                  "connect_retries": CONNECT_RETRIES if reads else 0,
                  "timeout": (self.timeout[0], read_timeout or self.timeout[1])}
        if json_body is not None:
            kwargs["data"] = json.dumps(json_body)
            kwargs["headers"]["Content-Type"] = "application/json;charset=UTF-8"
        elif data is not None:
            kwargs["data"] = data
        url = path if path.startswith(("http://", "https://")) else path.lstrip("/")
        self.calls += 1
        try:
            raw = self.adapter.request(url, method, **kwargs)
        except ks_exceptions.SSLError as exc:
            # Not transient: a certificate problem does not go away with a retry.
            raise self._error(_errors.TransportError, "TLS error: %s" % exc, self._operation)
        except ks_exceptions.HttpError as exc:  # raised only by a re-authentication inside the call
            raise self._keystone_failure(exc, OP_TOKEN) from None
        except ks_exceptions.EndpointNotFound as exc:
            raise self._keystone_failure(exc, OP_CATALOG) from None
        except ks_exceptions.ConnectionError as exc:
            cause = exc.__context__
            if reads or cause is None:  # keystoneauth already retried it: final
                where = (self.auth_url, "auth.auth_url") if url.startswith(self.auth_url) else (
                    self.base_url, "the compute endpoint of the token's service catalog, chosen by interface and "
                    "region_name")
                raise self._error(_errors.TransportError, _transport_message(exc, *where), self._operation) from None
            raise RetryableTransport(cause, safe=_safe_to_resend(cause)) from None
        finally:
            if self.plugin.auth_ref is not None:  # a token keystoneauth fetched during the call
                self._use_token(self.plugin.auth_ref.auth_token)
        return Response(raw.status_code, raw.headers, decode_body(raw.content), raw.url)

    def unreachable_message(self, exc):
        """A change RestClient gave up resending because nothing listens: the same words as for a read."""
        return _transport_message(exc.cause, self.base_url, "the compute endpoint of the token's service catalog, "
                                  "chosen by interface and region_name")

    def parse_error(self, response):
        """Nova's fault envelope {"badRequest": {"code", "message"}} or Keystone's {"error": {...}}."""
        body = response.body
        if isinstance(body, dict) and len(body) == 1:
            name, inner = next(iter(body.items()))
            if isinstance(inner, dict) and ("message" in inner or "code" in inner):
                if name == "error":
                    return inner.get("title") or inner.get("code"), inner.get("message")
                return name, inner.get("message")
        return super().parse_error(response)

    def close(self):
        """Revoke the token (DELETE /v3/auth/tokens), then close both HTTP sessions."""
        try:
            if self.token:
                self._reauth = False  # a token that is no longer valid needs no new one to be revoked
                RestClient.request(self, "DELETE", self.auth_url + "/auth/tokens",
                                   headers={"X-Subject-Token": self.token}, operation=OP_REVOKE,
                                   resource="this run's token", relogin=False, expect=(401, 404))
        finally:
            self.token = None
            super().close()

    # -- reads -------------------------------------------------------------------------------
    def list_reserved(self):
        """Every reserved VSN (unfiltered: the server's MTMS form for ?host= is unknown; filter locally)."""
        response = self.get(VSN_PATH, operation=OP_LIST_VSNS, resource="the reserved VSNs")
        records, surprising = parse_vsn_list(response.body)
        if surprising:
            self.warn(OP_LIST_VSNS + " answered in an unexpected shape; parsed %d VSN(s) from: %s"
                      % (len(records), self.redact(json.dumps(response.body)[:2000])))
        return records

    def hosts(self, needed=True):
        """The PowerVC hosts from /os-hypervisors/detail (read once per run); None if the user may not read it.

        NEEDED: a host option must be resolved (a non-admin user is warned that only MTMS forms work);
        otherwise the list only puts display names beside host ids, and a refusal is silent.
        """
        if self._hosts is False:
            response = self.get("os-hypervisors/detail", operation=OP_LIST_HOSTS, expect=(403,))
            self._hosts = None if response.status == 403 else hosts_from_hypervisors(response.body)
        if self._hosts is None and needed and not self._hosts_warned:
            self._hosts_warned = True
            self.warn("this user may not list hypervisors (admin only): hosts can be given only as MTMS and "
                      "are not checked before the call")
        return self._hosts

    def list_servers(self):
        """Every server with status and (for admins) host, and its VSN as GET /servers shows it.

        IBM documents the VSN on GET /servers; /servers/detail (status, host) is assumed to carry
        it too, so the VSN fields of the plain list are laid over the detailed one.
        """
        servers = self._all_servers("servers/detail", OP_LIST_SERVERS_DETAIL)
        plain = dict((s.get("id"), s) for s in self._plain_servers())
        for server in servers:
            server.update((k, v) for k, v in plain.get(server.get("id"), {}).items() if k in VSN_FIELDS)
        return servers

    def list_servers_detail(self):
        """Every server with status and (for admins) host, from GET /servers/detail only: what a wait
        for many builds polls (the VSN, documented on GET /servers, is read once the wait is over)."""
        return self._all_servers("servers/detail", OP_LIST_SERVERS_DETAIL)

    def server_vsns(self):
        """{server id: VSN or None} from GET /servers, the list IBM documents the VSN on."""
        return dict((s.get("id"), server_vsn(s)) for s in self._plain_servers())

    def _plain_servers(self):
        return self._all_servers("servers", OP_LIST_SERVERS)

    def _all_servers(self, path, operation):
        """Every page of a server list: Nova stops a page at osapi_max_limit and links the next one
        (``servers_links`` rel=next, with ``marker``); a server missed on a later page would be created twice."""
        servers, params, seen = [], None, set()
        while True:
            body = self.get(path, params=params, operation=operation).body or {}
            page = body.get("servers") or []
            servers.extend(page)
            nxt = next((link.get("href") for link in body.get("servers_links") or []
                        if isinstance(link, dict) and link.get("rel") == "next"), None)
            query = dict((k, v[0]) for k, v in parse_qs(urlsplit(nxt).query).items()) if nxt else {}
            if not page or not query.get("marker") or query["marker"] in seen:
                return servers
            seen.add(query["marker"])
            params = query

    # -- VSN actions ---------------------------------------------------------------------------
    def _vsn_action(self, action, body):
        self.post(VSN_PATH, json_body=body, params={"action": action}, operation=OPERATIONS[action],
                  resource="VSN %s" % body["virtual_serial_number"])

    def reserve(self, vsn, description=None):
        body = {"virtual_serial_number": vsn}
        if description is not None:
            body["description"] = description
        self._vsn_action("reserve", body)

    def update_reservation(self, vsn, description):
        self._vsn_action("update_reservation", {"virtual_serial_number": vsn, "description": description})

    def unreserve(self, vsn):
        self._vsn_action("unreserve", {"virtual_serial_number": vsn})

    def move(self, source, target, vsns, labels=None):
        """One PUT ?action=move with SOURCE and TARGET as given (service.host or HMC form).

        Never repeated here, whatever the answer: after an uncertain one the caller re-reads where
        the VSNs are before anything is sent again (powervc_vsn), and chooses the host form.
        """
        self.put(VSN_PATH, json_body={"move_vsns": {"source_host": source, "target_host": target, "vsns": list(vsns)}},
                 params={"action": "move"}, operation=OP_MOVE,
                 resource="VSNs %s (%s -> %s)" % ((", ".join(vsns),) + tuple(labels or (source, target))))

    def assign(self, server_id, value, label=None):
        self._server_action(server_id, "assign_vsn", {"virtual_serial_number": value}, label)

    def unassign(self, server_id, label=None):
        self._server_action(server_id, "unassign_vsn", None, label)

    def _server_action(self, server_id, action, argument, label=None):
        """POST {ACTION: ARGUMENT}; any 2xx is success. A 409 or 400 may mean the VM is not SHUTOFF."""
        try:
            self.post("servers/%s/action" % quote_segment(server_id), json_body={action: argument},
                      operation=OPERATIONS[action], resource="server %s" % (label or server_id))
        except _errors.ApiError as error:
            if error.status in (400, 409):
                error.message = "%s; %s" % (error.message, STOP_FIRST)
            raise

    # -- server create / delete (powervc_server) ----------------------------------------------
    # Images and networks are read through the compute endpoint (Nova's image and network proxy
    # APIs, served at version 2.1, the version this client speaks); an endpoint that does not
    # serve a listing (404) gives None, and the caller can then only take ids as written.
    def _optional_list(self, path, key, operation):
        response = self.get(path, operation=operation, expect=(404,))
        if response.status == 404:
            return None
        items = (response.body or {}).get(key) if isinstance(response.body, dict) else None
        return items if isinstance(items, list) else []

    def list_images(self):
        """[{"id", "name", ...}] from GET /images/detail (else /images), or None when neither is served."""
        images = self._optional_list("images/detail", "images", OP_LIST_IMAGES)
        return images if images is not None else self._optional_list("images", "images", "GET /images")

    def list_flavors(self):
        """[{"id", "name", "vcpus", "ram", "disk", ...}] from GET /flavors/detail (else /flavors), or None."""
        flavors = self._optional_list("flavors/detail", "flavors", OP_LIST_FLAVORS)
        return flavors if flavors is not None else self._optional_list("flavors", "flavors", "GET /flavors")

    def get_flavor(self, flavor_id):
        """The flavor's details (GET /flavors/{id}), or None when not readable."""
        response = self.get("flavors/%s" % quote_segment(flavor_id), operation=OP_SHOW_FLAVOR,
                            resource="flavor %s" % flavor_id, expect=(403, 404))
        flavor = (response.body or {}).get("flavor") if response.ok and isinstance(response.body, dict) else None
        return flavor if isinstance(flavor, dict) else None

    def flavor_extra_specs(self, flavor_id):
        """The extra specs of a flavor (GET /flavors/{id}/os-extra_specs); {} when not readable."""
        response = self.get("flavors/%s/os-extra_specs" % quote_segment(flavor_id), operation=OP_FLAVOR_SPECS,
                            resource="flavor %s" % flavor_id, expect=(403, 404))
        specs = (response.body or {}).get("extra_specs") if response.ok and isinstance(response.body, dict) else None
        return dict(specs) if isinstance(specs, dict) else {}

    def list_networks(self):
        """[{"id", "name"}] from GET /os-networks (the name is Nova's "label"), or None."""
        items = self._optional_list("os-networks", "networks", OP_LIST_NETWORKS)
        if items is None:
            return None
        return [{"id": n.get("id"), "name": n.get("label") or n.get("name")} for n in items if isinstance(n, dict)]

    def get_server(self, server_id):
        """The raw server (GET /servers/{id}), or None when it does not exist (404)."""
        response = self.get("servers/%s" % quote_segment(server_id), operation=OP_SHOW_SERVER,
                            resource="server %s" % server_id, expect=(404,))
        if response.status == 404:
            return None
        return (response.body or {}).get("server") if isinstance(response.body, dict) else None

    def create_server(self, server):
        """POST /servers {"server": SERVER}; the answer's server (id, links). adminPass is masked, never returned.

        Not retried: a create whose answer was lost may have happened; the caller looks the
        server up by name instead of sending it again.
        """
        response = self.post("servers", json_body={"server": server}, operation=OP_CREATE_SERVER,
                             resource="server %s" % server.get("name"), idempotent=False)
        created = (response.body or {}).get("server") if isinstance(response.body, dict) else None
        created = dict(created) if isinstance(created, dict) else {}
        # Dropped here, never echoed; masked in this client's errors, not added to Ansible's no_log values:
        # one per created VM would make the result's masking pass O(VMs squared) on a wave.
        self.redact.add(created.pop("adminPass", None), announce=False)
        return created

    def delete_server(self, server_id, name=None):
        """DELETE /servers/{id}; True when sent, False when the server was already gone (404).

        Sent once: after an uncertain answer the caller reads the server back instead of resending.
        """
        response = self.delete("servers/%s" % quote_segment(server_id), operation=OP_DELETE_SERVER,
                               resource="server %s" % (name or server_id), expect=(404,), once=True)
        return response.status != 404


def _safe_to_resend(cause):
    """True when the requests exception CAUSE says the request certainly never reached the server."""
    import requests  # pylint: disable=import-outside-toplevel  # present: RestClient requires it
    if isinstance(cause, requests.exceptions.ConnectTimeout):
        return True
    if isinstance(cause, requests.exceptions.ReadTimeout):
        return False
    return never_sent(cause)


def _transport_message(exc, url, option):
    """What a connection failure says: 'host:port: connection refused (check OPTION ...)' when nothing listens."""
    cause = exc.__context__ if getattr(exc, "__context__", None) is not None else exc
    endpoint = urlsplit(url).netloc
    if unresolvable(cause):
        return "%s: cannot resolve the host name (check %s)" % (endpoint, option)
    if "Connection refused" in str(cause):
        return "%s: connection refused (check the host and port in %s; nothing answers there)" % (endpoint, option)
    return "%s: %s" % (endpoint, exc)


def _keystone_error(exc):
    """(code, message) from a keystoneauth HttpError's response body (Keystone's error format)."""
    response = getattr(exc, "response", None)
    try:
        body = response.json() if response is not None else None
    except ValueError:
        body = None
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        return error.get("title") or error.get("code"), error.get("message")
    return None, getattr(exc, "message", None)


def open_client(module):
    settings = connection_settings(module.params)
    return PowerVCClient(settings, redactor=Redactor(on_secret=module.register_secret), warn=module.warn)


CONNECTION = Connection(ARGUMENT_SPEC, open_client, ranges={"api_timeout": (1, None)})


class BatchBackoff(PollBackoff):
    """``poll_backoff()`` for one poller watching many jobs: ``restart()`` when a job starts, so that a
    job started late in a long wait is polled as closely as one started at the beginning."""

    def __init__(self):
        super().__init__(maximum=POLL_MAXIMUM)
        self.fresh = False

    def restart(self):
        self.fresh = True

    def delays(self):
        delay, waited = None, 0.0
        while True:
            if self.fresh:
                delay, waited, self.fresh = None, 0.0, False
            delay = next_poll_delay(delay, waited, self.initial, self.factor, self.maximum, self.ratio)
            waited += delay
            yield delay


# -- for the wave_plan inventory plugin (no module: the same OS_* variables, read directly) ------
def settings_from_environment(environ):
    """connection_settings() from the OS_* variables (or OS_CLOUD) alone, as a module without options gets them."""
    params = {"cloud": environ.get("OS_CLOUD") or None, "region_name": environ.get("OS_REGION_NAME") or None,
              "interface": environ.get("OS_INTERFACE") or None, "ca_cert": environ.get("OS_CACERT") or None}
    return connection_settings(params, environ)


def locate_servers(client, refs):
    """{ref: [{"id", "name", "location"}]} for REFS (server names or ids), location the server's host
    (``OS-EXT-SRV-ATTR:host``, admin only): ONE read of GET /servers/detail (paged)."""
    refs = set(refs)
    found = {}
    for server in client.list_servers_detail():
        for ref in set([server.get("name"), server.get("id")]) & refs:
            found.setdefault(ref, []).append({"id": server.get("id"), "name": server.get("name"),
                                              "location": server.get("OS-EXT-SRV-ATTR:host")})
    return found
