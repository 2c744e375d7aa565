#!/usr/bin/python3
"""Turns bench.sh's results.tsv (key<TAB>value, one line per run) into
tests/bench/RESULTS.md: medians, every run's figure, ratios to acmezone,
the targets of issue 6, the settings and versions. Every figure it prints
comes from results.tsv; one the run did not produce reads "not run". The
findings (what limits a missed target) are kept by hand in findings.md next
to this file, each with the date and commit of its run: RESULTS.md links to
it and copies nothing from it.

    report.py results.tsv > RESULTS.md      (and the time against the budget on stderr)
    report.py --readme results.tsv          the README's figures block (between its
                                            <!-- figures --> markers; tests/check_readme_figures.sh
                                            fails when the README differs)
"""
import os
import statistics
import sys
from collections import OrderedDict

args = sys.argv[1:]
readme = bool(args) and args[0] == "--readme"
if readme:
    args = args[1:]
rows = OrderedDict()
for line in open(args[0], encoding="utf-8"):
    line = line.rstrip("\n")
    if "\t" not in line:
        continue
    k, v = line.split("\t", 1)
    rows.setdefault(k, []).append(v)


def one(k, default="?"):
    return rows.get(k, [default])[-1]


def nums(k):
    out = []
    for v in rows.get(k, []):
        try:
            out.append(float(v))
        except ValueError:
            pass
    return out


def status(k):
    """None when every run gave a number, else the first non-number (FAIL, skipped, n/a)."""
    vals = rows.get(k)
    if not vals:
        return "not run"
    for v in vals:
        try:
            float(v)
        except ValueError:
            return v
    return None


def med(k):
    if status(k) is not None:
        return None
    return statistics.median(nums(k))


def fmt(x, unit=""):
    if x is None:
        return "—"
    if abs(x) >= 100:
        s = f"{x:,.0f}"
    elif abs(x) >= 10:
        s = f"{x:.1f}"
    else:
        s = f"{x:.2f}"
    return s + unit


def cell(k, unit=""):
    st = status(k)
    if st is not None:
        return st
    return fmt(med(k), unit)


def runs(k):
    return ", ".join(rows.get(k, [])) or "—"


def ratio(a, b):
    if a is None or b is None or b == 0:
        return "—"
    return f"{a / b:.2f}×"


def good(k):
    """The runs of k that gave a number (a FAIL run is left out, and counted)."""
    return nums(k)


def failed(k):
    return sum(1 for v in rows.get(k, []) if not _isnum(v))


def _isnum(v):
    try:
        float(v)
        return True
    except ValueError:
        return False


def spread(xs, f=lambda x: fmt(x)):
    """median (min–max, n runs) of the numbers xs"""
    if not xs:
        return "—"
    m = statistics.median(xs)
    if len(xs) == 1:
        return f"{f(m)} (1 run)"
    return f"{f(m)} ({f(min(xs))}–{f(max(xs))})"


def paired(ka, kb):
    """per-run ratios a/b of two keys measured in the same runs, in order"""
    out = []
    for a, b in zip(rows.get(ka, []), rows.get(kb, [])):
        if _isnum(a) and _isnum(b) and float(b) > 0:
            out.append(float(a) / float(b))
    return out


def secs(k):
    v = one(k, "")
    return int(float(v)) if _isnum(v) else None


def mmss(t):
    return f"{t // 60} min {t % 60:02d} s"


out = []
p = out.append
load_s, load_e = one("machine.load_start"), one("machine.load_end")
load_0 = one("machine.load_before", "")
try:
    if _isnum(load_0.split()[0] if load_0 else ""):
        # before scripts/bench started: other work on the machine, not the bench's own
        loaded = float(load_0.split()[0]) >= 1.0
    else:
        loaded = max(float(load_s.split()[0]), float(load_e.split()[0])) >= 1.0
except ValueError:
    loaded = True

p("# acmezone benchmarks (issue 6)")
p("")
p("Written by `scripts/bench` (tests/bench/bench.sh, report.py); reproduce with")
p("`scripts/bench`. Every figure is the median of the runs listed next to it;")
p("ratios are peer ÷ acmezone for times (how many times longer the peer takes) and")
p("acmezone ÷ peer for rates (how many times more acmezone does).")
p("")
if loaded:
    before = f"{load_0} before scripts/bench started, " if load_0 else ""
    p(f"**Provisional.** The load average was {before}{load_s} at the start of the cases and {load_e} at the end")
    p("of this run on a 2-core machine shared with other engineers' builds and tests:")
    p("absolute figures are depressed and noisy; the ratios, measured interleaved, hold better.")
    p("")
p("## Machine")
p("")
p(f"- {one('machine.nproc')} cores ({one('machine.cpu')}), memory {one('machine.mem')}")
p(f"- load average (1, 5, 15 min) before scripts/bench {load_0 or 'not recorded'}; at the start of "
  f"the cases {load_s}, at the end {load_e} (these two include the bench's own build and load)")
p(f"- one 512-octet write + fdatasync on the state directory's disk (dd oflag=dsync, 200 of them): "
  f"{one('machine.dsync_ms_start')} ms at start, {one('machine.dsync_ms_end')} ms at end")
p(f"- run {one('machine.date_start')} → {one('machine.date_end')}, "
  f"{one('machine.bench_seconds')} s of benchmarks; build of build-bench "
  f"{one('machine.build_seconds')}{' s' if one('machine.build_seconds').isdigit() else ''}; "
  f"commit {one('machine.commit')}")
p("")
budget = secs("time.budget") or 1200
p(f"## Time against the {budget // 60}-minute budget")
p("")
steps = [("apt-get installs (scripts/bench)", "time.setup"),
         ("build of build-bench (scripts/build)", "time.build")]
for c, what in ((1, "case 1, issuance"), (2, "case 2, serving"), (3, "case 3, updates"),
                (4, "case 4, memory and scale"), (5, "case 5, scale of the issuer"),
                (6, "case 6, serve against nginx, a fleet")):
    steps.append((what, f"time.case{c}"))
