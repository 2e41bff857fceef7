#!/bin/sh
# verify.sh - check a PromptStamp evidence bundle with standard tools only:
#   sh, unzip, sha256sum, openssl (1.1.1 or 3.x), and xxd or od; plus sed, grep, sort, tr, cut, dd.
#
# Usage: sh verify.sh [-k SERVICE_KEY.pem]... BUNDLE.asice|EXTRACTED_DIR TSA_ROOT.pem [MORE_ROOTS.pem...]
#
#   TSA_ROOT.pem  the root certificate(s) of the time-stamping authorities you trust. Get them from
#                 the TSA or from a trusted list, never from the bundle.
#   -k KEY.pem    a service public key you trust (from the service's published keys). Without -k the
#                 receipts are checked against the keys inside the bundle, which proves consistency,
#                 not origin: the script then exits 2 and prints the key fingerprints to compare.
#
# One line per check: "OK", "FAIL" or "NOTE". Exit 0: every check holds and every anchor was given
# by you; 1: something failed (see FAIL lines); 2: everything holds but rests on a service key you
# did not give with -k or on a TSA root you did not give: the verdicts of "promptstamp verify", which
# performs the same checks and more (strict JSON, every record field); this script exists so that
# nobody has to trust our code. Get it from the project (the repository, or GET /verify.sh on the
# service, whose SHA-256 /v1/keys and the README publish), never from the bundle you are checking.
set -u
LC_ALL=C
export LC_ALL

fails=0
untrusted=0
ok()   { printf 'OK    %s\n' "$*"; }
fail() { printf 'FAIL  %s\n' "$*"; fails=$((fails + 1)); }
note() { printf 'NOTE  %s\n' "$*"; }
usage() { sed -n '6,13p' "$0" >&2 2>/dev/null || echo "usage: sh verify.sh [-k KEY.pem]... BUNDLE TSA_ROOT.pem" >&2; exit 1; }

work=$(mktemp -d) || exit 1
trap 'rm -rf "$work"' EXIT
trap 'exit 1' INT TERM HUP
mkdir "$work/trusted" || exit 1
nkeys=0
while [ $# -gt 0 ]; do
  case $1 in
    -k) [ $# -ge 2 ] || usage
        [ -r "$2" ] || { echo "cannot read key $2" >&2; exit 1; }
        nkeys=$((nkeys + 1))
        grep -v -- '-----' "$2" | tr -d ' \r\n' > "$work/trusted/$nkeys"
        shift 2 ;;
    -h|--help) usage ;;
    --) shift; break ;;
    -*) usage ;;
    *) break ;;
  esac
