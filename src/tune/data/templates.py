"""Chat templates: one registry, one renderer, used by training (labels) and inference (prompts) alike.

A template is data: the text around each role's content. ``render`` turns a Conversation into
segments; each segment knows whether it is labelled (an assistant turn's content and its end-of-turn
text) and whether its text may contain the template's special tokens (template text) or must be
taken literally (user data). ``{bos}``/``{eos}`` in template text stand for the tokenizer's tokens;
``{idx}`` in a user prefix is the 1-based round number (ChatGLM2).
"""
from __future__ import annotations

import json
from dataclasses import dataclass

from ..errors import ConfigError
from .conversation import Conversation


@dataclass(frozen=True)
class Segment:
    text: str
    labelled: bool = False
    literal: bool = False      # user data: special-token strings inside it are plain text
    turn: int = -1             # index of the message it belongs to (-1: template scaffolding)


@dataclass(frozen=True)
class Template:
    name: str
    user: tuple[str, str]
    assistant: tuple[str, str] = ("", "{eos}")  # (header: prompt side, end-of-turn: labelled)
    system: tuple[str, str] = ("", "")
    default_system: str = ""
    tool: tuple[str, str] | None = None          # observation turns; defaults to the user wrapper
    prefix: str = ""                             # once, at the very start
    separator: str = ""                          # after an assistant turn, before the next turn
    system_in_user: bool = False                 # llama2: the system block opens the first user turn
    stop: tuple[str, ...] = ()                   # extra stop strings for generation
    tools_header: str = "\n\nYou can call the following tools:\n"

    @property
    def end_of_turn(self) -> str:
        return self.assistant[1]


TEMPLATES: dict[str, Template] = {t.name: t for t in [
    Template(
        "alpaca",
        prefix="{bos}",
        default_system="Below is an instruction that describes a task. "
                       "Write a response that appropriately completes the request.",
        system=("", "\n\n"),
        user=("### Instruction:\n", "\n\n"),
        assistant=("### Response:\n", "{eos}"),
        separator="\n\n",
    ),
    Template(  # FastChat conversation "vicuna_v1.1": sep " ", sep2 "</s>"
        "vicuna_v1.1",
        prefix="{bos}",
        default_system="A chat between a curious user and an artificial intelligence assistant. "
                       "The assistant gives helpful, detailed, and polite answers to the user's questions.",
        system=("", " "),
        user=("USER: ", " "),
        assistant=("ASSISTANT: ", "{eos}"),
    ),
    Template(
        "llama2",
        system=("<<SYS>>\n", "\n<</SYS>>\n\n"),
        user=("{bos}[INST] ", " [/INST]"),
        assistant=(" ", " {eos}"),
        system_in_user=True,
    ),
    Template(
        "llama3",
        prefix="{bos}",
        system=("<|start_header_id|>system<|end_header_id|>\n\n", "<|eot_id|>"),
        user=("<|start_header_id|>user<|end_header_id|>\n\n", "<|eot_id|>"),
        assistant=("<|start_header_id|>assistant<|end_header_id|>\n\n", "<|eot_id|>"),
        tool=("<|start_header_id|>ipython<|end_header_id|>\n\n", "<|eot_id|>"),
        stop=("<|eot_id|>",),
    ),
    Template(
        "chatml",
        system=("<|im_start|>system\n", "<|im_end|>\n"),
        user=("<|im_start|>user\n", "<|im_end|>\n"),
        assistant=("<|im_start|>assistant\n", "<|im_end|>"),
        tool=("<|im_start|>tool\n", "<|im_end|>\n"),
        separator="\n",
        stop=("<|im_end|>",),
    ),
    Template(  # ChatGLM2-6B: "[Round 1]\n\n问：...\n\n答：..."
        "chatglm2",
        prefix="[gMASK]sop",
        user=("[Round {idx}]\n\n问：", "\n\n"),
        assistant=("答：", "{eos}"),
        separator="\n\n",
    ),
    Template(
        "chatglm3",
        prefix="[gMASK]sop",
        system=("<|system|>\n", ""),
        user=("<|user|>\n", ""),
        assistant=("<|assistant|>\n", "{eos}"),
        tool=("<|observation|>\n", ""),
        stop=("<|user|>", "<|observation|>"),
    ),
    Template(  # BELLE's training prompt: "Human: {instruction}\n\nAssistant: {output}"
        "belle",
        prefix="{bos}",
        user=("Human: ", "\n\n"),
        assistant=("Assistant: ", "{eos}"),
        separator="\n\n",
    ),
    Template(  # Huatuo (SCIR-HI/Huatuo-Llama-Med-Chinese, templates/med_template.json)
        "huatuo",
        prefix="{bos}",
        default_system="下面是一个问题，运用医学知识来正确回答提问.",
        system=("", "\n"),
        user=("### 问题:\n", "\n"),
        assistant=("### 回答:\n", "{eos}"),
        separator="\n",
    ),
    Template(
        "baize",
        default_system="The following is a conversation between a human and an AI assistant named Baize "
                       "(named after a mythical creature in Chinese folklore). Baize is an open-source AI "
                       "assistant developed by UCSD and Sun Yat-Sen University. The human and the AI "
                       "assistant take turns chatting. Human statements start with [|Human|] and AI "
                       "assistant statements start with [|AI|].",
        system=("", "\n"),
        user=("[|Human|]", "\n"),
        assistant=("[|AI|]", "{eos}"),
        separator="\n",
        stop=("[|Human|]",),
    ),
    Template(  # Firefly: "<s>input</s>target</s>"
        "firefly",
        prefix="{bos}",
        user=("", "{eos}"),
        assistant=("", "{eos}"),
    ),
]}
TOKENIZER_TEMPLATE = "tokenizer"


