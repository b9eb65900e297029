"""Federated ownership: scopes bound to paths, contracts bound to domains, CODEOWNERS from the map.

Each test builds a small project (policies/platform/, policies/<domain>/, catalog/<domain>/) and
plays a domain author who tries to claim what their folder does not own.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import replace
from pathlib import Path

import pytest
from typer.testing import CliRunner

from policyengine.cli import app
from policyengine.config import load_config
from policyengine.diagnostics import PolicyError
from policyengine.engine.loading import load
from policyengine.governance.ownership import compile_pattern
from policyengine.yamlsource import YamlError

ROOT = Path(__file__).resolve().parents[2]

OWNERSHIP = """\
ownership:
  codeowners: CODEOWNERS
  platform:
    team: "@acme/platform"
    paths: [policies/platform/**]
  domains:
    paths: ["policies/{domain}/**", "catalog/{domain}/*.yaml"]
    teams:
      sales: "@acme/sales"
      hr: ["@acme/hr", "hr-lead@acme.example"]
"""

PLATFORM = "scope platform\n\n@name(\"deny-all-emails\")\nmask tagged pii.email using redact to everyone;\n"
SALES = "scope domain sales\n\n@name(\"reps\")\nallow read sales.orders to group:reps;\n"
HR = "scope domain hr\n\n@name(\"hr\")\nallow read hr.staff to group:hr;\n"


def contract(domain: str, product: str, team: str = "") -> str:
    return (f"apiVersion: v3.0.2\nkind: DataContract\nid: {domain}-{product}\nversion: 1.0.0\nstatus: active\n"
            f"domain: {domain}\ndataProduct: {product}\n{team}"
            f"schema:\n- name: {product}\n  properties:\n  - name: id\n    logicalType: string\n"
            f"  - name: email\n    logicalType: string\n    tags: [pii.email]\n")


OWNED_BY_ANA = "team:\n- username: ana@acme.example\n  role: owner\n"


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A project with an ownership map; `write(path, text)` adds a file, `run(...)` the CLI there."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("POLICYENGINE_CONFIG", raising=False)
    files = {
        "policyengine.yaml": "policies: policies/\ncatalog: catalog/\n" + OWNERSHIP,
        "policies/platform/guardrails.policy": PLATFORM,
        "policies/sales/sales.policy": SALES,
        "policies/hr/hr.policy": HR,
        "catalog/sales/orders.yaml": contract("sales", "orders", OWNED_BY_ANA),
        "catalog/hr/staff.yaml": contract("hr", "staff"),
    }

    class Project:
        root = tmp_path

        def write(self, path: str, text: str) -> None:
            target = tmp_path / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")

        def remove(self, path: str) -> None:
            (tmp_path / path).unlink()

        def run(self, *args: str):
            return CliRunner().invoke(app, list(args), catch_exceptions=False)

        def load(self):
            cfg = load_config()
            return load(list(cfg.policies), list(cfg.catalog), ownership=cfg.ownership)

    p = Project()
    for path, text in files.items():
        p.write(path, text)
    return p


def test_a_project_whose_files_keep_to_their_paths_checks_and_loads(project) -> None:
    result = project.run("check")
    assert result.exit_code == 0, result.output
    assert "0 error(s), 0 warning(s)" in result.output
    assert project.load() is not None


def test_platform_scope_from_a_domain_folder_is_an_error_at_the_scope_line(project) -> None:
    # a sales author's file that claims the platform's scope could allow anything anywhere
    project.write("policies/sales/escape.policy", "# harmless\nscope platform\n\nallow read * to everyone;\n")
    result = project.run("check")
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert lines[0] == ("policies/sales/escape.policy:2:1: error: 'scope platform' is not allowed here: the "
                        "ownership map gives this path to domain 'sales', whose files may declare only "
                        "'scope domain sales'")
    assert lines[2:4] == ["2 | scope platform", "  | ^^^^^^^^^^^^^^"]
    assert "= note: platform files live in: policies/platform/**" in result.output
    with pytest.raises(PolicyError, match="escape.policy:2:1: error: 'scope platform' is not allowed"):
        project.load()  # fail closed: what check rejects does not load


def test_another_domains_scope_is_an_error(project) -> None:
    project.write("policies/sales/hr-too.policy", "scope domain hr\n\nallow read hr.staff to group:reps;\n")
    result = project.run("check", "--format", "json")
    assert result.exit_code == 1
    (d,) = [d for d in json.loads(result.stdout)["diagnostics"] if d["code"] == "ownership-scope"]
    assert d["location"] == "policies/sales/hr-too.policy:1:1"
    assert "gives this path to domain 'sales'" in d["message"]
    assert d["notes"] == ["files of domain 'hr' live in: policies/hr/**, catalog/hr/*.yaml"]
    with pytest.raises(PolicyError):
        project.load()


def test_a_domain_scope_in_the_platform_folder_is_an_error(project) -> None:
    project.write("policies/platform/sales.policy", SALES.replace('"reps"', '"reps2"'))
    result = project.run("check")
    assert result.exit_code == 1
    assert ("policies/platform/sales.policy:1:1: error: 'scope domain sales' is not allowed here: the ownership "
            "map gives this path to the platform, whose files may declare only 'scope platform'") in result.output


def test_a_file_outside_every_path_and_a_domain_without_a_team_are_errors(project) -> None:
    project.write("policies/loose.policy", SALES.replace('"reps"', '"loose"'))
    project.write("policies/finance/f.policy", SALES.replace('"reps"', '"fin"'))
    result = project.run("check")
    assert result.exit_code == 1
    assert "policies/loose.policy:1:1: error: 'scope domain sales' is not allowed here: this file is in no " \
           "path of the ownership map" in result.output
    assert ("policies/finance/f.policy:1:1: error: 'scope domain sales' is not allowed here: this file would "
            "belong to domain 'finance', which has no team in 'ownership.domains.teams'") in result.output


def test_a_file_outside_the_project_folder_is_given_no_scope(project, tmp_path_factory) -> None:
    elsewhere = tmp_path_factory.mktemp("elsewhere") / "x.policy"
    elsewhere.write_text(PLATFORM, encoding="utf-8")
    result = project.run("check", str(elsewhere))
    assert result.exit_code == 1
    assert "is outside the folder of policyengine.yaml" in result.output


def test_a_symlink_in_a_domain_folder_is_owned_by_its_own_path(project) -> None:
    # git and CODEOWNERS see the link's path: a link in sales/ to a platform file is a sales file
    os.symlink(project.root / "policies/platform/guardrails.policy", project.root / "policies/sales/link.policy")
    result = project.run("check", "policies/sales/link.policy", "policies/sales/sales.policy")
    assert result.exit_code == 1
    assert "policies/sales/link.policy:1:1: error: 'scope platform' is not allowed here" in result.output


def test_overlapping_paths_are_an_error_not_a_choice(project) -> None:
    config = project.root / "policyengine.yaml"
    config.write_text(config.read_text().replace("paths: [policies/platform/**]", "paths: [policies/**]"))
    result = project.run("check")
    assert result.exit_code == 1
    assert ("policies/sales/sales.policy:1:1: error: 'scope domain sales' is not allowed here: this file is "
            "claimed by the platform and domain 'sales' in the ownership map") in result.output


def test_a_contract_moved_into_another_domain_is_an_error_at_its_domain_line(project) -> None:
    # the sales team relabels its product as hr's: hr's reviewers would never see it
    project.write("catalog/sales/orders.yaml", contract("hr", "orders", OWNED_BY_ANA))
    result = project.run("check")
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert ("catalog/sales/orders.yaml:6:1: error: contract of domain 'hr': the ownership map gives its file to "
            "domain 'sales'; to move a product to another domain, move its contract into that domain's paths") in lines
    i = lines.index("6 | domain: hr")
    assert lines[i + 1] == "  | ^^^^^^"
    with pytest.raises(PolicyError) as err:
        project.load()
    assert "catalog/sales/orders.yaml:6:1: error: contract of domain 'hr'" in err.value.render()


def test_a_contract_in_no_domain_path_is_bound_by_its_team(project) -> None:
    # outside every domain path, the contract's ODCS team decides: hr's team binds it to hr only
    project.write("shared/staff2.yaml", contract("hr", "staff2", "team:\n  name: hr\n  members: []\n"))
    assert project.run("check", "--catalog", "catalog", "--catalog", "shared").exit_code == 0
    project.write("shared/staff2.yaml", contract("sales", "staff2", "team:\n  name: hr\n  members: []\n"))
    result = project.run("check", "--catalog", "catalog", "--catalog", "shared")
    assert result.exit_code == 1
    assert ("shared/staff2.yaml:6:1: error: contract of domain 'sales': its team binds it to domain 'hr', and its "
            "path to no domain") in result.output
    project.write("shared/staff2.yaml", contract("sales", "staff2"))  # no team: nothing binds it
    result = project.run("check", "--catalog", "catalog", "--catalog", "shared")
    assert result.exit_code == 1 and "its file is in no path of the ownership map" in result.output


def test_a_contract_whose_team_belongs_to_another_domain_is_an_error_in_its_folder_too(project) -> None:
    project.write("catalog/sales/staff3.yaml", contract("sales", "staff3", "team:\n- username: hr-lead@acme.example\n"
                                                                           "  role: owner\n"))
    result = project.run("check")
    assert result.exit_code == 1
    assert "contract of domain 'sales': its team binds it to domain 'hr'" in result.output


def test_without_an_ownership_map_check_warns_once(project) -> None:
    config = project.root / "policyengine.yaml"
    config.write_text("policies: policies/\ncatalog: catalog/\n")
    project.write("policies/sales/escape.policy", "scope platform\n\nallow read * to everyone;\n")
    result = project.run("check")
    assert result.exit_code == 0, result.output  # unbound: accepted, but said so
    assert result.output.count("scopes are not bound to paths") == 1
    assert "0 error(s), 1 warning(s)" in result.output
    assert project.run("check", "--strict").exit_code == 1


@pytest.mark.parametrize(("section", "message"), [
    ("ownership:\n  platfrom: {team: '@a/p', paths: []}\n  domains: {paths: ['p/{domain}/**'], teams: {}}\n",
     "policyengine.yaml:4:3: error: unknown key 'platfrom' in 'ownership' (did you mean 'platform'?) "
     "(known: platform, domains, codeowners)"),
    ("ownership:\n  platform: {team: '@a/p', paths: [], reviewers: x}\n  domains: {paths: [], teams: {}}\n",
     "policyengine.yaml:4:39: error: unknown key 'reviewers' in 'ownership.platform' (known: team, paths)"),
    ("ownership:\n  platform: {team: '@a/p', paths: []}\n  domains:\n    paths: ['p/{domain}/**']\n"
     "    teams: {}\n    owners: {}\n", "policyengine.yaml:8:5: error: unknown key 'owners' in "
     "'ownership.domains' (known: paths, teams)"),
    ("ownership:\n  platform: {paths: []}\n  domains: {paths: [], teams: {}}\n",
     "policyengine.yaml:4:3: error: 'ownership.platform' needs 'team'"),
    ("ownership:\n  platform: {team: 'platform team', paths: []}\n  domains: {paths: [], teams: {}}\n",
     "policyengine.yaml:4:14: error: 'ownership.platform.team': 'platform team' is not a CODEOWNERS owner "
     "(@user, @org/team or an e-mail address)"),
    ("ownership:\n  platform: {team: '@a/p', paths: ['../x']}\n  domains: {paths: [], teams: {}}\n",
     "policyengine.yaml:4:28: error: 'ownership.platform.paths': '../x' may not hold empty, '.' or '..' segments"),
    ("ownership:\n  platform: {team: '@a/p', paths: []}\n  domains: {paths: ['policies/**'], teams: {}}\n",
     "policyengine.yaml:5:13: error: 'ownership.domains.paths': 'policies/**' a domain path must hold {domain}"),
    ("ownership:\n  platform: {team: '@a/p', paths: []}\n  domains: {paths: ['p/{domain}'], teams: {'a.b': '@x'}}\n",
     "policyengine.yaml:5:44: error: 'a.b' is not a domain name"),
    ("ownership: [platform]\n", "policyengine.yaml:3:1: error: 'ownership' must be a mapping"),
])
def test_a_malformed_ownership_map_is_one_located_error(project, section: str, message: str) -> None:
    config = project.root / "policyengine.yaml"
    config.write_text("policies: policies/\ncatalog: catalog/\n" + section)
    with pytest.raises(YamlError) as err:
        load_config()
    assert str(err.value) == message
    result = project.run("check")
    assert result.exit_code == 2 and result.output.strip() == message  # a configuration error is an input error


@pytest.mark.parametrize(("pattern", "path", "domain"), [
    ("policies/{domain}/**", "policies/sales/a/b.policy", "sales"),
    ("policies/{domain}/**", "policies/sales", None),
    ("policies/{domain}.policy", "policies/sales.policy", "sales"),
    ("policies/{domain}.policy", "policies/sales.orders.policy", None),
    ("catalog/{domain}.*.yaml", "catalog/hr.staff.yaml", "hr"),
    ("catalog/*/{domain}.yaml", "catalog/x/hr.yaml", "hr"),
    ("catalog/*/{domain}.yaml", "catalog/x/y/hr.yaml", None),
    ("**/{domain}.policy", "a/b/hr.policy", "hr"),
    ("{domain}/{domain}.policy", "hr/hr.policy", "hr"),
    ("{domain}/{domain}.policy", "hr/sales.policy", None),
    ("policies/{domain}", "policies/hr/x.policy", "hr"),  # a folder covers what is in it, as in CODEOWNERS
])
def test_domain_path_globs(pattern: str, path: str, domain: str | None) -> None:
    m = compile_pattern(pattern, template=True).fullmatch(path)
    assert (m.group("domain") if m else None) == domain


