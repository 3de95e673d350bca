"""Shared by the ZStack module unit tests: run a module in-process against the emulator."""

from tests.integration.zstack_helpers import PASSWORD, operations, prepare
from tests.unit.module_runner import run_module

__all__ = ["connection", "operations", "prepare", "run"]


def connection(handle):
    return {"host": "127.0.0.1", "port": int(handle.url.rsplit(":", 1)[1]), "protocol": "https",
            "ca_path": handle.ca_path, "account_name": "admin", "password": PASSWORD,
            "poll_interval": 0.05, "poll_max_interval": 0.2}


def run(main, handle, check_mode=False, diff=False, **args):
    return run_module(main, dict(connection(handle), **args), check_mode=check_mode, diff=diff)
