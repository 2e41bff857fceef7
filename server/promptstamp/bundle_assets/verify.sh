#!/bin/sh
# verify.sh - check a PromptStamp evidence bundle with standard tools only:
#   sh, unzip, sha256sum, openssl (1.1.1 or 3.x), and xxd or od; plus awk, sed, grep, sort, tr, cut, dd,
#   split and xargs (xxd makes large bundles fast: the proofs are hashed a level at a time).
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
# The help is the comment block from "# Usage:" to the line before "set -u", without its "# ".
help_text() { sed -n '/^# Usage:/,/^set -u/{/^set -u/d;s/^# \{0,1\}//;p;}' "$0" 2>/dev/null; }
usage() { help_text >&2 || echo "usage: sh verify.sh [-k KEY.pem]... BUNDLE TSA_ROOT.pem" >&2; exit 1; }

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
    -h|--help) help_text; exit 0 ;;
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
# The built-in development TSA stamps this policy into every token: anyone can make its root, so such a
# token is untrusted whatever root it chains to (promptstamp verify and the verify page say the same).
DEV_TSA_POLICY=2.25.313571821748590964836994007601738163612
is_dev() { [ "$(openssl ts -reply -token_in -in "$1" -text 2>/dev/null | sed -n 's/^Policy OID: //p')" = "$DEV_TSA_POLICY" ]; }
devwhy() { is_dev "$1" && echo "; it carries the development TSA policy $DEV_TSA_POLICY: untrusted whatever root it chains to"; }
tscheck() {
  t=$1
  anchors=$work/roots.pem partial=""
  if tsverify "$@"; then
    if is_dev "$t"; then echo untrusted; else echo trusted; fi
    return
  fi
  cp "$work/ts.out" "$work/ts.trusted.out"
  { cat "$work/untrusted.pem"; openssl pkcs7 -inform DER -in "$t" -print_certs 2>/dev/null; } > "$work/own.pem"
  anchors=$work/own.pem partial=-partial_chain
  if [ -s "$work/own.pem" ] && tsverify "$@"; then echo untrusted; return; fi
  cp "$work/ts.trusted.out" "$work/ts.out"
  echo bad
}
untrusted_tsa() {  # $1 what, $2 the token
  untrusted=$((untrusted + 1))
  if is_dev "$2"; then
    note "$1: its signature holds$(devwhy "$2")"
  else
    note "$1: its signature holds but its chain ends at a TSA root you did not give (only self-consistent)"
  fi
}
case $( [ -f SHA256SUMS.tst ] && tscheck SHA256SUMS.tst -data SHA256SUMS ) in
  trusted) ok "SHA256SUMS.tst: time-stamp over SHA256SUMS verifies to your TSA root, time $(gentime SHA256SUMS.tst)" ;;
  untrusted) untrusted_tsa "SHA256SUMS.tst: time-stamp over SHA256SUMS, time $(gentime SHA256SUMS.tst)" SHA256SUMS.tst ;;
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
  # One sha256sum over every listed file (not two openssl processes per file), then awk compares
  # each digest, base64 as XML-DSig writes it, with the manifest's.
  tab=$(printf '\t')
  awk -F "$tab" '$1 ~ /^[A-Za-z0-9_][A-Za-z0-9_.\/-]*$/ && $1 !~ /\.\./ { print $1 }' "$work/manifest" |
    while read -r name; do [ -f "$name" ] && printf '%s\n' "$name"; done > "$work/mfiles"
  xargs sha256sum < "$work/mfiles" > "$work/msums" 2>/dev/null
  awk -F "$tab" -v m="$m" -v sums="$work/msums" -v badfile="$work/mbad" '
    function hexb64(h,   B, i, n, v, out) {
      B = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"; out = ""
      for (i = 1; i <= length(h); i += 6) {
        n = (length(h) - i + 1) / 2; if (n > 3) n = 3
        v = 0; for (k = 0; k < 3; k++) v = v * 256 + (k < n ? (index("0123456789abcdef", substr(h, i + 2 * k, 1)) - 1) * 16 + index("0123456789abcdef", substr(h, i + 2 * k + 1, 1)) - 1 : 0)
        out = out substr(B, int(v / 262144) % 64 + 1, 1) substr(B, int(v / 4096) % 64 + 1, 1)
        out = out (n > 1 ? substr(B, int(v / 64) % 64 + 1, 1) : "=") (n > 2 ? substr(B, v % 64 + 1, 1) : "=")
      }
      return out
    }
    BEGIN { while ((getline l < sums) > 0) { split(l, f, " "); sub(/^\*/, "", f[2]); hex[f[2]] = f[1] } }
    { name = $1
      if (name ~ /^\// || name ~ /\.\./) { bad++; next }
      if (!(name in hex) || hexb64(hex[name]) != $2) { bad++; print "FAIL  " m ": digest of " name " does not match" } }
    END { print bad + 0 > badfile }' "$work/manifest" > "$work/mreport"
  cat "$work/mreport"
  fails=$((fails + $(grep -c '^FAIL' "$work/mreport")))
  read -r bad < "$work/mbad"
  [ "$bad" -eq 0 ] && ok "$m: every listed digest matches its file"
  case $( [ -f META-INF/timestamp001.tst ] && tscheck META-INF/timestamp001.tst -data "$m" ) in
    trusted) ok "META-INF/timestamp001.tst: time-stamp over the manifest verifies to your TSA root, time $(gentime META-INF/timestamp001.tst)" ;;
    untrusted) untrusted_tsa "META-INF/timestamp001.tst: time-stamp over the manifest, time $(gentime META-INF/timestamp001.tst)" META-INF/timestamp001.tst ;;
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
        if is_dev "$t"; then
          note "batch $bid: token $(basename "$t") over root $root holds, time $(gentime "$t")$(devwhy "$t")"
        else
          note "batch $bid: token $(basename "$t") over root $root holds, but to a TSA root you did not give, time $(gentime "$t")"
        fi ;;
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
  [ -f "${b}evidence.ers" ] &&
    note "batch $bid: archive time-stamps (RFC 4998, evidence.ers) are not checked here; 'promptstamp verify --at TIME' checks that they carry the batch past its TSA certificates' expiry"
