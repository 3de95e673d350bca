"""docs/awx.md: the credential types supply exactly what the modules read, in a form the modules accept.

Both directions: every variable a documented type injects (custom or AWX built-in) is read by a
module, and every variable a module reads is injected by at least one documented type. CA bundles
are file injectors feeding a ``path`` option. ``inject()`` renders a custom type the way AWX does
(``CredentialType.inject_credential``: empty inputs left out of the namespace, unticked booleans
false, ``file`` templates written first and named ``tower.filename.<name>``, a sandboxed Jinja2);
tests/integration/test_awx_runner.py runs real jobs with it.
"""

import functools
import os
import re

import pytest
import yaml
from ansible.module_utils.common.validation import check_type_bool, check_type_int
from jinja2.sandbox import ImmutableSandboxedEnvironment

from tests.unit.test_vocabulary import MODULES, argument_spec, client_variables, env_of

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# Read by a library on the modules' behalf: openstacksdk's clouds.yaml loader, used through 'cloud'.
LIBRARY_VARIABLES = {"OS_CLIENT_CONFIG_FILE": "cloud"}
# What AWX's managed types inject (awx/main/models/credential/injectors.py: vmware(), openstack()).
BUILTIN = {
    "vmware": {"VMWARE_HOST", "VMWARE_USER", "VMWARE_PASSWORD", "VMWARE_VALIDATE_CERTS"},
    "openstack": {"OS_CLIENT_CONFIG_FILE"},
}
FILE_REFERENCE = re.compile(r"tower\.filename\.([a-z_]+)")
JINJA_WORDS = {"default", "if", "else", "is", "defined", "not", "and", "or"}


@functools.lru_cache(maxsize=None)
def _doc():
    with open(os.path.join(ROOT, "docs", "awx.md")) as handle:
        return handle.read()


def _yaml_blocks(text):
    return [yaml.safe_load(block) for block in re.findall(r"```yaml\n(.*?)```", text, re.S)]


@functools.lru_cache(maxsize=None)
def credential_types():
    """{name: {"inputs": ..., "injectors": ...}} of every ``<!-- awx-type: NAME -->`` section."""
    text = _doc()
    types = {}
    parts = re.split(r"<!-- awx-type: ([a-z_]+) -->", text)
    for name, body in zip(parts[1::2], parts[2::2]):
        blocks = _yaml_blocks(body)[:2]
        assert len(blocks) == 2 and "fields" in blocks[0], "awx-type %s: input then injector configuration" % name
        types[name] = {"inputs": blocks[0], "injectors": blocks[1]}
    return types


def builtin_types():
    """{name: set of variables} of every ``<!-- awx-builtin: NAME -->`` section (what AWX injects)."""
    parts = re.split(r"<!-- awx-builtin: ([a-z_]+) -->", _doc())
    return {name: set(_yaml_blocks(body)[0]["env"]) for name, body in zip(parts[1::2], parts[2::2])}


def inject(name, directory, **inputs):
    """The environment AWX gives a job for a credential of custom type NAME with these INPUTS."""
    kind = credential_types()[name]
    fields = {field["id"]: field for field in kind["inputs"]["fields"]}
    unknown = set(inputs) - set(fields)
    assert not unknown, "type %s has no input %s" % (name, sorted(unknown))
    namespace = {}
    for key, value in inputs.items():
        if isinstance(value, bool) or len(str(value)):  # AWX leaves empty inputs out
            namespace[key] = value if isinstance(value, bool) else str(value)
    for field in fields.values():
        if field.get("type") == "boolean" and field["id"] not in namespace:
            namespace[field["id"]] = False
    sandbox = ImmutableSandboxedEnvironment()

    class Filenames:
        pass

    tower = Filenames()
    tower.filename = Filenames()
    for index, (label, template) in enumerate(sorted(kind["injectors"].get("file", {}).items())):
        path = os.path.join(str(directory), "%s_%s_%d" % (name, label.replace(".", "_"), index))
        with open(path, "w") as handle:
            handle.write(sandbox.from_string(template).render(**namespace))
        setattr(tower.filename, label.split(".", 1)[1], path)
    return {var: sandbox.from_string(template).render(tower=tower, **namespace)
            for var, template in kind["injectors"]["env"].items()}