def test_codeowners_is_written_from_the_map_and_the_contracts_owners(project) -> None:
    result = project.run("codeowners")
    assert result.exit_code == 0 and result.output == "wrote CODEOWNERS (24 lines)\n"
    lines = (project.root / "CODEOWNERS").read_text().splitlines()
    assert [line for line in lines if line and not line.startswith("#")] == [
        "/policies/*/** @acme/platform",  # a domain the map does not name yet: the platform reviews
        "/catalog/*/*.yaml @acme/platform",
        "/policies/hr/** @acme/hr hr-lead@acme.example",
        "/catalog/hr/*.yaml @acme/hr hr-lead@acme.example",
        "/policies/sales/** @acme/sales",
        "/catalog/sales/*.yaml @acme/sales",
        "/catalog/sales/orders.yaml @acme/sales ana@acme.example",  # the contract's owner reviews it too
        "/policies/platform/** @acme/platform",  # last, so it wins: guardrails and the map itself
        "**/.gitattributes @acme/platform",  # what a checkout holds (issue 19, hole 7)
        "/.github/workflows/ @acme/platform",  # whether the gates run at all
        "/.gitlab-ci.yml @acme/platform",
        "/policyengine.yaml @acme/platform",
        "/CODEOWNERS @acme/platform",
    ]
    assert project.run("codeowners", "--check").exit_code == 0


