# shellcheck shell=bash
# Case 5 — scale: acmezone-issuer with many zones (issue 18), on a named of
# its own (plugin claiming the zones, BIND's default worker threads) and a
# Pebble of its own (PEBBLE_VA_NOSLEEP=1, no nonce rejection, no reused
# authorizations: every zone publishes and validates both of its dns-01
# challenges). Sourced by bench.sh; needs no peer.
#   scale.pass.N.{wall_s,user_s,sys_s,rss_kib,certs}
#                       one `run` issuing N zones (100 and 1,000; RUNS each,
#                       each from an empty store with one account), parallel =
#                       16; wall from exec to exit, the issuer's user and system
#                       CPU and its peak RSS (GNU time); certs: certificates
#                       stored (a run missing one is FAIL, with the failed
#                       zones' lines in scale.failure)
#   scale.pass.N.{pebble_cpu_s,named_cpu_s}
#                       the CPU (user + system) Pebble and named spent during
#                       that run: the three share the machine's cores
#   scale.idle.N.{wall_s,user_s,sys_s,rss_kib}
#                       `run` with nothing due: at 1,000 the store and state the
#                       last 1,000-zone pass left; at 10,000 a synthesised store
#                       and state (synth_store.py: what 10,000 successful zones
#                       leave), no CA contacted
#   scale.status.10000.{wall_s,user_s,sys_s,rss_kib}   `status` over the same
#   scale.named_rss.10000_kib   named's RSS with 10,000 claimed zones (1 s after
#                       its first answer)
#   scale.unit.NAME.{per_zone,user_us,sys_us}, scale.unit.sum.{user_us,sys_us}
#                       unit_costs.cpp on CPU 1 against the same Pebble and named
#                       (on CPU 0), after the passes:
#                       each piece of a zone's issuance alone, one thread (CPU
#                       microseconds an operation; per_zone: how many a zone
#                       needs), and the sum for one zone

az_log "case 5: scale"
C5=$B/case5
mkdir -p "$C5"
SCALE_N=${BENCH_SCALE_N:-100 1000}
SCALE_RUNS=${BENCH_SCALE_RUNS:-$RUNS}
SCALE_MAX=0
for n in $SCALE_N; do ((n > SCALE_MAX)) && SCALE_MAX=$n; done

# the named: the plugin claims z1..z$SCALE_MAX
S5_CTL=$(az_free_port)
bench_plugin_conf "$C5/plugin.conf" "$C5/plugin-state" "$S5_CTL" "$SCALE_MAX" \
    "max-values-per-name = 64"
# (its last section is [control]) The passes sign ~4 UPDATEs a zone, 88,000
# at BENCH_SCALE_RUNS=20 within minutes, and the plugin accepts at most
# replay-memory (default 100,000) signed messages a fudge window: room for them
# and for unit_costs' after them, which an operator's passes never come near
echo "replay-memory = 400000" >>"$C5/plugin.conf"
plugin_fragment "$C5/scale.frag" "$C5/plugin.conf"
AZ_NAMED_WORKERS=default az_start_named "$C5/scale.frag" scale
S5_DNS=$AZ_NAMED_PORT
S5_NAMED_PID=$AZ_NAMED_PID
export PEBBLE_VA_NOSLEEP=1 PEBBLE_WFE_NONCEREJECT=0 PEBBLE_AUTHZREUSE=0
az_start_pebble "$S5_DNS" scale
rec settings.scale "named with the plugin claiming $SCALE_MAX zones (BIND's default workers), Pebble PEBBLE_VA_NOSLEEP=1 PEBBLE_WFE_NONCEREJECT=0 PEBBLE_AUTHZREUSE=0, parallel = 16, rate-limits = none; idle and status at 10,000 over a synthesised store"

