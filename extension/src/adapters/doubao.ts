/**
 * Doubao: POST /im/chain/single answers `downlink_body.pull_singe_chain_downlink_body.messages[]`
 * (`user_type` 1 = the user, `content_block[]` with `block_type` 10000 text and 2074 image creations
 * whose `image.image_ori_raw.url` is the original and `gen_params.prompt` the image prompt)
 * (capture-sites.md §1, §2).
 */
import type { ImageRef } from "../core/record.ts";
import type { Exchange, Msg, Observation, SiteAdapter } from "./types.ts";
import { Drift, arr, guarded, isObj, isoTime, need, num, parseJson, probeTurns, str, type Obj } from "./util.ts";
import { chainInOrder } from "./simple.ts";

const CHAIN = /^https:\/\/www\.doubao\.com\/im\/chain\/single(?:\?|$)/;

function blockContent(b: Obj): Obj {
  if (isObj(b.content)) return b.content;
  const parsed = parseJson(str(b.content));
  return isObj(parsed) ? parsed : {};
}

function parseChain(ex: Exchange): Observation[] {
  const body = parseJson(ex.responseText);
  const down = isObj(body) && isObj(body.downlink_body) ? body.downlink_body : undefined;
  const chain = down && isObj(down.pull_singe_chain_downlink_body) ? down.pull_singe_chain_downlink_body : undefined;
  const list = need(chain ? arr(chain.messages) : undefined, "downlink_body.pull_singe_chain_downlink_body.messages");
  let sessionId: string | undefined;
  const messages: Msg[] = [];
  const sorted = [...list].sort((a, b) => (num(isObj(a) ? a.index_in_conv : 0) ?? 0) - (num(isObj(b) ? b.index_in_conv : 0) ?? 0));
  for (const [i, m] of sorted.entries()) {
    if (!isObj(m)) throw new Drift(`messages[${i}] is not an object`);
    const id = need(str(m.message_id), `messages[${i}].message_id`);
    sessionId ??= str(m.conversation_id);
    const user = m.user_type === 1;
    const texts: string[] = [];
    const images: ImageRef[] = [];
    let imagePrompt: string | undefined;
    for (const b of arr(m.content_block) ?? []) {
      if (!isObj(b)) continue;
      const c = blockContent(b);
      if (b.block_type === 10000 && isObj(c.text_block)) texts.push(str(c.text_block.text) ?? "");
      if (b.block_type === 2074 && isObj(c.creation_block)) {
        for (const cr of arr(c.creation_block.creations) ?? []) {
          const img = isObj(cr) && isObj(cr.image) ? cr.image : undefined;
          const raw = img && isObj(img.image_ori_raw) ? str(img.image_ori_raw.url) : undefined;
          if (raw) images.push({ url: raw, role: "output" });
          const gp = img && isObj(img.gen_params) ? str(img.gen_params.prompt) : undefined;
          imagePrompt ??= gp;
        }
      }
    }
    if (!texts.length && !images.length) {
      const plain = parseJson(str(m.content));
      if (isObj(plain) && str(plain.text)) texts.push(str(plain.text) ?? "");
    }
    const text = texts.join("\n").trim() || undefined;
    if (!text && !images.length) continue;
    messages.push({
      id, role: user ? "user" : "ai", text, complete: user || m.status === undefined || m.status === 0 || m.status === "finished",
      createdAt: isoTime(m.create_time), images: images.length ? images : undefined,
      meta: imagePrompt ? { image_prompt: imagePrompt } : undefined,
    });
  }
  const id = need(sessionId, "a conversation_id");
  return [{ kind: "snapshot", snapshot: { sessionId: id, url: `https://www.doubao.com/chat/${id}`, messages: chainInOrder(messages) } }];
}

export const doubao: SiteAdapter = {
  id: "doubao",
  version: 1,
  name: "Doubao",
  hosts: ["www.doubao.com"],
  imageHosts: [],
  capture: [CHAIN],
  sessionFromUrl(url) {
    return /^\/chat\/(\d{6,30})/.exec(url.pathname)?.[1] ?? null;
  },
  parse(ex) {
    if (ex.status !== 200 || !CHAIN.test(ex.url)) return [];
    return guarded("Doubao chain", () => parseChain(ex));
  },
  probeDom(doc, url) {
    return probeTurns(doc, this.sessionFromUrl(url) !== null, ["[data-testid='send_message']", "[data-testid='receive_message']", "[data-message-id]"]);
  },
};
