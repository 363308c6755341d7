#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Generates the certificates the TLS tests use, with the openssl CLI, into
# the directory given as $1 (which must exist). ECDSA P-256 keys keep
# handshakes cheap for the many-connection tests.
#
#   ca.pem/ca.key           test CA (basicConstraints CA:TRUE)
#   server.pem/.key         CN=localhost, SAN DNS:localhost, IP:127.0.0.1, IP:::1
#   wrong.pem/.key          SAN DNS:wrong.test only (host name mismatch)
#   wild.pem/.key           SAN DNS:*.a.test (wildcard rules)
#   expired.pem/.key        localhost, valid only in 2020 (openssl ca -enddate)
#   future.pem/.key         localhost, valid only from 2048 (not yet valid)
#   self.pem/.key           self-signed localhost (not issued by the CA)
#   client.pem/.key         client certificate issued by the CA
set -eu

dir=$1
cd "$dir"

key() {
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
        -out "$1.key" 2>/dev/null
}

key ca
openssl req -x509 -new -key ca.key -subj "/CN=corio test CA" -days 3650 \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" -out ca.pem

# A minimal `openssl ca` setup: only `ca` accepts explicit start and end
# dates, which the expired and not-yet-valid certificates need.
mkdir -p db
: > db/index.txt
echo 1000 > db/serial
cat > ca.cnf <<CNF
[ ca ]
default_ca = test_ca
[ test_ca ]
dir = .
database = db/index.txt
serial = db/serial
new_certs_dir = db
certificate = ca.pem
private_key = ca.key
default_md = sha256
policy = any
unique_subject = no
copy_extensions = none
[ any ]
commonName = supplied
[ server ]
basicConstraints = CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = \$ENV::SAN
[ client ]
basicConstraints = CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = clientAuth
CNF

# issue NAME CN SAN EXT START END
issue() {
    key "$1"
    openssl req -new -key "$1.key" -subj "/CN=$2" -out "$1.csr"
    SAN=$3 openssl ca -batch -config ca.cnf -extensions "$4" \
        -startdate "$5" -enddate "$6" -in "$1.csr" -out "$1.pem" \
        -notext 2>/dev/null
    rm -f "$1.csr"
}

issue server localhost "DNS:localhost,IP:127.0.0.1,IP:::1" server \
    20200101000000Z 20480101000000Z
issue wrong wrong.test "DNS:wrong.test" server 20200101000000Z 20480101000000Z
issue wild "*.a.test" "DNS:*.a.test" server 20200101000000Z 20480101000000Z
issue expired localhost "DNS:localhost,IP:127.0.0.1" server \
    20200101000000Z 20200102000000Z
issue future localhost "DNS:localhost,IP:127.0.0.1" server \
    20480101000000Z 20490101000000Z
issue client "corio test client" "DNS:client.test" client \
    20200101000000Z 20480101000000Z

key self
openssl req -x509 -new -key self.key -subj "/CN=localhost" -days 3650 \
    -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" -out self.pem
