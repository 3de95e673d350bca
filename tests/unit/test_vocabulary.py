"""docs/vocabulary.md is what every module follows: each module's real argument spec against its tables.

The tables after each ``<!-- vocabulary: NAME -->`` marker give option, type, default, environment
and aliases; the action-group table gives the groups. A module's argument spec is assembled the way
``MigrationModule`` does (connection argspec, then the module's own), its DOCUMENTATION with the
doc fragments it extends. Every failure names the module, the option and what differs.
"""

import ast
import glob
import importlib
import os
import re

import pytest
import yaml
from ansible.module_utils.basic import env_fallback

from ansible_collections.hybridcloud.migration.plugins.module_utils._module import MigrationModule

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PACKAGE = "ansible_collections.hybridcloud.migration.plugins"
COLLECTION = "hybridcloud.migration"
MODULES = sorted(os.path.basename(path)[:-3] for path in glob.glob(os.path.join(ROOT, "plugins", "modules", "*.py"))
                 if not path.endswith("__init__.py"))
WORK = "work"  # the table whose options apply to any module that has them


# -- docs/vocabulary.md ---------------------------------------------------------------------------
def _vocabulary_text():
    with open(os.path.join(ROOT, "docs", "vocabulary.md")) as handle:
        return handle.read()


def _rows(lines):
    """The cells of a Markdown table's body (header and separator skipped), backticks kept."""
    table = []
    for line in lines:
        if not line.startswith("|"):
            if table:
                break
            continue
        table.append([cell.strip() for cell in line.strip().strip("|").split("|")])
    return table[0], table[2:]


def _names(cell):
    """`a`, `b` -> ['a', 'b']."""
    return re.findall(r"`([^`]+)`", cell)


def action_groups():
    """{group: [modules]} from the table under '## Action groups'."""
    text = _vocabulary_text()
    section = text.split("## Action groups", 1)[1].split("\n## ", 1)[0]
    header, rows = _rows(section.splitlines())
    assert header[:2] == ["group", "modules"], header
    groups = {}
    for group, modules in (row[:2] for row in rows):
        name = _names(group)[0]
        assert name.startswith("group/%s." % COLLECTION), group
        groups[name.rsplit(".", 1)[1]] = _names(modules)
    return groups


class Table:
    """One ``<!-- vocabulary: NAME -->`` table and the modules it applies to."""

    def __init__(self, name, heading, rows):
        self.name = name
        self.heading = heading
        self.rows = rows  # {option: {type, secret, default, environment, aliases}}

    def scope(self, groups):
        """The modules this table's options belong to; None: any module that has the option."""
        group = re.search(r"group `([a-z_]+)`", self.heading)
        if group:
            return set(groups[group.group(1)])
        modules = [name for name in _names(self.heading) if name in MODULES]
        return set(modules) if modules else None


def vocabulary_tables():
    text = _vocabulary_text()
    tables = {}
    for match in re.finditer(r"<!-- vocabulary: ([a-z_]+) -->", text):
        before = text[:match.start()]
        heading = re.findall(r"^#+ .*$", before, re.M)[-1]
        header, body = _rows(text[match.end():].splitlines())
        assert header[:5] == ["option", "type", "default", "environment", "aliases"], (match.group(1), header)
        rows = {}
        for cells in body:
            option, kind, default, environment, aliases = cells[:5]
            rows[_names(option)[0]] = dict(
                type=kind.split()[0], secret="(secret)" in kind, default=default,
                environment=_names(environment),
                environment_more="..." in environment,  # a family of variables the client reads itself
                aliases=sorted(_names(aliases)))
        tables[match.group(1)] = Table(match.group(1), heading, rows)
    return tables


def _default(text):
    """The vocabulary's default cell as the argspec value it stands for."""
    if text in ("true", "false"):
        return text == "true"
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    return text


# -- the modules ----------------------------------------------------------------------------------
def module_class(name):
    module = importlib.import_module("%s.modules.%s" % (PACKAGE, name))
    classes = [value for value in vars(module).values() if isinstance(value, type)
               and issubclass(value, MigrationModule) and value is not MigrationModule
               and value.__module__ == module.__name__]
    assert len(classes) == 1, "%s: expected one MigrationModule subclass, found %s" % (name, classes)
    return classes[0]


def argument_spec(name):
    """The spec AnsibleModule gets: the connection's options, then the module's own (as MigrationModule)."""
    cls = module_class(name)
    spec = {}
    if cls.connection:
        spec.update(cls.connection.argument_spec)
    spec.update(cls.argument_spec)
    return spec


def env_of(option):
    fallback = option.get("fallback")
    if fallback and fallback[0] is env_fallback:
        return list(fallback[1])
    return []


def client_variables():
    """Environment variables module_utils read themselves (ENV_VARIABLES maps), not through the argspec."""
    names = set()
    for path in glob.glob(os.path.join(ROOT, "plugins", "module_utils", "*.py")):
        module = importlib.import_module("%s.module_utils.%s" % (PACKAGE, os.path.basename(path)[:-3]))
        names.update(getattr(module, "ENV_VARIABLES", {}).values())
    return names