done
[ $# -ge 2 ] || usage
bundle=$1
shift
: > "$work/roots.pem"
for r in "$@"; do
  [ -r "$r" ] || { echo "cannot read TSA root $r" >&2; exit 1; }
  cat "$r" >> "$work/roots.pem"
done

if command -v xxd >/dev/null 2>&1; then
  hex2bin() { xxd -r -p; }
else
  hex2bin() {  # POSIX fallback: two hex digits at a time through printf octal escapes
    h=$(tr -d ' \n')
    while [ -n "$h" ]; do
      rest=${h#??}
      printf "\\$(printf '%03o' "0x${h%"$rest"}")"
      h=$rest
    done
  }
fi
sha256hex() { sha256sum | cut -c1-64; }

# 1. Container ---------------------------------------------------------------------------------
if [ -d "$bundle" ]; then
  d=$bundle
  note "container: checking an extracted directory; the ZIP layout (mimetype first, stored) is not checked"
else
  first=$(unzip -Z1 "$bundle" 2>/dev/null | sed -n 1p)
  magic=$(dd if="$bundle" bs=1 skip=30 count=39 2>/dev/null)
  if [ "$first" = mimetype ] && [ "$magic" = "mimetypeapplication/vnd.etsi.asic-e+zip" ]; then
    ok "container: ZIP whose first entry is mimetype, stored: application/vnd.etsi.asic-e+zip"
  else
    fail "container: expected a ZIP whose first entry is mimetype (stored, application/vnd.etsi.asic-e+zip), found first entry '$first'"
  fi
  if unzip -Z1 "$bundle" 2>/dev/null | grep -Eq '(^/|(^|/)\.\.(/|$)|\\)'; then
    fail "container: entry names with '..', '/' at the start or '\\' (refusing to extract)"
    exit 1
  fi
  if [ -n "$(unzip -Z1 "$bundle" 2>/dev/null | sort | uniq -d)" ]; then
    fail "container: entry names that appear twice (a reader could see either copy; refusing to extract)"
    exit 1
  fi
  d=$work/b
  if ! unzip -q -n -d "$d" "$bundle" < /dev/null > /dev/null 2>&1; then
    fail "container: unzip could not extract $bundle"
    exit 1
  fi
fi
cd "$d" || exit 1
if [ "$(cat mimetype 2>/dev/null)" = "application/vnd.etsi.asic-e+zip" ]; then
  ok "mimetype: application/vnd.etsi.asic-e+zip"
else
  fail "mimetype: expected application/vnd.etsi.asic-e+zip"
fi
find . -type f | sed 's|^\./||' | sort > "$work/files"

# 2. SHA256SUMS and its time-stamp token -------------------------------------------------------
if [ ! -f SHA256SUMS ]; then
  fail "SHA256SUMS: missing"
  : > "$work/sums"
else
  if grep -Evq '^[0-9a-f]{64} [ *][A-Za-z0-9_][A-Za-z0-9_./-]*$' SHA256SUMS || grep -q '\.\.' SHA256SUMS; then
    fail "SHA256SUMS: lines that are not '<sha256 hex> *<plain relative name>'"
  fi
  sed -n 's/^[0-9a-f]\{64\} [ *]//p' SHA256SUMS | sort > "$work/sums"
  grep -Ev '^(mimetype|SHA256SUMS|SHA256SUMS\.tst|META-INF/.*)$' "$work/files" > "$work/expected"
  for f in $(comm -23 "$work/expected" "$work/sums"); do fail "file $f: present but not listed in SHA256SUMS"; done
  sha256sum -c SHA256SUMS > "$work/sums.out" 2>/dev/null
  while IFS= read -r line; do
    case $line in
      *': OK') ok "file hash ${line%: OK}" ;;
      *) fail "file hash $line" ;;
    esac
  done < "$work/sums.out"
