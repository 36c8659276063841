"""`pathlab curriculum check`: exit 0 for a valid folder, 1 listing every problem otherwise."""

from __future__ import annotations


def test_valid_fixture_passes(run_cli, fixture_root):
    result = run_cli("curriculum", "check", str(fixture_root), "--no-lab-ids")
    assert result.exit_code == 0
    assert "5 nodes (skills: 4, roles: 1), quizzes: 1" in result.stdout


def test_every_problem_is_listed(run_cli, curriculum_copy):
    (curriculum_copy / "lessons" / "ffnn.md").unlink()
    (curriculum_copy / "curriculum" / "30-broken.toml").write_text("[[node]\n", encoding="utf-8")
    result = run_cli("curriculum", "check", str(curriculum_copy), "--no-lab-ids")
    assert result.exit_code == 1
    assert "2 problem(s)" in result.stderr
    assert "[ffnn] lesson: lesson file not found" in result.stderr
    assert "30-broken.toml: TOML syntax error" in result.stderr and "line 1" in result.stderr
    assert "Traceback" not in result.output


def test_missing_folder_is_a_usage_error(run_cli, tmp_path):
    assert run_cli("curriculum", "check", str(tmp_path / "nope")).exit_code == 2
