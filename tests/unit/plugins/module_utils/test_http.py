"""The shared REST client against a real local HTTPS server with a throw-away CA."""

import json
import time

import pytest

from ansible_collections.hybridcloud.migration.plugins.module_utils import _errors
from ansible_collections.hybridcloud.migration.plugins.module_utils._http import Redactor, RestClient, decode_body, quote_segment
from ansible_collections.hybridcloud.migration.plugins.module_utils._polling import Backoff, FakeClock
from tests.emulators._server import Fault, json_response, text_response
from tests.unit.scripted_server import ScriptedServer, scripted_fixtures

SECRET = "s3cr3t-Pa55"


server, scripted = scripted_fixtures(ScriptedServer)


def client(server, **kwargs):
    kwargs.setdefault("ca_path", server.ca_path)
    kwargs.setdefault("backoff", Backoff(initial=0.01, factor=2, maximum=0.05, jitter=0))
    return RestClient(server.url, **kwargs)


# -- TLS -----------------------------------------------------------------------------------------
def test_verification_is_on_by_default_and_fails_for_an_unknown_ca(server, scripted, monkeypatch):
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    with pytest.raises(_errors.TransportError) as info:
        RestClient(server.url).get("/x")
    assert "TLS" in str(info.value) or "certificate" in str(info.value).lower()


def test_ca_path_makes_verification_succeed(server, scripted):
    assert client(server).get("/x").body == {"ok": True}


def test_validate_certs_false_wins_over_requests_ca_bundle(server, scripted, monkeypatch, tmp_path):
    # requests lets REQUESTS_CA_BUNDLE override a Session's verify=False; the client must not.
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt")
    assert RestClient(server.url, validate_certs=False).get("/x").status == 200


def test_requests_ca_bundle_alone_does_not_trust_the_test_ca(server, scripted, monkeypatch):
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt")
    with pytest.raises(_errors.TransportError):
        RestClient(server.url, validate_certs=True).get("/x")


# -- bodies --------------------------------------------------------------------------------------
def test_json_served_as_text_plain_is_decoded(server, scripted):
    scripted.script["/plain"] = [text_response(200, '{"value": [1, 2]}')]
    assert client(server).get("/plain").body == {"value": [1, 2]}


def test_json_request_body_and_content_type(server, scripted):
    client(server).post("/in", {"a": 1}, expect=None)
    method, path, query, headers, body = scripted.seen[-1]
    assert body == {"a": 1}
    assert headers["Content-Type"].startswith("application/json")


@pytest.mark.parametrize("raw,expected", [(b"", None), (b"  ", None), (b"null", None), (b"plain words", "plain words"),
                                          (b'"tok"', "tok"), (b"[]", [])])
def test_decode_body(raw, expected):
    assert decode_body(raw) == expected


# -- retries -------------------------------------------------------------------------------------
def test_get_is_retried_on_503_then_succeeds(server, scripted):
    scripted.script["/flaky"] = [text_response(503, "busy"), text_response(503, "busy"), json_response(200, {"n": 3})]
    c = client(server)
    assert c.get("/flaky").body == {"n": 3}
    assert c.calls == 3


def test_429_with_retry_after_is_honoured(server, scripted):
    scripted.script["/limited"] = [text_response(429, "slow down", headers={"Retry-After": "0.2"}), json_response(200, {})]
    clock = FakeClock()
    client(server, clock=clock).get("/limited")
    assert clock.sleeps == [0.2]


def test_retries_are_bounded(server, scripted):
    scripted.script["/down"] = [text_response(503, "down")]
    c = client(server, retries=2)
    with pytest.raises(_errors.ApiError) as info:
        c.get("/down")
    assert c.calls == 3 and info.value.status == 503


def test_post_is_not_resent_after_a_lost_response(server, scripted):
    # The server did the work and then dropped the connection: resending could do it twice.
    server.emulator.faults = []
    server.emulator.faults.append(Fault({"method": "POST", "path": "/create", "drop": True, "after": True}))
    c = client(server)
    with pytest.raises(_errors.TransportError):
        c.post("/create", {"name": "vm1"})
    assert c.calls == 1
    assert len(scripted.calls("POST", "/create")) == 1


def test_get_is_resent_after_a_dropped_connection(server, scripted):
    server.emulator.faults.append(Fault({"method": "GET", "path": "/drop", "drop": True}))
    c = client(server)
    assert c.get("/drop").status == 200
    assert c.calls == 2


def test_post_is_retried_on_429_because_the_server_refused_it(server, scripted):
    scripted.script["/busy"] = [text_response(429, "slow down"), json_response(201, {"id": 1})]
    assert client(server).post("/busy", {}).body == {"id": 1}


