"""The pipeline's entry points: chapter selection, profile names, a fast --help."""

import json
import subprocess
import sys

import pytest

from cancer_alpha import cli, reproduce, stamps
from cancer_alpha.errors import ChapterInputError


def test_select_by_number_and_name():
    every = stamps.chapters()
    assert every, "no chapters found in notebooks/"
    first = every[0]
    assert stamps.select(first.number) == [first]
    assert stamps.select(first.name) == [first]
    assert stamps.select(None) == every


def test_unknown_notebook_lists_the_valid_ones():
    with pytest.raises(ValueError, match=r"unknown notebook '99': expected one of .*07"):
        stamps.select("99")


@pytest.mark.parametrize("only", [",", "", " , "])
def test_only_without_a_chapter_is_refused(capsys, only):
    with pytest.raises(ValueError, match="names no chapter"):
        stamps.select(only)
    assert cli.main(["reproduce", "--profile", "smoke", "--only", only]) == 2
    err = capsys.readouterr().err
    assert f"--only {only!r} names no chapter" in err and "e.g. 01,03" in err


def test_unknown_profile_is_one_clear_error(capsys):
    assert cli.main(["reproduce", "--profile", "huge"]) == 2
    err = capsys.readouterr().err
    assert "unknown profile 'huge'" in err and "smoke" in err
    assert "Traceback" not in err


