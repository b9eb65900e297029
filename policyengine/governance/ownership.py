"""The ownership map: which files may declare which scope, which domain a contract belongs to, and
the CODEOWNERS file that makes the right team review each of them.

Federated governance means the platform team sets guardrails (`scope platform`) and each domain
team owns its rules (`scope domain sales`). A scope is only as trustworthy as the review of the
file that declares it, so the map in policyengine.yaml binds scopes to paths:

    ownership:
      platform:
        team: "@example/data-platform"
        paths: [policies/platform.policy, policies/tests/**]
      domains:
        paths: ["policies/{domain}.policy", "examples/mesh/products/{domain}.*.yaml"]
        teams:
          sales: "@example/sales-data"

A policy file may declare `scope platform` only under a platform path and `scope domain X` only
under a domain path whose `{domain}` is X, with X named under `teams`. A contract's `domain` must
be the domain of the path it lives in (or, outside every domain path, the domain whose team owns
it). Paths are relative to policyengine.yaml, in the CODEOWNERS/gitignore glob syntax (`*` within
a folder, `**` across folders, `?` one character; a pattern naming a folder covers what is in it).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from types import MappingProxyType

from policyengine.catalog.contracts import Catalog, Product
from policyengine.diagnostics import Diagnostic, Span, did_you_mean
from policyengine.language import ast
from policyengine.yamlsource import LocatedDict, YamlError

DEFAULT_CODEOWNERS = ".github/CODEOWNERS"
_DOMAIN = "{domain}"
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_\-]*")  # a domain name, as the policy grammar's NAME
_OWNER = re.compile(r"@[A-Za-z0-9](?:[A-Za-z0-9_.\-]*)(?:/[A-Za-z0-9_.\-]+)?|[^@\s/]+@[^@\s/]+\.[^@\s/]+")


@dataclass(frozen=True, slots=True)
class PathPattern:
    """One path glob of the map, relative to the configuration's folder."""

    text: str
    regex: re.Pattern[str]

    def match(self, rel: str) -> str | None:
        """The domain the pattern gives `rel` ("" for a pattern without {domain}), else None."""
        m = self.regex.fullmatch(rel)
        if m is None:
            return None
        return m.groupdict().get("domain") or ""

    def codeowners(self, domain: str | None = None) -> str:
        """The pattern in CODEOWNERS syntax, {domain} replaced by `domain` (or `*` for any)."""
        return self.text.replace(_DOMAIN, domain if domain is not None else "*")


@dataclass(frozen=True, slots=True)
class Owner:
    """Who owns a path: the platform (`domain` None) or one domain."""

    domain: str | None

    def describe(self) -> str:
        return "the platform" if self.domain is None else f"domain '{self.domain}'"

    def allows(self, scope: ast.Scope) -> bool:
        return scope.domain == self.domain if scope.kind == "domain" else self.domain is None