def test_codeowners_check_fails_on_drift_and_prints_the_diff(project) -> None:
    assert project.run("codeowners").exit_code == 0
    committed = (project.root / "CODEOWNERS").read_text()
    # a new owner in a contract: the committed file no longer says who reviews it
    project.write("catalog/hr/staff.yaml", contract("hr", "staff", "team:\n- username: lea@acme.example\n  role: owner\n"))
    result = project.run("codeowners", "--check")
    assert result.exit_code == 1
    assert "+/catalog/hr/staff.yaml @acme/hr hr-lead@acme.example lea@acme.example" in result.stdout
    assert result.stdout.startswith("--- a/CODEOWNERS\n+++ b/CODEOWNERS\n")
    assert "CODEOWNERS: error: differs from what the ownership map gives" in result.output
    assert (project.root / "CODEOWNERS").read_text() == committed  # --check writes nothing
    # a hand edit is drift too
    (project.root / "CODEOWNERS").write_text(committed.replace("@acme/sales", "@acme/someone-else"))
    project.remove("catalog/hr/staff.yaml")
    project.write("catalog/hr/staff.yaml", contract("hr", "staff"))
    assert project.run("codeowners", "--check").exit_code == 1


def test_codeowners_check_when_the_file_is_missing(project) -> None:
    result = project.run("codeowners", "--check")
    assert result.exit_code == 1
    assert result.stdout.startswith("--- /dev/null\n+++ b/CODEOWNERS\n")
    assert "CODEOWNERS: error: is missing" in result.output
    assert not (project.root / "CODEOWNERS").exists()


