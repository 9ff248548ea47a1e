"""Where the test suite's time goes: records, and the table `make test` ends with.

    molecule test -s S 2>&1 | python3 testbed/timing.py phases S TIMES.tsv > S.log
        passes molecule's output through unchanged and records how long each phase took
        (create, prepare, converge, idempotence, verify, side_effect, destroy)
    python3 testbed/timing.py table TIMES.tsv benchmarks/test-budget.tsv
        prints every suite, scenario and phase with its time and budget; warns for each one over budget

TIMES.tsv rows (tab-separated): kind (suite | scenario | phase | total), name, seconds, status.
The budget file: name<TAB>seconds per line, '#' comments; a name is a suite's or "molecule <scenario>"
or "total" (the wall-clock time of the whole run).
"""
import re
import sys
import time
from typing import Dict, List, Tuple

ANSI = re.compile(r"\x1b\[[0-9;]*m")
PHASE = re.compile(r"➜ (\w+): (Executing|Executed)")


def phases(scenario: str, times_file: str) -> int:
    started: Dict[str, float] = {}
    seen: Dict[str, int] = {}
    with open(times_file, "a", encoding="utf-8") as times:
        for line in sys.stdin:
            sys.stdout.write(line)
            sys.stdout.flush()
            found = PHASE.search(ANSI.sub("", line))
            if not found:
                continue
            phase, what = found.groups()
            if what == "Executing":
                started[phase] = time.monotonic()
            elif phase in started:
                seen[phase] = seen.get(phase, 0) + 1
                name = f"molecule {scenario}: {phase}" + (f" #{seen[phase]}" if seen[phase] > 1 else "")
                times.write(f"phase\t{name}\t{time.monotonic() - started.pop(phase):.0f}\tok\n")
                times.flush()
    return 0


def _budgets(path: str) -> Dict[str, int]:
    budgets: Dict[str, int] = {}
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            line = line.split("#", 1)[0].rstrip()
            if not line:
                continue
            name, _tab, seconds = line.rpartition("\t")
            if not name or not seconds.strip().isdigit():
                raise SystemExit(f"{path}:{number}: expected 'name<TAB>seconds', got {line!r}")
            budgets[name.strip()] = int(seconds)
    return budgets


def table(times_file: str, budget_file: str) -> int:
    rows: List[Tuple[str, str, int, str]] = []
    with open(times_file, encoding="utf-8") as handle:
        for line in handle:
            parts = line.rstrip("\n").split("\t")
            if len(parts) == 4 and parts[2].isdigit():
                rows.append((parts[0], parts[1], int(parts[2]), parts[3]))
    budgets = _budgets(budget_file)
    over = []
    print(f"{'suite / scenario / phase':<58} {'time':>7} {'budget':>7}  status")

    def show(label: str, name: str, seconds: int, status: str) -> None:
        budget = budgets.get(name)
        mark = ""
        if budget is not None and seconds > budget:
            over.append(f"{name}: {seconds} s, budget {budget} s")
            mark = "  OVER BUDGET"
        shown = f"{budget}s" if budget is not None else ""
        print(f"{label:<58} {seconds:>6}s {shown:>7}  {status}{mark}")

    # suites in the order they ended, each molecule scenario with its phases, the wall clock last
    for kind, name, seconds, status in rows:
        if kind == "suite":
            show(name, name, seconds, status)
    for kind, name, seconds, status in rows:
        if kind == "scenario":
            show("  " + name, name, seconds, status)
            for phase in (r for r in rows if r[0] == "phase" and r[1].startswith(name + ": ")):
                show("      " + phase[1][len(name) + 2:], phase[1], phase[2], "")
    for kind, name, seconds, status in rows:
        if kind == "total":
            show(name, name, seconds, status)
    for line in over:
        print(f"WARNING: over its time budget ({budget_file}): {line}")
    return 0


def main(argv: List[str]) -> int:
    if len(argv) == 4 and argv[1] == "phases":
        return phases(argv[2], argv[3])
    if len(argv) == 4 and argv[1] == "table":
        return table(argv[2], argv[3])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
