"""Write the small bundled demo datasets (our own text, no licence strings attached) into
src/tune/assets/demo/: alpaca_demo.json (English and Chinese single-turn) and sharegpt_demo.json
(multi-turn). Deterministic: the same files every run.

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


def single_turn(rng: random.Random) -> list[dict]:
    out = []
    for _ in range(120):
        a, b = rng.randint(1, 40), rng.randint(1, 40)
        out.append({"instruction": f"What is {a} plus {b}?", "input": "", "output": f"{a} plus {b} is {a + b}."})
        out.append({"instruction": f"{a}加{b}等于几？", "input": "", "output": f"{a}加{b}等于{a + b}。"})
    for thing, colour in COLOURS.items():
        out.append({"instruction": f"What colour is {thing}?", "input": "", "output": f"{thing.capitalize()} is {colour}."})
    for thing, colour in COLOURS_ZH.items():
        out.append({"instruction": f"{thing}是什么颜色？", "input": "", "output": f"{thing}是{colour}的。"})
    for country, city in CAPITALS.items():
        out.append({"instruction": "Name the capital of the country.", "input": country,
                    "output": f"The capital of {country} is {city}."})
    for country, city in CAPITALS_ZH.items():
        out.append({"instruction": "说出这个国家的首都。", "input": country, "output": f"{country}的首都是{city}。"})
    for word, opp in OPPOSITES.items():
        out.append({"instruction": f"Give the opposite of \"{word}\".", "input": "", "output": f"The opposite of \"{word}\" is \"{opp}\"."})
    for word, zh in WORDS_ZH.items():
        out.append({"instruction": "Translate the word into Chinese.", "input": word, "output": f"\"{word}\" in Chinese is \"{zh}\"."})
    rng.shuffle(out)
    return out


def multi_turn(rng: random.Random) -> list[dict]:
    out = []
    for i in range(80):
        a, b, c = rng.randint(1, 20), rng.randint(1, 20), rng.randint(1, 20)
        out.append({"id": f"demo_{i}", "conversations": [
            {"from": "human", "value": f"What is {a} plus {b}?"},
            {"from": "gpt", "value": f"{a} plus {b} is {a + b}."},
            {"from": "human", "value": f"And if you add {c} more?"},
            {"from": "gpt", "value": f"{a + b} plus {c} is {a + b + c}."},
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
