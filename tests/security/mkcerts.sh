#!/bin/sh
# mkcerts.sh DIR: a throw-away PKI for the TLS tests, made with openssl.
#   ca.pem / ca-key.pem            the CA the server's and client's certs chain to
#   server.pem / server-key.pem    CN=localhost, SAN DNS:localhost, IP:127.0.0.1
#   client.pem / client-key.pem    a client certificate (for verify: true)
#   other-ca.pem                   an unrelated CA (the "wrong CA")
set -eu
cd "$1"
days=2
ossl() { openssl "$@" 2>/dev/null; }
ca() {  # ca NAME SUBJECT
    ossl req -x509 -newkey rsa:2048 -nodes -keyout "$1-key.pem" -out "$1.pem" -days $days \
        -subj "$2" -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign
}
leaf() {  # leaf NAME SUBJECT EXTFILE-LINES
    ossl req -newkey rsa:2048 -nodes -keyout "$1-key.pem" -out "$1.csr" -subj "$2"
    printf '%s\n' "$3" >"$1.ext"
    ossl x509 -req -in "$1.csr" -CA ca.pem -CAkey ca-key.pem -CAcreateserial -out "$1.pem" \
        -days $days -extfile "$1.ext"
    rm -f "$1.csr" "$1.ext"
}
ca ca "/CN=kvw test CA"
ca other-ca "/CN=kvw unrelated CA"
leaf server "/CN=localhost" "subjectAltName=DNS:localhost,IP:127.0.0.1
extendedKeyUsage=serverAuth
keyUsage=critical,digitalSignature,keyEncipherment"
leaf client "/CN=kvw test client" "extendedKeyUsage=clientAuth
keyUsage=critical,digitalSignature,keyEncipherment"
chmod 600 ./*-key.pem
