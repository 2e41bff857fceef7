"""The report's words, one catalogue per language. Plain text with ``{name}`` fields; the layout escapes
every value it fills in, and nothing here is markup.

Wording rule: state what the records show and what each fact rests on; never a legal conclusion.
"""

from __future__ import annotations

import functools
import html
from collections.abc import Mapping

LANGS = ("en", "zh")

EN: Mapping[str, str] = {
    "html_lang": "en",
    "title": "Evidence report: {title}",
    "heading": "Record of an AI-assisted creative session",
    "other_lang": "中文版本: report.zh.html",
    "verdict_h": "Verification",
    "verdict_self": ("This report cannot vouch for itself: it was made from the records in this bundle when the "
                     "bundle was exported. The evidence is the signed records, receipts and RFC 3161 time-stamps "
                     "beside it. Check them with the verification script published by the PromptStamp project "
                     "(its repository, or GET /verify.sh on the service; compare its SHA-256 with the one "
                     "published there), never a copy that came with the evidence, or with the verifier:"),
    "verdict_rederive": ("Both verifiers re-create this report from the verified records and reject the bundle "
                         "when this file differs from what the records say."),
    "at_export": "At export, the bundle held",
    "n_records": "{n} recorded steps",
    "n_stamped": "{n} time-stamped",
    "n_pending": "{n} NOT yet time-stamped (their batch was pending at export)",
    "n_devsig": "{n} signed by the creator's device",
    "n_nodevsig": "{n} WITHOUT a device signature (only the service vouches for them)",
    "chain_ok": "the hash chain of the steps is unbroken",
    "chain_broken": "the hash chain is BROKEN at {n} place(s); see the timeline",
    "who_h": "Who",
    "who_account": "PromptStamp account",
    "who_account_value": "{name}",
    "who_account_id": "account id {id}",
    "who_contact": "contact: {contact}",
    "who_account_basis": ("The service's signed receipts name this account for every step: the operator of the "
                          "service states that the steps arrived under this account's credentials."),
    "who_account_unnamed": "(no display name recorded in this bundle)",
    "who_site": "Account on the AI site",
    "who_site_value": "{site}: {name}",
    "who_site_basis": ("As the site's own interface ({source}) reported it to the creator's browser extension; "
                       "a claim by the device, not checked by the service."),
    "who_site_none": "No AI-site account was captured in this session.",
    "what_h": "What",
    "what_value": "session {id} on {site}",
    "when_h": "When",
    "when_value": "{first} to {last} ({duration}), device capture times",
    "when_tsa": "Time-stamped by {tsa}: {first} to {last}",
    "proves_h": "What this evidence proves, and what it does not",
    "proves_1": ("Each time-stamped step existed, exactly as recorded, no later than the time-stamp authority's "
                 "time (the genTime of its RFC 3161 token). A time-stamp proves existence by that time, not "
                 "that the content is true or original."),
    "proves_2": ("The capture times are the creator's device's own claims. They are consistent with, but not "
                 "proven by, the time-stamps, which can only bound them from above."),
    "proves_3": ("The service's signature on each receipt is the statement of the service's operator that it "
                 "received the step under this account; it is as trustworthy as that operator."),
    "proves_4": ("A device signature shows that the step was signed with the key paired to the creator's "
                 "browser. Steps are chained by their digests, so a removed, inserted or reordered step shows."),
    "proves_5": ("The records show what the browser extension saw on the AI site. They do not show what "
                 "happened outside it, nor who sat at the keyboard beyond the account and device named."),
    "tsa_h": "Time-stamp authorities",
    "tsa_col_name": "TSA",
    "tsa_col_signer": "signed by",
    "tsa_col_status": "standing",
    "tsa_dev": ("DEVELOPMENT TSA: a time-stamp authority built into the service for testing. Its time-stamps "
                "prove nothing to anyone else."),
    "renewals_h": "Archive time-stamps",
    "renewals_note": ("A TSA certificate lasts a few years. Before it expired, the service time-stamped these "
                      "batches' time-stamps again (RFC 4998 evidence records, in the bundle as "
                      "batches/<id>/evidence.ers), and each such time-stamp again before its own certificate "
                      "expired, so that the times stay provable after the certificates have ended. The verifiers "
                      "check them; this table only lists them."),
    "renewals_col_batches": "batches",
    "renewals_col_stamps": "archive time-stamps, oldest first",
    "renewals_by": "by {signer}",
    "human_h": "What the human did, and what the AI produced",
    "human_note": ("Counted from the recorded steps. These are facts about the record, not conclusions about "
                   "authorship. Superseded sightings are not counted."),
    "human_col": "The human (the creator)",
    "ai_col": "The AI",
    "c_prompts": "prompts written",
    "c_edits": "prompt edits",
    "c_params": "parameter settings made",
    "c_retries": "retries (regenerations requested)",
    "c_selections": "selections among outputs",
    "c_notes": "notes",
    "c_uploads": "files of the creator's own uploaded",
    "c_imports": "imported steps",
    "c_outputs": "outputs produced",
    "c_images": "images produced",
    "c_models": "models the AI site reported",
    "c_gaps": "evidenced capture gaps",
    "c_superseded": "superseded sightings",
    "none": "(none)",
    "prompts_h": "Prompts and edits, in order",
    "prompts_none": "No prompt was recorded.",
    "diff_label": "Change from the previous prompt",
    "diff_too_big": "Changed, {n} characters: too many differences to show word by word; both full texts are shown.",
    "diff_unchanged": "[{n} characters unchanged]",
    "params_h": "Parameters the human set",
    "params_none": "The human set no parameters in this session.",
    "param_set": "{key} set to {new}",
    "param_changed": "{key}: {old} → {new}",
    "selections_h": "Selections and notes",
    "selections_none": "No selection or note was recorded in this session.",
    "selected": ("Step #{seq} ({time}): the creator selected the output of step #{target}, "
                 "among {n} output(s) of the AI:"),
    "selected_unknown": "Step #{seq} ({time}): the creator selected an output not identified in this record.",
    "note": "Step #{seq} ({time}): note by the creator:",
    "gaps_h": "Evidenced gaps in the capture",
    "gap": "Step #{seq} ({time}): the extension could not capture something it should have: {what}",
    "timeline_h": "Timeline",
    "kind_prompt": "Prompt", "kind_output": "AI output", "kind_edit": "Edit", "kind_regenerate": "Retry",
    "kind_parameters": "Parameters", "kind_selection": "Selection", "kind_note": "Note", "kind_import": "Import",
    "kind_identity": "AI-site account", "kind_drift": "Capture gap",
    "by_user": "by the human", "by_ai": "by the AI",
    "t_captured": "captured (device's claim)",
    "t_received": "received (service)",
    "t_stamped": "time-stamped ({tsa})",
    "t_stamped_dev": "time-stamped ({tsa}, DEVELOPMENT TSA)",
    "t_pending": "not yet: the batch is pending",
    "superseded_by": ("Superseded by step {seq}, a fuller sighting of the same message; this record stays as "
                      "signed."),
    "supersedes": "Supersedes record {id}, an earlier, partial sighting of the same message.",
    "gap_mark": ("Evidenced gap: the extension recorded here that it could not capture a step ({code}). What it "
                 "says is missing is missing from this record; the chain around it is intact."),
    "devsig_none": "No device signature: only the service vouches for this step.",
    "clock_before": "The device's capture time is {amount} before the service received this step (more than "
                    "{tolerance} min): it was queued on the device, or the device's clock was wrong.",
    "clock_after": "The device's capture time is {amount} after the service received this step (more than "
                   "{tolerance} min): the device's clock was ahead; the capture time is only the device's claim.",
    "devsig": "Signed by device key {key}.",
    "chain_break": "CHAIN BREAK: {what}",
    "chain_gap": "steps {a} to {b} of device {device} are missing",
    "chain_dup": "step number {seq} appears more than once for device {device}",
    "chain_prev": "step #{seq} does not name the digest of step #{prev} as its predecessor",
    "attachment_file": "Attachment not shown here ({caption}): file {path} in the bundle.",
    "attachment_stored": "Attachment not shown here ({caption}): stored with the session.",
    "attachment_caption": "{role}, {media}, {size} bytes, sha256 {digest}…",
    "record_line": "record {id}, digest {digest}",
    "batch_line": ", batch {batch}",
    "keys_h": "Service keys",
    "keys_col_id": "key id",
    "keys_col_fp": "SHA-256 of the key",
    "keys_note": "Compare with the keys the service publishes before relying on them.",
    "time_utc": "UTC",
    "local_time": "your time",
    "seconds": "{n} s", "minutes": "{n} min", "hours": "{h} h {m} min",
    "tsa_status_dev": "development TSA: proves nothing to others",
    "tsa_status_unknown": "unknown: not in PromptStamp's table of known TSAs; check the TSA's own publications",
    "tsa_status_qualified_claim": ("the token states that it follows the ETSI baseline time-stamp policy "
                                   "(EN 319 421); whether the TSA is qualified under eIDAS is shown by the EU "
                                   "trusted list, not by this report"),
}

