"""Chat templates: one registry, one renderer, used by training (labels) and inference (prompts) alike, and a
Jinja twin of the renderer written into saved tokenizers (tests hold the two equal on every template and sample).

A template is data: the text around each role's content. ``render`` turns a Conversation into segments; a
segment is labelled (an answer and its end-of-turn text) or not, and literal (user data, whose control-token
strings stay text) or template text. ``{bos}``/``{eos}`` in template text stand for the tokenizer's tokens;
``{idx}`` in a user prefix is the 1-based round number (ChatGLM2).

Where whitespace separates a role header from the answer, it belongs to the answer (``answer_lead``): the
prompt ends with ``ASSISTANT:`` and the answer starts with `` Drink``, as FastChat renders Vicuna, so the
tokenizer merges the space into the answer's first token exactly as it does when the model generates it.
"""
from __future__ import annotations

import json
from dataclasses import dataclass

from ..errors import ConfigError
from .conversation import Conversation
from .segments import Renderer, Segment


@dataclass(frozen=True)
class Template:
    name: str
    user: tuple[str, str]                        # (before, after) the user's text
    assistant: tuple[str, str] = ("", "{eos}")   # (header: prompt side, end of the final answer: labelled)
    answer_lead: str = ""                        # labelled text opening every answer (" " for vicuna)
    turn_end: str | None = None                  # labelled end of an answer that another turn follows
    next_role_ends_turn: bool = False            # chatglm3: the next turn's role token is the answer's end
    system: tuple[str, str] = ("", "")
    default_system: str = ""
    tool: tuple[str, str] | None = None          # observation turns; defaults to the user wrapper
    prefix: str = ""                             # once, at the very start
    separator: str = ""                          # after an answer's end, before the next turn
    system_in_user: bool = False                 # llama2: the system block opens the first user turn
    stop: tuple[str, ...] = ()                   # extra stop strings for generation
    control_tokens: tuple[str, ...] = ()         # strings that must be single tokens ({bos}/{eos} aside)
    tools_header: str = "\n\nYou can call the following tools:\n"

    @property
    def end_between(self) -> str:
        return self.assistant[1] if self.turn_end is None else self.turn_end


LLAMA3_TOKENS = ("<|begin_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>")
CHATGLM3_ROLES = ("<|system|>", "<|user|>", "<|assistant|>", "<|observation|>")