@dataclass(frozen=True)
class Ownership:
    """The `ownership:` map of policyengine.yaml, with its paths compiled."""

    root: Path
    platform_team: tuple[str, ...]
    platform_paths: tuple[PathPattern, ...]
    domain_paths: tuple[PathPattern, ...]
    teams: Mapping[str, tuple[str, ...]]
    codeowners: str | None = None  # relative to root; None: .github/CODEOWNERS of the repository
    config_file: str = "policyengine.yaml"  # relative to root: owned by the platform, like the map

    def codeowners_file(self) -> Path:
        """Where `policyengine codeowners` writes: the map's `codeowners`, else the repository's
        .github/CODEOWNERS (where GitHub and GitLab look for it)."""
        if self.codeowners is not None:
            return self.root / self.codeowners
        return repository_root(self.root) / DEFAULT_CODEOWNERS

    @cached_property
    def _roots(self) -> tuple[str, ...]:
        """The map's folder as written and with its links resolved (computed once)."""
        return tuple(dict.fromkeys((os.path.abspath(self.root), os.path.realpath(self.root))))

    def relative(self, path: str | Path) -> str | None:
        """`path` relative to the map's folder (symbolic links not followed: git and CODEOWNERS
        see the link's own path), or None when it is outside that folder."""
        absolute = os.path.abspath(path)
        for root in self._roots:
            if absolute.startswith(root.rstrip(os.sep) + os.sep):
                return Path(absolute[len(root.rstrip(os.sep)) + 1:]).as_posix()
        return None

    def owners(self, rel: str) -> tuple[Owner, ...]:
        """Every owner the map gives a relative path (more than one is a conflict). `{domain}`
        stands for the domains named under `teams` only: a new domain needs the map changed first."""
        found: list[Owner] = []
        if any(p.match(rel) is not None for p in self.platform_paths):
            found.append(Owner(None))
        for p in self.domain_paths:
            domain = p.match(rel)
            if domain in self.teams and Owner(domain) not in found:
                found.append(Owner(domain))
        return tuple(found)

    def check(self, files: Sequence[ast.PolicyFile], catalog: Catalog) -> list[Diagnostic]:
        """The map's errors for a project (language.files.ProjectCheck): see `check_ownership`."""
        return check_ownership(self, files, catalog)

    def unnamed_domain(self, rel: str) -> str | None:
        """The domain a domain path would give `rel` if the map named it under `teams`."""
        for p in self.domain_paths:
            domain = p.match(rel)
            if domain and domain not in self.teams:
                return domain
        return None


# ---- parsing the map (errors are YamlErrors located in policyengine.yaml)

def _error(source: str, where: tuple[int, int], message: str) -> YamlError:
    return YamlError.at(source, where, message)


def _mapping(value: object, what: str, known: tuple[str, ...], source: str, where: tuple[int, int]) -> LocatedDict:
    """`value` as a mapping whose every key is known (an unknown key is an error, not ignored)."""
    if not isinstance(value, LocatedDict):
        raise _error(source, where, f"{what} must be a mapping")
    for key in value:
        if key not in known:
            raise _error(source, value.where(key), f"unknown key '{key}' in {what}{did_you_mean(key, known)} "
                         f"(known: {', '.join(known)})")
    return value


def _strings(value: object, what: str, source: str, where: tuple[int, int]) -> tuple[str, ...]:
    items = value if isinstance(value, list) else [value]
    if not all(isinstance(i, str) and i for i in items):
        raise _error(source, where, f"{what} must be a string or a list of strings")
    return tuple(items)


def _owners(value: object, what: str, source: str, where: tuple[int, int]) -> tuple[str, ...]:
    owners = _strings(value, what, source, where)
    for o in owners:
        if not _OWNER.fullmatch(o):
            raise _error(source, where, f"{what}: '{o}' is not a CODEOWNERS owner (@user, @org/team or an "
                         "e-mail address)")
    return owners


def compile_pattern(text: str, template: bool) -> re.Pattern[str]:
    """A path glob as a regular expression over `/`-separated relative paths; `{domain}` (only in
    templates) captures a domain name. Raises ValueError saying what is wrong with the glob."""
    if not text or text.startswith("/") or re.match(r"^[A-Za-z]:", text):
        raise ValueError("must be a relative path")
    if re.search(r"[\s#!\[\]\\]", text):
        raise ValueError("may not hold spaces, '#', '!', '[', ']' or '\\' (CODEOWNERS cannot express them)")
    segments = text.removeprefix("./").rstrip("/").split("/")
    if any(s in ("", ".", "..") for s in segments):
        raise ValueError("may not hold empty, '.' or '..' segments")
    if any("**" in s and s != "**" for s in segments):
        raise ValueError("'**' must be a whole path segment")
    rest = re.sub(r"\{domain\}", "", "/".join(segments))
    if "{" in rest or "}" in rest:
        raise ValueError("the only placeholder is {domain}")
    if template and _DOMAIN not in text:
        raise ValueError("a domain path must hold {domain}")
    if not template and _DOMAIN in text:
        raise ValueError("{domain} belongs in the domain paths")
    out: list[str] = []
    seen = False
    for i, seg in enumerate(segments):
        last = i == len(segments) - 1
        if seg == "**":
            out.append(".*" if last else "(?:[^/]+/)*")
            continue
        for token in re.split(r"(\{domain\}|\*|\?)", seg):
            if token == "*":
                out.append("[^/]*")
            elif token == "?":
                out.append("[^/]")
            elif token == _DOMAIN:
                out.append("(?P=domain)" if seen else f"(?P<domain>{_NAME.pattern})")
                seen = True
            else:
                out.append(re.escape(token))
        if not last:
            out.append("/")
    # like CODEOWNERS: a pattern that names a folder covers everything under it
    return re.compile("".join(out) + ("" if segments[-1] == "**" else "(?:/.*)?"))