ZH: Mapping[str, str] = {
    "html_lang": "zh-CN",
    "title": "证据报告：{title}",
    "heading": "AI 辅助创作过程记录",
    "other_lang": "English version: report.html",
    "verdict_h": "验证",
    "verdict_self": ("本报告不能自证其真实性：它是在导出证据包时，根据包内记录生成的。证据本身是随附的已签名记录、"
                     "回执和 RFC 3161 时间戳。请使用 PromptStamp 项目公布的验证脚本（项目代码库，或服务的 "
                     "GET /verify.sh，并与公布的 SHA-256 值核对）进行验证，切勿运行随证据一同提供的副本；"
                     "或使用验证程序："),
    "verdict_rederive": ("两种验证程序都会根据已验证的记录重新生成本报告；"
                         "若本文件与记录不一致，整个证据包即被判定无效。"),
    "at_export": "导出时，证据包包含",
    "n_records": "{n} 个记录步骤",
    "n_stamped": "{n} 个已加盖时间戳",
    "n_pending": "{n} 个尚未加盖时间戳（导出时其批次仍在等待）",
    "n_devsig": "{n} 个由创作者设备签名",
    "n_nodevsig": "{n} 个没有设备签名（仅由服务方证明）",
    "chain_ok": "各步骤的哈希链完整无断裂",
    "chain_broken": "哈希链有 {n} 处断裂，详见时间线",
    "who_h": "创作者",
    "who_account": "PromptStamp 账户",
    "who_account_value": "{name}",
    "who_account_id": "账户标识 {id}",
    "who_contact": "联系方式：{contact}",
    "who_account_basis": "服务方签名的回执在每个步骤中都载明此账户：即服务运营者声明这些步骤是以该账户的凭据提交的。",
    "who_account_unnamed": "（本证据包未记录显示名称）",
    "who_site": "AI 网站上的账户",
    "who_site_value": "{site}：{name}",
    "who_site_basis": "由该网站自身接口（{source}）向创作者的浏览器扩展报告；属于设备一方的陈述，服务方未予核实。",
    "who_site_none": "本次会话未采集到 AI 网站账户。",
    "what_h": "内容",
    "what_value": "{site} 上的会话 {id}",
    "when_h": "时间",
    "when_value": "{first} 至 {last}（{duration}），设备采集时间",
    "when_tsa": "{tsa} 加盖时间戳：{first} 至 {last}",
    "proves_h": "本证据能证明什么，不能证明什么",
    "proves_1": ("每个已加盖时间戳的步骤，按记录的原样，最迟在时间戳机构的时间（其 RFC 3161 时间戳中的 genTime）"
                 "之前已经存在。时间戳证明的是在该时间之前已存在，而不证明内容真实或具有独创性。"),
    "proves_2": "采集时间是创作者设备自身的陈述。它们与时间戳相符，但并未被时间戳证明；时间戳只能给出其上限。",
    "proves_3": "每张回执上的服务方签名，是服务运营者关于其以该账户名义收到该步骤的声明，其可信程度取决于该运营者。",
    "proves_4": ("设备签名表明该步骤是用与创作者浏览器配对的密钥签名的。各步骤以摘要相互链接，"
                 "因此删除、插入或调换步骤都会显现出来。"),
    "proves_5": ("记录反映的是浏览器扩展在 AI 网站上所见的内容，不反映网站之外发生的事情，"
                 "也不能证明除所列账户和设备之外由谁操作。"),
    "tsa_h": "时间戳机构",
    "tsa_col_name": "时间戳机构",
    "tsa_col_signer": "签发者",
    "tsa_col_status": "资质",
    "tsa_dev": "开发用时间戳机构：服务内置、仅供测试的时间戳机构。其时间戳对任何第三方均无证明力。",
    "renewals_h": "存档时间戳",
    "renewals_note": ("时间戳机构的证书有效期只有数年。在证书到期之前，服务对这些批次的时间戳再次加盖时间戳（RFC 4998 "
                      "证据记录，在证据包中为 batches/<id>/evidence.ers），并在每个存档时间戳自己的证书到期前再次续期，"
                      "使证书到期之后这些时间仍可证明。核验工具会逐一核验；本表仅列出它们。"),
    "renewals_col_batches": "批次",
    "renewals_col_stamps": "存档时间戳（由早到晚）",
    "renewals_by": "由 {signer} 签发",
    "human_h": "人的贡献与 AI 的产出",
    "human_note": "根据记录的步骤统计。这些是关于记录的事实，而非关于作者身份的结论。被取代的记录不计入。",
    "human_col": "人（创作者）",
    "ai_col": "AI",
    "c_prompts": "撰写的提示词",
    "c_edits": "提示词修改",
    "c_params": "设置参数次数",
    "c_retries": "重新生成（重试）",
    "c_selections": "在输出中作出选择",
    "c_notes": "备注",
    "c_uploads": "上传的创作者自有文件",
    "c_imports": "导入的步骤",
    "c_outputs": "生成的输出",
    "c_images": "生成的图片",
    "c_models": "AI 网站报告的模型",
    "c_gaps": "有据可查的采集缺口",
    "c_superseded": "被取代的记录",
    "none": "（无）",
    "prompts_h": "提示词及其修改（按顺序）",
    "prompts_none": "未记录任何提示词。",
    "diff_label": "与上一条提示词相比的改动",
    "diff_too_big": "已改动，{n} 个字符：差异过多，无法逐词显示；下面显示两份全文。",
    "diff_unchanged": "[{n} 个字符未改动]",
    "params_h": "人设置的参数",
    "params_none": "本次会话中人没有设置任何参数。",
    "param_set": "{key} 设为 {new}",
    "param_changed": "{key}：{old} → {new}",
    "selections_h": "选择与备注",
    "selections_none": "本次会话未记录任何选择或备注。",
    "selected": "步骤 #{seq}（{time}）：创作者从 AI 的 {n} 个输出中选择了步骤 #{target} 的输出：",
    "selected_unknown": "步骤 #{seq}（{time}）：创作者选择了一个本记录未能识别的输出。",
    "note": "步骤 #{seq}（{time}）：创作者的备注：",
    "gaps_h": "有据可查的采集缺口",
    "gap": "步骤 #{seq}（{time}）：扩展未能采集到应采集的内容：{what}",
    "timeline_h": "时间线",
    "kind_prompt": "提示词", "kind_output": "AI 输出", "kind_edit": "修改", "kind_regenerate": "重试",
    "kind_parameters": "参数", "kind_selection": "选择", "kind_note": "备注", "kind_import": "导入",
    "kind_identity": "AI 网站账户", "kind_drift": "采集缺口",
    "by_user": "由人", "by_ai": "由 AI",
    "t_captured": "采集时间（设备陈述）",
    "t_received": "服务方接收",
    "t_stamped": "时间戳（{tsa}）",
    "t_stamped_dev": "时间戳（{tsa}，开发用时间戳机构）",
    "t_pending": "尚无：批次仍在等待中",
    "superseded_by": "已被步骤 {seq}（同一消息更完整的一次采集）取代；本记录保持签名时的原样。",
    "supersedes": "取代记录 {id}（同一消息较早、不完整的一次采集）。",
    "gap_mark": ("有据可查的缺口：扩展在此记录了它未能采集到某个步骤（{code}）。"
                 "所述缺失的内容确实不在本记录中；其前后的哈希链完整。"),
    "devsig_none": "无设备签名：仅由服务方证明此步骤。",
    "clock_before": ("设备记录的捕获时间比服务方收到此步骤早 {amount}（超过 {tolerance} 分钟）："
                     "该步骤曾在设备上排队，或设备时钟有误。"),
    "clock_after": ("设备记录的捕获时间比服务方收到此步骤晚 {amount}（超过 {tolerance} 分钟）："
                    "设备时钟偏快；捕获时间仅是设备的声明。"),
    "devsig": "由设备密钥 {key} 签名。",
    "chain_break": "哈希链断裂：{what}",
    "chain_gap": "设备 {device} 的步骤 {a} 至 {b} 缺失",
    "chain_dup": "设备 {device} 的步骤编号 {seq} 出现不止一次",
    "chain_prev": "步骤 #{seq} 未将步骤 #{prev} 的摘要作为其前一步",
    "attachment_file": "附件未在此显示（{caption}）：见证据包中的文件 {path}。",
    "attachment_stored": "附件未在此显示（{caption}）：与会话一同保存。",
    "attachment_caption": "{role}，{media}，{size} 字节，sha256 {digest}…",
    "record_line": "记录 {id}，摘要 {digest}",
    "batch_line": "，批次 {batch}",
    "keys_h": "服务方密钥",
    "keys_col_id": "密钥标识",
    "keys_col_fp": "密钥的 SHA-256",
    "keys_note": "使用前请与服务方公布的密钥核对。",
    "time_utc": "UTC",
    "local_time": "您的时间",
    "seconds": "{n} 秒", "minutes": "{n} 分钟", "hours": "{h} 小时 {m} 分钟",
    "tsa_status_dev": "开发用时间戳机构：对第三方无证明力",
    "tsa_status_unknown": "未知：不在 PromptStamp 已知时间戳机构表中，请查阅该机构自己的公开信息",
    "tsa_status_qualified_claim": ("时间戳声明其遵循 ETSI 基线时间戳策略（EN 319 421）；该机构是否为 eIDAS "
                                   "合格机构，以欧盟可信名单为准，本报告不作认定"),
}

