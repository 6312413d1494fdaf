"""Fixtures shared by the tests."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True, scope="session")
def one_torch_thread():
    """One torch thread per test process: the models under test are tiny, and on a 2-core
    machine running two test workers a second thread per worker only adds contention."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def smoke():
    """The smoke profile: the smallest settings the book runs at."""
    from cancer_alpha import config

    return config.load_profile("smoke")


@pytest.fixture(scope="module")
def large():
    """The large profile and its synthetic world: the longest sequences the models meet."""
    from cancer_alpha.config import load_profile
    from cancer_alpha.synth import World

    profile = load_profile("large")
    return profile, World.from_config(profile.cohort)
