"""Every service's migrations use the one Alembic environment and the one revision template."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import ClassVar

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import MetaData

import topology
from mercato_shared.migrations import ENVIRONMENT, Migrations, alembic_config, main
from mercato_shared.settings import BaseServiceSettings

ROOT = Path(__file__).resolve().parents[2]
MIGRATED = [s for s in topology.load().services if s.migrate]


class SomeDatabase(BaseServiceSettings):
    database_name: ClassVar[str | None] = "some"


def test_the_environment_and_the_template_exist_once() -> None:
    assert sorted(p.name for p in ENVIRONMENT.iterdir() if p.suffix in {".py", ".mako"}) == [
        "env.py",
        "script.py.mako",
    ]
    for name in ("env.py", "script.py.mako"):
        assert list(ROOT.glob(f"services/*/migrations/{name}")) == []


@pytest.mark.parametrize("service", MIGRATED, ids=lambda s: s.name)
def test_each_service_declares_its_revisions_with_one_head(service: topology.Service) -> None:
    assert service.migrate is not None
    migrations = importlib.import_module(service.migrate).MIGRATIONS
    assert isinstance(migrations, Migrations)
    assert migrations.versions == ROOT / "services" / service.name / "migrations" / "versions"
    config = alembic_config(SomeDatabase(), migrations)
    scripts = ScriptDirectory.from_config(config)
    assert Path(scripts.dir) == ENVIRONMENT
    assert len(scripts.get_heads()) == 1


def test_a_new_revision_is_written_from_the_shared_template(tmp_path: Path) -> None:
    migrations = Migrations(MetaData(), tmp_path)
    main(SomeDatabase, migrations, ["revision", "-m", "add a colour"])
    (written,) = tmp_path.glob("*_add_a_colour.py")
    text = written.read_text()
    assert '"""add a colour' in text
    assert "down_revision: str | None = None" in text
    assert "def upgrade() -> None:" in text
    compile(text, str(written), "exec")
