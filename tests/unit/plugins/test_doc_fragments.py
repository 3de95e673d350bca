"""Each platform's doc fragment documents exactly its connection argspec (names, types, defaults)."""

import importlib
import os

import pytest
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
PACKAGE = "ansible_collections.hybridcloud.migration.plugins"
PLATFORMS = sorted(name[:-3] for name in os.listdir(os.path.join(ROOT, "plugins", "doc_fragments"))
                   if name.endswith(".py") and name not in ("__init__.py", "attributes.py"))


# A connection documented by more than one fragment: the shared vSphere options plus its own.
FRAGMENTS = {"vcenter_rest": ("vsphere", "vcenter_rest")}


def documented_options(platform):
    options = {}
    for name in FRAGMENTS.get(platform, (platform,)):
        fragment = importlib.import_module("%s.doc_fragments.%s" % (PACKAGE, name)).ModuleDocFragment
        options.update(yaml.safe_load(fragment.DOCUMENTATION)["options"])
    return options


def connection_spec(platform):
    return importlib.import_module("%s.module_utils.%s" % (PACKAGE, platform)).CONNECTION.argument_spec


@pytest.mark.parametrize("platform", PLATFORMS)
def test_fragment_matches_argspec(platform):
    docs, spec = documented_options(platform), connection_spec(platform)
    assert sorted(docs) == sorted(spec)
    for name, option in spec.items():
        doc = docs[name]
        assert doc.get("type", "str") == option.get("type", "str"), name
        assert doc.get("default") == option.get("default"), name
        assert sorted(doc.get("aliases", [])) == sorted(option.get("aliases", [])), name
        assert bool(doc.get("required", False)) == bool(option.get("required", False)), name


@pytest.mark.parametrize("platform", PLATFORMS)
def test_secrets_are_no_log_and_env_fallbacks_documented(platform):
    docs, spec = documented_options(platform), connection_spec(platform)
    for name, option in spec.items():
        if any(word in name for word in ("password", "secret", "token", "priv_key")):
            assert option.get("no_log") is True, name
        fallback = option.get("fallback")
        if fallback:
            description = " ".join(docs[name]["description"] if isinstance(docs[name]["description"], list)
                                   else [docs[name]["description"]])
            for variable in fallback[1]:
                assert variable in description, "%s: %s not documented" % (name, variable)