done

# 6. Records: digest, attachments, receipt signature, Merkle inclusion proof ---------------------
# The same checks as one record at a time, run in passes over all records so that a bundle of 10,000
# records takes seconds, not hours: one awk pass reads every field, one sha256sum hashes every file,
# the inclusion proofs are walked level by level (RFC 9162 2.1.3.2) with one sha256sum per level for
# all records, and only the Ed25519 checks run openssl once per signature (four at a time).
r6=$work/r6
mkdir "$r6" "$r6/signed" || exit 1
: > "$work/chain"
: > "$work/accounts"
: > "$work/sessions"
: > "$r6/records"
for rec in records/*.json; do [ -f "$rec" ] && printf '%s\n' "$rec" >> "$r6/records"; done
# Names are ULIDs in a bundle; anything else could not be passed to xargs safely, so it is refused.
grep -v '^records/[0-9A-Za-z_-]*\.json$' "$r6/records" | while read -r odd; do
  printf 'FAIL  record file %s: expected records/<ULID>.json\n' "$odd"; done > "$r6/odd"
grep '^records/[0-9A-Za-z_-]*\.json$' "$r6/records" > "$r6/names"
xargs sha256sum < "$r6/names" > "$r6/hashes" 2>/dev/null
# split(1) names its pieces aa..., ab...: awk names them the same way to find the n-th.
piece_names='function piece(prefix, i,   s, k) { s = ""; for (k = 0; k < 6; k++) { s = substr("abcdefghijklmnopqrstuvwxyz", i % 26 + 1, 1) s; i = int(i / 26) }; return prefix s }'
hash_pieces() {  # $1 hex stream file, $2 piece size, $3 prefix, $4 count -> sha256 hex per piece, in order
  [ "$4" -gt 0 ] || { : > "$3.sums"; return; }
  hex2bin < "$1" | split -a 6 -b "$2" - "$3"
  awk -v p="$3" -v n="$4" "$piece_names"' BEGIN { for (i = 0; i < n; i++) print piece(p, i) }' \
    | xargs sha256sum | cut -c1-64 > "$3.sums"
}
awk -v work="$r6" "$piece_names"'
function hex16(   s, i) { s = ""; for (i = 0; i < 16; i++) s = s "[0-9a-f]"; return s }
function last(s, pre, re, post,   m) {  # sed -n "s/.*PRE\(RE\)POST.*/\1/p": the value of the last match
  if (!match(s, ".*" pre re post)) return ""
  m = substr(s, RSTART, RLENGTH)
  if (post != "") { match(m, post "$"); m = substr(m, 1, RSTART - 1) }
  match(m, pre re "$"); m = substr(m, RSTART, RLENGTH)
  match(m, "^" pre); return substr(m, RLENGTH + 1)
}
function readfile(f,   line, s, r) {
  s = ""; ok_read = 0
  while ((r = (getline line < f)) > 0) { s = (ok_read ? s "\n" : "") line; ok_read = 1 }
  close(f); if (r < 0) return "\001missing"
  return s
}
function exists(f,   r, line) { r = (getline line < f); close(f); return r >= 0 }
function b64hex(s,   i, c, v, bits, nbits, out, byte) {
  out = ""; bits = 0; nbits = 0
  if (s == "" || length(s) % 4 != 0) return ""
  for (i = 1; i <= length(s); i++) {
    c = substr(s, i, 1)
    if (c == "=") { if (i < length(s) - 1) return ""; continue }
    v = index(B64, c) - 1; if (v < 0) return ""
    bits = bits * 64 + v; nbits += 6
    if (nbits >= 8) { nbits -= 8; byte = int(bits / 2 ^ nbits); bits -= byte * 2 ^ nbits
      out = out substr(HEX, int(byte / 16) + 1, 1) substr(HEX, byte % 16 + 1, 1) }
  }
  return out
}
function esc(s) { gsub(/%/, "%25", s); gsub(/[ \t\n]/, "%20", s); return s }
BEGIN {
  B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"; HEX = "0123456789abcdef"
  H16 = hex16(); H64 = H16 H16 H16 H16; SEP = "\034"
  while ((getline line < (work "/hashes")) > 0) { split(line, f, " "); sub(/^\*/, "", f[2]); digest[f[2]] = f[1] }
  nsig = 0; ndsig = 0; nleaf = 0
}
{
  rec = $0; id = rec; sub(/^records\//, "", id); sub(/\.json$/, "", id); n = NR
  rc = "receipts/" id ".json"; h = digest[rec]
  r = readfile(rc)
  if (r == "\001missing") { print n SEP id SEP "noreceipt" > (work "/info"); next }
  body = readfile(rec)
  named = index(r, "\"record\":\"sha256:" h "\",\"record_id\":\"" id "\",\"sig\":") > 0
  atts = ""; cnt = split(body, parts, "{")
  for (i = 1; i <= cnt; i++)
    if (match(parts[i], "^\"bytes\":[0-9]*,\"digest\":\"sha256:" H64 "\"")) {
      a = substr(parts[i], RSTART, RLENGTH); a = substr(a, length(a) - 64, 64); atts = atts " " a
      if (exists("blobs/" a) && !(a in blob)) { blob[a] = 1; print "blobs/" a > (work "/blobs") }
    }
  kid = last(r, ",\"key\":\"", H16, "\",")
  # sed deletes the first sig member of each line, tr then joins the lines
  signed = ""; cntl = split(r, lines, "\n")
  for (i = 1; i <= cntl; i++) { l = lines[i]; sub(/,"sig":"[A-Za-z0-9+\/=]*"/, "", l); signed = signed l }
  sig = b64hex(last(r, ",\"sig\":\"", "[A-Za-z0-9+/=]*", "\""))
  sigjob = "-"
  if (kid != "" && exists("keys/" kid ".pem") && length(sig) == 128) {
    printf "%s", signed > (work "/signed/" n); close(work "/signed/" n)
    printf "%s", sig > (work "/sig.hex")
    print n " keys/" kid ".pem " work "/signed/" n " " piece(work "/sig.", nsig) > (work "/jobs"); nsig++
  }
  rest = SEP h SEP named SEP atts SEP kid
  batch = last(r, "\"batch\":\\{\"id\":\"", "[0-9A-Z]*\",\"index\":[0-9]*,\"proof\":\\[[0-9a-f\",]*\\],\"root\":\"sha256:" H64 "\",\"size\":[0-9]*", "\\}")
  if (batch == "") { print n SEP id SEP "nobatch" rest > (work "/info"); next }
  bid = batch; sub(/".*/, "", bid)
  idx = batch; sub(/.*"index":/, "", idx); sub(/,.*/, "", idx)
  size = batch; sub(/.*"size":/, "", size)
  root = batch; sub(/.*"root":"sha256:/, "", root); sub(/".*/, "", root)
  proof = batch; sub(/.*"proof":\[/, "", proof); sub(/\].*/, "", proof); gsub(/[",]/, " ", proof)
  seq = last(body, ",\"seq\":", "[0-9]*", ",\"session\":\\{"); if (seq == "") seq = 0
  prev = last(body, ",\"prev\":\"sha256:", H64, "\",\""); if (prev == "") prev = "null"
  dev = last(body, "\"device\":\"", H16, "\"\\}")
  dkid = last(r, "\"device_key\":\"", H16, "\"")
  dsig = last(r, "\"device_sig\":\"", "[A-Za-z0-9+/=]*", "\"")
  if (dkid != "" && dsig != "" && (dev == "" || dev == dkid)) {
    dhex = b64hex(dsig)
    if (exists("keys/devices/" dkid ".pem") && length(dhex) == 128) {
      printf "%s", dhex > (work "/dsig.hex")
      print "d" n " keys/devices/" dkid ".pem " rec " " piece(work "/dsig.", ndsig) > (work "/jobs"); ndsig++
    }
  }
  account = ""; if (match(r, "^\\{\"account\":\"[^\"]*\",")) { account = substr(r, 13, RLENGTH - 14) }
  site = last(body, "\"session\":\\{\"id\":\"[^\"]*\",\"site\":\"", "[a-z0-9._-]*", "\"")
  sess = last(body, "\"session\":\\{\"id\":\"", "[^\"]*", "\"")
  print "00" h > (work "/leaf.hex")
  print n " " idx " " (size - 1) " " (nleaf + 1) " " proof > (work "/walk0")
  nleaf++
  print n SEP id SEP "ok" rest SEP bid SEP root SEP idx SEP size SEP seq SEP prev SEP dev SEP dkid SEP (dsig == "" ? "" : "y") SEP account \
    SEP site SEP sess SEP esc(site) "/" esc(sess) "/" (dev == "" ? "none" : dev) > (work "/info")
}
END { print nsig " " ndsig " " nleaf > (work "/counts") }' "$r6/names"
touch "$r6/info" "$r6/jobs" "$r6/blobs" "$r6/walk0" "$r6/leaf.hex" "$r6/sig.hex" "$r6/dsig.hex"
read -r nsig ndsig nleaf < "$r6/counts"
tr -d '\n' < "$r6/leaf.hex" > "$r6/leaf.bin.hex"
hash_pieces "$r6/leaf.bin.hex" 33 "$r6/leaf." "$nleaf"
[ "$nsig" -gt 0 ] && hex2bin < "$r6/sig.hex" | split -a 6 -b 64 - "$r6/sig."
[ "$ndsig" -gt 0 ] && hex2bin < "$r6/dsig.hex" | split -a 6 -b 64 - "$r6/dsig."
xargs sha256sum < "$r6/blobs" > "$r6/blobsums" 2>/dev/null
# The walk: state lines "n fn sn k node..." where k is the line of the level's .sums holding the
# current hash. Records of one batch share their upper nodes: each distinct node is hashed once.
cp "$r6/leaf..sums" "$r6/cur"
level=0
: > "$r6/walked"
while [ -s "$r6/walk$level" ]; do
  next=$((level + 1))
  awk -v work="$r6" -v out="$r6/walk$next" -v curfile="$r6/cur" '
    FILENAME == curfile { cur[FNR] = $1; next }
    { n = $1; fn = $2; sn = $3; r = cur[$4]
      if (NF == 4) { print n, (sn == 0 ? r : "tooshort") >> (work "/walked"); next }
      if (sn == 0) { print n, "toolong" >> (work "/walked"); next }
      p = $5
      if (fn % 2 == 1 || fn == sn) {
        msg = "01" p r
        if (fn % 2 == 0) while (fn % 2 == 0 && fn != 0) { fn = int(fn / 2); sn = int(sn / 2) }
      } else msg = "01" r p
      if (!(msg in seen)) { seen[msg] = ++m; printf "%s", msg > (work "/msg.hex") }
      fn = int(fn / 2); sn = int(sn / 2); line = n " " fn " " sn " " seen[msg]
      for (i = 6; i <= NF; i++) line = line " " $i
      print line > out }
    END { print m + 0 > (work "/m") }' "$r6/cur" "$r6/walk$level"
  read -r m < "$r6/m"
  touch "$r6/walk$next" "$r6/msg.hex"
  hash_pieces "$r6/msg.hex" 65 "$r6/n$next." "$m"
  cp "$r6/n$next..sums" "$r6/cur"
  rm -f "$r6/msg.hex" "$r6/n$next".*
  level=$next
done
# Signatures: openssl once per signature, in four shards at once.
for k in 0 1 2 3; do
  awk -v k=$k 'NR % 4 == k' "$r6/jobs" | while read -r n key in sig; do
    if openssl pkeyutl -verify -pubin -inkey "$key" -rawin -in "$in" -sigfile "$sig" >/dev/null 2>&1; then
      echo "$n ok"; else echo "$n bad"; fi
  done > "$r6/sigs.$k" &
done
wait
cat "$r6"/sigs.? > "$r6/sigs"
awk -v work="$r6" -v chain="$work/chain" -v accounts="$work/accounts" -v sessions="$work/sessions" \
    -v stamped="$work/stamped" -v Q="'" '
BEGIN {
  FS = "\034"
  while ((getline l < (work "/walked")) > 0) { split(l, f, " "); walked[f[1]] = f[2] }
  while ((getline l < (work "/sigs")) > 0) { split(l, f, " "); sig[f[1]] = f[2] }
  while ((getline l < (work "/blobsums")) > 0) { split(l, f, " "); sub(/^\*?blobs\//, "", f[2]); blobsum[f[2]] = f[1] }
  while ((getline l < stamped) > 0) stampedl[l] = 1
}
{ n = $1; id = $2
  if ($3 == "noreceipt") { print "FAIL  record " id ": receipts/" id ".json missing"; next }
  h = $4; kid = $7
  if ($5) print "OK    record " id ": digest sha256:" h " is the one its receipt names"
  else print "FAIL  record " id ": digest sha256:" h " is not the one receipts/" id ".json names"
  c = split($6, atts, " ")
  for (i = 1; i <= c; i++) { a = atts[i]
    if (blobsum[a] == a) print "OK    record " id ": attachment blobs/" a " matches its digest"
    else print "FAIL  record " id ": attachment sha256:" a " missing or altered (blobs/" a ")" }
  if (sig[n] == "ok") print "OK    record " id ": receipt signature verifies with service key " kid
  else print "FAIL  record " id ": receipt signature does not verify (key " Q (kid == "" ? "none" : kid) Q ")"
  if ($3 == "nobatch") { print "FAIL  record " id ": receipt has no readable batch member"; next }
  bid = $8; root = $9; idx = $10; size = $11; seq = $12; prev = $13; dev = $14; dkid = $15; dsig = $16
  got = walked[n]
  if (got == root) print "OK    record " id ": Merkle inclusion proof (leaf " idx " of " size ") leads to batch root " root
  else print "FAIL  record " id ": Merkle inclusion proof leads to " got ", the receipt names root " root
  if ((bid " " root) in stampedl) print "OK    record " id ": time-stamped through batch " bid
  else print "FAIL  record " id ": batch " bid " with root " root " has no token that verifies (pending or altered)"
  if (dkid == "") {
    if (dev != "") print "FAIL  record " id ": names device " dev ", its receipt names no device key"
    else print "NOTE  record " id ": no device signature (rests on the service" Q "s receipt alone)"
  } else if (dev != "" && dev != dkid) print "FAIL  record " id ": client.device " dev " differs from the receipt" Q "s device key " dkid
  else if (dsig == "") print "NOTE  record " id ": device " dkid " signed it on arrival, but the receipt predates keeping the signature"
  else if (sig["d" n] == "ok") print "OK    record " id ": device signature verifies with the creator" Q "s device key " dkid
  else print "FAIL  record " id ": device signature does not verify with keys/devices/" dkid ".pem"
  print $17 > accounts
  if ($18 != "promptstamp") print $18 "/" $19 > sessions
  print $20 " " seq " " h " " prev " " id " " (dev == "" ? "none" : dev) > chain
}' "$r6/info" > "$r6/report"
cat "$r6/odd" "$r6/report"
fails=$((fails + $(cat "$r6/odd" "$r6/report" | grep -c '^FAIL')))

# One author: every receipt names the same account; every captured record is of one session.
n=$(sort -u "$work/accounts" | wc -l | tr -d ' ')
if [ "$n" -eq 1 ]; then
  ok "account: every receipt names account $(sed -n 1p "$work/accounts")"
elif [ "$n" -gt 1 ]; then
  fail "account: the receipts name $n accounts ($(sort -u "$work/accounts" | tr '\n' ' ')): a bundle is one author's evidence"
fi
n=$(sort -u "$work/sessions" | wc -l | tr -d ' ')
[ "$n" -gt 1 ] && fail "session: records of $n sessions ($(sort -u "$work/sessions" | tr '\n' ' '))"
# Device keys the receipts name (field 15 of the per-record lines; see the awk pass above).
awk -F "$(printf '\034')" '$3 == "ok" && $15 != "" { print $15 }' "$r6/info" > "$work/devices"
acct=$(sed -n 1p "$work/accounts")

# Who: the account record names the account; each device key that signed a record has a pairing record
# whose challenge (naming the account) that key signed: proof of possession.
for rec in $(grep -l '"type":"account"' records/*.json 2>/dev/null); do
  if grep -q "\"params\":{\"account\":\"$acct\"," "$rec"; then
    ok "account record $(basename "$rec" .json): states the display name of account $acct"
  else
    fail "account record $(basename "$rec" .json): does not name account $acct"
  fi
done
for kid in $(sort -u "$work/devices"); do
  pr=$(grep -l '"type":"pairing"' records/*.json 2>/dev/null | xargs grep -l "\"device_key\":\"$kid\"" 2>/dev/null | sed -n 1p)
  if [ -z "$pr" ]; then
    fail "device $kid: no pairing record binds it to account $acct"
    continue
  fi
  ch=$(sed -n 's/.*"challenge":"\([^"\\]*\)".*/\1/p' "$pr")
  chsig=$(sed -n 's/.*"challenge_sig":"\([A-Za-z0-9+/=]*\)".*/\1/p' "$pr")
  pub=$(sed -n 's/.*"public_key":"\([A-Za-z0-9+/=]*\)".*/\1/p' "$pr")
  pemkey=$(grep -v -- '-----' "keys/devices/$kid.pem" 2>/dev/null | tr -d ' \r\n' | openssl base64 -d -A 2>/dev/null |
    dd bs=1 skip=12 2>/dev/null | openssl base64 -A)
  printf '%s' "$ch" > "$work/challenge"
  printf '%s' "$chsig" | openssl base64 -d -A > "$work/chsig" 2>/dev/null
  case $ch in
    "promptstamp-pairing v1 account $acct nonce "*) ;;
    *) fail "device $kid: its pairing challenge does not name account $acct"; continue ;;
  esac
  if [ "$pub" = "$pemkey" ] && openssl pkeyutl -verify -pubin -inkey "keys/devices/$kid.pem" -rawin \
       -in "$work/challenge" -sigfile "$work/chsig" >/dev/null 2>&1; then
    ok "device $kid: pairing record $(basename "$pr" .json): the key signed the challenge naming account $acct"
  else
    fail "device $kid: pairing record $(basename "$pr" .json): the challenge signature does not verify with the paired key"
  fi
done

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

note "report.html, report.zh.html, report.pdf, README.txt: derived text, not checked here (promptstamp verify re-creates them); the lines above are what the evidence proves"
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