def _patterns(value: object, what: str, source: str, where: tuple[int, int],
              template: bool) -> tuple[PathPattern, ...]:
    if value is None:
        raise _error(source, where, f"{what} is missing")
    texts = _strings(value, what, source, where) if value != [] else ()
    out = []
    for t in texts:
        try:
            regex = compile_pattern(t, template)
        except ValueError as exc:
            raise _error(source, where, f"{what}: '{t}' {exc}") from None
        out.append(PathPattern(t.removeprefix("./"), regex))
    return tuple(out)


def parse_ownership(value: object, root: Path, source: str, where: tuple[int, int] = (1, 1),
                    config_file: str = "policyengine.yaml") -> Ownership:
    """The `ownership:` section of policyengine.yaml; unknown keys, malformed paths and owners are
    located errors (a typo must not silently leave scopes unbound)."""
    top = _mapping(value, "'ownership'", ("platform", "domains", "codeowners"), source, where)
    if "platform" not in top or "domains" not in top:
        missing = "platform" if "platform" not in top else "domains"
        raise _error(source, where, f"'ownership' needs '{missing}' (see docs/governance-federated.md)")
    platform = _mapping(top["platform"], "'ownership.platform'", ("team", "paths"), source, top.where("platform"))
    if "team" not in platform:
        raise _error(source, top.where("platform"), "'ownership.platform' needs 'team'")
    domains = _mapping(top["domains"], "'ownership.domains'", ("paths", "teams"), source, top.where("domains"))
    teams_value = domains.get("teams")
    if not isinstance(teams_value, LocatedDict):
        raise _error(source, domains.where("teams") if "teams" in domains else top.where("domains"),
                     "'ownership.domains.teams' must map each domain to its team")
    teams: dict[str, tuple[str, ...]] = {}
    for name, owners in teams_value.items():
        if not _NAME.fullmatch(name) or name == "platform":
            raise _error(source, teams_value.where(name), f"'{name}' is not a domain name")
        teams[name] = _owners(owners, f"the team of domain '{name}'", source, teams_value.where(name))
    codeowners = top.get("codeowners")
    if codeowners is not None and (not isinstance(codeowners, str) or not codeowners
                                   or codeowners.startswith("/") or ".." in codeowners.split("/")):
        raise _error(source, top.where("codeowners"), "'ownership.codeowners' must be a relative file path")
    return Ownership(
        root=root,
        platform_team=_owners(platform["team"], "'ownership.platform.team'", source, platform.where("team")),
        platform_paths=_patterns(platform.get("paths"), "'ownership.platform.paths'", source,
                                 platform.where("paths"), template=False),
        domain_paths=_patterns(domains.get("paths"), "'ownership.domains.paths'", source,
                               domains.where("paths"), template=True),
        teams=MappingProxyType(teams),
        codeowners=codeowners,
        config_file=config_file,
    )


# ---- checking policy files and contracts against the map

def unbound_warning(config_file: str | None) -> Diagnostic:
    """The one warning `check` gives when policyengine.yaml has no ownership map."""
    return Diagnostic("warning", "scopes are not bound to paths: any policy file may declare 'scope platform' "
                      "or any domain's scope; add an 'ownership:' map to policyengine.yaml "
                      "(docs/governance-federated.md)", file=config_file or "policyengine.yaml",
                      code="ownership-unbound")