p("| step | seconds |")
p("|---|---|")
for what, k in steps:
    v = secs(k)
    p(f"| {what} | {v if v is not None else one(k, 'not run')} |")
bench_s = secs("time.bench") or secs("machine.bench_seconds")
p(f"| set-up of bench.sh, all cases and this report | {bench_s if bench_s is not None else '?'} |")
total = secs("time.total")
if total is None:
    known = [secs(k) for _, k in steps[:2]] + [bench_s]
    total = sum(v for v in known if v is not None)
    total_note = "sum of the steps above (scripts/bench's start not recorded)"
else:
    total_note = "from scripts/bench's start to this report"
within = total <= budget
p(f"| **total** ({total_note}) | **{total}** = {mmss(total)}, "
  f"{'within' if within else 'OVER'} the {budget // 60}-minute budget "
  f"({100 * total / budget:.0f} %) |")
if one("time.setup", "not run") == "not run" or one("time.build", "not run") == "not run":
    p("")
    p("This run did not install or build (`--no-build`, or `bench.sh` alone): a fresh")
    p("machine adds the apt-get installs and the build to the total.")
p("")
print(f"bench: {total} s ({mmss(total)}) of the {budget} s budget: "
      f"{'within' if within else 'OVER BUDGET'}", file=sys.stderr)

p("## Versions")
p("")
for k in rows:
    if k.startswith("version."):
        p(f"- {k[8:]}: {one(k)}")
p("")

# ---- case 1
PEERS = ("uacme", "certbot", "lego")


def not_run(k):
    """the reason a figure is missing: 'not run' (with the run's reason when it gave one)"""
    st = status(k)
    if st is None:
        return None
    if st == "skipped":  # runs before issue 15 wrote this for the peers' N = 100
        return "not run"
    return st


def issue_key(t, n, at_once):
    return f"issue.{t}.{n}" + (".atonce" if at_once else "")


def issue_cell(t, n, at_once, base=None):
    """a peer's time at N, with × acmezone's time at the same N"""
    if at_once and t == "certbot":
        return certbot_at_once()
    k = issue_key(t, n, at_once)
    v = med(k)
    if v is None:
        return not_run(k)
    return fmt(v, " s") + (f" ({v / base:.1f}×)" if base else "")


def certbot_at_once():
    v = one("issue.certbot.atonce", "")
    if v.startswith("refused"):
        return "not possible: certbot refuses a second instance"
    return "not run" + (f" ({v})" if v else "")


at_once_n = one("settings.peers_at_once", "16").split()[0]
az_par = (one("settings.acmezone", "parallel = 16").split("parallel = ") + ["16"])[1].split(",")[0]
# the N of the runs (BENCH_N), and always 1, 20 and 100: a missing one reads "not run"
ISSUE_NS = sorted({1, 20, 100} | {int(k.split(".")[2]) for k in rows
                                   if k.startswith("issue.acmezone.") and k.split(".")[2].isdigit()})
p("## 1. Issuance: {Z, *.Z}, ECDSA P-256, N zones (seconds, wall)")
p("")
p("N = 1 is the time for one zone, each tool as it is. At N = 20 and 100 acmezone is one")
p(f"process issuing the zones {az_par} at once (`parallel = {az_par}`); the peers issue one zone per")
p("invocation and are run two ways: one zone after the other, as their documentation runs")
p(f"them, and {at_once_n} invocations at once (a new one starting when one ends, as `xargs -P` does),")
p("where the tool allows it. In brackets: how many times acmezone's time at the same N.")
p("A peer's run the time budget left out says \"not run\", with the estimate that left it")
p("out: no figure here is extrapolated.")
p("")
p("| tool, how it is run | " + " | ".join(f"N = {n}" for n in ISSUE_NS) + " |")
p("|---" * (len(ISSUE_NS) + 1) + "|")
a_med = {n: med(f"issue.acmezone.{n}") for n in ISSUE_NS}
p(f"| acmezone, one process, {az_par} zones at once | " +
  " | ".join(cell(f"issue.acmezone.{n}", " s") if status(f"issue.acmezone.{n}") is None
             else not_run(f"issue.acmezone.{n}") for n in ISSUE_NS) + " |")
for t in PEERS:
    if one(f"issue.{t}.available", "yes") == "no":
        p(f"| {t} | not installed |" + " |" * (len(ISSUE_NS) - 1))
        continue
    p(f"| {t}, one zone after the other | " +
      " | ".join(issue_cell(t, n, False, a_med[n]) for n in ISSUE_NS) + " |")
    p(f"| {t}, {at_once_n} at once | (one zone: as above) | " +
      " | ".join(issue_cell(t, n, True, a_med[n]) for n in ISSUE_NS[1:]) + " |")
p("")
cb = one("issue.certbot.atonce", "")
if cb:
    p(f"certbot, two started at once on one configuration: {cb}")
    p("")
fastest = {}
for n in ISSUE_NS[1:]:
    got = [(v, f"{t} {'at once' if ao else 'one after the other'}")
           for t in PEERS for ao in (False, True)
           if (v := med(issue_key(t, n, ao))) is not None]
    fastest[n] = min(got) if got else None
    if fastest[n] and a_med[n]:
        v, what = fastest[n]
        p(f"- N = {n}: the fastest peer, {what}, {fmt(v, ' s')}: {v / a_med[n]:.1f}× acmezone's "
          f"{fmt(a_med[n], ' s')}; per zone {fmt(v / n, ' s')} against {fmt(a_med[n] / n, ' s')}")
p("")
fails = rows.get("issue.failure", [])
if fails:
    p(f"**{len(fails)} run{'s' if len(fails) > 1 else ''} failed** (killed at the time limit or exited"
      " non-zero); the tail of each one's log and of Pebble's:")
    p("")
    for f in fails:
        p("```")
        p(f.replace("\\n", "\n").rstrip())
        p("```")
    if "issue.pebble_restarts" in rows:
        p(f"Pebble was restarted {one('issue.pebble_restarts')} time(s) after a hung run"
          " (a new CA: every account made again, untimed).")
    p("")