def test_post_is_not_resent_after_a_503_that_may_follow_the_work(server, scripted):
    scripted.script["/busy"] = [text_response(503, "proxy gave up"), json_response(201, {"id": 1})]
    c = client(server)
    with pytest.raises(_errors.ApiError) as info:
        c.post("/busy", {})
    assert info.value.status == 503 and c.calls == 1  # the caller re-reads the state instead


@pytest.mark.parametrize("status", [429, 503])
def test_a_call_sent_once_is_never_resent_on_any_answer(server, scripted, status):
    scripted.script["/deploy"] = [text_response(status, "busy"), json_response(201, {"id": 1})]
    c = client(server)
    with pytest.raises(_errors.ApiError):
        c.post("/deploy", {}, once=True)
    assert c.calls == 1


def test_a_post_declared_idempotent_is_resent_after_a_503(server, scripted):
    scripted.script["/busy"] = [text_response(503, "busy"), json_response(201, {"id": 1})]
    assert client(server).post("/busy", {}, idempotent=True).body == {"id": 1}


def test_connection_refused_is_retried_even_for_post():
    clock = FakeClock()
    c = RestClient("https://127.0.0.1:9", retries=2, backoff=Backoff(0.01, 1, 0.01, 0), clock=clock)
    with pytest.raises(_errors.TransportError):
        c.post("/x", {})
    assert c.calls == 3


def test_connection_refused_fails_within_seconds_naming_the_endpoint():
    clock = FakeClock()
    c = RestClient("https://127.0.0.1:9", clock=clock)  # default retries: a minute of backoff otherwise
    with pytest.raises(_errors.TransportError) as info:
        c.get("/api/session")
    assert sum(clock.sleeps) <= 3.5 and c.calls == 5
    assert "127.0.0.1:9: connection refused (check the hostname and port options" in str(info.value)
    assert str(info.value).startswith("GET /api/session failed")


def test_an_unresolvable_host_fails_within_seconds_naming_it(monkeypatch):
    import socket

    def no_dns(*args, **kwargs):  # no real lookup: tests never talk to anything but 127.0.0.1
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_dns)
    clock = FakeClock()
    c = RestClient("https://no-such-host.invalid:8443", clock=clock)
    with pytest.raises(_errors.TransportError) as info:
        c.get("/x")
    assert sum(clock.sleeps) <= 3.5
    assert "no-such-host.invalid:8443: cannot resolve the host name" in str(info.value)


def test_non_retryable_error_fails_at_once(server, scripted):
    scripted.script["/bad"] = [json_response(400, {"code": "E1", "message": "bad field"})]
    c = client(server)
    with pytest.raises(_errors.ApiError) as info:
        c.put("/bad", {}, operation="Update thing", resource="thing-1")
    assert c.calls == 1
    err = info.value
    assert (err.status, err.code, err.api_message) == (400, "E1", "bad field")
    assert str(err) == "Update thing on thing-1 failed: bad field (HTTP 400; error code E1)"


@pytest.mark.parametrize("status,cls", [(401, _errors.AuthError), (403, _errors.AuthError), (404, _errors.NotFoundError),
                                        (409, _errors.ConflictError), (500, _errors.ApiError)])
def test_status_maps_to_typed_error(server, scripted, status, cls):
    scripted.script["/e"] = [text_response(status, "nope")]
    with pytest.raises(cls):
        client(server).get("/e")


def test_expected_status_is_not_an_error(server, scripted):
    scripted.script["/maybe"] = [text_response(404, "absent")]
    assert client(server).get("/maybe", expect=(404,)).status == 404


# -- timeouts ------------------------------------------------------------------------------------
def test_read_timeout_is_separate_and_reported(server, scripted):
    scripted.script["/slow"] = [lambda request: (time.sleep(0.5), json_response(200, {}))[1]]
    c = client(server, read_timeout=0.1, retries=0)
    start = time.monotonic()
    with pytest.raises(_errors.TransportError) as info:
        c.post("/slow", {})
    assert time.monotonic() - start < 0.45
    assert "timed out" in str(info.value).lower()
    assert client(server, read_timeout=5).post("/slow", {}, read_timeout=2).status == 200


def test_connect_timeout_applies_to_unreachable_hosts():
    # 127.0.0.1 with a closed port refuses at once; the connect timeout bounds slow handshakes.
    c = RestClient("https://127.0.0.1:9", connect_timeout=0.5, retries=0)
    assert c.timeout[0] == 0.5
    with pytest.raises(_errors.TransportError):
        c.get("/x")


# -- session renewal -----------------------------------------------------------------------------
class Renewing(RestClient):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.logins = 0

    def is_session_expired(self, response):
        return response.status == 401

    def login(self):
        self.logins += 1
        self.session.headers["X-Token"] = "fresh-token-%d" % self.logins


