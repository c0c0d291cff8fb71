"""New visitor ids: time first (index locality), then 96 random bits."""

from __future__ import annotations

import base64
import os
import time

from advocacy.links import clicks


def test_new_ids_are_unique_well_shaped_and_follow_the_clock():
    before = time.time_ns() // 1_000_000
    first = [clicks.new_visitor_id() for _ in range(300)]  # more than one batch of tails
    time.sleep(0.005)
    later = clicks.new_visitor_id()
    after = time.time_ns() // 1_000_000

    assert len(set(first)) == len(first)
    assert all(clicks._VISITOR_SHAPE.match(i) and len(i) == 27 for i in [*first, later])
    assert all(before <= int(i[:11], 16) <= after for i in [*first, later])
    assert max(first) < later  # a later visitor sorts after: the end of each index range
    tails = {base64.urlsafe_b64decode(i[11:]) for i in first}
    assert len(tails) == len(first) and all(len(t) == 12 for t in tails)


def test_a_forked_process_never_hands_out_its_parents_random_parts():
    clicks.new_visitor_id()  # a batch drawn: the rest waits in the parent's list
    waiting = {f"x{tail}" for tail in clicks._visitor_ids._tails}
    assert waiting
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: 64 ids, their random parts to the parent
        os.close(read)
        tails = " ".join(f"x{clicks.new_visitor_id()[11:]}" for _ in range(64))
        os.write(write, tails.encode())
        os._exit(0)
    os.close(write)
    with os.fdopen(read) as pipe:
        child = set(pipe.read().split())
    os.waitpid(pid, 0)
    assert len(child) == 64 and not child & waiting
