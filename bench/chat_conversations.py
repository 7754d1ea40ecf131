"""The scripted conversations of bench/chat_quality.py: 30 in English (some with Chinese words) and 10 in
Chinese, 3 to 6 messages each. Each message comes with what must follow, written in the contract's own
terms (worlds/shapes/CONTRACT.md), independently of the conversation reader:

    ("draw", request)        the picture shows every attribute the request states, and no other object
    ("edit", instruction)    the picture reads as the previous picture's reading with the contract's edit applied
    ("scene", sentence)      the picture reads as this canonical sentence
    ("ask", kind, ref)       the reply names the value of `kind` ("colour", "shape", "size", "position",
                             "background", "style", "count", "scene", "exists") of the object `ref` names
                             in the current picture's reading ({"shape": "square"}); for exists, "yes"/"no"
    ("undo",), ("redo",)     the picture kept before (after) the current one, bit for bit
    ("refuse",)              nothing is drawn and a sentence says why
"""

from __future__ import annotations

A = "a large red circle on the left and a small blue square on the right on a white background, flat style"
B = "a small green triangle at the top and a large yellow cross at the bottom on a gray background, flat style"
C = "a large purple square in the center on a black background, flat style"

ENGLISH = [
    [(A, ("scene", A)), ("make the square green", ("edit", "make the square green")), ("undo", ("undo",))],
    [
        (
            "draw a big red ball on the left and a small blue box on the right",
            ("draw", "large red circle left small blue square right"),
        ),
        ("make it bigger", ("refuse",)),
        ("make the box bigger", ("edit", "make the square bigger")),
        ("no, green", ("edit", "make the square green")),
        ("what colour is the square?", ("ask", "colour", {"shape": "square"})),
    ],
    [
        (
            "draw a small orange triangle in the middle on a white background, filled",
            ("draw", "small orange triangle center white background flat"),
        ),
        ("make it bigger", ("edit", "make the triangle bigger")),
        ("make it bigger", ("refuse",)),
        ("now outlined", ("edit", "make it outlined")),
        ("undo", ("undo",)),
        ("redo", ("redo",)),
    ],
    [
        (B, ("scene", B)),
        ("remove the triangle", ("edit", "remove the triangle")),
        ("what is in the picture?", ("ask", "scene", {})),
        ("remove the cross", ("refuse",)),
    ],
    [
        (C, ("scene", C)),
        (
            "add a pink circle on the right",
            ("draw", "large purple square left pink circle right black background flat"),
        ),
        ("how many objects are there?", ("ask", "count", {})),
    ],
    [
        (
            "a large cyan cross on the right and a small red circle on the left on a gray background, outline style",
            ("draw", "large cyan cross right small red circle left gray background outline"),
        ),
        ("turn the cross into a triangle", ("edit", "turn the cross into a triangle")),
        ("make the background black", ("edit", "make the background black")),
        ("what colour is the background?", ("ask", "background", {})),
    ],
    [
        (A, ("scene", A)),
        ("what colour is the circle?", ("ask", "colour", {"shape": "circle"})),
        ("make it yellow", ("edit", "make the circle yellow")),
        ("make the other one purple", ("edit", "make the square purple")),
        ("undo", ("undo",)),
    ],
    [
        (
            "draw a tiny outlined pink plus at the bottom on a white backdrop",
            ("draw", "small pink cross bottom white background outline"),
        ),
        ("replace it with a circle", ("edit", "replace the cross with a circle")),
        ("where is the circle?", ("ask", "position", {"shape": "circle"})),
        ("make it filled", ("edit", "make it flat")),
    ],
    [
        (B, ("scene", B)),
        ("make the left one red", ("refuse",)),
        ("make the top one red", ("edit", "make the triangle red")),
        ("make the bottom one smaller", ("edit", "make the cross smaller")),
    ],
    [
        (
            "a big green block on the left and a little orange ball on the right on a white background, outlined",
            ("draw", "large green square left small orange circle right white background outline"),
        ),
        ("make the ball bigger", ("edit", "make the circle bigger")),
        ("is the square green?", ("ask", "colour", {"shape": "square"})),
        ("make the background gray", ("edit", "make the background gray")),
        ("undo", ("undo",)),
    ],
    [
        (C, ("scene", C)),
        ("make it smaller", ("edit", "make the square smaller")),
        ("make it pink", ("edit", "make the square pink")),
        ("no, cyan", ("edit", "make the square cyan")),
        ("what is in the picture?", ("ask", "scene", {})),
    ],
    [
        (
            "draw a large blue triangle on the right on a white background",
            ("draw", "large blue triangle right white background"),
        ),
        ("remove it", ("refuse",)),
        ("make it a square", ("edit", "turn the triangle into a square")),
        ("what shape is it?", ("ask", "shape", {})),
    ],
    [
        (A, ("scene", A)),
        ("make the star green", ("refuse",)),
        ("make the circle smaller", ("edit", "make the circle smaller")),
        ("undo", ("undo",)),
        ("redo", ("redo",)),
    ],
    [
        (
            "draw a small yellow circle at the bottom and a large purple cross at the top on a black background, "
            "filled",
            ("draw", "small yellow circle bottom large purple cross top black background flat"),
        ),
        ("turn the circle into a triangle", ("edit", "turn the circle into a triangle")),
        ("now outlined", ("edit", "make it outlined")),
        ("how many objects are there?", ("ask", "count", {})),
    ],
    [
        (B, ("scene", B)),
        ("what colour is the cross?", ("ask", "colour", {"shape": "cross"})),
        ("make it blue", ("edit", "make the cross blue")),
        ("remove the other one", ("edit", "remove the triangle")),
        ("what is in the picture?", ("ask", "scene", {})),
    ],
    [
        (
            "a large red square in the center on a gray background, flat style",
            ("scene", "a large red square in the center on a gray background, flat style"),
        ),
        ("make it a circle", ("edit", "turn the square into a circle")),
        ("make it orange", ("edit", "make the circle orange")),
        ("make it orange", ("refuse",)),
    ],
    [
        (A, ("scene", A)),
        ("remove the square", ("edit", "remove the square")),
        (
            "add a small green triangle on the right",
            (
                "scene",
                "a large red circle on the left and a small green triangle on the right on a white background, "
                "flat style",
            ),
        ),
        ("undo", ("undo",)),
    ],
    [
        (
            "draw two shapes: a small green triangle to the left and a violet plus to the right",
            ("draw", "small green triangle left purple cross right"),
        ),
        ("make the triangle bigger", ("edit", "make the triangle bigger")),
        ("is there a circle?", ("ask", "exists", {"shape": "circle"})),
    ],
    [
        (C, ("scene", C)),
        ("make the background white", ("edit", "make the background white")),
        ("no, gray", ("edit", "make the background gray")),
        ("what colour is the background?", ("ask", "background", {})),
    ],
    [
        (
            "draw a large pink circle on the left and a small cyan square on the right on a white background",
            ("draw", "large pink circle left small cyan square right white background"),
        ),
        ("make the square yellow", ("edit", "make the square yellow")),
        ("make the circle yellow", ("refuse",)),
        ("make the circle red", ("edit", "make the circle red")),
        ("undo", ("undo",)),
        ("undo", ("undo",)),
    ],
    [
        (B, ("scene", B)),
        ("make it outlined", ("edit", "make it outlined")),
        ("what style is it?", ("ask", "style", {})),
        ("make it filled", ("edit", "make it flat")),
    ],
    [
        (
            "draw a small blue cross on the left on a gray background, flat style",
            ("draw", "small blue cross left gray background flat"),
        ),
        ("make it bigger", ("edit", "make the cross bigger")),
        ("turn it into a square", ("edit", "turn the cross into a square")),
        ("what size is the square?", ("ask", "size", {"shape": "square"})),
    ],
    [
        (A, ("scene", A)),
        ("make the left one a triangle", ("edit", "turn the circle into a triangle")),
        ("what is on the left?", ("ask", "shape", {"position": "left"})),
        ("make the right one a triangle", ("edit", "turn the square into a triangle")),
    ],
    [
        (
            "a large orange square at the top on a black background, outline style",
            ("scene", "a large orange square at the top on a black background, outline style"),
        ),
        ("make it 绿色", ("edit", "make the square green")),
        ("make it smaller", ("edit", "make the square smaller")),
    ],
    [
        (
            "draw a big 红色 ball on the left and a small 蓝色 box on the right on a white background",
            ("draw", "large red circle left small blue square right white background"),
        ),
        ("make the ball smaller", ("edit", "make the circle smaller")),
        ("what colour is the box?", ("ask", "colour", {"shape": "square"})),
    ],
    [
        (C, ("scene", C)),
        ("undo", ("refuse",)),
        ("make it a cross", ("edit", "turn the square into a cross")),
        ("undo", ("undo",)),
        ("redo", ("redo",)),
    ],
    [
        (B, ("scene", B)),
        ("make the triangle pink", ("edit", "make the triangle pink")),
        ("now make the other one purple", ("edit", "make the cross purple")),
        ("make the background white", ("edit", "make the background white")),
    ],
    [
        (
            "a small red triangle at the bottom on a white background, flat style",
            ("scene", "a small red triangle at the bottom on a white background, flat style"),
        ),
        ("add a blue circle at the top", ("draw", "small red triangle bottom blue circle top white background flat")),
        ("remove the triangle", ("edit", "remove the triangle")),
    ],
    [
        (A, ("scene", A)),
        ("is the circle big?", ("ask", "size", {"shape": "circle"})),
        ("make the circle blue", ("refuse",)),
        ("make the square orange", ("edit", "make the square orange")),
    ],
    [
        (
            "draw a large yellow triangle in the center on a gray background, filled",
            ("draw", "large yellow triangle center gray background flat"),
        ),
        ("make it blue", ("edit", "make the triangle blue")),
        ("make it outlined", ("edit", "make it outlined")),
        ("undo", ("undo",)),
        ("what colour is it?", ("ask", "colour", {})),
    ],
]