CATALOGUES: Mapping[str, Mapping[str, str]] = {"en": EN, "zh": ZH}


class Text:
    """Looks words up in one language's catalogue; a missing key is a programming error (tests hold
    that both catalogues have the same keys)."""

    def __init__(self, lang: str) -> None:
        if lang not in CATALOGUES:
            raise ValueError(f"report language: expected one of {', '.join(LANGS)}, found {lang!r}")
        self.lang = lang
        self._words = CATALOGUES[lang]
        self._html: dict[str, str] = {}

    def __call__(self, message: str, /, **fields: object) -> str:
        words = self._words[message]
        return words.format(**fields) if fields else words

    def html(self, message: str, /, **marks: str) -> str:
        """A message HTML-escaped, made once per language: without fields, or with each field filled by a
        fixed mark (a control character) that the caller replaces with markup."""
        if marks:
            return _escaped(self.lang, message, tuple(sorted(marks.items())))
        found = self._html.get(message)
        if found is None:
            found = self._html[message] = _escaped(self.lang, message, ())
        return found


@functools.cache
def _escaped(lang: str, message: str, marks: tuple[tuple[str, str], ...]) -> str:
    words = CATALOGUES[lang][message]
    return html.escape(words.format(**dict(marks)) if marks else words, quote=True)
