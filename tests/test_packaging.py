"""The distribution as users install it: a wheel and an sdist built offline from this tree, the
wheel installed into a clean venv (no network, no index), and its `policyengine` command run on
a copy of the example mesh. What CI builds is what the README's install section installs."""

from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
import tarfile
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DIST = "datamesh-policyengine"


def _run(args: list[str], cwd: Path, timeout: int = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sdist, then the wheel built from that sdist (python -m build's default), with the
    current venv's hatchling: no build isolation, so nothing is downloaded."""
    out = tmp_path_factory.mktemp("dist")
    src = tmp_path_factory.mktemp("src")
    for part in ("policyengine", "grammar", "docs", "README.md", "pyproject.toml"):
        source = ROOT / part
        if source.is_dir():
            shutil.copytree(source, src / part, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(source, src / part)
    done = _run([sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(src)], src)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return out


def test_the_wheel_and_sdist_carry_the_package_the_grammar_and_the_schemas(built: Path) -> None:
    wheel = next(built.glob("datamesh_policyengine-*.whl"))
    sdist = next(built.glob("datamesh_policyengine-*.tar.gz"))
    names = zipfile.ZipFile(wheel).namelist()
    assert "policyengine/_grammar/policy.lark" in names
    assert "policyengine/cli.py" in names
    assert "policyengine/schemas/policyengine.schema.json" in names  # what `init` copies for editors
    meta = next(n for n in names if n.endswith(".dist-info/METADATA"))
    assert f"Name: {DIST}" in zipfile.ZipFile(wheel).read(meta).decode()
    with tarfile.open(sdist) as tar:
        members = tar.getnames()
    assert any(m.endswith("grammar/policy.lark") for m in members)


def test_the_wheel_installs_offline_into_a_clean_venv_and_runs(built: Path, tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    made = _run([sys.executable, "-m", "venv", str(venv)], tmp_path)
    assert made.returncode == 0, made.stderr
    python = venv / "bin" / "python"
    # the dependencies come from this venv's site-packages (a path entry, so its own .pth files,
    # among them the editable install of this tree, are not processed): nothing is downloaded
    purelib = Path(_run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                        tmp_path).stdout.strip())
    (purelib / "deps-from-the-test-venv.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", "utf-8")
    wheel = next(built.glob("datamesh_policyengine-*.whl"))
    installed = _run([str(python), "-m", "pip", "install", "--no-index", "--find-links", str(built),
                      "--disable-pip-version-check", str(wheel)], tmp_path)
    assert installed.returncode == 0, installed.stdout[-2000:] + installed.stderr[-2000:]
    mesh = tmp_path / "mesh"
    for part in ("policies", "examples/mesh", "policyengine.yaml"):
        src, dst = ROOT / part, mesh / part
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(src, dst) if src.is_dir() else shutil.copy(src, dst)
    where = _run([str(python), "-c", "import policyengine; print(policyengine.__file__)"], mesh)
    assert where.stdout.startswith(str(venv)), where.stdout + where.stderr  # the wheel, not this tree
    command = venv / "bin" / "policyengine"
    helped = _run([str(command), "--help"], mesh)
    assert helped.returncode == 0 and "check" in helped.stdout, helped.stderr
    checked = _run([str(command), "check"], mesh)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "checked 27 rules in 4 files against 6 products: 0 error(s)" in checked.stderr + checked.stdout
    fresh = _run([str(command), "init", "fresh"], tmp_path)  # the wheel's own schemas and templates
    assert fresh.returncode == 0, fresh.stdout + fresh.stderr
    assert (tmp_path / "fresh" / ".policyengine" / "schemas" / "consumers.schema.json").is_file()
    assert _run([str(command), "check", "--strict"], tmp_path / "fresh").returncode == 0
    version = _run([str(python), "-m", "pip", "show", DIST], mesh)
    assert f"Name: {DIST}" in version.stdout
