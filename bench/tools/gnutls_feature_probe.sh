#!/bin/sh
# bench/tools/gnutls_feature_probe.sh — makes the probe's certificates (ECDSA and RSA for
# bench.test, other.test, a CA, a CA-signed bench.test leaf and an OCSP response for it) in a
# temporary directory and runs gnutls_feature_probe on them.
#   bench/tools/gnutls_feature_probe.sh build/gnutls_feature_probe
set -eu
probe=$1
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cd "$dir"
ec="-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes"
openssl req -x509 $ec -keyout ec.key -out ec.pem -days 2 -subj /CN=bench.test \
  -addext subjectAltName=DNS:bench.test 2>/dev/null
openssl req -x509 -newkey rsa:2048 -nodes -keyout rsa.key -out rsa.pem -days 2 \
  -subj /CN=bench.test -addext subjectAltName=DNS:bench.test 2>/dev/null
openssl req -x509 $ec -keyout other.key -out other.pem -days 2 -subj /CN=other.test \
  -addext subjectAltName=DNS:other.test 2>/dev/null
openssl req -x509 $ec -keyout ca.key -out ca.pem -days 2 -subj /CN=probe-ca 2>/dev/null
openssl req $ec -keyout leaf.key -out leaf.csr -subj /CN=bench.test 2>/dev/null
printf 'subjectAltName=DNS:bench.test\n' >leaf.ext
openssl x509 -req -in leaf.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out leaf.pem -days 2 \
  -extfile leaf.ext 2>/dev/null
cat leaf.pem ca.pem >chain.pem
# The CA answers "good" for the leaf: an index with the leaf's serial, signed by the CA itself.
serial=$(openssl x509 -in leaf.pem -noout -serial | cut -d= -f2)
expiry=$(openssl x509 -in leaf.pem -noout -enddate | cut -d= -f2)
printf 'V\t%s\t\t%s\tunknown\t/CN=bench.test\n' "$(date -u -d "$expiry" +%y%m%d%H%M%SZ)" \
  "$serial" >index.txt
openssl ocsp -index index.txt -rsigner ca.pem -rkey ca.key -CA ca.pem -issuer ca.pem \
  -cert leaf.pem -ndays 1 -respout leaf.ocsp >/dev/null 2>&1
cd - >/dev/null
"$probe" "$dir"
