"""Nothing lost across a browser restart, nothing doubled by resending: the extension's IndexedDB
outbox is the only copy of steps captured while the server is down, and record ids are idempotency
keys on the server."""

from __future__ import annotations

from typing import Any

import requests

from .conftest import Browser, Relaunchable, Stamp
from .test_capture_session import assert_unbroken_chain, counts, pair, recorded, session_records, wait_for

# Runs in the extension's service worker: the outbox as IndexedDB holds it.
READ_OUTBOX = """async () => {
  const db = await new Promise((ok, fail) => {
    const r = indexedDB.open("promptstamp"); r.onsuccess = () => ok(r.result); r.onerror = () => fail(r.error);
  });
  const items = await new Promise((ok, fail) => {
    const r = db.transaction("outbox").objectStore("outbox").getAll();
    r.onsuccess = () => ok(r.result); r.onerror = () => fail(r.error);
  });
  db.close();
  return items.map((i) => ({id: i.id, state: i.state, attempts: i.attempts, receipt: i.receipt ?? null}));
}"""

# As if the worker died after the server stored the records but before it marked them: everything
# goes back to "queued" and every blob to "not uploaded", so all of it is sent again.
FORGET_UPLOADS = """async () => {
  const db = await new Promise((ok, fail) => {
    const r = indexedDB.open("promptstamp"); r.onsuccess = () => ok(r.result); r.onerror = () => fail(r.error);
  });
  const tx = db.transaction(["outbox", "blobs"], "readwrite");
  const all = (store) => new Promise((ok) => {
    const r = tx.objectStore(store).getAll(); r.onsuccess = () => ok(r.result);
  });
  const items = await all("outbox");
  for (const i of items) tx.objectStore("outbox").put({...i, state: "queued", receipt: undefined});
  const blobs = await all("blobs");
  for (const b of blobs) tx.objectStore("blobs").put({...b, uploaded: false});
  await new Promise((ok, fail) => { tx.oncomplete = ok; tx.onerror = () => fail(tx.error); });
  db.close();
  return [items.length, blobs.length];
}"""


def open_conversation(browser: Browser, url: str) -> tuple[Any, Any]:
    page = browser.context.new_page()
    page.goto(url)
    tab = browser.tab_id("https://chatgpt.com/*")
    return page, browser.ext_page(f"popup.html?tab={tab}")


def test_steps_queued_while_the_server_is_down_survive_a_browser_restart(
        relaunchable: Relaunchable, stamp: Stamp) -> None:
    browser = relaunchable.start()
    pair(browser, stamp)
    page, popup = open_conversation(browser, "https://chatgpt.com/")
    page.evaluate("send('A heron in the reeds, ink wash')")
    # The site account (GET /backend-api/me), parameters, prompt, output.
    wait_for("first turn stamped", lambda: recorded(popup) == 4 and counts(popup)["queued"] == 0)
    session_url = page.url
    session_id = session_url.rsplit("/", 1)[1]

    stamp.stop()
    page.evaluate("send('Add falling snow')")
    page.evaluate("regenerate()")
    wait_for("steps queued while the server is down", lambda: counts(popup)["queued"] == 4)
    before = {i["id"]: i["state"] for i in browser.worker.evaluate(READ_OUTBOX)}
    assert sorted(before.values()) == ["queued"] * 4 + ["stamped"] * 4

    browser = relaunchable.restart()
    # The same conversation again: the page re-fetches its tree, and the device remembers it.
    page, popup = open_conversation(browser, session_url)
    page.wait_for_function("document.readyState === 'complete'")
    wait_for("the queue read back from the profile", lambda: counts(popup)["queued"] == 4)
    assert {i["id"]: i["state"] for i in browser.worker.evaluate(READ_OUTBOX)} == before
    assert recorded(popup) == 8, "reopening the conversation records nothing twice"

    stamp.start()
    # No click: the worker's own retry (backoff) delivers the queue once the server answers.
    wait_for("queue drained after the restart", lambda: counts(popup)["queued"] == 0, timeout=60)
    records = session_records(stamp, session_id)
    assert [r["record"]["type"] for r in records] == ["identity", "parameters", "prompt", "output", "prompt",
                                                      "output", "regenerate", "output"]
    assert sorted(r["record"]["id"] for r in records) == sorted(before)
    assert_unbroken_chain(records)
    assert all(r["receipt"]["device_key"] == records[0]["record"]["client"]["device"] for r in records)
    assert recorded(popup) == 8


def test_resending_every_record_and_blob_is_harmless(browser: Browser, stamp: Stamp) -> None:
    pair(browser, stamp)
    page, popup = open_conversation(browser, "https://chatgpt.com/")
    page.evaluate("send('Sketch a paper boat')")
    wait_for("first turn", lambda: recorded(popup) == 4)  # the site account, parameters, prompt, output
    page.evaluate("send('Now an image of it on a pond')")  # an image output (from a later tree read): a blob too
    wait_for("all stamped", lambda: recorded(popup) == 6 and counts(popup)["queued"] == 0)
    session_id = page.url.rsplit("/", 1)[1]
    first = {i["id"]: i for i in browser.worker.evaluate(READ_OUTBOX)}
    headers = {"Authorization": f"Bearer {stamp.token}"}

    def stored_receipts() -> dict[str, bytes]:
        return {rid: requests.get(f"{stamp.url}/v1/records/{rid}/receipt", headers=headers, timeout=10).content
                for rid in first}

    receipts = stored_receipts()

    assert browser.worker.evaluate(FORGET_UPLOADS) == [6, 1]
    wait_for("the popup sees the re-queued steps", lambda: counts(popup)["queued"] == 6)
    popup.click("[data-testid=upload-now]")
    wait_for("everything sent again", lambda: counts(popup)["queued"] == 0)

    again = {i["id"]: i for i in browser.worker.evaluate(READ_OUTBOX)}
    assert set(again) == set(first)
    for rid, item in again.items():
        assert item["state"] in ("stamped", "pending")
        assert item["receipt"] == first[rid]["receipt"], "a resent record answers with its original receipt"
        assert item["attempts"] == first[rid]["attempts"] + 1
    assert stored_receipts() == receipts, "receipts on the server are unchanged, byte for byte"
    records = session_records(stamp, session_id)
    assert len(records) == 6 and len({r["record"]["id"] for r in records}) == 6
    assert_unbroken_chain(records)
    assert "rejected" not in (popup.text_content("[data-testid=last-error]") or "")
