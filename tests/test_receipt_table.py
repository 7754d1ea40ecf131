"""The receipt under the picture: a readable table in English or Chinese, built from values the browser
sends back, so escaped and bounded."""

from types import SimpleNamespace

from ui import receipts

ROWS = [
    {"attribute": "background", "wanted": "gray", "seen": "gray", "ok": True},
    {"attribute": "object1.colour", "wanted": "red", "seen": "blue", "ok": False},
    {"attribute": "object count", "wanted": 2, "seen": 1, "ok": False},
]


def cells(table: str) -> list[list[str]]:
    body = table.split("<tbody>")[1].split("</tbody>")[0]
    return [[c.split("</td>")[0] for c in row.split("<td>")[1:]] for row in body.split("</tr>") if "<td>" in row]


def test_one_row_per_attribute_with_wanted_seen_and_mark():
    assert cells(receipts.table(ROWS)) == [
        ["background", "gray", "gray", "✓"],
        ["1: colour", "red", "blue", "✗"],
        ["object count", "2", "1", "✗"],
    ]
    assert receipts.table(ROWS).count("class='miss'") == 2


def test_chinese_headers_attributes_and_values():
    table = receipts.table(ROWS, chinese=True)
    assert "<th>属性</th><th>要求</th><th>看到的</th>" in table
    assert cells(table)[1] == ["1: 颜色", "红色", "蓝色", "✗"]
    assert cells(table)[2][0] == "物体数量"


def test_hub_rows_say_they_are_approximate_and_nothing_seen_reads_as_nothing():
    rows = [{"attribute": "ball colour", "wanted": "red", "seen": None, "ok": False, "approximate": True}]
    table = receipts.table(rows)
    assert cells(table) == [["ball colour", "red", "nothing", "✗"]]
    assert "approximate" in table
    assert "approximate" not in receipts.table(ROWS)


def test_values_from_the_browser_are_escaped_and_bounded():
    evil = [{"attribute": "<script>alert(1)</script>", "wanted": "<img src=x>", "seen": "x" * 500, "ok": True}]
    table = receipts.table(evil * 100)
    assert "<script>" not in table and "<img" not in table
    assert "&lt;script&gt;" in table
    assert len(cells(table)) == receipts.MAX_ROWS
    assert max(len(c) for row in cells(table) for c in row) <= 4 * receipts.MAX_TEXT + 20


def test_shown_picks_the_picture_and_refuses_shapes_it_does_not_know():
    details = {"receipts": [ROWS[:1], ROWS[1:2]]}
    chinese = SimpleNamespace(headers={"accept-language": "zh-CN,zh;q=0.9"})
    assert cells(receipts.shown(details, 1)) == [["1: colour", "red", "blue", "✗"]]
    assert cells(receipts.shown(details, 1, chinese))[0][1] == "红色"
    for bad_details, index in [(details, 2), (details, -1), (details, "0"), ([ROWS], 0), ({"receipts": "x"}, 0)]:
        assert receipts.shown(bad_details, index) == ""
    assert receipts.table([{"no": "attribute"}, "text", 3]) == ""
