"""Every benchmark script runs on its own and explains itself (they are not timed here)."""

import subprocess
import sys
from pathlib import Path

import pytest

SCRIPTS = sorted(p for p in (Path(__file__).parent.parent / "benchmarks").glob("*.py")
                 if not p.name.startswith("_"))


def test_there_is_one_script_per_measurement():
    assert [p.stem for p in SCRIPTS] == ["latency", "lightning_overhead", "memory_scaling",
                                         "synth", "time_scaling", "train_throughput"]


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.stem)
def test_help_names_the_profile_option(script):
    out = subprocess.run([sys.executable, str(script), "--help"], capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "--profile" in out.stdout and out.stdout.startswith("usage:")
