"""A database strangers can read (issue 19): a real database, made by real commands, opened through
Datasette's own Python API with the shipped metadata. Every table and every column is described, every
foreign key resolves, and every lab_id / node_id slug joins to a title in `labs` / `nodes`."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from planner.cli import main
from planner.datasette import metadata_for
from planner.store import SCHEMA_VERSION
from tests.conftest import FIXTURE_CURRICULUM

datasette = pytest.importorskip("datasette.app")


@pytest.fixture
def real_db(db_path):
    def run(*args):
        result = CliRunner().invoke(main, ["--db", str(db_path), "--data", str(FIXTURE_CURRICULUM), *args])
        assert result.exit_code in (0, 1) and "Error" not in result.output, result.output
    run("learner", "add", "Ada", "--role", "ml-engineer")
    run("lab", "run", "gd-linear", "--practice", "--learner", "Ada", "--set", "steps=30")
    run("lab", "hint", "gd-linear", "--learner", "Ada")
    return db_path


async def test_every_table_and_column_is_described_and_every_key_resolves(real_db):
    ds = datasette.Datasette([str(real_db)], metadata=metadata_for(real_db))
    await ds.invoke_startup()
    name = real_db.stem
    database = ds.get_database(name)
    assert (await database.execute("PRAGMA user_version")).first()[0] == SCHEMA_VERSION
    tables = [t for t in await database.table_names() if not t.startswith("sqlite_")]
    assert {"attempts", "labs", "nodes"} <= set(tables)
    for table in tables:
        meta = ds.table_metadata(name, table)
        assert meta.get("description"), f"table {table} has no description in metadata.json"
        columns = await database.table_columns(table)
        undescribed = [c for c in columns if not meta.get("columns", {}).get(c)]
        assert undescribed == [], f"{table}: columns without a description: {undescribed}"
        for fk in await database.foreign_keys_for_table(table):
            dangling = (await database.execute(
                f"SELECT count(*) FROM [{table}] WHERE [{fk['column']}] IS NOT NULL AND [{fk['column']}] "
                f"NOT IN (SELECT [{fk['other_column']}] FROM [{fk['other_table']}])")).first()[0]
            assert dangling == 0, f"{table}.{fk['column']} -> {fk['other_table']}: {dangling} dangling"
    for table in tables:  # the slugs join to a title
        columns = await database.table_columns(table)
        for slug, target in (("lab_id", "labs"), ("node_id", "nodes")):
            if slug in columns and table not in ("labs", "nodes"):
                missing = (await database.execute(
                    f"SELECT count(*) FROM [{table}] WHERE [{slug}] IS NOT NULL AND [{slug}] "
                    f"NOT IN (SELECT id FROM [{target}])")).first()[0]
                assert missing == 0, f"{table}.{slug} names ids that {target} does not hold"
    page = await ds.client.get(f"/{name}/attempts.json?_shape=objects")
    assert page.status_code == 200 and page.json()["rows"][0]["lab_id"] == "gd-linear"
    title = (await database.execute("SELECT l.title FROM attempts a JOIN labs l ON l.id = a.lab_id")).first()[0]
    assert title == "Gradient descent on a linear model"


def test_db_path_prints_the_file_and_explore_says_how_to_install_when_missing(db_path, monkeypatch):
    result = CliRunner().invoke(main, ["--db", str(db_path), "db", "path"])
    assert result.exit_code == 0 and result.stdout.strip() == str(db_path.resolve())
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda n, *a: None if n == "datasette" else real(n, *a))
    missing = CliRunner().invoke(main, ["--db", str(db_path), "db", "explore"])
    assert missing.exit_code == 1 and "pip install 'pathlab[explore]'" in missing.stderr
