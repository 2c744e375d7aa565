# shellcheck shell=bash
# scale_alone.sh — sourced by profile_issuer.sh and ab_scale.sh: bench case 5
# (scale) alone, with its own named and Pebble, through a wrapper standing in
# for the issuer. (Not named case5_*: bench.sh sources case5_*.sh as case 5.)
#   case5_alone ROOT OUT WRAPPER N RUNS
# runs bench.sh for case 5 with N zones, RUNS timed passes, the issuer
# `WRAPPER`, everything written under OUT (its log OUT/bench.log). A partial
# bench run rewrites results.tsv, RESULTS.md, perf-serving.txt and the
# README: they are copied aside first and put back when the calling script
# exits, committed or not.
case5_alone() {
    local root=$1 out=$2 wrapper=$3 n=$4 runs=$5 f
    case5_saved=(tests/bench/results.tsv tests/bench/RESULTS.md tests/bench/perf-serving.txt README.md)
    case5_root=$root case5_out=$out
    for f in "${case5_saved[@]}"; do cp -p "$root/$f" "$out/saved.${f//\//_}"; done
    trap case5_restore EXIT
    ACMEZONE_ISSUER=$wrapper ACMEZONE_PLUGIN=${ACMEZONE_PLUGIN:-$root/build/plugin/acmezone_dlz.so} \
        ACMEZONE_SOURCE_DIR=$root BENCH_CASES=5 BENCH_SCALE_N=$n BENCH_SCALE_RUNS=$runs \
        BENCH_CHEAP_RUNS=1 BENCH_SCALE_BIG=100 BENCH_OUT=$out/RESULTS.md BENCH_TMPDIR=$out/tmp \
        "$root/tests/bench/bench.sh" >"$out/bench.log" 2>&1
}
case5_restore() {
    local f
    for f in "${case5_saved[@]}"; do cp -p "$case5_out/saved.${f//\//_}" "$case5_root/$f"; done
}
