"""Requests in Chinese (worlds/shapes/CONTRACT.md, "In Chinese"): every table word, the contract's
examples, and generator -> reader round trips in Chinese and in English with Chinese words."""

import random

import pytest

from worlds.shapes.chinese import (
    BACKGROUND_ZH,
    COLOUR_ZH,
    SHAPE_ZH,
    SIZE_ZH,
    STYLE_ZH,
    WHERE_ZH,
    freeform_zh,
    has_chinese,
    mixed,
    to_english,
)
from worlds.shapes.requests import ObjRequest, Request, read_request, stated_subset
from worlds.shapes.world import random_scene


def one(**stated) -> Request:
    return Request((ObjRequest(**stated),))


@pytest.mark.parametrize(
    "table,key", [(COLOUR_ZH, "colour"), (SHAPE_ZH, "shape"), (SIZE_ZH, "size"), (WHERE_ZH, "position")]
)
def test_every_object_word_is_read(table, key):
    for canonical, words in table.items():
        for word in words:
            assert read_request(f"画一个{word}的东西" if key == "size" else word).objects[0] == ObjRequest(
                **{key: canonical}
            ), word


def test_every_position_word_is_read_without_its_zai_before_the_object():
    for canonical, words in WHERE_ZH.items():
        for word in words:
            assert read_request(f"{word.removeprefix('在')}有一个红色方块") == one(
                colour="red", shape="square", position=canonical
            ), word


@pytest.mark.parametrize("table,key", [(BACKGROUND_ZH, "background"), (STYLE_ZH, "style")])
def test_every_background_and_style_word_is_read(table, key):
    for canonical, words in table.items():
        for word in words:
            request = read_request(f"一个蓝色圆形，{word}")
            assert getattr(request, key) == canonical, word
            assert request.objects == (ObjRequest(colour="blue", shape="circle"),), word


def test_the_contract_examples():
    assert read_request("画一个大的红色圆形在左边") == one(colour="red", shape="circle", size="large", position="left")
    assert read_request("左边一个小的蓝色方块，右边一个绿色三角形，黑色背景，空心") == Request(
        (ObjRequest("blue", "square", "small", "left"), ObjRequest("green", "triangle", None, "right")),
        "black",
        "outline",
    )
    assert read_request("请画一个很小的粉色十字在上面，白底") == Request(
        (ObjRequest("pink", "cross", "small", "top"),), "white"
    )
    assert read_request("上方有一个小的蓝色方块") == one(colour="blue", shape="square", size="small", position="top")


@pytest.mark.parametrize("joiner", ["和", "与", "还有", "，", ",", "、"])
def test_two_objects_joined_every_way(joiner):
    request = read_request(f"帮我画一个红色圆形在左边{joiner}一个蓝色方块在右边。")
    assert request.objects == (ObjRequest("red", "circle", None, "left"), ObjRequest("blue", "square", None, "right"))


def test_openings_punctuation_and_measure_words_change_nothing():
    wanted = one(colour="green", shape="triangle", size="small")
    for text in [
        "画小的绿色三角形",
        "请画一个小的绿色三角形！",
        "帮我画个小绿三角。",
        "我想要一个小的绿色三角形!",
        "小的绿色三角形.",
    ]:
        assert read_request(text) == wanted, text


def test_a_position_split_off_by_a_comma_stays_with_its_object():
    assert read_request("一个红色圆形，在左边") == one(colour="red", shape="circle", position="left")


def test_mixed_english_and_chinese():
    assert read_request("a 红色 circle") == one(colour="red", shape="circle")
    assert read_request("a big 蓝色 box 在左边 on a 黑底") == Request(
        (ObjRequest("blue", "square", "large", "left"),), "black"
    )
    assert read_request("画 a small red ball") == one(colour="red", shape="circle", size="small")


def test_english_requests_never_go_through_the_chinese_reader():
    assert not has_chinese("an outlined tiny blue box up top on a dark background")
    assert has_chinese("a 红色 circle")
    assert to_english("红色圆形和蓝色方块") == "red circle and blue square"


@pytest.mark.parametrize("write", [freeform_zh, mixed])
def test_generated_requests_read_back_to_what_they_state(write):
    rng = random.Random(7)
    for _ in range(1500):
        stated = stated_subset(random_scene(rng), rng, rng.uniform(0.2, 1.0))
        text = write(stated, rng)
        assert read_request(text) == stated, text


def test_the_chinese_generator_uses_every_table_word():
    rng = random.Random(3)
    texts = "".join(freeform_zh(stated_subset(random_scene(rng), rng, 1.0), rng) for _ in range(4000))
    tables = (COLOUR_ZH, SHAPE_ZH, SIZE_ZH, WHERE_ZH, BACKGROUND_ZH, STYLE_ZH)
    missing = [w for table in tables for words in table.values() for w in words if w not in texts]
    assert not missing
    for form in ["左边", "上方", "和", "与", "还有", "、", "，", "请画", "帮我画", "我想要"]:
        assert form in texts, form


def test_the_prompter_tokenizer_gives_each_chinese_character_a_token():
    from training.vocab import word_tokenizer, words_of

    texts = ["画一个大的红色圆形在左边", "a 红色 circle, please"]
    tokenizer = word_tokenizer(words_of(texts), ["[UNK]"])
    tokens = tokenizer.convert_ids_to_tokens(tokenizer("a 红色圆形在左边, please").input_ids)
    assert tokens == ["a", "红", "色", "圆", "形", "在", "左", "边", ",", "please"]
    assert "[UNK]" not in tokens and "[UNK]" in tokenizer.convert_ids_to_tokens(tokenizer("蓝").input_ids)


def test_what_the_reader_cannot_read_as_the_prompter_card_says():
    assert read_request("a red ball next to a blue box") == one(colour="blue", shape="circle")
    assert read_request("a circle that is not red") == one(colour="red", shape="circle")
