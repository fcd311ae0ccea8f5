"""The Modelfile's TEMPLATE renders every conversation as the training template does. No Ollama here: a small
evaluator of the Go text/template subset exports/ollama.py writes (string constants, .Content/.Role, variables,
range over .Messages, if/else if/else with eq, ne, not, and) runs it the way Go does, and the result is compared
with the renderer's own text for every template and conversation shape; golden files pin the Modelfile text."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tune.data.conversation import Conversation
from tune.data.templates import TEMPLATES, get_template
from tune.exports.ollama import go_template, modelfile_text

GOLDEN = Path(__file__).resolve().parent.parent / "data" / "ollama"
ACTION = re.compile(r"\{\{(.*?)\}\}", re.S)


def parse(template: str) -> list:
    """[("text", s) | ("print", expr) | ("set", var, expr) | ("if", cond) | ("elif", cond) | ("else",) |
    ("range",) | ("end",)]"""
    out, pos = [], 0
    for m in ACTION.finditer(template):
        if m.start() > pos:
            out.append(("text", template[pos:m.start()]))
        body = m.group(1).strip()
        assert not body.startswith("-") and not body.endswith("-"), "no whitespace trimming"
        if body.startswith("if "):
            out.append(("if", body[3:]))
        elif body.startswith("else if "):
            out.append(("elif", body[8:]))
        elif body == "else":
            out.append(("else",))
        elif body == "end":
            out.append(("end",))
        elif body == "range .Messages":
            out.append(("range",))
        elif m2 := re.fullmatch(r"(\$\w+) :?= (.+)", body):
            out.append(("set", m2.group(1), m2.group(2)))
        else:
            out.append(("print", body))
        pos = m.end()
    if pos < len(template):
        out.append(("text", template[pos:]))
    return out


def value(expr: str, env: dict, msg):
    expr = expr.strip()
    if expr.startswith("("):
        return value(expr[1:-1], env, msg)
    if expr.startswith('"'):
        return json.loads(expr)
    if expr in ("true", "false"):
        return expr == "true"
    if expr.startswith("$"):
        return env[expr]
    if expr in (".Content", ".Role"):
        return msg[expr[1:].lower()]
    words = re.findall(r'"(?:[^"\\]|\\.)*"|\([^)]*\)|\S+', expr)
    fn, args = words[0], [value(w, env, msg) for w in words[1:]]
    return {"eq": lambda a, b: a == b, "ne": lambda a, b: a != b, "not": lambda a: not a,
            "and": lambda a, b: bool(a) and bool(b)}[fn](*args)


def execute(nodes: list, messages: list[dict]) -> str:
    out, env = [], {}

    def block(i: int, msg) -> int:
        """Run nodes from i until the matching end/else at this level; return the index of that node."""
        while i < len(nodes):
            node = nodes[i]
            kind = node[0]
            if kind in ("end", "else", "elif"):
                return i
            if kind == "text":
                out.append(node[1])
            elif kind == "print":
                out.append(str(value(node[1], env, msg)))
            elif kind == "set":
                env[node[1]] = value(node[2], env, msg)
            elif kind == "range":
                start = i + 1
                end = skip(start)
                for m in messages:
                    block(start, m)
                i = end
            elif kind == "if":
                taken = bool(value(node[1], env, msg))
                j = i + 1
                if taken:
                    j = block(j, msg)
                else:
                    j = skip(j)
                while nodes[j][0] in ("elif", "else"):
                    run = not taken and (nodes[j][0] == "else" or bool(value(nodes[j][1], env, msg)))
                    taken = taken or run
                    j = block(j + 1, msg) if run else skip(j + 1)
                i = j
            i += 1
        return i

    def skip(i: int) -> int:
        depth = 0
        while True:
            kind = nodes[i][0]
            if kind in ("if", "range"):
                depth += 1
            elif kind == "end":
                if depth == 0:
                    return i
                depth -= 1
            elif kind in ("else", "elif") and depth == 0:
                return i
            i += 1

    block(0, None)
    return "".join(out)


CONVERSATIONS = [
    [{"role": "user", "content": "Hi"}],
    [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}],
    [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello!"},
     {"role": "user", "content": "2+2?"}],
    [{"role": "system", "content": "S"}, {"role": "user", "content": "a"}, {"role": "assistant", "content": "b"},
     {"role": "user", "content": "c"}],
]


def ollama_messages(conv: list[dict], default_system: str) -> list[dict]:
    """What Ollama hands a template: the Modelfile's SYSTEM as a system message unless the request has one."""
    if any(m["role"] == "system" for m in conv) or not default_system:
        return conv
    return [{"role": "system", "content": default_system}, *conv]


@pytest.mark.parametrize("name", sorted(TEMPLATES))
def test_the_go_template_renders_as_the_training_template(name, tokenizer):
    renderer = get_template(name, tokenizer)
    template = go_template(renderer)
    if template is None:
        assert "{idx}" in renderer.template.user[0]  # only a round counter keeps a template out of Ollama
        return
    nodes = parse(template)
    for conv in CONVERSATIONS:
        want = renderer.render_text(Conversation.from_dicts(conv), add_generation_prompt=True)
        assert execute(nodes, ollama_messages(conv, renderer.template.default_system)) == want, (name, conv)


@pytest.mark.parametrize("name", ["alpaca", "chatml", "llama2", "llama3", "vicuna_v1.1"])
def test_modelfiles_match_their_golden_files(name, tokenizer):
    renderer = get_template(name, tokenizer)
    text = modelfile_text(renderer, "model-f16.gguf", renderer.template.default_system or None)
    assert text == (GOLDEN / f"{name}.Modelfile").read_text(encoding="utf-8")


def test_the_evaluator_can_fail(tokenizer):
    """A template with the user's role header misspelt renders differently (the comparison is not vacuous)."""
    renderer = get_template("chatml", tokenizer)
    broken = go_template(renderer).replace(json.dumps("<|im_start|>user\n"), json.dumps("<|im_start|>User\n"))
    conv = CONVERSATIONS[0]
    want = renderer.render_text(Conversation.from_dicts(conv), add_generation_prompt=True)
    assert execute(parse(broken), conv) != want