def test_expired_session_is_renewed_once_and_the_call_repeated(server, scripted):
    def needs_token(request):
        if request.headers.get("X-Token", "").startswith("fresh"):
            return json_response(200, {"ok": 1})
        return text_response(401, "expired")

    scripted.script["/auth"] = [needs_token]
    r = Renewing(server.url, ca_path=server.ca_path)
    assert r.get("/auth").body == {"ok": 1} and r.logins == 1


def test_session_renewal_is_not_repeated_forever(server, scripted):
    scripted.script["/never"] = [text_response(401, "expired")]
    r = Renewing(server.url, ca_path=server.ca_path)
    with pytest.raises(_errors.AuthError):
        r.get("/never")
    assert r.logins == 1


# -- redaction -----------------------------------------------------------------------------------
def test_redactor_masks_known_values_and_secret_fields():
    seen = []
    redact = Redactor([SECRET, "ab"], on_secret=seen.append)
    text = redact('login with %s failed; {"password": "other1234", "X-Auth-Token": "gAAAAtok"} '
                  'Cookie: JSESSIONID=abc123; j_password=pw999' % SECRET)
    for secret in (SECRET, "other1234", "gAAAAtok", "abc123", "pw999"):
        assert secret not in text
    assert seen == [SECRET]  # too-short values are not registered


def test_redactor_masks_an_unannounced_secret_without_telling_ansible():
    seen = []
    redact = Redactor([SECRET], on_secret=seen.append)
    redact.add("Admin-Pass-0123456789", announce=False)  # e.g. a new VM's password, dropped on receipt
    assert "Admin-Pass-0123456789" not in redact("echo Admin-Pass-0123456789")
    assert seen == [SECRET]


def test_api_error_text_never_carries_a_secret(server, scripted):
    scripted.script["/echo"] = [json_response(400, {"code": "E", "message": "bad password %s for user" % SECRET})]
    c = client(server, redactor=Redactor([SECRET]))
    with pytest.raises(_errors.ApiError) as info:
        c.post("/echo", {"password": SECRET})
    assert SECRET not in str(info.value)
    assert SECRET not in json.dumps(info.value.details)


def test_redactor_masks_every_echoed_form_of_a_secret():
    secret = 'p@ss "w/rd"&100%\\x'
    seen = []
    redact = Redactor([secret], on_secret=seen.append)
    echoes = [
        "raw: %s" % secret,
        "json: %s" % json.dumps({"password": secret}),
        "json in json: %s" % json.dumps(json.dumps({"pw": secret})),
        "url: https://h/login?u=a&pw=%s" % __import__("urllib.parse").parse.quote(secret, safe=""),
        "form: pw=%s" % __import__("urllib.parse").parse.quote_plus(secret),
    ]
    for echo in echoes:
        masked = redact(echo)
        assert "w/rd" not in masked and "100%" not in masked, masked
    assert secret in seen and len(seen) >= 3  # every form goes to Ansible's no_log values too


@pytest.mark.parametrize("plus", [False, True])
def test_redactor_masks_url_encoded_pem_private_keys(plus):
    from urllib.parse import quote, quote_plus
    key = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAsecret\n-----END OPENSSH PRIVATE KEY-----"
    text = "url=ssh://host?key=%s&x=1" % (quote_plus(key) if plus else quote(key, safe=""))
    masked = Redactor()(text)
    assert "b3BlbnNzaC1rZXktdjEAsecret" not in masked and masked.startswith("url=ssh://host?key=")


@pytest.mark.parametrize("escaped", [False, True])
def test_redactor_masks_pem_private_keys_raw_and_json_escaped(escaped):
    key = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAsecretkeymaterial\nQWERTYsecond\n-----END RSA PRIVATE KEY-----"
    body = {"error": {"code": "SYS.1006", "details": {"sshPrivKey": key, "host": "10.0.0.1"}}}
    text = json.dumps(body) if escaped else "key was %s and host 10.0.0.1" % key
    masked = Redactor()(text)
    assert "secretkeymaterial" not in masked and "QWERTYsecond" not in masked
    assert "10.0.0.1" in masked and "SYS.1006" in masked or not escaped


@pytest.mark.parametrize("value,expected", [
    ("web-01", "web-01"), ("a/../b", "a%2F..%2Fb"), ("x?action=delete&y=1", "x%3Faction%3Ddelete%26y%3D1"),
    ("..", ".."), ("50%", "50%25"), ("a b#c", "a%20b%23c"),
])
def test_quote_segment_keeps_a_value_inside_one_path_segment(value, expected):
    assert quote_segment(value) == expected
    assert "/" not in quote_segment(value) and "?" not in quote_segment(value)
