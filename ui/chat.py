"""The Chat tab: a conversation that draws, changes, answers, undoes and redoes (pipelines/chat.py), with the
pictures in the thread. The conversation lives in this browser (gr.BrowserState, localStorage): it survives
a reload, and each message sends it back to be checked (pipelines/chat_state.py). Export gives a zip of the
PNGs with their parameters and the thread as JSON."""

from __future__ import annotations

import tempfile
from pathlib import Path

import gradio as gr

from pipelines.tasks import chat as chatting
from pipelines.tasks import chat_state
from ui.history import history_secret
from ui.i18n import t
from ui.jobs import DRAWING, handler
from ui.studio import Studio

EXAMPLES = [
    "draw a big red ball on the left and a small blue box on the right",
    "make the box bigger",
    "no, green",
    "now outlined",
    "what colour is the square?",
    "undo",
    "画一个大的红色圆形在中间",
    "把它变小",
    "在右边加一个蓝色方块",
]


def chat(
    studio: Studio,
    message,
    conversation=None,
    model=None,
    seed=None,
    request: gr.Request = None,
    progress=gr.Progress(track_tqdm=True),
):
    """Talks about a picture: a new one ("draw a red ball on the left"), a change ("make it bigger", "no,
    green", "now outlined", "remove the other one"), a question ("what colour is the ball?"), "undo" or
    "redo"; in English, Chinese or both. Only what a change touches is redrawn.

    Args:
        message: what to draw, change or ask.
        conversation: the conversation so far, as this endpoint returned it (empty: a new one).
        model: a text-to-image model id (default: the default model).
        seed: -1 or empty for a random one.
    Returns:
        the thread (messages with the pictures), the conversation to send back with the next message, the
        reply, and the current picture as a PNG file (None before the first).
    """
    state = chat_state.from_json(conversation)
    with studio.runs.start(request, "chat", progress, "drawing") as control:
        state, row = studio.backend.chat(state, message, model or None, seed, control)
    thread, files = _thread(studio, state)
    current = files[state.at] if state.at >= 0 else None
    return thread, chat_state.to_json(state), row["reply"], current


def _thread(studio: Studio, state: chatting.Conversation) -> tuple[list[dict], list[str]]:
    """The messages for gr.Chatbot, each new picture after its reply; and the PNG file of every kept picture."""
    files = studio.downloads.save(
        [p.image for p in state.pictures], [p.parameters for p in state.pictures], studio.embed_parameters
    )
    messages: list[dict] = []
    for turn in state.turns:
        messages.append({"role": "user", "content": turn["message"]})
        messages.append({"role": "assistant", "content": turn["reply"]})
        if turn["picture"] is not None and turn["action"] != "answer":
            messages.append({"role": "assistant", "content": {"path": files[turn["picture"]]}})
    return messages, files


def show(studio: Studio, conversation=None):
    """The thread of a conversation kept in the browser (on load); a broken one is shown as empty."""
    try:
        state = chat_state.from_json(conversation)
    except Exception:
        return [], None
    return _thread(studio, state)[0], conversation


def export(studio: Studio, conversation=None):
    """The conversation as a zip: every kept picture as a PNG with its parameters, and thread.json."""
    state = chat_state.from_json(conversation)
    if not state.turns:
        raise gr.Error("There is no conversation to export yet; say something first.", print_exception=False)
    folder = Path(tempfile.mkdtemp(dir=studio.downloads.root))
    return str(chat_state.export_zip(state, folder / "atelier-conversation.zip", studio.embed_parameters))


def new(studio: Studio):
    return [], None, None, ""


def build(studio: Studio, demo: gr.Blocks) -> None:
    entry = studio.default("text-to-image")
    with gr.Row():
        with gr.Column(scale=3):
            thread = gr.Chatbot(label=t("tab_chat"), height=520, elem_classes=["pixelated"], elem_id="chat-thread")
            with gr.Row():
                message = gr.Textbox(
                    label=t("message"), placeholder=EXAMPLES[0], scale=5, elem_id="chat-message", submit_btn=False
                )
                send = gr.Button(t("send"), variant="primary", scale=1)
            gr.Examples([[e] for e in EXAMPLES], inputs=[message], label=t("examples"))
        with gr.Column(scale=1):
            model = gr.Dropdown(studio.choices("text-to-image"), value=entry.id if entry else None, label=t("model"))
            seed = gr.Number(-1, precision=0, label=t("seed"))
            current = gr.File(label=t("png_file"))
            restart = gr.Button(t("new_conversation"))
            export_button = gr.Button(t("export_conversation"))
            exported = gr.File(label=t("conversation_zip"))
    conversation = gr.JSON(None, visible=False)
    kept = gr.BrowserState(None, storage_key="atelier-chat", secret=history_secret())  # survives restarts
    reply = gr.Textbox(visible=False)
    outputs = [thread, conversation, reply, current]
    private = dict(api_visibility="private")
    for trigger, api in ((send.click, dict(api_name="chat")), (message.submit, private)):
        event = trigger(
            handler(chat, studio, gpu_seconds=120),
            inputs=[message, conversation, model, seed],
            outputs=outputs,
            **api,
            **DRAWING,
        )
        event.success(lambda value: (value, ""), inputs=[conversation], outputs=[kept, message], **private)
    demo.load(handler(show, studio), inputs=[kept], outputs=[thread, conversation], **private)
    restart.click(handler(new, studio), outputs=[thread, conversation, kept, message], **private)
    export_button.click(handler(export, studio), inputs=[conversation], outputs=[exported], **private)
