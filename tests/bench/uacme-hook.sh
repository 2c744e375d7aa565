#!/bin/sh
# uacme hook for the bench: what uacme's own /usr/share/uacme/nsupdate.sh does
# (nsupdate the TXT value, then dig until it is served, checking again after
# 1 s when not; delete the RRset when done), with the server, port and key
# given by the bench instead of found through SOA/NS on port 53.
#   uacme-hook.sh METHOD TYPE IDENT TOKEN AUTH
# Environment: BENCH_CTL_PORT (control socket), BENCH_DNS_PORT (named),
# BENCH_TSIG (alg:name:secret).
method=$1 type=$2 ident=${3#\*.} auth=$5
[ "$type" = dns-01 ] || exit 1
name=_acme-challenge.$ident.

update() {
    printf 'server 127.0.0.1 %s\n%s\nsend\n' "$BENCH_CTL_PORT" "$1" |
        nsupdate -t 5 -y "$BENCH_TSIG"
}

case $method in
begin)
    update "update add $name 0 IN TXT \"$auth\"" || exit 1
    i=0
    while [ $i -lt 30 ]; do
        if dig @127.0.0.1 -p "$BENCH_DNS_PORT" +norec +short +time=2 +tries=1 "$name" TXT |
            grep -qF "\"$auth\""; then
            exit 0
        fi
        sleep 1
        i=$((i + 1))
    done
    exit 1
    ;;
done | failed)
    update "update delete $name TXT"
    ;;
*)
    exit 1
    ;;
esac