fi
untrusted_arg=""
cat batches/*/*-chain.pem > "$work/untrusted.pem" 2>/dev/null
[ -s "$work/untrusted.pem" ] && untrusted_arg="-untrusted $work/untrusted.pem"
certbodies() {  # PEM certificates on stdin -> one base64 body per line (the same DER gives the same line)
  sed -n '/^-----BEGIN CERTIFICATE-----/,/^-----END CERTIFICATE-----/p' | tr -d '\r\n' | tr -s '-' '\n' |
    grep -v -e CERTIFICATE -e '^$'
}
cat "$work/roots.pem" "$work/untrusted.pem" | certbodies > "$work/known.certs"
tsverify() {  # $1 token, then -data FILE or -digest HEX; checked against the roots in $anchors
  t=$1
  shift
  # shellcheck disable=SC2086
  openssl ts -verify -token_in -in "$t" "$@" -CAfile "$anchors" $partial $untrusted_arg > "$work/ts.out" 2>&1 &&
    grep -q '^Verification: OK' "$work/ts.out" || return 1
  # Stricter than openssl ts: no algorithm OpenSSL does not know (it skips some), and no embedded
  # certificate that neither your roots nor the bundle's TSA certificates account for (the token's
  # signature does not cover the certificates it carries).
  openssl cms -cmsout -print -inform DER -in "$t" > "$work/cms.txt" 2>/dev/null
  if grep -q 'algorithm: undefined' "$work/cms.txt"; then
    echo "token names an algorithm OpenSSL does not know" > "$work/ts.out"
    return 1
  fi
  # The SignedData envelope is not signed: its version must be 3 and digestAlgorithms must name
  # exactly the signer's digest algorithm (RFC 5652 5.1), so that no byte of a token goes unchecked.
  sd_version=$(sed -n 's/^    version: //p' "$work/cms.txt")
  listed=$(sed -n '/^    digestAlgorithms:/,/^    encapContentInfo:/s/^ *algorithm: //p' "$work/cms.txt" | sort -u)
  params=$(sed -n '/^    digestAlgorithms:/,/^    encapContentInfo:/s/^ *parameter: //p' "$work/cms.txt" |
    grep -v -e '^NULL$' -e '^<ABSENT>$')
  signer=$(sed -n '/^        digestAlgorithm:/{n;s/^ *algorithm: //p;}' "$work/cms.txt")
  if [ "$sd_version" != 3 ] || [ -z "$signer" ] || [ "$listed" != "$signer" ] || [ -n "$params" ]; then
    echo "token envelope: expected SignedData version 3 and digestAlgorithms '$signer', found version '$sd_version' and '$listed'" > "$work/ts.out"
    return 1
  fi
  openssl pkcs7 -inform DER -in "$t" -print_certs 2>/dev/null | certbodies > "$work/tok.certs"
  if grep -vxFf "$work/known.certs" "$work/tok.certs" > /dev/null; then
    echo "token carries a certificate that is neither a given root nor one of the bundle's TSA certificates" \
      > "$work/ts.out"
    return 1
  fi
}
gentime() { openssl ts -reply -token_in -in "$1" -text 2>/dev/null | sed -n 's/^Time stamp: //p'; }
# tscheck TOKEN ARGS...: "trusted" if the token verifies to a root you gave; "untrusted" if it verifies only
# to a certificate the bundle or the token itself carries (its signature holds, its root is not yours);
# "bad" otherwise. The verdict then rests on a TSA you did not name, as "promptstamp verify" says (exit 2).
tscheck() {
  t=$1
  anchors=$work/roots.pem partial=""
  if tsverify "$@"; then echo trusted; return; fi
  cp "$work/ts.out" "$work/ts.trusted.out"
  { cat "$work/untrusted.pem"; openssl pkcs7 -inform DER -in "$t" -print_certs 2>/dev/null; } > "$work/own.pem"
  anchors=$work/own.pem partial=-partial_chain
  if [ -s "$work/own.pem" ] && tsverify "$@"; then echo untrusted; return; fi
  cp "$work/ts.trusted.out" "$work/ts.out"
  echo bad
}
untrusted_tsa() {
  untrusted=$((untrusted + 1))
  note "$1: its signature holds but its chain ends at a TSA root you did not give (only self-consistent)"
}
case $( [ -f SHA256SUMS.tst ] && tscheck SHA256SUMS.tst -data SHA256SUMS ) in
  trusted) ok "SHA256SUMS.tst: time-stamp over SHA256SUMS verifies to your TSA root, time $(gentime SHA256SUMS.tst)" ;;
  untrusted) untrusted_tsa "SHA256SUMS.tst: time-stamp over SHA256SUMS, time $(gentime SHA256SUMS.tst)" ;;
  *) fail "SHA256SUMS.tst: time-stamp over SHA256SUMS does not verify to the TSA root given: $(tail -n 1 "$work/ts.out")" ;;
esac

# 3. ASiC manifest and its time-stamp token ----------------------------------------------------
m=META-INF/ASiCManifest001.xml
if [ ! -f "$m" ]; then
  fail "$m: missing"
else
  sed -n -e 's/^<asic:DataObjectReference URI="\([^"]*\)">$/\1/p' \
         -e 's/^<ds:DigestValue>\([A-Za-z0-9+/=]*\)<\/ds:DigestValue>$/\1/p' "$m" | paste - - > "$work/manifest"
  cut -f1 "$work/manifest" | sort > "$work/mnames"
  grep -Ev '^(mimetype|META-INF/.*)$' "$work/files" > "$work/mexpected"
  if cmp -s "$work/mnames" "$work/mexpected"; then
    ok "$m: lists every file outside META-INF/"
  else
    fail "$m: lists $(wc -l < "$work/mnames" | tr -d ' ') files, the container holds $(wc -l < "$work/mexpected" | tr -d ' ') outside META-INF/"
  fi
  bad=0
  while IFS="$(printf '\t')" read -r name b64; do
    case $name in /*|*..*) bad=$((bad + 1)); continue ;; esac
    [ -f "$name" ] && [ "$(openssl dgst -sha256 -binary "$name" | openssl base64 -A)" = "$b64" ] || {
      bad=$((bad + 1)); fail "$m: digest of $name does not match"; }
  done < "$work/manifest"
  [ "$bad" -eq 0 ] && ok "$m: every listed digest matches its file"
  case $( [ -f META-INF/timestamp001.tst ] && tscheck META-INF/timestamp001.tst -data "$m" ) in
    trusted) ok "META-INF/timestamp001.tst: time-stamp over the manifest verifies to your TSA root, time $(gentime META-INF/timestamp001.tst)" ;;
    untrusted) untrusted_tsa "META-INF/timestamp001.tst: time-stamp over the manifest, time $(gentime META-INF/timestamp001.tst)" ;;
    *) fail "META-INF/timestamp001.tst: time-stamp over the manifest does not verify to the TSA root given: $(tail -n 1 "$work/ts.out")" ;;
  esac
fi

# 4. Service keys ------------------------------------------------------------------------------
for k in keys/*.pem; do
  [ -f "$k" ] || continue
  kid=$(basename "$k" .pem)
  grep -v -- '-----' "$k" | tr -d ' \r\n' > "$work/kbody"
  raw_id=$(openssl base64 -d -A < "$work/kbody" | dd bs=1 skip=12 2>/dev/null | sha256hex | cut -c1-16)
  if [ "$raw_id" != "$kid" ]; then
    fail "key $k: holds key id $raw_id, not $kid"
    continue
  fi
  trusted=no
  for t in "$work"/trusted/*; do
    [ -f "$t" ] && cmp -s "$t" "$work/kbody" && trusted=yes
  done
  fp=$(openssl base64 -d -A < "$work/kbody" | dd bs=1 skip=12 2>/dev/null | sha256hex)
  if [ $trusted = yes ]; then
    ok "key $kid: is a service key you gave with -k"
  else
    untrusted=$((untrusted + 1))
    note "key $kid: taken from the bundle only; compare SHA-256 $fp with the service's published key"
  fi
done

# 5. Batches: one RFC 3161 token per TSA over the Merkle root ----------------------------------
: > "$work/stamped"
for b in batches/*/; do
  [ -f "${b}batch.json" ] || continue
  bid=$(basename "$b")
  root=$(sed -n 's/.*"root":"sha256:\([0-9a-f]\{64\}\)".*/\1/p' "${b}batch.json")
  good=0 own=0 bad=0
  for t in "$b"*.tst; do
    [ -f "$t" ] || continue
    case $( [ -n "$root" ] && tscheck "$t" -digest "$root" ) in
      trusted) good=$((good + 1))
        ok "batch $bid: token $(basename "$t") over root $root verifies to your TSA root, time $(gentime "$t")" ;;
      untrusted) own=$((own + 1))
        note "batch $bid: token $(basename "$t") over root $root holds, but to a TSA root you did not give, time $(gentime "$t")" ;;
      *) bad=$((bad + 1))
        fail "batch $bid: token $(basename "$t") does not verify: $(tail -n 1 "$work/ts.out")" ;;
    esac
  done
  if [ $bad -gt 0 ]; then
    :
  elif [ $good -gt 0 ]; then
    echo "$bid $root" >> "$work/stamped"
  elif [ $own -gt 0 ]; then
    untrusted=$((untrusted + 1))
    echo "$bid $root" >> "$work/stamped"
  else
    fail "batch $bid: no token (pending): its records are not time-stamped"
  fi
