"""pytest plugin: session-scoped emulator fixtures, one per platform.

Each platform module exposes ``EMULATOR`` (its Emulator class) and ``DEFAULT_SEED``. A fixture
yields an ``EmulatorHandle``: ``url``, ``ca_path``, ``admin`` (AdminClient), ``emulator`` (the live
object, for white-box assertions) and ``info`` (credentials and useful ids).
Tests that change the state call ``handle.reset()`` first; the fixtures do it between tests too.
"""

import importlib

import pytest

from tests.emulators._server import Running, TLSMaterial
from tests.emulators.admin import AdminClient


class EmulatorHandle:
    def __init__(self, platform, tls_material):
        self.module = importlib.import_module("tests.emulators." + platform)
        self.emulator = self.module.EMULATOR(self.module.DEFAULT_SEED)
        self.running = Running(self.emulator, tls_material=tls_material)
        self.url = self.running.url
        self.ca_path = self.running.ca_path
        self.admin = AdminClient(self.url, self.ca_path)
        self.info = dict(self.emulator.connection_info(), url=self.url, ca_path=self.ca_path)

    def reset(self, seed=None):
        """Back to the default seed (or SEED): empty journal, no faults."""
        self.admin.reset(seed or self.module.DEFAULT_SEED)

    def stop(self):
        self.running.stop()


@pytest.fixture(scope="session")
def emulator_tls(tmp_path_factory):
    """One CA for all emulators of the run (cheaper, and one ca_path for the modules)."""
    return TLSMaterial(str(tmp_path_factory.mktemp("emulator-tls")))


def _emulator_fixture(platform):
    @pytest.fixture(scope="session", name=platform + "_emulator_session")
    def started(emulator_tls):
        handle = EmulatorHandle(platform, emulator_tls)
        yield handle
        handle.stop()

    @pytest.fixture(name=platform + "_emulator")
    def fresh(request):
        handle = request.getfixturevalue(platform + "_emulator_session")
        handle.reset()
        return handle

    return started, fresh


zstack_emulator_session, zstack_emulator = _emulator_fixture("zstack")
nsx_emulator_session, nsx_emulator = _emulator_fixture("nsx")
powervc_emulator_session, powervc_emulator = _emulator_fixture("powervc")
vcenter_rest_emulator_session, vcenter_rest_emulator = _emulator_fixture("vcenter_rest")
