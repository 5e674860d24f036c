"""Argon2id's memory is bounded by the cores, not by the threads that ask for hashes.

A hash takes its whole memory at once (7 MiB by default), and glibc's malloc keeps such a freed
block in the arena of the thread that freed it. When the request threads hashed, a server's
resident memory grew by a block for each thread that ever signed someone in; the soak
(``bench/soak.py``) saw the tenant grow by 80 MB in its first minute. The hashes now run on a
pool of their own, a thread for every lanes' worth of the machine's cores.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

from expressway import hashing

#: Run in a process of its own, so that nothing else this test session allocated is counted.
SCRIPT = """
import json, threading
from expressway import hashing

def rss_mib():
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * {page} / 2**20

stored = hashing.hash_password("correct horse")
before = rss_mib()

def sign_in():
    for _ in range(2):
        assert hashing.verify_password(stored, "correct horse")
        assert not hashing.verify_password(stored, "wrong horse")

threads = [threading.Thread(target=sign_in) for _ in range({threads})]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
print(json.dumps({{"grown_mib": rss_mib() - before}}))
"""

#: Well over the cores: each would keep a block if the asking threads hashed.
THREADS = 4 * (os.cpu_count() or 1) + 4


def test_many_threads_signing_in_do_not_each_keep_a_hash_s_memory() -> None:
    page = os.sysconf("SC_PAGE_SIZE")
    done = subprocess.run(  # noqa: S603 - our own interpreter and script
        [sys.executable, "-c", SCRIPT.format(page=page, threads=THREADS)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    grown = json.loads(done.stdout)["grown_mib"]
    parameters = hashing.password_hash_parameters()
    block = parameters.memory_kib / 1024
    # A hashing thread for every lanes' worth of cores: one block each (one is already there
    # from the first hash), and some slack. A block per asking thread would be THREADS blocks;
    # with two lanes, a hashing thread a core kept a block more than there are cores.
    threads = hashing.hashing_threads(parameters.parallelism)
    assert grown < (threads + 1) * block, f"grew {grown:.0f} MiB for {THREADS} threads"
