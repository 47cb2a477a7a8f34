"""Real ``python -m chainopt`` processes for the tests that need one, started side by side.

Each process pays Python's start-up and ``import chainopt`` (about half a second
here); a test module starts all of its processes at once and then waits for
them, so they overlap on the second core instead of running one after another.
Each test still asserts on its own process.
"""

import subprocess
import sys


def run_cli_together(runs, timeout=120):
    """Run ``python -m chainopt *argv`` for every ``(argv, stdin)`` of ``runs`` at once.

    ``stdin`` is a string (written at start, then closed) or None (an empty
    standard input). Returns one ``subprocess.CompletedProcess`` per run, in
    order, with text ``stdout`` and ``stderr``.
    """
    procs = []
    for argv, stdin in runs:
        proc = subprocess.Popen([sys.executable, "-m", "chainopt", *argv], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        proc.stdin.write(stdin or "")  # a few bytes: they fit the pipe, so this never blocks
        proc.stdin.close()
        procs.append(proc)
    done = []
    for proc in procs:
        out = proc.stdout.read()  # the outputs are short: reading one after another cannot deadlock
        err = proc.stderr.read()
        done.append(subprocess.CompletedProcess(proc.args, proc.wait(timeout=timeout), out, err))
        proc.stdout.close()
        proc.stderr.close()
    return done