def test_help_imports_nothing_heavy():
    code = ("import sys, time; t=time.perf_counter(); from cancer_alpha import cli; "
            "import contextlib, io\n"
            "with contextlib.suppress(SystemExit), contextlib.redirect_stdout(io.StringIO()):\n"
            "    cli.main(['--help'])\n"
            "heavy=[m for m in ('torch','pytorch_lightning','pandas','sklearn','matplotlib') "
            "if m in sys.modules]\n"
            "print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"  # torch alone costs seconds: --help must not import it


# --------------------------------------------------------------------------- incremental builds

CHAPTER = '''# %% [markdown]
# # {title}

# %% tags=["parameters"]
profile = "tiny"
overrides = {{}}
results_dir = "results"

# %%
from cancer_alpha import results

run = results.start_run("{name}", profile, overrides, results_dir)
{body}
run.save()
'''


def _project(root):
    """A checkout in miniature: three chapters (the second reads the first's record, the
    last is the claims audit), a profile, a package file and a lock file."""
    (root / "notebooks").mkdir()
    (root / "profiles").mkdir()
    (root / "src" / "cancer_alpha").mkdir(parents=True)
    (root / "_toc.yml").write_text("format: jb-book\nroot: intro\n")
    (root / "pyproject.toml").write_text("[project]\nname = \"miniature\"\n")
    (root / "profiles" / "tiny.yml").write_text("profile: tiny\n")
    (root / "src" / "cancer_alpha" / "module.py").write_text("X = 1\n")
    (root / "requirements.lock").write_text("numpy==2.4.6\n")
    (root / "src" / "cancer_alpha" / "used.py").write_text(
        "def later():\n    from . import lazy  # imported inside a function\n")
    (root / "src" / "cancer_alpha" / "lazy.py").write_text("Y = 1\n")
    # the second chapter imports a module of the miniature's own package (the real package
    # is the one installed, so it is loaded from its file under the package's name)
    uses_module = ("import importlib.util, sys\n"
                   "spec = importlib.util.spec_from_file_location('cancer_alpha.used', "
                   "'src/cancer_alpha/used.py')\n"
                   "sys.modules['cancer_alpha.used'] = importlib.util.module_from_spec(spec)\n"
                   "spec.loader.exec_module(sys.modules['cancer_alpha.used'])\n")
    bodies = {"01_first": "run.metric('x', 1)",
              "02_second": uses_module +
                           "run.metric('x', results.load(profile, '01_first', results_dir))",
              "03_claims_audit": "run.metric('n', len(results.claims_table(profile, "
                                 "results_dir)))"}
    for name, body in bodies.items():
        (root / "notebooks" / f"{name}.py").write_text(
            CHAPTER.format(title=name, name=name, body=body))


def _executed(log_lines):
    return [line.split("]")[1].split(" (")[0].strip() for line in log_lines
            if ": executing (" in line]


@pytest.mark.slow
def test_a_chapter_reruns_only_when_something_it_depends_on_changed(tmp_path, monkeypatch):
    _project(tmp_path)
    monkeypatch.setenv("CANCER_ALPHA_ROOT", str(tmp_path))
    monkeypatch.chdir(tmp_path)

    def build(**kw):
        lines = []
        reproduce.reproduce("tiny", log=lambda m, **_: lines.append(m), **kw)
        return lines

    first = build()
    assert _executed(first) == ["01_first", "02_second", "03_claims_audit"]
    second = build()
    assert _executed(second) == []
    assert all(": up to date" in line for line in second if line.startswith("["))

    # one notebook changed: it reruns, and the audit after it; the first chapter does not
    nb = tmp_path / "notebooks" / "02_second.py"
    nb.write_text(nb.read_text() + "\n# an edit\n")
    lines = build()
    assert _executed(lines) == ["02_second", "03_claims_audit"]
    assert "02_second (profile tiny): executing (its notebook changed)" in "\n".join(lines)

    # the first chapter's record changes: the chapter that reads it reruns too
    nb = tmp_path / "notebooks" / "01_first.py"
    nb.write_text(nb.read_text() + "\n# an edit\n")
    assert _executed(build()) == ["01_first", "02_second", "03_claims_audit"]

    # a package module that no chapter imported changed: nothing reruns
    (tmp_path / "src" / "cancer_alpha" / "module.py").write_text("X = 2\n")
    assert _executed(build()) == []
    # a module the second chapter imported changed: it reruns (and the audit), the reason
    # names the file; so it does for a module that one imports inside a function
    (tmp_path / "src" / "cancer_alpha" / "used.py").write_text(
        "def later():\n    from . import lazy  # edited\n")
    lines = build()
    assert _executed(lines) == ["02_second", "03_claims_audit"]
    assert "a package module it used changed: src/cancer_alpha/used.py" in "\n".join(lines)
    (tmp_path / "src" / "cancer_alpha" / "lazy.py").write_text("Y = 2\n")
    assert _executed(build()) == ["02_second", "03_claims_audit"]

    # so does a change of the profile or the lock file; --force reruns everything regardless
    (tmp_path / "requirements.lock").write_text("numpy==2.4.7\n")
    assert _executed(build()) == ["01_first", "02_second", "03_claims_audit"]
    assert _executed(build(force=True)) == ["01_first", "02_second", "03_claims_audit"]
    assert _executed(build()) == []


@pytest.mark.slow
def test_a_change_to_the_drawing_alone_redraws_figures_without_executing(tmp_path, monkeypatch):
    _project(tmp_path)
    monkeypatch.setenv("CANCER_ALPHA_ROOT", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    # the second chapter draws a figure with the installed package's plots; the miniature's
    # own copy of those files is what its stamp hashes
    drawing = tmp_path / "src" / "cancer_alpha" / "plots"
    drawing.mkdir()
    for name in ("__init__.py", "style.py", "comparison.py"):
        (drawing / name).write_text("# drawing\n")
    nb = tmp_path / "notebooks" / "02_second.py"
    nb.write_text(nb.read_text().replace(
        "run.save()", "from cancer_alpha import plots\n"
        "run.figure(plots.epochs_to_convergence({'a': [3, 4]}), 'epochs', caption='Epochs.')\n"
        "run.save()"))

    def build():
        lines = []
        reproduce.reproduce("tiny", log=lambda m, **_: lines.append(m))
        return lines

    assert _executed(build()) == ["01_first", "02_second", "03_claims_audit"]
    executed = tmp_path / "build" / "tiny" / "book" / "notebooks" / "02_second.ipynb"
    record = (tmp_path / "results" / "tiny" / "02_second.json").read_bytes()
    (drawing / "style.py").write_text("# a colour changed\n")
    lines = build()
    assert _executed(lines) == []
    assert ("02_second (profile tiny): 1 figure(s) redrawn" in "\n".join(lines)
            and "only drawing changed: src/cancer_alpha/plots/style.py" in "\n".join(lines))
    assert (tmp_path / "results" / "tiny" / "02_second.json").read_bytes() == record
    assert 'id=\\"figure-02-second-epochs\\"' in executed.read_text()  # JSON-escaped
    status = json.loads((tmp_path / "build" / "tiny" / "status.json").read_text())
    assert status["02_second"]["status"] == "redrawn"
    assert _executed(build()) == []  # and it is up to date afterwards

    # drawing and anything else changed: it is executed
    (drawing / "comparison.py").write_text("# a line style changed\n")
    (tmp_path / "src" / "cancer_alpha" / "used.py").write_text("def later():\n    pass\n")
    assert _executed(build()) == ["02_second", "03_claims_audit"]
    # a figure whose saved call is gone cannot be redrawn: it is executed, and says why
    (tmp_path / "results" / "tiny" / "figures" / "02_second__epochs.call.pickle").unlink()
    (drawing / "style.py").write_text("# another colour\n")
    lines = build()
    assert _executed(lines) == ["02_second", "03_claims_audit"]
    assert "its figures cannot be redrawn: no saved call" in "\n".join(lines)


@pytest.mark.slow
def test_a_chapter_that_failed_is_never_up_to_date(tmp_path, monkeypatch):
    _project(tmp_path)
    monkeypatch.setenv("CANCER_ALPHA_ROOT", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    quiet = {"log": lambda m, **_: None}
    reproduce.reproduce("tiny", **quiet)
    nb = tmp_path / "notebooks" / "02_second.py"
    good = nb.read_text()
    nb.write_text(good.replace("run.save()", "raise RuntimeError('broken')\nrun.save()"))
    with pytest.raises(RuntimeError, match="02_second failed"):
        reproduce.reproduce("tiny", **quiet)
    # a chapter stopped by its inputs is the reader's to fix: one clear error, not a defect
    nb.write_text(good.replace("run.save()", "open('data/missing.csv')\nrun.save()"))
    with pytest.raises(ChapterInputError, match=r"02_second failed .*FileNotFoundError.*"
                                                r"missing\.csv"):
        reproduce.reproduce("tiny", **quiet)
    nb.write_text(good)  # back to the content of its last successful execution
    chapter = stamps.select("02", tmp_path)[0]
    assert stamps.stale_reason(chapter, "tiny", tmp_path) == (
        "never executed, or its last execution did not finish")


@pytest.mark.slow
def test_a_renamed_chapter_leaves_no_executed_notebook_behind(tmp_path, monkeypatch):
    _project(tmp_path)
    monkeypatch.setenv("CANCER_ALPHA_ROOT", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    quiet = {"log": lambda m, **_: None}
    reproduce.reproduce("tiny", only="01", **quiet)
    executed = tmp_path / "build" / "tiny" / "book" / "notebooks"
    assert (executed / "01_first.ipynb").is_file()
    source = tmp_path / "notebooks" / "01_first.py"
    (tmp_path / "notebooks" / "01_renamed.py").write_text(
        source.read_text().replace("01_first", "01_renamed"))
    source.unlink()
    reproduce.reproduce("tiny", only="01", **quiet)
    assert not (executed / "01_first.ipynb").exists()
    assert not (tmp_path / "build" / "tiny" / "stamps" / "01_first.json").exists()
    status = json.loads((tmp_path / "build" / "tiny" / "status.json").read_text())
    assert "01_first" not in status and status["01_renamed"]["status"] == "executed"


def test_a_staged_book_is_not_taken_for_the_project_root(tmp_path, monkeypatch):
    # build/<profile>/book holds copies of profiles/ and _toc.yml beside executed notebooks;
    # a chapter re-executed there (notebook validation) must still find the real checkout
    from cancer_alpha import config

    (tmp_path / "profiles").mkdir()
    (tmp_path / "_toc.yml").write_text("root: book/intro\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CANCER_ALPHA_ROOT", raising=False)
    root = config.project_root()
    assert root != tmp_path and (root / "pyproject.toml").is_file()
    assert stamps.chapters(root), "the chapters' sources are found from the staged book"


def test_the_modules_a_chapter_used_include_those_imported_inside_functions(tmp_path):
    pkg = tmp_path / "src" / "cancer_alpha"
    (pkg / "plots").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "results.py").write_text("from .claims import CLAIMS\n")
    (pkg / "claims.py").write_text("CLAIMS = {}\n")
    (pkg / "training.py").write_text("def fit():\n    from .models import build\n")
    (pkg / "models.py").write_text("import numpy\n")
    (pkg / "unused.py").write_text("from . import results\n")
    (pkg / "plots" / "__init__.py").write_text("from cancer_alpha.plots.style import STYLE\n")
    (pkg / "plots" / "style.py").write_text("STYLE = 'cancer_alpha.mplstyle'\n")
    (pkg / "plots" / "cancer_alpha.mplstyle").write_text("lines.linewidth: 1\n")
    used = stamps.used_package_files(["cancer_alpha.results", "cancer_alpha.training",
                                         "cancer_alpha.plots", "numpy"], tmp_path)
    files = {p.removeprefix("src/cancer_alpha/") for p in used}
    assert files == {"__init__.py", "results.py", "claims.py", "training.py", "models.py",
                     "plots/__init__.py", "plots/style.py", "plots/cancer_alpha.mplstyle"}
    assert "unused.py" not in files  # imports a used module, but nothing imports it


def test_a_stamp_holds_only_the_package_files_the_chapter_used(tmp_path, monkeypatch):
    import json

    monkeypatch.setenv("CANCER_ALPHA_ROOT", str(tmp_path))
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "profiles").mkdir()
    (tmp_path / "_toc.yml").write_text("root: intro\n")
    (tmp_path / "pyproject.toml").write_text("[project]\n")
    pkg = tmp_path / "src" / "cancer_alpha"
    pkg.mkdir(parents=True)
    (tmp_path / "profiles" / "tiny.yml").write_text("profile: tiny\n")
    (tmp_path / "notebooks" / "01_first.py").write_text("# %%\n")
    for name in ("__init__", "results", "other"):
        (pkg / f"{name}.py").write_text(f"# {name}\n")
    chapter = stamps.chapters(tmp_path)[0]
    record = tmp_path / "results" / "tiny" / "01_first.json"
    record.parent.mkdir(parents=True)
    record.write_text(json.dumps({"provenance": {"inputs": {}, "modules": [
        "cancer_alpha", "cancer_alpha.results", "numpy"]}}))
    (tmp_path / "build" / "tiny" / "book" / "notebooks").mkdir(parents=True)
    (tmp_path / "build" / "tiny" / "book" / "notebooks" / "01_first.ipynb").write_text("{}")
    before = stamps.fingerprint(chapter, "tiny", tmp_path)
    stamps.write_stamp(chapter, "tiny", tmp_path, before)
    stamp = json.loads(stamps.stamp_path(chapter, "tiny", tmp_path).read_text())
    assert sorted(stamp["fingerprint"]["package"]) == ["src/cancer_alpha/__init__.py",
                                                      "src/cancer_alpha/results.py"]
    (pkg / "other.py").write_text("# edited\n")
    (pkg / "new.py").write_text("# a new module\n")
    assert stamps.stale_reason(chapter, "tiny", tmp_path) is None
    (pkg / "results.py").write_text("# edited\n")
    assert stamps.stale_reason(chapter, "tiny", tmp_path) == (
        "a package module it used changed: src/cancer_alpha/results.py")