def _sole_owner(own: Ownership, rel: str | None, what: str) -> tuple[Owner | None, str | None]:
    """The one owner of a path, or None with the reason it has none (or more than one)."""
    if rel is None:
        return None, f"{what} is outside the folder of policyengine.yaml ({own.root}), so the ownership map gives it no owner"
    owners = own.owners(rel)
    if not owners:
        unnamed = own.unnamed_domain(rel)
        if unnamed is not None:
            return None, (f"{what} would belong to domain '{unnamed}', which has no team in "
                          f"'ownership.domains.teams'{did_you_mean(unnamed, own.teams)}")
        return None, f"{what} is in no path of the ownership map"
    if len(owners) > 1:
        return None, (f"{what} is claimed by {' and '.join(o.describe() for o in owners)} in the ownership map: "
                      "make their paths disjoint, so one team reviews it")
    return owners[0], None


def check_policy_files(own: Ownership, files: Iterable[ast.PolicyFile]) -> list[Diagnostic]:
    """An error at the scope line of every file whose path does not allow the scope it declares."""
    diags: list[Diagnostic] = []
    for f in files:
        if f.scope is None:  # the checker reports a file without a scope
            continue
        declared = "scope platform" if f.scope.kind == "platform" else f"scope domain {f.scope.domain}"
        owner, why = _sole_owner(own, own.relative(f.path), "this file")
        if owner is None:
            diags.append(Diagnostic("error", f"'{declared}' is not allowed here: {why}", f.scope.span,
                                    code="ownership-scope"))
        elif not owner.allows(f.scope):
            hint = ("may declare only 'scope platform'" if owner.domain is None
                    else f"may declare only 'scope domain {owner.domain}'")
            diags.append(Diagnostic("error", f"'{declared}' is not allowed here: the ownership map gives this "
                                    f"path to {owner.describe()}, whose files {hint}", f.scope.span,
                                    code="ownership-scope",
                                    notes=(_where_allowed(own, f.scope),)))
    return diags


def _where_allowed(own: Ownership, scope: ast.Scope) -> str:
    if scope.kind == "platform":
        paths = ", ".join(p.text for p in own.platform_paths) or "none"
        return f"platform files live in: {paths}"
    if scope.domain not in own.teams:
        return f"domain '{scope.domain}' has no team in 'ownership.domains.teams'"
    return f"files of domain '{scope.domain}' live in: " + ", ".join(p.codeowners(scope.domain) for p in own.domain_paths)


def _same_identity(name: str, handle: str) -> bool:
    """An ODCS team name or username against a CODEOWNERS owner: equal, `@name`, or `@org/name`."""
    n, h = name.lower().lstrip("@"), handle.lower().lstrip("@")
    return n == h or h.endswith("/" + n)


def _domains_of_team(own: Ownership, owners: Iterable[str]) -> set[str]:
    return {d for d, team in own.teams.items() if any(_same_identity(o, h) for o in owners for h in team)}


@dataclass(frozen=True, slots=True)
class _Contract:
    source: str
    domain: str
    span: Span | None
    owners: tuple[str, ...]


def _contracts(catalog: Catalog) -> list[_Contract]:
    """Each contract file of the catalog once, with where it names its domain and its owners."""
    by_file: dict[str, Product] = {}
    for p in catalog.products.values():
        if p.source:  # a product built in code has no file to bind
            by_file.setdefault(p.source, p)
    return [_Contract(source, p.domain, p.domain_span or p.span, p.owners) for source, p in sorted(by_file.items())]


def check_contracts(own: Ownership, catalog: Catalog) -> list[Diagnostic]:
    """An error at the `domain` of every contract that its path (or, outside every domain path,
    its owning team) does not bind to that domain: a product cannot change domain unnoticed."""
    diags: list[Diagnostic] = []
    for c in _contracts(catalog):
        def error(message: str, c: _Contract = c) -> None:
            diags.append(Diagnostic("error", f"contract of domain '{c.domain}': {message}", c.span,
                                    file=c.source, code="ownership-contract"))

        by_team = _domains_of_team(own, c.owners)
        rel = own.relative(c.source)
        if rel is not None and not own.owners(rel) and by_team:
            if c.domain not in by_team:
                error(f"its team binds it to {_names(by_team)}, and its path to no domain")
            continue
        owner, why = _sole_owner(own, rel, "its file")
        if owner is None:
            error(why or "")
        elif owner.domain is None:
            error("its file is in a platform path; a contract lives in its domain's paths")
        elif owner.domain != c.domain:
            error(f"the ownership map gives its file to domain '{owner.domain}'; to move a product to another "
                  f"domain, move its contract into that domain's paths")
        elif by_team and c.domain not in by_team:
            error(f"its team binds it to {_names(by_team)}")
    return diags