p("Runs (s):")
for k in rows:
    if k.startswith("issue.") and k not in ("issue.failure", "issue.certbot.atonce"):
        p(f"- {k}: {runs(k)}")
a100, a20 = a_med.get(100), a_med.get(20)
p("")
p("Targets:")
p(f"- 100 zones in at most 5 s: {cell('issue.acmezone.100', ' s')} → "
  f"{'not measured' if a100 is None else 'met' if a100 <= 5 else 'MISSED'}")
if fastest[20] and a20:
    r = fastest[20][0] / a20
    p(f"- 20 zones at least 10× faster than the fastest peer, either way it is run "
      f"({fastest[20][1]}): {r:.1f}× → {'met' if r >= 10 else 'MISSED'}")
else:
    p("- 20 zones at least 10× faster than the fastest peer: no peer figure")
p("")
p("Settings:")
for k in ("settings.pebble", "settings.acmezone", "settings.uacme", "settings.certbot",
          "settings.lego", "settings.peers_at_once", "settings.limits"):
    if k in rows:
        p(f"- {k[9:]}: {one(k)}")
p("")

# ---- case 2
pct = lambda x: f"{100 * x:.0f} %"
rat = lambda x: f"{x:.2f}×"
SERVE_KINDS = ("plugin_txt", "native_txt", "native_a.plugin", "native_a.plain")


def saturation(k):
    """(runs where named was the limit, runs checked, runs where dnsperf was): named is the
    limit in a run where it used ≥ 0.90 of its one core and dnsperf < 0.90 of its own;
    dnsperf where it used ≥ 0.90; neither where both stayed below (the cores were shared
    with other work). (0, 0, 0) for a run before the check (no .named_cpu)."""
    sat = checked = load = 0
    for nc, dc in zip(rows.get(f"serve.{k}.named_cpu", []), rows.get(f"serve.{k}.dnsperf_cpu", [])):
        if _isnum(nc) and _isnum(dc):
            checked += 1
            sat += float(nc) >= 0.90 and float(dc) < 0.90
            load += float(dc) >= 0.90
    return sat, checked, load


def limit_text(k):
    sat, checked, load = saturation(k)
    if not checked:
        return "not checked (a run before the check)"
    if sat == checked:
        return f"named, in every run ({checked})"
    neither = checked - sat - load
    parts = [f"named in {sat} of {checked} runs"]
    if load:
        parts.append(f"dnsperf in {load}")
    if neither:
        parts.append(f"neither in {neither} (both below 0.90 of a core: the cores were busy with other work)")
    return "**" + "; ".join(parts) + "**: those runs do not measure named's capacity"


def us_per_query(k):
    """CPU microseconds named spent a query: 1e6 ÷ the median q/CPU-s"""
    xs = good(f"serve.{k}.cpu")
    return 1e6 / statistics.median(xs) if xs else None


p("## 2. Serving (queries per second, dnsperf)")
p("")
p("The serving nameds run with `-n 1` (one worker thread) pinned to CPU 0, dnsperf pinned to")
p("CPU 1: a query's whole cost lands on named's core, and each process's CPU use says which")
p("one is the limit. named is the limit (the rate measures named, not dnsperf) in a run where")
p("named used ≥ 0.90 of its core and dnsperf < 0.90 of its own; the \"limit\" column says in")
p("how many runs that held. Each figure is the median of the runs with, in brackets, the")
p("lowest and the highest; each ratio is the median of the ratios within each run (the")
p("queries were measured one after the other in that run), with the lowest and the highest.")
p("q/CPU-s is queries answered per CPU-second spent by named (utime + stime of the whole")
p("process, so the plugin's own threads count against it); µs/query is its inverse, the CPU")
p("named spends on one query. Compare ratios within a run rather than levels across runs:")
p("a busy machine depresses both.")
p("")
p("| query | q/s | q/CPU-s of named | µs of named's CPU a query | named's CPU, dnsperf's (cores) | limit | ratio (q/s) | ratio (q/CPU-s) |")
p("|---|---|---|---|---|---|---|---|")
serve_rows = (
    ("`_acme-challenge` TXT from the plugin", "plugin_txt", "native_txt", "of native"),
    ("the same TXT from a native zone, same named", "native_txt", None, ""),
    ("native zone A, named with the plugin (100 zones)", "native_a.plugin", "native_a.plain",
     "of without"),
    ("native zone A, named without the plugin", "native_a.plain", None, ""),
)
for label, k, base, what in serve_rows:
    fq = spread(good(f"serve.{k}"))
    fc = spread(good(f"serve.{k}.cpu"))
    us = us_per_query(k)
    ncpu, dcpu = good(f"serve.{k}.named_cpu"), good(f"serve.{k}.dnsperf_cpu")
    cpus = (f"{statistics.median(ncpu):.2f}, {statistics.median(dcpu):.2f}" if ncpu and dcpu
            else "not recorded")
    if base:
        rq = spread(paired(f"serve.{k}", f"serve.{base}"), rat) + " " + what
        rc = spread(paired(f"serve.{k}.cpu", f"serve.{base}.cpu"), rat)
    else:
        rq, rc = "1", "1"
    nf = failed(f"serve.{k}")
    if nf:
        fq += f", {nf} run{'s' if nf > 1 else ''} FAIL (lost queries or not NOERROR)"
    p(f"| {label} | {fq} | {fc} | {fmt(us)} | {cpus} | {limit_text(k)} | {rq} | {rc} |")
p("")
for k in SERVE_KINDS:
    p(f"- {k}: {runs('serve.' + k)}; q/CPU-s {runs('serve.' + k + '.cpu')}; named's CPU "
      f"{runs('serve.' + k + '.named_cpu')}; dnsperf's {runs('serve.' + k + '.dnsperf_cpu')}; "
      f"response {one('serve.' + k + '.response_octets')} octets")