@functools.lru_cache(maxsize=None)
def _specs():
    return {module: argument_spec(module) for module in MODULES}


def options_fed_by(variable):
    """[(module, option, spec)] of every option that falls back to VARIABLE."""
    return [(module, option, spec) for module, options in _specs().items() for option, spec in options.items()
            if variable in env_of(spec)]


def variables_read():
    names = set(client_variables())
    for module in MODULES:
        names.update(var for spec in argument_spec(module).values() for var in env_of(spec))
    return names


def _referenced_inputs(template):
    """Input names a template uses (string literals, tower.filename.* and Jinja words left out)."""
    names = set()
    for expression in re.findall(r"\{\{(.*?)\}\}", template):
        expression = FILE_REFERENCE.sub("", re.sub(r"'[^']*'", "", expression))
        names.update(re.findall(r"\b([a-z_][a-z0-9_]*)\b", expression))
    return names - JINJA_WORDS


# -- structure of the doc ----------------------------------------------------------------------------
def test_doc_has_the_types_the_platforms_need():
    assert set(credential_types()) >= {"vmware", "vmware_proxy", "target_vcenter", "nsx", "zstack", "powervc",
                                       "powervc_cloud"}
    assert builtin_types() == BUILTIN, "the built-in types' injected variables as AWX sets them"
    assert "cloud: devstack" in _doc() and "OS_CLOUD=devstack" in _doc()


@pytest.mark.parametrize("name", sorted(credential_types()))
def test_custom_type_is_well_formed(name):
    kind = credential_types()[name]
    fields = {field["id"]: field for field in kind["inputs"]["fields"]}
    assert set(kind["inputs"].get("required", [])) <= set(fields), name
    assert set(kind["injectors"]) <= {"env", "file"}, "%s: only env and file injectors" % name
    templates = list(kind["injectors"]["env"].values()) + list(kind["injectors"].get("file", {}).values())
    used = set()
    for template in templates:
        used |= _referenced_inputs(template)
    assert used <= set(fields), "%s: injectors use undeclared inputs %s" % (name, sorted(used - set(fields)))
    assert set(fields) <= used, "%s: inputs no injector uses: %s" % (name, sorted(set(fields) - used))
    for field in fields.values():
        assert field.get("type") in ("string", "boolean"), (name, field)
        if "password" in field["id"] or "secret" in field["id"]:
            assert field.get("secret") is True, "%s: input %s must be secret" % (name, field["id"])
    for label in kind["injectors"].get("file", {}):
        assert label.startswith("template."), "%s: file injector %s: use template.<name> (multi-file form)" % (name, label)


# -- both directions -------------------------------------------------------------------------------
def test_every_injected_variable_is_read_by_a_module():
    read = variables_read() | set(LIBRARY_VARIABLES)
    problems = []
    for name, kind in sorted(credential_types().items()):
        problems += ["custom type %s injects %s, which no module reads" % (name, var)
                     for var in sorted(set(kind["injectors"]["env"]) - read)]
    for name, injected in sorted(builtin_types().items()):
        problems += ["built-in type %s injects %s, which no module reads" % (name, var)
                     for var in sorted(injected - read)]
    for var, option in LIBRARY_VARIABLES.items():  # read by a library only when the modules use that option
        if not any(option in argument_spec(module) for module in MODULES):
            problems.append("%s is read through option '%s', which no module has" % (var, option))
    assert not problems, "\n".join(problems)


def test_every_variable_a_module_reads_is_injected_by_a_type():
    injected = {var for kind in credential_types().values() for var in kind["injectors"]["env"]}
    injected |= {var for variables in builtin_types().values() for var in variables}
    problems = []
    for var in sorted(variables_read() - injected):
        readers = ["%s.%s" % (module, option) for module, option, _spec in options_fed_by(var)] or ["a client"]
        problems.append("%s (read by %s) is injected by no documented credential type" % (var, ", ".join(readers)))
    assert not problems, "\n".join(problems)


