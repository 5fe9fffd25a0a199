"""The environment files agree, and setup is idempotent."""

import re
import subprocess

import tomllib
import yaml

from .conftest import ROOT


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~\[; ]", requirement.strip(), maxsplit=1)[0].lower().replace("_", "-")


def test_environment_yml_installs_exactly_the_pyproject_packages():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda = [d for d in env["dependencies"] if isinstance(d, str)]
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert {_name(d) for d in conda} == {"python", "pip"}  # nothing conda-only that could drift
    assert "-e .[dev]" in pip and "-c requirements.lock" in pip


def test_every_dependency_is_pinned_in_the_lock():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = {_name(d) for d in project["dependencies"] + project["optional-dependencies"]["dev"]}
    locked = {
        _name(line)
        for line in (ROOT / "requirements.lock").read_text().splitlines()
        if line and not line.startswith("#")
    }
    assert wanted <= locked, wanted - locked
    assert {"tensorflow", "keras", "papermill", "nbconvert"} <= wanted


def test_second_setup_does_nothing():
    # `make -q` exits 0 only when the target is up to date (make test has just run setup).
    assert subprocess.run(["make", "-q", "setup"], cwd=ROOT).returncode == 0