p("")
pt, nt = med("serve.plugin_txt"), med("serve.native_txt")
na_p, na_0 = med("serve.native_a.plugin"), med("serve.native_a.plain")
us_p, us_n = us_per_query("plugin_txt"), us_per_query("native_txt")
plugin_cost = None
if us_p and us_n:
    plugin_cost = (f"named spends {fmt(us_p)} µs of CPU on a TXT query the plugin answers and "
                   f"{fmt(us_n)} µs on the same TXT from a native zone: the plugin costs "
                   f"{fmt(us_p - us_n)} µs more a query ({us_p / us_n:.2f}× the CPU)")
    p(f"The plugin's cost, plainly: {plugin_cost}."
      + (" Where it goes: the profile below." if one("serve.profile", "").startswith("tests/") else ""))
    p("")
if "serve.profile" in rows:
    p(f"- profile: {one('serve.profile')}")
    if "serve.profile.top_dso" in rows:
        p(f"  - named's samples by library (self): {one('serve.profile.top_dso')}")
p("")
p("Targets (the per-run ratios; the q/CPU-s ratio in brackets):")


def verdict(xs, ok):
    if not xs:
        return "not measured"
    lo, m, hi = min(xs), statistics.median(xs), max(xs)
    if ok(lo):
        return "met (in every run)"
    if ok(m):
        return "met by the median, not in every run"
    if ok(hi):
        return "MISSED by the median, met in some runs (within noise)"
    return "MISSED in every run"


runs_verdict = verdict  # (case 4 below rebinds the name "verdict" to a string)


r_txt = paired("serve.plugin_txt", "serve.native_txt")
r_txt_c = paired("serve.plugin_txt.cpu", "serve.native_txt.cpu")


def sat_note(*ks):
    sat = sum(saturation(k)[0] for k in ks)
    checked = sum(saturation(k)[1] for k in ks)
    if not checked:
        return " (named's saturation not checked in this run: the rate may be dnsperf's)"
    if sat < checked:
        return f" (named the limit in only {sat} of {checked} runs of these queries: see the limit column)"
    return ""



if r_txt:
    p(f"- plugin ≥ 90% of native: {pct(statistics.median(r_txt))} "
      f"({pct(min(r_txt))}–{pct(max(r_txt))}) → {verdict(r_txt, lambda x: x >= 0.9)}"
      + (f" [per CPU-second {pct(statistics.median(r_txt_c))} → {verdict(r_txt_c, lambda x: x >= 0.9)}]"
         if r_txt_c else "") + sat_note("plugin_txt", "native_txt"))
r_a = paired("serve.native_a.plugin", "serve.native_a.plain")
r_a_c = paired("serve.native_a.plugin.cpu", "serve.native_a.plain.cpu")
if r_a:
    cost = lambda x: f"{100 * (1 - x):.1f} %"
    p(f"- cost to native zones ≤ 5%: {cost(statistics.median(r_a))} "
      f"({cost(max(r_a))} to {cost(min(r_a))}) → {verdict(r_a, lambda x: x >= 0.95)}"
      + (f" [per CPU-second {cost(statistics.median(r_a_c))} → {verdict(r_a_c, lambda x: x >= 0.95)}]"
         if r_a_c else "") + sat_note("native_a.plugin", "native_a.plain"))
for k in ("settings.serving", "settings.serving_named"):
    if k in rows:
        p(f"- {k[9:].replace('_', ' ')}: {one(k)}")
p("")

# ---- case 3
p("## 3. Updates (TSIG-signed, acknowledged per second)")
p("")
p("Each writer adds one TXT value at a new name per UPDATE (per value for gdnsdctl), with")
p("1 client (one after the other) and 32 at once. The acmezone control socket and BIND's own")
p("dynamic update run in the same named; the threads column says what each had (named's -n")
p("limits BIND's workers, not the control socket's own threads), and the promise column")
p("what an acknowledgement guarantees: the rates are not for the same promise. gdnsdctl's")
p("batched mode (100 values a call, one call after the other) is gdnsd's fastest way in.")
p("")
p("| writer | threads | an acknowledgement promises | 1 client | 32 clients | acmezone ÷ it (1 / 32) |")
p("|---|---|---|---|---|---|")
a1, a32 = med("update.acmezone.c1"), med("update.acmezone.c32")
nr = "not recorded"
# What an acknowledgement promises: what each tool is, not a figure of the run.
# What the run saw on the disk (case 3's strace run) goes with it.


def synced(w, what):
    # (runs before issue 15 counted the plugin's fdatasync calls alone, under another key)
    v = one(f"update.{w}.c32_updates_per_sync", one(f"update.{w}.c32_updates_per_fdatasync", ""))
    if _isnum(v):
        return f"{what} ({v} UPDATEs per fsync/fdatasync call under strace in this run)"
    return f" (its syncs: {v})" if v else " (its syncs not counted in this run)"


PROMISE = {
    "acmezone": "answered once its journal record is fdatasync'd: kept across a crash or a restart"
                + synced("acmezone", ""),
    "bind": "answered once written to the zone's journal (.jnl)"
            + synced("bind", ", which named syncs: kept across a crash or a restart"),
    "gdnsd": "values in memory only: gone at a restart, and expire after acme_challenge_ttl",
}
p(f"| acmezone control socket | {one('settings.threads.acmezone', nr)} | "
  f"{PROMISE['acmezone']} | {cell('update.acmezone.c1')} | "
  f"{cell('update.acmezone.c32')} | 1 / 1 |")
for t, label in (("bind", "BIND dynamic update, native zone"),
                 ("gdnsd", "gdnsdctl acme-dns-01, 1 value a call")):
    b1, b32 = med(f"update.{t}.c1"), med(f"update.{t}.c32")
    p(f"| {label} | {one(f'settings.threads.{t}', nr)} | {PROMISE[t]} | "
      f"{cell(f'update.{t}.c1')} | {cell(f'update.{t}.c32')} | {ratio(a1, b1)} / {ratio(a32, b32)} |")
