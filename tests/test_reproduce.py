"""The pipeline's entry points: chapter selection, profile names, a fast --help."""

import subprocess
import sys

import pytest

from cancer_alpha import cli, reproduce


def test_select_by_number_and_name():
    every = reproduce.chapters()
    assert every, "no chapters found in notebooks/"
    first = every[0]
    assert reproduce.select(first.number) == [first]
    assert reproduce.select(first.name) == [first]
    assert reproduce.select(None) == every


def test_unknown_notebook_lists_the_valid_ones():
    with pytest.raises(ValueError, match=r"unknown notebook '99': expected one of .*07"):
        reproduce.select("99")


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
