"""Excel in and out against CSV, same run, on the embedded default (SQLite): a benchmark.

    .venv/bin/python -m bench.files                 # 100,000 rows (several minutes)
    .venv/bin/python -m bench.files --rows 2000     # a smoke run

1. Import: the same N `certification.issued` rows written as FILE.xlsx (openpyxl write-only;
   half the rows carry their dates as date cells, half as ISO text; USCCs as text cells) and
   as FILE.csv (UTF-8 with a byte-order mark), each imported with `registry import
   --chunk-size 1000` into a fresh store of its own. Each import runs in a fresh wrapper
   process that reports its child's wall time and peak RSS (`ru_maxrss` of RUSAGE_CHILDREN,
   so one measurement per wrapper).
2. Export: after `registry projections rebuild` of the xlsx store, GET /v1/records.xlsx then
   GET /v1/records.csv (kind=certification) in-process through Flask's test client, as an
   admin of 330000, the body streamed and counted chunk by chunk. Each export runs twice:
   once timed alone, once under tracemalloc (its peak is the figure; tracemalloc slows Python
   code, so that pass's time is shown apart). The .xlsx is opened with openpyxl (read-only)
   and checked: N + 2 rows (two header rows), every holder_uscc cell a string.

Prints a table and writes it, with the command and the machine, to
bench/results/files-YYYY-MM-DD.txt.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
COLUMNS = ["type", "record", "tenant", "occurred_on", "holder_name", "holder_uscc", "product",
           "standards", "valid_until"]

# Runs argv[1:] as a child and prints one JSON line: exit code, wall seconds, the child's
# peak RSS in KiB (Linux), its stdout and the tail of its stderr.
WRAPPER = r"""
import json, resource, subprocess, sys, time
started = time.perf_counter()
done = subprocess.run(sys.argv[1:], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
seconds = time.perf_counter() - started
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(json.dumps({"rc": done.returncode, "seconds": seconds, "maxrss_kib": peak,
                  "stdout": done.stdout, "stderr": done.stderr[-4000:]}))
"""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.files",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=100_000,
                        help="Rows imported and exported [default: 100000].")
    parser.add_argument("--chunk-size", type=int, default=1000,
                        help="registry import --chunk-size [default: 1000].")
    parser.add_argument("--results", type=Path, default=ROOT / "bench" / "results",
                        help="Directory of the results file [default: bench/results].")
    parser.add_argument("--keep", action="store_true",
                        help="Keep the temporary directory (files and stores).")
    return parser.parse_args(argv)


def log(message: str) -> None:
    import time

    print(f"[files {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# The input files --------------------------------------------------------------------------------


def source_rows(n: int):
    """Row i as a dict of Python values (dates as datetime.date)."""
    import datetime as dt

    from events.text import make_uscc

    start = dt.date(2023, 1, 1)
    for i in range(1, n + 1):
        occurred = start + dt.timedelta(days=i % 300)
        yield {"type": "certification.issued", "record": f"B-{i:06d}", "tenant": "330523",
               "occurred_on": occurred, "holder_name": f"湖州企业{i}有限公司",
               "holder_uscc": make_uscc(f"91330523{i:09d}"), "product": "竹地板",
               "standards": "T/ZZB 2310-2021", "valid_until": occurred + dt.timedelta(days=1000)}


def write_csv(path: Path, n: int) -> None:
    import csv

    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        for row in source_rows(n):
            writer.writerow([row[c].isoformat() if hasattr(row[c], "isoformat") else row[c]
                             for c in COLUMNS])


def write_xlsx(path: Path, n: int) -> None:
    """Even rows carry their dates as date cells, odd rows as ISO text; codes as text."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    book = Workbook(write_only=True)
    sheet = book.create_sheet("events")
    sheet.append(COLUMNS)
    for i, row in enumerate(source_rows(n), start=1):
        cells = []
        for c in COLUMNS:
            value = row[c]
            if c in ("occurred_on", "valid_until"):
                if i % 2 == 0:
                    cell = WriteOnlyCell(sheet, value=value)
                    cell.number_format = "yyyy-mm-dd"
                    cells.append(cell)
                    continue
                value = value.isoformat()
            cell = WriteOnlyCell(sheet, value=value)
            cell.data_type = "s"
            cells.append(cell)
        sheet.append(cells)
    book.save(path)


# The stores and the imports ---------------------------------------------------------------------


def registry(env: dict, *args: str, check: bool = True):
    import subprocess

    done = subprocess.run([str(Path(sys.executable).parent / "registry"), *args], env=env,
                          capture_output=True, text=True)
    if check and done.returncode != 0:
        raise SystemExit(f"registry {' '.join(args)} exited {done.returncode}:\n"
                         f"{done.stdout}\n{done.stderr}")
    return done


def fresh_store(directory: Path) -> tuple[dict, str]:
    """A new SQLite store under `directory`: its environment and its URL."""
    import os

    directory.mkdir(parents=True)
    url = f"sqlite:///{directory.resolve()}/registry.db"
    env = {**os.environ, "REGISTRY_DATABASE_URL": url}
    registry(env, "init")
    return env, url


def add_principal(env: dict, name: str, role: str, tenant: str) -> str:
    import json

    done = registry(env, "principals", "add", "--name", name, "--role", role, "--tenant", tenant)
    return json.loads(done.stdout.strip().splitlines()[-1])["token"]


def measured_import(env: dict, path: Path, token: str, chunk_size: int) -> dict:
    """`registry import` in a fresh wrapper process: seconds, peak RSS, its summary."""
    import json
    import subprocess

    command = [str(Path(sys.executable).parent / "registry"), "import", str(path),
               "--principal-token", token, "--chunk-size", str(chunk_size)]
    done = subprocess.run([sys.executable, "-c", WRAPPER, *command], env=env,
                          capture_output=True, text=True, check=True)
    result = json.loads(done.stdout)
    summary = None
    for line in reversed(result["stdout"].strip().splitlines()):
        if line.startswith("{"):
            summary = json.loads(line)
            break
    result["summary"] = summary
    return result


# The exports ------------------------------------------------------------------------------------


def export(client, path: str, token: str, sink: Path | None, traced: bool) -> dict:
    """GET `path`, the body streamed chunk by chunk (and saved to `sink`)."""
    import time
    import tracemalloc

    if traced:
        tracemalloc.start()
    started = time.perf_counter()
    response = client.get(path, headers={"Authorization": f"Bearer {token}"}, buffered=False)
    size = 0
    out = sink.open("wb") if sink else None
    try:
        for chunk in response.response:
            if isinstance(chunk, str):
                chunk = chunk.encode("utf-8")
            size += len(chunk)
            if out:
                out.write(chunk)
    finally:
        response.close()
        if out:
            out.close()
    seconds = time.perf_counter() - started
    peak = None
    if traced:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    if response.status_code != 200:
        body = sink.read_text(errors="replace")[:500] if sink else ""
        raise SystemExit(f"GET {path} answered {response.status_code}: {body}")
    return {"seconds": seconds, "bytes": size, "peak_bytes": peak}


def check_xlsx(path: Path, n: int) -> dict:
    """Rows in the first sheet, and whether every holder_uscc data cell is a string."""
    from openpyxl import load_workbook

    book = load_workbook(path, read_only=True)
    try:
        sheet = book.worksheets[0]
        rows = 0
        column = None
        not_text = 0
        for number, cells in enumerate(sheet.iter_rows(), start=1):
            rows += 1
            if number == 2:
                names = [c.value for c in cells]
                column = names.index("holder_uscc")
            elif number > 2:
                cell = cells[column]
                if not (isinstance(cell.value, str) and cell.data_type == "s"):
                    not_text += 1
    finally:
        book.close()
    return {"rows": rows, "expected_rows": n + 2, "uscc_not_text": not_text,
            "ok": rows == n + 2 and not_text == 0 and column is not None}


def check_csv(path: Path, n: int) -> dict:
    import csv

    with path.open(encoding="utf-8-sig", newline="") as handle:
        rows = sum(1 for _ in csv.reader(handle))
    return {"rows": rows, "expected_rows": n + 1, "ok": rows == n + 1}


# Machine and report -----------------------------------------------------------------------------


def machine() -> dict:
    import os
    import platform
    import sqlite3

    memory = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory = int(line.split()[1]) / 1024 / 1024
    except OSError:
        pass
    import openpyxl

    return {"nproc": os.cpu_count(), "memory_gib": memory,
            "python": platform.python_version(), "sqlite": sqlite3.sqlite_version,
            "openpyxl": openpyxl.__version__, "platform": platform.platform()}


def mib(n: float | None) -> str:
    return "-" if n is None else f"{n / 1024 / 1024:.1f}"


def ratio(a: float | None, b: float | None) -> str:
    return "-" if not a or not b else f"{a / b:.2f}"


def table(n: int, imports: dict, exports: dict, checks: dict) -> list[str]:
    x, c = imports["xlsx"], imports["csv"]
    lines = [f"import of {n:,} certification.issued rows (registry import, SQLite, "
             "fresh store each)",
             f"{'':<14}{'seconds':>10}{'rows/s':>10}{'peak RSS MiB':>14}{'file MiB':>10}"]
    for name, r in (("xlsx", x), ("csv", c)):
        lines.append(f"{name:<14}{r['seconds']:>10.1f}{n / r['seconds']:>10.0f}"
                     f"{r['maxrss_kib'] / 1024:>14.1f}{mib(r['file_bytes']):>10}")
    lines.append(f"{'ratio xlsx/csv':<14}{ratio(x['seconds'], c['seconds']):>10}{'':>10}"
                 f"{ratio(x['maxrss_kib'], c['maxrss_kib']):>14}"
                 f"{ratio(x['file_bytes'], c['file_bytes']):>10}")
    x, c = exports["xlsx"], exports["csv"]
    lines += ["",
              f"export GET /v1/records.{{xlsx,csv}}?kind=certification, {n:,} records "
              "(in-process test client)",
              f"{'':<14}{'seconds':>10}{'rows/s':>10}{'py peak MiB':>13}{'body MiB':>10}"
              f"{'s traced':>10}"]
    for name, r in (("xlsx", x), ("csv", c)):
        lines.append(f"{name:<14}{r['seconds']:>10.1f}{n / r['seconds']:>10.0f}"
                     f"{mib(r['peak_bytes']):>13}{mib(r['bytes']):>10}"
                     f"{r['traced_seconds']:>10.1f}")
    lines.append(f"{'ratio xlsx/csv':<14}{ratio(x['seconds'], c['seconds']):>10}{'':>10}"
                 f"{ratio(x['peak_bytes'], c['peak_bytes']):>13}"
                 f"{ratio(x['bytes'], c['bytes']):>10}"
                 f"{ratio(x['traced_seconds'], c['traced_seconds']):>10}")
    cx, cc = checks["xlsx"], checks["csv"]
    lines += ["",
              f"xlsx check (openpyxl read-only): {cx['rows']:,} rows (expected "
              f"{cx['expected_rows']:,}), holder_uscc cells not text: {cx['uscc_not_text']} "
              f"-> {'OK' if cx['ok'] else 'FAILED'}",
              f"csv check: {cc['rows']:,} lines with the header (expected "
              f"{cc['expected_rows']:,}) -> {'OK' if cc['ok'] else 'FAILED'}"]
    return lines


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    import datetime as dt
    import json
    import shutil
    import tempfile
    import time

    sys.path.insert(0, str(ROOT))
    n = args.rows
    work = Path(tempfile.mkdtemp(prefix="bench-files-"))
    log(f"working in {work}")
    problems: list[str] = []
    try:
        files = {"xlsx": work / "import-xlsx.xlsx", "csv": work / "import-csv.csv"}
        started = time.perf_counter()
        write_xlsx(files["xlsx"], n)
        log(f"wrote {files['xlsx'].name} ({mib(files['xlsx'].stat().st_size)} MiB) in "
            f"{time.perf_counter() - started:.1f} s")
        started = time.perf_counter()
        write_csv(files["csv"], n)
        log(f"wrote {files['csv'].name} ({mib(files['csv'].stat().st_size)} MiB) in "
            f"{time.perf_counter() - started:.1f} s")

        imports: dict[str, dict] = {}
        stores: dict[str, tuple[dict, str]] = {}
        for fmt in ("xlsx", "csv"):
            env, url = fresh_store(work / f"store-{fmt}")
            stores[fmt] = (env, url)
            token = add_principal(env, "bench", "certification-body", "330000")
            log(f"importing {files[fmt].name} into {url}")
            result = measured_import(env, files[fmt], token, args.chunk_size)
            result["file_bytes"] = files[fmt].stat().st_size
            imports[fmt] = result
            summary = result["summary"]
            log(f"  {result['seconds']:.1f} s, peak RSS {result['maxrss_kib'] / 1024:.1f} MiB, "
                f"exit {result['rc']}, summary {json.dumps(summary, ensure_ascii=False)}")
            if result["rc"] != 0 or not summary or summary.get("stored") != n:
                problems.append(f"import {fmt}: exit {result['rc']}, summary {summary}, "
                                f"stderr tail: {result['stderr'][-1500:]}")

        env, url = stores["xlsx"]
        started = time.perf_counter()
        registry(env, "projections", "rebuild")
        rebuild_seconds = time.perf_counter() - started
        log(f"projections rebuilt in {rebuild_seconds:.1f} s")
        admin = add_principal(env, "a", "admin", "330000")

        from api import create_app
        from api.settings import Settings

        app = create_app(settings=Settings(database_url=url, rate_limit=0))
        client = app.test_client()
        warm = client.get("/v1/records?kind=certification&limit=1",
                          headers={"Authorization": f"Bearer {admin}"})
        if warm.status_code != 200:
            raise SystemExit(f"GET /v1/records answered {warm.status_code}: "
                             f"{warm.get_data(as_text=True)[:500]}")
        exports: dict[str, dict] = {}
        bodies = {fmt: work / f"export.{fmt}" for fmt in ("xlsx", "csv")}
        for fmt in ("xlsx", "csv"):
            path = f"/v1/records.{fmt}?kind=certification"
            log(f"GET {path} (timed)")
            timed = export(client, path, admin, bodies[fmt], traced=False)
            log(f"  {timed['seconds']:.1f} s, {mib(timed['bytes'])} MiB; again under tracemalloc")
            traced = export(client, path, admin, None, traced=True)
            log(f"  {traced['seconds']:.1f} s traced, peak {mib(traced['peak_bytes'])} MiB")
            if traced["bytes"] != timed["bytes"] and fmt == "csv":
                problems.append(f"export {fmt}: body sizes differ between the two passes "
                                f"({timed['bytes']} vs {traced['bytes']})")
            exports[fmt] = {**timed, "peak_bytes": traced["peak_bytes"],
                            "traced_seconds": traced["seconds"]}
        app.extensions["registry"].close()

        log("checking the exported files")
        checks = {"xlsx": check_xlsx(bodies["xlsx"], n), "csv": check_csv(bodies["csv"], n)}
        for fmt, check in checks.items():
            if not check["ok"]:
                problems.append(f"export {fmt} check failed: {check}")

        host = machine()
        command = "python -m bench.files" + ("".join(f" {a}" for a in sys.argv[1:])
                                             if argv is None else " " + " ".join(argv))
        lines = table(n, imports, exports, checks)
        notes = [
            f"projections rebuild of the xlsx store (not part of the figures): "
            f"{rebuild_seconds:.1f} s",
            "import: wall time and peak RSS of the `registry import` child process "
            f"(--chunk-size {args.chunk_size}), each from a fresh wrapper process; the xlsx "
            "has date cells on even rows and ISO text on odd rows",
            "export: seconds from a pass without tracemalloc; 'py peak' is tracemalloc's "
            "peak in a second pass ('s traced' its time); one warm-up GET /v1/records?limit=1 "
            "before the first export",
            "import summaries: " + "; ".join(
                f"{fmt} {json.dumps(imports[fmt]['summary'], ensure_ascii=False)}"
                for fmt in imports),
        ]
        today = dt.date.today().isoformat()
        header = [f"# bench/files.py results, {today}",
                  f"command: {command}  (from {ROOT}, {sys.executable})",
                  f"machine: nproc {host['nproc']}, memory "
                  f"{host['memory_gib']:.1f} GiB, Python {host['python']}, SQLite "
                  f"{host['sqlite']}, openpyxl {host['openpyxl']}, {host['platform']}",
                  ""]
        text = "\n".join(header + lines + [""] + notes +
                         ([""] + ["PROBLEMS:"] + problems if problems else [])) + "\n"
        print("\n".join(lines))
        if problems:
            print("\nPROBLEMS:\n" + "\n".join(problems))
        args.results.mkdir(parents=True, exist_ok=True)
        out = args.results / f"files-{today}.txt"
        out.write_text(text, encoding="utf-8")
        log(f"wrote {out}")
    finally:
        if args.keep:
            log(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