def documentation(name):
    """The module's DOCUMENTATION options merged with those of the fragments it extends."""
    path = os.path.join(ROOT, "plugins", "modules", name + ".py")
    with open(path) as handle:
        tree = ast.parse(handle.read())
    doc = None
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "DOCUMENTATION" for t in node.targets):
            doc = yaml.safe_load(node.value.value)
    assert doc, "%s: no DOCUMENTATION" % name
    options = {}
    for fragment in doc.get("extends_documentation_fragment") or []:
        parts = fragment.split(".")
        assert ".".join(parts[:2]) == COLLECTION, "%s: fragment %s of another collection" % (name, fragment)
        attribute = parts[3].upper() if len(parts) > 3 else "DOCUMENTATION"
        holder = importlib.import_module("%s.doc_fragments.%s" % (PACKAGE, parts[2])).ModuleDocFragment
        options.update(yaml.safe_load(getattr(holder, attribute)).get("options") or {})
    options.update(doc.get("options") or {})
    return options


def _description(doc_option):
    text = doc_option.get("description") or ""
    return " ".join(text) if isinstance(text, list) else text


def applicable(tables, groups):
    """{module: {option: (table name, row)}} and the problems of options no table of the module's gives."""
    out, problems = {}, []
    for module in MODULES:
        out[module] = {}
        for option in argument_spec(module):
            defining = [t for t in tables.values() if option in t.rows]
            scoped = [t for t in defining if t.scope(groups) is None or module in t.scope(groups)]
            if len(scoped) == 1:
                out[module][option] = (scoped[0].name, scoped[0].rows[option])
            elif len(scoped) > 1:
                problems.append("%s: option '%s' is defined by several tables of its groups: %s"
                                % (module, option, ", ".join(t.name for t in scoped)))
            elif defining:
                problems.append("%s: option '%s' belongs to the vocabulary table(s) %s, whose group(s) do not "
                                "include this module" % (module, option, ", ".join(t.name for t in defining)))
    return out, problems


@pytest.fixture(scope="module")
def vocabulary():
    return vocabulary_tables(), action_groups()


# -- the checks -------------------------------------------------------------------------------------
def test_vocabulary_tables_parse(vocabulary):
    tables, groups = vocabulary
    assert set(tables) >= {"vmware", "target_vcenter", "nsx", "zstack", "powervc", WORK}
    assert set(groups) == {"vmware", "nsx", "zstack", "powervc"}
    for table in tables.values():
        assert table.rows, table.name
        for option, row in table.rows.items():
            assert row["type"] in ("str", "int", "bool", "path", "dict", "list", "float"), (table.name, option)
        if table.name != WORK:
            assert table.scope(groups), "table %s applies to no module: %s" % (table.name, table.heading)
    assert {m for modules in groups.values() for m in modules} <= set(MODULES)


def _row_problems(module, option, spec, table, row, client_vars):
    problems = []
    where = "%s: option '%s' (vocabulary table %s)" % (module, option, table)
    kind = spec.get("type", "str")
    if kind != row["type"]:
        problems.append("%s: type is %s, the vocabulary says %s" % (where, kind, row["type"]))
    if row["secret"] and spec.get("no_log") is not True:
        problems.append("%s: a secret without no_log=True" % where)
    if not row["secret"] and spec.get("no_log"):
        problems.append("%s: no_log=True on an option the vocabulary does not call secret" % where)
    default = row["default"]
    if default == "required":
        if spec.get("required") is not True:
            problems.append("%s: not required=True, the vocabulary says required" % where)
        if spec.get("default") is not None:
            problems.append("%s: required with a default (%r)" % (where, spec["default"]))
    elif default != "per module":
        if spec.get("required"):
            problems.append("%s: required=True, the vocabulary gives %s" % (where, "no default" if not default else "default %s" % default))
        wanted = _default(default) if default else None
        if spec.get("default") != wanted:
            problems.append("%s: default is %r, the vocabulary says %r" % (where, spec.get("default"), wanted))
    aliases = sorted(spec.get("aliases") or [])
    if aliases != row["aliases"]:
        problems.append("%s: aliases are %s, the vocabulary says %s" % (where, aliases, row["aliases"]))
    env = env_of(spec)
    if row["environment_more"]:  # read by the client itself (PowerVC auth: OS_AUTH_URL ...), not a fallback
        missing = sorted(set(row["environment"]) - client_vars)
        if env or missing:
            problems.append("%s: the client must read %s itself (no env_fallback: %s; not read: %s)"
                            % (where, ", ".join(row["environment"]), env, missing))
    elif env != row["environment"]:
        problems.append("%s: env_fallback is %s, the vocabulary says %s" % (where, env or "none", row["environment"] or "none"))
    return problems


