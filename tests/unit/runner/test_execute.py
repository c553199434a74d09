"""Tests for analysis.execute: the papermill runner every notebook stage of dvc.yaml uses."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from analysis.core.errors import UserError
from analysis.core.settings import default_jobs
from analysis.runner import execute


def _notebook(path: Path, body: str) -> Path:
    """A notebook with a ``parameters`` cell (year, flag, out) and one code cell."""
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell('year = "2000-01"\nflag = False\nout = ""')
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell(body)]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, str(path))
    return path


WRITE = (
    "import json, pathlib\n"
    "from ipykernel import get_connection_info\n"
    "transport = get_connection_info(unpack=True)['transport']\n"
    "pathlib.Path(out).parent.mkdir(parents=True, exist_ok=True)\n"
    "pathlib.Path(out).write_text(json.dumps({'year': year, 'flag': flag, 'transport': transport}))"
)


def test_parameters_keep_their_yaml_types():
    params = execute.parse_parameters("{year: '2014-15', flag: true, n: 3, x: 0.5, path: a/b}")
    assert params == {"year": "2014-15", "flag": True, "n": 3, "x": 0.5, "path": "a/b"}
    assert execute.parse_parameters("") == {} and execute.parse_parameters(None) == {}


@pytest.mark.parametrize("text", ["[1, 2]", "just words", "{a: [1, 2}"])
def test_parameters_that_are_not_a_mapping_are_refused(text: str):
    with pytest.raises(UserError, match="parameters"):
        execute.parse_parameters(text)


def test_year_runs_fill_in_the_year_everywhere():
    runs = execute.year_runs(
        Path("nb.ipynb"),
        "out/nb-{year}.ipynb",
        {"out_dir": "reports/{year}", "n": 1, "nested": ["x/{year}"], "flag": True},
        ["2013-14", "2014-15"],
        html="reports/{year}/report.html",
        title="Report for {year}",
    )
    assert [r.output for r in runs] == [Path("out/nb-2013-14.ipynb"), Path("out/nb-2014-15.ipynb")]
    assert runs[1].parameters == {
        "out_dir": "reports/2014-15",
        "n": 1,
        "nested": ["x/2014-15"],
        "flag": True,
        "year": "2014-15",
    }
    assert runs[0].html == Path("reports/2013-14/report.html")
    assert runs[0].title == "Report for 2013-14" and runs[0].name == "nb 2013-14"


@pytest.mark.parametrize(
    ("output", "html", "years", "match"),
    [
        ("out/nb.ipynb", None, ["2013-14"], "must contain"),
        ("out/nb-{year}.ipynb", "report.html", ["2013-14"], "must contain"),
        ("out/nb-{year}.ipynb", None, [], "at least one"),
        ("out/nb-{year}.ipynb", None, ["2013-14", "2013-14"], "repeat"),
    ],
)
def test_year_runs_refuse_outputs_that_would_collide(output, html, years, match):
    with pytest.raises(UserError, match=match):
        execute.year_runs(Path("nb.ipynb"), output, {}, years, html=html)


def test_runner_calls_papermill_with_kernel_language_and_parameters(monkeypatch, tmp_path):
    import papermill

    calls: list[dict] = []

    def fake(input_path, output_path, **kwargs):
        calls.append({"input": input_path, "output": output_path, **kwargs})

    monkeypatch.setattr(papermill, "execute_notebook", fake)
    nb = _notebook(tmp_path / "nb.ipynb", "pass")
    runs = execute.year_runs(nb, str(tmp_path / "nb-{year}.ipynb"), {"flag": True}, ["a", "b"])
    messages: list[str] = []
    execute.run_notebooks(runs, jobs=1, report=messages.append)
    assert [c["parameters"] for c in calls] == [
        {"flag": True, "year": "b"},
        {"flag": True, "year": "a"},
    ], "the last year starts first"
    assert {c["kernel_name"] for c in calls} == {"python3"}
    assert {c["language"] for c in calls} == {"python"}
    assert any(m.startswith("finished nb a") for m in messages)


def test_any_failure_is_reported_per_run_and_the_other_runs_still_run(monkeypatch, tmp_path):
    """A kernel that dies is not a UserError: it must still be named, not end the stage."""
    done: list[str] = []

    def flaky(run):
        if run.label == "b":
            raise RuntimeError("Kernel died before replying to kernel_info")
        if run.label == "c":
            raise UserError(f"{run.name}: cell 3 raised ValueError: bad")
        done.append(run.label)
        return 0.1

    monkeypatch.setattr(execute, "execute", flaky)
    nb = _notebook(tmp_path / "nb.ipynb", "pass")
    runs = execute.year_runs(nb, str(tmp_path / "nb-{year}.ipynb"), {}, ["a", "b", "c", "d"])
    with pytest.raises(UserError) as caught:
        execute.run_notebooks(runs, jobs=1, report=lambda _: None)
    message = str(caught.value)
    assert "nb b: RuntimeError: Kernel died before replying to kernel_info" in message
    assert "nb c: cell 3 raised ValueError: bad" in message
    assert sorted(done) == ["a", "d"]


def test_no_runs_is_nothing_to_do():
    execute.run_notebooks([], jobs=2)


def test_missing_notebook_is_a_user_error(tmp_path):
    run = execute.NotebookRun(tmp_path / "absent.ipynb", tmp_path / "out.ipynb")
    with pytest.raises(UserError, match="notebook not found"):
        execute.run_notebooks([run])


def test_jobs_must_be_positive(monkeypatch):
    with pytest.raises(UserError, match="--jobs"):
        execute.run_notebooks([], jobs=0)
    monkeypatch.setenv("HUBSPOKE_JOBS", "none")
    with pytest.raises(UserError, match="HUBSPOKE_JOBS"):
        default_jobs()
    monkeypatch.setenv("HUBSPOKE_JOBS", "\u00b2")  # str.isdigit() accepts it, int() does not
    with pytest.raises(UserError, match="HUBSPOKE_JOBS"):
        default_jobs()
    monkeypatch.setenv("HUBSPOKE_JOBS", "3")
    assert default_jobs() == 3
    monkeypatch.delenv("HUBSPOKE_JOBS")
    assert default_jobs() >= 1


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (["--years", "2013-14"], "--years needs --each-year"),
        (["--each-year", "-y", "{year: '2013-14'}"], "drop it from -y"),
    ],
)
def test_contradictory_arguments_are_refused(tmp_path, args, match):
    nb = _notebook(tmp_path / "nb.ipynb", "pass")
    proc = _cli(str(nb), str(tmp_path / "nb-{year}.ipynb"), *args, cwd=tmp_path)
    assert proc.returncode == 2 and match in proc.stderr and "Traceback" not in proc.stderr


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "analysis", "run", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_each_year_runs_every_year_in_its_own_kernel_two_at_a_time(tmp_path):
    """Through the command line, as dvc.yaml runs it: YAML booleans arrive as booleans, and
    the kernels talk over Unix sockets (no TCP ports to race for)."""
    nb = _notebook(tmp_path / "nb.ipynb", WRITE)
    years = ["2013-14", "2014-15", "2015-16"]
    proc = _cli(
        str(nb),
        str(tmp_path / "executed" / "nb-{year}.ipynb"),
        "--each-year",
        "--years",
        *years,
        "--jobs",
        "2",
        "-y",
        "{flag: true, out: 'results/{year}.json'}",
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    assert "running 3 notebook(s), 2 at a time" in proc.stdout
    for year in years:
        assert json.loads((tmp_path / "results" / f"{year}.json").read_text()) == {
            "year": year,
            "flag": True,
            "transport": "ipc",
        }
        executed = nbformat.read(tmp_path / "executed" / f"nb-{year}.ipynb", as_version=4)
        assert executed.metadata["kernelspec"]["name"] == "python3"
        assert "injected-parameters" in executed.cells[1].metadata["tags"]


def test_a_failing_year_is_named_and_the_others_still_finish(tmp_path):
    body = WRITE + "\nif year == '2014-15':\n    raise ValueError('no returns for ' + year)"
    nb = _notebook(tmp_path / "nb.ipynb", body)
    proc = _cli(
        str(nb),
        str(tmp_path / "nb-{year}.ipynb"),
        "--each-year",
        "--years",
        "2013-14",
        "2014-15",
        "--jobs",
        "2",
        "-y",
        "{out: 'results/{year}.json'}",
        cwd=tmp_path,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert "nb 2014-15" in proc.stderr and "ValueError: no returns for 2014-15" in proc.stderr
    assert str(tmp_path / "nb-2014-15.ipynb") in proc.stderr
    assert (tmp_path / "results" / "2013-14.json").exists()


def test_the_command_line_loads_no_jsonschema_before_it_can_skip_the_checker():
    code = "import sys, analysis.__main__; print('jsonschema' in sys.modules)"
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert proc.stdout.strip() == "False"


def test_the_runner_skips_the_slow_iri_checker_but_still_validates_notebooks(tmp_path):
    """jsonschema's ``rfc3987_syntax`` import (1.4 s) is skipped; nbformat still validates."""
    code = (
        "import sys\n"
        "from analysis.runner.execute import skip_slow_iri_checker\n"
        "skip_slow_iri_checker()\n"
        "import nbformat\n"
        "nb = nbformat.v4.new_notebook()\n"
        "nbformat.validate(nb)\n"
        "nb.cells.append({'cell_type': 'bogus'})\n"
        "try:\n"
        "    nbformat.validate(nb)\n"
        "except nbformat.ValidationError:\n"
        "    print('invalid caught')\n"
        "print(sys.modules.get('rfc3987_syntax', 'absent'))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert proc.stdout.split() == ["invalid", "caught", "None"]
