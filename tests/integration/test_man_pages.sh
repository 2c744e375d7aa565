#!/usr/bin/env bash
# The man pages say what the programs do, no more and no less:
#   acmezone-issuer(8): every command in `acmezone-issuer --help`'s usage
#     lines is in COMMANDS, every long option of --help in OPTIONS, every key
#     of --help-config in CONFIGURATION (as [section] + key), with the range
#     and default --help-config gives a number option; and nothing is
#     documented there that the binary does not know.
#   acmezone-fetch(1): the same, against `acmezone-fetch --help` and
#     --help-config.
#   acmezone_dlz(8): every option the plugin declares (list_plugin_options,
#     from plugin/plugin_config.cpp) is in CONFIGURATION, and the other way
#     round.
#   All three render without a groff/man warning (as lintian checks them).
#
# Environment: ACMEZONE_ISSUER, ACMEZONE_FETCH, ACMEZONE_SOURCE_DIR (CTest sets them), and
# ACMEZONE_LIST_PLUGIN_OPTIONS (the tool built from list_plugin_options.cpp).
source "$(dirname "$0")/lib.sh"
az_setup

man_dir=$ACMEZONE_SOURCE_DIR/packaging/man
issuer_man=$man_dir/acmezone-issuer.8
plugin_man=$man_dir/acmezone_dlz.8
fetch_man=$man_dir/acmezone-fetch.1
[[ -f $issuer_man && -f $plugin_man && -f $fetch_man ]] || az_fail "man pages missing in $man_dir"
[[ -x ${ACMEZONE_ISSUER:-} ]] || az_fail "ACMEZONE_ISSUER is not set to the built acmezone-issuer"
[[ -x ${ACMEZONE_FETCH:-} ]] || az_fail "ACMEZONE_FETCH is not set to the built acmezone-fetch"
[[ -x ${ACMEZONE_LIST_PLUGIN_OPTIONS:-} ]] ||
    az_fail "ACMEZONE_LIST_PLUGIN_OPTIONS is not set to the built list_plugin_options"

# man_tags FILE SECTION: the tag line (the line after .TP or .TQ) of every
# item in the .SH SECTION, each prefixed with "S." when it follows .SS [S].
man_tags() {
    awk -v want="$2" '
        /^\.SH / { sh = $0; sub(/^\.SH +"?/, "", sh); sub(/"$/, "", sh); prefix = ""; next }
        sh != want { next }
        /^\.SS / { s = $0; sub(/^\.SS +"?\[?/, "", s); sub(/\]?"?$/, "", s); prefix = s "."; next }
        /^\.T[PQ]/ { tag = 1; next }
        tag { tag = 0; print prefix "\t" $0 }
    ' "$1"
}

# The first word of a tag line: ".BI \"directory = \" URL" -> directory.
tag_word() {
    sed -E 's/^([^\t]*)\t\.[A-Z]+ +/\1\t/; s/"//g; s/\\-/-/g' |
        awk -F'\t' '{ split($2, w, /[ =]/); print $1 w[1] }'
}

compare() {
    local what=$1 from_binary=$2 from_man=$3 missing extra
    [[ -s $from_binary ]] || az_fail "$what: nothing extracted from the binary (parser out of date?)"
    [[ -s $from_man ]] || az_fail "$what: nothing extracted from the man page (parser out of date?)"
    missing=$(comm -23 "$from_binary" "$from_man" | tr '\n' ' ')
    extra=$(comm -13 "$from_binary" "$from_man" | tr '\n' ' ')
    [[ -z $missing ]] || az_fail "$what: in the binary but not in the man page: $missing"
    [[ -z $extra ]] || az_fail "$what: in the man page but not in the binary: $extra"
    az_log "$what: $(wc -l <"$from_binary") match"
}