def template_names() -> list[str]:
    return sorted(TEMPLATES) + [TOKENIZER_TEMPLATE]


def get_template(name: str, tokenizer=None) -> "Renderer":
    """The renderer for a template name; ``tokenizer`` fills {bos}/{eos} and backs 'tokenizer'."""
    if name == TOKENIZER_TEMPLATE:
        from .tokenizer_template import TokenizerTemplateRenderer
        return TokenizerTemplateRenderer(tokenizer)
    if name not in TEMPLATES:
        raise ConfigError(f"template: unknown template {name!r} (valid: {', '.join(template_names())})")
    return Renderer(TEMPLATES[name], tokenizer)


class Renderer:
    """Turns conversations into segments for one template and one tokenizer."""

    def __init__(self, template: Template, tokenizer=None):
        self.template = template
        self.bos = (getattr(tokenizer, "bos_token", None) or "") if tokenizer is not None else "<s>"
        self.eos = (getattr(tokenizer, "eos_token", None) or "") if tokenizer is not None else "</s>"

    @property
    def name(self) -> str:
        return self.template.name

    def fill(self, text: str) -> str:
        return text.replace("{bos}", self.bos).replace("{eos}", self.eos)

    @property
    def end_of_turn(self) -> str:
        return self.fill(self.template.end_of_turn)

    @property
    def stop_strings(self) -> list[str]:
        return [s for s in [self.end_of_turn.strip(), self.eos, *self.template.stop] if s]

    def system_text(self, conv: Conversation, override: str | None = None) -> str:
        system = override if override is not None else (conv.system or self.template.default_system)
        if conv.tools:
            system = (system + self.template.tools_header + conv.tools).lstrip("\n")
        return system

    def render(self, conv: Conversation, add_generation_prompt: bool = False,
               system: str | None = None) -> list[Segment]:
        """Segments of the whole conversation; with add_generation_prompt, end with the assistant header."""
        t, fill = self.template, self.fill
        segs = [Segment(fill(t.prefix))] if t.prefix else []
        system_text = self.system_text(conv, system)
        system_segs = [Segment(fill(t.system[0])), Segment(system_text, literal=True), Segment(fill(t.system[1]))]
        pending_system: list[Segment] = []
        if system_text:
            if t.system_in_user:
                pending_system = system_segs
            else:
                segs += system_segs
        rounds, prev = 0, None
        for i, msg in enumerate(conv.messages):
            if prev == "assistant" and t.separator:
                segs.append(Segment(fill(t.separator)))
            if msg.role == "assistant":
                segs += [Segment(fill(t.assistant[0]), turn=i),
                         Segment(msg.content, labelled=msg.train, literal=True, turn=i),
                         Segment(fill(t.assistant[1]), labelled=msg.train, turn=i)]
            else:
                if msg.role == "user":
                    rounds += 1
                before, after = t.user if msg.role == "user" or t.tool is None else t.tool
                segs.append(Segment(fill(before).replace("{idx}", str(rounds)), turn=i))
                if pending_system and msg.role == "user":
                    segs += pending_system
                    pending_system = []
                segs += [Segment(msg.content, literal=True, turn=i), Segment(fill(after), turn=i)]
            prev = msg.role
        if add_generation_prompt:
            if prev == "assistant" and t.separator:
                segs.append(Segment(fill(t.separator)))
            segs.append(Segment(fill(t.assistant[0])))
        return [s for s in segs if s.text]

    def render_text(self, conv: Conversation, add_generation_prompt: bool = False, system: str | None = None) -> str:
        return "".join(s.text for s in self.render(conv, add_generation_prompt, system))


