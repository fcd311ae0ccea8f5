"""Write the small bundled demo datasets (our own text, no licence strings attached) into
src/tune/assets/demo/: alpaca_demo.json (English and Chinese single-turn: colours, capitals, opposites,
translations, animal sounds, small sums, the days and numbers that come next, and a few facts) and
sharegpt_demo.json (multi-turn: a question and a follow-up about the same kind of fact). Deterministic.

The records are kinds a user recognises, and few and regular enough that the embedded tiny model, which starts
from random weights, learns them within the README's one-minute run (benchmarks/demo_learning.py measures it):
a large table of random sums, as before, is a lookup table such a model does not memorise in a minute.

    python data_prep/make_demo_data.py --out src/tune/assets/demo
"""
from __future__ import annotations

import argparse
import json
import os
import random

COLOURS = {"sky": "blue", "grass": "green", "snow": "white", "coal": "black", "a banana": "yellow",
           "a tomato": "red", "an orange": "orange", "a cloud": "white", "the sea": "blue", "a lemon": "yellow"}
COLOURS_ZH = {"天空": "蓝色", "草": "绿色", "雪": "白色", "煤": "黑色", "香蕉": "黄色", "西红柿": "红色",
              "橙子": "橙色", "云": "白色", "大海": "蓝色", "柠檬": "黄色"}
CAPITALS = {"France": "Paris", "Japan": "Tokyo", "Italy": "Rome", "Spain": "Madrid", "China": "Beijing",
            "Germany": "Berlin", "Egypt": "Cairo", "Canada": "Ottawa", "Kenya": "Nairobi", "Peru": "Lima"}
CAPITALS_ZH = {"法国": "巴黎", "日本": "东京", "意大利": "罗马", "西班牙": "马德里", "中国": "北京",
               "德国": "柏林", "埃及": "开罗", "加拿大": "渥太华", "肯尼亚": "内罗毕", "秘鲁": "利马"}
OPPOSITES = {"hot": "cold", "big": "small", "up": "down", "fast": "slow", "happy": "sad", "light": "dark",
             "open": "closed", "early": "late", "full": "empty", "old": "new"}
WORDS_ZH = {"water": "水", "fire": "火", "tree": "树", "book": "书", "cat": "猫", "dog": "狗",
            "sun": "太阳", "moon": "月亮", "mountain": "山", "river": "河"}
SOUNDS = {"cow": "moo", "dog": "woof", "cat": "meow", "duck": "quack", "sheep": "baa", "pig": "oink",
          "horse": "neigh", "owl": "hoot", "lion": "roar", "bee": "buzz"}
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
NUMBERS = ["one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven"]
FACTS = [("How many legs does a spider have?", "A spider has eight legs."),
         ("How many days are in a week?", "A week has seven days."),
         ("How many months are in a year?", "A year has twelve months."),
         ("What do bees make?", "Bees make honey."),
         ("Where do fish live?", "Fish live in water."),
         ("What do plants need to grow?", "Plants need water and light to grow."),
         ("What is frozen water called?", "Frozen water is called ice."),
         ("Which planet do we live on?", "We live on Earth.")]


def single_turn(rng: random.Random) -> list[dict]:
    out = []

    def add(instruction, output, input=""):
        out.append({"instruction": instruction, "input": input, "output": output})

    for thing, colour in COLOURS.items():
        add(f"What colour is {thing}?", f"{thing[0].upper() + thing[1:]} is {colour}.")
    for thing, colour in COLOURS_ZH.items():
        add(f"{thing}是什么颜色？", f"{thing}是{colour}的。")
    for country, city in CAPITALS.items():
        add("Name the capital of the country.", f"The capital of {country} is {city}.", country)
    for country, city in CAPITALS_ZH.items():
        add("说出这个国家的首都。", f"{country}的首都是{city}。", country)
    for word, opp in OPPOSITES.items():
        add(f"Give the opposite of \"{word}\".", f"The opposite of \"{word}\" is \"{opp}\".")
    for word, zh in WORDS_ZH.items():
        add("Translate the word into Chinese.", f"\"{word}\" in Chinese is \"{zh}\".", word)
    for animal, sound in SOUNDS.items():
        add(f"What sound does a {animal} make?", f"A {animal} says {sound}.")
    for a, b in sorted(rng.sample([(a, b) for a in range(1, 6) for b in range(1, 6)], 15)):
        add(f"What is {a} plus {b}?", f"{a} plus {b} is {a + b}.")
    for day, nxt in zip(DAYS, DAYS[1:] + DAYS[:1]):
        add(f"What day comes after {day}?", f"{nxt} comes after {day}.")
    for word, nxt in zip(NUMBERS, NUMBERS[1:]):
        add(f"What number comes after {word}?", f"{nxt.capitalize()} comes after {word}.")
    for question, answer in FACTS:
        add(question, answer)
    rng.shuffle(out)
    return out


def _cap(s: str) -> str:
    return s[0].upper() + s[1:]


def multi_turn(rng: random.Random) -> list[dict]:
    """A question and a follow-up of the same kind ("And ...?"), so the second answer needs the first turn."""
    out = []
    kinds = [(COLOURS, "What colour is {}?", "And {}?", "{} is {}."),
             (CAPITALS, "What is the capital of {}?", "And of {}?", "The capital of {} is {}."),
             (SOUNDS, "What sound does a {} make?", "And a {}?", "A {} says {}.")]
    for i in range(30):
        table, first, follow, answer = kinds[i % len(kinds)]
        (k1, v1), (k2, v2) = rng.sample(sorted(table.items()), 2)
        out.append({"id": f"demo_{i}", "conversations": [
            {"from": "human", "value": first.format(k1)}, {"from": "gpt", "value": _cap(answer.format(k1, v1))},
            {"from": "human", "value": follow.format(k2)}, {"from": "gpt", "value": _cap(answer.format(k2, v2))},
        ]})
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="src/tune/assets/demo")
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    rng = random.Random(1234)
    for name, rows in (("alpaca_demo.json", single_turn(rng)), ("sharegpt_demo.json", multi_turn(rng))):
        with open(os.path.join(args.out, name), "w", encoding="utf-8") as f:
            json.dump(rows, f, ensure_ascii=False, indent=1)
            f.write("\n")
        print(f"{name}: {len(rows)} records written")


if __name__ == "__main__":
    main()
