"""`policyengine consumers sync --ldap` against a real OpenLDAP server (Debian's slapd), started
by the test on a free loopback port with a throwaway database, and stopped after."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from policyengine.catalog.consumers import load_directory
from policyengine.cli import app

SLAPD = shutil.which("slapd") or ("/usr/sbin/slapd" if Path("/usr/sbin/slapd").exists() else None)
SCHEMA = Path("/etc/ldap/schema")
MODULES = Path("/usr/lib/ldap")
ROOT_DN, PASSWORD = "cn=admin,dc=example,dc=com", "secret-for-the-test-only"

if SLAPD is None or not SCHEMA.is_dir():
    if os.environ.get("CI") == "true":
        pytest.fail("slapd is missing (CI installs slapd and ldap-utils: see .ci/run)", pytrace=False)
    pytest.skip("slapd is not installed (apt-get install slapd ldap-utils)", allow_module_level=True)

CONF = """\
include {schema}/core.schema
include {schema}/cosine.schema
include {schema}/inetorgperson.schema
include {schema}/nis.schema
pidfile {run}/slapd.pid
modulepath {modules}
moduleload back_mdb
database mdb
suffix "dc=example,dc=com"
rootdn "{root}"
rootpw {password}
directory {db}
maxsize 10485760
"""

LDIF = """\
dn: dc=example,dc=com
objectClass: dcObject
objectClass: organization
o: Example
dc: example

dn: ou=people,dc=example,dc=com
objectClass: organizationalUnit
ou: people

dn: ou=groups,dc=example,dc=com
objectClass: organizationalUnit
ou: groups

dn: uid=ana,ou=people,dc=example,dc=com
objectClass: inetOrgPerson
uid: ana
cn: Ana Lopez
sn: Lopez
mail: ana@example.com
l: eu
employeeNumber: 4711

dn: uid=priya,ou=people,dc=example,dc=com
objectClass: inetOrgPerson
uid: priya
cn: Priya Shah
sn: Shah
mail: priya@example.com
l: uk
employeeNumber: 12

dn: cn=Data Analysts,ou=groups,dc=example,dc=com
objectClass: groupOfNames
cn: Data Analysts
member: uid=ana,ou=people,dc=example,dc=com

dn: cn=Privacy Office,ou=groups,dc=example,dc=com
objectClass: groupOfNames
cn: Privacy Office
member: uid=priya,ou=people,dc=example,dc=com

dn: cn=All Staff,ou=groups,dc=example,dc=com
objectClass: groupOfNames
cn: All Staff
member: uid=ana,ou=people,dc=example,dc=com
member: uid=priya,ou=people,dc=example,dc=com
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def directory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A running slapd with the people and groups above; its URL."""
    base = tmp_path_factory.mktemp("slapd")
    (base / "db").mkdir()
    conf = base / "slapd.conf"
    conf.write_text(CONF.format(schema=SCHEMA, run=base, modules=MODULES, root=ROOT_DN, password=PASSWORD,
                                db=base / "db"), "utf-8")
    (base / "data.ldif").write_text(LDIF, "utf-8")
    # the data goes in with slapadd (offline, no ldap-utils needed), then the server starts
    added = subprocess.run([str(Path(SLAPD).parent / "slapadd"), "-f", str(conf), "-l", str(base / "data.ldif")],
                           capture_output=True, text=True, check=False)
    assert added.returncode == 0, added.stderr
    port = _free_port()
    url = f"ldap://127.0.0.1:{port}"
    proc = subprocess.Popen([SLAPD, "-d", "0", "-f", str(conf), "-h", url], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        while True:  # wait until it accepts connections (not a timing assumption: polled)
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("slapd did not start: " + proc.stderr.read().decode()[-500:]) from None
                time.sleep(0.05)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


CONSUMERS = """\
attributes:
  region: {type: string, values: [eu, uk, us]}
  employee_number: {type: integer}
consumers:
  - id: gone
    groups: [analysts]
"""

MAPPING = """\
id: uid
groups:
  Data Analysts: analysts
  Privacy Office: privacy-office
attributes:
  region: l
  employee_number: employeeNumber
ldap:
  url: {url}
  bind_dn: "{root}"
  password_env: TEST_LDAP_PASSWORD
  users: {{base: "ou=people,dc=example,dc=com", filter: "(objectClass=inetOrgPerson)"}}
  groups: {{base: "ou=groups,dc=example,dc=com"}}
"""


def _run(folder: Path, *args: str):
    cwd = os.getcwd()
    os.chdir(folder)
    try:
        return CliRunner().invoke(app, list(args), catch_exceptions=False)
    finally:
        os.chdir(cwd)


def test_sync_from_a_real_ldap_directory(directory: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("POLICYENGINE_CONFIG", raising=False)
    monkeypatch.setenv("TEST_LDAP_PASSWORD", PASSWORD)
    (tmp_path / "policies").mkdir()
    (tmp_path / "products").mkdir()
    (tmp_path / "consumers.yaml").write_text(CONSUMERS, "utf-8")
    (tmp_path / "policyengine.yaml").write_text("policies: policies/\ncatalog: products/\nconsumers: consumers.yaml\n",
                                                "utf-8")
    (tmp_path / "mapping.yaml").write_text(MAPPING.format(url=directory, root=ROOT_DN), "utf-8")
    result = _run(tmp_path, "consumers", "sync", "--ldap", "--mapping", "mapping.yaml")
    assert result.exit_code == 0, result.output
    assert "2 added, 1 removed, 0 changed" in result.output
    assert PASSWORD not in result.output
    consumers = load_directory(tmp_path / "consumers.yaml").consumers
    assert sorted(consumers) == ["ana", "priya"]
    assert consumers["ana"].groups == frozenset({"analysts"})
    assert dict(consumers["ana"].attributes) == {"region": "eu", "employee_number": 4711}
    assert consumers["priya"].groups == frozenset({"privacy-office"})  # "All Staff" is not mapped


def test_a_wrong_password_is_one_line_exit_2(directory: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("POLICYENGINE_CONFIG", raising=False)
    monkeypatch.setenv("TEST_LDAP_PASSWORD", "wrong-password")
    (tmp_path / "mapping.yaml").write_text(MAPPING.format(url=directory, root=ROOT_DN), "utf-8")
    result = _run(tmp_path, "consumers", "sync", "--ldap", "--mapping", "mapping.yaml", "--output", "out.yaml")
    assert result.exit_code == 2, result.output
    assert f"cannot bind to {directory}: LDAPBindError" in result.output
    assert "wrong-password" not in result.output
    assert not (tmp_path / "out.yaml").exists()
