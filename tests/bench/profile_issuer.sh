#!/usr/bin/env bash
# profile_issuer.sh — where the issuer's CPU goes in a pass of N zones: bench
# case 5 alone (its own named and Pebble), with every `run` recorded by
# `perf record --call-graph dwarf`, then the samples summed by the first of the
# issuer's own functions above each hot library call.
#   [PROFILE_OUT=DIR] tests/bench/profile_issuer.sh [N] [ISSUER]     (N default 300)
# Writes DIR/run-0.data (DIR default /tmp/acmezone-profile; the timed pass;
# run-1.. are the idle runs) and prints the summary. The pass's certificates
# and state are written under DIR too: a DIR on a tmpfs leaves the file
# system's cost out of the profile. Restores the files a partial bench run writes
# (results.tsv, RESULTS.md, perf-serving.txt, README.md: copied aside first, so
# uncommitted ones survive). Not part of scripts/bench: perf with
# dwarf stacks slows the pass several times.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
n=${1:-300}
issuer=${2:-$root/build/issuer/acmezone-issuer}
out=${PROFILE_OUT:-/tmp/acmezone-profile}
rm -rf "$out"
mkdir -p "$out"
cat >"$out/issuer.sh" <<WRAP
#!/bin/bash
if [[ " \$* " == *" run"* ]]; then
    k=\$(ls "$out"/run-*.data 2>/dev/null | wc -l)
    exec perf record -q --call-graph dwarf,16384 -F 999 -o "$out/run-\$k.data" -- "$issuer" "\$@"
fi
exec "$issuer" "\$@"
WRAP
chmod +x "$out/issuer.sh"
# shellcheck source=tests/bench/scale_alone.sh
. "$here/scale_alone.sh"
case5_alone "$root" "$out" "$out/issuer.sh" "$n" 1
perf script -i "$out/run-0.data" 2>/dev/null >"$out/stacks.txt"
python3 - "$out/stacks.txt" <<'PY'
import collections, re, sys
stacks = []
for block in open(sys.argv[1]).read().split("\n\n"):
    frames = []
    for line in block.strip().split("\n")[1:]:
        m = re.match(r"\s*[0-9a-f]+ (.*?)(\+0x[0-9a-f]+)? \(", line)
        if m:
            frames.append(m.group(1))
    if frames:
        stacks.append(frames)
total = len(stacks)
print(f"{total} samples of the timed pass")
kernel = sum(1 for f in stacks if f[0].startswith(("ext4", "pvm_", "recently_deleted")) or "[k]" in f[0])
for what in ("recently_deleted", "ext4_create", "ext4_symlink", "ext4_mkdir", "fsync",
             "curl_easy_perform", "AccountKey::sign", "OSSL_DECODER_CTX_new_for_pkey",
             "OSSL_ENCODER_CTX_new_for_pkey", "ZoneStateStore::save", "Pass::keep_summary",
             "acmezone::issuer::exchange", "make_csr_der", "check_certificate",
             "CertStore::store_version"):
    hit = [f for f in stacks if any(what in x for x in f)]
    by = collections.Counter()
    for f in hit:
        i = next(k for k, x in enumerate(f) if what in x)
        ours = [x for x in f[i + 1:] if "acmezone::" in x][:1]
        by[ours[0][:70] if ours else "-"] += 1
    top = "; ".join(f"{k} {v}" for k, v in by.most_common(3))
    print(f"{100 * len(hit) / total:5.1f} %  {what:32s} under: {top}")
# The pieces unit_costs.cpp times (an HTTPS request, a signature, the key, the
# CSR, the check, a DNS exchange, a state save, a store): the rest of the
# samples are the pass's own bookkeeping, threads and start-up.
pieces = ("HttpClient::Impl::perform", "AccountKey::sign", "CertKey::generate", "make_csr_der",
          "check_certificate", "issuer::exchange", "exchange_udp", "TsigSigner::",
          "write_file_swapped", "CertStore::store_version")
inside = sum(1 for f in stacks if any(p in x for x in f for p in pieces))
print(f"{100 * inside / total:5.1f} %  under the pieces unit_costs.cpp times")
PY