g100 = med("update.gdnsd.batch100")
p(f"| gdnsdctl acme-dns-01, 100 values a call | {one('settings.threads.gdnsd', nr)} | "
  f"{PROMISE['gdnsd']} | {cell('update.gdnsd.batch100')} values/s | not run "
  f"| — / {ratio(a32, g100)} (acmezone's 32 clients ÷ its one) |")
p("")
for k in rows:
    if k.startswith("update."):
        p(f"- {k}: {runs(k)}")
p("")
b32 = med("update.bind.c32")
p("Target:")
if a32 and b32:
    p(f"- ≥ 10× BIND's own dynamic update at 32 clients: {a32 / b32:.1f}× → "
      f"{'met' if a32 >= 10 * b32 else 'MISSED'} (BIND with "
      f"{one('settings.threads.bind', 'threads not recorded')})")
p("")
p("Acknowledgement to served (one client, 200 UPDATEs a run, latency.py; each run's line):")
for k in ("latency.acmezone", "latency.bind"):
    for v in rows.get(k, []):
        p(f"- {k[8:]}: {v}")
for k in ("settings.updates", "settings.gdnsd"):
    if k in rows:
        p(f"- {k[9:]}: {one(k)}")
p("")

# ---- case 4
p("## 4. Memory and scale")
p("")


def mib(k):
    v = med(k)
    return None if v is None else v / 1024


r0, rl, rp = mib("mem.rss.plugin0_kib"), mib("mem.rss.loaded_kib"), mib("mem.rss.plain_kib")
loaded = one("mem.loaded_values", "0")
p("| named | RSS |")
p("|---|---|")
p(f"| native zones only, no plugin | {fmt(rp, ' MiB')} |")
p(f"| + plugin, 0 values | {fmt(r0, ' MiB')} |")
rs = mib("mem.rss.loaded_settled_kib")
p(f"| + plugin, {int(float(loaded)):,} live values (1 s after the load) | {fmt(rl, ' MiB')} |")
p(f"| the same, 15 s later (past jemalloc's decay time) | {fmt(rs, ' MiB')} |")
p(f"| the same after a restart (state read back; 1 s, 16 s) | {fmt(mib('mem.rss.restart_kib'), ' MiB')}, "
  f"{fmt(mib('mem.rss.restart_settled_kib'), ' MiB')} |")
p(f"| + plugin, 10,000 configured zones, 0 values | {fmt(mib('scale.rss.z10k_kib'), ' MiB')} |")
p("")
curve = [(int(k.split("@")[1]), k) for k in rows if k.startswith("mem.rss_kib@")]
if curve:
    p("Loading values through the control socket (chunks of 10,000: 2,500 UPDATEs of 4 new names, 32 in flight):")
    p("")
    p("| values in the store | that chunk's rate (values/s) | named RSS |")
    p("|---|---|---|")
    for v, k in sorted(curve):
        p(f"| {v:,} | {one('mem.load.chunk_values_per_s@' + str(v))} | {fmt(mib(k), ' MiB')} |")
    p("")
p(f"- loading took {one('mem.load_s')} s for {int(float(loaded)):,} values "
  f"(budget {os.environ.get('BENCH_MEM_LOAD_SECONDS', '150')} s); state directory afterwards "
  f"{fmt(mib('mem.state_dir_kib'), ' MiB')}")
if "mem.load.note" in rows:
    p(f"- {one('mem.load.note')}")
p(f"- start-up with those values in the state: {cell('mem.restart_s', ' s')} (runs {runs('mem.restart_s')})")
p(f"- start-up with 1 zone: {cell('scale.start.z1_s', ' s')} (runs {runs('scale.start.z1_s')}); "
  f"with 10,000 zones: {cell('scale.start.z10k_s', ' s')} (runs {runs('scale.start.z10k_s')}) — "
  "from exec to first answer, polled every 0.1 s")
p(f"- with 10,000 zones: native A {cell('scale.native_a.z10k')} q/s "
  f"({ratio(med('scale.native_a.z10k'), na_0)} of named without the plugin in case 2), "
  f"plugin TXT {cell('scale.plugin_txt.z10k')} q/s ({ratio(med('scale.plugin_txt.z10k'), pt)} of 100 zones)")
p("")
if rl is not None and r0 is not None:
    lv = int(float(loaded))
    if rl - r0 > 64:
        verdict = "MISSED" + ("" if lv >= 100000 else f" (already over at {lv:,} values; "
                                "100,000 not reached in the time budget)")
    elif lv >= 100000:
        verdict = "met"
    else:
        verdict = f"NOT MEASURED at 100,000 (only {lv:,} loaded in the time budget)"
    p(f"Target ≤ 64 MiB for 100,000 values, read as what the values cost: with {lv:,} values "
      f"named's RSS is {rl:.1f} MiB, {rl - r0:.1f} MiB over the plugin with no value → {verdict}")
    readings = [x for x in (rl, rs, mib("mem.rss.restart_kib"), mib("mem.rss.restart_settled_kib"))
                if x is not None]
    worst = max(readings)
    whole = "met" if worst <= 64 and lv >= 100000 else "MISSED" if worst > 64 else "NOT MEASURED"
    p(f"Read as named's whole RSS (the stricter reading, every reading above): {rl:.1f} MiB "
      f"1 s after the load, {fmt(rs, ' MiB')} 15 s later, after a restart "
      f"{fmt(mib('mem.rss.restart_kib'), ' MiB')} → {whole} (largest {worst:.1f} MiB)")
p("")
# ---- case 5
p("## 5. Scale: many zones in one issuer (issue 18)")
p("")
if not any(k.startswith("scale.pass.") for k in rows):
    p("Not run (`BENCH_CASES` without 5).")
    p("")
