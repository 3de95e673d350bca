"""Run a module's main() in-process with given arguments and return its JSON result."""

import contextlib
import io
import json

try:
    from ansible.module_utils.testing import patch_module_args
except ImportError:  # ansible-core < 2.19: modules read their arguments from basic._ANSIBLE_ARGS
    from ansible.module_utils import basic
    from ansible.module_utils.common.text.converters import to_bytes

    @contextlib.contextmanager
    def patch_module_args(args):
        saved = basic._ANSIBLE_ARGS
        basic._ANSIBLE_ARGS = to_bytes(json.dumps({"ANSIBLE_MODULE_ARGS": args}))
        try:
            yield
        finally:
            basic._ANSIBLE_ARGS = saved


def forget_warnings():
    """Ansible keeps a module's warnings in process-wide, de-duplicating collections: a warning a
    previous in-process run issued would otherwise be missing from the next run's result."""
    from ansible.module_utils.common import warnings  # pylint: disable=import-outside-toplevel
    for name in ("_global_warnings", "_global_deprecations"):
        collection = getattr(warnings, name, None)
        if hasattr(collection, "clear"):
            collection.clear()


def run_module(main, args, check_mode=False, diff=False):
    """Return (result, exit_code). ``main`` is the module's main() (or any callable that exits)."""
    forget_warnings()
    args = dict(args, _ansible_check_mode=check_mode, _ansible_diff=diff, _ansible_remote_tmp="/tmp",
                _ansible_keep_remote_files=False)
    out = io.StringIO()
    with patch_module_args(args), contextlib.redirect_stdout(out):
        try:
            main()
            code = 0
        except SystemExit as exc:
            code = exc.code
    return json.loads(out.getvalue()), code