s5_zones() { # N → file with z1..zN
    local f=$C5/zones-$1
    [[ -f $f ]] || awk -v n="$1" 'BEGIN { for (i = 1; i <= n; i++) printf "z%d.bench.test\n", i }' >"$f"
    echo "$f"
}
s5_conf() { # CONF CERTS STATE ZONESFILE
    bench_issuer_conf "$3" "$4" "$2" "$S5_CTL" "$S5_DNS" "parallel = 16" >"$1"
}
# s5_time KEY LIMIT CONF ARGS...: run the issuer under GNU time, record
# KEY.{wall_s,user_s,sys_s,rss_kib}; prints the exit status
s5_time() {
    local key=$1 limit=$2 conf=$3 rc=0
    shift 3
    timeout -k 5 "$limit" /usr/bin/time -f '%e %U %S %M' -o "$C5/time" \
        "$ACMEZONE_ISSUER" --config "$conf" "$@" >"$C5/last.out" 2>"$C5/last.log" || rc=$?
    if ((rc == 124 || rc == 137)) || [[ ! -s $C5/time ]]; then
        rec "$key.wall_s" FAIL
        echo "$rc"
        return
    fi
    read -r wall user sys rss < <(tail -n 1 "$C5/time")
    rec "$key.wall_s" "$wall"
    rec "$key.user_s" "$user"
    rec "$key.sys_s" "$sys"
    rec "$key.rss_kib" "$rss"
    echo "$rc"
}

for n in $SCALE_N; do
    for ((r = 1; r <= SCALE_RUNS; r++)); do
        d=$C5/pass-$n-$r
        s5_conf "$d.conf" "$d-certs" "$C5/state-$n" "$(s5_zones "$n")"
        # one account per N, an empty store each run; the last run's zone
        # states moved aside, not deleted (see below)
        [[ ! -d $C5/state-$n/zones ]] || mv "$C5/state-$n/zones" "$C5/old-zones-$n-$r"
        p0=$(cpu_ticks "$AZ_PEBBLE_PID") n0=$(cpu_ticks "$S5_NAMED_PID")
        rc=$(s5_time "scale.pass.$n" $((60 + n / 4)) "$d.conf" run)
        p1=$(cpu_ticks "$AZ_PEBBLE_PID") n1=$(cpu_ticks "$S5_NAMED_PID")
        # what the peers spent meanwhile: the two cores are shared by all three
        rec "scale.pass.$n.pebble_cpu_s" "$(awk -v a="$p0" -v b="$p1" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.2f", (b - a) / hz }')"
        rec "scale.pass.$n.named_cpu_s" "$(awk -v a="$n0" -v b="$n1" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.2f", (b - a) / hz }')"
        cp "$C5/last.log" "$d.log"
        got=$(find "$d-certs" -mindepth 2 -maxdepth 2 -name cert.pem 2>/dev/null | wc -l)
        rec "scale.pass.$n.certs" "$got"
        if ((rc != 0 || got != n)); then
            rec "scale.pass.$n.wall_s" FAIL
            rec scale.failure "N=$n run $r: exit $rc, $got of $n certificates: $(grep -E 'ERROR' "$d.log" | head -n 3 | cut -c1-300 | tr '\n' ' ')"
        fi
        # Nothing is deleted between the timed runs: ext4 without a journal (this
        # machine's file system) skips, one by one, every inode deleted in the
        # last 30 s when it allocates one (recently_deleted() in the kernel's
        # profile), so deleting a run's ~20,000 files just before the next run
        # made that run's system time grow with the runs before it (5.4 to 11.5 s
        # over 20 runs; 4.0 to 9.5 s over 5 runs, and 5.2 to 6.9 s once nothing
        # was deleted). An operator's pass never follows such a deletion.
    done
    if ((n == SCALE_MAX)); then
        # nothing due: the store and state the last pass left
        for ((r = 1; r <= CHEAP_RUNS; r++)); do
            rc=$(s5_time "scale.idle.$n" 60 "$d.conf" run)
            ((rc == 0)) || rec scale.failure "idle run at N=$n: exit $rc: $(tail -n 2 "$C5/last.log" | tr '\n' ' ')"
        done
        if grep -q 'ACME: ' "$C5/last.log"; then
            rec scale.failure "idle run at N=$n asked the CA: $(grep -m 1 'ACME: ' "$C5/last.log")"
        fi
    fi
done

