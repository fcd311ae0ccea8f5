"""Generation metrics as ChatGLM-6B's P-Tuning v2 evaluation computes them: ROUGE-1/2/L F1 (rouge_chinese)
and BLEU-4 (nltk sentence_bleu, smoothing method 3), x100 and averaged over examples. Text with Chinese
characters is compared character by character (ChatGLM uses characters for BLEU, jieba words for
ROUGE; characters for both avoid a segmenter and keep the two consistent); other text word by word."""
from __future__ import annotations

import re

_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


def tokens(text: str) -> list[str]:
    if _CJK.search(text):
        return [ch for ch in text if not ch.isspace()]
    return text.split()


def generation_scores(predictions: list[str], references: list[str]) -> dict:
    from nltk.translate.bleu_score import SmoothingFunction, sentence_bleu
    from rouge_chinese import Rouge

    rouge, smooth = Rouge(), SmoothingFunction().method3
    totals = {"rouge-1": 0.0, "rouge-2": 0.0, "rouge-l": 0.0, "bleu-4": 0.0}
    for pred, ref in zip(predictions, references):
        p, r = tokens(pred), tokens(ref)
        if p and r:
            scores = rouge.get_scores(" ".join(p), " ".join(r))[0]
            for key in ("rouge-1", "rouge-2", "rouge-l"):
                totals[key] += scores[key]["f"] * 100
            totals["bleu-4"] += sentence_bleu([r], p, smoothing_function=smooth) * 100
    n = max(len(predictions), 1)
    return {k: round(v / n, 4) for k, v in totals.items()}
