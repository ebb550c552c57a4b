"""The development signing key made by processes starting at the same moment
(`cpp up` starts every service's web and worker processes at once): each
gets the one key, whole, and none fails."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

from cpp_shared.auth import load_dev_key

PROCESSES, ROUNDS = 6, 15


def _load(path: str, start, answers) -> None:
    start.wait()
    try:
        answers.put(("key", load_dev_key(Path(path)).decode()))
    except Exception as exc:  # noqa: BLE001 - reported to the test
        answers.put(("error", f"{type(exc).__name__}: {exc}"))


def test_processes_making_the_key_at_once_all_read_the_same_whole_key(tmp_path):
    spawn = multiprocessing.get_context("fork")
    for round_ in range(ROUNDS):
        path = tmp_path / f"round-{round_}" / "dev-signing.key"
        start, answers = spawn.Barrier(PROCESSES), spawn.Queue()
        procs = [spawn.Process(target=_load, args=(str(path), start, answers)) for _ in range(PROCESSES)]
        for p in procs:
            p.start()
        got = [answers.get(timeout=30) for _ in procs]
        for p in procs:
            p.join(timeout=30)
        assert [g for g in got if g[0] == "error"] == []
        assert {g[1] for g in got} == {path.read_text()}
        assert len(path.read_text()) == 64
        assert [f.name for f in path.parent.iterdir()] == [path.name]  # no draft left behind
