# -*- coding: utf-8 -*-
# Copyright: (c) 2026, hybridcloud.migration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The one REST client every platform client extends.

It owns: the base URL, one ``requests.Session`` per module run, JSON in and out (also JSON
served as text/plain), separate connect and read timeouts, bounded retries with backoff and
jitter, TLS verification passed on every request, typed errors, one re-login on an expired
session, and redaction of secrets from every message it produces.

Platforms customise it through a few hooks: ``parse_error`` (the API's error body),
``is_retryable`` (which answers mean "try again later"), ``is_session_expired`` and ``login``.
"""

from __future__ import annotations

import json
import re
from urllib.parse import quote, quote_plus, urlsplit

try:
    import requests
    from requests.exceptions import ConnectionError as RequestsConnectionError
    from requests.exceptions import ConnectTimeout, ReadTimeout, SSLError
    HAS_REQUESTS = True
    REQUESTS_IMPORT_ERROR = None
except ImportError as exc:  # reported by the module base with missing_required_lib
    HAS_REQUESTS = False
    REQUESTS_IMPORT_ERROR = exc

from ansible_collections.hybridcloud.migration.plugins.module_utils import _errors
from ansible_collections.hybridcloud.migration.plugins.module_utils._polling import Backoff, Clock

MASK = "********"
RETRY_AFTER_CAP = 60.0  # seconds; a server asking for longer is treated as "give up"
# A refused or unresolvable connection: a service restarting comes back within seconds, a wrong
# host or port never does. About 3 s of retries, then a clear error instead of a minute of backoff.
UNREACHABLE_RETRY_DELAYS = (0.25, 0.5, 1.0, 1.25)
IDEMPOTENT_METHODS = frozenset(("GET", "HEAD", "OPTIONS"))

# Secrets that travel in well-known places: masked even when the client was never told the value.
_SECRET_PATTERNS = [
    re.compile(r"(?i)(\b(?:authorization|x-auth-token|x-subject-token|x-xsrf-token|vmware-api-session-id|cookie|set-cookie)"
               r"[\"']?\s*[:=]\s*[\"']?)([^\"',;\r\n}]+)"),
    re.compile(r"(?i)(\b(?:j_password|password|passwd|sshPrivKey|secret|token|JSESSIONID)[\"']?\s*[:=]\s*[\"']?)([^\"'&,;\s}]+)"),
]


# A PEM private key, raw (real newlines), JSON-escaped (backslash-n) or URL-encoded (%20 or + for
# spaces), whatever label it carries: servers echo keys they were given (ZStack's V2V sshPrivKey).
_PEM_SPACE = r"(?: |%20|\+)"
_PEM_LABEL = r"(?:[A-Z0-9]+{0})*PRIVATE{0}KEY-----".format(_PEM_SPACE)
_PEM_PRIVATE_KEY = re.compile(r"-----BEGIN{0}{1}.*?(?:-----END{0}{1}|\Z)".format(_PEM_SPACE, _PEM_LABEL), re.DOTALL)


def quote_segment(value):
    """VALUE as one URL path segment: '/', '..', '?', '&', '#', '%' can never change the request's meaning."""
    return quote(str(value), safe="")


def echoed_forms(value):
    """The ways a server can echo VALUE back: raw, JSON-escaped (inside a string), URL-encoded."""
    forms = {value, json.dumps(value)[1:-1], quote(value, safe=""), quote_plus(value)}
    forms.add(json.dumps(json.dumps(value)[1:-1])[1:-1])  # JSON inside JSON (a body quoted in a message)
    return forms


class Redactor:
    """Masks known secret values, in every form they can be echoed, and secret-looking fields in any text."""

    def __init__(self, secrets=(), on_secret=None):
        self.secrets = set()
        self.on_secret = on_secret
        for value in secrets:
            self.add(value)

    def add(self, value, announce=True):
        """Remember VALUE (a password, token, session id) as secret from now on.

        ANNOUNCE false: masked in what this client reports only, not passed to ON_SECRET - for values
        never echoed (dropped on receipt) and learnt once per object (each of Ansible's no_log values
        costs one pass over the whole module result).
        """
        if value is None:
            return
        value = str(value)
        if len(value) < 4:  # masking "a" everywhere would destroy every message
            return
        for form in echoed_forms(value):
            if form not in self.secrets:
                self.secrets.add(form)
                if self.on_secret and announce:  # e.g. Ansible's no_log_values: masked in -vvvv output too
                    self.on_secret(form)

    def __call__(self, text):
        if text is None:
            return None
        text = str(text)
        text = _PEM_PRIVATE_KEY.sub(MASK, text)
        for secret in sorted(self.secrets, key=len, reverse=True):
            text = text.replace(secret, MASK)
        for pattern in _SECRET_PATTERNS:
            text = pattern.sub(lambda m: m.group(1) + MASK, text)
        return text


class Response:
    """What a call returns: status, headers, the decoded body (JSON, text or None)."""

    def __init__(self, status, headers, body, url):
        self.status = status
        self.headers = headers
        self.body = body
        self.url = url

    @property
    def ok(self):
        return 200 <= self.status < 300


def decode_body(raw, content_type=""):
    """JSON whatever the Content-Type says (vcsim serves JSON as text/plain); else the text; '' -> None."""
    if not raw:
        return None
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    if not text.strip():
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


class RestClient:
    """Base REST client. One instance per module run; call ``close()`` at the end."""

    # "Try again later": reads (idempotent calls) are resent on these. A change is resent only when
    # is_retryable() says the server refused it before doing anything (429, or a platform's documented
    # "busy" codes): a 503 may come from a proxy after the work was done, so the caller re-reads the
    # real state instead of sending the change twice.
    retry_statuses = frozenset((429, 503))
    refused_statuses = frozenset((429,))
    error_class_by_status = {401: _errors.AuthError, 403: _errors.AuthError, 404: _errors.NotFoundError,
                             409: _errors.ConflictError}

    def __init__(self, base_url, validate_certs=True, ca_path=None, connect_timeout=10.0, read_timeout=60.0,
                 retries=5, backoff=None, clock=None, redactor=None, headers=None, user_agent=None, proxies=None):
        if not HAS_REQUESTS:
            raise _errors.MigrationError("the Python library 'requests' is required: %s" % REQUESTS_IMPORT_ERROR)
        self.base_url = base_url.rstrip("/")
        # verify goes on every request: a Session-wide 'no verification' loses to REQUESTS_CA_BUNDLE.
        self.verify = (ca_path or True) if validate_certs else False
        if not validate_certs:
            # The user chose this; urllib3's per-request warning would only add noise.
            requests.packages.urllib3.disable_warnings(requests.packages.urllib3.exceptions.InsecureRequestWarning)
        self.timeout = (connect_timeout, read_timeout)
        self.retries = retries
        self.backoff = backoff or Backoff(initial=1.0, factor=2.0, maximum=30.0, jitter=0.2)
        self.clock = clock or Clock()
        self.redact = redactor or Redactor()
        self.session = requests.Session()
        self.session.headers.update({"Accept": "application/json",
                                     "User-Agent": user_agent or "hybridcloud.migration"})
        self.session.headers.update(headers or {})
        self.calls = 0  # HTTP requests sent, for benchmarks and tests
        self._relogging = False
        # {"https": "http://proxy:3128"}: given on every request, so it wins over HTTPS_PROXY / NO_PROXY.
        self.proxies = dict(proxies) if proxies else None

    # -- hooks for platform clients --------------------------------------------------------
    def parse_error(self, response):
        """Return (code, message) from an error response; platforms know their error bodies."""
        body = response.body
        if isinstance(body, dict):
            return body.get("code") or body.get("error_code"), body.get("message") or body.get("error_message")
        return None, body if isinstance(body, str) else None

    def is_retryable(self, response):
        """True when RESPONSE says the server did nothing, so that any call, a change too, may be resent."""
        return response.status in self.refused_statuses

    def is_session_expired(self, response):
        """True when RESPONSE means the session or token is no longer valid (then: login, repeat once)."""
        return False

    def login(self):
        """(Re)establish the session. Platforms with sessions override it."""
        raise NotImplementedError

    # -- calls -------------------------------------------------------------------------------
    def url(self, path):
        if path.startswith("http://") or path.startswith("https://"):
            return path
        return "%s/%s" % (self.base_url, path.lstrip("/"))

    def request(self, method, path, json_body=None, data=None, params=None, headers=None, operation=None,
                resource=None, idempotent=None, read_timeout=None, expect=None, relogin=True, once=False):
        """Send one call; return a Response or raise a typed error.

        ``idempotent`` (default: GET/HEAD/OPTIONS) allows a retry after the request may have
        reached the server (connection reset, read timeout). ``once``: never resent on any answer
        (not even 429), only when it certainly never reached the server; for calls whose repeat would
        do the work twice, where the caller looks for the result instead. ``expect`` lists statuses
        that are not errors besides 2xx (e.g. 404 for "look up, may be absent").
        """
        method = method.upper()
        operation = operation or "%s %s" % (method, path.split("?")[0])
        idempotent = method in IDEMPOTENT_METHODS if idempotent is None else idempotent
        delays = self.backoff.delays()
        unreachable_delays = iter(UNREACHABLE_RETRY_DELAYS[:self.retries])
        attempt = 0
        while True:
            attempt += 1
            try:
                response = self._send(method, path, json_body, data, params, headers, read_timeout)
            except RetryableTransport as exc:
                if exc.unreachable:
                    delay = next(unreachable_delays, None)
                    if delay is not None:
                        self.clock.sleep(delay)
                        continue
                    raise self._error(_errors.TransportError, self.unreachable_message(exc), operation, resource)
                if (exc.safe or idempotent) and attempt <= self.retries:
                    self.clock.sleep(next(delays))
                    continue
                raise self._error(_errors.TransportError, str(exc.cause), operation, resource)
            if response.ok or (expect and response.status in expect):
                return response
            if not once and attempt <= self.retries and (self.is_retryable(response)
                                                         or (idempotent and response.status in self.retry_statuses)):
                self.clock.sleep(self._retry_after(response) or next(delays))
                continue
            if relogin and not self._relogging and self.is_session_expired(response):
                self._relogging = True
                try:
                    self.login()
                finally:
                    self._relogging = False
                return self.request(method, path, json_body, data, params, headers, operation, resource,
                                    idempotent, read_timeout, expect, relogin=False, once=once)
            raise self.error_from(response, operation, resource)

    def _send(self, method, path, json_body, data, params, headers, read_timeout):
        kwargs = {"params": params, "headers": headers, "verify": self.verify,
                  "timeout": (self.timeout[0], read_timeout or self.timeout[1])}
        if json_body is not None:
            kwargs["data"] = json.dumps(json_body)
            kwargs["headers"] = dict(headers or {}, **{"Content-Type": "application/json;charset=UTF-8"})
        elif data is not None:
            kwargs["data"] = data
        if self.proxies:
            kwargs["proxies"] = self.proxies
        self.calls += 1
        try:
            raw = self.session.request(method, self.url(path), **kwargs)
        except SSLError as exc:
            # Not transient: a certificate problem does not go away with a retry.
            raise self._error(_errors.TransportError, "TLS error: %s" % exc, "%s %s" % (method, path.split("?")[0]))
        except ConnectTimeout as exc:
            raise RetryableTransport(exc, safe=True)
        except ReadTimeout as exc:
            raise RetryableTransport(exc, safe=False)
        except RequestsConnectionError as exc:
            # Refused before sending is safe to repeat; a reset after sending may have done the work.
            raise RetryableTransport(exc, safe=never_sent(exc))
        return Response(raw.status_code, raw.headers, decode_body(raw.content), raw.url)

    # The options that say where the endpoint is, named in "nothing answers there" (a subclass for
    # an endpoint with prefixed options names its own, e.g. nsx_hostname and nsx_port).
    endpoint_options = ("hostname", "port")

    def unreachable_message(self, exc):
        endpoint = urlsplit(self.base_url).netloc
        reason = "cannot resolve the host name" if unresolvable(exc.cause) else "connection refused"
        return ("%s: %s (check the %s options; nothing answers there)" % (endpoint, reason, " and ".join(self.endpoint_options)))

    def _retry_after(self, response):
        value = response.headers.get("Retry-After") if response.headers else None
        try:
            return min(float(value), RETRY_AFTER_CAP) if value else None
        except ValueError:
            return None

    def error_from(self, response, operation, resource=None):
        """The typed error for an error RESPONSE, with the API's own code and message."""
        code, message = self.parse_error(response)
        cls = self.error_class_by_status.get(response.status, _errors.ApiError)
        text = message or (response.body if isinstance(response.body, str) else None) or "HTTP %s" % response.status
        return self._error(cls, text, operation, resource, status=response.status, code=code, api_message=message,
                           details=response.body if isinstance(response.body, (dict, list)) else None)

    def _error(self, cls, message, operation, resource=None, status=None, code=None, api_message=None, details=None):
        details = json.loads(self.redact(json.dumps(details))) if details is not None else None
        return cls(self.redact(message), operation=self.redact(operation), resource=self.redact(resource),
                   status=status, code=code, api_message=self.redact(api_message), details=details)

    # -- shorthands ----------------------------------------------------------------------------
    def get(self, path, **kwargs):
        return self.request("GET", path, **kwargs)

    def post(self, path, json_body=None, **kwargs):
        return self.request("POST", path, json_body=json_body, **kwargs)

    def put(self, path, json_body=None, **kwargs):
        return self.request("PUT", path, json_body=json_body, **kwargs)

    def delete(self, path, **kwargs):
        return self.request("DELETE", path, **kwargs)

    def close(self):
        self.session.close()


class RetryableTransport(Exception):
    """A transport failure; ``safe`` when the request certainly never reached the server.

    ``unreachable``: refused or unresolvable, i.e. nothing listens there (a wrong host or port, or a
    service restarting); retried only briefly.
    """

    def __init__(self, cause, safe):
        super().__init__(str(cause))
        self.cause = cause
        self.safe = safe
        self.unreachable = safe and isinstance(cause, RequestsConnectionError) and not isinstance(cause, ConnectTimeout) \
            and (unresolvable(cause) or _REFUSED in str(cause))


_REFUSED = "Connection refused"
_UNRESOLVABLE_MARKERS = ("Name or service not known", "nodename nor servname", "Temporary failure in name resolution",
                         "No address associated with hostname", "getaddrinfo failed")
_NEVER_SENT_MARKERS = ("Connection refused", "NewConnectionError", "Name or service not known",
                       "Failed to establish a new connection")


def never_sent(exc):
    text = str(exc)
    return any(marker in text for marker in _NEVER_SENT_MARKERS + _UNRESOLVABLE_MARKERS)


def unresolvable(exc):
    text = str(exc)
    return any(marker in text for marker in _UNRESOLVABLE_MARKERS)
