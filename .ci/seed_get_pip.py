"""Give ansible-test a pip bootstrap script when its download is impossible (offline machines).

ansible-test installs pip into each sanity virtualenv with a get-pip script it downloads, and first
looks for it in ~/.ansible/test/cache. If that cache is empty and the download fails, this writes a
stand-in there that bootstraps pip with the standard library's ensurepip and then installs what it
was asked to. Machines with internet access keep ansible-test's normal behaviour.
"""

import os
import re
import sys
import types
import urllib.request

import ansible_test
from ansible_test._internal.python_requirements import get_venv_packages

STAND_IN = '''"""Stand-in for get-pip.py, written by .ci/seed_get_pip.py: ensurepip, then pip install."""
import ensurepip
import os
import subprocess
import sys

ensurepip.bootstrap(upgrade=True)
# ensurepip points pip at /dev/null for its config; the machine's config carries the CA bundle.
os.environ.pop("PIP_CONFIG_FILE", None)
os.environ.pop("ENSUREPIP_OPTIONS", None)
args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
sys.exit(subprocess.call([sys.executable, "-m", "pip", "install"] + args))
'''


def main():
    version = get_venv_packages(types.SimpleNamespace(version="%d.%d" % sys.version_info[:2]))["pip"]
    cache = os.path.expanduser("~/.ansible/test/cache/get_pip_%s.py" % version.replace(".", "_"))
    if os.path.exists(cache):
        return 0
    setup = os.path.join(os.path.dirname(ansible_test.__file__), "_util", "target", "setup", "requirements.py")
    with open(setup) as handle:
        url = re.search(r"'(https://[^']+get-pip-%s\.py)'", handle.read()).group(1) % version
    os.makedirs(os.path.dirname(cache), exist_ok=True)
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            content = response.read().decode()
        print("ansible-test pip bootstrap %s downloaded" % version)
    except OSError as exc:
        content = STAND_IN
        print("ansible-test pip bootstrap %s not downloadable (%s): using the ensurepip stand-in" % (version, exc))
    with open(cache, "w") as handle:
        handle.write(content)
    return 0


if __name__ == "__main__":
    sys.exit(main())