else:
    p(f"{one('settings.scale', '')}.")
    p("")
    p("| what | zones | wall | user CPU | system CPU | CPU per zone | RSS | runs (wall) |")
    p("|---|---|---|---|---|---|---|---|")

    def scale_row(what, key, n):
        w, u, sy = med(key + ".wall_s"), med(key + ".user_s"), med(key + ".sys_s")
        per = "—" if u is None or sy is None else f"{(u + sy) * 1000 / n:.2f} ms"
        p(f"| {what} | {n:,} | {cell(key + '.wall_s', ' s')} | {fmt(u, ' s')} | {fmt(sy, ' s')} | "
          f"{per} | {fmt(mib(key + '.rss_kib'), ' MiB')} | {runs(key + '.wall_s')} |")

    passes = sorted({int(k.split(".")[2]) for k in rows if k.startswith("scale.pass.")})
    for n in passes:
        scale_row("one `run` issuing every zone", f"scale.pass.{n}", n)
    idles = sorted({int(k.split(".")[2]) for k in rows if k.startswith("scale.idle.")})
    for n in idles:
        scale_row("`run` with nothing due" + (" (synthesised store)" if n > max(passes or [0]) else ""),
                  f"scale.idle.{n}", n)
    stats = sorted({int(k.split(".")[2]) for k in rows
                    if k.startswith("scale.status.") and k.endswith(".wall_s")})
    for n in stats:
        scale_row("`status --json` (synthesised store)", f"scale.status.{n}", n)
    p("")
    units = [k.split(".")[2] for k in rows if k.startswith("scale.unit.") and k.endswith(".user_us")
             and k.split(".")[2] != "sum"]
    units = list(dict.fromkeys(units))
    if units:
        p("What each piece of a zone's issuance costs the issuer alone (`unit_costs.cpp`: the")
        p("issuer's own code, one thread on the issuer's CPU, against this case's Pebble and named,")
        p("each piece repeated; CPU microseconds a piece), and what a zone needs of them:")
        p("")
        p("| piece | a zone needs | user | system | a zone's share |")
        p("|---|---|---|---|---|")
        for u in units:
            pz, us, sy = med(f"scale.unit.{u}.per_zone"), med(f"scale.unit.{u}.user_us"), \
                med(f"scale.unit.{u}.sys_us")
            if pz is None or us is None or sy is None or u == "zone_mix":
                continue
            share = f"{pz * (us + sy):,.0f} µs" if pz else "(the machine's)"
            p(f"| {u} | {int(pz) if pz else '—'} | {us:.1f} µs | {sy:.1f} µs | {share} |")
        su, ss = med("scale.unit.sum.user_us"), med("scale.unit.sum.sys_us")
        mu, ms = med("scale.unit.zone_mix.user_us"), med("scale.unit.zone_mix.sys_us")
        if su is not None and ss is not None:
            p(f"| **sum: a zone's pieces, each timed alone** | | {su:,.0f} µs | {ss:,.0f} µs | "
              f"**{(su + ss) / 1000:.2f} ms** |")
        if mu is not None and ms is not None:
            p(f"| **the same pieces one after the other, as a zone has them** | | {mu:,.0f} µs | "
              f"{ms:,.0f} µs | **{(mu + ms) / 1000:.2f} ms** |")
        big = max(passes or [0])
        u, sy = med(f"scale.pass.{big}.user_s"), med(f"scale.pass.{big}.sys_s")
        if u is not None and sy is not None and big:
            p(f"| **the pass (the table above), a zone of {big:,}** | | {u * 1e6 / big:,.0f} µs | "
              f"{sy * 1e6 / big:,.0f} µs | **{(u + sy) * 1000 / big:.2f} ms** |")
        p("")
    for n in passes:
        got = rows.get(f"scale.pass.{n}.certs", [])
        p(f"- N = {n:,}: certificates stored per run: {', '.join(got) or '—'}")
        if rows.get(f"scale.pass.{n}.pebble_cpu_s"):
            p(f"- N = {n:,}: CPU spent meanwhile by Pebble {fmt(med(f'scale.pass.{n}.pebble_cpu_s'), ' s')}, "
              f"by named {fmt(med(f'scale.pass.{n}.named_cpu_s'), ' s')} (medians; with the issuer's, "
              f"what the {one('machine.nproc', '')} cores had to do in the run's wall time)")
    for n in stats:
        p(f"- status at {n:,} zones: {one(f'scale.status.{n}.valid')} zones valid")
    big = [k for k in rows if k.startswith("scale.named_rss.")]
    for k in big:
        p(f"- named with the plugin claiming {int(k.split('.')[2].split('_')[0]):,} zones: "
          f"{fmt(mib(k), ' MiB')} RSS")
    for f in rows.get("scale.failure", []):
        p(f"- failure: {f}")
    p("")
    targets = []
    if 1000 in passes:
        w = med("scale.pass.1000.wall_s")
        u, sy = med("scale.pass.1000.user_s"), med("scale.pass.1000.sys_s")
        okruns = all(v == "1000" for v in rows.get("scale.pass.1000.certs", []))
        targets.append(f"1,000 zones in one pass: every run all certificates "
                       f"{'met' if okruns else 'MISSED'}; wall ≤ 10 s "
                       f"{'met' if w is not None and w <= 10 else 'MISSED'}; issuer CPU ≤ 3 ms a zone "
                       f"{'met' if u is not None and sy is not None and (u + sy) <= 3 else 'MISSED'}")
    for n, limit in ((1000, 0.3), (10000, 2.0)):
        w = med(f"scale.idle.{n}.wall_s")
        if w is not None:
            targets.append(f"`run` with nothing due at {n:,} zones ≤ {limit} s: "
                           f"{'met' if w <= limit else 'MISSED'} ({w:.2f} s)")
    w = med("scale.status.10000.wall_s")
    if w is not None:
        targets.append(f"`status` at 10,000 zones ≤ 1 s: {'met' if w <= 1 else 'MISSED'} ({w:.2f} s)")
    r = mib("scale.idle.10000.rss_kib")
    if r is not None:
        targets.append(f"issuer RSS at 10,000 configured zones ≤ 64 MiB: "
                       f"{'met' if r <= 64 else 'MISSED'} ({r:.1f} MiB)")
    for t in targets:
        p(f"- Target: {t}")
    p("")