def _names(domains: Iterable[str]) -> str:
    names = sorted(domains)
    return ("domain " if len(names) == 1 else "domains ") + ", ".join(f"'{d}'" for d in names)


def check_ownership(own: Ownership, files: Iterable[ast.PolicyFile], catalog: Catalog) -> list[Diagnostic]:
    """Both bindings: each policy file's scope by its path, each contract's domain by its path or team."""
    return check_policy_files(own, files) + check_contracts(own, catalog)


# ---- CODEOWNERS

def repository_root(start: Path) -> Path:
    """The folder holding `.git` (a folder, or a file in a worktree) at or above `start`, else `start`:
    CODEOWNERS patterns are relative to the repository, the map's paths to policyengine.yaml."""
    here = start.resolve()
    for folder in (here, *here.parents):
        if (folder / ".git").exists():
            return folder
    return here


ATTRIBUTES_PATTERN = "**/.gitattributes"
CI_PATTERNS = ("/.github/workflows/", "/.gitlab-ci.yml")  # the CI definitions that run the gates


@dataclass(frozen=True, slots=True)
class ReadFile:
    """A file (or folder) the engine or a gate reads, and what it is to them."""

    path: Path
    what: str  # "the consumers file", "a taxonomy file", "samples", "the sample of sales.orders"


def read_files(catalog: Catalog, *, consumers: Path | None = None, taxonomy: Iterable[Path] = (),
               samples: Iterable[Path] = (), policies: Iterable[Path] = ()) -> list[ReadFile]:
    """The files besides policyengine.yaml that decide what the engine and the gates do: the
    policy files and contracts (which the map binds to scopes and domains), the consumers file
    (who holds which group), taxonomy files (which tags are sensitive), the samples folders and
    every product's sample file (what `scan` reads). Each needs an owner in CODEOWNERS: an
    `approved:` in a file nobody owns is approved by its author."""
    out = []
    for p in policies:
        p = Path(p)
        files = sorted(p.rglob("*.policy")) if p.is_dir() else [p]
        out += [ReadFile(f, "a policy file") for f in files]
    out += [ReadFile(Path(c), "a data contract") for c in sorted({p.source for p in catalog.products.values()
                                                                    if p.source})]
    out += [ReadFile(Path(consumers), "the consumers file")] if consumers is not None else []
    out += [ReadFile(Path(t), "a taxonomy file") for t in taxonomy]
    out += [ReadFile(Path(s), "samples") for s in samples]
    for name in sorted(catalog.products):
        out += [ReadFile(s.path, f"the sample of {name}") for s in catalog.products[name].samples]
    return out


def _in_repo(repo: Path, path: Path) -> str | None:
    try:
        return path.resolve().relative_to(repo).as_posix()
    except (ValueError, OSError):
        return None


def codeowners_regex(pattern: str) -> re.Pattern[str] | None:
    """A CODEOWNERS pattern as GitHub and GitLab read it (gitignore syntax): a leading `/` or a `/`
    inside anchors it at the repository's top, else it matches at any depth; `*` within a folder,
    `**` across folders, `?` one character; a pattern naming a folder covers what is below it.
    None for a pattern this reader does not understand (it then owns nothing)."""
    text = pattern.rstrip("/") if pattern not in ("/", "") else ""
    if not text or "\\" in text or "[" in text:
        return None
    anchored = text.startswith("/") or "/" in text.lstrip("/")
    out = []
    for i, seg in enumerate(text.lstrip("/").split("/")):
        if i:
            out.append("/")
        if seg == "**":
            out.append("(?:.*)")
            continue
        for token in re.split(r"(\*|\?)", seg):
            out.append("[^/]*" if token == "*" else "[^/]" if token == "?" else re.escape(token))
    body = "".join(out).replace("(?:.*)/", "(?:.*/)?")
    return re.compile(("" if anchored else "(?:.*/)?") + body + "(?:/.*)?")


