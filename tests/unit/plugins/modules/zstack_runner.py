"""Shared by the ZStack module unit tests: run a module in-process against the emulator."""

from tests.integration import zstack_helpers
from tests.integration.zstack_helpers import operations, prepare
from tests.unit.module_runner import run_module

__all__ = ["connection", "operations", "prepare", "run"]


def connection(handle):
    return zstack_helpers.connection(handle)


def run(main, handle, check_mode=False, diff=False, **args):
    return run_module(main, dict(connection(handle), **args), check_mode=check_mode, diff=diff)