# ---- case 6
p("## 6. Serving keys to a fleet: `acmezone-issuer serve` against nginx (issue 16)")
p("")
if not any(k.startswith(("https.", "fleet.")) for k in rows):
    p("Not run (`BENCH_CASES` without 6).")
    p("")
else:
    p("The anchor is what acme-chief deploys: nginx verifying client certificates in front of")
    p("the files. Both serve the same zones, nginx the very bytes serve answers, as static")
    p("files; the same load generator (mtls_load, 64 clients, one client certificate) asks")
    p("both in turn within each run. req/CPU-s is requests answered per CPU-second the server")
    p("spent (every nginx process counted): on a shared machine it says more than the rate.")
    p("The cores columns say which was the limit: the server near 1.00 of its core, or the")
    p("load generator near 1.00 of its own; both well below: the machine was busy with other work.")
    p("")
    p("| request | serve (req/s) | nginx (req/s) | serve ÷ nginx, per run | serve req/CPU-s | nginx req/CPU-s | serve ÷ nginx per CPU-s | server's cores: serve, nginx | mtls_load's cores: with serve, with nginx |")
    p("|---|---|---|---|---|---|---|---|---|")
    kinds = (("conditional GET answered 304, keep-alive mTLS", "c304"),
             ("full fetch on a new mTLS connection (handshake included)", "full"))

    def cores(k, srv):
        sc, lc = good(f"https.{k}.{srv}.server_cpu"), good(f"https.{k}.{srv}.load_cpu")
        return (f"{statistics.median(sc):.2f}" if sc else "—",
                f"{statistics.median(lc):.2f}" if lc else "—")

    https_ratio = {}
    for label, k in kinds:
        r = paired(f"https.{k}.serve", f"https.{k}.nginx")
        rc = paired(f"https.{k}.serve.cpu", f"https.{k}.nginx.cpu")
        https_ratio[k] = (r, rc)
        (ss, sl), (ns, nl) = cores(k, "serve"), cores(k, "nginx")
        cs, cn = cell(f"https.{k}.serve"), cell(f"https.{k}.nginx")
        p(f"| {label} | {cs} | {cn} | {spread(r, rat)} | {spread(good(f'https.{k}.serve.cpu'))} | "
          f"{spread(good(f'https.{k}.nginx.cpu'))} | {spread(rc, rat)} | "
          f"{ss}, {ns} | {sl}, {nl} |")
    p("")
    for k in rows:
        if k.startswith("https.") and k != "https.failure":
            p(f"- {k}: {runs(k)}")
    for f in rows.get("https.failure", []):
        p(f"- failure: {f}")
    p("")
    p("| fleet | figure |")
    p("|---|---|")
    p(f"| renewal to the last of the fleet's installs (from `issue --force`'s start) | {cell('fleet.converge_s', ' s')} |")
    p(f"| the same from the new version's entry in the store (its `current` link) | {cell('fleet.converge_store_s', ' s')} |")
    p(f"| `issue ZONE --force` itself | {cell('fleet.issue_s', ' s')} |")
    p(f"| every fetcher's first install, from their start | {cell('fleet.first_install_s', ' s')} |")
    p(f"| serve's RSS with every watch open | {fmt(mib('fleet.rss_watches_kib'), ' MiB')} |")
    p(f"| serve's peak RSS (VmHWM) after the fleet took the renewal | {fmt(mib('fleet.hwm_kib'), ' MiB')} |")
    p(f"| serve's peak RSS after the load runs above | {fmt(mib('https.serve_hwm_after_load_kib'), ' MiB')} |")
    p(f"| nginx's RSS after the load runs (master + workers) | {fmt(mib('https.nginx_rss_kib'), ' MiB')} |")
    p("")
    p("Targets (issue 16; reported, never asserted):")
    for label, k in kinds:
        r, rc = https_ratio[k]
        if r:
            p(f"- {label} ≥ 0.8× nginx: {rat(statistics.median(r))} → "
              f"{runs_verdict(r, lambda x: x >= 0.8)}"
              + (f" [per CPU-second {rat(statistics.median(rc))} → "
                 f"{runs_verdict(rc, lambda x: x >= 0.8)}]"
                 if rc else ""))
    c = med("fleet.converge_s")
    if c is not None:
        p(f"- the fleet converged ≤ 5 s: {c:.2f} s → {'met' if c <= 5 else 'MISSED'}")
    h = mib("fleet.hwm_kib")
    if h is not None:
        p(f"- serve's RSS ≤ 32 MiB with 1,000 zones and the open watches (its peak): {h:.1f} MiB → "
          f"{'met' if h <= 32 else 'MISSED'}")
    for k in ("settings.https", "settings.https_tls", "settings.nginx", "settings.fleet"):
        if k in rows:
            p(f"- {k[9:].replace('_', ' ')}: {one(k)}")
    p("")

p("## What limits each target")
p("")
p("[findings.md](findings.md), written by hand: each finding names the date and the commit of")
p("the run it describes. Its figures are that run's, not this one's; nothing from it is")
p("copied here.")
p("")

