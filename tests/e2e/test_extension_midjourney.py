"""Midjourney end to end: the built extension captures imagine, vary and upscale on the Midjourney
stand-in (sites_midjourney.py), which speaks the live submit-jobs / job-list API; a real service
stamps the steps, and the grid and upscaled images arrive as blobs with their exact bytes."""

from __future__ import annotations

import hashlib
from typing import Any

import requests

from .conftest import Browser, Stamp
from .sites_midjourney import MIDJOURNEY_CDN_HOST, MIDJOURNEY_USER, grid_png
from .test_capture_session import assert_unbroken_chain, counts, pair, wait_for

SESSION = "imagine"



def _steps(records: list[dict[str, Any]]) -> list[str]:
    # Parameters steps come and go with the chosen settings; they are checked separately below.
    return [r["record"]["type"] for r in records if r["record"]["type"] != "parameters"]


def _blob(stamp: Stamp, digest: str) -> bytes:
    res = requests.get(f"{stamp.url}/v1/blobs/{digest}", headers={"Authorization": f"Bearer {stamp.token}"}, timeout=10)
    res.raise_for_status()
    return res.content


def test_midjourney_imagine_vary_and_upscale_arrive_linked_to_their_parent_jobs_with_image_bytes(
        browser: Browser, stamp: Stamp) -> None:
    device = pair(browser, stamp)
    page = browser.context.new_page()
    page.goto("https://www.midjourney.com/imagine")
    tab = browser.tab_id("https://www.midjourney.com/*")
    popup = browser.ext_page(f"popup.html?tab={tab}")

    def outputs() -> list[dict[str, Any]]:
        return [r["record"] for r in stamp.session_records("midjourney", SESSION) if r["record"]["type"] == "output"]

    def act(action: str, expected: list[str], count: int) -> str:
        job: str = page.evaluate(action)
        def done() -> bool:
            steps = [s for s in _steps(stamp.session_records("midjourney", SESSION)) if s != "identity"]
            return steps == expected and len(outputs()[-1].get("attachments", [])) == count

        wait_for(f"{expected} after {action}", done, timeout=60)
        return job

    first = act("imagine('a paper crane on a windowsill, morning light --ar 3:2 --v 7 --s 250')",
                ["prompt", "output"], 4)
    varied = act(f"vary('{first}', 2)", ["prompt", "output", "regenerate", "output"], 4)
    upscaled = act(f"upscale('{first}', 3)", ["prompt", "output", "regenerate", "output", "selection", "output"], 1)
    wait_for("all uploaded", lambda: counts(popup)["queued"] == 0)

    records = stamp.session_records("midjourney", SESSION)
    assert_unbroken_chain(records)
    for item in records:
        assert item["record"]["client"]["adapter"] == "midjourney@2"
        assert item["receipt"]["device_key"] == device, "the server verified the device signature"

    identities = [r["record"] for r in records if r["record"]["type"] == "identity"]
    assert [i["params"] for i in identities] == [
        {"site_user_id": MIDJOURNEY_USER, "source": "POST /api/submit-jobs channelId"}], "the account, once"

    steps = [r["record"] for r in records if r["record"]["type"] not in ("parameters", "identity")]
    prompt, grid, vary, varied_grid, pick, upscale = steps
    assert prompt["text"] == "a paper crane on a windowsill, morning light"
    assert prompt["refs"]["job_id"] == first
    settings = [r["record"]["params"] for r in records if r["record"]["type"] == "parameters"]
    assert settings[0] == {"aspect_ratio": "3:2", "version": 7, "stylize": 250, "mode": "fast", "private": False}
    assert grid["params"]["model"] == "v7" and grid["params"]["model_source"] == "job_type"

    # Vary and upscale are children of the first job, naming the grid image they act on.
    assert vary["refs"]["job_id"] == varied and vary["refs"]["parent_job_id"] == first
    assert vary["refs"]["image_index"] == "2" and vary["refs"]["action"] == "vary"
    assert vary["refs"]["parent_message_id"] == grid["refs"]["message_id"]
    assert pick["refs"]["job_id"] == upscaled and pick["refs"]["parent_job_id"] == first
    assert pick["refs"]["image_index"] == "3" and pick["refs"]["action"] == "upscale"
    assert varied_grid["refs"]["parent_job_id"] == first and upscale["refs"]["parent_job_id"] == first

    # Every grid image and the upscale arrive as the original bytes, stored as blobs.
    for output, job, count in ((grid, first, 4), (varied_grid, varied, 4), (upscale, upscaled, 1)):
        attachments = output["attachments"]
        assert len(attachments) == count
        for i, attachment in enumerate(attachments):
            data = grid_png(job, i)
            assert attachment["source_url"] == f"https://{MIDJOURNEY_CDN_HOST}/{job}/0_{i}.png"
            assert attachment["digest"] == "sha256:" + hashlib.sha256(data).hexdigest()
            assert attachment["media_type"] == "image/png"
            assert _blob(stamp, attachment["digest"]) == data
