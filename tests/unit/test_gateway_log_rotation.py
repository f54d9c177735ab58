"""docker/rotate-gateway-log.sh, run under the machine's sh on a temporary directory: it bounds
the gateway's access log file on the Docker stack (docker-compose.yml's gateway-log-rotate)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

ROTATE = Path(__file__).resolve().parents[2] / "docker" / "rotate-gateway-log.sh"


def rotate(tmp_path: Path, *args: str, max_bytes: int = 100) -> int:
    env = {
        "PATH": os.environ["PATH"],
        "ROTATE_LOG": str(tmp_path / "access.log"),
        "ROTATE_MAX_BYTES": str(max_bytes),
    }
    return subprocess.run(["sh", str(ROTATE), *args], env=env, check=False, timeout=10).returncode


def test_rotation_copies_and_truncates_a_log_past_its_bound_only(tmp_path: Path) -> None:
    log = tmp_path / "access.log"
    log.write_bytes(b"y" * 99)
    assert rotate(tmp_path, "--once") == 0
    assert not (tmp_path / "access.1.log").exists()
    # Opened for appending, as nginx opens its logs, and kept open across the rotation.
    with log.open("ab", buffering=0) as writer:
        writer.write(b"x" * 51)
        assert rotate(tmp_path, "--once") == 0
        writer.write(b"after\n")
    assert (tmp_path / "access.1.log").read_bytes() == b"y" * 99 + b"x" * 51
    # The writer's next line starts the truncated file: no hole where the old content was.
    assert log.read_bytes() == b"after\n"
    log.write_bytes(b"z" * 199)
    assert rotate(tmp_path, "--check") == 0
    log.write_bytes(b"z" * 200)
    assert (rotate(tmp_path, "--check"), rotate(tmp_path, "--bogus")) == (1, 2)
