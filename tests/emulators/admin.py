"""Test-side client of the emulators' admin API (``/__emulator__/...``)."""

import re

import requests

from tests.emulators._server import ADMIN_PREFIX, MUTATING


class AdminClient:
    def __init__(self, base_url, ca_path=None):
        self.base_url = base_url.rstrip("/") + ADMIN_PREFIX
        self.verify = ca_path or False

    def _call(self, method, action, body=None):
        response = requests.request(method, "%s/%s" % (self.base_url, action), json=body,
                                    verify=self.verify, timeout=10)
        response.raise_for_status()
        return response.json() if response.content else None

    def state(self):
        return self._call("GET", "state")

    def journal(self):
        return self._call("GET", "journal")

    def mutations(self, ignore=()):
        """Mutating calls the emulator received, in arrival order (injected faults excluded).

        IGNORE lists path regexes to leave out, e.g. the platform's login/logout paths.
        """
        return [e for e in self.journal() if e["method"] in MUTATING and not e["injected"]
                and not any(re.search(pattern, e["path"]) for pattern in ignore)]

    def clear_journal(self):
        self._call("DELETE", "journal")

    def fault(self, **spec):
        """Inject a fault, e.g. ``fault(method="GET", path="/api-jobs/", status=503, body={...}, times=2)``."""
        return self._call("POST", "faults", spec)

    def clear_faults(self):
        self._call("DELETE", "faults")

    def reset(self, seed=None):
        return self._call("POST", "reset", seed or {})

    def expire_sessions(self):
        self._call("POST", "expire-sessions", {})

    def action(self, name, body=None):
        """A platform-specific admin action."""
        return self._call("POST", name, body or {})
