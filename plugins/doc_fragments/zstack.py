# -*- coding: utf-8 -*-
# Copyright: (c) 2026, hybridcloud.migration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Connection options of the ZStack modules; 1:1 with zstack_argument_spec() in module_utils/zstack.py."""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  hostname:
    description:
      - Address (name or IP) of the ZStack management node; no scheme, port, path or user.
      - If not set, the value of the E(ZSTACK_HOST) environment variable is used.
    type: str
    required: true
  port:
    description:
      - Port of the ZStack REST API (1-65535).
      - If not set, the value of the E(ZSTACK_PORT) environment variable is used.
    type: int
    default: 8080
  protocol:
    description:
      - V(http) (the ZStack default) or V(https), for a management node behind a TLS proxy.
      - If not set, the value of the E(ZSTACK_PROTOCOL) environment variable is used.
    type: str
    choices: [http, https]
    default: http
  username:
    description:
      - ZStack account to log in with (C(LogInByAccount), for example V(admin)). Requires O(password).
      - Give O(username) and O(password), or O(access_key_id) and O(access_key_secret); one of the two
        is required, and giving both fails naming them rather than pick one (also when one comes from
        an environment variable or C(module_defaults)).
      - The module logs in once, reuses the session for all its calls, logs in again once if
        the session expires, and logs out at the end.
      - If not set, the value of the E(ZSTACK_USERNAME) environment variable is used. An empty
        variable counts as not set, as for the other three login options (AWX injects empty strings
        for credential fields left blank).
    type: str
  password:
    description:
      - Password of O(username). Only its SHA-512 hash is sent, as ZStack expects.
      - If not set, the value of the E(ZSTACK_PASSWORD) environment variable is used.
    type: str
  access_key_id:
    description:
      - "AccessKey id, to sign each call (C(Authorization: ZStack <id>:<signature>), HMAC-SHA1 over
        method, date and path as the ZStack Java SDK does) instead of logging in. Requires O(access_key_secret)."
      - Mutually exclusive with O(username) and O(password).
      - If not set, the value of the E(ZSTACK_ACCESS_KEY_ID) environment variable is used.
    type: str
  access_key_secret:
    description:
      - AccessKey secret belonging to O(access_key_id).
      - If not set, the value of the E(ZSTACK_ACCESS_KEY_SECRET) environment variable is used.
    type: str
  validate_certs:
    description:
      - Verify the server certificate when O(protocol=https). Set to V(false) only for test systems;
        with a private CA, give O(ca_cert) instead.
      - If not set, the value of the E(ZSTACK_VALIDATE_CERTS) environment variable is used.
    type: bool
    default: true
  ca_cert:
    description:
      - PEM file of the CA(s) that signed the server certificate, for O(protocol=https).
      - If not set, the value of the E(ZSTACK_CA_CERT) environment variable is used.
    type: path
notes:
  - ZStack answers every mutating call asynchronously. The modules send their own C(X-Job-UUID)
    with each such call. When its answer is lost, they ask ZStack for that api-job before anything
    else and resend (with the same C(X-Job-UUID)) only when ZStack never received the call.
  - The job location ZStack returns names the management node's own address; the modules poll
    the job at O(hostname) and O(port) instead, so they also work through NAT or a proxy.
  - A running job is polled 0.5 seconds after it starts, then at intervals that double, never more
    than 10% of the time waited so far nor more than 15 seconds (a 5-second job is noticed at most
    about a second late, a long one at most 10% late).
"""