CHINESE = [
    [
        (
            "画一个大的红色圆形在左边和一个小的蓝色方块在右边，白底",
            ("draw", "large red circle left small blue square right white background"),
        ),
        ("把方块改成绿色", ("edit", "make the square green")),
        ("撤销", ("undo",)),
    ],
    [
        (C, ("scene", C)),
        ("把它变小", ("edit", "make the square smaller")),
        ("改成绿色", ("edit", "make the square green")),
        ("它是什么颜色？", ("ask", "colour", {})),
    ],
    [
        (A, ("scene", A)),
        ("把它变大", ("refuse",)),
        ("去掉右边的", ("edit", "remove the square")),
        ("画面里有什么？", ("ask", "scene", {})),
    ],
    [
        (B, ("scene", B)),
        ("背景改成黑色", ("edit", "make the background black")),
        ("改成空心", ("edit", "make it outlined")),
        ("撤销", ("undo",)),
        ("重做", ("redo",)),
    ],
    [
        ("请画一个很小的粉色十字在上面，白底", ("draw", "small pink cross top white background")),
        ("把十字变成圆形", ("edit", "turn the cross into a circle")),
        ("圆形在哪里？", ("ask", "position", {"shape": "circle"})),
    ],
    [
        (A, ("scene", A)),
        ("把左边的变成三角形", ("edit", "turn the circle into a triangle")),
        ("把另一个变大", ("edit", "make the square bigger")),
        ("有几个图形？", ("ask", "count", {})),
    ],
    [
        (
            "左边一个小的蓝色方块，右边一个绿色三角形，黑色背景，空心",
            ("draw", "small blue square left green triangle right black background outline"),
        ),
        ("把三角形改成黄色", ("edit", "make the triangle yellow")),
        ("不对，橙色", ("edit", "make the triangle orange")),
        ("方块是什么颜色？", ("ask", "colour", {"shape": "square"})),
    ],
    [
        (C, ("scene", C)),
        ("去掉三角形", ("refuse",)),
        ("把它变成十字", ("edit", "turn the square into a cross")),
        ("撤销", ("undo",)),
    ],
    [
        (B, ("scene", B)),
        ("把上面的变成红色", ("edit", "make the triangle red")),
        ("make the cross 蓝色", ("edit", "make the cross blue")),
        ("背景是什么颜色？", ("ask", "background", {})),
    ],
    [
        ("画一个大的紫色正方形在中间，灰底，实心", ("draw", "large purple square center gray background flat")),
        (
            "在右边加一个大的黄色圆形",
            ("draw", "large purple square left large yellow circle right gray background flat"),
        ),
        ("把圆形变小", ("edit", "make the circle smaller")),
    ],
]