def test_a_options_follow_their_table(vocabulary):
    """(a) type, default (required), aliases, no_log of secrets, env_fallback to exactly its variable."""
    tables, groups = vocabulary
    rows, problems = applicable(tables, groups)
    client_vars = client_variables()
    for module in MODULES:
        spec = argument_spec(module)
        for option, (table, row) in sorted(rows[module].items()):
            problems.extend(_row_problems(module, option, spec[option], table, row, client_vars))
    assert not problems, "\n".join(problems)


def test_a_documentation_names_the_same_environment_variables(vocabulary):
    """Each env_fallback is in the option's documentation, and no other fallback variable is documented."""
    problems = []
    # A fallback must be named as E(VAR) somewhere in the description; a sentence saying the option
    # falls back to a variable must name one the option really falls back to.
    said = re.compile(r"(?:If not set, the value of the|[Ff]alls back to(?: the)?) E\(([A-Z0-9_]+)\)")
    client_vars = client_variables()
    for module in MODULES:
        spec, docs = argument_spec(module), documentation(module)
        for option in sorted(spec):
            if option not in docs:
                problems.append("%s: option '%s' is not documented" % (module, option))
                continue
            env = env_of(spec[option])
            text = _description(docs[option])
            named = set(re.findall(r"E\(([A-Z0-9_]+)\)", text))
            for name in env:
                if name not in named:
                    problems.append("%s: option '%s' falls back to %s, its documentation does not say so" % (module, option, name))
            for name in said.findall(text):
                if name not in env:
                    problems.append("%s: option '%s' is documented to fall back to %s, its argspec falls back to %s"
                                    % (module, option, name, env or "nothing"))
            for sub, sub_doc in sorted((docs[option].get("suboptions") or {}).items()):
                for name in said.findall(_description(sub_doc)):
                    if name not in client_vars:
                        problems.append("%s: option '%s.%s' documents %s, which no client reads"
                                        % (module, option, sub, name))
    assert not problems, "\n".join(problems)


def test_b_group_modules_have_every_connection_option(vocabulary):
    """(b) a module of an action group has every connection option of its group's table(s)."""
    tables, groups = vocabulary
    problems = []
    for table in tables.values():
        scope = table.scope(groups)
        if scope is None:
            continue
        for module in sorted(scope):
            missing = sorted(set(table.rows) - set(argument_spec(module)))
            if missing:
                problems.append("%s: lacks the %s connection option(s) %s" % (module, table.name, ", ".join(missing)))
    assert not problems, "\n".join(problems)


def test_c_runtime_action_groups_are_the_vocabulary_ones(vocabulary):
    """(c) meta/runtime.yml action_groups == the vocabulary's action-group table."""
    groups = vocabulary[1]
    with open(os.path.join(ROOT, "meta", "runtime.yml")) as handle:
        runtime = yaml.safe_load(handle)["action_groups"]
    problems = []
    for group in sorted(set(groups) | set(runtime)):
        documented, declared = set(groups.get(group, [])), set(runtime.get(group) or [])
        if documented != declared:
            problems.append("action group %s: meta/runtime.yml lists %s, the vocabulary %s"
                            % (group, sorted(declared), sorted(documented)))
    assert not problems, "\n".join(problems)


def test_d_one_name_one_type_across_the_collection(vocabulary):
    """(d) an option name (or alias) used in two modules has one type; outside the group tables, one variable."""
    tables, groups = vocabulary
    in_tables = {option for table in tables.values() for option in table.rows}
    types, envs = {}, {}
    for module in MODULES:
        for option, spec in argument_spec(module).items():
            for name in [option] + list(spec.get("aliases") or []):
                types.setdefault(name, {}).setdefault(spec.get("type", "str"), []).append(module)
            if option not in in_tables:  # a group table gives its own variable per group (hostname ...)
                envs.setdefault(option, {}).setdefault(tuple(env_of(spec)), []).append(module)
    problems = ["option '%s' has several types: %s" % (name, "; ".join(
        "%s in %s" % (kind, ", ".join(modules)) for kind, modules in sorted(seen.items())))
        for name, seen in sorted(types.items()) if len(seen) > 1]
    problems += ["option '%s' falls back to different variables: %s" % (name, "; ".join(
        "%s in %s" % (", ".join(env) or "none", ", ".join(modules)) for env, modules in sorted(seen.items())))
        for name, seen in sorted(envs.items()) if len(seen) > 1]
    assert not problems, "\n".join(problems)


def test_e_long_work_has_wait_and_timeout():
    """(e) every module that starts long work (all but the _info ones) has wait + timeout; timeout implies wait."""
    problems = []
    for module in MODULES:
        spec = argument_spec(module)
        if not module.endswith("_info") and "timeout" not in spec:
            problems.append("%s: starts long work but has no 'timeout' (the whole task's deadline)" % module)
        if ("timeout" in spec or not module.endswith("_info")) and "wait" not in spec:
            problems.append("%s: has 'timeout' but no 'wait' (bool, default true)" % module)
    assert not problems, "\n".join(problems)
