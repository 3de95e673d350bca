# -*- coding: utf-8 -*-
# Copyright: (c) 2026, hybridcloud.migration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""vCenter (SOAP API) connection options: 1:1 with ``VSPHERE_ARGSPEC`` in module_utils/vsphere.py."""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  hostname:
    description:
      - The vCenter Server host name or IP address.
      - If not set, the value of the E(VMWARE_HOST) environment variable is used.
    type: str
    required: true
  username:
    description:
      - The user name to log in to vCenter with, for example V(administrator@vsphere.local).
      - If not set, the value of the E(VMWARE_USER) environment variable is used.
    type: str
    required: true
    aliases: [user]
  password:
    description:
      - The password of O(username).
      - If not set, the value of the E(VMWARE_PASSWORD) environment variable is used.
    type: str
    required: true
    aliases: [pass, pwd]
  port:
    description:
      - The HTTPS port of the vCenter SOAP API (C(/sdk)).
      - If not set, the value of the E(VMWARE_PORT) environment variable is used.
    type: int
    default: 443
  validate_certs:
    description:
      - Whether to verify the vCenter TLS certificate (chain and host name).
      - Set to V(false) only for test systems with self-signed certificates.
      - If not set, the value of the E(VMWARE_VALIDATE_CERTS) environment variable is used.
    type: bool
    default: true
  ca_cert:
    description:
      - A PEM file of CA certificates to verify the vCenter certificate with, instead of the system store.
      - Ignored when O(validate_certs=false).
      - If not set, the value of the E(VMWARE_CA_CERT) environment variable is used.
    type: path
  proxy_host:
    description:
      - The host name or IP address of an HTTP proxy to reach vCenter through, for the REST and the SOAP API
        alike. The TLS session to vCenter runs inside the proxy's C(CONNECT) tunnel, so O(validate_certs) and
        O(ca_cert) still verify vCenter itself.
      - Given on every request, so it wins over E(HTTPS_PROXY) and E(NO_PROXY).
      - Requires O(proxy_port).
      - If not set, the value of the E(VMWARE_PROXY_HOST) environment variable is used.
    type: str
  proxy_port:
    description:
      - The port of O(proxy_host).
      - If not set, the value of the E(VMWARE_PROXY_PORT) environment variable is used.
    type: int
requirements:
  - pyvmomi
"""
