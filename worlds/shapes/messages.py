"""A conversation's messages in one form: Chinese, English and mixed messages become lower-case English
words that worlds/shapes/conversation.py reads ("把它变大" -> "make it bigger", "方块是什么颜色？" ->
"square what colour ?"). The table words (colours, shapes, places...) go through chinese.to_english;
this module adds the words of talking about a picture: verbs of change, pronouns, question words.
"""

from __future__ import annotations

import re

from worlds.shapes.zh import CJK, to_english

_TO = "(?:改成|变成|换成|改为|变为|换为|涂成|染成|弄成|做成|设为|设成|换上)"
_BIGGER = "(?:变大|放大|弄大|加大|大一点|大一些|变得更大|更大|大点)"
_SMALLER = "(?:变小|缩小|弄小|小一点|小一些|变得更小|更小|小点)"
_REMOVE = "(?:去掉|删除|删掉|移除|拿掉|去除|擦掉|抹掉)"
# (pattern, replacement), in order; each Chinese phrase becomes English words the reader knows
RULES_ZH = [
    (r"[？?]", " ? "),
    (r"[吗呢嘛]", " ? "),
    (r"^[\s,，。!！]*(?:不对|不是|错了|不)(?:[\s,，。!！]+|(?=要|是))(?:要|是)?", " no , "),
    (r"撤销|撤回|回到上一步|返回上一步|退回上一步|上一步", " undo "),
    (r"重做|恢复", " redo "),
    (r"另外一个|另一个|另外那个|另外的|其他的|别的那个", " the other one "),
    (r"它们|两个都|都", " both "),
    (r"它|这个|那个|这一个|那一个", " it "),
    (r"(?:画面|图片|图画|图|画|这张图|这幅画)[里上中]?面?(?:有|是)(?:什么|啥)(?:东西)?", " what is in the picture "),
    (r"(?:画面|图片|图画|这张图|这幅画|图|画)[里上中]面?", " picture "),
    (r"还是", " or "),
    (r"描述一下|描述|说说", " describe "),
    (r"(?:一共|总共)?有?几个", " how many "),
    (r"(?:是)?(?:什么|啥|哪种|哪个)颜色|什么色", " what colour "),
    (r"(?:是)?(?:什么|啥|哪种)形状", " what shape "),
    (r"(?:是)?(?:什么|哪种|啥)(?:风格|样式)", " what style "),
    (r"多大|大还是小|大小", " what size "),
    (r"在哪里|在哪儿|在哪|哪里|哪边|什么位置", " where "),
    (r"有没有", " is there "),
    (r"(^|\s)有(?!几|什么)", r"\1 is there "),
    (r"有什么|是什么|是啥|什么", " what "),
    (r"背景", " background "),
    (r"黑色|深色", " black "),
    (r"白色", " white "),
    (r"灰色", " gray "),
    (rf"把?(.*?){_BIGGER}", r" make \1 bigger "),
    (rf"把?(.*?){_SMALLER}", r" make \1 smaller "),
    (rf"把(.+?){_REMOVE}", r" remove \1 "),
    (rf"{_REMOVE}(.*)", r" remove \1 "),
    (r"(.*?)(?:再加上|再加|加上|添加|增加|再画|再来|加(?![号大]))(?:一个|个)?(.+)", r" add \1 \2 "),
    (rf"把(.+?){_TO}(.+)", r" change \1 to \2 "),
    (rf"^\s*(?:no ,)?\s*{_TO}(.+)", r" change it to \1 "),
    (rf"(.+?){_TO}(.+)", r" change \1 to \2 "),
    (r"(?:请|帮我|给我|请帮我)?(?:重新画|画(?!面)|我想要)", " draw "),
    (r"把?(.*?)(?:移到|移动到|挪到|放到)(.+)", r" move \1 to \2 "),
]
_RULES = [(re.compile(p), r) for p, r in RULES_ZH]


def is_chinese(message: str) -> bool:
    """Whether to answer in Chinese: the message has more Chinese characters than English words."""
    return len(CJK.findall(message)) > len(re.findall(r"[A-Za-z]{2,}", message))


def english(message: str) -> str:
    """The message as lower-case English words; '?' kept as a word of its own, other punctuation dropped."""
    text = message.strip()
    if CJK.search(text):
        for pattern, replacement in _RULES:
            text = pattern.sub(replacement, text)
        text = to_english(text.replace(",", " ⸴ "))  # to_english reads commas as 'and'; keep them apart
        text = text.replace("⸴", ",")
    text = text.lower().replace("’", "'").replace("colour", "color")
    text = re.sub(r"\bcolor\b", "colour", text)
    text = re.sub(r"\b(what|where|there)'?s\b|\b(it|that)'s\b", lambda m: f"{m.group(1) or m.group(2)} is", text)
    text = re.sub(r"[^a-z0-9'?, ]", " ", text)
    text = re.sub(r"\?", " ? ", text)
    return " ".join(text.split())