def test_codeowners_without_a_map_is_a_usage_error(project) -> None:
    (project.root / "policyengine.yaml").write_text("policies: policies/\ncatalog: catalog/\n")
    result = project.run("codeowners")
    assert result.exit_code == 2
    assert result.output.strip() == ("policyengine.yaml: error: no 'ownership:' map to write CODEOWNERS from "
                                     "(see docs/governance-federated.md)")


def test_codeowners_patterns_are_relative_to_the_repository(project) -> None:
    # policyengine.yaml in a subfolder of a git repository: CODEOWNERS patterns start at the repository
    (project.root / ".git").mkdir()
    sub = project.root / "mesh"
    sub.mkdir()
    for name in ("policyengine.yaml", "policies", "catalog"):
        (project.root / name).rename(sub / name)
    os.chdir(sub)
    assert project.run("codeowners").exit_code == 0
    text = (sub / "CODEOWNERS").read_text()
    assert "\n/mesh/policies/sales/** @acme/sales\n" in text and "\n/mesh/CODEOWNERS @acme/platform\n" in text
    # without 'codeowners', the file goes where GitHub and GitLab look: the repository's .github/
    config = sub / "policyengine.yaml"
    config.write_text(config.read_text().replace("  codeowners: CODEOWNERS\n", ""))
    result = project.run("codeowners")
    assert result.exit_code == 0 and result.output.endswith("/.github/CODEOWNERS (24 lines)\n")
    text = (project.root / ".github" / "CODEOWNERS").read_text()
    assert text.endswith("\n/mesh/policyengine.yaml @acme/platform\n/.github/CODEOWNERS @acme/platform\n")