# man_entries FILE SECTION: "key<TAB>text" of every entry of SECTION.
man_entries() {
    awk -v want="$2" '
        function flush(  i) { for (i = 1; i <= n; i++) print keys[i] "\t" text; n = 0; text = "" }
        /^\.SH / { flush(); sh = $0; sub(/^\.SH +"?/, "", sh); sub(/"$/, "", sh); prefix = ""; next }
        sh != want { next }
        /^\.SS / { flush(); s = $0; sub(/^\.SS +"?\[?/, "", s); sub(/\]?"?$/, "", s); prefix = s "."; next }
        /^\.TP/ { flush(); tag = 1; next }
        /^\.TQ/ { tag = 1; next }
        tag { tag = 0; w = $0; sub(/^\.[A-Z]+ +/, "", w); gsub(/"/, "", w); gsub(/\\-/, "-", w)
              split(w, a, /[ =]/); keys[++n] = prefix a[1]; next }
        n > 0 { l = $0; gsub(/\\-/, "-", l); text = text " " l }
        END { flush() }
    ' "$1"
}

t=$AZ_TMP

# check_program NAME BINARY MAN: NAME's commands, long options, configuration
# keys, and the ranges and defaults of its number options, both ways.
check_program() {
    local name=$1 bin=$2 page=$3 help help_config key default range entry
    help=$("$bin" --help) || az_fail "$name --help failed"
    help_config=$("$bin" --help-config) || az_fail "$name --help-config failed"

    # Commands: the first lower-case word after the program name on each usage line.
    grep -E "^(usage:)? +$name " <<<"$help" |
        awk -v prog="$name" '{ for (i = 1; i <= NF; i++) if ($i ~ /^[a-z][a-z-]*$/ && $i != "usage:" &&
                                             $i != prog) { print $i; break } }' |
        LC_ALL=C sort -u >"$t/commands.bin"
    man_tags "$page" COMMANDS | tag_word | LC_ALL=C sort -u >"$t/commands.man"
    compare "$name commands" "$t/commands.bin" "$t/commands.man"

    # Long options: every --word in --help; in the man page, every \-\-word of
    # an OPTIONS tag line.
    grep -oE -- '--[a-z][a-z0-9-]*' <<<"$help" | LC_ALL=C sort -u >"$t/options.bin"
    man_tags "$page" OPTIONS | cut -f2 | grep -oE '(\\-\\-|--)([a-z0-9]|\\-)+' |
        sed 's/\\-/-/g' | LC_ALL=C sort -u >"$t/options.man"
    compare "$name options" "$t/options.bin" "$t/options.man"

    # Configuration keys: "  --section.key ..." lines of --help-config.
    sed -nE 's/^  --([a-z0-9.-]+).*/\1/p' <<<"$help_config" | LC_ALL=C sort -u >"$t/config.bin"
    man_tags "$page" CONFIGURATION | tag_word | LC_ALL=C sort -u >"$t/config.man"
    compare "$name configuration" "$t/config.bin" "$t/config.man"

    # Ranges and defaults: what --help-config says of each number option (from
    # the option table: "(=30)" and "(1..600)", or "(0: no limit;
    # 0..1000000)") the option's CONFIGURATION entry says too ("1..600",
    # "default 30"). Keys tagged together (.TQ) share their entry's text.
    awk '
        /^  --/ { if (key != "") print key "\t" text; key = $1; sub(/^--/, "", key); text = $0; next }
        /^ +[^ -]/ { sub(/^ +/, " "); text = text $0; next }
        END { if (key != "") print key "\t" text }
    ' <<<"$help_config" |
        sed -nE 's/^([a-z0-9.-]+)\t.*\(=([^)]*)\).* \(([^()]*; *)?([a-z0-9-]+\.\.[0-9]+)\)$/\1 \2 \4/p
                  t
                  s/^([a-z0-9.-]+)\t[^(]*\(([^()]*; *)?([a-z0-9-]+\.\.[0-9]+)\)$/\1 - \3/p' >"$t/ranges.bin"
    [[ -s $t/ranges.bin ]] || az_fail "$name: no ranges extracted from --help-config (parser out of date?)"
    man_entries "$page" CONFIGURATION >"$t/entries.man"
    while read -r key default range; do
        entry=$(awk -F'\t' -v k="$key" '$1 == k { print $2 }' "$t/entries.man")
        [[ $entry =~ (^|[^0-9a-z-])${range//./\\.}([^0-9]|$) ]] ||
            az_fail "$(basename "$page") $key: the range $range (--help-config) is not in its entry: $entry"
        [[ $default == - || $entry =~ default\ ${default}([^0-9]|$) ]] ||
            az_fail "$(basename "$page") $key: \"default $default\" (--help-config) is not in its entry: $entry"
    done <"$t/ranges.bin"
    az_log "$name ranges and defaults: $(wc -l <"$t/ranges.bin") match"
}

check_program acmezone-issuer "$ACMEZONE_ISSUER" "$issuer_man"
check_program acmezone-fetch "$ACMEZONE_FETCH" "$fetch_man"

# The plugin's configuration keys.
"$ACMEZONE_LIST_PLUGIN_OPTIONS" | LC_ALL=C sort -u >"$t/plugin.bin" ||
    az_fail "list_plugin_options failed"
man_tags "$plugin_man" CONFIGURATION | tag_word | LC_ALL=C sort -u >"$t/plugin.man"
compare "acmezone_dlz configuration" "$t/plugin.bin" "$t/plugin.man"

# Both render cleanly, as lintian's groff check does.
for page in "$issuer_man" "$plugin_man" "$fetch_man"; do
    out=$(LC_ALL=C.UTF-8 MANROFFSEQ='' MANWIDTH=80 man --warnings -E UTF-8 -l -Tutf8 -Z "$page" 2>&1 >/dev/null) ||
        az_fail "$(basename "$page"): man failed: $out"
    [[ -z $out ]] || az_fail "$(basename "$page"): groff warnings: $out"
done
az_log "man pages render without warnings"
echo "PASS: man pages match --help, --help-config and the plugin's option declaration"
