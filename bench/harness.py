#!/usr/bin/env python3
"""Times commands the way bench/run.sh needs: each scenario's tools run alternately, run after
run, after warm-ups; wall time from a monotonic clock, peak memory from the child's own rusage
(os.wait4), so one slow run of one tool does not hide in a batch of the other.

Input (stdin): JSON {"runs": N, "warmup": W, "scenarios": [{"name", "target", "runs"?, "commands":
[{"tool", "argv", "env"?, "cwd"?, "expect_exit"?}]}]}; a scenario's own "runs" overrides N.
Output (stdout): JSON with, per scenario and tool, every wall time (s), CPU time (s, user and
system, of the tool with its children, from the same rusage), and peak RSS (KiB) of the tool's own
process and of it with its children.

Peak memory: the rusage of a waited child counts its children too (docker's 22 MB would hide the
tool's own figure), so the tool's own peak is read from /proc/<pid>/status (VmHWM, a high-water
mark) while it runs, in separate runs so the polling does not slow the timed ones.
"""
import json
import os
import subprocess
import sys
import time


def own_peak(command):
    env = dict(os.environ)
    env.update(command.get("env", {}))
    proc = subprocess.Popen(command["argv"], env=env, cwd=command.get("cwd"),
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    peak = 0
    while True:
        try:
            with open(f"/proc/{proc.pid}/status") as status:
                for line in status:
                    if line.startswith("VmHWM:"):
                        peak = max(peak, int(line.split()[1]))
        except OSError:
            pass
        pid, _, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            # A run of a few ms can end before the first read (a zombie has no VmHWM): then the
            # child's rusage, exact for a tool that starts no children (explain).
            return peak or usage.ru_maxrss
        time.sleep(0.0005)


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
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss  # RSS in KiB on Linux


def main():
    spec = json.load(sys.stdin)
    results = []
    for scenario in spec["scenarios"]:
        commands = scenario["commands"]
        runs = scenario.get("runs", spec["runs"])
        for _ in range(spec["warmup"]):
            for command in commands:
                run_once(command)
        samples = {c["tool"]: {"wall": [], "cpu": [], "tree_rss": [], "rss": []} for c in commands}
        for _ in range(runs):
            for command in commands:
                wall, cpu, rss = run_once(command)
                samples[command["tool"]]["wall"].append(wall)
                samples[command["tool"]]["cpu"].append(cpu)
                samples[command["tool"]]["tree_rss"].append(rss)
        for _ in range(max(5, runs // 4)):
            for command in commands:
                samples[command["tool"]]["rss"].append(own_peak(command))
        results.append({"name": scenario["name"], "samples": samples})
        print(f"  measured {scenario['name']}", file=sys.stderr)
    json.dump(results, sys.stdout)


if __name__ == "__main__":
    main()
