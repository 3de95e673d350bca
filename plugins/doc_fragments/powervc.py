# -*- coding: utf-8 -*-
# Copyright: (c) 2026, hybridcloud.migration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Connection options of the PowerVC modules (1:1 with ARGUMENT_SPEC in module_utils/powervc.py)."""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  cloud:
    description:
      - Name of an entry in C(clouds.yaml), read with openstacksdk's own configuration loader
        (C(OS_CLIENT_CONFIG_FILE), C(./clouds.yaml), C(~/.config/openstack/clouds.yaml), C(/etc/openstack/clouds.yaml);
        passwords may sit in C(secure.yaml)).
      - Its C(auth), C(verify), C(cacert), C(region_name) and C(api_timeout) are used unless the corresponding
        option of this module is set (O(interface) has a default, as in openstack.cloud, so the entry's C(interface)
        is not used).
      - Without O(cloud), missing O(auth) keys come from the C(OS_*) environment variables
        (C(OS_AUTH_URL), C(OS_USERNAME), C(OS_PASSWORD), C(OS_PROJECT_NAME), C(OS_PROJECT_ID),
        C(OS_USER_DOMAIN_NAME), C(OS_PROJECT_DOMAIN_NAME) ...).
      - Needs the Python library openstacksdk; the other ways of giving credentials do not.
      - If not set, the value of the E(OS_CLOUD) environment variable is used.
    type: str
  auth:
    description:
      - Keystone v3 password credentials, as in the openstack.cloud collection.
      - Keys given here win over the O(cloud) entry and over the C(OS_*) environment variables.
      - Each key not given here is taken from the O(cloud) entry when one is named, else from the
        environment variable C(OS_<KEY>) (for example C(OS_AUTH_URL), C(OS_PASSWORD)).
    type: dict
    suboptions:
      auth_url:
        description:
          - Keystone URL, for example C(https://powervc.example.com:5000/v3). C(/v3) is added when missing.
          - Checked before any call - C(http) or C(https), a host, a port between 1 and 65535, no user or
            password, query, fragment or C(..), no spaces, control or bidi characters.
          - Falls back to E(OS_AUTH_URL).
        type: str
      username:
        description: User name (or give O(auth.user_id)). Falls back to E(OS_USERNAME).
        type: str
      user_id:
        description: User id, instead of O(auth.username). Falls back to E(OS_USER_ID).
        type: str
      password:
        description: Password. Falls back to E(OS_PASSWORD).
        type: str
      project_name:
        description:
          - Project to scope the token to (PowerVC's default project is C(ibm-default)), or give O(auth.project_id).
          - Falls back to E(OS_PROJECT_NAME).
        type: str
      project_id:
        description: Project id, instead of O(auth.project_name). Falls back to E(OS_PROJECT_ID).
        type: str
      user_domain_name:
        description:
          - Domain of the user; C(Default) when neither it nor O(auth.user_domain_id) is given
            (PowerVC supports only that domain). Falls back to E(OS_USER_DOMAIN_NAME).
        type: str
      user_domain_id:
        description: Domain id of the user. Falls back to E(OS_USER_DOMAIN_ID).
        type: str
      project_domain_name:
        description:
          - Domain of the project; C(Default) when neither it nor O(auth.project_domain_id) is given.
            Falls back to E(OS_PROJECT_DOMAIN_NAME).
        type: str
      project_domain_id:
        description: Domain id of the project. Falls back to E(OS_PROJECT_DOMAIN_ID).
        type: str
  auth_type:
    description:
      - Keystone authentication method. Only password authentication is supported; the default is V(password).
    type: str
    choices: [password, v3password]
  region_name:
    description:
      - Region of the compute endpoint in the token's service catalog; any region when not set.
      - If not set, the value of the E(OS_REGION_NAME) environment variable is used.
    type: str
  interface:
    description:
      - Which catalog endpoint of the compute service to use.
      - If not set, the value of the E(OS_INTERFACE) environment variable is used.
    type: str
    choices: [public, internal, admin]
    default: public
  validate_certs:
    description:
      - Verify the TLS certificates of Keystone and Nova.
      - When not set, the O(cloud) entry's C(verify) decides, else V(true).
      - V(false) really disables verification, also when E(REQUESTS_CA_BUNDLE) is set.
    type: bool
    aliases: [verify]
  ca_cert:
    description:
      - CA bundle (PEM) that signed the PowerVC certificates, instead of the system's.
      - If not set, the value of the E(OS_CACERT) environment variable is used, then the O(cloud) entry's C(cacert).
    type: path
    aliases: [cacert]
  api_timeout:
    description:
      - Seconds to wait for an answer to each HTTP request; 60 when neither this nor the O(cloud) entry sets it.
      - At least 1.
      - A change whose answer does not come in time is not sent again blindly; the modules re-read PowerVC first.
    type: int
requirements:
  - keystoneauth1
  - requests
  - openstacksdk (only for O(cloud))
notes:
  - Every call goes through a keystoneauth1 session - the token, the compute endpoint from the token's service
    catalog (service type C(compute), O(interface), O(region_name)), the renewal after a 401 and the connection
    retries are keystoneauth's.
  - Tokens are reused for the whole run, replaced once less than 1 hour is left before they expire (IBM's advice;
    so a token configured to live less than 1 hour is replaced before every call), renewed once after a 401 (and the
    call repeated once), and revoked at the end of the run.
  - A refused connection (nothing listens at the host and port) is retried briefly (0.5, 1 and 2 seconds apart) and
    then fails naming the host and port and the option to fix. Reads and token requests are retried by keystoneauth;
    a change is resent only when it certainly never reached PowerVC, never after a lost answer.
  - Set the connection options once with C(module_defaults) and the action group C(group/hybridcloud.migration.powervc).
"""