def _lit(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def to_jinja(renderer: "Renderer") -> str:
    """The template as a Jinja chat_template, so ``tokenizer.apply_chat_template`` gives the training text
    (tested equal to ``render_text``; tool definitions are not rendered by it)."""
    t, f = renderer.template, renderer.fill
    user0, user1 = f(t.user[0]), f(t.user[1])
    tool0, tool1 = (f(t.tool[0]), f(t.tool[1])) if t.tool else (user0, user1)
    return "".join([
        "{{ " + _lit(f(t.prefix)) + " }}",
        "{% if messages and messages[0]['role'] == 'system' %}{% set system = messages[0]['content'] %}"
        "{% set loop_messages = messages[1:] %}{% else %}{% set system = " + _lit(t.default_system) + " %}"
        "{% set loop_messages = messages %}{% endif %}",
        "{% set sys_block = (" + _lit(f(t.system[0])) + " + system + " + _lit(f(t.system[1])) + ") if system else '' %}",
        "" if t.system_in_user else "{{ sys_block }}",
        "{% set ns = namespace(rounds=0, prev='') %}",
        "{% for m in loop_messages %}",
        "{% if ns.prev == 'assistant' %}{{ " + _lit(f(t.separator)) + " }}{% endif %}",
        "{% if m['role'] == 'assistant' %}{{ " + _lit(f(t.assistant[0])) + " + m['content'] + " + _lit(f(t.assistant[1])) + " }}",
        "{% elif m['role'] == 'user' %}{% set ns.rounds = ns.rounds + 1 %}",
        "{{ " + _lit(user0) + ".replace('{idx}', ns.rounds|string) }}",
        "{% if ns.rounds == 1 %}{{ sys_block }}{% endif %}" if t.system_in_user else "",
        "{{ m['content'] + " + _lit(user1) + " }}",
        "{% else %}{{ " + _lit(tool0) + " + m['content'] + " + _lit(tool1) + " }}{% endif %}",
        "{% set ns.prev = m['role'] %}{% endfor %}",
        "{% if add_generation_prompt %}{% if ns.prev == 'assistant' %}{{ " + _lit(f(t.separator)) + " }}{% endif %}"
        "{{ " + _lit(f(t.assistant[0])) + " }}{% endif %}",
    ])
