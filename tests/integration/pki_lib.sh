# shellcheck shell=bash
# pki_lib.sh — a test CA for hosts, made with openssl ca: the server
# certificate of `acmezone-issuer serve` and the client certificates of the
# hosts that fetch (test_issuer_serve.sh, test_fetch.sh). Source after lib.sh.
#
#   az_make_ca DIR CN            a CA in DIR (ca.pem, ca.key, an openssl ca
#                                database, CRL numbering; 3 days, P-256)
#   az_pki_leaf CA_DIR NAME EXT [openssl ca ARGS...]
#                                $AZ_PKI/NAME.key (0600 from the start) and
#                                $AZ_PKI/NAME.pem signed by that CA, with the
#                                extensions EXT (printf %b text: "a=b\nc=d\n")
#   az_client_ext NAME           the extensions of a client certificate for NAME
#   az_server_ext                those of serve's certificate (127.0.0.1, localhost)
# AZ_PKI must name an existing directory.

az_make_ca() { # DIR CN
    local d=$1
    mkdir -p "$d/newcerts"
    : >"$d/index.txt"
    echo 1000 >"$d/serial"
    echo 1000 >"$d/crlnumber"
    cat >"$d/ca.cnf" <<EOF2
[ca]
default_ca = test_ca
[test_ca]
dir = $d
database = $d/index.txt
new_certs_dir = $d/newcerts
certificate = $d/ca.pem
private_key = $d/ca.key
serial = $d/serial
crlnumber = $d/crlnumber
default_md = sha256
default_days = 2
default_crl_days = 2
policy = policy_any
unique_subject = no
[policy_any]
commonName = supplied
EOF2
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3 \
        -subj "/CN=$2" -keyout "$d/ca.key" -out "$d/ca.pem" 2>/dev/null
}

az_pki_leaf() { # CA_DIR NAME EXT [openssl ca args]
    local d=$1 name=$2 ext=$3
    shift 3
    (umask 077 && openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
        -subj "/CN=$name" -keyout "$AZ_PKI/$name.key" -out "$AZ_PKI/$name.csr" 2>/dev/null)
    printf '%b' "$ext" >"$AZ_PKI/$name.ext"
    openssl ca -batch -notext -config "$d/ca.cnf" -in "$AZ_PKI/$name.csr" \
        -out "$AZ_PKI/$name.pem" -extfile "$AZ_PKI/$name.ext" "$@" 2>/dev/null ||
        az_fail "openssl ca could not sign $name"
}

az_client_ext() { echo "subjectAltName=DNS:$1\nextendedKeyUsage=clientAuth\n"; }
az_server_ext() { echo "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n"; }
