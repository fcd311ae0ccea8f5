"""An Ollama Modelfile for an exported GGUF file: FROM the file, a TEMPLATE that renders conversations as the
training template does, the run's system prompt (or the template's default) as SYSTEM, and every stop string.

Ollama reads neither the GGUF's Jinja chat template (it recognises only templates it already knows) nor tune's
templates, so the TEMPLATE is written here in Go's text/template, from the same template fields the renderer
and its Jinja twin (data/templates.py to_jinja) use: each piece of template text a Go string constant, so no
text of the template can be taken for template syntax, and no ``{{-`` anywhere, so no whitespace is trimmed.
A template with a round counter (chatglm2's ``[Round {idx}]``: Go templates have no arithmetic) gets no
Modelfile, said in one line; so does a ``template=tokenizer`` run whose Jinja no named template matches.
"""
from __future__ import annotations

import json
import os

MODELFILE = "Modelfile"


def _go(text: str) -> str:
    """Literal text as a Go template action printing a string constant (JSON escapes are Go's too)."""
    return "{{ " + json.dumps(text, ensure_ascii=False) + " }}" if text else ""


def go_template(renderer) -> str | None:
    """The renderer's named template in Go's text/template over Ollama's .Messages (None: it cannot be)."""
    t, f = renderer.template, renderer.fill
    user0, user1 = f(t.user[0]), f(t.user[1])
    tool0, tool1 = (f(t.tool[0]), f(t.tool[1])) if t.tool else (user0, user1)
    if "{idx}" in user0 + tool0:
        return None
    sys_block = "{{ if $system }}" + _go(f(t.system[0])) + "{{ $system }}" + _go(f(t.system[1])) + "{{ end }}"
    close_answer = _go(f(t.end_between) + f(t.separator))
    header = f(t.assistant[0])
    # llama2: the system block opens the first user turn; before an answer with no user turn, an empty one
    system_alone = ("{{ if and $system (not $sysdone) }}" + _go(user0) + sys_block + _go(user1)
                    + "{{ $sysdone = true }}{{ end }}") if t.system_in_user else ""
    in_user = "{{ if not $sysdone }}" + sys_block + "{{ $sysdone = true }}{{ end }}" if t.system_in_user else ""
    return "".join([
        '{{ $system := "" }}{{ range .Messages }}{{ if eq .Role "system" }}{{ $system = .Content }}{{ end }}{{ end }}',
        _go(f(t.prefix)),
        "" if t.system_in_user else sys_block,
        '{{ $prev := "" }}{{ $sysdone := false }}',
        '{{ range .Messages }}{{ if ne .Role "system" }}',
        '{{ if eq $prev "assistant" }}' + close_answer + "{{ end }}",
        '{{ if eq .Role "assistant" }}' + system_alone + _go(header + t.answer_lead) + "{{ .Content }}",
        '{{ else if eq .Role "user" }}' + _go(user0) + in_user + "{{ .Content }}" + _go(user1),
        "{{ else }}" + _go(tool0) + "{{ .Content }}" + _go(tool1) + "{{ end }}",
        "{{ $prev = .Role }}{{ end }}{{ end }}",
        '{{ if ne $prev "assistant" }}' + system_alone + _go(header) + "{{ end }}",
    ])


def _named_twin(renderer, tokenizer):
    """A ``template=tokenizer`` run: the named template that renders as the tokenizer's own Jinja, if one does."""
    from ..data.templates import TEMPLATES, get_template
    from ..data.tokenizer_template import own_template_difference

    for name in TEMPLATES:
        candidate = get_template(name, tokenizer)
        if own_template_difference(candidate, tokenizer) is None:
            return candidate
    return None


def _triple_quoted(text: str) -> str:
    return '"""' + text + '"""'


def modelfile_text(renderer, gguf_name: str, system: str | None) -> str | None:
    template = go_template(renderer)
    if template is None or '"""' in template + (system or ""):
        return None
    lines = [f"FROM ./{gguf_name}", f"TEMPLATE {_triple_quoted(template)}"]
    if system:
        lines.append(f"SYSTEM {_triple_quoted(system)}")
    lines += [f"PARAMETER stop {json.dumps(s, ensure_ascii=False)}" for s in dict.fromkeys(renderer.stop_strings)]
    return "\n".join(lines) + "\n"


def write_modelfile(trained, out: str, gguf_name: str) -> str:
    """Write out/Modelfile; a few words saying what was written (or why not)."""
    renderer = trained.renderer
    if not hasattr(renderer, "template"):  # template=tokenizer: its Jinja, unless a named template matches it
        renderer = _named_twin(renderer, trained.tokenizer)
        if renderer is None:
            return "no Modelfile: the run's template=tokenizer Jinja matches no named template Ollama could be given"
    system = trained.meta.config_value("data", "system") or renderer.template.default_system or None
    text = modelfile_text(renderer, gguf_name, system)
    if text is None:
        why = "a round counter" if go_template(renderer) is None else 'its text holds """, which ends Modelfile text'
        return f"no Modelfile: template={renderer.name} cannot be written as an Ollama template ({why})"
    with open(os.path.join(out, MODELFILE), "w", encoding="utf-8") as f:
        f.write(text)
    return f"{MODELFILE} for Ollama (template={renderer.name})"