if readme:
    # The README's figures block (section "Figures"), from this run only.
    r = []
    q = r.append
    dstart = one("machine.date_start")
    q(f"From the run of {dstart} (`scripts/bench`, commit {one('machine.commit')},"
      f" {one('machine.nproc')} cores, load average {load_s} at the start;"
      f" {mmss(total)} in all):")
    q("")
    q("| | acmezone | the others |")
    q("|---|---|---|")

    def short_not_run(k):
        st = not_run(k)
        return "not run" if st.startswith(("not run", "skipped")) else st

    def peer_times(n, at_once):
        parts = []
        for t in PEERS:
            if one(f"issue.{t}.available", "yes") == "no":
                parts.append(f"{t} not installed")
                continue
            if at_once and t == "certbot":
                parts.append("certbot refuses a second instance"
                             if one("issue.certbot.atonce", "").startswith("refused")
                             else "certbot not run")
                continue
            k = issue_key(t, n, at_once)
            v, base = med(k), a_med[n]
            if v is None:
                parts.append(f"{t} {short_not_run(k)}")
            else:
                parts.append(f"{t} {fmt(v, ' s')}" + (f" ({v / base:.0f}×)" if base and n > 1 else ""))
        return ", ".join(parts)

    q(f"| {{Z, \\*.Z}}, one zone | {cell('issue.acmezone.1', ' s')} | {peer_times(1, False)} |")
    for n in (20, 100):
        ak = f"issue.acmezone.{n}"
        at = cell(ak, " s") if status(ak) is None else short_not_run(ak)
        q(f"| {{Z, \\*.Z}} for {n} zones | {at}, {az_par} at once | one zone after the other: "
          f"{peer_times(n, False)}; {at_once_n} at once: {peer_times(n, True)} |")

    def serve_fig(k):
        xs, cs = good(f"serve.{k}"), good(f"serve.{k}.cpu")
        if not xs:
            return "not run"
        txt = f"{fmt(statistics.median(xs))} q/s"
        if cs:
            txt += (f", {fmt(statistics.median(cs))} q/CPU-s "
                    f"({fmt(us_per_query(k))} µs of named's CPU a query)")
        return txt

    if r_txt:
        sat, checked, _ = saturation("plugin_txt")
        sat_n, checked_n, _ = saturation("native_txt")
        lim = (f"named the limit in {sat + sat_n} of {checked + checked_n} runs" if checked + checked_n
               else "named's saturation not checked in this run")
        q(f"| `_acme-challenge` TXT served (dnsperf, named -n 1 on one core) | {serve_fig('plugin_txt')} "
          f"| the same TXT from a native zone: {serve_fig('native_txt')}; plugin ÷ native, per run: "
          f"{spread(r_txt, rat)} in q/s, {spread(r_txt_c, rat)} in q/CPU-s; {lim} |")
    if r_a:
        q(f"| native zone queries with the plugin loaded | {spread(r_a, rat)} of named without it "
          f"in q/s, {spread(r_a_c, rat)} in q/CPU-s | |")

    def rate_runs(k):
        xs = nums(k)
        return (f" (runs {fmt(min(xs))}–{fmt(max(xs))}/s)" if len(xs) > 1 else "")

    b32 = med("update.bind.c32")
    thr = lambda t: (f"; {one(f'settings.threads.{t}')}" if f"settings.threads.{t}" in rows
                     else "; threads not recorded")
    q(f"| TSIG UPDATEs acknowledged, 32 clients | {cell('update.acmezone.c32')}/s"
      f"{rate_runs('update.acmezone.c32')}; {PROMISE['acmezone']}{thr('acmezone')} "
      f"| BIND's own dynamic update {cell('update.bind.c32')}/s{rate_runs('update.bind.c32')}"
      + (f", acmezone {a32 / b32:.1f}× it" if a32 and b32 else "") + f"{thr('bind')}. "
      f"gdnsdctl acme-dns-01 with 100 values a call, one call after the other: "
      f"{cell('update.gdnsd.batch100')} values/s{rate_runs('update.gdnsd.batch100')}; "
      f"{PROMISE['gdnsd']} |")
    q(f"| named's RSS with {int(float(loaded)):,} live values | {fmt(rl, ' MiB')} "
      f"({fmt(r0, ' MiB')} with none) | |")
    if med("scale.pass.1000.wall_s") is not None:
        u, sy = med("scale.pass.1000.user_s"), med("scale.pass.1000.sys_s")
        got = rows.get("scale.pass.1000.certs", [])
        whole = sum(1 for v in got if v == "1000")
        per = "" if u is None or sy is None else f", {(u + sy):.2f} ms of issuer CPU a zone"
        mu, ms = med("scale.unit.zone_mix.user_us"), med("scale.unit.zone_mix.sys_us")
        if per and mu is not None and ms is not None:
            per += (f" (its pieces alone, one zone after the other on one thread: "
                    f"{(mu + ms) / 1000:.2f} ms)")
        idle = med("scale.idle.10000.wall_s")
        st = med("scale.status.10000.wall_s")
        q(f"| 1,000 zones in one `run` (Pebble, parallel = 16) | {cell('scale.pass.1000.wall_s', ' s')}"
          f"{per}; every certificate stored in {whole} of {len(got)} runs; with nothing due "
          f"{cell('scale.idle.1000.wall_s', ' s')} | 10,000 configured zones: `run` with nothing due "
          f"{fmt(idle, ' s')}, `status --json` {fmt(st, ' s')}, issuer RSS "
          f"{fmt(mib('scale.idle.10000.rss_kib'), ' MiB')} |")
    r304 = paired("https.c304.serve", "https.c304.nginx")
    rfull = paired("https.full.serve", "https.full.nginx")
    if r304 or rfull:
        q(f"| key distribution over mutual TLS, 1,000 zones (`serve`) | conditional GETs answered 304 "
          f"{cell('https.c304.serve')}/s, full fetches on new connections {cell('https.full.serve')}/s; "
          f"200 `acmezone-fetch --watch` hosts installed a renewal {cell('fleet.converge_store_s', ' s')} "
          f"after it was stored; RSS {fmt(mib('fleet.hwm_kib'), ' MiB')} at its peak | nginx with "
          f"`ssl_verify_client on` in front of the same bytes: {cell('https.c304.nginx')}/s and "
          f"{cell('https.full.nginx')}/s; serve ÷ nginx per run {spread(r304, rat)} and "
          f"{spread(rfull, rat)} |")
    print("\n".join(r))
else:
    print("\n".join(out))