TEMPLATES: dict[str, Template] = {t.name: t for t in [
    Template(  # Stanford Alpaca / alpaca-lora's prompt ("### Response:\n"); FastChat's "alpaca" differs
        "alpaca",
        prefix="{bos}",
        default_system="Below is an instruction that describes a task. "
                       "Write a response that appropriately completes the request.",
        system=("", "\n\n"),
        user=("### Instruction:\n", "\n\n"),
        assistant=("### Response:\n", "{eos}"),
        separator="\n\n",
    ),
    Template(  # FastChat conversation "vicuna_v1.1": ADD_COLON_TWO, sep " ", sep2 "</s>"
        "vicuna_v1.1",
        prefix="{bos}",
        default_system="A chat between a curious user and an artificial intelligence assistant. "
                       "The assistant gives helpful, detailed, and polite answers to the user's questions.",
        system=("", " "),
        user=("USER: ", " "),
        assistant=("ASSISTANT:", "{eos}"),
        answer_lead=" ",
    ),
    Template(  # Meta's Llama-2 chat: "<s>[INST] <<SYS>>\n...\n<</SYS>>\n\nq [/INST] a </s><s>[INST] ..."
        "llama2",
        system=("<<SYS>>\n", "\n<</SYS>>\n\n"),
        user=("{bos}[INST] ", " [/INST]"),
        assistant=("", " {eos}"),
        answer_lead=" ",
        system_in_user=True,
    ),
    Template(
        "llama3",
        prefix="<|begin_of_text|>",
        system=("<|start_header_id|>system<|end_header_id|>\n\n", "<|eot_id|>"),
        user=("<|start_header_id|>user<|end_header_id|>\n\n", "<|eot_id|>"),
        assistant=("<|start_header_id|>assistant<|end_header_id|>\n\n", "<|eot_id|>"),
        tool=("<|start_header_id|>ipython<|end_header_id|>\n\n", "<|eot_id|>"),
        stop=("<|eot_id|>",),
        control_tokens=LLAMA3_TOKENS,
    ),
    Template(
        "chatml",
        system=("<|im_start|>system\n", "<|im_end|>\n"),
        user=("<|im_start|>user\n", "<|im_end|>\n"),
        assistant=("<|im_start|>assistant\n", "<|im_end|>"),
        tool=("<|im_start|>tool\n", "<|im_end|>\n"),
        separator="\n",
        stop=("<|im_end|>",),
        control_tokens=("<|im_start|>", "<|im_end|>"),
    ),
    Template(  # ChatGLM2-6B: "[Round 1]\n\n问：...\n\n答：..."; only the final answer ends with eos
        "chatglm2",
        prefix="[gMASK]sop",
        system=("", "\n\n"),
        user=("[Round {idx}]\n\n问：", "\n\n"),
        assistant=("答：", "{eos}"),
        turn_end="",
        separator="\n\n",
        control_tokens=("[gMASK]", "sop"),
    ),
    Template(  # ChatGLM3-6B: role tokens, no separator; an answer ends at the next role token (eos at the end)
        "chatglm3",
        prefix="[gMASK]sop",
        system=("<|system|>\n", ""),
        user=("<|user|>\n", ""),
        assistant=("<|assistant|>", "{eos}"),
        answer_lead="\n",
        turn_end="",
        next_role_ends_turn=True,
        tool=("<|observation|>\n", ""),
        stop=("<|user|>", "<|observation|>"),
        control_tokens=("[gMASK]", "sop") + CHATGLM3_ROLES,
    ),
    Template(  # BELLE's training prompt: "Human: {instruction}\n\nAssistant: {output}"
        "belle",
        prefix="{bos}",
        system=("", "\n\n"),
        user=("Human: ", "\n\n"),
        assistant=("Assistant:", "{eos}"),
        answer_lead=" ",
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
    Template(  # Baize (FastChat's adds a longer system prompt and a few-shot opening: see README)
        "baize",
        prefix="{bos}",
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
    Template(  # Firefly: "<s>input</s>target</s>"; a system text is one more "</s>"-closed piece
        "firefly",
        prefix="{bos}",
        system=("", "{eos}"),
        user=("", "{eos}"),
        assistant=("", "{eos}"),
    ),
]}
TOKENIZER_TEMPLATE = "tokenizer"


def template_names() -> list[str]:
    return sorted(TEMPLATES) + [TOKENIZER_TEMPLATE]


def get_template(name: str, tokenizer=None) -> Renderer:
    """The renderer for a template name; ``tokenizer`` fills {bos}/{eos} and backs 'tokenizer'."""
    if name == TOKENIZER_TEMPLATE:
        from .tokenizer_template import TokenizerTemplateRenderer
        return TokenizerTemplateRenderer(tokenizer)
    if name not in TEMPLATES:
        raise ConfigError(f"template: unknown template {name!r} (valid: {', '.join(template_names())})")
    return TemplateRenderer(TEMPLATES[name], tokenizer)


class TemplateRenderer:
    """Renders conversations with one named template for one tokenizer."""

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
        return self.fill(self.template.assistant[1])

    @property
    def stop_strings(self) -> list[str]:
        return [s for s in [self.end_of_turn.strip(), self.eos, *self.template.stop] if s]

    @property
    def control_tokens(self) -> tuple[str, ...]:
        return self.template.control_tokens

    def fingerprint(self) -> str:
        # the template's every field (a frozen dataclass's repr lists them all) and the tokens {bos}/{eos} become
        return json.dumps([type(self).__name__, repr(self.template), self.bos, self.eos])

    def system_text(self, conv: Conversation, override: str | None = None) -> str:
        system = override if override is not None else (conv.system or self.template.default_system)
        if conv.tools:
            system = (system + self.template.tools_header + conv.tools).lstrip("\n")
        return system

    def _role_token(self, header: str) -> str:
        """The control token a header opens with (chatglm3's ``<|user|>``), or ''."""
        return next((c for c in self.template.control_tokens if header.startswith(c)), "")

    def render(self, conv: Conversation, add_generation_prompt: bool = False,
               system: str | None = None) -> list[Segment]:
        """Segments of the whole conversation; with add_generation_prompt, end with the assistant header."""
        t, fill = self.template, self.fill
        segs = [Segment(fill(t.prefix))]
        system_text = self.system_text(conv, system)
        system_segs = [Segment(fill(t.system[0])), Segment(system_text, literal=True), Segment(fill(t.system[1]))]
        pending_system: list[Segment] = []
        if system_text:
            if t.system_in_user:
                pending_system = system_segs
            else:
                segs += system_segs
        rounds, last_answer = 0, None  # last_answer: (index, trained) of an answer not yet closed

        def header(text: str, turn: int) -> list[Segment]:
            """A turn's header; after an answer it closes that answer (end, separator, or chatglm3's role token)."""
            nonlocal last_answer
            out: list[Segment] = []
            if last_answer is not None:
                i, trained = last_answer
                out.append(Segment(fill(t.end_between), labelled=trained, turn=i))
                out.append(Segment(fill(t.separator)))
                role = self._role_token(text) if t.next_role_ends_turn else ""
                if role:
                    out.append(Segment(role, labelled=trained, turn=i))
                    text = text[len(role):]
                last_answer = None
            return out + [Segment(text, turn=turn)]

        def system_alone() -> list[Segment]:
            """An answer with no user turn before it: the system block gets an empty user turn of its own."""
            nonlocal pending_system
            out = [Segment(fill(t.user[0]).replace("{idx}", "0"))] + pending_system + [Segment(fill(t.user[1]))]
            pending_system = []
            return out if out[1:-1] else []

        for i, msg in enumerate(conv.messages):
            if msg.role == "assistant":
                segs += system_alone() + header(fill(t.assistant[0]), i)
                segs += [Segment(t.answer_lead, labelled=msg.train, turn=i),
                         Segment(msg.content, labelled=msg.train, literal=True, turn=i)]
                last_answer = (i, msg.train)
                continue
            if msg.role == "user":
                rounds += 1
            before, after = t.user if msg.role == "user" or t.tool is None else t.tool
            segs += header(fill(before).replace("{idx}", str(rounds)), i)
            if pending_system and msg.role == "user":
                segs += pending_system
                pending_system = []
            segs += [Segment(msg.content, literal=True, turn=i), Segment(fill(after), turn=i)]
        if add_generation_prompt:
            segs += system_alone() + header(fill(t.assistant[0]), len(conv.messages))
        elif last_answer is not None:
            segs.append(Segment(self.end_of_turn, labelled=last_answer[1], turn=last_answer[0]))
        return [s for s in segs if s.text]

    def render_text(self, conv: Conversation, add_generation_prompt: bool = False, system: str | None = None) -> str:
        return "".join(s.text for s in self.render(conv, add_generation_prompt, system))


def _lit(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def to_jinja(renderer: TemplateRenderer) -> str:
    """The template as a Jinja chat_template, so ``tokenizer.apply_chat_template(messages, tools=...)`` gives
    the training text (its twin: tests hold it equal to ``render_text`` for every template and sample)."""
    t, f = renderer.template, renderer.fill
    user0, user1 = f(t.user[0]), f(t.user[1])
    tool0, tool1 = (f(t.tool[0]), f(t.tool[1])) if t.tool else (user0, user1)
    close_answer = _lit(f(t.end_between) + f(t.separator))
    # llama2: a system block not yet written (no user turn came) opens an empty user turn before an answer
    system_alone = ("{% if sys_block and not ns.sys_done %}{{ " + _lit(user0.replace("{idx}", "0")) + " + sys_block + "
                    + _lit(user1) + " }}{% set ns.sys_done = true %}{% endif %}") if t.system_in_user else ""
    return "".join(
        [
            "{{ " + _lit(f(t.prefix)) + " }}",
            "{% if messages and messages[0]['role'] == 'system' %}{% set system = messages[0]['content'] %}"
            "{% set loop_messages = messages[1:] %}{% else %}{% set system = " + _lit(t.default_system) + " %}"
            "{% set loop_messages = messages %}{% endif %}",
            "{% if tools %}{% set system = (system + " + _lit(t.tools_header) + " + "
            "(tools if tools is string else tools | tojson)).lstrip('\\n') %}{% endif %}",
            "{% set sys_block = ("
            + _lit(f(t.system[0]))
            + " + system + "
            + _lit(f(t.system[1]))
            + ") if system else '' %}",
            "" if t.system_in_user else "{{ sys_block }}",
            "{% set ns = namespace(rounds=0, prev='', sys_done=false) %}",
            "{% for m in loop_messages %}",
            "{% if ns.prev == 'assistant' %}{{ " + close_answer + " }}{% endif %}",
            "{% if m['role'] == 'assistant' %}"
            + system_alone
            + "{{ "
            + _lit(f(t.assistant[0]) + t.answer_lead)
            + " + m['content'] }}",
            "{% elif m['role'] == 'user' %}{% set ns.rounds = ns.rounds + 1 %}",
            "{{ " + _lit(user0) + ".replace('{idx}', ns.rounds|string) }}",
            "{% if not ns.sys_done %}{{ sys_block }}{% set ns.sys_done = true %}{% endif %}"
            if t.system_in_user
            else "",
            "{{ m['content'] + " + _lit(user1) + " }}",
            "{% else %}{{ "
            + _lit(tool0)
            + ".replace('{idx}', ns.rounds|string) + m['content'] + "
            + _lit(tool1)
            + " }}"
            "{% endif %}",
            "{% set ns.prev = m['role'] %}{% endfor %}",
            "{% if add_generation_prompt %}{% if ns.prev == 'assistant' %}{{ "
            + close_answer
            + " }}{% endif %}"
            + system_alone
            + "{{ "
            + _lit(f(t.assistant[0]))
            + " }}"
            "{% elif ns.prev == 'assistant' %}{{ " + _lit(renderer.end_of_turn) + " }}{% endif %}",
        ]
    )