def codeowners_owners(text: str, rel: str) -> tuple[str, ...] | None:
    """The owners the last CODEOWNERS line matching `rel` (relative to the repository) names
    (empty when that line names none), or None when no line matches."""
    found: tuple[str, ...] | None = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or line.startswith("["):  # comment, GitLab section
            continue
        pattern, *owners = line.split("#", 1)[0].split()
        regex = codeowners_regex(pattern)
        if regex is not None and regex.fullmatch(rel):
            found = tuple(owners)
    return found


def unowned_read_files(own: Ownership, text: str, read: Iterable[ReadFile], repo_root: Path | None = None) -> list[tuple[str, str]]:
    """(path, what) of each read file the CODEOWNERS `text` gives no owner (a folder is checked
    file by file; `.gitattributes` and the map itself are always checked)."""
    repo = (repo_root or repository_root(own.root)).resolve()
    checks: list[tuple[str, str]] = [(".gitattributes", "a .gitattributes file")]
    config = _in_repo(repo, own.root / own.config_file)
    if config:
        checks.append((config, "the ownership map (policyengine.yaml)"))
    for f in read:
        paths = sorted(p for p in f.path.rglob("*") if p.is_file()) if f.path.is_dir() else [f.path]
        for p in paths or [f.path / ".keep"]:
            rel = _in_repo(repo, p)
            if rel is None:
                checks.append((str(p), f"{f.what} (outside the repository: no CODEOWNERS line can own it)"))
            else:
                checks.append((rel, f.what))
    out = []
    first: dict[str, str] = {}
    for rel, what in checks:
        first.setdefault(rel, what)
    for rel, what in first.items():
        if rel.startswith("/") or " (outside the repository" in what or not codeowners_owners(text, rel):
            out.append((rel, what))
    return out


def samples_not_platform_owned(own: Ownership, text: str, read: Iterable[ReadFile],
                               repo_root: Path | None = None) -> list[tuple[str, str, tuple[str, ...]]]:
    """(path, what, owners) of each sample file (a `samples:` folder's, or a product's) the
    CODEOWNERS `text` gives to owners besides the platform team. A contract's `servers.path` is
    its domain's to edit: pointed at a file the domain owns (the contract itself, its policy
    file), the domain writes the sample the scan checks and reviews it itself."""
    repo = (repo_root or repository_root(own.root)).resolve()
    platform = set(own.platform_team)
    out: list[tuple[str, str, tuple[str, ...]]] = []
    seen: set[str] = set()
    for f in read:
        if not (f.what == "samples" or f.what.startswith("the sample of ")):
            continue
        paths = sorted(p for p in f.path.rglob("*") if p.is_file()) if f.path.is_dir() else [f.path]
        for p in paths:
            rel = _in_repo(repo, p)
            if rel is None or rel in seen:
                continue  # outside the repository: unowned_read_files reports it
            seen.add(rel)
            owners = codeowners_owners(text, rel)
            if owners and not set(owners) <= platform:
                out.append((rel, f.what, owners))
    return out


class CodeownersPathError(ValueError):
    """A path CODEOWNERS cannot hold literally (its text is the path, repository-relative)."""


_GLOB_OR_COMMENT = frozenset("*?[]\\#")


def _literal(path: str) -> str:
    """`path` as a CODEOWNERS pattern naming that file only; CodeownersPathError when it cannot be
    written so: a line break would start a line of the author's own (`* @mallory`), a space
    splits the pattern from its owners, `#` starts a comment, `*` `?` `[` `]` `\\` are glob or
    escape syntax. A contract's file name, and a sample path, are a domain's to choose."""
    bad = [ch for ch in path if ch in _GLOB_OR_COMMENT or ch.isspace() or not ch.isprintable()]
    if bad:
        raise CodeownersPathError(path)
    return path


