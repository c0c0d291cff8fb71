"""gunicorn's helpers: recycling turns, metrics slots, runtime directories."""

from __future__ import annotations

import os
import subprocess
import sys

from advocacy import serving


def _ready(runtime, *pids):
    for pid in pids:
        serving.mark_ready(runtime, pid)


def test_a_worker_recycles_when_every_worker_is_up(tmp_path):
    _ready(tmp_path, 11, 12)

    assert serving.claim_recycling_turn(tmp_path, pid=11, workers=2, now=100.0, spacing=10)


def test_no_second_worker_goes_before_the_first_ones_replacement_is_up(tmp_path):
    _ready(tmp_path, 11, 12)
    serving.claim_recycling_turn(tmp_path, pid=11, workers=2, now=100.0, spacing=10)

    # Long after the spacing, but 11's replacement has not loaded the app yet.
    assert not serving.claim_recycling_turn(tmp_path, pid=12, workers=2, now=500.0, spacing=10)
    serving.forget_worker(tmp_path, 11)
    _ready(tmp_path, 13)
    assert serving.claim_recycling_turn(tmp_path, pid=12, workers=2, now=500.0, spacing=10)


def test_turns_are_spaced(tmp_path):
    _ready(tmp_path, 11, 12)
    serving.claim_recycling_turn(tmp_path, pid=11, workers=2, now=100.0, spacing=10)
    _ready(tmp_path, 13)

    assert not serving.claim_recycling_turn(tmp_path, pid=12, workers=2, now=109.0, spacing=10)
    assert serving.claim_recycling_turn(tmp_path, pid=12, workers=2, now=110.0, spacing=10)


def test_a_worker_that_is_not_up_never_takes_the_turn(tmp_path):
    _ready(tmp_path, 12)

    assert not serving.claim_recycling_turn(tmp_path, pid=11, workers=1, now=100.0, spacing=0)


def test_a_crashed_worker_is_forgotten(tmp_path):
    _ready(tmp_path, 11, 12)
    serving.forget_worker(tmp_path, 12)  # reaped by the master: killed, crashed

    assert not serving.claim_recycling_turn(tmp_path, pid=11, workers=2, now=100.0, spacing=0)


def test_slots_are_the_lowest_free_numbers():
    assert serving.free_slot([]) == 0
    assert serving.free_slot([0, 2, None]) == 1
    assert serving.free_slot([1, 0]) == 2


def test_runtime_directories_of_dead_masters_are_removed(tmp_path, monkeypatch):
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    stale = tmp_path / (serving.RUNTIME_PREFIX + "old")
    stale.mkdir()
    (stale / serving.OWNER_FILE).write_text(dead.stdout.strip())
    (stale / "metrics").mkdir()
    (stale / "metrics" / "histogram_w0.db").write_bytes(b"x")
    live = tmp_path / (serving.RUNTIME_PREFIX + "live")
    live.mkdir()
    (live / serving.OWNER_FILE).write_text(str(os.getpid()))

    monkeypatch.setenv(serving.RUNTIME_ENV, "")  # restored (unset) after the test
    mine = serving.runtime_directory(tmp_path)

    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([live.name, mine.name])
    assert (mine / serving.OWNER_FILE).read_text() == str(os.getpid())


def test_a_master_reading_its_configuration_again_keeps_its_directory(tmp_path, monkeypatch):
    monkeypatch.setenv(serving.RUNTIME_ENV, "")  # restored (unset) after the test
    first = serving.runtime_directory(tmp_path)

    again = serving.runtime_directory(tmp_path)  # gunicorn on SIGHUP

    assert again == first
    assert list(tmp_path.iterdir()) == [first]


def test_wiping_metrics_keeps_other_files(tmp_path):
    (tmp_path / "histogram_123.db").write_bytes(b"x")
    (tmp_path / "README").write_text("mine")

    serving.wipe_metrics(tmp_path)

    assert [p.name for p in tmp_path.iterdir()] == ["README"]
