#!/usr/bin/env python3
"""Times commands the way bench/run.sh needs: each scenario's tools run alternately, run after
run, after warm-ups; wall time from a monotonic clock, peak memory from the child's own rusage
(os.wait4), so one slow run of one tool does not hide in a batch of the other.

Input (stdin): JSON {"runs": N, "warmup": W, "scenarios": [{"name", "target", "commands":
[{"tool", "argv", "env"?, "cwd"?, "expect_exit"?}]}]}.
Output (stdout): JSON with, per scenario and tool, every wall time (s) and peak RSS (KiB).
"""
import json
import os
import subprocess
import sys
import time


def run_once(command):
    env = dict(os.environ)
    env.update(command.get("env", {}))
    start = time.perf_counter()
    proc = subprocess.Popen(
        command["argv"],
        env=env,
        cwd=command.get("cwd"),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    expected = command.get("expect_exit")
    if expected is not None and proc.returncode != expected:
        sys.exit(f"{command['tool']}: exit {proc.returncode}, expected {expected}: {command['argv']}")
    return wall, usage.ru_maxrss  # KiB on Linux


def main():
    spec = json.load(sys.stdin)
    results = []
    for scenario in spec["scenarios"]:
        commands = scenario["commands"]
        for _ in range(spec["warmup"]):
            for command in commands:
                run_once(command)
        samples = {c["tool"]: {"wall": [], "rss": []} for c in commands}
        for _ in range(spec["runs"]):
            for command in commands:
                wall, rss = run_once(command)
                samples[command["tool"]]["wall"].append(wall)
                samples[command["tool"]]["rss"].append(rss)
        results.append({"name": scenario["name"], "samples": samples})
        print(f"  measured {scenario['name']}", file=sys.stderr)
    json.dump(results, sys.stdout)


if __name__ == "__main__":
    main()
