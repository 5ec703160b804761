"""A data-loading-bound step: blocking reads, sleeps, lock and queue waits, and a little Python.

Phases (known nature):
  py_parse     interpreted  tokenising a record in Python
  fifo_read    waiting      blocking reads from a named pipe (a file) that a producer process fills
                            after a short delay, as a slow disk or network share would
  sleep_wait   waiting      time.sleep (rate limiting / polling)
  lock_wait    waiting      acquiring a lock that a worker thread holds while it sleeps
  queue_wait   waiting      queue.get for a batch that a worker thread produces after a delay
"""

import os
import queue
import subprocess
import sys
import tempfile
import threading
import time

from _truth import Truth, scale

DELAY_S = 0.003
CHUNK = 65536
PRODUCER = f"""
import os, sys, time
fifo = sys.argv[1]
out = os.open(fifo, os.O_WRONLY)
payload = b"x" * {CHUNK}
for _ in sys.stdin.buffer:
    time.sleep({DELAY_S})
    os.write(out, payload)
"""

LOCK = threading.Lock()
held = threading.Event()
lock_requests: queue.Queue = queue.Queue()
batch_requests: queue.Queue = queue.Queue()
batches: queue.Queue = queue.Queue()
TEXT = "the quick brown fox jumps over the lazy dog " * 40
# Split once: str.split is C (a fifth of the phase when done per record), and this phase is pure Python.
WORDS = TEXT.split()


def _lock_holder():
    while lock_requests.get() is not None:
        with LOCK:
            held.set()
            time.sleep(DELAY_S)


def _batch_maker():
    while batch_requests.get() is not None:
        time.sleep(DELAY_S)
        batches.put(list(range(64)))


def py_parse():
    counts = {}
    for _ in range(40):
        for word in WORDS:
            counts[word] = counts.get(word, 0) + 1
    return counts


def fifo_read(state):
    state["producer"].stdin.write(b"\n")
    state["producer"].stdin.flush()
    got = 0
    while got < CHUNK:
        got += len(os.read(state["fifo"], CHUNK - got))
    return got


def sleep_wait():
    time.sleep(DELAY_S)


def lock_wait():
    lock_requests.put(1)
    held.wait()
    held.clear()
    with LOCK:
        pass


def queue_wait():
    batch_requests.put(1)
    return batches.get()


truth = Truth({"py_parse": "interpreted", "fifo_read": "waiting", "sleep_wait": "waiting",
               "lock_wait": "waiting", "queue_wait": "waiting"})


def train_step(state):
    marks = [truth.mark()]
    py_parse()
    marks.append(truth.mark())
    fifo_read(state)
    marks.append(truth.mark())
    sleep_wait()
    marks.append(truth.mark())
    lock_wait()
    marks.append(truth.mark())
    queue_wait()
    marks.append(truth.mark())
    truth.record(marks)


def main():
    tmp = tempfile.mkdtemp(prefix="bench-fifo-")
    path = os.path.join(tmp, "shard.fifo")
    os.mkfifo(path)
    producer = subprocess.Popen([sys.executable, "-c", PRODUCER, path], stdin=subprocess.PIPE)
    state = {"producer": producer, "fifo": os.open(path, os.O_RDONLY)}
    workers = [threading.Thread(target=_lock_holder, daemon=True),
               threading.Thread(target=_batch_maker, daemon=True)]
    for w in workers:
        w.start()
    try:
        for _ in range(scale(150)):
            train_step(state)
    finally:
        lock_requests.put(None)
        batch_requests.put(None)
        producer.stdin.close()
        producer.wait()
        os.close(state["fifo"])
        os.unlink(path)
        os.rmdir(tmp)
    truth.write()


if __name__ == "__main__":
    main()
