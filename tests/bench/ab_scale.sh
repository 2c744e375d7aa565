#!/usr/bin/env bash
# ab_scale.sh — two issuer builds compared, paired: bench case 5 (scale) alone,
# one named and one Pebble for both, the timed passes alternating A, B, A, B…
# (each from an empty store, as in scripts/bench), so that both builds see the
# same machine at about the same moment. On a shared machine the CPU a pass
# costs drifts by more than many changes save between one bench run and the
# next; the difference within a pair does not drift with it.
#   tests/bench/ab_scale.sh ISSUER_A ISSUER_B [N] [PAIRS]   (N 1000, PAIRS 10)
# Prints each pair's issuer CPU (user + system) per zone, then the medians and
# in how many pairs B spent less. Restores the files a partial bench run
# writes (results.tsv, RESULTS.md, perf-serving.txt, README.md: copied aside
# first, so uncommitted ones survive). Not part of scripts/bench.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
a=$(realpath "${1:?ISSUER_A}")
b=$(realpath "${2:?ISSUER_B}")
n=${3:-1000}
pairs=${4:-10}
out=$(mktemp -d /tmp/acmezone-ab.XXXXXX)
cat >"$out/issuer.sh" <<WRAP
#!/bin/bash
# the k-th \`run\` (from 0): even → A, odd → B; anything else → A
if [[ " \$* " == *" run"* ]]; then
    k=\$(cat "$out/count" 2>/dev/null || echo 0)
    echo \$((k + 1)) >"$out/count"
    ((k % 2 == 0)) && exec "$a" "\$@"
    exec "$b" "\$@"
fi
exec "$a" "\$@"
WRAP
chmod +x "$out/issuer.sh"
# shellcheck source=tests/bench/scale_alone.sh
. "$here/scale_alone.sh"
case5_alone "$root" "$out" "$out/issuer.sh" "$n" $((2 * pairs))
python3 - "$out/bench.log" "$n" "$a" "$b" <<'PY'
import re, statistics, sys
log, n, a, b = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
runs = {"user_s": [], "sys_s": [], "certs": []}
for line in open(log):
    m = re.match(rf"\[bench\] scale\.pass\.{n}\.(user_s|sys_s|certs) = (\S+)", line)
    if m:
        runs[m.group(1)].append(float(m.group(2)))
if any("FAIL" in line for line in open(log) if line.startswith("[bench] scale.")):
    sys.exit("a run failed: see " + log)
cpu = [1000 * (u + s) / n for u, s in zip(runs["user_s"], runs["sys_s"])]
pairs = [(cpu[i], cpu[i + 1]) for i in range(0, len(cpu) - 1, 2)]
if not pairs:
    sys.exit("no pair of timed passes in " + log)
print(f"A: {a}\nB: {b}\nissuer CPU per zone (ms), user + system, N = {n}:")
for k, (x, y) in enumerate(pairs, 1):
    print(f"  pair {k:2d}: A {x:5.2f}  B {y:5.2f}  B - A {y - x:+5.2f}")
diff = [y - x for x, y in pairs]
print(f"medians: A {statistics.median(x for x, _ in pairs):.2f}, B "
      f"{statistics.median(y for _, y in pairs):.2f}, B - A {statistics.median(diff):+.2f} ms "
      f"(B spent less in {sum(d < 0 for d in diff)} of {len(diff)} pairs)")
if any(c != n for c in runs["certs"]):
    sys.exit(f"not every run stored {n} certificates: {runs['certs']}")
PY
rm -rf "$out/tmp"
echo "the bench log: $out/bench.log"
