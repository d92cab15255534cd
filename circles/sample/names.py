"""Names and labels of the sample district (示例数据): word pools, Chinese numerals, the synthetic label."""

from __future__ import annotations

import numpy as np

__all__ = ["ADDRESS_TAG", "CITY", "COMMUNITY_TAILS", "COMPOUND_HEADS", "COMPOUND_TAILS", "LANE_WORDS", "Namer",
           "ROAD_WORDS", "SAMPLE_LABEL", "SURNAMES", "VILLAGE_TAILS", "cn_number"]

SAMPLE_LABEL = "示例数据 (synthetic sample)"

CITY = "示例市示例区"           # the fictional city/district every address starts with
ADDRESS_TAG = "（示例数据）"       # appended to every address

# Name pools (common words; any resemblance to a real road or compound is a coincidence).
ROAD_WORDS = (
    "和平", "建设", "解放", "人民", "光明", "幸福", "友谊", "文化", "东风", "新华", "青年", "胜利",
    "团结", "振兴", "兴业", "学府", "丽水", "育才", "工农", "复兴", "前进", "永安", "安康", "金桥",
    "翠柳", "桂花", "紫荆", "梧桐", "玉兰", "芙蓉", "白沙", "青山", "春晖", "秋实", "晨光", "星光",
    "红旗", "长丰", "和顺", "康宁",
)
LANE_WORDS = (
    "杨柳", "竹林", "石桥", "井冈", "花园", "果园", "书院", "茶园", "菱角", "荷叶", "桃李", "芦苇",
    "银杏", "樟树", "松柏", "兰亭", "枫叶", "棠梨", "槐荫", "柿子", "榆钱", "葡萄", "海棠", "丁香",
)
COMPOUND_HEADS = (
    "锦绣", "阳光", "翠园", "金色", "碧水", "华府", "和谐", "绿洲", "丽景", "怡和", "滨江", "书香",
    "桃源", "枫林", "东湖", "南湖", "紫薇", "海棠", "清水", "馨园", "盛世", "御景", "泰和", "宏图",
    "世纪", "万象", "雅苑", "瑞安", "康乐", "福星", "嘉禾", "明珠",
)
COMPOUND_TAILS = (
    "小区", "花园", "家园", "苑", "新苑", "公寓", "雅居", "名苑", "佳苑", "华庭", "新城", "里",
)
SURNAMES = (
    "张", "李", "王", "刘", "陈", "杨", "赵", "黄", "周", "吴", "徐", "孙", "胡", "朱", "高", "林",
    "何", "郭", "马", "罗", "梁", "宋", "郑", "谢", "韩", "唐", "冯", "于", "董", "萧",
)
VILLAGE_TAILS = ("家湾", "家岗", "家墩", "家庄", "家咀", "家台", "家畈", "家岭", "家冲", "家港")
COMMUNITY_TAILS = ("", "东", "西", "南", "北", "新村", "里", "园", "桥", "湖", "苑", "坊")

_CN_DIGITS = "零一二三四五六七八九"


def cn_number(n: int) -> str:
    """Chinese numeral for 1–99 (一, 十二, 三十), Arabic digits beyond."""
    if n < 10:
        return _CN_DIGITS[n]
    if n < 100:
        tens, ones = divmod(n, 10)
        return ("" if tens == 1 else _CN_DIGITS[tens]) + "十" + (_CN_DIGITS[ones] if ones else "")
    return str(n)


class Namer:
    """Hands out names from a shuffled pool, adding 二/三/... once the pool is used up."""

    def __init__(self, words: list[str], rng: np.random.Generator) -> None:
        self._words = [words[i] for i in rng.permutation(len(words))]
        self._n = 0

    def next(self, tail: str) -> str:
        k, i = divmod(self._n, len(self._words))
        self._n += 1
        return self._words[i] + (cn_number(k + 1) if k else "") + tail