def render_codeowners(own: Ownership, catalog: Catalog, repo_root: Path | None = None,
                      read: Sequence[ReadFile] = ()) -> str:
    """The CODEOWNERS text (GitHub and GitLab syntax) the map and the contracts' owners give.

    The last matching line wins in both, so the order is: files of domains the map does not name
    yet (the platform team), then the files the gates read that the map gives no owner (`read`:
    the platform team), then each domain's paths and contracts (its team, plus the owners its
    contracts name), then the platform's own paths, every `.gitattributes`, the CI definitions
    (GitHub workflows, .gitlab-ci.yml: they decide whether the gates run), the map and this file
    (the platform team)."""
    repo = (repo_root or repository_root(own.root)).resolve()

    def in_repo(path: Path) -> str:
        found = _in_repo(repo, path)
        return found if found is not None else path.name

    prefix = in_repo(own.root)  # the repository is at or above the map's folder
    prefix = "" if prefix == "." else prefix

    def pattern(text: str) -> str:
        return "/" + (f"{prefix}/{text}" if prefix else text)

    def line(text: str, owners: Iterable[str]) -> str:  # a pattern of the map (reviewed platform text)
        return f"{pattern(text)} {' '.join(dict.fromkeys(owners))}"

    def file_line(rel: str, owners: Iterable[str]) -> str:  # a path a domain may have chosen
        return line(_literal(rel), owners)

    platform = own.platform_team
    out = ["# Generated by `policyengine codeowners` from the ownership map in policyengine.yaml and the",
           "# data contracts' owners. Do not edit: change the map (or a contract's team) and run it again.",
           "# The last matching line wins: a file of a domain the map does not name yet goes to the platform.",
           ""]
    if own.domain_paths:
        out.append("# files of domains the ownership map does not name yet")
        out.extend(line(p.codeowners(), platform) for p in own.domain_paths)
    unowned = _unmapped(own, read)
    if unowned:
        out.extend(["", "# files the engine and the gates read that the map gives no team: the platform"])
        out.extend(file_line(rel, platform) for rel in unowned)
    contracts: dict[str, list[_Contract]] = {}
    for c in _contracts(catalog):
        rel = own.relative(c.source)
        if rel is None:
            continue
        owners = own.owners(rel)
        domains = ({o.domain for o in owners} if owners else _domains_of_team(own, c.owners) & {c.domain})
        if len(owners) <= 1 and len(domains) == 1 and None not in domains:
            contracts.setdefault(str(next(iter(domains))), []).append(_Contract(rel, c.domain, c.span, c.owners))
    for domain, team in sorted(own.teams.items()):
        out.extend(["", f"# domain {domain}"])
        out.extend(line(p.codeowners(domain), team) for p in own.domain_paths)
        for c in contracts.get(domain, []):
            extra = [o for o in c.owners if _OWNER.fullmatch(o)]
            covered = any(p.match(c.source) == domain for p in own.domain_paths)
            if extra or not covered:
                out.append(file_line(c.source, [*team, *extra]))
    out.extend(["", "# the platform: guardrails, git attributes, the CI that runs the gates, the ownership map "
                    "and this file"])
    out.extend(line(p.text, platform) for p in own.platform_paths)
    out.append(f"{ATTRIBUTES_PATTERN} {' '.join(platform)}")  # what a checkout holds, at any depth
    out.extend(f"{ci} {' '.join(platform)}" for ci in CI_PATTERNS)  # whether the gates run at all
    out.append(line(own.config_file, platform))
    out.append(f"/{in_repo(own.codeowners_file())} {' '.join(platform)}")
    return "\n".join(out) + "\n"


def _unmapped(own: Ownership, read: Iterable[ReadFile]) -> list[str]:
    """The read files (paths relative to the map's folder, a folder with a trailing `/`) the map
    gives no single owner, in order, each once; a file inside a folder already listed is left out."""
    out: list[str] = []
    for f in read:
        rel = own.relative(f.path)
        if rel is None or len(own.owners(rel)) == 1:
            continue
        if f.path.is_dir():
            rel += "/"
        if not any(rel.startswith(o) for o in out if o.endswith("/")) and rel not in out:
            out.append(rel)
    return out