done

# 6. Records: digest, attachments, receipt signature, Merkle inclusion proof ---------------------
walk() {  # RFC 9162 2.1.3.2: $1 leaf hex, $2 index, $3 size, then proof nodes
  r=$1; fn=$2; sn=$(($3 - 1)); shift 3
  for p in "$@"; do
    [ $sn -eq 0 ] && { echo toolong; return; }
    if [ $((fn % 2)) -eq 1 ] || [ $fn -eq $sn ]; then
      r=$(printf '01%s%s' "$p" "$r" | hex2bin | sha256hex)
      if [ $((fn % 2)) -eq 0 ]; then
        while [ $((fn % 2)) -eq 0 ] && [ $fn -ne 0 ]; do fn=$((fn >> 1)); sn=$((sn >> 1)); done
      fi
    else
      r=$(printf '01%s%s' "$r" "$p" | hex2bin | sha256hex)
    fi
    fn=$((fn >> 1)); sn=$((sn >> 1))
  done
  [ $sn -eq 0 ] && echo "$r" || echo tooshort
}
: > "$work/chain"
: > "$work/accounts"
: > "$work/sessions"
for rec in records/*.json; do
  [ -f "$rec" ] || continue
  id=$(basename "$rec" .json)
  rc=receipts/$id.json
  h=$(sha256hex < "$rec")
  if [ ! -f "$rc" ]; then fail "record $id: receipts/$id.json missing"; continue; fi
  if grep -q "\"record\":\"sha256:$h\",\"record_id\":\"$id\",\"sig\":" "$rc"; then
    ok "record $id: digest sha256:$h is the one its receipt names"
  else
    fail "record $id: digest sha256:$h is not the one receipts/$id.json names"
  fi
  for a in $(tr '{' '\n' < "$rec" | sed -n 's/^"bytes":[0-9]*,"digest":"sha256:\([0-9a-f]\{64\}\)".*/\1/p'); do
    if [ -f "blobs/$a" ] && [ "$(sha256hex < "blobs/$a")" = "$a" ]; then
      ok "record $id: attachment blobs/$a matches its digest"
    else
      fail "record $id: attachment sha256:$a missing or altered (blobs/$a)"
    fi
  done
  kid=$(sed -n 's/.*,"key":"\([0-9a-f]\{16\}\)",.*/\1/p' "$rc")
  sed 's/,"sig":"[A-Za-z0-9+/=]*"//' "$rc" | tr -d '\n' > "$work/signed"
  sed -n 's/.*,"sig":"\([A-Za-z0-9+/=]*\)".*/\1/p' "$rc" | openssl base64 -d -A > "$work/sig" 2>/dev/null
  if [ -n "$kid" ] && [ -f "keys/$kid.pem" ] && openssl pkeyutl -verify -pubin -inkey "keys/$kid.pem" -rawin \
       -in "$work/signed" -sigfile "$work/sig" >/dev/null 2>&1; then
    ok "record $id: receipt signature verifies with service key $kid"
  else
    fail "record $id: receipt signature does not verify (key '${kid:-none}')"
  fi
  set -- $(sed -n 's/.*"batch":{"id":"\([0-9A-Z]*\)","index":\([0-9]*\),"proof":\[\([0-9a-f",]*\)\],"root":"sha256:\([0-9a-f]\{64\}\)","size":\([0-9]*\)}.*/\1 \4 \2 \5 \3/p' "$rc" | tr ',"' '  ')
  if [ $# -lt 4 ]; then fail "record $id: receipt has no readable batch member"; continue; fi
  bid=$1; root=$2; index=$3; size=$4; shift 4
  leaf=$(printf '00%s' "$h" | hex2bin | sha256hex)
  got=$(walk "$leaf" "$index" "$size" "$@")
  if [ "$got" = "$root" ]; then
    ok "record $id: Merkle inclusion proof (leaf $index of $size) leads to batch root $root"
  else
    fail "record $id: Merkle inclusion proof leads to $got, the receipt names root $root"
  fi
  if grep -q "^$bid $root\$" "$work/stamped"; then
    ok "record $id: time-stamped through batch $bid"
  else
    fail "record $id: batch $bid with root $root has no token that verifies (pending or altered)"
  fi
  seq=$(sed -n 's/.*,"seq":\([0-9]*\),"session":{.*/\1/p' "$rec")
  prev=$(sed -n 's/.*,"prev":"sha256:\([0-9a-f]\{64\}\)",".*/\1/p' "$rec")
  dev=$(sed -n 's/.*"device":"\([0-9a-f]\{16\}\)"}.*/\1/p' "$rec")
  # The creator's own signature: Ed25519 by the device key over the record's exact bytes, kept in the receipt.
  dkid=$(sed -n 's/.*"device_key":"\([0-9a-f]\{16\}\)".*/\1/p' "$rc")
  dsig=$(sed -n 's/.*"device_sig":"\([A-Za-z0-9+/=]*\)".*/\1/p' "$rc")
  if [ -z "$dkid" ]; then
    if [ -n "$dev" ]; then fail "record $id: names device $dev, its receipt names no device key"
    else note "record $id: no device signature (rests on the service's receipt alone)"; fi
  elif [ -n "$dev" ] && [ "$dev" != "$dkid" ]; then
    fail "record $id: client.device $dev differs from the receipt's device key $dkid"
  elif [ -z "$dsig" ]; then
    note "record $id: device $dkid signed it on arrival, but the receipt predates keeping the signature"
  else
    printf '%s' "$dsig" | openssl base64 -d -A > "$work/dsig" 2>/dev/null
    if [ -f "keys/devices/$dkid.pem" ] && openssl pkeyutl -verify -pubin -inkey "keys/devices/$dkid.pem" -rawin \
         -in "$rec" -sigfile "$work/dsig" >/dev/null 2>&1; then
      ok "record $id: device signature verifies with the creator's device key $dkid"
    else
      fail "record $id: device signature does not verify with keys/devices/$dkid.pem"
    fi
  fi
  printf '%s\n' "$(sed -n 's/^{"account":"\([^"]*\)",.*/\1/p' "$rc")" >> "$work/accounts"
  site=$(sed -n 's/.*"session":{"id":"[^"]*","site":"\([a-z0-9._-]*\)".*/\1/p' "$rec")
  sess=$(sed -n 's/.*"session":{"id":"\([^"]*\)".*/\1/p' "$rec")
  [ "$site" = promptstamp ] || printf '%s/%s\n' "$site" "$sess" >> "$work/sessions"
  ck=$(printf '%s/%s/%s' "$site" "$sess" "${dev:-none}" | sha256hex | cut -c1-16)
  echo "$ck ${seq:-0} $h ${prev:-null} $id ${dev:-none}" >> "$work/chain"
done

# One author: every receipt names the same account; every captured record is of one session.
n=$(sort -u "$work/accounts" | wc -l | tr -d ' ')
if [ "$n" -eq 1 ]; then
  ok "account: every receipt names account $(sed -n 1p "$work/accounts")"
elif [ "$n" -gt 1 ]; then
  fail "account: the receipts name $n accounts ($(sort -u "$work/accounts" | tr '\n' ' ')): a bundle is one author's evidence"
fi
n=$(sort -u "$work/sessions" | wc -l | tr -d ' ')
[ "$n" -gt 1 ] && fail "session: records of $n sessions ($(sort -u "$work/sessions" | tr '\n' ' '))"

# 7. Session chain: seq 1, 2, 3... each prev = digest of the step before (per device) ------------
sort -k1,1 -k2,2n "$work/chain" > "$work/chain.sorted"
lastdev=""; lastseq=0; lasth=""; chainbad=0
while read -r ck seq h prev id dev; do
  if [ "$ck" != "$lastdev" ]; then lastdev=$ck; lastseq=0; lasth=null; fi
  if [ "$seq" -eq "$lastseq" ]; then
    fail "chain: two records with seq $seq (device $dev), second is $id"; chainbad=1
  elif [ "$seq" -ne $((lastseq + 1)) ]; then
    fail "chain: gap before record $id: seq $((lastseq + 1)) to $((seq - 1)) missing (device $dev)"; chainbad=1
  elif [ "$prev" != "$lasth" ]; then
    fail "chain: record $id (seq $seq) names prev $prev, the record before it has digest $lasth"; chainbad=1
  fi
  lastseq=$seq; lasth=$h
done < "$work/chain.sorted"
[ $chainbad -eq 0 ] && ok "chain: $(wc -l < "$work/chain" | tr -d ' ') records, seq unbroken and every prev matches"

echo
if [ $fails -gt 0 ]; then
  echo "RESULT: INVALID ($fails failed checks)"
  exit 1
elif [ $untrusted -gt 0 ]; then
  echo "RESULT: VALID BUT NOT TRUSTED: it rests on service keys you did not give with -k or TSA roots you did not give (see NOTE lines)"
  exit 2
fi
echo "RESULT: VALID against the TSA root(s) and service key(s) you gave"
exit 0
