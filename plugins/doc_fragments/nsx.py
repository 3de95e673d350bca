# -*- coding: utf-8 -*-
# Copyright: (c) 2026, hybridcloud.migration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""NSX-T Manager connection options: 1:1 with ``NSX_ARGSPEC`` in module_utils/nsx.py."""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  nsx_hostname:
    description:
      - The NSX Manager (or its cluster VIP) host name or IP address, or a URL such as V(https://nsx.example.com:8443).
      - Use the address of one Manager node with O(nsx_auth=session) if the VIP is not sticky, since a session is bound to the node that created it.
      - If not set, the value of the E(NSX_HOST) environment variable is used.
    type: str
    required: true
  nsx_username:
    description:
      - The NSX user, V(admin) or a remote user such as V(user@domain).
      - If not set, the value of the E(NSX_USERNAME) environment variable is used.
    type: str
    required: true
  nsx_password:
    description:
      - The password of O(nsx_username).
      - If not set, the value of the E(NSX_PASSWORD) environment variable is used.
    type: str
    required: true
  nsx_port:
    description:
      - The HTTPS port of the NSX Manager API. Ignored when O(nsx_hostname) is a URL.
      - If not set, the value of the E(NSX_PORT) environment variable is used.
    type: int
    default: 443
  nsx_validate_certs:
    description:
      - Whether to verify the NSX Manager TLS certificate.
      - If not set, the value of the E(NSX_VALIDATE_CERTS) environment variable is used.
    type: bool
    default: true
  nsx_ca_cert:
    description:
      - A PEM file of CA certificates to verify the NSX Manager certificate with, instead of the system store.
      - Ignored when O(nsx_validate_certs=false).
      - If not set, the value of the E(NSX_CA_CERT) environment variable is used.
    type: path
  nsx_auth:
    description:
      - V(basic) sends the credentials with every call.
      - V(session) logs in once (C(POST /api/session/create)), sends the session cookie and XSRF token, logs in again once if the
        session expired, and logs out at the end.
      - Calls answered with HTTP 429 or 503, "busy" (400, error code 30722) or "transaction aborted" (500, error code 607)
        are retried up to 8 times with exponential backoff (1 s doubling, at most 60 s).
      - If not set, the value of the E(NSX_AUTH) environment variable is used.
    type: str
    default: basic
    choices: [basic, session]
"""
