#!/usr/bin/python3
"""Turns bench.sh's results.tsv (key<TAB>value, one line per run) into
tests/bench/RESULTS.md: medians, every run's figure, ratios to acmezone,
the targets of issue 6, the settings and versions. The findings (what limits
a missed target, with the evidence) are kept by hand in findings.md next to
this file and copied in as they are.

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
                (4, "case 4, memory and scale")):
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
p("## 1. Issuance: {Z, *.Z}, ECDSA P-256, N zones (seconds, wall)")
p("")
p("| N | acmezone | uacme | certbot | lego | fastest peer ÷ acmezone |")
p("|---|---|---|---|---|---|")
for n in (1, 20, 100):
    a = med(f"issue.acmezone.{n}")
    peers = {t: med(f"issue.{t}.{n}") for t in ("uacme", "certbot", "lego")}
    got = [v for v in peers.values() if v is not None]
    fastest = min(got) if got else None
    cells = []
    for t in ("uacme", "certbot", "lego"):
        c = cell(f"issue.{t}.{n}", " s") + (f" ({ratio(peers[t], a)})" if peers[t] and a else "")
        est = med(f"issue.{t}.20")
        if status(f"issue.{t}.{n}") == "skipped" and n == 100 and est:
            c = f"skipped (≈ {fmt(5 * est, ' s')}: 5 × N = 20)"
        cells.append(c)
    p(f"| {n} | {cell(f'issue.acmezone.{n}', ' s')} | " + " | ".join(cells) +
      f" | {ratio(fastest, a)} |")
p("")
n20 = max((len(rows.get(f"issue.{t}.20", [])) for t in ("uacme", "certbot", "lego")), default=0)
na = len(rows.get("issue.acmezone.20", []))
if n20 and n20 < na:
    p(f"The peers get {n20} run{'s' if n20 > 1 else ''} at N = 20 and none at N = 100: they issue one")
    p("zone per invocation, seconds each, so their runs at N = 20 cost minutes and N = 100")
    p("(estimated above as 5 × their N = 20 time) does not fit the 20-minute budget.")
    p(f"acmezone gets {na} runs at every N.")
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
    if k.startswith("issue."):
        p(f"- {k}: {runs(k)}")
a100, a20 = med("issue.acmezone.100"), med("issue.acmezone.20")
f20 = [v for v in (med(f"issue.{t}.20") for t in ("uacme", "certbot", "lego")) if v]
p("")
p("Targets:")
p(f"- 100 zones in at most 5 s: {cell('issue.acmezone.100', ' s')} → "
  f"{'met' if a100 is not None and a100 <= 5 else 'MISSED'}")
if f20 and a20:
    r = min(f20) / a20
    p(f"- 20 zones at least 10× faster than the fastest peer: {r:.1f}× → "
      f"{'met' if r >= 10 else 'MISSED'}")
else:
    p("- 20 zones at least 10× faster than the fastest peer: no peer figure")
p("")
p("Settings:")
for k in ("settings.pebble", "settings.acmezone", "settings.uacme", "settings.certbot",
          "settings.lego", "settings.limits"):
    if k in rows:
        p(f"- {k[9:]}: {one(k)}")
p("")

# ---- case 2
p("## 2. Serving (queries per second, dnsperf)")
p("")
p("Each figure is the median of the runs with, in brackets, the lowest and the highest;")
p("each ratio is the median of the ratios within each run (the two queries were measured")
p("one after the other in that run), with the lowest and highest such ratio. Where the")
p("brackets of a ratio hold 1.00×, the difference is within this run's noise. q/CPU-s is")
p("queries answered per CPU-second spent by named (utime + stime of the whole process, so")
p("the plugin's own threads count against it). On a busy machine it varied less between")
p("runs than the rate (±6 % against ±15 % in a trial at load 10–12), but it is not immune:")
p("its level fell by a third when the load rose further; compare the ratios, not the levels.")
p("")
pct = lambda x: f"{100 * x:.0f} %"
rat = lambda x: f"{x:.2f}×"
p("| query | q/s | q/CPU-s of named | ratio (q/s) | ratio (q/CPU-s) |")
p("|---|---|---|---|---|")
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
    if base:
        rq = spread(paired(f"serve.{k}", f"serve.{base}"), rat) + " " + what
        rc = spread(paired(f"serve.{k}.cpu", f"serve.{base}.cpu"), rat)
    else:
        rq, rc = "1", "1"
    nf = failed(f"serve.{k}")
    if nf:
        fq += f", {nf} run{'s' if nf > 1 else ''} FAIL (lost queries or not NOERROR)"
    p(f"| {label} | {fq} | {fc} | {rq} | {rc} |")
p("")
for k in ("serve.plugin_txt", "serve.native_txt", "serve.native_a.plugin", "serve.native_a.plain"):
    p(f"- {k}: {runs(k)}; q/CPU-s {runs(k + '.cpu')}; response {one(k + '.response_octets')} octets")
p("")
pt, nt = med("serve.plugin_txt"), med("serve.native_txt")
na_p, na_0 = med("serve.native_a.plugin"), med("serve.native_a.plain")
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


r_txt = paired("serve.plugin_txt", "serve.native_txt")
r_txt_c = paired("serve.plugin_txt.cpu", "serve.native_txt.cpu")
if r_txt:
    p(f"- plugin ≥ 90% of native: {pct(statistics.median(r_txt))} "
      f"({pct(min(r_txt))}–{pct(max(r_txt))}) → {verdict(r_txt, lambda x: x >= 0.9)}"
      + (f" [per CPU-second {pct(statistics.median(r_txt_c))} → {verdict(r_txt_c, lambda x: x >= 0.9)}]"
         if r_txt_c else ""))
r_a = paired("serve.native_a.plugin", "serve.native_a.plain")
r_a_c = paired("serve.native_a.plugin.cpu", "serve.native_a.plain.cpu")
if r_a:
    cost = lambda x: f"{100 * (1 - x):.1f} %"
    p(f"- cost to native zones ≤ 5%: {cost(statistics.median(r_a))} "
      f"({cost(max(r_a))} to {cost(min(r_a))}) → {verdict(r_a, lambda x: x >= 0.95)}"
      + (f" [per CPU-second {cost(statistics.median(r_a_c))} → {verdict(r_a_c, lambda x: x >= 0.95)}]"
         if r_a_c else ""))
if "settings.serving" in rows:
    p(f"- settings: {one('settings.serving')}")
p("")

# ---- case 3
p("## 3. Updates (TSIG-signed, acknowledged per second)")
p("")
p("| writer | 1 client | 32 clients | acmezone ÷ it (1 / 32) |")
p("|---|---|---|---|")
a1, a32 = med("update.acmezone.c1"), med("update.acmezone.c32")
p(f"| acmezone control socket (durable) | {cell('update.acmezone.c1')} | {cell('update.acmezone.c32')} | 1 / 1 |")
for t, label in (("bind", "BIND dynamic update, native zone"),
                 ("gdnsd", "gdnsdctl acme-dns-01, 1 value a call (memory only)")):
    b1, b32 = med(f"update.{t}.c1"), med(f"update.{t}.c32")
    p(f"| {label} | {cell(f'update.{t}.c1')} | {cell(f'update.{t}.c32')} | "
      f"{ratio(a1, b1)} / {ratio(a32, b32)} |")
if "update.gdnsd.batch100" in rows:
    p(f"| gdnsdctl acme-dns-01, 100 values a call, 1 client | {cell('update.gdnsd.batch100')} | | |")
p("")
for k in rows:
    if k.startswith("update."):
        p(f"- {k}: {runs(k)}")
p("")
b32 = med("update.bind.c32")
p("Target:")
if a32 and b32:
    p(f"- ≥ 10× BIND's own dynamic update at 32 clients: {a32 / b32:.1f}× → "
      f"{'met' if a32 >= 10 * b32 else 'MISSED'}")
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
if "mem.perf_top" in rows:
    p(f"- profile: {one('mem.perf_top')}")
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
findings = os.path.join(os.path.dirname(os.path.abspath(__file__)), "findings.md")
if os.path.exists(findings):
    p(open(findings, encoding="utf-8").read().rstrip())
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
    q("| | acmezone | peer |")
    q("|---|---|---|")
    for n in (20, 100):
        a = med(f"issue.acmezone.{n}")
        peers = sorted((v, t) for t in ("uacme", "certbot", "lego")
                       if (v := med(f"issue.{t}.{n}")) is not None)
        if peers and a:
            txt = "; ".join(f"{t} {fmt(v, ' s')}" + (f" ({v / a:.0f}× slower)" if i == 0 else "")
                            for i, (v, t) in enumerate(peers))
        else:
            est = [f"{t} ≈ {fmt(5 * v, ' s')}" for t in ("uacme", "certbot", "lego")
                   if (v := med(f"issue.{t}.20")) is not None]
            txt = ("not run (time budget; estimated from N = 20: " + ", ".join(est) + ")"
                   if n == 100 and est else "not run" if n == 100 else "—")
        q(f"| {{Z, \\*.Z}} for {n} zones | {cell(f'issue.acmezone.{n}', ' s')} | {txt} |")
    def cpu_note(xs):
        return (f"; per CPU-second of named {pct(statistics.median(xs))}" if xs else "")
    if r_txt:
        q(f"| `_acme-challenge` TXT served, dnsperf | {pct(statistics.median(r_txt))} of the same TXT "
          f"in a native zone (runs {pct(min(r_txt))}–{pct(max(r_txt))}{cpu_note(r_txt_c)}) | |")
    if r_a:
        q(f"| native zone queries with the plugin loaded | {pct(statistics.median(r_a))} of named "
          f"without it (runs {pct(min(r_a))}–{pct(max(r_a))}{cpu_note(r_a_c)}) | |")
    b32 = med("update.bind.c32")
    def rate_runs(k):
        xs = nums(k)
        return (f" (runs {fmt(min(xs))}–{fmt(max(xs))}/s)" if len(xs) > 1 else "")
    q(f"| TSIG UPDATEs acknowledged, 32 clients, durable | {cell('update.acmezone.c32')}/s"
      f"{rate_runs('update.acmezone.c32')} | BIND's own dynamic update {cell('update.bind.c32')}/s"
      f"{rate_runs('update.bind.c32')}"
      + (f" ({a32 / b32:.1f}× the median)" if a32 and b32 else "") + " |")
    q(f"| named's RSS with {int(float(loaded)):,} live values | {fmt(rl, ' MiB')} "
      f"({fmt(r0, ' MiB')} with none) | |")
    print("\n".join(r))
else:
    print("\n".join(out))