def test_the_repository_uses_ownership_and_its_codeowners_is_up_to_date(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    monkeypatch.delenv("POLICYENGINE_CONFIG", raising=False)
    cfg = load_config()
    assert cfg.ownership is not None and set(cfg.ownership.teams) == {"hr", "marketing", "sales"}
    result = CliRunner().invoke(app, ["codeowners", "--check"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    checked = CliRunner().invoke(app, ["check"], catch_exceptions=False)
    assert checked.exit_code == 0 and "scopes are not bound" not in checked.output


def test_the_docs_show_the_repositorys_map_and_codeowners_as_they_are() -> None:
    doc = (ROOT / "docs" / "governance-federated.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```(?:yaml)?\n(.*?)```", doc, re.S)
    config = (ROOT / "policyengine.yaml").read_text(encoding="utf-8")
    section = config[config.index("ownership:"):]
    assert section in blocks
    assert (ROOT / ".github" / "CODEOWNERS").read_text(encoding="utf-8") in blocks


def test_the_default_engine_denies_everything_when_a_scope_escapes_its_path(project) -> None:
    # the gateway and policyengine.evaluate() load the configured project: an escaped scope fails closed
    from policyengine.engine.loading import evaluate, reset_default_engine

    consumer = {"id": "r", "groups": ["reps"], "attributes": {}}
    reset_default_engine()
    try:
        assert evaluate(consumer, "sales.orders").columns["id"].effect == "allow"
        project.write("policies/sales/escape.policy", "scope platform\n\nallow read * to everyone;\n")
        reset_default_engine()
        denied = evaluate(consumer, "sales.orders", columns=["id", "email"])
        assert {n: c.effect for n, c in denied.columns.items()} == {"id": "deny", "email": "deny"}
        assert "'scope platform' is not allowed here" in (denied.error or "")
    finally:
        reset_default_engine()


def test_products_built_in_code_have_no_file_to_bind(project) -> None:
    from policyengine.catalog.contracts import Catalog, load_catalog

    cfg = load_config()
    loaded = load_catalog(list(cfg.catalog))
    in_code = Catalog({n: replace(p, source="", domain_span=None) for n, p in loaded.products.items()},
                      loaded.taxonomy)
    assert load(list(cfg.policies), in_code, ownership=cfg.ownership) is not None


def test_a_map_nobody_can_read_fails_closed(project, monkeypatch: pytest.MonkeyPatch) -> None:
    # the configuration sits below the governance stage and reads the map through an installed reader
    import policyengine.config as config

    monkeypatch.setattr(config, "_OWNERSHIP_READER", None)
    with pytest.raises(YamlError, match=r"policyengine.yaml:3:1: error: no reader for 'ownership'"):
        load_config()
