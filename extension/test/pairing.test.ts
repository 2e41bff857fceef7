import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { checkServiceUrl, checkToken } from "../src/core/pairing.ts";

const GOOD = `ps_${"aB3-_".repeat(8)}abc`; // 43 characters after ps_

function error(result: { ok: boolean; error?: string }): string {
  assert.equal(result.ok, false);
  return result.error ?? "";
}

describe("service address", () => {
  it("keeps a full address, dropping a trailing slash", () => {
    const r = checkServiceUrl(" https://stamp.example.org/base/ ");
    assert.deepEqual(r, { ok: true, value: { url: "https://stamp.example.org/base", host: "stamp.example.org", permission: "https://stamp.example.org/*" } });
  });
  it("adds https:// to a bare host, http:// on this computer; the permission names no port", () => {
    assert.deepEqual(checkServiceUrl("stamp.example.org").ok && checkServiceUrl("stamp.example.org"),
      { ok: true, value: { url: "https://stamp.example.org", host: "stamp.example.org", permission: "https://stamp.example.org/*" } });
    const local = checkServiceUrl("127.0.0.1:8080");
    assert.ok(local.ok);
    assert.equal(local.value.url, "http://127.0.0.1:8080");
    assert.equal(local.value.permission, "http://127.0.0.1/*");
    assert.equal(local.value.host, "127.0.0.1:8080");
    const named = checkServiceUrl("localhost:8080");
    assert.ok(named.ok);
    assert.equal(named.value.url, "http://localhost:8080");
  });
  it("says what is wrong with each bad address", () => {
    assert.match(error(checkServiceUrl("   ")), /Enter your PromptStamp service's address/);
    assert.match(error(checkServiceUrl("ftp://stamp.example.org")), /must start with https:\/\/ \(found ftp:\/\/\)/);
    assert.match(error(checkServiceUrl("stamp example")), /cannot contain spaces/);
    assert.match(error(checkServiceUrl("stamp")), /names no complete host/);
    assert.match(error(checkServiceUrl("https://")), /not a web address/);
    assert.match(error(checkServiceUrl("https://me:pw@stamp.example.org")), /user name and password/);
    assert.match(error(checkServiceUrl("https://stamp.example.org/?x=1")), /remove the part from \? or #/);
  });
});

describe("token", () => {
  it("accepts ps_ and 43 base64url characters, trimming what a copy adds around it", () => {
    assert.equal(GOOD.length, 46);
    assert.deepEqual(checkToken(`  ${GOOD}\n`), { ok: true, value: GOOD });
  });
  it("says what is wrong with each bad token", () => {
    assert.match(error(checkToken("")), /Paste your token/);
    assert.match(error(checkToken(`${GOOD.slice(0, 20)} ${GOOD.slice(20)}`)), /space or line break/);
    assert.match(error(checkToken("0123456789abcdef01234567")), /starts with ps_\. This one starts with "012"/);
    assert.match(error(checkToken(GOOD.slice(0, 30))), /too short.*this one has 27/);
    assert.match(error(checkToken(`${GOOD}xy`)), /too long.*this one has 45/);
    assert.match(error(checkToken(`ps_${"a".repeat(42)}=`)), /characters a token never has/);
  });
});