# -- files, secrets, values the modules accept -----------------------------------------------------------
def test_every_file_injector_feeds_a_path_option():
    problems = []
    for name, kind in sorted(credential_types().items()):
        files = {label.split(".", 1)[1] for label in kind["injectors"].get("file", {})}
        pointed = set()
        for var, template in sorted(kind["injectors"]["env"].items()):
            labels = set(FILE_REFERENCE.findall(template))
            if not labels:
                continue
            pointed |= labels
            if labels - files:
                problems.append("%s: %s names file(s) %s that no file injector writes" % (name, var, sorted(labels - files)))
            kinds = {spec.get("type", "str") for _m, _o, spec in options_fed_by(var)}
            if kinds != {"path"}:
                problems.append("%s: file injector variable %s feeds options of type %s, not path"
                                % (name, var, sorted(kinds) or "none"))
        if files - pointed:
            problems.append("%s: file(s) %s written but no variable points at them" % (name, sorted(files - pointed)))
        # The other way round: a path option a type feeds gets a file, never a path typed into AWX.
        for var, template in sorted(kind["injectors"]["env"].items()):
            if not FILE_REFERENCE.search(template) and any(spec.get("type") == "path" for _m, _o, spec in options_fed_by(var)):
                problems.append("%s: %s feeds a path option but is not a file injector" % (name, var))
    assert not problems, "\n".join(problems)


def test_secret_options_are_fed_from_secret_inputs():
    problems = []
    for name, kind in sorted(credential_types().items()):
        secret = {field["id"] for field in kind["inputs"]["fields"] if field.get("secret")}
        for var, template in sorted(kind["injectors"]["env"].items()):
            if any(spec.get("no_log") for _m, _o, spec in options_fed_by(var)) and not _referenced_inputs(template) <= secret:
                problems.append("%s: %s feeds a no_log option from a non-secret input" % (name, var))
    assert not problems, "\n".join(problems)


def _sample(field):
    if field.get("type") == "boolean":
        return True
    if field.get("choices"):
        return field["choices"][-1]
    if "port" in field["id"]:
        return "8443"
    if field["id"] == "ca_cert":
        return "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
    if field["id"] == "thumbprint":
        return ":".join(["AB"] * 20)
    return "value-of-" + field["id"]


def _value_problems(name, var, value):
    problems = []
    for module, option, spec in options_fed_by(var):
        where = "%s: %s=%r for %s.%s" % (name, var, value, module, option)
        kind = spec.get("type", "str")
        if value == "":
            if kind not in ("str", "path") or spec.get("required") or (spec.get("choices") and "" not in spec["choices"]):
                problems.append("%s: an empty value is not accepted (%s%s)"
                                % (where, kind, ", required" if spec.get("required") else ""))
            continue
        try:
            converted = {"int": check_type_int, "bool": check_type_bool}.get(kind, lambda v: v)(value)
        except TypeError as error:
            problems.append("%s: not a valid %s (%s)" % (where, kind, error))
            continue
        if spec.get("choices") and converted not in spec["choices"]:
            problems.append("%s: not one of %s" % (where, spec["choices"]))
    return problems


@pytest.mark.parametrize("filled", ["required inputs only", "every input"])
@pytest.mark.parametrize("name", sorted(credential_types()))
def test_what_a_type_injects_is_accepted_by_the_modules(name, filled, tmp_path):
    fields = credential_types()[name]["inputs"]["fields"]
    required = set(credential_types()[name]["inputs"].get("required", []))
    inputs = {field["id"]: _sample(field) for field in fields if filled == "every input" or field["id"] in required}
    env = inject(name, tmp_path, **inputs)
    problems = []
    for var, value in sorted(env.items()):
        problems += _value_problems(name, var, value)
        if FILE_REFERENCE.search(credential_types()[name]["injectors"]["env"][var]) and value:
            with open(value) as handle:
                assert handle.read() == inputs["ca_cert"], "%s: %s points at the CA bundle as pasted" % (name, var)
    assert not problems, "\n".join(problems)


def test_verification_is_on_unless_ticked_off(tmp_path):
    for name, kind in sorted(credential_types().items()):
        required = kind["inputs"].get("required", [])
        env = inject(name, tmp_path, **{field: "x" for field in required})
        for var, value in env.items():
            if var.endswith("VALIDATE_CERTS"):
                assert check_type_bool(value) is True, "%s: %s=%r when 'insecure' is left unticked" % (name, var, value)
