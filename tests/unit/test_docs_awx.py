"""docs/awx.md: every variable a credential type injects is one a module reads."""

import glob
import importlib
import os
import re

import yaml
from ansible.module_utils.basic import env_fallback

from ansible_collections.hybridcloud.migration.plugins.module_utils._module import MigrationModule

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PACKAGE = "ansible_collections.hybridcloud.migration.plugins"


def injector_blocks():
    with open(os.path.join(ROOT, "docs", "awx.md")) as handle:
        text = handle.read()
    blocks = [yaml.safe_load(b) for b in re.findall(r"```yaml\n(.*?)```", text, re.S)]
    return [b for b in blocks if isinstance(b, dict) and "env" in b]


def _fallbacks(spec):
    for option in spec.values():
        fallback = option.get("fallback")
        if fallback and fallback[0] is env_fallback:
            yield from fallback[1]
        yield from _fallbacks(option.get("options") or {})


def variables_the_modules_read():
    """env_fallback names of every module's merged argspec, plus variables a client reads itself."""
    names = set()
    for path in glob.glob(os.path.join(ROOT, "plugins", "modules", "*.py")):
        module = importlib.import_module(PACKAGE + ".modules." + os.path.basename(path)[:-3])
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, MigrationModule) and value is not MigrationModule:
                if value.connection:
                    names.update(_fallbacks(value.connection.argument_spec))
                names.update(_fallbacks(value.argument_spec))
    for path in glob.glob(os.path.join(ROOT, "plugins", "module_utils", "*.py")):
        module = importlib.import_module(PACKAGE + ".module_utils." + os.path.basename(path)[:-3])
        names.update(getattr(module, "ENV_VARIABLES", {}).values())  # read by the client, not the argspec
    return names


def test_docs_have_one_injector_per_platform():
    prefixes = {sorted(block["env"])[0].split("_")[0] for block in injector_blocks()}
    assert prefixes == {"VMWARE", "NSX", "ZSTACK", "OS"}


def test_every_injected_variable_is_read_by_a_module():
    read = variables_the_modules_read()
    injected = {name for block in injector_blocks() for name in block["env"]}
    assert injected - read == set(), "injected but read by no module"


def test_credential_inputs_marked_secret():
    with open(os.path.join(ROOT, "docs", "awx.md")) as handle:
        blocks = [yaml.safe_load(b) for b in re.findall(r"```yaml\n(.*?)```", handle.read(), re.S)]
    for block in blocks:
        for field in (block or {}).get("fields", []):
            if "password" in field["id"] or "secret" in field["id"]:
                assert field.get("secret") is True, field
