"""The page in English and Simplified Chinese, chosen by the browser's language (gr.I18n), and the
error sentences a person reads, in the language their browser asks for. API callers that send no
Accept-Language (gradio_client, curl) get English."""

from __future__ import annotations

import re

import gradio as gr

EN = {
    "tagline": "Language-guided picture making with a model zoo that works offline.",
    "tab_generate": "Generate",
    "tab_style": "Style transfer",
    "tab_edit": "Edit",
    "tab_caption": "Caption",
    "tab_zoo": "Zoo",
    "tab_train": "Train",
    "train_files": "Pictures (several files with an optional metadata.jsonl, or one zip)",
    "train_name": "Adapter name",
    "train_start": "Train",
    "train_loss": "Loss",
    "train_sample": "Sample",
    "adapter": "Adapter (LoRA)",
    "adapter_scale": "Adapter scale",
    "request": "Request",
    "generate": "Generate",
    "stop": "Stop",
    "prompt_used": "Prompt used",
    "prompt_used_info": "Edit it and press Generate to draw exactly this text.",
    "examples": "Example requests",
    "settings": "Settings",
    "expand_with": "Expand with",
    "rewrite": "Rewrite",
    "negative": "Negative prompt",
    "model": "Model",
    "steps": "Steps",
    "guidance": "Guidance",
    "width": "Width",
    "height": "Height",
    "seed": "Seed (-1: random)",
    "num_images": "Number of images",
    "embed": "Write the prompt and settings into the PNGs",
    "decode": "Decode",
    "decode_info": "fast: the model's tiny autoencoder (much faster on a CPU, a little softer); full: its own",
    "decode_full": "Decode in full",
    "verify": "Verify and refine (check every candidate against the request, keep the best, retry on misses)",
    "candidates": "Candidates (N)",
    "rounds": "Rounds (R)",
    "pictures": "Pictures",
    "parameters": "Parameters",
    "png_files": "PNG files",
    "history": "History (this browser only; click to reuse the settings)",
    "clear_history": "Clear history",
    "png_drop": "Settings from a PNG: drop one here",
    "picture": "Picture",
    "style": "Style",
    "stylize": "Stylize",
    "before_after": "Before and after",
    "caption": "Caption",
    "several": "Or several pictures",
    "captions": "Captions",
    "instruction": "Instruction",
    "edit": "Edit",
    "read": "Read from the picture",
    "example_pictures": "Example pictures",
    "example_edits": "Example edits",
    "strength": "Strength",
    "png_file": "PNG file",
    "tab_chat": "Chat",
    "message": "Message",
    "send": "Send",
    "new_conversation": "New conversation",
    "export_conversation": "Export the conversation (zip)",
    "conversation_zip": "Conversation (PNGs with their parameters + thread.json)",
    "explain": "Explain",
    "explain_info": "map where each word of the prompt went (plain runs)",
    "explain_words": "Words: choose one to see where it went",
    "explain_misses": "The receipt's ✗ rows: choose one to see its word's map",
    "explain_overlay": "Where the word went",
    "explain_png": "Explain a PNG Atelier made",
    "explain_button": "Explain",
    "explain_maps": "The picture and its word maps",
    "rate_pick": "Rate a picture: click one, or make one.",
    "rate_up": "👍 Good",
    "rate_down": "👎 Wrong",
    "rate_note": "A note (optional)",
    "rate_wrong": "What was wrong (with 👎; the receipt's ✗ are ticked)",
    "ratings_plots": "**Ratings** (👍 / 👎 that people gave; `python -m pipelines feedback report` has the numbers)",
    "ratings_sqlite": "Ratings are kept on this server, in a SQLite database in the data folder of the account that "
    "runs Atelier, with each rated picture and how it was made; never your IP address or browser.",
    "ratings_database": "Ratings are kept in this server's feedback database, with each rated picture and how it was "
    "made; never your IP address or browser.",
    "ratings_off": "Ratings are turned off on this server: nothing is kept.",
}
ZH = {
    "tagline": "用语言作画：带模型库的画室，离线也能用。",
    "tab_generate": "生成",
    "tab_style": "风格迁移",
    "tab_edit": "编辑",
    "tab_caption": "图片描述",
    "tab_zoo": "模型库",
    "tab_train": "训练",
    "train_files": "图片（多个文件，可附 metadata.jsonl，或一个 zip）",
    "train_name": "适配器名称",
    "train_start": "训练",
    "train_loss": "损失",
    "train_sample": "样例",
    "adapter": "适配器（LoRA）",
    "adapter_scale": "适配器强度",
    "request": "描述你想要的画",
    "generate": "生成",
    "stop": "停止",
    "prompt_used": "实际使用的提示词",
    "prompt_used_info": "可以修改它，再按“生成”按原文作画。",
    "examples": "示例",
    "settings": "设置",
    "expand_with": "改写模型",
    "rewrite": "改写",
    "negative": "反向提示词",
    "model": "模型",
    "steps": "步数",
    "guidance": "引导强度",
    "width": "宽度",
    "height": "高度",
    "seed": "随机种子（-1：随机）",
    "num_images": "图片数量",
    "embed": "把提示词和设置写进 PNG",
    "decode": "解码",
    "decode_info": "fast：模型的小型自编码器（在 CPU 上快得多，稍软）；full：模型自己的自编码器",
    "decode_full": "完整解码",
    "verify": "检验并改进（逐张对照要求检查，保留最好的，不符时重试）",
    "candidates": "候选数 (N)",
    "rounds": "轮数 (R)",
    "pictures": "图片",
    "parameters": "参数",
    "png_files": "PNG 文件",
    "history": "历史记录（只存在本浏览器；点击可复用设置）",
    "clear_history": "清空历史",
    "png_drop": "从 PNG 读取设置：拖到这里",
    "picture": "图片",
    "style": "风格",
    "stylize": "转换风格",
    "before_after": "前后对比",
    "caption": "描述",
    "several": "或多张图片",
    "captions": "描述列表",
    "instruction": "编辑指令",
    "edit": "编辑",
    "read": "从图片读出的内容",
    "example_pictures": "示例图片",
    "example_edits": "示例编辑",
    "strength": "重绘强度",
    "png_file": "PNG 文件",
    "tab_chat": "对话",
    "message": "消息",
    "send": "发送",
    "new_conversation": "新对话",
    "export_conversation": "导出对话（zip）",
    "conversation_zip": "对话（带参数的 PNG + thread.json）",
    "explain": "解释",
    "explain_info": "显示提示词中每个词画在了哪里（普通生成）",
    "explain_words": "词：选一个，看它画在哪里",
    "explain_misses": "回执中的 ✗ 行：选一行，看对应词的位置图",
    "explain_overlay": "这个词画在了哪里",
    "explain_png": "解释一张 Atelier 生成的 PNG",
    "explain_button": "解释",
    "explain_maps": "图片和每个词的位置图",
    "rate_pick": "给图片评分：点选一张，或先生成一张。",
    "rate_up": "👍 好",
    "rate_down": "👎 不对",
    "rate_note": "备注（可选）",
    "rate_wrong": "哪里不对（配合 👎；回执里的 ✗ 已勾选）",
    "ratings_plots": "**评分**（用户给出的 👍 / 👎；具体数字见 `python -m pipelines feedback report`）",
    "ratings_sqlite": "评分保存在本服务器上运行 Atelier 的账户的数据文件夹里的 SQLite 数据库中，"
    "连同被评分的图片及其生成方式；从不保存你的 IP 地址或浏览器信息。",
    "ratings_database": "评分保存在本服务器的反馈数据库中，连同被评分的图片及其生成方式；"
    "从不保存你的 IP 地址或浏览器信息。",
    "ratings_off": "本服务器已关闭评分：不保存任何内容。",
}
I18N = gr.I18n(en=EN, **{"zh-CN": ZH, "zh": ZH})
t = I18N  # label=t("request")