# ---- what each piece of a zone's issuance costs, alone (issue 18) ---------------
# unit_costs.cpp against this case's Pebble and named, with them pinned to
# CPU 0 and unit_costs to CPU 1 (LOAD_PIN: 2 CPUs or more and taskset), on
# the store the last pass left: each piece alone, their sum for one zone, and
# the same pieces one after the other as a zone has them.
S5_UNIT=${BENCH_UNIT_COSTS:-$root/build-bench/tests/bench/unit_costs}
if [[ ! -x $S5_UNIT ]]; then
    rec scale.unit.sum.user_us "not run ($S5_UNIT is not built: scripts/bench builds it)"
else
    ((${#LOAD_PIN[@]} == 0)) || { pin_server "$AZ_PEBBLE_PID" && pin_server "$S5_NAMED_PID"; }
    rm -rf "$C5/unit"
    if "${LOAD_PIN[@]}" "$S5_UNIT" --config "$d.conf" --work "$C5/unit" \
        --chain "$d-certs/z1.bench.test/fullchain.pem" \
        --chain "$d-certs/z2.bench.test/fullchain.pem" >"$C5/unit.out" 2>"$C5/unit.log"; then
        while read -r what name per user sys; do
            [[ $what == unit ]] || continue
            rec "scale.unit.$name.per_zone" "$per"
            rec "scale.unit.$name.user_us" "$user"
            rec "scale.unit.$name.sys_us" "$sys"
        done <"$C5/unit.out"
        read -r _ user sys < <(grep '^sum ' "$C5/unit.out")
        rec scale.unit.sum.user_us "$user"
        rec scale.unit.sum.sys_us "$sys"
    else
        rec scale.failure "unit_costs failed: $(tail -n 2 "$C5/unit.log" | tr '\n' ' ')"
    fi
    ((${#LOAD_PIN[@]} == 0)) || { unpin_server "$AZ_PEBBLE_PID" && unpin_server "$S5_NAMED_PID"; }
fi
az_stop_pebble
# the last run's store is the idle runs'; the others only take room
# (BENCH_SCALE_RUNS=20: 20,000 certificate directories at N = 1,000)
rm -rf "$C5"/old-zones-*
for n in $SCALE_N; do
    for ((r = 1; r < SCALE_RUNS; r++)); do rm -rf "$C5/pass-$n-$r-certs"; done
done
rm -rf "$C5/unit"

# ---- 10,000 configured zones: a synthesised store and state ------------------------
S5_BIG=${BENCH_SCALE_BIG:-10000}
"$PY" "$here/synth_store.py" "$C5/big-certs" "$C5/big-state" "$(s5_zones "$S5_BIG")" \
    "$AZ_PEBBLE_DIR"
s5_conf "$C5/big.conf" "$C5/big-certs" "$C5/big-state" "$(s5_zones "$S5_BIG")"
for ((r = 1; r <= CHEAP_RUNS; r++)); do
    rc=$(s5_time "scale.idle.$S5_BIG" 120 "$C5/big.conf" run)
    ((rc == 0)) || rec scale.failure "idle run at $S5_BIG zones: exit $rc: $(tail -n 2 "$C5/last.log" | tr '\n' ' ')"
done
for ((r = 1; r <= CHEAP_RUNS; r++)); do
    rc=$(s5_time "scale.status.$S5_BIG" 120 "$C5/big.conf" status --json)
    ((rc == 0)) || rec scale.failure "status at $S5_BIG zones: exit $rc: $(tail -n 2 "$C5/last.log" | tr '\n' ' ')"
done
valid=$(grep -o '"state" *: *"valid"' "$C5/last.out" | wc -l)
rec "scale.status.$S5_BIG.valid" "$valid"

# ---- named with 10,000 claimed zones -------------------------------------------------
S5_BIG_CTL=$(az_free_port)
bench_plugin_conf "$C5/plugin-big.conf" "$C5/plugin-big-state" "$S5_BIG_CTL" "$S5_BIG"
plugin_fragment "$C5/big.frag" "$C5/plugin-big.conf"
AZ_NAMED_WORKERS=default az_start_named "$C5/big.frag" scalebig
sleep 1
rec "scale.named_rss.${S5_BIG}_kib" "$(rss_kib "$AZ_NAMED_PID")"
az_stop_named scalebig
az_stop_named scale