# The sentences people meet most, in Chinese; the rest stay English.
ERRORS_ZH = [
    (r"^The (prompt|request) is empty; describe the picture you want\.$", "请求是空的；请描述你想要的画。"),
    (
        r"^Atelier only opens pictures uploaded to it; upload the picture and try again\.$",
        "Atelier 只打开上传给它的图片；请上传图片后再试。",
    ),
    (r"^No picture was given; upload one\.$", "没有图片；请上传一张。"),
    (
        r"^That file is not a picture Atelier can read; send a PNG, JPEG or WebP\.$",
        "这个文件不是 Atelier 能读的图片；请发送 PNG、JPEG 或 WebP。",
    ),
    (r"^The picture is too large; .*$", "图片太大了；请换一张小一些的。"),
    (r"^There is no model '(.*)' in the zoo; .*$", r"模型库里没有“\1”这个模型；请从列表中选择。"),
    (r"^(.*) must be between (.*) and (.*); got (.*)\.$", r"\1 必须在 \2 到 \3 之间；收到的是 \4。"),
    (r"^The run was cancelled; .*$", "已停止；没有丢失任何内容，准备好后再开始。"),
    (r"^Something went wrong on the server .*$", "服务器出错了（已记录）；请重试或换一个模型。"),
    (r"^The prompt is (\d+) characters long; keep it under (\d+)\.$", r"提示词有 \1 个字符；请少于 \2 个。"),
    (r"^There is no (\w+) in the picture; .*$", "图片里没有指令说的那个物体；什么也没有画。"),
    (r"^There are two (\w+)s; .*$", "图片里有两个符合的物体；请说明是哪一个。什么也没有画。"),
    (r"^This PNG carries no generation settings.*$", "这个 PNG 没有带生成设置。"),
]


def wants_chinese(request) -> bool:
    language = ""
    headers = getattr(request, "headers", None)
    if headers is not None:
        language = str(headers.get("accept-language", ""))
    return language.lower().startswith("zh")


def in_language(message: str, request) -> str:
    """The sentence in the language the caller's browser asks for (Chinese where known), else as it is."""
    if not wants_chinese(request):
        return message
    for pattern, chinese in ERRORS_ZH:
        if re.match(pattern, message):
            return re.sub(pattern, chinese, message)
    return message
